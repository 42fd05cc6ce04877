import CShims
import Testing
@testable import ArbEngineSwift

/// Each lane and leg set on a small hand-built universe. Golden numbers worked out by hand
/// from spec/ARBITRAGE.md (µ$, lots, ticks) and confirmed with the Python twin; ids from
/// CPython's hashlib.
@Suite struct LaneTests {
    private func only(_ markets: [TestMarket], _ relations: [TestRelation] = [], maxQty: Int64 = -1) throws -> Opp {
        let engine = try makeEngine(TestUniverse(markets, relations, maxQty: maxQty))
        defer { arb_engine_destroy(engine) }
        let found = try mustScan(engine)
        #expect(found.untradeable.isEmpty && found.legsContiguous)
        guard found.opportunities.count == 1 else { throw TestFailure("expected one opportunity, got \(found.opportunities)") }
        return found.opportunities[0]
    }

    private func none(_ markets: [TestMarket], _ relations: [TestRelation]) throws {
        let engine = try makeEngine(TestUniverse(markets, relations))
        defer { arb_engine_destroy(engine) }
        #expect(try mustScan(engine).opportunities.isEmpty)
    }

    private func leg(_ m: Int32, _ side: Int32, _ q: Int64, _ worst: Int32, _ cost: Int64, _ fee: Int64 = 0) -> Opp.Leg {
        Opp.Leg(market: m, side: side, qty: q, worst: worst, cost: cost, fee: fee)
    }

