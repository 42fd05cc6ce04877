import CShims

/// The per-opportunity chain: steps 1, 2, 3, 6, 7, 8, 4 in SIZING.md's order, each at the
/// previous step's quantity; after a reject the rest are SKIPPED. Twin: `size_opportunity` in
/// python/arbbot/sizing/steps.py.
extension SizingContext {
    /// Run the chain into `out` and `legOut[0 ..< n_legs]` (zeroed first). Throws only what the
    /// evaluation may throw (never for checked inputs in practice).
    func run(out: inout arb_sizing_result, legOut: UnsafeMutablePointer<arb_sizing_leg_out>) throws(EngineError) {
        let n = opp.legs.count
        out = arb_sizing_result()
        legOut.update(repeating: arb_sizing_leg_out(), count: n)
        out.engine_qty = opp.qty
        out.fill = f
        out.n_legs = Int64(n)
        out.n_batches = Int64(groups.count)
        for (b, batch) in groups.enumerated() {
            setTuple(&out.batch_venue, b, Int64(batch.venue))
            setTuple(&out.batch_time, b, batch.time)
            setTuple(&out.batch_fill, b, b == 0 ? 1.0 : batchFill[b - 1])
        }
        for j in 0..<n { legOut[j].later_rank = -1 }
        var rank: Int64 = 0
        for batch in groups.dropFirst() {
            for j in batch.legs {
                legOut[j].later_rank = rank
                rank += 1
            }
        }
        var q = opp.qty
        var rejectedBy = SizingStep.none, boundBy = SizingStep.none
        var mc = arb_sizing_monte_carlo()
        var records: [arb_sizing_step] = []
        records.reserveCapacity(SizingStep.order.count)
        for step in SizingStep.order {
            if rejectedBy != SizingStep.none {
                records.append(arb_sizing_step(step: step, outcome: SizingOutcome.skipped, qty_in: 0, qty: 0, cap: 0,
                                               cap_unit: CapUnit.none, reason: Reason.rejectedEarlier))
                continue
            }
            let record: arb_sizing_step
            switch step {
            case SizingStep.executionModel: record = executionModel(q, legOut: legOut)
            case SizingStep.fillModel: record = fillModel(q)
            case SizingStep.feeModel: record = feeModel(q, out: &out, legOut: legOut)
            case SizingStep.liquidityImpact: record = liquidityImpact(q, out: &out, legOut: legOut)
            case SizingStep.capitalLock: record = capitalLock(q, out: &out)
            case SizingStep.monteCarlo: (record, mc) = monteCarlo(q, out: &out)
            default: record = try kelly(q, monteCarlo: mc, out: &out)
            }
            records.append(record)
            if record.outcome == SizingOutcome.rejected {
                rejectedBy = step
            } else if record.outcome == SizingOutcome.lowered {
                boundBy = step
            }
            q = record.qty
        }
        withUnsafeMutableBytes(of: &out.steps) { raw in
            let steps = raw.bindMemory(to: arb_sizing_step.self)
            for (i, r) in records.enumerated() { steps[i] = r }
        }
        out.qty = q
        out.rejected_by = rejectedBy
        out.bound_by = boundBy
    }
}

/// Element `i` (< the tuple's length, 3 here) of a C array imported as a homogeneous tuple.
private func setTuple<T, Element>(_ tuple: inout T, _ i: Int, _ value: Element) {
    withUnsafeMutableBytes(of: &tuple) { raw in
        raw.bindMemory(to: Element.self)[i] = value
    }
}
