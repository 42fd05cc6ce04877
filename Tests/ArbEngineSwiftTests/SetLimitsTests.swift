import CShims
import Testing
@testable import ArbEngineSwift

/// arb_engine_set_limits: an operator's live max_qty / min_profit, changed in place, sizes as an
/// engine created with them; refused values change nothing. (Parity with the twin and with fresh
/// engines on random universes: python/tests/engine/test_parity.py.)
@Suite struct SetLimitsTests {
    /// One Polymarket market, no fees: YES 0.40 × 300 lots, NO 0.58 × 300 lots: $0.02 a lot.
    func market(maxQty: Int64 = -1, minProfit: Int64 = 1) throws -> OpaquePointer {
        try makeEngine(TestUniverse([.poly("A", yesAsks: [(4_000, 300)], noAsks: [(5_800, 300)])],
                                    maxQty: maxQty, minProfit: minProfit))
    }

    func sized(_ engine: OpaquePointer?) -> [Int64] {
        (scan(engine).found?.opportunities ?? []).map { $0.qty }
    }

    @Test func limitsChangedInPlaceSizeAsAnEngineCreatedWithThem() throws {
        let engine = try market()
        defer { arb_engine_destroy(engine) }
        #expect(sized(engine) == [300])
        for (maxQty, minProfit) in [(Int64(100), Int64(0)), (-1, 60_000), (-1, 60_001), (250, 50_000), (-1, 1)] {
            #expect(arb_engine_set_limits(engine, maxQty, minProfit) == Status.ok)
            let fresh = try market(maxQty: maxQty, minProfit: minProfit)
            defer { arb_engine_destroy(fresh) }
            #expect(sized(engine) == sized(fresh))
        }
        // hand-computed: a 100-lot cap → qty 100; 300 lots = 3 contracts × $0.02 = 60,000 µ$: kept at 60,000, dropped at 60,001
        #expect(arb_engine_set_limits(engine, 100, 0) == Status.ok)
        #expect(sized(engine) == [100])
        #expect(arb_engine_set_limits(engine, -1, 60_000) == Status.ok)
        #expect(sized(engine) == [300])
        #expect(arb_engine_set_limits(engine, -1, 60_001) == Status.ok)
        #expect(sized(engine) == [])
    }

    @Test func refusedLimitsChangeNothing() throws {
        let engine = try market(maxQty: 200)
        defer { arb_engine_destroy(engine) }
        #expect(arb_engine_set_limits(engine, -2, 0) == Status.qty)
        #expect(arb_engine_set_limits(engine, 10, -1) == Status.money)
        #expect(arb_engine_set_limits(nil, 10, 0) == Status.null)
        #expect(sized(engine) == [200])
    }
}
