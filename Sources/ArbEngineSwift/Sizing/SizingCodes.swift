import CShims

/// The sizing enumerations and limits of arb_engine.h ("sizing" section) as Swift constants,
/// taken from the header so a renumbering there shows up here. Values equal the Python twin's
/// `Step`, `Outcome`, `CapUnit` and `Reason` (python/arbbot/sizing/types.py).

enum SizingStep {
    static let none = Int32(ARB_STEP_NONE)
    static let executionModel = Int32(ARB_STEP_EXECUTION_MODEL)
    static let fillModel = Int32(ARB_STEP_FILL_MODEL)
    static let feeModel = Int32(ARB_STEP_FEE_MODEL)
    static let kelly = Int32(ARB_STEP_KELLY)
    static let liquidityImpact = Int32(ARB_STEP_LIQUIDITY_IMPACT)
    static let capitalLock = Int32(ARB_STEP_CAPITAL_LOCK)
    static let monteCarlo = Int32(ARB_STEP_MONTE_CARLO)

    /// SIZING.md's computation order of the per-opportunity steps.
    static let order: [Int32] = [executionModel, fillModel, feeModel, liquidityImpact, capitalLock, monteCarlo, kelly]
    /// Every bit `arb_sizing_params.enabled` may carry.
    static let allBits: UInt32 = order.reduce(0) { $0 | (1 << UInt32($1)) }

    /// The portfolio steps (arb_size_portfolio), in computation order.
    static let laneAllocator = Int32(ARB_STEP_LANE_ALLOCATOR)
    static let lossCap = Int32(ARB_STEP_LOSS_CAP)
    static let exposureManager = Int32(ARB_STEP_EXPOSURE_MANAGER)
    static let drawdownManager = Int32(ARB_STEP_DRAWDOWN_MANAGER)
    static let portfolioOrder: [Int32] = [laneAllocator, lossCap, exposureManager, drawdownManager]
}

enum SizingOutcome {
    static let kept = Int32(ARB_OUTCOME_KEPT)
    static let lowered = Int32(ARB_OUTCOME_LOWERED)
    static let rejected = Int32(ARB_OUTCOME_REJECTED)
    static let disabled = Int32(ARB_OUTCOME_DISABLED)
    static let skipped = Int32(ARB_OUTCOME_SKIPPED)
}

enum CapUnit {
    static let none = Int32(ARB_CAP_NONE)
    static let contracts = Int32(ARB_CAP_CONTRACTS)
    static let dollars = Int32(ARB_CAP_DOLLARS)
}

enum Reason {
    static let none = Int32(ARB_REASON_NONE)
    static let capBelowLot = Int32(ARB_REASON_CAP_BELOW_LOT)
    static let capInvalid = Int32(ARB_REASON_CAP_INVALID)
    static let fillProbLow = Int32(ARB_REASON_FILL_PROB_LOW)
    static let profitLow = Int32(ARB_REASON_PROFIT_LOW)
    static let venueMinimum = Int32(ARB_REASON_VENUE_MINIMUM)
    static let edgeNonpositive = Int32(ARB_REASON_EDGE_NONPOSITIVE)
    static let noLaterLegs = Int32(ARB_REASON_NO_LATER_LEGS)
    static let noImpact = Int32(ARB_REASON_NO_IMPACT)
    static let closed = Int32(ARB_REASON_CLOSED)
    static let returnLow = Int32(ARB_REASON_RETURN_LOW)
    static let meanNonpositive = Int32(ARB_REASON_MEAN_NONPOSITIVE)
    static let cvarNonpositive = Int32(ARB_REASON_CVAR_NONPOSITIVE)
    static let piZero = Int32(ARB_REASON_PI_ZERO)
    static let shrunkZero = Int32(ARB_REASON_SHRUNK_ZERO)
    static let capitalOnly = Int32(ARB_REASON_CAPITAL_ONLY)
    static let boundBelowLot = Int32(ARB_REASON_BOUND_BELOW_LOT)
    static let rejectedEarlier = Int32(ARB_REASON_REJECTED_EARLIER)
}

/// Why a portfolio step (9–12) rejected or has no cap (python: PortfolioReason).
enum PortfolioReason {
    static let laneOff = Int32(ARB_REASON_LANE_OFF)
    static let budgetZero = Int32(ARB_REASON_BUDGET_ZERO)
    static let noLoss = Int32(ARB_REASON_NO_LOSS)
    static let noRoom = Int32(ARB_REASON_NO_ROOM)
    static let noLimit = Int32(ARB_REASON_NO_LIMIT)
    static let normal = Int32(ARB_REASON_NORMAL)
    static let caution = Int32(ARB_REASON_CAUTION)
    static let drawdownStop = Int32(ARB_REASON_DRAWDOWN_STOP)
}

/// Input limits of the sizing chain (arb_engine.h): they keep every double finite (no NaN PnL)
/// and every µ$ amount of the chain inside Int64.
enum SizingLimits {
    static let venues = Int(ARB_SIZING_VENUES)
    static let pathsMax = Int64(ARB_SIZING_PATHS_MAX)
    static let timeMax: Double = ARB_SIZING_TIME_MAX_S      // s
    static let volMax: Double = ARB_SIZING_VOL_MAX          // $/√s and $/s
    static let moneyMax = Int64(ARB_SIZING_MONEY_MAX)       // 2^62 µ$
}
