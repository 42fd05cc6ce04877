import CShims
import Testing
@testable import ArbEngineSwift

/// ../shared/examples/fed-december, converted by hand to ticks, lots and µ$.
func fedDecember() -> TestUniverse {
    TestUniverse([
        .kalshi("KXFEDDECISION-26DEC-H0", yesBids: [(4_800, 12_000), (4_700, 40_000)], noBids: [(4_900, 20_000), (4_300, 5_000)]),
        .kalshi("KXFEDDECISION-26DEC-C25", yesBids: [(3_600, 30_000)], noBids: [(6_200, 8_000), (5_800, 50_000)]),
        .kalshi("KXFEDDECISION-26DEC-C50", yesBids: [(200, 100_000)], noBids: [(9_700, 90_000)]),
        .kalshi("KXFEDDECISION-26DEC-H25", noBids: [(9_900, 150_000)]),
        .poly("0xfed25dec", rate: 30_000, rounding: 100, yesBids: [(3_100, 50_000)], yesAsks: [(3_200, 25_000), (3_400, 90_000)],
              noBids: [(6_300, 25_000)], noAsks: [(6_700, 50_000)]),
    ], [TestRelation(kind: 0, members: [1, 4]), TestRelation(kind: 4, members: [0, 1, 2, 3], exhaustive: true)],
       maxQty: 50_000, minProfit: 10_000)
}

@Suite struct EngineTests {
    @Test func fedDecemberExampleExactly() throws {
        let u = fedDecember()
        let (status, _, engine) = u.create()
        #expect(status == 0)
        defer { arb_engine_destroy(engine) }
        let (scanStatus, found) = scan(engine)
        #expect(scanStatus == 0)
        let f = try #require(found)
        #expect(f.opportunities.count == 2 && f.untradeable.isEmpty)
        let cross = f.opportunities[0], bucket = f.opportunities[1]
        #expect(cross.id == 0x9d5a7c7a8d2b7015 && cross.lane == 1 && cross.kind == 2)
        #expect(cross.qty == 25_000 && cross.payout == 250_000_000 && cross.cost == 240_000_000)
        #expect(cross.fee == 5_672_000 && cross.profit == 4_328_000)
        #expect(f.legs[0].map(\.market) == [1, 4] && f.legs[0].map(\.side) == [1, 0])
        #expect(f.legs[0].map(\.worst_price) == [6_400, 3_200] && f.legs[0].map(\.cost) == [160_000_000, 80_000_000])
        #expect(f.legs[0].map(\.fee) == [4_040_000, 1_632_000])
        #expect(bucket.id == 0x9ce3844666707fe7 && bucket.lane == 2 && bucket.kind == 6)
        #expect(bucket.qty == 8_000 && bucket.cost == 74_400_000 && bucket.fee == 2_950_000 && bucket.profit == 2_650_000)
        #expect(f.legs[1].map(\.worst_price) == [5_100, 3_800, 300, 100])
        #expect(f.legs[1].map(\.fee) == [1_400_000, 1_320_000, 170_000, 60_000])
    }

