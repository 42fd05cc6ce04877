import CShims

/// The `[sizing]` settings the chain reads (arb_sizing_params), checked. Money in µ$, times in
/// s, per-venue arrays indexed by venue code. Twin: `SizingParams` + `check_params` in
/// python/arbbot/sizing/{types,steps}.py (same checks, same order, same codes).
struct SizingParams {
    var legLatency: Double
    var roundTrip: Double
    var minSamples: Int64
    var enabled: UInt32                 // bit (1 << step)
    var alpha: Double
    var beta: Double
    var minFillProb: Double
    var perOrderExtra: (Int64, Int64, Int64)
    var minPerOrder: (Int64, Int64, Int64)
    var minOrder: (Int64, Int64, Int64)
    var exponent: Double
    var maxEdgeShare: Double
    var nearDays: Double
    var farDays: Double
    var farMultiplier: Double
    var minAnnualReturn: Double
    var paths: Int64
    var drift: Double
    var maxRequote: Int64
    var cvarLevel: Double
    var varLevel: Double
    var kellyMultiplier: Double
    var sigma: Double

    @inline(__always)
    func isEnabled(_ step: Int32) -> Bool { enabled & (1 << UInt32(step)) != 0 }

    /// A per-venue value (venue code 0...2, checked on input).
    @inline(__always)
    static func pick(_ t: (Int64, Int64, Int64), _ venue: Int) -> Int64 {
        venue == 0 ? t.0 : venue == 1 ? t.1 : t.2
    }

    /// Checks in the twin's order: FLOAT for doubles out of range, ARGUMENT for counts and
    /// flags, MONEY for per-venue amounts outside 0...ARB_MONEY_FEE_MAX.
    init(_ p: arb_sizing_params) throws(EngineError) {
        let time = SizingLimits.timeMax
        guard finiteIn(p.leg_latency_s, 0, time, openLow: true), finiteIn(p.round_trip_s, 0, time, openLow: true)
        else { throw EngineError(Status.float) }
        guard p.min_samples >= 1, p.enabled & ~SizingStep.allBits == 0 else { throw EngineError(Status.argument) }
        guard finiteIn(p.alpha, 0, openLow: true), finiteIn(p.beta, 0, openLow: true), finiteIn(p.min_fill_prob, 0, 1)
        else { throw EngineError(Status.float) }
        for t in [p.per_order_extra, p.min_per_order, p.min_order] {
            guard t.0 >= 0 && t.0 <= moneyFeeMax, t.1 >= 0 && t.1 <= moneyFeeMax, t.2 >= 0 && t.2 <= moneyFeeMax
            else { throw EngineError(Status.money) }
        }
        guard finiteIn(p.exponent, 0, openLow: true), finiteIn(p.max_edge_share, 0, 1, openLow: true),
              finiteIn(p.near_days, 0), finiteIn(p.far_days, p.near_days, openLow: true),
              finiteIn(p.far_multiplier, 0, 1, openLow: true), finiteIn(p.min_annual_return, 0)
        else { throw EngineError(Status.float) }
        guard p.paths >= 1 && p.paths <= SizingLimits.pathsMax else { throw EngineError(Status.argument) }
        guard finiteIn(p.drift, -SizingLimits.volMax, SizingLimits.volMax) else { throw EngineError(Status.float) }
        guard p.max_requote >= 0 else { throw EngineError(Status.argument) }
        guard finiteIn(p.cvar_level, 0, 1, openLow: true, openHigh: true),
              finiteIn(p.var_level, 0, 1, openLow: true, openHigh: true),
              finiteIn(p.kelly_multiplier, 0, 1, openLow: true), finiteIn(p.sigma, 0, openLow: true)
        else { throw EngineError(Status.float) }
        legLatency = p.leg_latency_s
        roundTrip = p.round_trip_s
        minSamples = p.min_samples
        enabled = p.enabled
        alpha = p.alpha
        beta = p.beta
        minFillProb = p.min_fill_prob
        perOrderExtra = p.per_order_extra
        minPerOrder = p.min_per_order
        minOrder = p.min_order
        exponent = p.exponent
        maxEdgeShare = p.max_edge_share
        nearDays = p.near_days
        farDays = p.far_days
        farMultiplier = p.far_multiplier
        minAnnualReturn = p.min_annual_return
        paths = p.paths
        drift = p.drift
        maxRequote = p.max_requote
        cvarLevel = p.cvar_level
        varLevel = p.var_level
        kellyMultiplier = p.kelly_multiplier
        sigma = p.sigma
    }
}
