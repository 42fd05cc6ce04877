import CShims
import Testing
@testable import ArbEngineSwift

// MARK: - ../shared/examples, converted by hand
// Prices $ → ticks (× 10,000), sizes contracts → lots (× 100), money $ → µ$ (× 10^6),
// rates → ppm; lot "1" → 100, "0.01" → 1; absent rounding → 1 µ$.

/// fed-december: a Kalshi Fed-decision bucket (exhaustive) and a Kalshi/Polymarket twin.
func fedDecember(minProfit: Int64 = 10_000) -> TestUniverse {
    TestUniverse([
        .kalshi("KXFEDDECISION-26DEC-H0", yesBids: [(4_800, 12_000), (4_700, 40_000)], noBids: [(4_900, 20_000), (4_300, 5_000)]),
        .kalshi("KXFEDDECISION-26DEC-C25", yesBids: [(3_600, 30_000)], noBids: [(6_200, 8_000), (5_800, 50_000)]),
        .kalshi("KXFEDDECISION-26DEC-C50", yesBids: [(200, 100_000)], noBids: [(9_700, 90_000)]),
        .kalshi("KXFEDDECISION-26DEC-H25", noBids: [(9_900, 150_000)]),
        .poly("0xfed25dec", rate: 30_000, rounding: 100, yesBids: [(3_100, 50_000)], yesAsks: [(3_200, 25_000), (3_400, 90_000)],
              noBids: [(6_300, 25_000)], noAsks: [(6_700, 50_000)]),
    ], [TestRelation(kind: RelationKind.same, members: [1, 4]),
        TestRelation(kind: RelationKind.bucket, members: [0, 1, 2, 3], exhaustive: true)],
       maxQty: 50_000, minProfit: minProfit)
}

/// stale-books: a crossed Kalshi book, a locked ForecastEx book, a Polymarket intra arb.
func staleBooks() -> TestUniverse {
    TestUniverse([
        .kalshi("KXNBAGAME-26NOV21BOSLAL-BOS", yesBids: [(6_100, 4_000), (5_900, 20_000)], noBids: [(4_200, 7_500)]),
        .poly("0xb05la1", rate: 30_000, rounding: 10, yesBids: [(5_500, 30_000)], yesAsks: [(5_700, 41_050)],
              noBids: [(4_300, 41_050)], noAsks: [(4_500, 30_000)]),
        .forecastex("NBABOS1121", perContract: 10_000, yesBids: [(5_600, 10_000)], noBids: [(4_400, 10_000)]),
        .poly("0xdenphx", rate: 30_000, rounding: 10, yesBids: [(6_000, 15_000)], yesAsks: [(6_200, 22_000), (6_300, 50_000)],
              noBids: [(3_300, 9_000)], noAsks: [(3_500, 12_025), (3_600, 40_000)]),
    ], [TestRelation(kind: RelationKind.same, members: [0, 1]), TestRelation(kind: RelationKind.same, members: [2, 1])],
       maxQty: 100_000, minProfit: 10_000)
}

/// election-negrisk: a party/candidates tree and a non-exhaustive candidate bucket.
func electionNegrisk() -> TestUniverse {
    func p(_ id: String, _ yb: Int64, _ ya: Int64, _ nb: Int64, _ na: Int64, _ bidSize: Int64, _ askSize: Int64) -> TestMarket {
        .poly(id, yesBids: [(yb, bidSize)], yesAsks: [(ya, askSize)], noBids: [(nb, askSize)], noAsks: [(na, bidSize)])
    }
    return TestUniverse([
        p("0xdem", 4_700, 4_800, 5_100, 5_300, 80_000, 60_000),
        p("0xcandA", 1_900, 2_000, 8_000, 8_100, 40_000, 30_000),
        p("0xcandB", 1_200, 1_300, 8_600, 8_800, 40_000, 30_000),
        p("0xcandC", 900, 1_000, 8_900, 9_100, 40_000, 30_000),
        p("0xdemother", 200, 300, 9_600, 9_800, 40_000, 30_000),
        p("0xrepX", 3_000, 3_100, 6_800, 7_000, 50_000, 50_000),
        p("0xrepY", 900, 1_000, 8_900, 9_100, 50_000, 50_000),
    ], [TestRelation(kind: RelationKind.tree, members: [0, 1, 2, 3, 4]),
        TestRelation(kind: RelationKind.bucket, members: [1, 2, 3, 5, 6], exhaustive: false)],
       maxQty: 100_000, minProfit: 10_000)
}

