/// Evaluation (spec "Evaluation"): expected value, Kelly fraction, Baker–McHale shrunk Kelly.
/// IEEE doubles, operations in the spec's order (the Python twin does the same).
struct Evaluation {
    var ev: Double      // $ per contract
    var kelly: Double   // [0, 1]
    var shrunk: Double  // [0, 1]
}

/// qty lots > 0; profit, cost, fee µ$ (cost + fee > 0); confidence, fillProb in [0, 1];
/// loss ≥ 0 $ per contract; sigma ≥ 0 (std. dev. of the estimate of π = c·f).
func evaluate(qty: Int64, profit: Int64, cost: Int64, fee: Int64, confidence c: Double, fillProb f: Double,
              loss: Double, sigma: Double) throws(EngineError) -> Evaluation {
    let capital = Int128(cost) + Int128(fee)
    guard qty > 0 && capital > 0 else { throw EngineError(code: Status.argument) }
    guard c.isFinite && c >= 0 && c <= 1, f.isFinite && f >= 0 && f <= 1,
          loss.isFinite && loss >= 0, sigma.isFinite && sigma >= 0 else { throw EngineError(code: Status.float) }
    let n = Double(qty) / 100                 // contracts
    let g = Double(profit) / n / 1e6          // $ won per contract on success
    let k = Double(capital) / n / 1e6         // $ of capital per contract
    let pi = c * f                            // success probability
    let ev = pi * g - (1 - pi) * loss
    if g <= 0 || pi == 0 { return Evaluation(ev: ev, kelly: 0, shrunk: 0) }
    if loss == 0 { return Evaluation(ev: ev, kelly: 1, shrunk: 1) }
    let a = loss / k                          // lost per dollar on failure
    let b = g / k                             // won per dollar on success
    if a == 0 { return Evaluation(ev: ev, kelly: 1, shrunk: 1) }   // loss underflows: the L = 0 limit
    if b == 0 { return Evaluation(ev: ev, kelly: 0, shrunk: 0) }   // gain underflows: nothing to win
    let kRaw = pi / a - (1 - pi) / b
    if !(kRaw > 0) { return Evaluation(ev: ev, kelly: 0, shrunk: 0) }   // also NaN
    if kRaw == .infinity { return Evaluation(ev: ev, kelly: 1, shrunk: 1) }   // loss negligible: the L = 0 limit
    let inv = 1 / a + 1 / b
    var shrink = 1.0                          // σ = 0: no estimation error, k²/k² exactly
    if sigma != 0 {
        shrink = (kRaw * kRaw) / (kRaw * kRaw + (sigma * sigma) * (inv * inv))   // Baker & McHale (2013)
        if shrink.isNaN { shrink = 0 }        // inf/inf from overflow: no confident estimate, bet nothing
    }
    return Evaluation(ev: ev, kelly: min(kRaw, 1), shrunk: min(max(shrink * kRaw, 0), 1))
}
