/// Step 2's Beta posterior of IOC fill success and the delta-method σ step 4 may use.
/// Twin: `fill_probability`, `_beta_variance`, `_posterior_sigma` in python/arbbot/sizing/steps.py.

/// f_v = (fills + α) / (attempts + α + β).
func fillProbability(fills: Int64, attempts: Int64, alpha: Double, beta: Double) -> Double {
    (Double(fills) + alpha) / (Double(attempts) + alpha + beta)
}

/// Var of Beta(fills + α, attempts − fills + β): ab / ((a + b)² (a + b + 1)).
func betaVariance(fills: Int64, attempts: Int64, alpha: Double, beta: Double) -> Double {
    let a = Double(fills) + alpha
    let b = Double(attempts - fills) + beta
    let s = a + b
    return (a * b) / ((s * s) * (s + 1.0))
}
