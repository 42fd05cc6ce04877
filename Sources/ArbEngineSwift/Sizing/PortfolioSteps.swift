import CShims

/// The portfolio's values steps 9–12 read (arb_portfolio_limits), checked: the caller computes
/// them from its store once per refresh (twin: `lane_bankroll`, the exposure rooms and the
/// drawdown tier in python/arbbot/sizing/portfolio_steps.py).
struct PortfolioLimits {
    var enabled: UInt32
    var tier: Int32
    var laneWeight: Double
    var laneBankroll: Double
    var multiplier: Double
    var rooms: [Int64]            // µ$ per exposure scope, twin order
    var members: [UInt64]         // per scope: bit j = leg j

    init(_ l: arb_portfolio_limits, legs: Int) throws(EngineError) {
        guard legs <= Int(ARB_PORTFOLIO_LEGS_MAX) else { throw EngineError(Status.length) }
        guard l.n_scopes >= 0 && l.n_scopes <= 4 * Int64(ARB_PORTFOLIO_LEGS_MAX) else { throw EngineError(Status.length) }
        let n = Int(l.n_scopes)
        guard n == 0 || (l.scope_room != nil && l.scope_legs != nil) else { throw EngineError(Status.null) }
        guard l.drawdown_tier >= Int32(ARB_DRAWDOWN_NORMAL) && l.drawdown_tier <= Int32(ARB_DRAWDOWN_STOP)
        else { throw EngineError(Status.argument) }
        let allLegs: UInt64 = legs == 64 ? ~0 : (UInt64(1) << UInt64(legs)) - 1
        rooms = (0..<n).map { l.scope_room![$0] }
        members = (0..<n).map { l.scope_legs![$0] }
        guard members.allSatisfy({ $0 & ~allLegs == 0 }) else { throw EngineError(Status.length) }
        enabled = l.enabled
        tier = l.drawdown_tier
        laneWeight = l.lane_weight
        laneBankroll = l.lane_bankroll
        multiplier = l.drawdown_multiplier
    }

    func isEnabled(_ step: Int32) -> Bool { enabled & (1 << UInt32(step)) != 0 }
}

/// Exactly `a <= b` for a double and an integer (Python compares a float and an int exactly):
/// false for NaN.
@inline(__always)
func doubleAtMost(_ a: Double, _ b: Int64) -> Bool {
    if a.isNaN { return false }
    if a < -9.223372036854775808e18 { return true }
    if a >= 9.223372036854775808e18 { return false }
    let whole = a.rounded(.down)
    let w = Int64(whole)
    return w < b || (w == b && a == whole)
}

extension SizingContext {
    /// A portfolio step's record (twin: `_result`): disabled keeps q_in with no cap; `reject`
    /// rejects showing the cap (its unit only when there is one); q = 0 rejects (BOUND_BELOW_LOT).
    private func record(_ step: Int32, _ qtyIn: Int64, _ q: Int64, _ enabled: Bool, cap: Double?, unit: Int32,
                        reason: Int32, reject: Int32? = nil) -> arb_sizing_step {
        func make(_ outcome: Int32, _ qty: Int64, _ capUnit: Int32, _ why: Int32) -> arb_sizing_step {
            arb_sizing_step(step: step, outcome: outcome, qty_in: qtyIn, qty: qty, cap: capUnit == CapUnit.none ? 0 : cap ?? 0,
                            cap_unit: capUnit, reason: why)
        }
        if !enabled { return make(SizingOutcome.disabled, qtyIn, CapUnit.none, reason) }
        if let reject { return make(SizingOutcome.rejected, 0, cap != nil ? unit : CapUnit.none, reject) }
        if q == 0 { return make(SizingOutcome.rejected, 0, unit, Reason.boundBelowLot) }
        return make(q < qtyIn ? SizingOutcome.lowered : SizingOutcome.kept, q, cap != nil ? unit : CapUnit.none, reason)
    }