    /// ../shared/examples/stale-books: crossed Kalshi, locked ForecastEx, Polymarket intra walk.
    @Test func staleBooksExample() throws {
        let u = TestUniverse([
            .kalshi("KXNBAGAME-26NOV21BOSLAL-BOS", yesBids: [(6_100, 4_000), (5_900, 20_000)], noBids: [(4_200, 7_500)]),
            .poly("0xb05la1", rate: 30_000, rounding: 10, yesBids: [(5_500, 30_000)], yesAsks: [(5_700, 41_050)],
                  noBids: [(4_300, 41_050)], noAsks: [(4_500, 30_000)]),
            TestMarket(name: "forecastex:NBABOS1121", venue: 2, perContract: 10_000, sides: [[(5_600, 10_000)], [], [(4_400, 10_000)], []]),
            .poly("0xdenphx", rate: 30_000, rounding: 10, yesBids: [(6_000, 15_000)], yesAsks: [(6_200, 22_000), (6_300, 50_000)],
                  noBids: [(3_300, 9_000)], noAsks: [(3_500, 12_025), (3_600, 40_000)]),
        ], [TestRelation(kind: 0, members: [0, 1]), TestRelation(kind: 0, members: [2, 1])], maxQty: 100_000, minProfit: 10_000)
        let (status, _, engine) = u.create()
        #expect(status == 0)
        defer { arb_engine_destroy(engine) }
        let f = try #require(scan(engine).1)
        #expect(f.untradeable == [0, 2])
        #expect(f.opportunities.count == 1)
        let o = f.opportunities[0]
        #expect(o.id == 0xcfab3d81ea1b6b59 && o.lane == 0 && o.qty == 22_000)
        #expect(o.cost == 214_397_500 && o.fee == 3_065_140 && o.profit == 2_537_360)
        #expect(f.legs[0].map(\.worst_price) == [6_200, 3_600] && f.legs[0].map(\.fee) == [1_554_960, 1_510_180])
    }

    @Test func updateReturnsOnlyTouchingOpportunitiesAndMatchesScan() throws {
        let u = fedDecember()
        let (_, _, engine) = u.create()
        defer { arb_engine_destroy(engine) }
        // Polymarket YES ask drops to 0.30 (NO ask 0.71: no intra arb): the cross arb grows; the bucket
        // does not touch market 4.
        let (status, found) = update(engine, 4, [[(2_900, 50_000)], [(3_000, 25_000), (3_400, 90_000)], [(6_300, 25_000)], [(7_100, 50_000)]])
        #expect(status == 0)
        let f = try #require(found)
        #expect(f.opportunities.count == 1 && f.opportunities[0].id == 0x9d5a7c7a8d2b7015)
        let full = try #require(scan(engine).1)
        #expect(full.opportunities.count == 2)
        #expect(full.opportunities.first { $0.id == 0x9d5a7c7a8d2b7015 }?.profit == f.opportunities[0].profit)
        // Crossing market 1 removes both opportunities (it is in both) and reports it untradeable.
        let crossed = try #require(update(engine, 1, [[(6_000, 100)], [], [(4_500, 100)], []]).1)
        #expect(crossed.opportunities.isEmpty && crossed.untradeable == [1])
        #expect(try #require(scan(engine).1).opportunities.isEmpty)
    }

    @Test func hostileUniversesAreRejectedWithTheirIndex() {
        func status(_ markets: [TestMarket], _ relations: [TestRelation] = [], maxQty: Int64 = -1, minProfit: Int64 = 1) -> (Int32, Int64) {
            let (s, bad, engine) = TestUniverse(markets, relations, maxQty: maxQty, minProfit: minProfit).create()
            arb_engine_destroy(engine)
            return (s, bad)
        }
        let k = TestMarket.kalshi("A", yesBids: [(4_000, 100)])
        var badVenue = k; badVenue.venue = 3
        var badLot = k; badLot.lot = 50
        var badRate = k; badRate.rate = 1_000_000
        var asks = k; asks.sides[1] = [(5_000, 1)]
        var price = k; price.sides[0] = [(-1, 1)]
        #expect(status([k, badVenue]) == (4, 1))
        #expect(status([badLot]) == (12, 0))
        #expect(status([k, badRate]) == (10, 1))
        #expect(status([asks]) == (7, 0))
        #expect(status([price]) == (2, 0))
        #expect(status([k, k], [TestRelation(kind: 9, members: [0, 1])]) == (5, 0))
        #expect(status([k, k], [TestRelation(kind: 0, members: [0, 1, 1])]) == (9, 0))
        #expect(status([k, k], [TestRelation(kind: 0, members: [0, 0])]) == (9, 0))
        #expect(status([k, k], [TestRelation(kind: 5, members: [0, 1])]) == (9, 0))
        #expect(status([k, k], [TestRelation(kind: 4, members: [0, 5])]) == (8, 0))
        #expect(status([k], maxQty: -2).0 == 3)
        #expect(status([k], minProfit: -1).0 == 11)
        var engine: OpaquePointer? = nil
        #expect(arb_engine_create(nil, &engine, nil) == 1)
        var result = arb_result()
        #expect(arb_engine_scan(nil, &result) == 1)
        arb_engine_destroy(nil)
    }

