/// Legs grouped into batches by venue in order of first appearance (SIZING.md "Legs and
/// batches"). Batch 0 (SIZING.md's batch 1) is sent at t = leg_latency_s; batch b > 0 at
/// t_{b−1} + rt(b), rt = the venue's p50 latency once it has min_samples samples, else
/// round_trip_s. Twin: `batches` in python/arbbot/sizing/pricing.py.
struct Batch {
    var venue: Int
    var legs: [Int]        // leg indices, leg order
    var time: Double       // s
}

extension SizingOpportunity {
    func batches(_ params: SizingParams) -> [Batch] {
        var out: [Batch] = []
        for (j, leg) in legs.enumerated() {
            if let b = out.firstIndex(where: { $0.venue == leg.venue }) {
                out[b].legs.append(j)
            } else {
                out.append(Batch(venue: leg.venue, legs: [j], time: 0))
            }
        }
        var t = params.legLatency
        for b in out.indices {
            if b > 0 {
                let stats = venues[out[b].venue]
                t = t + (stats.latencySamples >= params.minSamples ? stats.latency : params.roundTrip)
            }
            out[b].time = t
        }
        return out
    }
}
