import CShims
import Testing
@testable import ArbEngineSwift

/// Static candidate generation: order, leg sets and payouts per relation kind, dedup, ids,
/// lots and the market → candidates index.
@Suite struct CandidateTests {
    private func table(_ names: [String], lots: [Int64]? = nil, _ relations: [Relation]) throws -> CandidateTable {
        var bytes: [UInt8] = [], offsets = [0]
        for n in names {
            bytes += Array(n.utf8)
            offsets.append(bytes.count)
        }
        return try CandidateTable(marketCount: names.count, lots: lots ?? names.map { _ in 1 },
                                  names: MarketNames(bytes: bytes, offsets: offsets), relations: relations)
    }

    private func legs(_ t: CandidateTable, _ c: Int) -> [[Int32]] {
        (Int(t.legStart[c])..<Int(t.legStart[c + 1])).map { [t.legMarket[$0], t.legSide[$0]] }
    }

    private let Y = Side.yes, N = Side.no

    @Test func everyKindInTableOrder() throws {
        let names = (0..<8).map { "m:\($0)" }
        let t = try table(names, [
            Relation(kind: RelationKind.same, members: [0, 1], exhaustive: true),        // exhaustive ignored
            Relation(kind: RelationKind.inverse, members: [2, 3], exhaustive: false),
            Relation(kind: RelationKind.complement, members: [4, 5], exhaustive: false),
            Relation(kind: RelationKind.equivalent, members: [6, 7], exhaustive: false),
            Relation(kind: RelationKind.bucket, members: [0, 2, 4], exhaustive: true),
            Relation(kind: RelationKind.bucket, members: [1, 3], exhaustive: false),
            Relation(kind: RelationKind.tree, members: [5, 6, 7, 0], exhaustive: false),
            Relation(kind: RelationKind.implies, members: [3, 6], exhaustive: false),
        ])
        // 8 intra, then 2 + 2 + 2 + 2 + 2 + 1 + 2 + 1.
        #expect(t.count == 8 + 14)
        for m in 0..<8 {
            #expect(t.lane[m] == Lane.intra && t.kind[m] == Kind.yesNo && t.payout[m] == 1)
            #expect(legs(t, m) == [[Int32(m), Y], [Int32(m), N]])
        }
        let expected: [(Int32, Int32, Int64, [[Int32]])] = [
            (Lane.cross, Kind.yesANoB, 1, [[0, Y], [1, N]]), (Lane.cross, Kind.noAYesB, 1, [[0, N], [1, Y]]),
            (Lane.cross, Kind.yesAYesB, 1, [[2, Y], [3, Y]]), (Lane.cross, Kind.noANoB, 1, [[2, N], [3, N]]),
            (Lane.parity, Kind.yesAYesB, 1, [[4, Y], [5, Y]]), (Lane.parity, Kind.noANoB, 1, [[4, N], [5, N]]),
            (Lane.parity, Kind.yesANoB, 1, [[6, Y], [7, N]]), (Lane.parity, Kind.noAYesB, 1, [[6, N], [7, Y]]),
            (Lane.bucket, Kind.allNo, 2, [[0, N], [2, N], [4, N]]), (Lane.bucket, Kind.allYes, 1, [[0, Y], [2, Y], [4, Y]]),
            (Lane.bucket, Kind.allNo, 1, [[1, N], [3, N]]),                                   // not exhaustive: no ALL_YES
            (Lane.tree, Kind.parentNoChildrenYes, 1, [[5, N], [6, Y], [7, Y], [0, Y]]),
            (Lane.tree, Kind.parentYesChildrenNo, 3, [[5, Y], [6, N], [7, N], [0, N]]),
            (Lane.tree, Kind.parentYesChildNo, 1, [[3, Y], [6, N]]),
        ]
        for (i, e) in expected.enumerated() {
            let c = 8 + i
            #expect(t.lane[c] == e.0 && t.kind[c] == e.1 && t.payout[c] == e.2, "candidate \(c)")
            #expect(legs(t, c) == e.3, "candidate \(c)")
        }
        #expect(t.maxLegs == 4)
        // P × 10^14 for the quick reject.
        #expect(t.fastEdge[8 + 12] == 300_000_000_000_000 && t.fastEdge[0] == 100_000_000_000_000)
    }

