import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Step 1, execution_model (queue decay): D_k = contracts on leg k's ladder at prices ≤ its
/// worst fill at q_in; cap = min_k D_k × exp(−(ρ_k × t_k)) contracts, min taken left to right.
extension SizingContext {
    func executionModel(_ qtyIn: Int64, legOut: UnsafeMutablePointer<arb_sizing_leg_out>) -> arb_sizing_step {
        let priced = reprice(qtyIn)
        var cap = 0.0
        for j in opp.legs.indices {
            let d = opp.depthAt(leg: j, worst: priced.worst[j])
            let rate = opp.legs[j].depletionRate
            let t = groups[batchOf[j]].time
            let left = d * exp(-(rate * t))
            legOut[j].em_depth = d
            legOut[j].em_rate = rate
            legOut[j].em_time = t
            legOut[j].em_left = left
            cap = j == 0 ? left : (left < cap ? left : cap)
        }
        return capped(SizingStep.executionModel, qtyIn: qtyIn, cap: cap)
    }
}
