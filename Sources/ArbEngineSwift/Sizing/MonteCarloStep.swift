import CShims
/// Step 8, monte_carlo: the legging-risk simulation at q_in (MonteCarlo.swift); cap = budget /
/// CVaR contracts (no cap when CVaR ≤ 0); mean PnL ≤ 0 rejects (the cap is still shown).
extension SizingContext {
    func monteCarlo(_ qtyIn: Int64, out: inout arb_sizing_result) -> (arb_sizing_step, arb_sizing_monte_carlo) {
        let result = simulate(reprice(qtyIn))
        let budget = opp.lossBudget
        out.monte_carlo = result
        out.has_monte_carlo = 1
        out.mc_budget = budget
        let cap: Double? = result.cvar > 0.0 ? budget / result.cvar : nil
        let step = capped(SizingStep.monteCarlo, qtyIn: qtyIn, cap: cap,
                          reason: cap == nil ? Reason.cvarNonpositive : Reason.none,
                          reject: result.mean > 0.0 ? Reason.none : Reason.meanNonpositive)
        return (step, result)
    }
}
