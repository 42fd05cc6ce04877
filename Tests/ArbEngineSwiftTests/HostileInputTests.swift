import CShims
import Testing
@testable import ArbEngineSwift

/// arb_engine_create / scan / destroy on hostile inputs: the exact code, the offending index,
/// the check order — and never a trap.
@Suite struct HostileInputTests {
    private let k = TestMarket.kalshi("A", yesBids: [(4_000, 100)])
    private let p = TestMarket.poly("B", yesAsks: [(5_000, 100)])

    private func create(_ markets: [TestMarket], _ relations: [TestRelation] = [], maxQty: Int64 = -1, minProfit: Int64 = 1,
                        _ tweak: (inout arb_universe) -> Void = { _ in }) -> (Int32, Int64) {
        let u = TestUniverse(markets, relations, maxQty: maxQty, minProfit: minProfit)
        tweak(&u.universe)
        let (status, bad, engine) = u.create()
        if status == 0 { #expect(engine != nil) } else { #expect(engine == nil) }
        arb_engine_destroy(engine)
        return (status, bad)
    }

    /// Overwrite element i of a const C array the test owns.
    private func poke(_ p: UnsafePointer<Int64>?, _ i: Int, _ v: Int64) {
        UnsafeMutablePointer(mutating: p!)[i] = v
    }

    private func with(_ m: TestMarket, _ change: (inout TestMarket) -> Void) -> TestMarket {
        var copy = m
        change(&copy)
        return copy
    }

    // MARK: Sizes and pointers

    @Test func negativeCountsAndNullPointers() {
        #expect(create([k]) { $0.n_markets = -1 } == (Status.length, -1))
        #expect(create([k]) { $0.n_relations = -1 } == (Status.length, -1))
        #expect(create([k]) { $0.n_markets = Int32.min } == (Status.length, -1))
        #expect(create([k]) { $0.venue = nil } == (Status.null, -1))
        #expect(create([k]) { $0.lot = nil } == (Status.null, -1))
        #expect(create([k]) { $0.taker_rate_ppm = nil } == (Status.null, -1))
        #expect(create([k]) { $0.per_contract = nil } == (Status.null, -1))
        #expect(create([k]) { $0.rounding = nil } == (Status.null, -1))
        #expect(create([k]) { $0.book_counts = nil } == (Status.null, -1))
        #expect(create([k]) { $0.name_offsets = nil } == (Status.null, -1))
        #expect(create([k]) { $0.names = nil } == (Status.null, -1))                  // 8 name bytes
        #expect(create([k]) { $0.book_levels = nil } == (Status.null, 0))             // market 0 has a level
        let rel = [TestRelation(kind: RelationKind.same, members: [0, 1])]
        #expect(create([k, p], rel) { $0.rel_kind = nil } == (Status.null, -1))
        #expect(create([k, p], rel) { $0.rel_exhaustive = nil } == (Status.null, -1))
        #expect(create([k, p], rel) { $0.rel_offsets = nil } == (Status.null, -1))
        #expect(create([k, p], rel) { $0.rel_members = nil } == (Status.null, -1))
        // Counts of 0: NULL arrays are fine.
        #expect(create([]) { u in
            u.venue = nil; u.lot = nil; u.taker_rate_ppm = nil; u.per_contract = nil; u.rounding = nil
            u.book_counts = nil; u.book_levels = nil; u.names = nil; u.name_offsets = nil
            u.rel_kind = nil; u.rel_exhaustive = nil; u.rel_offsets = nil; u.rel_members = nil
        } == (0, -1))
        #expect(create([k, p]) { $0.rel_kind = nil; $0.rel_members = nil; $0.rel_offsets = nil } == (0, -1))
        let emptyBooks = [TestMarket(name: "", venue: 0), TestMarket(name: "", venue: 1)]
        #expect(create(emptyBooks) { $0.book_levels = nil; $0.names = nil } == (0, -1))
    }

    @Test func nullHandlesAndOutputs() {
        let u = TestUniverse([k])
        var bad: Int64 = 0
        #expect(withUnsafePointer(to: &u.universe) { arb_engine_create($0, nil, &bad) } == Status.null)
        var engine: OpaquePointer? = nil
        #expect(arb_engine_create(nil, &engine, &bad) == Status.null && engine == nil && bad == -1)
        #expect(withUnsafePointer(to: &u.universe) { arb_engine_create($0, &engine, nil) } == 0)   // bad_index optional
        var result = arb_result()
        #expect(arb_engine_scan(nil, &result) == Status.null)
        #expect(arb_engine_scan(engine, nil) == Status.null)
        #expect(arb_engine_scan(engine, &result) == 0)
        arb_engine_destroy(engine)
        arb_engine_destroy(nil)
    }

    @Test func emptyUniverseScansToNothing() throws {
        let engine = try makeEngine(TestUniverse([]))
        defer { arb_engine_destroy(engine) }
        var result = arb_result()
        #expect(arb_engine_scan(engine, &result) == 0)
        #expect(result.n_opportunities == 0 && result.n_legs == 0 && result.n_untradeable == 0)
        #expect(result.opportunities != nil && result.legs != nil && result.untradeable != nil)   // never NULL
        #expect(update(engine, 0, [[], [], [], []]).status == Status.market)
    }

    // MARK: Markets

    @Test func badMarketsReportTheirIndex() {
        #expect(create([k, with(k) { $0.venue = 3 }]) == (Status.venue, 1))
        #expect(create([with(k) { $0.venue = -1 }]) == (Status.venue, 0))
        #expect(create([k, k, with(k) { $0.lot = 50 }]) == (Status.lot, 2))
        #expect(create([with(k) { $0.lot = 0 }]) == (Status.lot, 0))
        #expect(create([with(k) { $0.lot = -100 }]) == (Status.lot, 0))
        #expect(create([with(k) { $0.rate = -1 }]) == (Status.rate, 0))
        #expect(create([with(k) { $0.rate = 1_000_000 }]) == (Status.rate, 0))
        #expect(create([with(k) { $0.perContract = -1 }]) == (Status.money, 0))
        #expect(create([with(k) { $0.perContract = 1_000_000_000_001 }]) == (Status.money, 0))
        #expect(create([with(k) { $0.rounding = 0 }]) == (Status.money, 0))
        #expect(create([with(k) { $0.rounding = 1_000_000_000_001 }]) == (Status.money, 0))
        #expect(create([with(k) { $0.sides[0] = [(-1, 1)] }]) == (Status.price, 0))
        #expect(create([with(k) { $0.sides[2] = [(10_001, 1)] }]) == (Status.price, 0))
        #expect(create([with(k) { $0.sides[0] = [(5_000, 100_000_001)] }]) == (Status.qty, 0))
        #expect(create([with(k) { $0.sides[0] = [(5_000, -1)] }]) == (Status.qty, 0))
        #expect(create([p, with(k) { $0.sides[1] = [(5_000, 1)] }]) == (Status.bidsOnly, 1))
        #expect(create([with(TestMarket.forecastex("F", perContract: 0)) { $0.sides[3] = [(5_000, 1)] }]) == (Status.bidsOnly, 0))
        // The largest values are accepted.
        #expect(create([with(p) { $0.rate = 999_999; $0.perContract = 1_000_000_000_000; $0.rounding = 1_000_000_000_000
                                  $0.sides = [[(0, 100_000_000)], [(10_000, 100_000_000)], [], []] }]) == (0, -1))
        // A negative side count (the book's level array is shorter than it says otherwise).
        #expect(create([p, k]) { poke($0.book_counts, 6, -1) } == (Status.length, 1))
        #expect(create([k]) { poke($0.book_counts, 3, Int64.max) } == (Status.length, 0))
    }

    @Test func marketChecksRunInOrder() {
        // Market 0 before market 1; within a market: venue, lot, rate, money, book.
        #expect(create([with(k) { $0.lot = 7 }, with(k) { $0.venue = 9 }]) == (Status.lot, 0))
        #expect(create([with(k) { $0.venue = 9; $0.lot = 7 }]) == (Status.venue, 0))
        #expect(create([with(k) { $0.lot = 7; $0.rate = -1 }]) == (Status.lot, 0))
        #expect(create([with(k) { $0.rate = -1; $0.rounding = 0 }]) == (Status.rate, 0))
        #expect(create([with(k) { $0.perContract = -1; $0.sides[0] = [(-1, 1)] }]) == (Status.money, 0))
        #expect(create([with(k) { $0.sides = [[(5_000, -1)], [(-1, 1)], [], []] }]) == (Status.qty, 0))
        #expect(create([with(k) { $0.sides = [[], [(10_001, 1)], [], []] }]) == (Status.price, 0))   // levels before bids-only
        // Markets before names, names before relations, relations before parameters.
        #expect(create([with(k) { $0.lot = 7 }]) { poke($0.name_offsets, 1, -1) } == (Status.lot, 0))
        #expect(create([k, p], [TestRelation(kind: 99, members: [0, 1])]) { poke($0.name_offsets, 0, 3) } == (Status.name, -1))
        #expect(create([k, p], [TestRelation(kind: 99, members: [0, 1])], maxQty: -2) == (Status.kind, 0))
    }

    // MARK: Names

    @Test func badNameOffsets() {
        #expect(create([k, p]) { poke($0.name_offsets, 0, 1) } == (Status.name, -1))
        #expect(create([k, p]) { poke($0.name_offsets, 0, -1) } == (Status.name, -1))
        #expect(create([k, p]) { poke($0.name_offsets, 2, 3) } == (Status.name, 1))     // 3 < offsets[1] = 8
        #expect(create([k, p]) { poke($0.name_offsets, 1, -4) } == (Status.name, 0))
        #expect(create([TestMarket(name: "", venue: 0), k]) == (0, -1))            // empty names are fine
    }

    // MARK: Relations

    @Test func badRelationsReportTheirIndex() {
        let ms = [k, p, TestMarket.poly("C"), TestMarket.poly("D")]
        func rel(_ kind: Int32, _ members: [Int32]) -> TestRelation { TestRelation(kind: kind, members: members) }
        let good = rel(RelationKind.same, [0, 1])
        #expect(create(ms, [good, rel(7, [0, 1])]) == (Status.kind, 1))
        #expect(create(ms, [rel(-1, [0, 1])]) == (Status.kind, 0))
        #expect(create(ms, [rel(RelationKind.same, [0, 1, 2])]) == (Status.relation, 0))
        #expect(create(ms, [rel(RelationKind.inverse, [0])]) == (Status.relation, 0))
        #expect(create(ms, [rel(RelationKind.complement, [])]) == (Status.relation, 0))
        #expect(create(ms, [rel(RelationKind.equivalent, [0, 1, 2, 3])]) == (Status.relation, 0))
        #expect(create(ms, [rel(RelationKind.implies, [3])]) == (Status.relation, 0))
        #expect(create(ms, [rel(RelationKind.bucket, [2])]) == (Status.relation, 0))
        #expect(create(ms, [good, rel(RelationKind.tree, [0, 1])]) == (Status.relation, 1))   // one child: use implies
        #expect(create(ms, [rel(RelationKind.tree, [0, 1, 2, 3])]) == (0, -1))
        #expect(create(ms, [rel(RelationKind.bucket, [0, 1, 2, 3])]) == (0, -1))
        #expect(create(ms, [rel(RelationKind.same, [0, 4])]) == (Status.market, 0))
        #expect(create(ms, [rel(RelationKind.same, [-1, 0])]) == (Status.market, 0))
        #expect(create(ms, [good, rel(RelationKind.bucket, [2, 3, Int32.max])]) == (Status.market, 1))
        #expect(create(ms, [rel(RelationKind.same, [2, 2])]) == (Status.relation, 0))
        #expect(create(ms, [rel(RelationKind.bucket, [0, 1, 0])]) == (Status.relation, 0))
        // Members in order: the first problem wins.
        #expect(create(ms, [rel(RelationKind.bucket, [1, 1, 9])]) == (Status.relation, 0))
        #expect(create(ms, [rel(RelationKind.bucket, [1, 9, 1])]) == (Status.market, 0))
        // Kind before shape before members.
        #expect(create(ms, [rel(42, [9, 9, 9])]) == (Status.kind, 0))
        #expect(create(ms, [rel(RelationKind.same, [9, 9, 9])]) == (Status.relation, 0))
        // The same market in two relations is fine.
        #expect(create(ms, [good, rel(RelationKind.inverse, [1, 0])]) == (0, -1))
    }

    @Test func badRelationOffsets() {
        let ms = [k, p, TestMarket.poly("C")]
        let rels = [TestRelation(kind: RelationKind.same, members: [0, 1]), TestRelation(kind: RelationKind.same, members: [1, 2])]
        #expect(create(ms, rels) { poke($0.rel_offsets, 0, 1) } == (Status.length, 0))
        #expect(create(ms, rels) { poke($0.rel_offsets, 0, -2) } == (Status.length, 0))
        #expect(create(ms, rels) { poke($0.rel_offsets, 1, -1) } == (Status.length, 0))
        #expect(create(ms, rels) { poke($0.rel_offsets, 2, 1) } == (Status.length, 1))
        #expect(create(ms, rels) { poke($0.rel_offsets, 1, 3) } == (Status.relation, 0))   // 3 members for `same`
    }

    // MARK: Parameters

    @Test func badParameters() {
        #expect(create([k], maxQty: -2) == (Status.qty, -1))
        #expect(create([k], maxQty: Int64.min) == (Status.qty, -1))
        #expect(create([k], minProfit: -1) == (Status.money, -1))
        #expect(create([k], maxQty: -2, minProfit: -1) == (Status.qty, -1))
        #expect(create([k], maxQty: -1, minProfit: 0) == (0, -1))
        #expect(create([k], maxQty: Int64.max, minProfit: Int64.max) == (0, -1))
    }

    // MARK: Fuzz

    /// Random, mostly invalid universes with memory-consistent layouts (the C glue checks array
    /// lengths; the engine checks values). Each must return a code; valid ones are scanned and
    /// updated with random books. A trap would abort the test process.
    @Test(arguments: 0..<8)
    func randomGarbageNeverTraps(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &+ 1_000)
        func value() -> Int64 {
            [0, 1, -1, 100, 10_000, 10_001, 1 << 31 - 1, -(1 << 31), 1 << 62, Int64.min, Int64.max, 100_000_000, 100_000_001,
             Int64.random(in: Int64.min...Int64.max, using: &rng), Int64.random(in: -20...20_000, using: &rng)].randomElement(using: &rng)!
        }
        func value32() -> Int32 { Int32(clamping: value()) }
        var outcomes = [Int32: Int]()
        for _ in 0..<300 {
            let arrays = CArrays()
            let n = Int.random(in: 0...4, using: &rng), r = Int.random(in: 0...3, using: &rng)
            let counts = (0..<4 * n).map { _ in Bool.random(using: &rng) ? Int64.random(in: 0...2, using: &rng) : [-1, 0, 1, 3].randomElement(using: &rng)! }
            let levelCount = counts.reduce(0) { $0 + max($1, 0) }
            let levels = (0..<2 * levelCount).map { _ in Bool.random(using: &rng) ? Int64.random(in: 0...10_000, using: &rng) : value() }
            let members = (0..<Int.random(in: 0...7, using: &rng)).map { _ in Bool.random(using: &rng) ? Int32.random(in: 0...Int32(max(n, 1)), using: &rng) : value32() }
            var relOffsets: [Int64] = [0]
            for j in 0..<r { relOffsets.append(j == r - 1 ? Int64(members.count) : Int64.random(in: 0...Int64(members.count), using: &rng)) }
            if Int.random(in: 0...5, using: &rng) == 0 { relOffsets.shuffle(using: &rng) }
            var u = arb_universe(
                n_markets: Int32(n), n_relations: Int32(r),
                venue: arrays.copy((0..<n).map { _ in Bool.random(using: &rng) ? Int32.random(in: 0...2, using: &rng) : value32() }),
                lot: arrays.copy((0..<n).map { _ in [1, 100, 7].randomElement(using: &rng)! }),
                taker_rate_ppm: arrays.copy((0..<n).map { _ in Bool.random(using: &rng) ? 70_000 : value32() }),
                per_contract: arrays.copy((0..<n).map { _ in Bool.random(using: &rng) ? 0 : value() }),
                rounding: arrays.copy((0..<n).map { _ in Bool.random(using: &rng) ? 1 : value() }),
                book_counts: arrays.copy(counts), book_levels: arrays.copy(levels),
                names: arrays.copy([UInt8](repeating: 65, count: 2 * n)),
                name_offsets: arrays.copy((0...n).map { Int64(2 * $0) }),
                rel_kind: arrays.copy((0..<r).map { _ in Int32.random(in: -1...8, using: &rng) }),
                rel_exhaustive: arrays.copy((0..<r).map { _ in value32() }),
                rel_offsets: arrays.copy(relOffsets), rel_members: arrays.copy(members),
                max_qty: Bool.random(using: &rng) ? -1 : value(), min_profit: Bool.random(using: &rng) ? 1 : value())
            var engine: OpaquePointer? = nil
            var bad: Int64 = -99
            let status = arb_engine_create(&u, &engine, &bad)
            outcomes[status, default: 0] += 1
            #expect((0...17).contains(status) && bad >= -1 && bad < Int64(max(n, r)))
            guard status == 0 else { continue }
            var result = arb_result()
            #expect([0, Status.overflow].contains(arb_engine_scan(engine, &result)))
            for _ in 0..<4 {
                let k = Int.random(in: 0...3, using: &rng)
                let book = (0..<2 * k).map { _ in Bool.random(using: &rng) ? Int64.random(in: 0...10_000, using: &rng) : value() }
                let side = Int.random(in: 0...3, using: &rng)
                var bookCounts: [Int64] = [0, 0, 0, 0]
                bookCounts[side] = Int64(k)
                let s = arb_engine_update(engine, Int32.random(in: -1...Int32(n), using: &rng), book, bookCounts, &result)
                #expect((0...17).contains(s))
            }
            arb_engine_destroy(engine)
        }
        #expect(outcomes.count > 2)   // a mix of successes and several error codes
    }
}
