import CShims
import Testing
@testable import ArbEngineSwift

/// arb_engine_update: only the opportunities touching the market, state kept on error, and the
/// incremental invariant (update == the touching part of a full scan; scan == a fresh engine's
/// scan == the reference model) on random universes and update sequences.
@Suite struct UpdateTests {
    @Test func updateReturnsOnlyTouchingOpportunities() throws {
        let engine = try makeEngine(fedDecember())
        defer { arb_engine_destroy(engine) }
        // Polymarket YES ask drops to 0.30 (NO ask 0.71: no intra arb): the cross arb grows; the
        // bucket does not touch market 4 and is not returned.
        let book: [Levels] = [[(2_900, 50_000)], [(3_000, 25_000), (3_400, 90_000)], [(6_300, 25_000)], [(7_100, 50_000)]]
        let (status, found) = update(engine, 4, book)
        #expect(status == 0)
        let f = try #require(found)
        #expect(f.untradeable.isEmpty && f.legsContiguous)
        #expect(f.opportunities.count == 1 && f.opportunities[0].id == 0x9d5a_7c7a_8d2b_7015)
        let full = try mustScan(engine)
        #expect(full.opportunities.count == 2)
        #expect(full.opportunities.filter { $0.touches(4) } == f.opportunities)
        // Bucket-only market: its update returns the bucket alone.
        let h25 = try #require(update(engine, 3, [[], [], [(9_900, 150_000)], []]).found)
        #expect(h25.opportunities.map(\.id) == [0x9ce3_8446_6670_7fe7])
    }

    @Test func crossingAndUncrossingAMarket() throws {
        let engine = try makeEngine(fedDecember())
        defer { arb_engine_destroy(engine) }
        // Market 1 locked (0.60 + 0.40): both opportunities go, it is untradeable.
        let crossed = try #require(update(engine, 1, [[(6_000, 100)], [], [(4_000, 100)], []]).found)
        #expect(crossed.opportunities.isEmpty && crossed.untradeable == [1])
        let during = try mustScan(engine)
        #expect(during.opportunities.isEmpty && during.untradeable == [1])
        // Its original book back: both return, nothing untradeable.
        let restored = try #require(update(engine, 1, [[(3_600, 30_000)], [], [(6_200, 8_000), (5_800, 50_000)], []]).found)
        #expect(restored.untradeable.isEmpty && restored.opportunities.count == 2)
        let fresh = try makeEngine(fedDecember())
        defer { arb_engine_destroy(fresh) }
        #expect(try mustScan(engine).opportunities == mustScan(fresh).opportunities)
        // An empty book: the market has no ladders and no opportunity.
        let empty = try #require(update(engine, 1, [[], [], [], []]).found)
        #expect(empty.opportunities.isEmpty && empty.untradeable.isEmpty)
    }

    @Test func badUpdatesLeaveTheEngineAsItWas() throws {
        let engine = try makeEngine(fedDecember())
        defer { arb_engine_destroy(engine) }
        let before = try mustScan(engine)
        #expect(update(engine, 5, [[], [], [], []]).status == Status.market)
        #expect(update(engine, -1, [[], [], [], []]).status == Status.market)
        #expect(update(engine, Int32.min, [[], [], [], []]).status == Status.market)
        #expect(update(engine, 0, [[], [(5_000, 1)], [], []]).status == Status.bidsOnly)
        #expect(update(engine, 4, [[(10_001, 1)], [], [], []]).status == Status.price)
        #expect(update(engine, 4, [[], [(3_000, 100_000_001)], [], []]).status == Status.qty)
        // Valid levels before the bad one must not leak into the book.
        #expect(update(engine, 4, [[], [(100, 1_000_000)], [], [(-5, 1)]]).status == Status.price)
        var result = arb_result()
        #expect(arb_engine_update(engine, 0, nil, [1, 0, 0, 0], &result) == Status.null)
        #expect(arb_engine_update(engine, 0, nil, nil, &result) == Status.null)
        #expect(arb_engine_update(engine, 0, nil, [-1, 0, 0, 0], &result) == Status.length)
        #expect(arb_engine_update(engine, 0, nil, [0, 0, 0, 0], nil) == Status.null)
        #expect(arb_engine_update(nil, 0, nil, [0, 0, 0, 0], &result) == Status.null)
        #expect(try mustScan(engine).opportunities == before.opportunities)
    }