    @Test func updateRejectsBadArgumentsAndKeepsState() throws {
        let u = fedDecember()
        let (_, _, engine) = u.create()
        defer { arb_engine_destroy(engine) }
        #expect(update(engine, 5, [[], [], [], []]).0 == 8)
        #expect(update(engine, -1, [[], [], [], []]).0 == 8)
        #expect(update(engine, 0, [[], [(5_000, 1)], [], []]).0 == 7)
        #expect(update(engine, 4, [[(10_001, 1)], [], [], []]).0 == 2)
        #expect(try #require(scan(engine).1).opportunities.count == 2)   // unchanged
    }

    @Test func dedupAndLanes() throws {
        // bucket(A, B) exhaustive and complement(B, A): one trade each, reported under the bucket.
        let u = TestUniverse([.poly("A", yesAsks: [(4_000, 10_000)], noAsks: [(7_000, 10_000)]),
                              .poly("B", yesAsks: [(5_000, 10_000)], noAsks: [(6_500, 10_000)])],
                             [TestRelation(kind: 4, members: [0, 1], exhaustive: true), TestRelation(kind: 2, members: [1, 0])])
        let (_, _, engine) = u.create()
        defer { arb_engine_destroy(engine) }
        let f = try #require(scan(engine).1)
        #expect(f.opportunities.count == 1 && f.opportunities[0].lane == 2 && f.opportunities[0].kind == 6)
        #expect(f.opportunities[0].profit == 10_000_000)
    }

    @Test func capAndLotFloor() throws {
        // Kalshi (lot 1 contract) + Polymarket: a 12.5-contract cap floors to 12 contracts.
        let u = TestUniverse([.kalshi("K", yesBids: [(3_600, 30_000)], noBids: [(6_200, 8_000)]),
                              .poly("P", rate: 30_000, rounding: 100, yesAsks: [(3_200, 25_000), (3_400, 90_000)], noAsks: [(6_700, 50_000)])],
                             [TestRelation(kind: 0, members: [0, 1])], maxQty: 1_250)
        let (_, _, engine) = u.create()
        defer { arb_engine_destroy(engine) }
        let o = try #require(scan(engine).1).opportunities
        #expect(o.count == 1 && o[0].qty == 1_200 && o[0].cost == 11_520_000 && o[0].fee == 278_400 && o[0].profit == 201_600)
    }

    @Test func bookWalkTrapAndRoundingTrap() throws {
        // Top of book 0.40 + 0.55 is only 1 lot deep; next level kills it: 1 lot, $0.0005 < $0.01.
        let trap = TestUniverse([.poly("A", yesAsks: [(4_000, 1), (5_000, 10_000)]), .poly("B", noAsks: [(5_500, 10_000)])],
                                [TestRelation(kind: 0, members: [0, 1])], minProfit: 10_000)
        let (_, _, e1) = trap.create()
        defer { arb_engine_destroy(e1) }
        #expect(try #require(scan(e1).1).opportunities.isEmpty)
        // Kalshi YES 0.01 + NO 0.98: unrounded edge > 0, but the $0.01 per-order rounding eats it.
        let rounding = TestUniverse([.kalshi("K", noBids: [(9_900, 100)]), .poly("P", noAsks: [(9_800, 10_000)])],
                                    [TestRelation(kind: 0, members: [0, 1])])
        let (_, _, e2) = rounding.create()
        defer { arb_engine_destroy(e2) }
        #expect(try #require(scan(e2).1).opportunities.isEmpty)
    }
}
