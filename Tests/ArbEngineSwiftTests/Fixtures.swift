import CShims
@testable import ArbEngineSwift

// MARK: - C memory for tests

/// Owns C copies of Swift arrays for the lifetime of a test (freed on deinit).
final class CArrays {
    private var frees: [() -> Void] = []
    deinit { frees.forEach { $0() } }

    func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
        p.initialize(from: values, count: values.count)
        frees.append { p.deallocate() }
        return p
    }
}

typealias Levels = [(Int64, Int64)]

// MARK: - Markets and universes

/// A market for tests: ticks, lots, µ$, ppm; native sides (yes_bids, yes_asks, no_bids, no_asks).
struct TestMarket {
    var name: String
    var venue: Int32
    var lot: Int32 = 100
    var rate: Int32 = 0
    var perContract: Int64 = 0
    var rounding: Int64 = 1
    var sides: [Levels] = [[], [], [], []]

    /// Kalshi taker 0.07, $0.01 per-order rounding, whole contracts.
    static func kalshi(_ id: String, yesBids: Levels = [], noBids: Levels = []) -> TestMarket {
        TestMarket(name: "kalshi:" + id, venue: 0, rate: 70_000, rounding: 10_000, sides: [yesBids, [], noBids, []])
    }

    /// ForecastEx: no rate, `perContract` µ$ commission, whole contracts.
    static func forecastex(_ id: String, perContract: Int64, yesBids: Levels = [], noBids: Levels = []) -> TestMarket {
        TestMarket(name: "forecastex:" + id, venue: 2, perContract: perContract, sides: [yesBids, [], noBids, []])
    }

    /// Polymarket, 0.01-contract lots.
    static func poly(_ id: String, rate: Int32 = 0, rounding: Int64 = 1, yesBids: Levels = [], yesAsks: Levels = [],
                     noBids: Levels = [], noAsks: Levels = []) -> TestMarket {
        TestMarket(name: "polymarket:" + id, venue: 1, lot: 1, rate: rate, rounding: rounding,
                   sides: [yesBids, yesAsks, noBids, noAsks])
    }
}

struct TestRelation {
    var kind: Int32
    var members: [Int32]
    var exhaustive: Bool = false
}

/// An arb_universe built from test values (C copies owned by `arrays`).
final class TestUniverse {
    let arrays = CArrays()
    var universe: arb_universe
    let markets: [TestMarket]

    init(_ markets: [TestMarket], _ relations: [TestRelation] = [], maxQty: Int64 = -1, minProfit: Int64 = 1) {
        self.markets = markets
        var names: [UInt8] = [], offsets: [Int64] = [0], counts: [Int64] = [], levels: [Int64] = []
        for m in markets {
            names += Array(m.name.utf8)
            offsets.append(Int64(names.count))
            for side in m.sides {
                counts.append(Int64(side.count))
                for (p, q) in side { levels += [p, q] }
            }
        }
        var relOffsets: [Int64] = [0], members: [Int32] = []
        for r in relations {
            members += r.members
            relOffsets.append(Int64(members.count))
        }
        let a = arrays
        universe = arb_universe(
            n_markets: Int32(markets.count), n_relations: Int32(relations.count),
            venue: a.copy(markets.map(\.venue)), lot: a.copy(markets.map(\.lot)), taker_rate_ppm: a.copy(markets.map(\.rate)),
            per_contract: a.copy(markets.map(\.perContract)), rounding: a.copy(markets.map(\.rounding)),
            book_counts: a.copy(counts), book_levels: a.copy(levels), names: a.copy(names), name_offsets: a.copy(offsets),
            rel_kind: a.copy(relations.map(\.kind)), rel_exhaustive: a.copy(relations.map { $0.exhaustive ? 1 : 0 }),
            rel_offsets: a.copy(relOffsets), rel_members: a.copy(members), max_qty: maxQty, min_profit: minProfit)
    }

    /// arb_engine_create: (status, bad index, engine or nil).
    func create() -> (status: Int32, bad: Int64, engine: OpaquePointer?) {
        var engine: OpaquePointer? = nil
        var bad: Int64 = -99
        let status = withUnsafePointer(to: &universe) { arb_engine_create($0, &engine, &bad) }
        return (status, bad, engine)
    }
}