    /// Steps 9–12 from the chain's quantity `q0` (> 0), then the final re-price, into `out`;
    /// `scopeQty[i]`: the bound exposure room i gives (when step 11 runs); `legPrices`: 3 per leg
    /// (worst, cost, fee) at the final quantity. Twin: the portfolio part of `size_with` and
    /// `final_reprice` (python/arbbot/sizing/pipeline.py).
    func portfolio(_ q0: Int64, valueAtRisk: Double, limits: PortfolioLimits, out: inout arb_portfolio_result,
                   scopeQty: UnsafeMutablePointer<Int64>?, legPrices: UnsafeMutablePointer<Int64>) {
        out = arb_portfolio_result()
        var steps: [arb_sizing_step] = []
        var q = q0
        let capital = { (x: Int64) -> Int64 in self.reprice(x).capital }
        let runs = SizingStep.portfolioOrder
        for step in runs {
            if q == 0 { break }
            let r: arb_sizing_step
            let enabled = limits.isEnabled(step)
            switch step {
            case SizingStep.laneAllocator:
                if limits.laneWeight == 0.0 {
                    r = record(step, q, 0, enabled, cap: nil, unit: CapUnit.none, reason: PortfolioReason.laneOff,
                               reject: PortfolioReason.laneOff)
                } else {
                    let bound = enabled ? dollarBound(qtyIn: q, lot: lot, limit: boundMicros(limits.laneBankroll), amount: capital) : q
                    r = record(step, q, bound, enabled, cap: limits.laneBankroll, unit: CapUnit.dollars, reason: Reason.none)
                }
            case SizingStep.lossCap:
                let c = opp.confidence, budget = opp.lossBudget
                let tail = c * pyMax(valueAtRisk, 0.0)
                let k = Double(capital(q)) / correctlyRoundedDividedBy100(q) / 1e6
                let w = (1.0 - c) * k + tail
                out.loss_k = k
                out.loss_w = w
                if !(budget > 0.0) {
                    r = record(step, q, 0, enabled, cap: budget, unit: CapUnit.dollars, reason: Reason.none,
                               reject: PortfolioReason.budgetZero)
                } else if w == 0.0 {
                    r = record(step, q, q, enabled, cap: nil, unit: CapUnit.none, reason: PortfolioReason.noLoss)
                } else {
                    var bound = q
                    if enabled {
                        let limit = boundMicros(budget)
                        bound = lossBound(qtyIn: q, limit: limit) { x in (1.0 - c) * Double(capital(x)) + tail * Double(x * 10_000) }
                    }
                    r = record(step, q, bound, enabled, cap: budget, unit: CapUnit.dollars, reason: Reason.none)
                }
            case SizingStep.exposureManager:
                r = exposure(q, limits: limits, enabled: enabled, scopeQty: scopeQty)
            default:
                r = drawdown(q, limits: limits, enabled: enabled)
            }
            steps.append(r)
            q = r.qty
        }
        while steps.count < 4 {
            steps.append(arb_sizing_step(step: runs[steps.count], outcome: SizingOutcome.skipped, qty_in: 0, qty: 0, cap: 0,
                                         cap_unit: CapUnit.none, reason: Reason.rejectedEarlier))
        }
        withUnsafeMutableBytes(of: &out.steps) { raw in
            let buffer = raw.bindMemory(to: arb_sizing_step.self)
            for (i, s) in steps.enumerated() { buffer[i] = s }
        }
        out.qty = q
        let rejected = steps.contains { $0.outcome == SizingOutcome.rejected }
        if rejected || q == 0 { return }
        // The final re-price: the largest q' ≤ q, one lot down at a time (at most 1,000 lots),
        // whose trade keeps min_profit and (fee_model) every leg's venue minimum.
        for k in Int64(0)...1_000 {
            let x = q - k * lot
            if x <= 0 { return }
            let priced = reprice(x)
            if passes(priced) {
                out.final_qty = x
                out.payout = priced.payout
                out.cost = priced.cost
                out.fee = priced.fee
                out.profit = priced.profit
                for j in 0..<opp.legs.count {
                    legPrices[3 * j] = priced.worst[j]
                    legPrices[3 * j + 1] = priced.legCost[j]
                    legPrices[3 * j + 2] = priced.legFee[j]
                }
                return
            }
        }
    }

