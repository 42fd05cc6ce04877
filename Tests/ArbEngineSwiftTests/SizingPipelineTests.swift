import CShims
import Testing
@testable import ArbEngineSwift

/// arb_size / arb_size_batch: hand-checked values of the worked examples (python/tests/sizing/
/// test_golden.py), the Monte Carlo bits recorded from the Python twin, and hostile inputs that
/// must return a code (never trap).
@Suite struct SizingPipelineTests {
    private func close(_ a: Double, _ b: Double, _ rel: Double = 1e-12) -> Bool { abs(a - b) <= rel * abs(b) }

    /// Scenario A: step 1 caps at 50 × exp(−0.5 × 0.05) = 48.765 → 48 contracts; everything else
    /// keeps 4800 lots. At 4800: leg 1 fee ceil(70,000 × 4800 × 4500 × 5500 / 10^14 = 83.16) ×
    /// $0.01 = 840,000 µ$; profit 48,000,000 − 45,780,000 − 840,000 = 1,380,000 µ$.
    @Test func crossScenario() {
        let (status, bad, r, legs) = TestSizing.cross().run()
        #expect(status == 0 && bad == -1)
        let steps = stepRecords(r)
        #expect(steps.map(\.step) == SizingStep.order)
        #expect(steps.map(\.qty) == [Int64](repeating: 4800, count: 7))
        #expect(close(steps[0].cap, 48.76549560141663) && steps[0].outcome == SizingOutcome.lowered)
        #expect(r.qty == 4800 && r.bound_by == SizingStep.executionModel && r.rejected_by == SizingStep.none)
        #expect(legs[0].em_depth == 50 && legs[1].em_depth == 130 && close(legs[1].em_time, 0.2))
        #expect(r.fm_profit == 1_380_000 && legs[0].exact_fee == 840_000 && legs[1].cost == 24_180_000)
        #expect(legs[1].min_order == 1_000_000 && legs[0].later_rank == -1 && legs[1].later_rank == 0)
        // step 6: 130 × (0.5 × 0.02875 / (1 × 0.05 × 0.005))² = 429,812.5 contracts
        #expect(close(steps[3].cap, 429_812.5) && close(legs[1].half_spread, 0.005) && r.fill == 0.95)
        #expect(steps[5].cap_unit == CapUnit.none && steps[5].reason == Reason.cvarNonpositive)
    }

    /// Scenario B (one batch): π = 0.95, L = K = 0.9344, shrunk 0.0899531, X = $44.9765; capital at
    /// 48 contracts 44,850,000 µ$ fits, at 49 45,790,000 does not → 4800 lots, bound by Kelly.
    @Test func parityScenarioKelly() {
        let (status, _, r, _) = TestSizing.parity().run()
        let kelly = stepRecords(r)[6]
        #expect(status == 0 && r.qty == 4800 && r.bound_by == SizingStep.kelly)
        #expect(close(r.pi, 0.95, 1e-15) && close(r.loss, 0.9344) && close(r.shrunk, 0.0899531, 1e-5))
        #expect(kelly.cap_unit == CapUnit.dollars && close(kelly.cap, 44.9765, 1e-5))
        #expect(r.bound == Int64((kelly.cap * 1e6 + 1e-9).rounded(.down)))
        #expect(stepRecords(r)[3].reason == Reason.noLaterLegs && r.n_batches == 1)
    }

    /// test_montecarlo.MC_GOLDEN: scenario A with Polymarket f = 0.9 and s = 0.05 at q0, 2000 paths,
    /// bit for bit what the Python twin computes.
    @Test func monteCarloMatchesTheTwin() {
        let t = TestSizing.cross()
        t.input.venues.1 = arb_venue_stats(fills: 170, attempts: 190, latency_s: 0, latency_samples: 0)
        t.legs[1].price_vol = 0.05
        t.params.enabled &= ~(1 << UInt32(SizingStep.executionModel))
        let (status, _, r, _) = t.run()
        let mc = r.monte_carlo
        #expect(status == 0 && r.has_monte_carlo == 1 && mc.paths == 2000 && mc.seed == 0x0123_4567_89AB_CDEF)
        #expect(mc.mean == 0.026925112901670042 && mc.cvar == 0.02830466019799827)
        #expect(mc.value_at_risk == 0.07497921493196733 && mc.l_leg == 0.02039284947692652)
        #expect(mc.p_loss == 0.028 && mc.missed == 193)
    }