/// forecastex-kalshi: ForecastEx (commission, buy-only) against Kalshi; same, implies, inverse.
func forecastexKalshi() -> TestUniverse {
    TestUniverse([
        .forecastex("FF-26DEC-4.125", perContract: 5_000, yesBids: [(5_500, 15_000)], noBids: [(4_300, 10_000)]),
        .kalshi("KXFED-26DEC-T4.125", yesBids: [(6_000, 9_000)], noBids: [(3_800, 30_000)]),
        .kalshi("KXFED-26DEC-T4.375", yesBids: [(2_100, 10_000)], noBids: [(7_700, 10_000)]),
        .forecastex("FF-26DEC-B4.375", perContract: 5_000, yesBids: [(7_400, 10_000)], noBids: [(2_500, 10_000)]),
    ], [TestRelation(kind: RelationKind.same, members: [0, 1]),
        TestRelation(kind: RelationKind.implies, members: [1, 2]),          // parent first, whatever the JSON order
        TestRelation(kind: RelationKind.inverse, members: [2, 3])],
       maxQty: 20_000, minProfit: 10_000)
}

/// The examples' expected.json, field for field.
@Suite struct ExampleTests {
    private func leg(_ m: Int32, _ side: Int32, _ q: Int64, _ worst: Int32, _ cost: Int64, _ fee: Int64) -> Opp.Leg {
        Opp.Leg(market: m, side: side, qty: q, worst: worst, cost: cost, fee: fee)
    }

    private func scanOf(_ u: TestUniverse) throws -> Found {
        let engine = try makeEngine(u)
        defer { arb_engine_destroy(engine) }
        let found = try mustScan(engine)
        #expect(found.legsContiguous)
        // And the reference model agrees.
        let reference = Reference.scan(u.markets, relationsOf(u), maxQty: u.universe.max_qty, minProfit: u.universe.min_profit)
        #expect(found.opportunities == reference.opportunities && found.untradeable == reference.untradeable)
        return found
    }