/// Create an engine that must succeed (destroy it with arb_engine_destroy).
func makeEngine(_ u: TestUniverse) throws -> OpaquePointer {
    let (status, bad, engine) = u.create()
    guard status == 0, let engine else { throw TestFailure("create failed: status \(status), index \(bad)") }
    return engine
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

// MARK: - Results

/// One opportunity and its legs, copied out of engine memory (comparable across engines).
struct Opp: Equatable, CustomStringConvertible {
    struct Leg: Equatable {
        var market: Int32, side: Int32, qty: Int64, worst: Int32, cost: Int64, fee: Int64
    }
    var id: UInt64, lane: Int32, kind: Int32, qty: Int64, payout: Int64, cost: Int64, fee: Int64, profit: Int64
    var legs: [Leg]

    var description: String {
        "Opp(\(String(id, radix: 16)) lane \(lane) kind \(kind) q \(qty) payout \(payout) cost \(cost) fee \(fee) profit \(profit) legs \(legs.map { "(\($0.market),\($0.side),\($0.worst),\($0.cost),\($0.fee))" }))"
    }

    func touches(_ m: Int32) -> Bool { legs.contains { $0.market == m } }
}

/// An arb_result copied out of engine memory; checks the leg layout on the way.
struct Found {
    var opportunities: [Opp]
    var untradeable: [Int32]
    /// Legs are laid out contiguously in opportunity order.
    var legsContiguous: Bool

    init(_ r: arb_result) {
        var contiguous = true
        var next: Int32 = 0
        var list: [Opp] = []
        for i in 0..<Int(r.n_opportunities) {
            let o = r.opportunities[i]
            if o.leg_start != next { contiguous = false }
            next = o.leg_start + o.leg_count
            let legs = (0..<Int(o.leg_count)).map { k -> Opp.Leg in
                let l = r.legs[Int(o.leg_start) + k]
                return Opp.Leg(market: l.market, side: l.side, qty: l.qty, worst: l.worst_price, cost: l.cost, fee: l.fee)
            }
            list.append(Opp(id: o.id, lane: o.lane, kind: o.kind, qty: o.qty, payout: o.payout, cost: o.cost,
                            fee: o.fee, profit: o.profit, legs: legs))
        }
        opportunities = list
        untradeable = (0..<Int(r.n_untradeable)).map { r.untradeable[$0] }
        legsContiguous = contiguous && Int64(next) == r.n_legs
    }
}

func scan(_ engine: OpaquePointer?) -> (status: Int32, found: Found?) {
    var result = arb_result()
    let status = arb_engine_scan(engine, &result)
    return (status, status == 0 ? Found(result) : nil)
}

func mustScan(_ engine: OpaquePointer?) throws -> Found {
    let (status, found) = scan(engine)
    guard status == 0, let found else { throw TestFailure("scan failed: \(status)") }
    return found
}

/// arb_engine_update with a native book given per side.
func update(_ engine: OpaquePointer?, _ market: Int32, _ sides: [Levels]) -> (status: Int32, found: Found?) {
    var levels: [Int64] = [], counts: [Int64] = []
    for side in sides {
        counts.append(Int64(side.count))
        for (p, q) in side { levels += [p, q] }
    }
    var result = arb_result()
    let status = arb_engine_update(engine, market, levels, counts, &result)
    return (status, status == 0 ? Found(result) : nil)
}

// MARK: - Decomposition

struct Decomposed {
    var status: Int32
    var yes: [Int64]      // flat (price, qty) pairs
    var no: [Int64]
    var quote: arb_quote
}

/// arb_decompose with generous ladder buffers.
func decomposed(_ venue: Int32, _ sides: [Levels], capacity: Int64 = 512) -> Decomposed {
    var levels: [Int64] = [], counts: [Int64] = []
    for side in sides {
        counts.append(Int64(side.count))
        for (p, q) in side { levels += [p, q] }
    }
    var yesMem = [Int64](repeating: -7, count: 2 * Int(capacity) + 2)
    var noMem = [Int64](repeating: -7, count: 2 * Int(capacity) + 2)
    var quote = arb_quote()
    var status: Int32 = -1
    var yesCount = 0, noCount = 0
    yesMem.withUnsafeMutableBufferPointer { y in
        noMem.withUnsafeMutableBufferPointer { n in
            var yes = arb_ladder_buf(levels: y.baseAddress, capacity: capacity, count: -1)
            var no = arb_ladder_buf(levels: n.baseAddress, capacity: capacity, count: -1)
            status = arb_decompose(venue, levels, counts, &yes, &no, &quote)
            yesCount = Int(max(yes.count, 0))
            noCount = Int(max(no.count, 0))
        }
    }
    return Decomposed(status: status, yes: Array(yesMem[0..<2 * yesCount]), no: Array(noMem[0..<2 * noCount]), quote: quote)
}

// MARK: - Deterministic randomness

/// SplitMix64: reproducible pseudo-random numbers for property tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
