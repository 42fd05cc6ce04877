import CShims
/// Step 2, fill_model: a test. f = Π over later batches of their venue's Beta posterior (batch 1
/// contributes 1, computed once in SizingContext); reject if f < min_fill_prob.
extension SizingContext {
    func fillModel(_ qtyIn: Int64) -> arb_sizing_step {
        let reject = f < params.minFillProb ? Reason.fillProbLow : Reason.none
        return capped(SizingStep.fillModel, qtyIn: qtyIn, cap: nil, reject: reject)
    }
}