    /// Lane 1: YES 0.40 ×3 then 0.45; NO 0.55 ×2 then 0.58 ×10. Segments: 2 lots at edge 0.05,
    /// 1 at 0.02, then 0.45 + 0.58 > $1: q = 3 (300 lots).
    @Test func intraWalksTwoSegments() throws {
        let o = try only([.poly("P", yesAsks: [(4_000, 300), (4_500, 500)], noAsks: [(5_500, 200), (5_800, 1_000)])])
        #expect(o == Opp(id: 0xd8d4_5174_a5ec_370f, lane: Lane.intra, kind: Kind.yesNo, qty: 300, payout: 3_000_000,
                         cost: 2_880_000, fee: 0, profit: 120_000,
                         legs: [leg(0, 0, 300, 4_000, 1_200_000), leg(0, 1, 300, 5_800, 1_680_000)]))
    }

    /// Lane 2, `same`: Kalshi NO 0.40 (10 contracts, fee ⌈16.8⌉ × 1¢) + Polymarket YES 0.55.
    @Test func crossSameWithKalshiFees() throws {
        let a = TestMarket.kalshi("A", yesBids: [(6_000, 1_000)], noBids: [(3_000, 500)])
        let b = TestMarket.poly("B", yesAsks: [(5_500, 2_000)], noAsks: [(5_000, 400)])
        let o = try only([a, b], [TestRelation(kind: RelationKind.same, members: [0, 1])])
        #expect(o == Opp(id: 0xcbe6_f0e6_b942_9ac0, lane: Lane.cross, kind: Kind.noAYesB, qty: 1_000, payout: 10_000_000,
                         cost: 9_500_000, fee: 170_000, profit: 330_000,
                         legs: [leg(0, 1, 1_000, 4_000, 4_000_000, 170_000), leg(1, 0, 1_000, 5_500, 5_500_000)]))
        // Capped at 9.5 contracts, floored to Kalshi's whole contracts: 9; fee ⌈15.12⌉ → 16¢.
        let capped = try only([a, b], [TestRelation(kind: RelationKind.same, members: [0, 1])], maxQty: 950)
        #expect(capped.qty == 900 && capped.cost == 8_550_000 && capped.fee == 160_000 && capped.profit == 290_000)
        #expect(capped.legs == [leg(0, 1, 900, 4_000, 3_600_000, 160_000), leg(1, 0, 900, 5_500, 4_950_000)])
    }

    /// Lane 2, `inverse`: YES a 0.30 + YES b 0.65.
    @Test func crossInverse() throws {
        let o = try only([.poly("A", yesAsks: [(3_000, 100)], noAsks: [(7_500, 100)]),
                          .poly("B", yesAsks: [(6_500, 100)], noAsks: [(3_800, 100)])],
                         [TestRelation(kind: RelationKind.inverse, members: [0, 1])])
        #expect(o == Opp(id: 0xf587_b194_bad2_2155, lane: Lane.cross, kind: Kind.yesAYesB, qty: 100, payout: 1_000_000,
                         cost: 950_000, fee: 0, profit: 50_000, legs: [leg(0, 0, 100, 3_000, 300_000), leg(1, 0, 100, 6_500, 650_000)]))
    }

    /// Lane 4: `complement` takes inverse's leg sets, `equivalent` same's.
    @Test func parityComplementAndEquivalent() throws {
        let c = try only([.poly("A", yesAsks: [(3_000, 100)], noAsks: [(7_500, 100)]),
                          .poly("B", yesAsks: [(6_500, 100)], noAsks: [(3_800, 100)])],
                         [TestRelation(kind: RelationKind.complement, members: [0, 1])])
        #expect(c.lane == Lane.parity && c.kind == Kind.yesAYesB && c.id == 0xf587_b194_bad2_2155 && c.profit == 50_000)
        let e = try only([.poly("A", yesAsks: [(6_000, 100)], noAsks: [(4_200, 100)]),
                          .poly("B", yesAsks: [(5_500, 100)], noAsks: [(4_700, 100)])],
                         [TestRelation(kind: RelationKind.equivalent, members: [0, 1])])
        #expect(e == Opp(id: 0x9fda_0d22_7808_953c, lane: Lane.parity, kind: Kind.noAYesB, qty: 100, payout: 1_000_000,
                         cost: 970_000, fee: 0, profit: 30_000, legs: [leg(0, 1, 100, 4_200, 420_000), leg(1, 0, 100, 5_500, 550_000)]))
    }

    /// Lane 3, ALL_YES: 0.30 + 0.25 + 0.40 = 0.95 — only when the group is exhaustive.
    @Test func bucketAllYesOnlyWhenExhaustive() throws {
        let ms: [TestMarket] = [.poly("A", yesAsks: [(3_000, 100)], noAsks: [(7_200, 100)]),
                                .poly("B", yesAsks: [(2_500, 100)], noAsks: [(7_600, 100)]),
                                .poly("C", yesAsks: [(4_000, 100)], noAsks: [(6_100, 100)])]
        let o = try only(ms, [TestRelation(kind: RelationKind.bucket, members: [0, 1, 2], exhaustive: true)])
        #expect(o == Opp(id: 0xd729_7c85_2105_8520, lane: Lane.bucket, kind: Kind.allYes, qty: 100, payout: 1_000_000,
                         cost: 950_000, fee: 0, profit: 50_000,
                         legs: [leg(0, 0, 100, 3_000, 300_000), leg(1, 0, 100, 2_500, 250_000), leg(2, 0, 100, 4_000, 400_000)]))
        try none(ms, [TestRelation(kind: RelationKind.bucket, members: [0, 1, 2], exhaustive: false)])
    }

    /// Lane 3, ALL_NO: 0.60 + 0.70 + 0.65 = 1.95 < N − 1 = $2.
    @Test func bucketAllNoPaysNMinusOne() throws {
        let o = try only([.poly("A", yesAsks: [(4_000, 100)], noAsks: [(6_000, 100)]),
                          .poly("B", yesAsks: [(3_000, 100)], noAsks: [(7_000, 100)]),
                          .poly("C", yesAsks: [(3_500, 100)], noAsks: [(6_500, 100)])],
                         [TestRelation(kind: RelationKind.bucket, members: [0, 1, 2])])
        #expect(o == Opp(id: 0x7783_1de2_6a5c_cb2f, lane: Lane.bucket, kind: Kind.allNo, qty: 100, payout: 2_000_000,
                         cost: 1_950_000, fee: 0, profit: 50_000,
                         legs: [leg(0, 1, 100, 6_000, 600_000), leg(1, 1, 100, 7_000, 700_000), leg(2, 1, 100, 6_500, 650_000)]))
    }

    /// Lane 5, PARENT_NO_CHILDREN_YES: NO p 0.50 + YES c1 0.20 + YES c2 0.25 = 0.95.
    @Test func treeParentNoChildrenYes() throws {
        let o = try only([.poly("P", yesAsks: [(5_000, 100)], noAsks: [(5_000, 100)]),
                          .poly("C1", yesAsks: [(2_000, 100)], noAsks: [(8_000, 100)]),
                          .poly("C2", yesAsks: [(2_500, 100)], noAsks: [(7_500, 100)])],
                         [TestRelation(kind: RelationKind.tree, members: [0, 1, 2])])
        #expect(o == Opp(id: 0xb4e8_3b71_07b4_03a2, lane: Lane.tree, kind: Kind.parentNoChildrenYes, qty: 100, payout: 1_000_000,
                         cost: 950_000, fee: 0, profit: 50_000,
                         legs: [leg(0, 1, 100, 5_000, 500_000), leg(1, 0, 100, 2_000, 200_000), leg(2, 0, 100, 2_500, 250_000)]))
    }

    /// Lane 5, PARENT_YES_CHILDREN_NO: YES p 0.45 + NO c1 0.70 + NO c2 0.70 = 1.85 < k = $2.
    @Test func treeParentYesChildrenNoPaysK() throws {
        let o = try only([.poly("P", yesAsks: [(4_500, 100)], noAsks: [(5_500, 100)]),
                          .poly("C1", yesAsks: [(3_000, 100)], noAsks: [(7_000, 100)]),
                          .poly("C2", yesAsks: [(3_000, 100)], noAsks: [(7_000, 100)])],
                         [TestRelation(kind: RelationKind.tree, members: [0, 1, 2])])
        #expect(o == Opp(id: 0xebe3_a346_0a2e_1dba, lane: Lane.tree, kind: Kind.parentYesChildrenNo, qty: 100, payout: 2_000_000,
                         cost: 1_850_000, fee: 0, profit: 150_000,
                         legs: [leg(0, 0, 100, 4_500, 450_000), leg(1, 1, 100, 7_000, 700_000), leg(2, 1, 100, 7_000, 700_000)]))
    }

    /// Lane 5, `implies` (members parent, child): YES parent 0.60 + NO child 0.35.
    @Test func treeImplies() throws {
        let o = try only([.poly("PAR", yesAsks: [(6_000, 100)], noAsks: [(4_000, 100)]),
                          .poly("CH", yesAsks: [(6_500, 100)], noAsks: [(3_500, 100)])],
                         [TestRelation(kind: RelationKind.implies, members: [0, 1])])
        #expect(o == Opp(id: 0xae8c_4d63_b20f_94f2, lane: Lane.tree, kind: Kind.parentYesChildNo, qty: 100, payout: 1_000_000,
                         cost: 950_000, fee: 0, profit: 50_000, legs: [leg(0, 0, 100, 6_000, 600_000), leg(1, 1, 100, 3_500, 350_000)]))
    }

    /// A trade implied by two relations is reported once, under the first.
    @Test func dedupReportsUnderTheFirstRelation() throws {
        let ms: [TestMarket] = [.poly("A", yesAsks: [(4_000, 10_000)], noAsks: [(7_000, 10_000)]),
                                .poly("B", yesAsks: [(5_000, 10_000)], noAsks: [(6_500, 10_000)])]
        let o = try only(ms, [TestRelation(kind: RelationKind.bucket, members: [0, 1], exhaustive: true),
                              TestRelation(kind: RelationKind.complement, members: [1, 0])])
        #expect(o.lane == Lane.bucket && o.kind == Kind.allYes && o.profit == 10_000_000 && o.qty == 10_000)
        let swapped = try only(ms, [TestRelation(kind: RelationKind.complement, members: [1, 0]),
                                    TestRelation(kind: RelationKind.bucket, members: [0, 1], exhaustive: true)])
        #expect(swapped.lane == Lane.parity && swapped.kind == Kind.yesAYesB && swapped.id == o.id)
        #expect(swapped.legs.map(\.market) == [1, 0])              // legs in the reporting relation's order
    }

    /// The lane follows the relation's kind whatever the venues (`same` on one venue is cross).
    @Test func laneFollowsKindNotVenue() throws {
        let o = try only([.poly("A", yesAsks: [(6_000, 100)], noAsks: [(4_200, 100)]),
                          .poly("B", yesAsks: [(5_500, 100)], noAsks: [(4_700, 100)])],
                         [TestRelation(kind: RelationKind.same, members: [0, 1])])
        #expect(o.lane == Lane.cross && o.kind == Kind.noAYesB && o.id == 0x9fda_0d22_7808_953c)
    }
}
