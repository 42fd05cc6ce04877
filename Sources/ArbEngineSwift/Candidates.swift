/// Static candidates of a universe: intra for every market in order, then every relation in
/// order with its leg sets in table order; a leg set whose (market, side) set was already
/// generated is skipped. Stored flat for the scan loop.
struct Candidates {
    var lane: [Int32] = []
    var kind: [Int32] = []
    var payout: [Int64] = []
    var id: [UInt64] = []
    var legStart: [Int] = []          // count + 1 offsets into legMarket/legSide
    var legMarket: [Int32] = []
    var legSide: [Int32] = []
    var maxLegs = 0

    var count: Int { lane.count }

    init(relationKinds: [Int32], members: [[Int32]], exhaustive: [Bool], marketCount: Int, names: [[UInt8]]) {
        legStart.append(0)
        var seen = Set<[Int32]>()
        func add(_ set: LegSet) {
            let key = set.legs.map { $0.market * 2 + $0.side }.sorted()
            guard seen.insert(key).inserted else { return }
            lane.append(set.lane)
            kind.append(set.kind)
            payout.append(set.payout)
            id.append(Candidates.id(of: set, names: names))
            for leg in set.legs {
                legMarket.append(leg.market)
                legSide.append(leg.side)
            }
            legStart.append(legMarket.count)
            maxLegs = max(maxLegs, set.legs.count)
        }
        for m in 0..<marketCount { add(intraLegSet(market: Int32(m))) }
        for (j, k) in relationKinds.enumerated() {
            let ms = members[j]
            switch k {
            case RelationKind.same, RelationKind.inverse: crossLegSets(kind: k, a: ms[0], b: ms[1]).forEach(add)
            case RelationKind.complement, RelationKind.equivalent: parityLegSets(kind: k, a: ms[0], b: ms[1]).forEach(add)
            case RelationKind.bucket: bucketLegSets(members: ms, exhaustive: exhaustive[j]).forEach(add)
            case RelationKind.tree: treeLegSets(parent: ms[0], children: Array(ms[1...])).forEach(add)
            default: add(impliesLegSet(parent: ms[0], child: ms[1]))
            }
        }
    }

    /// First 8 bytes of SHA-256 over the legs' `name#side` strings sorted by UTF-8 bytes and
    /// joined by commas.
    static func id(of set: LegSet, names: [[UInt8]]) -> UInt64 {
        let yes = Array("#yes".utf8), no = Array("#no".utf8)
        let parts = set.legs.map { names[Int($0.market)] + ($0.side == Side.yes ? yes : no) }
            .sorted { $0.lexicographicallyPrecedes($1) }
        var message: [UInt8] = []
        for (i, part) in parts.enumerated() {
            if i > 0 { message.append(UInt8(ascii: ",")) }
            message += part
        }
        return SHA256.prefix64(message)
    }
}
