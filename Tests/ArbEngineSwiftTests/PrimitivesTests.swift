import CShims
import Testing
@testable import ArbEngineSwift

@Suite struct PrimitivesTests {
    @Test func abiAndMessages() {
        #expect(arb_abi_version() == 1)
        for code: Int32 in -1...20 {
            let message = String(cString: arb_status_message(code))
            #expect(!message.isEmpty)
        }
        #expect(String(cString: arb_status_message(2)) == "a price is outside 0...10000 ticks")
    }

    @Test func sha256Vectors() {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        #expect(hex(SHA256.digest(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)   // two blocks
        #expect(hex(SHA256.digest(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.prefix64(Array("abc".utf8)) == 0xba7816bf8f01cfea)
    }

    /// Spec "Fees" examples: Kalshi taker 0.07 with $0.01 per-order rounding.
    @Test(arguments: [(1, 5_000, 20_000), (100, 5_000, 1_750_000), (10, 5_000, 180_000),
                      (100, 4_000, 1_680_000), (1, 100, 10_000), (25, 6_200, 420_000)] as [(Int64, Int64, Int64)])
    func kalshiFeeExamples(contracts: Int64, price: Int64, fee: Int64) {
        var schedule = arb_fee_schedule(taker_rate_ppm: 70_000, reserved: 0, per_contract: 0, rounding: 10_000)
        var out: Int64 = -1
        #expect(arb_order_fee(&schedule, [price, contracts * 100], 1, &out) == 0)
        #expect(out == fee)
    }

    @Test func feeIsPerOrderAndCommissionRoundsUp() {
        var kalshi = arb_fee_schedule(taker_rate_ppm: 70_000, reserved: 0, per_contract: 0, rounding: 10_000)
        var out: Int64 = 0
        #expect(arb_order_fee(&kalshi, [4_400, 1_000, 5_400, 500], 2, &out) == 0 && out == 260_000)
        var fx = arb_fee_schedule(taker_rate_ppm: 0, reserved: 0, per_contract: 5_000, rounding: 1)
        #expect(arb_order_fee(&fx, [5_000, 37], 1, &out) == 0 && out == 1_850)
        var poly = arb_fee_schedule(taker_rate_ppm: 30_000, reserved: 0, per_contract: 0, rounding: 10)
        #expect(arb_order_fee(&poly, [3_200, 25_000], 1, &out) == 0 && out == 1_632_000)
    }

    @Test func feeRejectsBadInput() {
        var out: Int64 = 0
        var bad = arb_fee_schedule(taker_rate_ppm: 1_000_000, reserved: 0, per_contract: 0, rounding: 1)
        #expect(arb_order_fee(&bad, [5_000, 100], 1, &out) == 10)
        bad = arb_fee_schedule(taker_rate_ppm: 0, reserved: 0, per_contract: 0, rounding: 0)
        #expect(arb_order_fee(&bad, [5_000, 100], 1, &out) == 11)
        var ok = arb_fee_schedule(taker_rate_ppm: 0, reserved: 0, per_contract: 0, rounding: 1)
        #expect(arb_order_fee(&ok, [10_001, 100], 1, &out) == 2)
        #expect(arb_order_fee(&ok, [5_000, 100_000_001], 1, &out) == 3)
        #expect(arb_order_fee(&ok, nil, 1, &out) == 1)
        #expect(arb_order_fee(&ok, nil, -1, &out) == 6)
        #expect(arb_order_fee(nil, nil, 0, &out) == 1)
    }

    private func decomposed(_ venue: Int32, _ sides: [[(Int64, Int64)]]) -> (Int32, [Int64], [Int64], arb_quote) {
        var levels: [Int64] = [], counts: [Int64] = []
        for side in sides { counts.append(Int64(side.count)); for (p, q) in side { levels += [p, q] } }
        var yesMem = [Int64](repeating: 0, count: 64), noMem = [Int64](repeating: 0, count: 64)
        var quote = arb_quote()
        var status: Int32 = -1
        var yesCount = 0, noCount = 0
        yesMem.withUnsafeMutableBufferPointer { y in
            noMem.withUnsafeMutableBufferPointer { n in
                var yes = arb_ladder_buf(levels: y.baseAddress, capacity: 32, count: 0)
                var no = arb_ladder_buf(levels: n.baseAddress, capacity: 32, count: 0)
                status = arb_decompose(venue, levels, counts, &yes, &no, &quote)
                yesCount = Int(yes.count)
                noCount = Int(no.count)
            }
        }
        return (status, Array(yesMem[0..<2 * yesCount]), Array(noMem[0..<2 * noCount]), quote)
    }

