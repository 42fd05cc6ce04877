/// One checked leg of an opportunity being sized, in send order. Its ladder is
/// `levels[first ..< end]` of the opportunity (ascending prices, qty > 0, non-empty).
struct SizingLeg {
    var venue: Int                 // venue code 0...2
    var lot: Int64                 // 100 or 1
    var schedule: FeeSchedule
    var first: Int
    var end: Int
    var bestBid: Int64             // ticks, 0...best ask
    var depletionRate: Double      // ρ per s
    var priceVol: Double           // s, $/√s
}

/// A venue's fill and latency history (arb_venue_stats), checked.
struct VenueHistory {
    var fills: Int64
    var attempts: Int64
    var latency: Double            // s
    var latencySamples: Int64
}
