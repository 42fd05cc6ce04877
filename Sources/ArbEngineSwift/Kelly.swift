/// Evaluation (spec/ARBITRAGE.md "Evaluation"): expected value, Kelly fraction and the
/// Baker–McHale shrunk Kelly fraction. The engine's only floating-point code: IEEE doubles,
/// every operation in the spec's order, so the Python twin computes identical doubles.
/// Integer → Double conversions round once, as Python's `int / int` and `float(int)` do.

/// ev in $ per contract; kelly and shrunk in [0, 1] (never NaN).
struct Evaluation: Equatable {
    var ev: Double
    var kelly: Double
    var shrunk: Double
}

/// Evaluate an opportunity of `qty` lots with `profit`, `cost`, `fee` in µ$.
///
/// - Checks: qty > 0 and cost + fee > 0 (ARB_E_ARGUMENT); confidence c and fill probability f
///   finite in [0, 1], loss L (dollars per contract) and sigma σ (std. dev. of the estimate of
///   π = c × f) finite and ≥ 0 (ARB_E_FLOAT).
/// - Computes n = qty / 100, g = profit / n / 1e6, K = (cost + fee) / n / 1e6, π = c × f,
///   ev = π g − (1 − π) L; then kelly = shrunk = 0 if g ≤ 0 or π = 0; 1 if L = 0; otherwise
///   with a = L / K, b = g / K: k_raw = π / a − (1 − π) / b, kelly = min(k_raw, 1),
///   shrink = k_raw² / (k_raw² + σ² (1/a + 1/b)²), shrunk = clamp(shrink × k_raw, 0, 1).
/// - Edges (where IEEE arithmetic leaves the formula's domain): a = 0 (L underflows against K)
///   or k_raw = +∞ → the L = 0 limit (1, 1); b = 0 (g underflows) or k_raw ≤ 0 or NaN → (0, 0);
///   σ = 0 → shrink = 1 exactly; a NaN shrink (∞/∞) → 0.
func evaluate(qty: Int64, profit: Int64, cost: Int64, fee: Int64, confidence c: Double, fillProb f: Double,
              loss: Double, sigma: Double) throws(EngineError) -> Evaluation {
    let capital = Int128(cost) + Int128(fee)                   // exact, then one rounding
    guard qty > 0 && capital > 0 else { throw EngineError(Status.argument) }
    guard c.isFinite && c >= 0 && c <= 1, f.isFinite && f >= 0 && f <= 1,
          loss.isFinite && loss >= 0, sigma.isFinite && sigma >= 0 else { throw EngineError(Status.float) }

    let n = correctlyRoundedDividedBy100(qty)                  // contracts
    let g = Double(profit) / n / 1e6                           // $ won per contract on success
    let k = correctlyRoundedDouble(capital) / n / 1e6          // $ of capital per contract
    let pi = c * f                                             // success probability
    let ev = pi * g - (1 - pi) * loss

    if g <= 0 || pi == 0 { return Evaluation(ev: ev, kelly: 0, shrunk: 0) }
    if loss == 0 { return Evaluation(ev: ev, kelly: 1, shrunk: 1) }      // nothing to lose
    let a = loss / k                                           // fraction lost per dollar on failure
    let b = g / k                                              // fraction won per dollar on success
    if a == 0 { return Evaluation(ev: ev, kelly: 1, shrunk: 1) }         // the L = 0 limit
    if b == 0 { return Evaluation(ev: ev, kelly: 0, shrunk: 0) }         // nothing to win
    let kRaw = pi / a - (1 - pi) / b
    if !(kRaw > 0) { return Evaluation(ev: ev, kelly: 0, shrunk: 0) }    // also NaN
    if kRaw == .infinity { return Evaluation(ev: ev, kelly: 1, shrunk: 1) }
    let kelly = min(kRaw, 1)
    let inv = 1 / a + 1 / b
    var shrink = 1.0                                           // σ = 0: k²/k² exactly
    if sigma != 0 {
        shrink = (kRaw * kRaw) / (kRaw * kRaw + (sigma * sigma) * (inv * inv))   // Baker & McHale (2013)
        if shrink.isNaN { shrink = 0 }                         // ∞/∞ after overflow: bet nothing
    }
    return Evaluation(ev: ev, kelly: kelly, shrunk: min(max(shrink * kRaw, 0), 1))
}
