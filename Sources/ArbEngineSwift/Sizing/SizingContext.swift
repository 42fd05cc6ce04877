import CShims
/// What every per-opportunity step reads: the checked opportunity and settings, the lot, the
/// batches and their fill probabilities (computed once, before the chain). Twin: `_Context`
/// in python/arbbot/sizing/steps.py.
struct SizingContext {
    let opp: SizingOpportunity
    let params: SizingParams
    let groups: [Batch]
    /// f_v of each later batch (groups[b + 1]), send order.
    let batchFill: [Double]
    /// f = Π batchFill, left to right from 1 (1 when there is no later batch).
    let f: Double
    /// The batch of each leg.
    let batchOf: [Int]
    /// Whether re-pricing includes step 3's extras (fee_model enabled).
    let extras: Bool

    init(_ opp: SizingOpportunity, _ params: SizingParams) {
        self.opp = opp
        self.params = params
        groups = opp.batches(params)
        batchFill = groups.dropFirst().map { b in
            let v = opp.venues[b.venue]
            return fillProbability(fills: v.fills, attempts: v.attempts, alpha: params.alpha, beta: params.beta)
        }
        var product = 1.0
        for fb in batchFill { product *= fb }
        f = product
        var of = [Int](repeating: 0, count: opp.legs.count)
        for (b, batch) in groups.enumerated() { for j in batch.legs { of[j] = b } }
        batchOf = of
        extras = params.isEnabled(SizingStep.feeModel)
    }

    var lot: Int64 { opp.lot }

    /// The trade at `qty` lots as every step re-prices it.
    func reprice(_ qty: Int64) -> Priced { opp.reprice(qty, params: params, extras: extras) }

    /// A step's record from its cap in contracts or dollars (`unit`): +∞ or nil = no cap; a
    /// disabled step keeps q_in; `reject` rejects (showing the cap); NaN or negative rejects
    /// (fail closed); else q = floor_lot(cap), 0 rejects. Twin: `_capped`.
    func capped(_ step: Int32, qtyIn: Int64, cap capIn: Double?, reason: Int32 = Reason.none,
                reject: Int32 = Reason.none, unit: Int32 = CapUnit.contracts) -> arb_sizing_step {
        let cap: Double? = capIn == .infinity ? nil : capIn
        func record(_ outcome: Int32, _ qty: Int64, _ capUnit: Int32, _ why: Int32) -> arb_sizing_step {
            arb_sizing_step(step: step, outcome: outcome, qty_in: qtyIn, qty: qty, cap: capUnit == CapUnit.none ? 0 : cap ?? 0,
                            cap_unit: capUnit, reason: why)
        }
        guard params.isEnabled(step) else { return record(SizingOutcome.disabled, qtyIn, CapUnit.none, reason) }
        guard let cap else {
            return reject != Reason.none ? record(SizingOutcome.rejected, 0, CapUnit.none, reject)
                                         : record(SizingOutcome.kept, qtyIn, CapUnit.none, reason)
        }
        if reject != Reason.none { return record(SizingOutcome.rejected, 0, unit, reject) }
        if cap != cap || cap < 0 { return record(SizingOutcome.rejected, 0, unit, Reason.capInvalid) }
        let q = floorLot(cap, qtyIn: qtyIn, lot: lot)
        if q == 0 { return record(SizingOutcome.rejected, 0, unit, Reason.capBelowLot) }
        return record(q < qtyIn ? SizingOutcome.lowered : SizingOutcome.kept, q, unit, reason)
    }
}