    @Test func dedupKeepsTheFirstRelationsLegSet() throws {
        let t = try table(["m:a", "m:b", "m:c"], [
            Relation(kind: RelationKind.same, members: [0, 1], exhaustive: false),
            Relation(kind: RelationKind.equivalent, members: [0, 1], exhaustive: false),   // both sets seen
            Relation(kind: RelationKind.equivalent, members: [1, 0], exhaustive: false),   // reversed: same sets
            Relation(kind: RelationKind.bucket, members: [0, 1], exhaustive: true),        // ALL_NO = {NO a, NO b}
            Relation(kind: RelationKind.complement, members: [1, 0], exhaustive: false),   // both seen via bucket
            Relation(kind: RelationKind.implies, members: [0, 1], exhaustive: false),      // {YES a, NO b}: seen
            Relation(kind: RelationKind.inverse, members: [1, 2], exhaustive: false),
        ])
        #expect(t.count == 3 + 2 + 2 + 2)
        #expect(t.lane[3] == Lane.cross && t.kind[3] == Kind.yesANoB)
        #expect(t.lane[4] == Lane.cross && t.kind[4] == Kind.noAYesB)
        #expect(t.lane[5] == Lane.bucket && t.kind[5] == Kind.allNo && t.lane[6] == Lane.bucket && t.kind[6] == Kind.allYes)
        #expect(t.lane[7] == Lane.cross && t.kind[7] == Kind.yesAYesB && legs(t, 7) == [[1, Y], [2, Y]])
        #expect(t.lane[8] == Lane.cross && t.kind[8] == Kind.noANoB)
        // The first relation wins whatever the lanes: implies' {YES a, NO b} is kept (tree lane)
        // and same's YES_A_NO_B dropped; same's NO_A_YES_B is new.
        let first = try table(["m:a", "m:b"], [
            Relation(kind: RelationKind.implies, members: [0, 1], exhaustive: false),
            Relation(kind: RelationKind.same, members: [0, 1], exhaustive: false),
        ])
        #expect(first.count == 2 + 1 + 1)
        #expect(first.lane[2] == Lane.tree && first.kind[2] == Kind.parentYesChildNo)
        #expect(first.lane[3] == Lane.cross && first.kind[3] == Kind.noAYesB)
    }

    // MARK: Ids

    private func id(_ names: [String], _ legs: [(market: Int32, side: Int32)]) throws -> UInt64 {
        var bytes: [UInt8] = [], offsets = [0]
        for n in names {
            bytes += Array(n.utf8)
            offsets.append(bytes.count)
        }
        return CandidateTable.id(of: LegSet(lane: 0, kind: 0, payout: 1, legs: legs),
                                 names: MarketNames(bytes: bytes, offsets: offsets))
    }

    /// Expected ids from CPython: hashlib.sha256(b",".join(sorted(parts))).hexdigest()[:16].
    @Test func idsHashTheSortedLegStrings() throws {
        // fed-december's cross opportunity, legs in relation order (a = Kalshi NO, b = Polymarket YES).
        #expect(try id(["kalshi:KXFEDDECISION-26DEC-C25", "polymarket:0xfed25dec"], [(0, N), (1, Y)]) == 0x9d5a_7c7a_8d2b_7015)
        #expect(try id(["polymarket:0xfed25dec", "kalshi:KXFEDDECISION-26DEC-C25"], [(0, Y), (1, N)]) == 0x9d5a_7c7a_8d2b_7015)
        // A whole string that is a prefix of another sorts first: "a#no" < "a#nob#yes".
        #expect(try id(["a", "a#nob"], [(1, Y), (0, N)]) == 0xeb5b_c1f1_2932_f589)
        // Sorted by UTF-8 bytes, not canonical equivalence: "x:e\u{301}" (65 CC 81) < "x:é" (C3 A9).
        #expect(try id(["x:\u{E9}", "x:e\u{301}"], [(0, N), (1, Y)]) == 0x0e25_919e_c4c5_e7a4)
        // …nor UTF-16 order: U+FF61 (EF BD A1) < U+1F600 (F0 9F 98 80) as bytes.
        #expect(try id(["u:\u{1F600}", "u:\u{FF61}"], [(0, Y), (1, Y)]) == 0xee1d_76e7_def4_afa7)
        let message = CandidateTable.idMessage(of: LegSet(lane: 0, kind: 0, payout: 1, legs: [(0, Y), (0, N)]),
                                               names: MarketNames(bytes: Array("polymarket:0xdenphx".utf8), offsets: [0, 19]))
        #expect(String(decoding: message, as: UTF8.self) == "polymarket:0xdenphx#no,polymarket:0xdenphx#yes")
    }

    // MARK: Lots and the market index

    @Test func lotIsTheLargestAmongTheLegs() throws {
        let t = try table(["k:a", "p:b", "p:c"], lots: [100, 1, 1], [
            Relation(kind: RelationKind.same, members: [0, 1], exhaustive: false),
            Relation(kind: RelationKind.same, members: [1, 2], exhaustive: false),
        ])
        #expect(t.lot == [100, 1, 1, 100, 100, 1, 1])
    }

    @Test func touchingIndexListsEachCandidateOncePerMarket() throws {
        let t = try table(["m:0", "m:1", "m:2", "m:3"], [
            Relation(kind: RelationKind.same, members: [0, 1], exhaustive: false),
            Relation(kind: RelationKind.bucket, members: [1, 2, 3], exhaustive: true),
        ])
        func touching(_ m: Int) -> [Int32] { Array(t.touching[Int(t.touchingStart[m])..<Int(t.touchingStart[m + 1])]) }
        #expect(touching(0) == [0, 4, 5])
        #expect(touching(1) == [1, 4, 5, 6, 7])
        #expect(touching(2) == [2, 6, 7])
        #expect(touching(3) == [3, 6, 7])
        #expect(t.touchingStart.count == 5 && Int(t.touchingStart[4]) == t.touching.count)
    }

    @Test func noMarketsNoCandidates() throws {
        let t = try table([], [])
        #expect(t.count == 0 && t.legStart == [0] && t.touchingStart == [0] && t.touching.isEmpty)
    }
}
