import CShims
import Testing
@testable import ArbEngineSwift

/// arb_abi_version, arb_status_message and the BinaryMath helpers.
@Suite struct StatusAndMathTests {
    // MARK: ABI and messages

    @Test func abiVersionIsTheHeaders() {
        #expect(arb_abi_version() == 4)
        #expect(arb_abi_version() == ARB_ABI_VERSION)
    }

    @Test func everyCodeHasAStaticMessage() {
        var seen = Set<String>()
        for code: Int32 in 0...17 {
            let pointer = arb_status_message(code)
            #expect(pointer != nil)
            let message = String(cString: pointer!)
            #expect(!message.isEmpty)
            seen.insert(message)
            #expect(arb_status_message(code) == pointer)          // static storage: same address
        }
        #expect(seen.count == 18)                                  // one distinct message per code
        #expect(String(cString: arb_status_message(0)) == "ok")
        #expect(String(cString: arb_status_message(2)) == "a price is outside 0...10000 ticks")
        #expect(String(cString: arb_status_message(16)) == "a result does not fit in int64")
    }

    @Test(arguments: [Int32.min, -7, -1, 18, 99, 12_345, Int32.max])
    func unknownCodesGetAGenericMessage(code: Int32) {
        #expect(String(cString: arb_status_message(code)) == "unknown status code")
    }

    @Test func statusConstantsMatchTheHeader() {
        #expect(Status.ok == 0 && Status.null == 1 && Status.price == 2 && Status.qty == 3 && Status.venue == 4)
        #expect(Status.kind == 5 && Status.length == 6 && Status.bidsOnly == 7 && Status.market == 8)
        #expect(Status.relation == 9 && Status.rate == 10 && Status.money == 11 && Status.lot == 12)
        #expect(Status.float == 13 && Status.capacity == 14 && Status.name == 15 && Status.overflow == 16)
        #expect(Status.argument == 17)
    }

    // MARK: BinaryMath

    @Test func ceilDivision() {
        #expect(ceilDiv(0, 7) == 0)
        #expect(ceilDiv(1, 7) == 1)
        #expect(ceilDiv(7, 7) == 1)
        #expect(ceilDiv(8, 7) == 2)
        #expect(ceilDiv(Int128(Int64.max) * 3 + 1, 3) == Int128(Int64.max) + 1)
    }

    @Test func int64Fitting() throws {
        #expect(exactInt64(Int128(Int64.max)) == Int64.max)
        #expect(exactInt64(Int128(Int64.min)) == Int64.min)
        #expect(exactInt64(Int128(Int64.max) + 1) == nil)
        #expect(exactInt64(Int128(Int64.min) - 1) == nil)
        #expect(throws: EngineError(Status.overflow)) { try fitInt64(Int128(Int64.max) + 1) }
        #expect(try fitInt64(-5) == -5)
    }

    /// mid = (askYES + (10,000 − askNO)) / 2, ties to even.
    @Test(arguments: [(4_201, 5_800, 4_200),     // 8401 / 2 = 4200.5 → 4200
                      (4_203, 5_800, 4_202),     // 4201.5 → 4202
                      (4_200, 5_800, 4_200),     // exact
                      (0, 10_000, 0), (10_000, 0, 10_000), (1, 10_000, 0), (1, 9_998, 2), (3, 10_000, 2)]
          as [(Int32, Int32, Int32)])
    func midRoundsHalfToEven(askYes: Int32, askNo: Int32, mid: Int32) {
        #expect(halfEvenMid(askYes: askYes, askNo: askNo) == mid)
    }

    /// Python's `q / 100` (one rounding of the exact quotient), hex values from CPython 3.11.
    @Test(arguments: [(1, "0x1.47ae147ae147bp-7"), (99, "0x1.fae147ae147aep-1"),
                      (9_007_199_254_740_992, "0x1.47ae147ae147bp+46"),
                      (9_007_199_254_740_993, "0x1.47ae147ae147cp+46"),   // Double(q)/100 gives …7bp+46
                      (9_007_199_254_740_995, "0x1.47ae147ae147dp+46"),
                      (1_152_921_504_606_846_977, "0x1.47ae147ae147bp+53"),
                      (1_152_921_504_606_847_053, "0x1.47ae147ae147bp+53"),
                      (9_223_372_036_854_775_807, "0x1.47ae147ae147bp+56"),
                      (12_345_678_901_234_567, "0x1.c12218377de6bp+46")]   // Double(q)/100 gives …6cp+46
          as [(Int64, String)])
    func divisionBy100RoundsOnceLikePython(q: Int64, hex: String) {
        #expect(correctlyRoundedDividedBy100(q) == Double(hex)!)
        #expect(correctlyRoundedDividedBy100(-q) == -Double(hex)!)
    }

    @Test func int128ToDoubleRoundsToNearestEven() {
        #expect(correctlyRoundedDouble((Int128(1) << 63) + 1024) == 9.223372036854776e18)    // tie → even
        #expect(correctlyRoundedDouble((Int128(1) << 63) + 1025) == 9.223372036854778e18)
        #expect(correctlyRoundedDouble((Int128(1) << 64) - 2) == 18446744073709551616.0)
        #expect(correctlyRoundedDouble(-((Int128(1) << 63) + 1025)) == -9.223372036854778e18)
        #expect(correctlyRoundedDouble(12_345) == 12_345)
    }
}
