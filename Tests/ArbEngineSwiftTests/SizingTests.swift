import CShims
import Testing
@testable import ArbEngineSwift

/// The depth walk, the cap, lot flooring, min_profit and overflow.
@Suite struct SizingTests {
    private func found(_ u: TestUniverse) throws -> [Opp] {
        let engine = try makeEngine(u)
        defer { arb_engine_destroy(engine) }
        let f = try mustScan(engine)
        let reference = Reference.scan(u.markets, relationsOf(u), maxQty: u.universe.max_qty, minProfit: u.universe.min_profit)
        #expect(f.opportunities == reference.opportunities)
        return f.opportunities
    }

    private let same = [TestRelation(kind: RelationKind.same, members: [0, 1])]

    @Test func capAndLotFloor() throws {
        // Kalshi (whole contracts) + Polymarket: a 12.5-contract cap floors to 12 contracts.
        let ms: [TestMarket] = [.kalshi("K", yesBids: [(3_600, 30_000)], noBids: [(6_200, 8_000)]),
                                .poly("P", rate: 30_000, rounding: 100, yesAsks: [(3_200, 25_000), (3_400, 90_000)], noAsks: [(6_700, 50_000)])]
        let o = try found(TestUniverse(ms, same, maxQty: 1_250))
        // NO K 0.64 ×12 = $7.68, fee ⌈70,000·1,200·6,400·3,600 / 10^14⌉ = ⌈19.35⌉ → 20¢;
        // YES P 0.32 ×12 = $3.84, fee 30,000·1,200·3,200·6,800 / 10^12 = 783.36 → 784 × 100 µ$.
        #expect(o.count == 1 && o[0].qty == 1_200 && o[0].cost == 11_520_000 && o[0].fee == 278_400 && o[0].profit == 201_600)
        #expect(o[0].legs.map(\.fee) == [200_000, 78_400])
        // Cap 0: nothing.
        #expect(try found(TestUniverse(ms, same, maxQty: 0)).isEmpty)
        // Cap below one whole contract: floored to 0, nothing.
        #expect(try found(TestUniverse(ms, same, maxQty: 99)).isEmpty)
        // Cap exactly at a segment boundary and inside a later segment: same as walking it all.
        #expect(try found(TestUniverse(ms, same, maxQty: 8_000))[0].qty == 8_000)
        #expect(try found(TestUniverse(ms, same, maxQty: 25_050))[0].qty == 25_000)
    }

    @Test func polymarketPairsKeepHundredthLots() throws {
        // Both legs in 0.01 lots: 3.37 contracts are traded as 337 lots.
        let o = try found(TestUniverse([.poly("A", yesAsks: [(4_000, 337)], noAsks: [(7_000, 1)]),
                                        .poly("B", yesAsks: [(7_000, 1)], noAsks: [(5_000, 1_000)])], same))
        #expect(o.count == 1 && o[0].qty == 337 && o[0].profit == 337 * 1_000)
        // The same depth against a whole-contract market floors to 3 contracts.
        let k = try found(TestUniverse([.poly("A", yesAsks: [(4_000, 337)], noAsks: [(7_000, 1)]),
                                        TestMarket.kalshi("B", yesBids: [(5_000, 1_000)], noBids: [(3_000, 1)])], same))
        #expect(k.count == 1 && k[0].qty == 300)
    }

    @Test func bookWalkTrapStopsWhereTheEdgeDies() throws {
        // Top of book 0.40 + 0.55 is 1 lot deep; the next YES level 0.50 kills the edge: q = 1 lot,
        // $0.0005 profit — below a $0.01 min_profit, reported at min_profit 1 µ$.
        let ms: [TestMarket] = [.poly("A", yesAsks: [(4_000, 1), (5_000, 10_000)]), .poly("B", noAsks: [(5_500, 10_000)])]
        #expect(try found(TestUniverse(ms, same, minProfit: 10_000)).isEmpty)
        let o = try found(TestUniverse(ms, same))
        #expect(o.count == 1 && o[0].qty == 1 && o[0].profit == 500 && o[0].legs[0].worst == 4_000)
        // Edge exactly 0 at the top (0.45 + 0.55) is not taken.
        #expect(try found(TestUniverse([.poly("A", yesAsks: [(4_500, 100)]), .poly("B", noAsks: [(5_500, 100)])], same)).isEmpty)
        // Nor deeper: 1 contract at 0.40 + 0.55, then 0.45 + 0.55 has edge exactly 0 — stop at 100 lots.
        let zero = try found(TestUniverse([.poly("A", yesAsks: [(4_000, 100), (4_500, 100)]), .poly("B", noAsks: [(5_500, 1_000)])], same))
        #expect(zero.count == 1 && zero[0].qty == 100 && zero[0].profit == 50_000 && zero[0].legs[0].worst == 4_000)
    }

    @Test func perOrderRoundingCanEatTheEdge() throws {
        // Kalshi YES 0.01 + Polymarket NO 0.98: the unrounded edge is positive (q = 1 contract),
        // but Kalshi's fee rounds up to a whole cent: profit 1¢ − 1¢ = 0 < 1 µ$.
        #expect(try found(TestUniverse([.kalshi("K", noBids: [(9_900, 100)]), .poly("P", noAsks: [(9_800, 10_000)])], same)).isEmpty)
    }

