import CShims
import Testing
@testable import ArbEngineSwift

/// arb_order_fee: fee = ⌈Σ r q_i p_i (10,000 − p_i) / (R × 10^10)⌉ × R + ⌈c q / 100⌉ µ$.
@Suite struct FeeTests {
    private func fee(rate: Int32, perContract: Int64 = 0, rounding: Int64, _ fills: [Int64]) -> (Int32, Int64) {
        var schedule = arb_fee_schedule(taker_rate_ppm: rate, reserved: 0, per_contract: perContract, rounding: rounding)
        var out: Int64 = -1
        let status = arb_order_fee(&schedule, fills, Int64(fills.count / 2), &out)
        return (status, out)
    }

    /// Spec "Fees" examples: Kalshi taker 0.07 (70,000 ppm), $0.01 (10,000 µ$) per-order rounding.
    @Test(arguments: [(1, 5_000, 20_000),          // 1 contract at 50¢ → 2¢
                      (100, 5_000, 1_750_000),     // 100 at 50¢ → $1.75
                      (10, 5_000, 180_000),        // 10 at 50¢ → 18¢, not 20¢: rounded per order
                      (100, 4_000, 1_680_000),     // 100 at 40¢ → $1.68
                      (1, 100, 10_000),            // 1 at 1¢ → 1¢
                      (25, 6_200, 420_000)]        // 25 at 62¢ → 42¢
          as [(Int64, Int64, Int64)])
    func kalshiSpecExamples(contracts: Int64, price: Int64, expected: Int64) {
        let (status, out) = fee(rate: 70_000, rounding: 10_000, [price, contracts * 100])
        #expect(status == 0)
        #expect(out == expected)
    }

    @Test func rateRoundingIsPerOrderOverAllFills() {
        // 10 contracts at 44¢ + 5 at 54¢: raw 70,000·(1,000·4,400·5,600 + 500·5,400·4,600) =
        // 2.5942e15 → 25.942 → 26 × $0.01.
        #expect(fee(rate: 70_000, rounding: 10_000, [4_400, 1_000, 5_400, 500]) == (0, 260_000))
        // The same fills as two orders would cost 18¢ + 9¢ = 27¢.
        #expect(fee(rate: 70_000, rounding: 10_000, [4_400, 1_000]) == (0, 180_000))
        #expect(fee(rate: 70_000, rounding: 10_000, [5_400, 500]) == (0, 90_000))
        // Duplicate levels add up.
        #expect(fee(rate: 70_000, rounding: 10_000, [5_000, 50, 5_000, 50]) == (0, 20_000))
    }

    @Test func polymarketAndForecastExSchedules() {
        // fed-december: Polymarket 3% rounded to $0.0001: 250 contracts at 32¢ → $1.632.
        #expect(fee(rate: 30_000, rounding: 100, [3_200, 25_000]) == (0, 1_632_000))
        // stale-books: $0.00001 rounding, 220 at 62¢ → 1.55496.
        #expect(fee(rate: 30_000, rounding: 10, [6_200, 22_000]) == (0, 1_554_960))
        // …and 120.25 at 35¢ + 99.75 at 36¢ → 1.51018.
        #expect(fee(rate: 30_000, rounding: 10, [3_500, 12_025, 3_600, 9_975]) == (0, 1_510_180))
        // ForecastEx $0.005 per contract: 0.37 contract → ⌈5,000 · 37 / 100⌉ = 1,850 µ$.
        #expect(fee(rate: 0, perContract: 5_000, rounding: 1, [5_000, 37]) == (0, 1_850))
        // Commission rounds up to whole µ$: ⌈3 · 1 / 100⌉ = 1.
        #expect(fee(rate: 0, perContract: 3, rounding: 1, [5_000, 1]) == (0, 1))
        // Both parts: 2 contracts at 30¢, r = 0.02, R = 1 µ$: raw 8.4e13 → 8,400 µ$; c = $0.01 → 20,000.
        #expect(fee(rate: 20_000, perContract: 10_000, rounding: 1, [3_000, 200]) == (0, 28_400))
    }

