import CShims
import Testing
@testable import ArbEngineSwift

/// arb_engine_sizing_legs: a leg's ladder and best bid as the engine holds them equal
/// arb_decompose's of the same book (after updates too); capacity is asked for, not overrun;
/// bad legs name their index and write nothing.
@Suite struct SizingLegsTests {
    private static let kalshiA = TestMarket.kalshi("A", yesBids: [(5_000, 40_000), (4_900, 90_000)],
                                                   noBids: [(4_900, 30_000), (4_800, 80_000)])
    private static let polyB = TestMarket.poly("B", yesBids: [(4_300, 10_000)], yesAsks: [(4_400, 25_000), (4_500, 60_000)],
                                               noBids: [(5_500, 10_000)], noAsks: [(5_700, 20_000)])

    private func legs(_ engine: OpaquePointer?, _ pairs: [Int32], capacity: Int64 = 64)
        -> (status: Int32, used: Int64, bad: Int64, legs: [arb_sizing_leg], levels: [Int64]) {
        let n = pairs.count / 2
        var out = [arb_sizing_leg](repeating: arb_sizing_leg(), count: max(n, 1))
        var levels = [Int64](repeating: -7, count: 2 * Int(capacity) + 2)
        var used: Int64 = -1, bad: Int64 = -2
        let status = arb_engine_sizing_legs(engine, pairs, Int64(n), &out, &levels, capacity, &used, &bad)
        return (status, used, bad, out, levels)
    }

    @Test func ladderAndBidAreTheDecomposedBooks() throws {
        let engine = try makeEngine(TestUniverse([Self.kalshiA, Self.polyB]))
        defer { arb_engine_destroy(engine) }
        let r = legs(engine, [1, Side.yes, 0, Side.no])
        #expect(r.status == Status.ok && r.used == 4 && r.bad == -1)
        let b = decomposed(1, Self.polyB.sides), a = decomposed(0, Self.kalshiA.sides)
        #expect(Array(r.levels[0..<4]) == b.yes && Array(r.levels[4..<8]) == a.no)
        #expect(Array(r.levels[0..<8]) == [4_400, 25_000, 4_500, 60_000, 5_000, 40_000, 5_100, 90_000])
        #expect(r.legs[0].venue == 1 && r.legs[0].lot == 1 && r.legs[0].level_start == 0 && r.legs[0].level_count == 2)
        #expect(r.legs[0].best_bid == Int64(b.quote.best_bid_yes) && r.legs[0].best_bid == 4_300)
        #expect(r.legs[1].venue == 0 && r.legs[1].lot == 100 && r.legs[1].level_start == 2 && r.legs[1].level_count == 2)
        #expect(r.legs[1].fees.taker_rate_ppm == 70_000 && r.legs[1].fees.rounding == 10_000)
        #expect(r.legs[1].best_bid == Int64(a.quote.best_bid_no) && r.legs[1].best_bid == 4_900)
        #expect(r.legs[0].depletion_rate == 0 && r.legs[1].price_vol == 0)
        // B updated: its YES ladder and bid follow; an emptied side has no bid (0) and no levels.
        let sides: [Levels] = [[], [(4_450, 90_000)], [(5_500, 10_000)], []]
        let (status, _) = update(engine, 1, sides)
        #expect(status == Status.ok)
        let u = legs(engine, [1, Side.yes, 1, Side.no])
        let d = decomposed(1, sides)
        let yesCount = Int(u.legs[0].level_count), noCount = Int(u.legs[1].level_count)
        #expect(u.status == Status.ok && u.used == Int64(yesCount + noCount))
        #expect(Array(u.levels[0..<2 * yesCount]) == d.yes && Array(u.levels[2 * yesCount..<2 * (yesCount + noCount)]) == d.no)
        #expect(d.yes.count >= 2 && d.yes[0] == 4_450)
        #expect(u.legs[0].best_bid == 0 && u.legs[1].best_bid == 5_500 && d.quote.best_bid_yes == -1)
    }

    @Test func capacityIsAskedForAndBadLegsAreNamed() throws {
        let engine = try makeEngine(TestUniverse([Self.kalshiA, Self.polyB]))
        defer { arb_engine_destroy(engine) }
        let short = legs(engine, [1, Side.yes, 0, Side.no], capacity: 3)
        #expect(short.status == Status.capacity && short.used == 4 && short.bad == -1)
        #expect(short.levels.allSatisfy { $0 == -7 })                       // nothing written
        #expect(legs(engine, [1, Side.yes, 2, Side.no]).status == Status.market)
        #expect(legs(engine, [1, Side.yes, 2, Side.no]).bad == 1)
        #expect(legs(engine, [-1, Side.yes]).bad == 0)
        let side = legs(engine, [0, Side.yes, 1, 2])
        #expect(side.status == Status.argument && side.bad == 1)
        var used: Int64 = -1, bad: Int64 = -2
        var out = [arb_sizing_leg](repeating: arb_sizing_leg(), count: 1)
        #expect(arb_engine_sizing_legs(nil, [0, 0], 1, &out, nil, 0, &used, &bad) == Status.null)
        #expect(arb_engine_sizing_legs(engine, [0, 0], -1, &out, nil, 0, &used, &bad) == Status.length)
        #expect(arb_engine_sizing_legs(engine, nil, 1, &out, nil, 0, &used, &bad) == Status.null)
        #expect(arb_engine_sizing_legs(engine, [0, 0], 0, nil, nil, 0, &used, &bad) == Status.ok && used == 0)
        #expect(arb_engine_sizing_legs(engine, [0, 1], 1, &out, nil, 8, &used, &bad) == Status.null)    // levels nil
    }
}