    @Test func feesEnterTheMarginalEdge() throws {
        // 0.50 + 0.49 = 0.99 leaves 1¢; a 7% taker fee costs 0.07·0.25 = 1.75¢ per contract on
        // the 0.50 leg: the edge is negative at the top, nothing is walked.
        #expect(try found(TestUniverse([.kalshi("K", noBids: [(5_000, 10_000)]), .poly("P", noAsks: [(4_900, 10_000)])], same)).isEmpty)
        // A commission above the spread does the same.
        var fx = TestMarket.forecastex("F", perContract: 20_000, noBids: [(5_000, 10_000)])
        #expect(try found(TestUniverse([fx, .poly("P", noAsks: [(4_900, 10_000)])], same)).isEmpty)
        fx.perContract = 5_000   // 0.5¢ < 1¢: q = 100 contracts, profit $1 − $0.50.
        let o = try found(TestUniverse([fx, .poly("P", noAsks: [(4_900, 10_000)])], same))
        #expect(o.count == 1 && o[0].qty == 10_000 && o[0].fee == 500_000 && o[0].profit == 500_000)
    }

    @Test func outputOrderIsProfitThenId() throws {
        // Three independent intra arbs: two with equal profit (ordered by id), one larger first.
        let ms: [TestMarket] = [.poly("x", yesAsks: [(4_000, 100)], noAsks: [(5_900, 100)]),
                                .poly("y", yesAsks: [(4_000, 100)], noAsks: [(5_900, 100)]),
                                .poly("z", yesAsks: [(4_000, 100)], noAsks: [(5_000, 100)])]
        let o = try found(TestUniverse(ms))
        #expect(o.map(\.profit) == [100_000, 10_000, 10_000])
        #expect(o[0].legs[0].market == 2 && o[1].id < o[2].id)
    }

    /// Payouts above the quick reject's bound (P × 10^14 > 2^60, P > 11,529) take the exact path.
    @Test func hugeBucketTakesTheExactTopOfBookPath() throws {
        let n = 11_531                                             // ALL_NO pays N − 1 = 11,530
        let ms = (0..<n).map { TestMarket.poly("b\($0)", noAsks: [(9_999, 1), (10_000, 5)]) }
        let u = TestUniverse(ms, [TestRelation(kind: RelationKind.bucket, members: (0..<Int32(n)).map { $0 })])
        let engine = try makeEngine(u)
        defer { arb_engine_destroy(engine) }
        let f = try mustScan(engine)
        // 11,530 × $1 − 11,531 × $0.9999 per contract: 1 lot deep (the $1 level has no edge).
        #expect(f.opportunities.count == 1)
        let o = try #require(f.opportunities.first)
        #expect(o.kind == Kind.allNo && o.qty == 1 && o.payout == 115_300_000 && o.cost == 115_298_469 && o.profit == 1_531)
        // One market locked at $1 on its own token: the bucket is untradeable…
        let crossed = try #require(update(engine, 7, [[], [], [(9_999, 1)], [(9_999, 1)]]).found)
        #expect(crossed.opportunities.isEmpty && crossed.untradeable == [7])
        // …one market without a NO ask: no trade…
        _ = update(engine, 7, [[], [], [], [(9_999, 1)]])
        #expect(update(engine, 8, [[], [], [], []]).found?.opportunities.isEmpty == true)
        // …and back.
        #expect(update(engine, 8, [[], [], [], [(9_999, 1), (10_000, 5)]]).found?.opportunities.first?.profit == 1_531)
    }

    /// P × q × 10^4 beyond Int64 (about 9.4M levels: the smallest book that gets there) is
    /// ARB_E_OVERFLOW, from scan and from update, never a trap — and an update that overflows
    /// still leaves the engine consistent.
    @Test func overflowIsAnErrorCode() throws {
        let members = 100, levelsPerMarket = 93_940                // 99 × 93,940 × 10^8 × 10^4 > 2^63
        let big: Levels = Array(repeating: (5_000, 100_000_000), count: levelsPerMarket)
        var ms = (0..<members).map { TestMarket.poly("m\($0)", noAsks: big) }
        ms.append(.poly("x", yesAsks: [(4_000, 100)]))
        let x = Int32(members)
        let u = TestUniverse(ms, [TestRelation(kind: RelationKind.bucket, members: (0..<Int32(members)).map { $0 }),
                                  TestRelation(kind: RelationKind.same, members: [0, x])])
        let engine = try makeEngine(u)
        defer { arb_engine_destroy(engine) }
        #expect(scan(engine).status == Status.overflow)
        // Market 0 shallow and dear: no overflow; its NO at 0.70 + YES x at 0.40 is no trade.
        let shallow = try #require(update(engine, 0, [[], [], [], [(7_000, 1)]]).found)
        #expect(shallow.opportunities.map(\.qty) == [1])
        // Deep and cheap again: the bucket overflows, and NO 0 + YES x (0.90) became tradeable…
        #expect(update(engine, 0, [[], [], [], big]).status == Status.overflow)
        // …which a later scan sees once another member bounds the bucket's depth.
        #expect(update(engine, 1, [[], [], [], [(5_000, 100)]]).status == 0)
        let f = try mustScan(engine)
        #expect(f.opportunities.map(\.kind) == [Kind.allNo, Kind.noAYesB])
        #expect(f.opportunities.map(\.qty) == [100, 100] && f.opportunities.map(\.profit) == [100 * 49 * 10_000, 100_000])
    }
}