    @Test func fedDecemberBothOpportunities() throws {
        let f = try scanOf(fedDecember())
        #expect(f.untradeable.isEmpty)
        #expect(f.opportunities == [
            // Depth walk stops at Polymarket's second level: 250 contracts.
            Opp(id: 0x9d5a_7c7a_8d2b_7015, lane: Lane.cross, kind: Kind.noAYesB, qty: 25_000, payout: 250_000_000,
                cost: 240_000_000, fee: 5_672_000, profit: 4_328_000,
                legs: [leg(1, 1, 25_000, 6_400, 160_000_000, 4_040_000), leg(4, 0, 25_000, 3_200, 80_000_000, 1_632_000)]),
            Opp(id: 0x9ce3_8446_6670_7fe7, lane: Lane.bucket, kind: Kind.allYes, qty: 8_000, payout: 80_000_000,
                cost: 74_400_000, fee: 2_950_000, profit: 2_650_000,
                legs: [leg(0, 0, 8_000, 5_100, 40_800_000, 1_400_000), leg(1, 0, 8_000, 3_800, 30_400_000, 1_320_000),
                       leg(2, 0, 8_000, 300, 2_400_000, 170_000), leg(3, 0, 8_000, 100, 800_000, 60_000)]),
        ])
    }

    @Test func staleBooksIntraAcrossTwoLevelsAndTwoUntradeable() throws {
        let f = try scanOf(staleBooks())
        #expect(f.untradeable == [0, 2])   // crossed Kalshi (0.61 + 0.42), locked ForecastEx (0.56 + 0.44)
        #expect(f.opportunities == [
            Opp(id: 0xcfab_3d81_ea1b_6b59, lane: Lane.intra, kind: Kind.yesNo, qty: 22_000, payout: 220_000_000,
                cost: 214_397_500, fee: 3_065_140, profit: 2_537_360,
                legs: [leg(3, 0, 22_000, 6_200, 136_400_000, 1_554_960), leg(3, 1, 22_000, 3_600, 77_997_500, 1_510_180)]),
        ])
    }

    @Test func electionNegriskTreeButNotTheAugmentedBucket() throws {
        let f = try scanOf(electionNegrisk())
        #expect(f.untradeable.isEmpty)
        #expect(f.opportunities == [
            Opp(id: 0x3fe4_8888_fe5f_02c4, lane: Lane.tree, kind: Kind.parentNoChildrenYes, qty: 30_000, payout: 300_000_000,
                cost: 297_000_000, fee: 0, profit: 3_000_000,
                legs: [leg(0, 1, 30_000, 5_300, 159_000_000, 0), leg(1, 0, 30_000, 2_000, 60_000_000, 0),
                       leg(2, 0, 30_000, 1_300, 39_000_000, 0), leg(3, 0, 30_000, 1_000, 30_000_000, 0),
                       leg(4, 0, 30_000, 300, 9_000_000, 0)]),
        ])
    }

    @Test func forecastexKalshiSameAndInverse() throws {
        let f = try scanOf(forecastexKalshi())
        #expect(f.untradeable.isEmpty)
        #expect(f.opportunities == [
            Opp(id: 0xf687_0338_f46b_8610, lane: Lane.cross, kind: Kind.yesANoB, qty: 9_000, payout: 90_000_000,
                cost: 87_300_000, fee: 1_970_000, profit: 730_000,
                legs: [leg(0, 0, 9_000, 5_700, 51_300_000, 450_000), leg(1, 1, 9_000, 4_000, 36_000_000, 1_520_000)]),
            Opp(id: 0xb360_8c7f_269d_86dd, lane: Lane.cross, kind: Kind.yesAYesB, qty: 10_000, payout: 100_000_000,
                cost: 98_000_000, fee: 1_740_000, profit: 260_000,
                legs: [leg(2, 0, 10_000, 2_300, 23_000_000, 1_240_000), leg(3, 0, 10_000, 7_500, 75_000_000, 500_000)]),
        ])
    }

    @Test func minProfitIsInclusive() throws {
        let at = try makeEngine(fedDecember(minProfit: 4_328_000))
        defer { arb_engine_destroy(at) }
        #expect(try mustScan(at).opportunities.map(\.id) == [0x9d5a_7c7a_8d2b_7015])
        let above = try makeEngine(fedDecember(minProfit: 4_328_001))
        defer { arb_engine_destroy(above) }
        #expect(try mustScan(above).opportunities.isEmpty)
        let zero = try makeEngine(fedDecember(minProfit: 0))
        defer { arb_engine_destroy(zero) }
        #expect(try mustScan(zero).opportunities.count == 2)
    }

    @Test func scanIsRepeatable() throws {
        let engine = try makeEngine(fedDecember())
        defer { arb_engine_destroy(engine) }
        let first = try mustScan(engine)
        for _ in 0..<3 { #expect(try mustScan(engine).opportunities == first.opportunities) }
    }
}

/// The TestRelations a TestUniverse was built from (read back from its C arrays).
func relationsOf(_ u: TestUniverse) -> [TestRelation] {
    let r = Int(u.universe.n_relations)
    return (0..<r).map { j in
        let a = Int(u.universe.rel_offsets[j]), b = Int(u.universe.rel_offsets[j + 1])
        return TestRelation(kind: u.universe.rel_kind[j], members: (a..<b).map { u.universe.rel_members[$0] },
                            exhaustive: u.universe.rel_exhaustive[j] != 0)
    }
}