    @Test func kalshiComplementsTheOtherSidesBids() {
        let (status, yes, no, q) = decomposed(0, [[(4_200, 15_000), (4_100, 30_000), (4_200, 500), (3_000, 0)], [], [(5_500, 2_000)], []])
        #expect(status == 0)
        #expect(yes == [4_500, 2_000])
        #expect(no == [5_800, 15_500, 5_900, 30_000])
        #expect(q.best_bid_yes == 4_200 && q.best_ask_yes == 4_500 && q.best_bid_no == 5_500 && q.best_ask_no == 5_800)
        #expect(q.mid == 4_350 && q.overround == 300 && q.crossed == 0)
    }

    @Test func polymarketUsesOwnAsksAndDetectsCrossedTokens() {
        let (status, yes, no, q) = decomposed(1, [[(4_300, 90_050)], [(4_500, 12_000), (4_400, 1)], [(5_400, 8_000)], [(5_700, 6_000)]])
        #expect(status == 0 && yes == [4_400, 1, 4_500, 12_000] && no == [5_700, 6_000] && q.crossed == 0)
        #expect(decomposed(1, [[], [], [(5_700, 1)], [(5_700, 6_000)]]).3.crossed == 1)
        let oneSided = decomposed(1, [[(9_900, 1)], [], [], []]).3
        #expect(oneSided.crossed == 0 && oneSided.mid == -1 && oneSided.overround == Int32.min)
    }

    @Test func midRoundsHalfToEvenAndLockedBooksAreCrossed() {
        #expect(decomposed(1, [[], [(4_201, 1)], [], [(5_800, 1)]]).3.mid == 4_200)
        #expect(decomposed(1, [[], [(4_203, 1)], [], [(5_800, 1)]]).3.mid == 4_202)
        #expect(decomposed(2, [[(5_600, 100)], [], [(4_400, 100)], []]).3.crossed == 1)
        #expect(decomposed(2, [[(5_600, 100)], [], [(4_399, 100)], []]).3.crossed == 0)
    }

    @Test func decomposeRejectsBadBooks() {
        #expect(decomposed(0, [[], [(5_000, 1)], [], []]).0 == 7)
        #expect(decomposed(0, [[(10_001, 1)], [], [], []]).0 == 2)
        #expect(decomposed(1, [[], [], [], [(5_000, 100_000_001)]]).0 == 3)
        #expect(decomposed(9, [[], [], [], []]).0 == 4)
        var quote = arb_quote()
        #expect(arb_decompose(0, nil, [1, 0, 0, 0], nil, nil, &quote) == 1)
        #expect(arb_decompose(0, nil, [-1, 0, 0, 0], nil, nil, &quote) == 6)
        #expect(arb_decompose(0, nil, [0, 0, 0, 0], nil, nil, nil) == 1)
        var small = [Int64](repeating: 0, count: 2)
        small.withUnsafeMutableBufferPointer { p in
            var yes = arb_ladder_buf(levels: p.baseAddress, capacity: 1, count: 0)
            #expect(arb_decompose(0, [4_000, 1, 4_100, 1], [0, 0, 2, 0], &yes, nil, &quote) == 14)
        }
    }

    /// Spec "Evaluation" vectors.
    @Test func evaluationVectors() {
        var e = arb_evaluation()
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(abs(b), 1e-6) }
        #expect(arb_evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 1, 1, 0, 0, &e) == 0)
        #expect(close(e.ev, 0.02) && e.kelly == 1 && e.shrunk == 1)
        #expect(arb_evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 0.99, 0.95, 0.30, 0, &e) == 0)
        #expect(close(e.ev, 0.00096) && close(e.kelly, 0.1568) && close(e.shrunk, 0.1568))
        #expect(arb_evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 0.99, 0.95, 0.30, 0.02, &e) == 0)
        #expect(close(e.shrunk, 0.003450366748))
        #expect(arb_evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 1, 0.99, 0.05, 0.005, &e) == 0)
        #expect(close(e.ev, 0.0193) && e.kelly == 1 && e.shrunk == 1)
        #expect(arb_evaluate(500, 150_000, 4_700_000, 150_000, 0.9, 0.9, 0.5, 0.05, &e) == 0)
        #expect(close(e.ev, -0.0707) && e.kelly == 0 && e.shrunk == 0)
        #expect(arb_evaluate(0, 1, 1, 1, 1, 1, 0, 0, &e) == 17)
        #expect(arb_evaluate(100, 1, 1, 1, .nan, 1, 0, 0, &e) == 13)
        #expect(arb_evaluate(100, 1, 1, 1, 1, 1, .infinity, 0, &e) == 13)
        #expect(arb_evaluate(100, 1, 1, 1, 1, 1, 0, 0, nil) == 1)
        #expect(arb_evaluate(1, 1, 0, 1, 1, 1, 1e-281, 0, &e) == 0 && e.kelly == 1 && e.shrunk == 1)   // k_raw = inf
    }
}
