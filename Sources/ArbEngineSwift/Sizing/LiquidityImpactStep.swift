import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Step 6, liquidity_impact: each of the m later legs may use max_edge_share × g / m; cap =
/// min_k D_k × ((max_edge_share × g) / ((m × (1 − f_k)) × a_k)) ^ (1 / exponent) contracts, with
/// a_k = (best ask − best bid) / 20000 dollars and D_k undecayed. No cap from a leg with f = 1 or
/// a = 0 (+∞); its cap is NaN when g ≤ 0 (the step rejects then). No later legs → no cap.
extension SizingContext {
    func liquidityImpact(_ qtyIn: Int64, out: inout arb_sizing_result,
                         legOut: UnsafeMutablePointer<arb_sizing_leg_out>) -> arb_sizing_step {
        let priced = reprice(qtyIn)
        let g = priced.g
        out.li_g = g
        let m = groups.count > 1 ? groups.dropFirst().reduce(0) { $0 + $1.legs.count } : 0
        var cap = Double.infinity
        for (b, batch) in groups.enumerated().dropFirst() {
            let f = batchFill[b - 1]
            for j in batch.legs {
                let leg = opp.legs[j]
                let d = opp.depthAt(leg: j, worst: priced.worst[j])
                let a = Double(levelsBestAsk(j) - leg.bestBid) / 20000
                let legCap: Double
                if f == 1.0 || a == 0.0 {
                    legCap = .infinity
                } else if !(g > 0.0) {
                    legCap = .nan
                } else {
                    legCap = d * pow((params.maxEdgeShare * g) / ((Double(m) * (1.0 - f)) * a), 1.0 / params.exponent)
                }
                legOut[j].li_depth = d
                legOut[j].half_spread = a
                legOut[j].fill = f
                legOut[j].leg_cap = legCap
                cap = legCap < cap ? legCap : cap
            }
        }
        if !(g > 0.0) {
            return capped(SizingStep.liquidityImpact, qtyIn: qtyIn, cap: nil, reject: Reason.edgeNonpositive)
        }
        if m == 0 { return capped(SizingStep.liquidityImpact, qtyIn: qtyIn, cap: nil, reason: Reason.noLaterLegs) }
        return capped(SizingStep.liquidityImpact, qtyIn: qtyIn, cap: cap,
                      reason: cap == .infinity ? Reason.noImpact : Reason.none)
    }

    /// Leg j's best ask (its ladder's first level), ticks.
    private func levelsBestAsk(_ j: Int) -> Int64 { opp.levels[opp.legs[j].first].price }
}