    @Test func splitMix64ReferenceVector() {
        var r = ArbEngineSwift.SplitMix64(seed: 0)     // the engine's (Fixtures.swift has a test one)
        #expect([r.next(), r.next(), r.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        // uniform(at:) and bits53(at:) read the same stream: the second output's top 53 bits
        #expect(ArbEngineSwift.SplitMix64.uniform(at: 2, from: 0) == Double(UInt64(0x6E78_9E6A_A1B9_65F4) >> 11) * 0x1.0p-53)
        #expect(ArbEngineSwift.SplitMix64.bits53(at: 3, from: 0) == UInt64(0x06C4_5D18_8009_454F) >> 11)
        #expect(r.state == 3 &* ArbEngineSwift.SplitMix64.gamma)
    }

    /// k < fillThreshold(f) decides u < f (u = k × 2⁻⁵³) exactly: at the edges (f·2⁵³ an integer,
    /// one ulp either side, 0, 1, NaN, out of range) and on random k and f.
    @Test func fillThresholdMatchesTheUniformComparison() {
        let top: UInt64 = 1 << 53
        func agrees(_ k: UInt64, _ f: Double) -> Bool {
            (k < fillThreshold(f)) == (Double(k) * 0x1.0p-53 < f)
        }
        var fs: [Double] = [0, -0.0, 1, -1, 2, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, 0.5, 0.95, 0.725]
        for f in fs { fs += [f.nextUp, f.nextDown] }
        var r = ArbEngineSwift.SplitMix64(seed: 7)
        for _ in 0..<2_000 { fs.append(Double(r.next() >> 11) * 0x1.0p-53) }
        for f in fs {
            var ks: [UInt64] = [0, 1, top - 1, top / 2]
            if f > 0 && f < 1 {
                let t = f * 0x1.0p53
                for k in [t.rounded(.down), t.rounded(.up)] where k >= 1 && k < Double(top) { ks += [UInt64(k) - 1, UInt64(k), UInt64(k) + 1] }
            }
            for _ in 0..<8 { ks.append(r.next() >> 11) }
            #expect(ks.allSatisfy { agrees($0, f) }, "f = \(f)")
        }
        #expect(fillThreshold(1) == top && fillThreshold(0) == 0 && fillThreshold(.nan) == 0 && fillThreshold(0.5) == top / 2)
    }

    /// A fill-model reject skips the rest (10 fills in 20 attempts: f = 29 / 40 = 0.725 < 0.8).
    @Test func rejectSkipsTheRest() {
        let t = TestSizing.cross()
        t.input.venues.1 = arb_venue_stats(fills: 10, attempts: 20, latency_s: 0, latency_samples: 0)
        let (status, _, r, _) = t.run()
        let steps = stepRecords(r)
        #expect(status == 0 && r.qty == 0 && r.rejected_by == SizingStep.fillModel && r.fill == 0.725)
        #expect(steps[1].reason == Reason.fillProbLow && steps[1].outcome == SizingOutcome.rejected)
        #expect(steps[2...].allSatisfy { $0.outcome == SizingOutcome.skipped && $0.reason == Reason.rejectedEarlier })
        #expect(r.has_monte_carlo == 0)
    }

    // MARK: - Never trap: hostile inputs return their code and leg index

    private func status(_ change: (TestSizing) -> Void) -> (Int32, Int64) {
        let t = TestSizing.cross()
        change(t)
        let (s, bad, _, _) = t.run()
        return (s, bad)
    }

    @Test func hostileInputs() {
        #expect(status { $0.legs = [] } == (Status.length, -1))
        #expect(status { $0.input.payout = 0 } == (Status.argument, -1))
        #expect(status { $0.legs[1].venue = 9 } == (Status.venue, 1))
        #expect(status { $0.legs[0].lot = 7 } == (Status.lot, 0))
        #expect(status { $0.legs[1].fees.taker_rate_ppm = -1 } == (Status.rate, 1))
        #expect(status { $0.legs[1].level_start = 3 } == (Status.length, 1))            // past the level array
        #expect(status { $0.legs[0].level_count = Int64.max } == (Status.length, 0))
        #expect(status { $0.legs[0].level_start = Int64.min } == (Status.length, 0))
        #expect(status { $0.levels[2] = 10_001 } == (Status.price, 0))
        #expect(status { $0.levels[7] = -5 } == (Status.qty, 1))
        #expect(status { $0.levels[6] = 4900 } == (Status.length, 1))                  // not ascending
        #expect(status { $0.legs[0].best_bid = 4501 } == (Status.price, 0))
        #expect(status { $0.legs[1].depletion_rate = .nan } == (Status.float, 1))
        #expect(status { $0.legs[0].price_vol = .infinity } == (Status.float, 0))
        #expect(status { $0.input.confidence = -0.1 } == (Status.float, -1))
        #expect(status { $0.input.days_to_close = -.infinity } == (Status.float, -1))
        #expect(status { $0.input.equity = -1 } == (Status.money, -1))
        #expect(status { $0.input.venues.2.fills = 3 } == (Status.argument, -1))        // fills > attempts
        #expect(status { $0.input.venues.0.latency_s = .nan } == (Status.float, -1))
        #expect(status { $0.input.qty = Int64.max } == (Status.qty, -1))
        #expect(status { $0.input.qty = 9_000_000_000_000_000_000 } == (Status.qty, -1))
        #expect(status { $0.input.qty = -100 } == (Status.qty, -1))
        #expect(status { $0.input.payout = Int64.max } == (Status.overflow, -1))
        #expect(status { $0.params.paths = 0 } == (Status.argument, -1))
        #expect(status { $0.params.paths = Int64.max } == (Status.argument, -1))
        #expect(status { $0.params.enabled = 1 << 5 } == (Status.argument, -1))         // step 5 is not here
        #expect(status { $0.params.sigma = -.infinity } == (Status.float, -1))
        #expect(status { $0.params.min_order.1 = Int64.min } == (Status.money, -1))
        #expect(status { $0.params.far_days = $0.params.near_days } == (Status.float, -1))
    }

