/// The static candidate trades of a universe (spec/ARBITRAGE.md "The five lanes"), generated
/// once at create: intra for every market in index order, then each relation in order with
/// its leg sets in table order (Lanes/*.swift). A leg set whose set of (market, side) pairs was
/// already generated is dropped, so a trade implied by several relations is reported once,
/// under the first. Candidates do not depend on books.

/// All candidates, flat (struct of arrays) for the scan loop. Candidate c's legs are
/// `legStart[c] ..< legStart[c + 1]` in leg order.
struct CandidateTable {
    var lane: [Int32] = []
    var kind: [Int32] = []
    /// P: dollars per contract paid in every outcome.
    var payout: [Int64] = []
    /// First 8 bytes of SHA-256 over the legs' sorted `name#side` strings, big-endian.
    var id: [UInt64] = []
    /// Lots per tradable unit: 100 if any leg's market trades whole contracts, else 1.
    var lot: [Int64] = []
    /// P × 10^14 (1e-16 $ per lot) when ≤ `topCostCap`, else -1: the exact path decides.
    var fastEdge: [Int64] = []
    var legStart: [Int32] = [0]
    var legMarket: [Int32] = []
    var legSide: [Int32] = []
    /// 2 × market + side: index of the leg's ladder slot and top-of-book cost.
    var legSlot: [Int32] = []
    var maxLegs = 0

    /// Candidates touching each market (CSR): `touching[touchingStart[m] ..< touchingStart[m + 1]]`,
    /// ascending candidate indices.
    var touchingStart: [Int32] = []
    var touching: [Int32] = []

    var count: Int { lane.count }

    /// Generate the candidates of `marketCount` markets (lots 100 or 1) and validated
    /// `relations`. Throws ARB_E_LENGTH when the table would not fit Int32 indices.
    init(marketCount: Int, lots: [Int64], names: MarketNames, relations: [Relation]) throws(EngineError) {
        // Slots (2 × market + side) are Int32 indices.
        guard marketCount <= Int(Int32.max) / 2 else { throw EngineError(Status.length) }
        var seen = Set<[Int32]>()
        var totalLegs = 0
        func add(_ set: LegSet) throws(EngineError) {
            let key = set.legs.map { 2 * $0.market + $0.side }.sorted()
            guard seen.insert(key).inserted else { return }       // same (market, side) set: skip
            totalLegs += set.legs.count
            guard totalLegs < Int(Int32.max) && lane.count < Int(Int32.max) - 1 else {
                throw EngineError(Status.length)
            }
            lane.append(set.lane)
            kind.append(set.kind)
            payout.append(set.payout)
            id.append(CandidateTable.id(of: set, names: names))
            var unit: Int64 = 1
            for leg in set.legs {
                legMarket.append(leg.market)
                legSide.append(leg.side)
                legSlot.append(2 * leg.market + leg.side)
                unit = max(unit, lots[Int(leg.market)])
            }
            lot.append(unit)
            let edge = Int128(set.payout) * rawPayoutPerLot
            fastEdge.append(edge <= Int128(topCostCap) ? Int64(truncatingIfNeeded: edge) : -1)
            legStart.append(Int32(truncatingIfNeeded: legMarket.count))
            maxLegs = max(maxLegs, set.legs.count)
        }
        for m in 0..<marketCount { try add(intraLegSet(market: Int32(truncatingIfNeeded: m))) }
        for relation in relations {
            for set in relation.legSets { try add(set) }
        }
        buildTouching(marketCount: marketCount)
    }

    /// The CSR index market → candidates with a leg in it (each candidate once per market).
    private mutating func buildTouching(marketCount: Int) {
        var counts = [Int32](repeating: 0, count: marketCount + 1)
        var last = [Int](repeating: -1, count: marketCount)   // last candidate counted per market
        for c in 0..<count {
            for j in Int(legStart[c])..<Int(legStart[c + 1]) {
                let m = Int(legMarket[j])
                if last[m] != c {
                    last[m] = c
                    counts[m + 1] += 1
                }
            }
        }
        for m in 0..<marketCount { counts[m + 1] += counts[m] }
        touchingStart = counts
        touching = [Int32](repeating: 0, count: Int(counts[marketCount]))
        var fill = counts.map { Int($0) }
        for i in last.indices { last[i] = -1 }
        for c in 0..<count {
            for j in Int(legStart[c])..<Int(legStart[c + 1]) {
                let m = Int(legMarket[j])
                if last[m] != c {
                    last[m] = c
                    touching[fill[m]] = Int32(truncatingIfNeeded: c)
                    fill[m] += 1
                }
            }
        }
    }

    // MARK: Ids

    /// SHA-256 over the legs' `NAME#yes` / `NAME#no` strings sorted by their UTF-8 bytes
    /// (lexicographic, a prefix first) and joined by ","; the first 8 bytes, big-endian.
    static func id(of set: LegSet, names: MarketNames) -> UInt64 {
        SHA256.prefix64(idMessage(of: set, names: names))
    }

    /// The bytes hashed for a leg set's id, e.g. `kalshi:K#no,polymarket:P#yes`.
    static func idMessage(of set: LegSet, names: MarketNames) -> [UInt8] {
        let yes = Array("#yes".utf8), no = Array("#no".utf8)
        let parts = set.legs
            .map { Array(names.name(Int($0.market))) + ($0.side == Side.yes ? yes : no) }
            .sorted { $0.lexicographicallyPrecedes($1) }
        var message: [UInt8] = []
        for (i, part) in parts.enumerated() {
            if i > 0 { message.append(UInt8(ascii: ",")) }
            message += part
        }
        return message
    }
}
