import CShims
import Testing
@testable import ArbEngineSwift

/// arb_evaluate: the spec vectors, and bit-exact doubles from the Python twin
/// (python/arbbot/engine/twin/evaluate.py, CPython 3.11) given as hex floats.
@Suite struct KellyTests {
    private func evaluate(_ q: Int64, _ profit: Int64, _ cost: Int64, _ fee: Int64, _ c: Double, _ f: Double,
                          _ loss: Double, _ sigma: Double) -> (Int32, arb_evaluation) {
        var e = arb_evaluation(ev: .nan, kelly: .nan, shrunk: .nan)
        let status = arb_evaluate(q, profit, cost, fee, c, f, loss, sigma, &e)
        return (status, e)
    }

    private func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(abs(b), 1e-9) }

    /// spec/ARBITRAGE.md "Evaluation" table (q = 10,000 lots, cost $95, fee $3, profit $2).
    @Test func specVectors() {
        var (s, e) = evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 1, 1, 0, 0)
        #expect(s == 0 && close(e.ev, 0.02) && e.kelly == 1 && e.shrunk == 1)
        (s, e) = evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 0.99, 0.95, 0.30, 0)
        #expect(s == 0 && close(e.ev, 0.00096) && close(e.kelly, 0.1568) && close(e.shrunk, 0.1568))
        (s, e) = evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 0.99, 0.95, 0.30, 0.02)
        #expect(s == 0 && close(e.ev, 0.00096) && close(e.kelly, 0.1568) && abs(e.shrunk - 0.003450366748) < 1e-12)
        (s, e) = evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 1, 0.99, 0.05, 0.005)
        #expect(s == 0 && close(e.ev, 0.0193) && e.kelly == 1 && e.shrunk == 1)
        (s, e) = evaluate(500, 150_000, 4_700_000, 150_000, 0.9, 0.9, 0.5, 0.05)
        #expect(s == 0 && close(e.ev, -0.0707) && e.kelly == 0 && e.shrunk == 0)
    }

    /// (qty, profit, cost, fee, c, f, L, σ) → (ev, kelly, shrunk), identical bits to the twin.
    @Test(arguments: [
        // the spec's five
        (10000, 2000000, 95000000, 3000000, 1.0, 1.0, 0.0, 0.0, "0x1.47ae147ae147bp-6", "0x1.0000000000000p+0", "0x1.0000000000000p+0"),
        (10000, 2000000, 95000000, 3000000, 0.99, 0.95, 0.3, 0.0, "0x1.f75104d551d80p-11", "0x1.41205bc01a370p-3", "0x1.41205bc01a370p-3"),
        (10000, 2000000, 95000000, 3000000, 0.99, 0.95, 0.3, 0.02, "0x1.f75104d551d80p-11", "0x1.41205bc01a370p-3", "0x1.c43f18af66a44p-9"),
        (10000, 2000000, 95000000, 3000000, 1.0, 0.99, 0.05, 0.005, "0x1.3c36113404ea5p-6", "0x1.0000000000000p+0", "0x1.0000000000000p+0"),
        (500, 150000, 4700000, 150000, 0.9, 0.9, 0.5, 0.05, "-0x1.219652bd3c35fp-4", "0x0.0p+0", "0x0.0p+0"),
        // random opportunities with a loss and an uncertain π
        (43915, 7599993, 320111687, 6646461, 0.9307845067067682, 0.9231125409157142, 0.07958955347494105, 0.0024850729580108864, "0x1.e062e04309008p-9", "0x1.0000000000000p+0", "0x1.0000000000000p+0"),
        (239478, 21270250, 1073982948, 12737307, 0.9478848779633302, 0.9880809792189764, 0.09909830790609137, 0.09506344937855589, "0x1.0aacf9880cbaap-9", "0x1.0000000000000p+0", "0x1.44d12ccc14278p-5"),
        (475568, 134929189, 33646086, 73821504, 0.9593534481815248, 0.9888516013966464, 0.23239015857061132, 0.06548093401827701, "0x1.eb00a233c8bf5p-7", "0x1.a4b47382080dep-5", "0x1.6e107279df140p-6"),
        (358670, 103110555, 2367115492, 56561638, 0.8550513587705009, 0.9839516163295662, 0.10992896659494142, 0.0868873453612747, "0x1.b9fa1f19572b4p-8", "0x1.0000000000000p+0", "0x1.603e5d6b58789p-2"),
        (588809, 138033537, 2749818771, 70166709, 0.9687246798086346, 0.9119942177184126, 0.1565370837224873, 0.0387404810378229, "0x1.43bfdd2969a18p-9", "0x1.4a195335d6e50p-2", "0x1.26732ade22e23p-5"),
        (882803, 156931355, 2584112532, 135368961, 0.9965360497548796, 0.9609642800128382, 0.12987385859696837, 0.09121860380851572, "0x1.79882cf7b7c9cp-7", "0x1.0000000000000p+0", "0x1.4c976a56b4aa2p-1"),
        (22140839, 625947775, 1469118510, 65627517, 0.4216983544767443, 0.9620190834121097, 0.3881024109039777, 0.17006118109559776, "-0x1.d60904f2f4205p-3", "0x0.0p+0", "0x0.0p+0"),
        (73744577, -403345009, 3794104665, 57783638, 0.8639844696985152, 0.27842106451389714, 2.076482586058493, 0.3413615296937258, "-0x1.93bdb0e5075cdp+0", "0x0.0p+0", "0x0.0p+0"),
        (77457447, 257440634, 1703729684, 29673101, 0.04658268061775628, 0.8584684590486795, 0.0, 0.27034294276607124, "0x1.bdfa27f27836cp-17", "0x1.0000000000000p+0", "0x1.0000000000000p+0"),
        // huge integers: q / 100 rounded once, cost + fee summed exactly then rounded once
        (1152921504606846977, 1000000000000000000, 4611686018427387904, 4611686018427387904, 0.97, 0.99, 0.2, 0.01, "-0x1.0172d659f7ee7p-7", "0x0.0p+0", "0x0.0p+0"),
        (9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 1.0, 1.0, 0.001, 0.1, "0x1.a36e2eb1c432dp-14", "0x1.999999999999ap-3", "0x1.72adc172adc16p-4"),
        (9007199254740993, 123456789, 987654321, 5, 0.5, 0.9, 0.01, 0.0, "-0x1.6872b02016ff4p-8", "0x0.0p+0", "0x0.0p+0"),
        // …where Double(q) / 100 would round twice and change g's last bit
        (9007199254740993, 1000000000000000000, 1000000000000000000, 0, 1.0, 1.0, 0.0, 0.0, "0x1.6bcc41e8fffffp-7", "0x1.0000000000000p+0", "0x1.0000000000000p+0"),
        (12345678901234567, 1000000000000000000, 300000000000000000, 7, 1.0, 1.0, 0.0, 0.0, "0x1.096bb9b491eb8p-7", "0x1.0000000000000p+0", "0x1.0000000000000p+0"),
        // IEEE edges: k_raw = +∞ → 1, 1; an overflowing shrink (∞/∞) → 0
        (1, 1, 0, 1, 1.0, 1.0, 1e-281, 0.0, "0x1.a36e2eb1c432dp-14", "0x1.0000000000000p+0", "0x1.0000000000000p+0"),
        (100, 1000000, 1, 1, 1.0, 1.0, 1e-300, 0.5, "0x1.0000000000000p+0", "0x1.0000000000000p+0", "0x0.0p+0"),
        (3, -5, 10, 0, 1.0, 1.0, 1.0, 0.0, "-0x1.5d867c3ece2a6p-13", "0x0.0p+0", "0x0.0p+0"),
    ] as [(Int64, Int64, Int64, Int64, Double, Double, Double, Double, String, String, String)])
    func bitExactAgainstTheTwin(q: Int64, profit: Int64, cost: Int64, fee: Int64, c: Double, f: Double, loss: Double,
                                sigma: Double, ev: String, kelly: String, shrunk: String) {
        let (s, e) = evaluate(q, profit, cost, fee, c, f, loss, sigma)
        #expect(s == 0)
        #expect(e.ev.bitPattern == Double(ev)!.bitPattern)
        #expect(e.kelly.bitPattern == Double(kelly)!.bitPattern)
        #expect(e.shrunk.bitPattern == Double(shrunk)!.bitPattern)
    }

    @Test func branches() {
        // g ≤ 0: nothing to bet, whatever the rest.
        #expect(evaluate(100, 0, 1_000_000, 0, 1, 1, 0, 0).1.kelly == 0)
        #expect(evaluate(100, -1, 1_000_000, 0, 1, 1, 0, 0).1.shrunk == 0)
        // π = 0.
        let zero = evaluate(100, 10_000, 1_000_000, 0, 0, 1, 0.1, 0).1
        #expect(zero.kelly == 0 && zero.shrunk == 0 && zero.ev == -0.1)
        // L = 0: capital is the bound.
        let free = evaluate(100, 10_000, 1_000_000, 0, 0.5, 0.5, 0, 0.3).1
        #expect(free.kelly == 1 && free.shrunk == 1)
        // k_raw ≤ 0: the loss outweighs the gain.
        let bad = evaluate(100, 10_000, 990_000, 0, 0.5, 1, 0.5, 0).1
        #expect(bad.kelly == 0 && bad.shrunk == 0)
        // σ = 0: shrunk = kelly when k_raw < 1.
        let exact = evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, 0.99, 0.95, 0.30, 0).1
        #expect(exact.shrunk == exact.kelly && exact.kelly < 1)
    }

    @Test func hostileInputs() {
        #expect(evaluate(0, 1, 1, 1, 1, 1, 0, 0).0 == Status.argument)
        #expect(evaluate(-100, 1, 1, 1, 1, 1, 0, 0).0 == Status.argument)
        #expect(evaluate(100, 1, 0, 0, 1, 1, 0, 0).0 == Status.argument)
        #expect(evaluate(100, 1, -5, 5, 1, 1, 0, 0).0 == Status.argument)              // cost + fee = 0
        #expect(evaluate(100, 1, -6, 7, 1, 1, 0, 0).0 == 0)                           // only the sum must be > 0
        #expect(evaluate(100, 1, Int64.min, Int64.min, 1, 1, 0, 0).0 == Status.argument)   // summed in 128 bits
        #expect(evaluate(100, 1, Int64.max, Int64.max, 1, 1, 0, 0).0 == 0)
        #expect(evaluate(0, 1, 1, 1, .nan, 1, 0, 0).0 == Status.argument)            // arguments before floats
        for bad in [Double.nan, .infinity, -.infinity, -0.000001, 1.000001] {
            #expect(evaluate(100, 1, 1, 1, bad, 1, 0, 0).0 == Status.float)
            #expect(evaluate(100, 1, 1, 1, 1, bad, 0, 0).0 == Status.float)
        }
        for bad in [Double.nan, .infinity, -.infinity, -1, -.leastNonzeroMagnitude] {
            #expect(evaluate(100, 1, 1, 1, 1, 1, bad, 0).0 == Status.float)
            #expect(evaluate(100, 1, 1, 1, 1, 1, 0, bad).0 == Status.float)
        }
        #expect(evaluate(100, 1, 1, 1, 0, 0, 0, 0).0 == 0)                            // bounds are inclusive
        var e = arb_evaluation()
        #expect(arb_evaluate(100, 1, 1, 1, 1, 1, 0, 0, nil) == Status.null)
        #expect(arb_evaluate(100, 1, 1, 1, 1, 1, 0, 0, &e) == 0)
    }

    /// Never NaN, always in [0, 1], over a grid of awkward values.
    @Test func resultsStayInRange() {
        let qtys: [Int64] = [1, 99, 100, 12_345, 100_000_000, Int64.max]
        let money: [Int64] = [-1_000_000, -1, 0, 1, 999, 1_000_000_000, Int64.max]
        let units: [Double] = [0, 1e-300, 0.3, 0.999999, 1]
        let losses: [Double] = [0, .leastNonzeroMagnitude, 1e-300, 0.5, 1e300, .greatestFiniteMagnitude]
        for q in qtys {
            for profit in money {
                for cost in money where cost > 0 {
                    for c in units {
                        for loss in losses {
                            for sigma in [0, 1e-300, 0.05, 1e300] {
                                let (s, e) = evaluate(q, profit, cost, 1, c, 0.9, loss, sigma)
                                #expect(s == 0)
                                #expect(e.kelly >= 0 && e.kelly <= 1 && e.shrunk >= 0 && e.shrunk <= 1)
                                #expect(!e.ev.isNaN)
                            }
                        }
                    }
                }
            }
        }
    }
}