    @Test func edgesOfTheRanges() {
        #expect(fee(rate: 70_000, rounding: 10_000, []) == (0, 0))                     // no fills
        #expect(fee(rate: 70_000, rounding: 10_000, [0, 100, 10_000, 100]) == (0, 0))  // p(1 − p) = 0
        #expect(fee(rate: 70_000, rounding: 10_000, [5_000, 0]) == (0, 0))             // zero size
        // Largest rate and rounding: ⌈raw / 10^22⌉ × 10^12 = 10^12 µ$ for any positive raw.
        #expect(fee(rate: 999_999, rounding: 1_000_000_000_000, [5_000, 100_000_000]) == (0, 1_000_000_000_000))
        // Largest commission on one full level: 10^12 · 10^8 / 100 = 10^18 µ$.
        #expect(fee(rate: 0, perContract: 1_000_000_000_000, rounding: 1, [1, 100_000_000]) == (0, 1_000_000_000_000_000_000))
        // NULL fills are fine when there are none.
        var schedule = arb_fee_schedule(taker_rate_ppm: 0, reserved: 0, per_contract: 0, rounding: 1)
        var out: Int64 = -1
        #expect(arb_order_fee(&schedule, nil, 0, &out) == 0 && out == 0)
    }

    @Test func overflowIsReportedNotTrapped() {
        // Ten full levels at the largest commission: 10^19 µ$ > Int64.max.
        let fills = (0..<20).map { Int64($0 % 2 == 0 ? 5_000 : 100_000_000) }
        #expect(fee(rate: 0, perContract: 1_000_000_000_000, rounding: 1, fills).0 == Status.overflow)
    }

    @Test func hostileInputsReturnTheirCode() {
        #expect(fee(rate: -1, rounding: 1, [5_000, 1]).0 == Status.rate)
        #expect(fee(rate: 1_000_000, rounding: 1, [5_000, 1]).0 == Status.rate)
        #expect(fee(rate: 0, perContract: -1, rounding: 1, [5_000, 1]).0 == Status.money)
        #expect(fee(rate: 0, perContract: 1_000_000_000_001, rounding: 1, [5_000, 1]).0 == Status.money)
        #expect(fee(rate: 0, rounding: 0, [5_000, 1]).0 == Status.money)
        #expect(fee(rate: 0, rounding: -5, [5_000, 1]).0 == Status.money)
        #expect(fee(rate: 0, rounding: 1_000_000_000_001, [5_000, 1]).0 == Status.money)
        #expect(fee(rate: 0, rounding: 1, [10_001, 1]).0 == Status.price)
        #expect(fee(rate: 0, rounding: 1, [-1, 1]).0 == Status.price)
        #expect(fee(rate: 0, rounding: 1, [5_000, -1]).0 == Status.qty)
        #expect(fee(rate: 0, rounding: 1, [5_000, 100_000_001]).0 == Status.qty)
        // Fills are checked in order, price before qty; the schedule before any fill.
        #expect(fee(rate: 0, rounding: 1, [5_000, -1, 10_001, 1]).0 == Status.qty)
        #expect(fee(rate: 0, rounding: 1, [10_001, -1]).0 == Status.price)
        #expect(fee(rate: -1, rounding: 1, [10_001, -1]).0 == Status.rate)
        var schedule = arb_fee_schedule(taker_rate_ppm: 0, reserved: 0, per_contract: 0, rounding: 1)
        var out: Int64 = 0
        #expect(arb_order_fee(&schedule, nil, 1, &out) == Status.null)
        #expect(arb_order_fee(&schedule, nil, -1, &out) == Status.length)
        #expect(arb_order_fee(&schedule, [5_000, 1], Int64.min, &out) == Status.length)
        #expect(arb_order_fee(nil, [5_000, 1], 1, &out) == Status.null)
        #expect(arb_order_fee(&schedule, [5_000, 1], 1, nil) == Status.null)
    }

    /// costPerLot = p·10^10 + r·p·(10,000 − p) + c·10^8 never decreases with price (r < 1).
    @Test func costPerLotIsMonotone() {
        for schedule in [FeeSchedule(rate: 999_999, perContract: 0, rounding: 1),
                         FeeSchedule(rate: 70_000, perContract: 5_000, rounding: 10_000)] {
            var last = schedule.costPerLot(price: 0)
            for p in stride(from: Int64(1), through: 10_000, by: 1) {
                let c = schedule.costPerLot(price: p)
                #expect(c >= last)
                last = c
            }
        }
        #expect(FeeSchedule(rate: 70_000, perContract: 5_000, rounding: 1).costPerLot(price: 4_000)
                == 40_000_000_000_000 + 1_680_000_000_000 + 500_000_000_000)
    }
}
