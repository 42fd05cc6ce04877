import CShims
@testable import ArbEngineSwift

/// Owns C copies of Swift arrays for the duration of a test (freed on deinit).
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

/// A market for tests: levels in ticks/lots per native side (yes_bids, yes_asks, no_bids, no_asks).
struct TestMarket {
    var name: String
    var venue: Int32
    var lot: Int32 = 100
    var rate: Int32 = 0
    var perContract: Int64 = 0
    var rounding: Int64 = 1
    var sides: [[(Int64, Int64)]] = [[], [], [], []]

    static func kalshi(_ id: String, yesBids: [(Int64, Int64)] = [], noBids: [(Int64, Int64)] = []) -> TestMarket {
        TestMarket(name: "kalshi:" + id, venue: 0, rate: 70_000, rounding: 10_000, sides: [yesBids, [], noBids, []])
    }

    static func poly(_ id: String, rate: Int32 = 0, rounding: Int64 = 1, yesBids: [(Int64, Int64)] = [],
                     yesAsks: [(Int64, Int64)] = [], noBids: [(Int64, Int64)] = [], noAsks: [(Int64, Int64)] = []) -> TestMarket {
        TestMarket(name: "polymarket:" + id, venue: 1, lot: 1, rate: rate, rounding: rounding,
                   sides: [yesBids, yesAsks, noBids, noAsks])
    }
}

struct TestRelation {
    var kind: Int32
    var members: [Int32]
    var exhaustive: Bool = false
}

/// Builds an arb_universe and an engine from test values.
final class TestUniverse {
    let arrays = CArrays()
    var universe: arb_universe

    init(_ markets: [TestMarket], _ relations: [TestRelation] = [], maxQty: Int64 = -1, minProfit: Int64 = 1) {
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

    /// Create an engine; (status, bad index, engine or nil).
    func create() -> (Int32, Int64, OpaquePointer?) {
        var engine: OpaquePointer? = nil
        var bad: Int64 = -99
        let status = withUnsafePointer(to: &universe) { arb_engine_create($0, &engine, &bad) }
        return (status, bad, engine)
    }
}

/// Copy an arb_result out of engine-owned memory.
struct Found {
    var opportunities: [arb_opportunity]
    var legs: [[arb_leg]]
    var untradeable: [Int32]

    init(_ r: arb_result) {
        opportunities = (0..<Int(r.n_opportunities)).map { r.opportunities[$0] }
        legs = opportunities.map { o in (0..<Int(o.leg_count)).map { r.legs[Int(o.leg_start) + $0] } }
        untradeable = (0..<Int(r.n_untradeable)).map { r.untradeable[$0] }
    }
}

func scan(_ engine: OpaquePointer?) -> (Int32, Found?) {
    var result = arb_result()
    let status = arb_engine_scan(engine, &result)
    return (status, status == 0 ? Found(result) : nil)
}

func update(_ engine: OpaquePointer?, _ market: Int32, _ sides: [[(Int64, Int64)]]) -> (Int32, Found?) {
    var levels: [Int64] = [], counts: [Int64] = []
    for side in sides {
        counts.append(Int64(side.count))
        for (p, q) in side { levels += [p, q] }
    }
    var result = arb_result()
    let status = arb_engine_update(engine, market, levels, counts, &result)
    return (status, status == 0 ? Found(result) : nil)
}
