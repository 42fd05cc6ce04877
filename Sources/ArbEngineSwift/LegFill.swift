/// One leg priced as a single order.
struct LegFill {
    /// Price of the last level the order touches, ticks.
    var worst: Int64
    /// Σ p_i × q_i, µ$.
    var cost: Int128
    /// The order's fee, µ$.
    var fee: Int128

    static let zero = LegFill(worst: 0, cost: 0, fee: 0)
}