    /// Extreme but valid doubles: no trap, no NaN in the Monte Carlo statistics.
    @Test func extremeValidValues() {
        let (s, _, r, _) = TestSizing.cross().with {
            $0.legs[0].depletion_rate = .greatestFiniteMagnitude
            $0.legs[1].price_vol = SizingLimits.volMax
            $0.input.venues.1 = arb_venue_stats(fills: 0, attempts: Int64.max, latency_s: SizingLimits.timeMax,
                                                latency_samples: Int64.max)
            $0.params.drift = -SizingLimits.volMax
            $0.params.max_requote = Int64.max
            $0.params.enabled = 0                      // all disabled: every value still computed
        }.run()
        #expect(s == 0 && r.qty == 5000 && r.has_monte_carlo == 1)
        #expect(!r.monte_carlo.mean.isNaN && !r.monte_carlo.cvar.isNaN && !r.loss.isNaN)
    }

    @Test func pointersAndCapacity() {
        let t = TestSizing.cross()
        var input = t.cInput(), params = t.params, out = arb_sizing_result(), bad: Int64 = 7
        var legsOut = [arb_sizing_leg_out](repeating: arb_sizing_leg_out(), count: 2)
        #expect(arb_size(nil, &params, &out, &legsOut, 2, &bad) == Status.null && bad == -1)
        #expect(arb_size(&input, nil, &out, &legsOut, 2, &bad) == Status.null)
        #expect(arb_size(&input, &params, nil, &legsOut, 2, &bad) == Status.null)
        #expect(arb_size(&input, &params, &out, nil, 2, &bad) == Status.null)
        #expect(arb_size(&input, &params, &out, &legsOut, 1, &bad) == Status.capacity)
        input.levels = nil
        #expect(arb_size(&input, &params, &out, &legsOut, 2, nil) == Status.null)
    }

    /// The batch: each opportunity as alone; the first bad one named with its leg.
    @Test func batch() {
        let a = TestSizing.cross(), b = TestSizing.parity()
        var params = a.params
        var inputs = [a.cInput(), b.cInput()]
        var out = [arb_sizing_result](repeating: arb_sizing_result(), count: 2)
        var legsOut = [arb_sizing_leg_out](repeating: arb_sizing_leg_out(), count: 4)
        var badOpp: Int64 = 9, bad: Int64 = 9
        #expect(arb_size_batch(&inputs, 2, &params, &out, &legsOut, 4, &badOpp, &bad) == 0)
        #expect(out[0].qty == 4800 && out[1].qty == 4800 && out[1].leg_start == 2 && out[1].n_legs == 2)
        #expect(out[0].fm_profit == a.run().2.fm_profit && out[1].pi == b.run().2.pi)
        #expect(arb_size_batch(&inputs, 2, &params, &out, &legsOut, 3, &badOpp, &bad) == Status.capacity && badOpp == 1)
        b.legs[1].best_bid = -1
        inputs[1] = b.cInput()
        #expect(arb_size_batch(&inputs, 2, &params, &out, &legsOut, 4, &badOpp, &bad) == Status.price)
        #expect(badOpp == 1 && bad == 1)
        #expect(arb_size_batch(nil, 0, &params, nil, nil, 0, &badOpp, &bad) == 0)
        #expect(arb_size_batch(&inputs, -1, &params, &out, &legsOut, 4, &badOpp, &bad) == Status.length)
        params.paths = 0
        #expect(arb_size_batch(&inputs, 2, &params, &out, &legsOut, 4, &badOpp, &bad) == Status.argument && badOpp == 0)
    }
}

extension TestSizing {
    func with(_ change: (TestSizing) -> Void) -> TestSizing {
        change(self)
        return self
    }
}