    @Test func booksGrowAndShrinkInPlace() throws {
        let engine = try makeEngine(TestUniverse([.poly("A", yesAsks: [(4_000, 100)], noAsks: [(5_000, 100)])]))
        defer { arb_engine_destroy(engine) }
        for size in [1, 3, 40, 400, 7, 0, 1_000, 2] {
            // YES asks 0.40 − i ticks (descending), NO 0.50: every level pairs up at edge > 0.
            let yes: Levels = (0..<size).map { (Int64(4_000 - $0), 10) }
            let f = try #require(update(engine, 0, [[], yes, [], [(5_000, 1_000_000)]]).found)
            if size == 0 {
                #expect(f.opportunities.isEmpty)
            } else {
                let o = try #require(f.opportunities.first)
                #expect(o.qty == Int64(10 * size))
                #expect(o.legs[0].worst == 4_000 && o.legs[0].cost == (0..<Int64(size)).reduce(0) { $0 + (4_000 - $1) * 10 })
            }
        }
    }

    /// The slot storage: a bigger book moves the slot to a fresh region, a smaller one reuses it.
    @Test func ladderStoreRelocatesOnlyToGrow() throws {
        var store = LadderStore(slots: 2)
        store.reserve(sizes: [1, 0])
        func install(_ slot: Int, _ asks: [Int64]) throws {
            let counts: [Int64] = [0, Int64(asks.count / 2), 0, 0]
            try asks.withUnsafeBufferPointer { levels in
                try counts.withUnsafeBufferPointer { c in
                    let book = try NativeBook.validate(venue: Venue.polymarket, levels: levels.baseAddress, counts: c.baseAddress)
                    store.install(slot: slot, book: book, side: Side.yes)
                }
            }
        }
        try install(0, [5_000, 1])
        let home = store.start[0]
        try install(0, [5_100, 2, 5_000, 3])                      // capacity 1 + 0 + 4 = 5: stays
        #expect(store.start[0] == home && store.levels(slot: 0) == [Level(price: 5_000, qty: 3), Level(price: 5_100, qty: 2)])
        let many = (0..<40).flatMap { i -> [Int64] in [Int64(6_000 - i), 1] }
        try install(0, many)                                       // 40 > 5: moves to the end of the pool
        #expect(store.start[0] != home && store.count[0] == 40 && store.levels(slot: 0).first?.price == 5_961)
        let moved = store.start[0], poolSize = store.pool.count
        try install(0, [4_000, 9])                                 // shrinking reuses the region
        try install(1, [])
        #expect(store.start[0] == moved && store.pool.count == poolSize && store.levels(slot: 0) == [Level(price: 4_000, qty: 9)])
        #expect(store.levels(slot: 1).isEmpty)
    }

