import CShims

/// One opportunity and the portfolio values the per-opportunity steps read, checked exactly as
/// the twin's `check_input` (python/arbbot/sizing/steps.py): same checks, same order, same
/// codes, the leg index on leg errors. After `init` every amount the chain computes fits Int64:
/// payout at q0 < 2^62 µ$ and Σ exact fees at q0 + n × 2 × ARB_MONEY_FEE_MAX < 2^62 µ$ (fees
/// and costs never grow as q shrinks, and Σ costs ≤ payout on the positive-edge walk).
struct SizingOpportunity {
    var seed: UInt64
    var payout: Int64              // $ per contract
    var qty: Int64                 // q0, lots
    var legs: [SizingLeg]
    var levels: [Level]            // every leg's ladder, back to back
    var confidence: Double
    var daysToClose: Double
    var minProfit: Int64           // µ$
    var equity: Int64              // µ$
    var lossBudget: Double         // $
    var venues: [VenueHistory]     // by venue code
    var lot: Int64                 // the largest lot among the legs

    init(_ input: arb_sizing_input) throws(EngineError) {
        guard input.n_legs >= 1 else { throw EngineError(Status.length) }
        guard input.payout >= 1 else { throw EngineError(Status.argument) }
        guard let rawLegs = input.legs else { throw EngineError(Status.null) }
        guard input.n_levels >= 0 && input.n_levels <= sideCountMax, input.n_legs <= sideCountMax
        else { throw EngineError(Status.length) }
        guard input.n_levels == 0 || input.levels != nil else { throw EngineError(Status.null) }
        let nLevels = Int(input.n_levels)
        var levels: [Level] = []
        var legs: [SizingLeg] = []
        legs.reserveCapacity(Int(input.n_legs))
        for i in 0..<Int(input.n_legs) {
            do throws(EngineError) {
                legs.append(try Self.leg(rawLegs[i], pool: input.levels, count: nLevels, into: &levels))
            } catch {
                throw EngineError(error.code, index: Int64(i))
            }
        }
        guard finiteIn(input.confidence, 0, 1), input.days_to_close.isFinite, finiteIn(input.loss_budget, 0)
        else { throw EngineError(Status.float) }
        guard input.min_profit >= 0 && input.equity >= 0 else { throw EngineError(Status.money) }
        let stats = [input.venues.0, input.venues.1, input.venues.2]
        for s in stats {
            guard s.fills >= 0 && s.fills <= s.attempts && s.latency_samples >= 0 else { throw EngineError(Status.argument) }
            guard finiteIn(s.latency_s, 0, SizingLimits.timeMax) else { throw EngineError(Status.float) }
        }
        seed = input.id
        payout = input.payout
        qty = input.qty
        self.legs = legs
        self.levels = levels
        confidence = input.confidence
        daysToClose = input.days_to_close
        minProfit = input.min_profit
        equity = input.equity
        lossBudget = input.loss_budget
        venues = stats.map { VenueHistory(fills: $0.fills, attempts: $0.attempts, latency: $0.latency_s,
                                          latencySamples: $0.latency_samples) }
        lot = legs.reduce(1) { max($0, $1.lot) }
        guard qty > 0 && qty % lot == 0 else { throw EngineError(Status.qty) }
        guard walkDepth(cap: qty) == qty else { throw EngineError(Status.qty) }
        let payoutAtQ0 = Int128(payout) * Int128(qty) * Int128(microsPerLotDollar)
        var fees = Int128(legs.count) * 2 * Int128(moneyFeeMax)
        for fee in exactFees(qty) { fees += Int128(fee) }
        guard payoutAtQ0 < Int128(SizingLimits.moneyMax) && fees < Int128(SizingLimits.moneyMax)
        else { throw EngineError(Status.overflow) }
    }

    /// One leg's checks in the twin's order; its ladder is appended to `levels`.
    private static func leg(_ raw: arb_sizing_leg, pool: UnsafePointer<Int64>?, count: Int,
                            into levels: inout [Level]) throws(EngineError) -> SizingLeg {
        guard Venue.isValid(raw.venue) else { throw EngineError(Status.venue) }
        guard raw.lot == 100 || raw.lot == 1 else { throw EngineError(Status.lot) }
        let schedule = FeeSchedule(rate: Int64(raw.fees.taker_rate_ppm), perContract: raw.fees.per_contract,
                                   rounding: raw.fees.rounding)
        try schedule.validate()
        guard raw.level_start >= 0, raw.level_count >= 0, raw.level_start <= Int64(count) - raw.level_count
        else { throw EngineError(Status.length) }
        let first = levels.count
        var ascending = true
        if raw.level_count > 0, let pool {
            let start = Int(raw.level_start)
            for k in start..<(start + Int(raw.level_count)) {
                let p = pool[2 * k], q = pool[2 * k + 1]
                guard p >= 0 && p <= priceMax else { throw EngineError(Status.price) }
                guard q >= 0 && q <= levelQtyMax else { throw EngineError(Status.qty) }
                if q <= 0 || (levels.count > first && levels[levels.count - 1].price >= p) { ascending = false }
                levels.append(Level(price: p, qty: q))
            }
        }
        guard raw.level_count >= 1 && ascending else { throw EngineError(Status.length) }
        guard raw.best_bid >= 0 && raw.best_bid <= levels[first].price else { throw EngineError(Status.price) }
        guard finiteIn(raw.depletion_rate, 0), finiteIn(raw.price_vol, 0, SizingLimits.volMax)
        else { throw EngineError(Status.float) }
        return SizingLeg(venue: Int(raw.venue), lot: Int64(raw.lot), schedule: schedule, first: first,
                         end: levels.count, bestBid: raw.best_bid, depletionRate: raw.depletion_rate,
                         priceVol: raw.price_vol)
    }
}
