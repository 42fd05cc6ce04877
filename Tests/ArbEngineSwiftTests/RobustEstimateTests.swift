import CShims
import Testing
@testable import ArbEngineSwift

/// arb_robust_estimate: step 5's estimates on hand-computed samples (the Python twin is compared on
/// random rings in python/tests/sizing/test_robust_native.py), and hostile inputs that return a code.
@Suite struct RobustEstimateTests {
    private static let defaults = arb_robust_params(enabled: 1, min_samples: 3, window_s: 100, mad_z: 3.5, iqr_k: 1.5,
                                                    ewma_alpha: 0.1, prior: 0.5)

    private func estimate(_ kind: Int32, _ pairs: [(Double, Double)], start: Int64 = 0, now: Double = 10,
                          params: arb_robust_params = defaults) -> (Int32, arb_robust_estimate_out) {
        let flat = pairs.flatMap { [$0.0, $0.1] }
        var p = params
        var out = arb_robust_estimate_out(value: -1, samples: -1, prior: -1, reserved: 0)
        let status = flat.withUnsafeBufferPointer { arb_robust_estimate(kind, $0.baseAddress, Int64(pairs.count), start, now, &p, &out) }
        return (status, out)
    }

    @Test func depletionDropsTheOutlierThenTakesTheEWMA() {
        // median 0.25; |x − 0.25| = 0.15, 0.05, 0.05, 9.75 → MAD 0.1; z(10) = 0.6745 × 9.75 / 0.1 = 65.8 > 3.5:
        // dropped. Survivors 0.1, 0.2, 0.3: Q1 0.15, Q3 0.25, fences [0, 0.4], nothing clamped.
        // EWMA (α 0.1): 0.1 → 0.11 → 0.129.
        let (status, out) = estimate(Int32(ARB_ESTIMATE_DEPLETION), [(1, 0.1), (2, 0.2), (3, 0.3), (4, 10)])
        #expect(status == Status.ok)
        #expect(abs(out.value - 0.129) < 1e-15)
        #expect(out.samples == 4 && out.prior == 0)
    }

    @Test func latencyIsTheMedianInTimeOrderFromARotatedRing() {
        // ring [(3, 0.3), (1, 0.1), (2, 0.2)] with the oldest at pair 1: read 0.1, 0.2, 0.3 → median 0.2
        let (status, out) = estimate(Int32(ARB_ESTIMATE_LATENCY), [(3, 0.3), (1, 0.1), (2, 0.2)], start: 1)
        #expect(status == Status.ok && out.value == 0.2 && out.samples == 3 && out.prior == 0)
    }

    @Test func volatilityIsTheRMSOfPriceMovesOverRootTime() {
        // mids 0.50 @ 1, 0.53 @ 2, 0.49 @ 6: ΔP/√Δt = 0.03 / 1, −0.04 / 2 = −0.02 → RMS √((9e-4 + 4e-4) / 2)
        var p = Self.defaults
        p.min_samples = 2
        let (status, out) = estimate(Int32(ARB_ESTIMATE_VOLATILITY), [(1, 0.50), (2, 0.53), (6, 0.49)], params: p)
        #expect(status == Status.ok && out.samples == 2 && out.prior == 0)
        #expect(abs(out.value - (0.00065).squareRoot()) < 1e-12)
    }

    @Test func theWindowTooFewSamplesAndNonFiniteValuesGiveThePrior() {
        // t = 1 is outside [now − 5, now] = [5, 10]; NaN values are ignored: 1 raw sample < 3 → prior
        var p = Self.defaults
        p.window_s = 5
        let (status, out) = estimate(Int32(ARB_ESTIMATE_DEPLETION), [(1, 0.9), (6, .nan), (7, 0.4), (8, .infinity)],
                                     params: p)
        #expect(status == Status.ok && out.value == 0.5 && out.samples == 1 && out.prior == 1)
    }

    @Test func aMADFilterThatDropsEverySampleGivesThePrior() {
        // 0, 1, 0, 1: median 0.5, MAD 0.5, every z = 0.6745 > mad_z 0.5 → nothing survives → the prior
        var p = Self.defaults
        p.mad_z = 0.5
        let (status, out) = estimate(Int32(ARB_ESTIMATE_DEPLETION), [(1, 0), (2, 1), (3, 0), (4, 1)], params: p)
        #expect(status == Status.ok && out.value == 0.5 && out.samples == 4 && out.prior == 1)
    }

    @Test func hostileInputsReturnACode() {
        #expect(estimate(7, [(1, 1)]).0 == Status.kind)
        #expect(estimate(0, [(1, 1)], start: 1).0 == Status.length)
        #expect(estimate(0, [(1, 1)], start: -1).0 == Status.length)
        #expect(estimate(0, [(1, 1)], now: .nan).0 == Status.float)
        for bad in [{ (p: inout arb_robust_params) in p.mad_z = 0 }, { $0.window_s = -1 }, { $0.iqr_k = .nan },
                    { $0.ewma_alpha = 1.5 }, { $0.prior = .infinity }] {
            var p = Self.defaults
            bad(&p)
            #expect(estimate(0, [(1, 1)], params: p).0 == Status.float)
        }
        var p = Self.defaults
        p.min_samples = -1
        #expect(estimate(0, [(1, 1)], params: p).0 == Status.argument)
        var out = arb_robust_estimate_out()
        #expect(arb_robust_estimate(0, nil, 2, 0, 1, nil, &out) == Status.null)
        var params = Self.defaults
        #expect(arb_robust_estimate(0, nil, 2, 0, 1, &params, &out) == Status.null)
        #expect(arb_robust_estimate(0, nil, -1, 0, 1, &params, &out) == Status.length)
        #expect(arb_robust_estimate(0, nil, 0, 0, 1, &params, &out) == Status.ok && out.prior == 1 && out.samples == 0)
    }
}
