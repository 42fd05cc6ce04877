import CShims
/// Step 7, capital_lock: a test. T ≤ 0 rejects (closed); else with the regime multiplier r,
/// reject unless ((r × (g / K)) × 365) / max(T, 1) ≥ min_annual_return (g / K = +∞ when K = 0).
extension SizingContext {
    func capitalLock(_ qtyIn: Int64, out: inout arb_sizing_result) -> arb_sizing_step {
        let priced = reprice(qtyIn)
        let g = priced.g, k = priced.k, days = opp.daysToClose
        out.cl_days = days
        out.cl_g = g
        out.cl_k = k
        guard days > 0.0 else {
            out.cl_regime = .nan
            out.cl_annual_return = .nan
            return capped(SizingStep.capitalLock, qtyIn: qtyIn, cap: nil, reject: Reason.closed)
        }
        let r = regimeMultiplier(days)
        let ratio = k > 0.0 ? g / k : .infinity
        let annual = ((r * ratio) * 365.0) / pyMax(days, 1.0)
        out.cl_regime = r
        out.cl_annual_return = annual
        let reject = annual >= params.minAnnualReturn ? Reason.none : Reason.returnLow
        return capped(SizingStep.capitalLock, qtyIn: qtyIn, cap: nil, reject: reject)
    }

    /// r: 1 up to near_days, far_multiplier from far_days, linear between.
    func regimeMultiplier(_ days: Double) -> Double {
        if days <= params.nearDays { return 1.0 }
        if days >= params.farDays { return params.farMultiplier }
        return 1.0 + (params.farMultiplier - 1.0) * ((days - params.nearDays) / (params.farDays - params.nearDays))
    }
}
