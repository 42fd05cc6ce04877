import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Step 4, kelly: π = min(c f + (1 − c) / 2, 1), L = ((c × (1 − f)) × L_leg + ((1 − c) / 2) × K)
/// / (1 − π) (0 when π = 1), ARBITRAGE.md's evaluation with c = 1 and f = π; σ = c × sd(f) by the
/// delta method when every later venue has min_samples attempts, else `sigma`. Zero capital →
/// nothing to bound; g ≤ 0 or π = 0 rejects; L = 0 → dollar bound E; else (shrunk ×
/// kelly_multiplier) × E, shrunk = 0 rejecting. The bound is exact µ$ (`dollarBound`).
extension SizingContext {
    func kelly(_ qtyIn: Int64, monteCarlo mc: arb_sizing_monte_carlo,
               out: inout arb_sizing_result) throws(EngineError) -> arb_sizing_step {
        let step = SizingStep.kelly
        let priced = reprice(qtyIn)
        let c = opp.confidence
        let pi = pyMin(c * f + (1.0 - c) / 2.0, 1.0)
        let k = priced.k
        let loss = pi == 1.0 ? 0.0 : ((c * (1.0 - f)) * mc.l_leg + ((1.0 - c) / 2.0) * k) / (1.0 - pi)
        let sd = posteriorSigma()
        let sigma = sd.map { c * $0 } ?? params.sigma
        out.confidence = c
        out.kelly_fill = f
        out.pi = pi
        out.loss = loss
        out.l_leg = mc.l_leg
        out.sigma = sigma
        out.sigma_from_posterior = sd == nil ? 0 : 1
        out.equity = opp.equity
        out.bound = -1
        if priced.capital == 0 {
            (out.ev, out.kelly, out.shrunk) = (.nan, 1.0, 1.0)
            return capped(step, qtyIn: qtyIn, cap: nil, reason: Reason.capitalOnly)
        }
        let e = try evaluate(qty: qtyIn, profit: priced.profit, cost: priced.cost, fee: priced.fee, confidence: 1.0,
                             fillProb: pi, loss: loss, sigma: sigma)
        (out.ev, out.kelly, out.shrunk) = (e.ev, e.kelly, e.shrunk)
        if priced.profit <= 0 || pi == 0.0 { return capped(step, qtyIn: qtyIn, cap: nil, reject: Reason.piZero) }
        let limit: Int64, dollars: Double, reason: Int32
        if loss == 0.0 {
            (limit, dollars, reason) = (opp.equity, Double(opp.equity) / 1e6, Reason.capitalOnly)
        } else {
            dollars = (e.shrunk * params.kellyMultiplier) * (Double(opp.equity) / 1e6)
            (limit, reason) = (boundMicros(dollars), Reason.none)
        }
        out.bound = limit
        if loss != 0.0 && e.shrunk == 0.0 {
            return capped(step, qtyIn: qtyIn, cap: dollars, reject: Reason.shrunkZero, unit: CapUnit.dollars)
        }
        guard params.isEnabled(step) else { return capped(step, qtyIn: qtyIn, cap: nil, reason: reason) }
        let q = dollarBound(qtyIn: qtyIn, lot: lot, limit: limit) { reprice($0).capital }
        let outcome = q == 0 ? SizingOutcome.rejected : q < qtyIn ? SizingOutcome.lowered : SizingOutcome.kept
        return arb_sizing_step(step: step, outcome: outcome, qty_in: qtyIn, qty: q, cap: dollars,
                               cap_unit: CapUnit.dollars, reason: q == 0 ? Reason.boundBelowLot : reason)
    }

    /// sd(f) when there is a later batch and every later venue has min_samples attempts, else
    /// nil: sd² = Σ_b (Π_{w≠b} f_w)² Var_b, later batches in send order.
    func posteriorSigma() -> Double? {
        let later = groups.dropFirst()
        guard !later.isEmpty, later.allSatisfy({ opp.venues[$0.venue].attempts >= params.minSamples }) else { return nil }
        var total = 0.0
        for (b, batch) in later.enumerated() {
            var others = 1.0
            for (w, fw) in batchFill.enumerated() where w != b { others *= fw }
            let st = opp.venues[batch.venue]
            total += (others * others) * betaVariance(fills: st.fills, attempts: st.attempts, alpha: params.alpha,
                                                      beta: params.beta)
        }
        return sqrt(total)
    }
}
