import CShims
import Testing
@testable import ArbEngineSwift

/// arb_engine_nearest: the candidates with an edge at the best levels, the largest first; its
/// size query and argument errors. (Parity with the twin on random universes:
/// python/tests/engine/test_parity.py.)
@Suite struct NearestTests {
    /// Three Polymarket markets, no fees, intra candidates 0, 1, 2 (payout $1): A's asks 0.40 +
    /// 0.58 (edge +$0.02, live), B's 0.45 + 0.60 (−$0.05), C without a NO ask (no edge at all).
    func threeMarkets() throws -> OpaquePointer {
        try makeEngine(TestUniverse([
            .poly("A", yesAsks: [(4_000, 100)], noAsks: [(5_800, 100)]),
            .poly("B", yesAsks: [(4_500, 100)], noAsks: [(6_000, 100)]),
            .poly("C", yesAsks: [(5_000, 100)]),
        ]))
    }

    func nearest(_ engine: OpaquePointer?, _ capacity: Int64) -> (status: Int32, indices: [Int32]) {
        var out = [Int32](repeating: -1, count: max(Int(capacity), 1))
        var count: Int64 = -7
        let status = arb_engine_nearest(engine, &out, capacity, &count)
        return (status, status == 0 ? Array(out.prefix(Int(count))) : [])
    }

    @Test func rankedByTheEdgeAtTheBestLevels() throws {
        let engine = try threeMarkets()
        defer { arb_engine_destroy(engine) }
        #expect(nearest(engine, 10).indices == [0, 1])
        #expect(nearest(engine, 1).indices == [0])
        #expect(nearest(engine, 0).indices == [])
        // B's YES ask falls to 0.30: its edge +$0.10 passes A's.
        #expect(update(engine, 1, [[], [(3_000, 100)], [], [(6_000, 100)]]).status == 0)
        #expect(nearest(engine, 10).indices == [1, 0])
        // A locked (bid 0.60 + NO bid 0.41 ≥ $1): untradeable, no edge.
        #expect(update(engine, 0, [[(6_000, 100)], [(6_100, 100)], [(4_100, 100)], [(4_000, 100)]]).status == 0)
        #expect(nearest(engine, 10).indices == [1])
    }

    @Test func equalEdgesGoByIndex() throws {
        let engine = try makeEngine(TestUniverse([
            .poly("A", yesAsks: [(4_000, 100)], noAsks: [(5_800, 100)]),
            .poly("B", yesAsks: [(5_800, 100)], noAsks: [(4_000, 100)]),
        ]))
        defer { arb_engine_destroy(engine) }
        #expect(nearest(engine, 5).indices == [0, 1])
    }

    @Test func sizeQueryAndErrors() throws {
        let engine = try threeMarkets()
        defer { arb_engine_destroy(engine) }
        var count: Int64 = -7
        #expect(arb_engine_nearest(engine, nil, 0, &count) == 0 && count == 2)
        #expect(arb_engine_nearest(engine, nil, 0, nil) == Status.null)
        #expect(arb_engine_nearest(nil, nil, 0, &count) == Status.null)
        var out: [Int32] = [0]
        #expect(arb_engine_nearest(engine, &out, -1, &count) == Status.length)
    }
}