    /// Random universes (seeded), random update sequences: every result against the reference model.
    @Test(arguments: 0..<24)
    func incrementalUpdatesEqualAFullRescan(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ 17)
        var markets = (0..<Int.random(in: 1...8, using: &rng)).map { randomMarket($0, &rng) }
        let relations = (0..<Int.random(in: 0...6, using: &rng)).compactMap { _ in randomRelation(markets.count, &rng) }
        let maxQty: Int64 = Bool.random(using: &rng) ? -1 : Int64.random(in: 0...30_000, using: &rng)
        let minProfit: Int64 = Bool.random(using: &rng) ? 1 : Int64.random(in: 0...50_000, using: &rng)
        let u = TestUniverse(markets, relations, maxQty: maxQty, minProfit: minProfit)
        let engine = try makeEngine(u)
        defer { arb_engine_destroy(engine) }
        let first = try mustScan(engine)
        let reference = Reference.scan(markets, relations, maxQty: maxQty, minProfit: minProfit)
        #expect(first.opportunities == reference.opportunities)
        #expect(first.untradeable == reference.untradeable && first.legsContiguous)
        for _ in 0..<12 {
            let m = Int.random(in: 0..<markets.count, using: &rng)
            markets[m].sides = randomBook(venue: markets[m].venue, &rng)
            let got = try #require(update(engine, Int32(m), markets[m].sides).found)
            let now = Reference.scan(markets, relations, maxQty: maxQty, minProfit: minProfit)
            #expect(got.opportunities == now.opportunities.filter { $0.touches(Int32(m)) })
            #expect(got.untradeable == (now.untradeable.contains(Int32(m)) ? [Int32(m)] : []))
            #expect(got.legsContiguous)
        }
        let final = try mustScan(engine)
        let fresh = try makeEngine(TestUniverse(markets, relations, maxQty: maxQty, minProfit: minProfit))
        defer { arb_engine_destroy(fresh) }
        let freshScan = try mustScan(fresh)
        #expect(final.opportunities == freshScan.opportunities && final.untradeable == freshScan.untradeable)
        #expect(final.opportunities == Reference.scan(markets, relations, maxQty: maxQty, minProfit: minProfit).opportunities)
    }
}

// MARK: - Random universes (mostly near-efficient books with small mispricings)

func randomMarket(_ i: Int, _ rng: inout SplitMix64) -> TestMarket {
    let venue = Int32.random(in: 0...2, using: &rng)
    let suffix = ["", "é", "€", "#", ",", ":x"].randomElement(using: &rng)!
    var m = TestMarket(name: ["kalshi", "polymarket", "forecastex"][Int(venue)] + ":M\(i)" + suffix, venue: venue)
    m.lot = Bool.random(using: &rng) ? 100 : 1
    m.rate = [0, 30_000, 70_000, Int32.random(in: 0...999_999, using: &rng)].randomElement(using: &rng)!
    m.perContract = [0, 0, 5_000, 10_000, Int64.random(in: 0...2_000_000, using: &rng)].randomElement(using: &rng)!
    m.rounding = [1, 10, 100, 10_000, Int64.random(in: 1...1_000_000, using: &rng)].randomElement(using: &rng)!
    m.sides = randomBook(venue: venue, &rng)
    return m
}

func randomBook(venue: Int32, _ rng: inout SplitMix64) -> [Levels] {
    func near(_ fair: Int64) -> Levels {
        (0..<Int.random(in: 0...4, using: &rng)).map { _ in
            (min(10_000, max(0, fair + Int64.random(in: -600...600, using: &rng))), Int64.random(in: 0...20_000, using: &rng))
        }
    }
    var sides: [Levels]
    if Int.random(in: 0...4, using: &rng) == 0 {                 // fully random, crossed books included
        sides = (0..<4).map { _ in
            (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                (Int64.random(in: 0...10_000, using: &rng), [0, 1, 100, Int64.random(in: 0...50_000, using: &rng)].randomElement(using: &rng)!)
            }
        }
    } else {
        let fair = Int64.random(in: 300...9_700, using: &rng)
        sides = [near(fair - 200), near(fair + 100), near(10_000 - fair - 200), near(10_000 - fair + 100)]
    }
    if venue != 1 { sides[1] = []; sides[3] = [] }
    return sides
}

func randomRelation(_ n: Int, _ rng: inout SplitMix64) -> TestRelation? {
    let kind = Int32.random(in: 0...6, using: &rng)
    let size = kind == 4 ? Int.random(in: 2...max(2, min(n, 6)), using: &rng)
             : kind == 5 ? Int.random(in: 3...max(3, min(n, 6)), using: &rng) : 2
    if size > n { return nil }
    let members = Array((0..<Int32(n)).shuffled(using: &rng).prefix(size))
    return TestRelation(kind: kind, members: members, exhaustive: Bool.random(using: &rng))
}
