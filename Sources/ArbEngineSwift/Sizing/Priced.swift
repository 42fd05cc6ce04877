/// The trade re-priced at `qty` lots (SIZING.md "Re-pricing"): per leg worst price (ticks), cost
/// and fee (µ$, extras included when fee_model is enabled), totals in µ$. Every amount fits
/// Int64 (see SizingOpportunity). Twin: `Priced` in python/arbbot/sizing/types.py.
struct Priced {
    var qty: Int64
    var worst: [Int64]
    var legCost: [Int64]
    var legFee: [Int64]
    var payout: Int64
    var cost: Int64
    var fee: Int64
    var profit: Int64

    /// n: contracts, qty / 100 correctly rounded (Python's int / int).
    var contracts: Double { correctlyRoundedDividedBy100(qty) }
    /// g = profit / n / 1e6: $ won per contract.
    var g: Double { Double(profit) / contracts / 1e6 }
    /// K = (cost + fee) / n / 1e6: $ of capital per contract.
    var k: Double { Double(cost + fee) / contracts / 1e6 }
    /// cost + fee, µ$: the capital a dollar bound compares.
    var capital: Int64 { cost + fee }
}
