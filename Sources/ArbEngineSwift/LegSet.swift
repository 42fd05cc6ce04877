/// One candidate trade: buy every (market, side) leg in equal quantity q; it pays at least
/// `payout` dollars per contract (P) in every outcome.
struct LegSet {
    var lane: Int32
    var kind: Int32
    var payout: Int64
    var legs: [(market: Int32, side: Int32)]
}
