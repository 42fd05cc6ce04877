import CShims
/// Step 3, fee_model: a test at q_in with the extras (when enabled): reject if profit <
/// min_profit, else if any leg's cost is below its venue's min_order (µ$).
extension SizingContext {
    func feeModel(_ qtyIn: Int64, out: inout arb_sizing_result,
                  legOut: UnsafeMutablePointer<arb_sizing_leg_out>) -> arb_sizing_step {
        let priced = reprice(qtyIn)
        let exact = opp.exactFees(qtyIn)
        var belowMinimum = false
        for (j, leg) in opp.legs.enumerated() {
            let minimum = SizingParams.pick(params.minOrder, leg.venue)
            legOut[j].worst = priced.worst[j]
            legOut[j].cost = priced.legCost[j]
            legOut[j].fee = priced.legFee[j]
            legOut[j].exact_fee = exact[j]
            legOut[j].min_order = minimum
            if priced.legCost[j] < minimum { belowMinimum = true }
        }
        out.fm_qty = priced.qty
        out.fm_payout = priced.payout
        out.fm_cost = priced.cost
        out.fm_fee = priced.fee
        out.fm_profit = priced.profit
        out.min_profit = opp.minProfit
        let reject = priced.profit < opp.minProfit ? Reason.profitLow : belowMinimum ? Reason.venueMinimum : Reason.none
        return capped(SizingStep.feeModel, qtyIn: qtyIn, cap: nil, reject: reject)
    }
}