    /// `dollarBound` for step 10's amount, a double compared exactly with the µ$ limit.
    private func lossBound(qtyIn: Int64, limit: Int64, amount: (Int64) -> Double) -> Int64 {
        var lo: Int64 = 0, hi = qtyIn / lot
        if doubleAtMost(amount(hi * lot), limit) { return hi * lot }
        hi -= 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if doubleAtMost(amount(mid * lot), limit) { lo = mid } else { hi = mid - 1 }
        }
        return lo * lot
    }

    /// Step 11: each room a dollar bound on its legs' capital; the smallest bound wins (ties: the
    /// smaller room, then the first); a room ≤ 0 rejects.
    private func exposure(_ q: Int64, limits: PortfolioLimits, enabled: Bool,
                          scopeQty: UnsafeMutablePointer<Int64>?) -> arb_sizing_step {
        let step = SizingStep.exposureManager
        if limits.rooms.isEmpty {
            return record(step, q, q, enabled, cap: nil, unit: CapUnit.none, reason: PortfolioReason.noLimit)
        }
        var best = 0
        var bounds: [Int64] = []
        for (i, room) in limits.rooms.enumerated() {
            let members = limits.members[i]
            var bound: Int64 = 0
            if room > 0 {
                bound = dollarBound(qtyIn: q, lot: lot, limit: room) { x in
                    let priced = self.reprice(x)
                    var sum: Int64 = 0
                    for j in 0..<self.opp.legs.count where members & (UInt64(1) << UInt64(j)) != 0 {
                        sum += priced.legCost[j] + priced.legFee[j]
                    }
                    return sum
                }
            }
            bounds.append(bound)
            scopeQty?[i] = bound
            if i > 0 && (bound < bounds[best] || (bound == bounds[best] && room < limits.rooms[best])) { best = i }
        }
        let room = limits.rooms[best]
        let cap = Double(room) / 1e6
        if room <= 0 {
            return record(step, q, 0, enabled, cap: cap, unit: CapUnit.dollars, reason: Reason.none,
                          reject: PortfolioReason.noRoom)
        }
        return record(step, q, bounds[best], enabled, cap: cap, unit: CapUnit.dollars, reason: Reason.none)
    }

    /// Step 12: normal keeps q (no cap); caution floor_lot(q_in × multiplier) contracts; stop rejects.
    private func drawdown(_ q: Int64, limits: PortfolioLimits, enabled: Bool) -> arb_sizing_step {
        let step = SizingStep.drawdownManager
        switch limits.tier {
        case Int32(ARB_DRAWDOWN_STOP):
            return record(step, q, 0, enabled, cap: nil, unit: CapUnit.none, reason: PortfolioReason.drawdownStop,
                          reject: PortfolioReason.drawdownStop)
        case Int32(ARB_DRAWDOWN_CAUTION):
            let cap = correctlyRoundedDividedBy100(q) * limits.multiplier
            let bound = floorLot(cap, qtyIn: q, lot: lot)
            return record(step, q, bound, enabled, cap: cap, unit: CapUnit.contracts, reason: PortfolioReason.caution,
                          reject: bound == 0 ? Reason.capBelowLot : nil)
        default:
            return record(step, q, q, enabled, cap: nil, unit: CapUnit.none, reason: PortfolioReason.normal)
        }
    }

    /// The final re-price's test: profit ≥ min_profit and (fee_model) every leg ≥ its venue minimum.
    private func passes(_ priced: Priced) -> Bool {
        if priced.profit < opp.minProfit { return false }
        guard extras else { return true }
        for (j, leg) in opp.legs.enumerated() where priced.legCost[j] < SizingParams.pick(params.minOrder, leg.venue) {
            return false
        }
        return true
    }
}
