import CShims
import Testing
@testable import ArbEngineSwift

/// arb_size_portfolio: steps 9–12 and the final re-price after the chain, on hand-computed cases
/// (the Python twin's records are compared on random ones in python/tests/run/test_sizer_engine.py),
/// and hostile limits that must return a code.
@Suite struct PortfolioStepsTests {
    private static let allSteps: UInt32 = (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12)

    private struct Run {
        var status: Int32
        var bad: Int64
        var chain: arb_sizing_result
        var result: arb_portfolio_result
        var bounds: [Int64]
        var prices: [Int64]
        var steps: [arb_sizing_step] { withUnsafeBytes(of: result.steps) { Array($0.bindMemory(to: arb_sizing_step.self)) } }
    }

    private func run(_ t: TestSizing, weight: Double = 1, bankroll: Double = 1e9, tier: Int32 = 0, multiplier: Double = 1,
                     rooms: [Int64] = [], masks: [UInt64] = [], enabled: UInt32 = allSteps, scopes: Int64? = nil) -> Run {
        var input = t.cInput()
        var params = t.params
        var chain = arb_sizing_result()
        var result = arb_portfolio_result()
        var legsOut = [arb_sizing_leg_out](repeating: arb_sizing_leg_out(), count: t.legs.count)
        var bounds = [Int64](repeating: -7, count: max(rooms.count, 1))
        var prices = [Int64](repeating: -7, count: 3 * t.legs.count)
        var bad: Int64 = 99
        let status = rooms.withUnsafeBufferPointer { r in
            masks.withUnsafeBufferPointer { m in
                var limits = arb_portfolio_limits(enabled: enabled, drawdown_tier: tier, lane_weight: weight,
                                                  lane_bankroll: bankroll, drawdown_multiplier: multiplier,
                                                  n_scopes: scopes ?? Int64(rooms.count), scope_room: r.baseAddress,
                                                  scope_legs: m.baseAddress)
                return arb_size_portfolio(&input, &params, &limits, &chain, &legsOut, Int64(t.legs.count), &result,
                                          &bounds, &prices, &bad)
            }
        }
        return Run(status: status, bad: bad, chain: chain, result: result, bounds: bounds, prices: prices)
    }

    /// Scenario A leaves the chain at 4800 lots. A $30 lane bankroll: at 3100 lots the capital is
    /// Kalshi 31 × $0.45 = $13.95 + fee ceil(0.07 × 31 × 0.45 × 0.55 = $0.537) = $0.54, Polymarket
    /// 30 × $0.50 + 1 × $0.51 = $15.51: exactly $30.00, which fits; 3200 lots cost $30.98.
    @Test func laneBankrollBoundsTheCapitalExactly() {
        let r = run(TestSizing.cross(), bankroll: 30)
        #expect(r.status == 0 && r.chain.qty == 4800)
        let lane = r.steps[0]
        #expect(lane.step == 9 && lane.outcome == SizingOutcome.lowered && lane.qty_in == 4800 && lane.qty == 3100)
        #expect(lane.cap == 30 && lane.cap_unit == CapUnit.dollars)
        #expect(r.steps.dropFirst().map(\.qty) == [3100, 3100, 3100] && r.result.qty == 3100)
        #expect(r.steps[2].reason == PortfolioReason.noLimit && r.steps[3].reason == PortfolioReason.normal)
        #expect(r.result.final_qty == 3100 && r.result.payout == 31_000_000 && r.result.cost == 29_460_000)
        #expect(r.result.fee == 540_000 && r.result.profit == 1_000_000)
        #expect(r.prices == [4500, 13_950_000, 540_000, 5100, 15_510_000, 0])
        // step 10 at 3100 lots: K = $30.00 / 31 contracts
        #expect(abs(r.result.loss_k - 30.0 / 31.0) <= 1e-15)
    }

    @Test func roomsTiersAndRejects() {
        // Room $14 on the Kalshi leg only: 3000 lots cost $13.50 + $0.52 = $14.02 > 14; 2900: $13.05 + $0.51
        let rooms = run(TestSizing.cross(), rooms: [14_000_000, 1_000_000_000], masks: [0b01, 0b11])
        #expect(rooms.status == 0 && rooms.bounds == [2900, 4800] && rooms.steps[2].qty == 2900)
        #expect(rooms.steps[2].cap == 14 && rooms.steps[2].outcome == SizingOutcome.lowered)
        // $5 on the Polymarket leg: 1000 lots × $0.005; no room at all on the Kalshi leg rejects
        let noRoom = run(TestSizing.cross(), rooms: [5_000_000, 0], masks: [0b10, 0b01])
        #expect(noRoom.steps[2].outcome == SizingOutcome.rejected && noRoom.steps[2].reason == PortfolioReason.noRoom)
        #expect(noRoom.bounds == [1000, 0] && noRoom.steps[3].outcome == SizingOutcome.skipped && noRoom.result.final_qty == 0)
        let caution = run(TestSizing.cross(), tier: Int32(ARB_DRAWDOWN_CAUTION), multiplier: 0.5)
        #expect(caution.steps[3].qty == 2400 && caution.steps[3].cap == 24 && caution.steps[3].cap_unit == CapUnit.contracts)
        let stop = run(TestSizing.cross(), tier: Int32(ARB_DRAWDOWN_STOP))
        #expect(stop.steps[3].outcome == SizingOutcome.rejected && stop.steps[3].reason == PortfolioReason.drawdownStop)
        let laneOff = run(TestSizing.cross(), weight: 0)
        #expect(laneOff.steps[0].reason == PortfolioReason.laneOff && laneOff.steps[1].outcome == SizingOutcome.skipped)
        let disabled = run(TestSizing.cross(), weight: 0, enabled: 0)
        #expect(disabled.steps.allSatisfy { $0.outcome == SizingOutcome.disabled } && disabled.result.final_qty == 4800)
        // a chain reject: every portfolio step skipped, no re-price
        let t = TestSizing.cross()
        t.input.days_to_close = -1
        let closed = run(t)
        #expect(closed.chain.rejected_by != SizingStep.none && closed.steps.allSatisfy { $0.outcome == SizingOutcome.skipped })
        #expect(closed.result.qty == 0 && closed.result.final_qty == 0 && closed.prices == [0, 0, 0, 0, 0, 0])
    }

    @Test func hostileLimitsReturnACode() {
        let t = TestSizing.cross()
        #expect(run(t, tier: 3).status == Status.argument)
        #expect(run(t, tier: -1).status == Status.argument)
        #expect(run(t, rooms: [1], masks: [0b100]).status == Status.length)
        #expect(run(t, rooms: [1], masks: [1], scopes: -1).status == Status.length)
        #expect(run(t, rooms: [1], masks: [1], scopes: 1 << 40).status == Status.length)
        #expect(run(t, weight: .nan, bankroll: .nan, multiplier: .infinity).status == 0)
        var input = t.cInput(), params = t.params, chain = arb_sizing_result(), result = arb_portfolio_result()
        var legsOut = [arb_sizing_leg_out](repeating: arb_sizing_leg_out(), count: 2)
        var prices = [Int64](repeating: 0, count: 6), bad: Int64 = 0
        var limits = arb_portfolio_limits(enabled: 0, drawdown_tier: 0, lane_weight: 1, lane_bankroll: 1, drawdown_multiplier: 1,
                                          n_scopes: 1, scope_room: nil, scope_legs: nil)
        #expect(arb_size_portfolio(&input, &params, &limits, &chain, &legsOut, 2, &result, nil, &prices, &bad) == Status.null)
        limits.n_scopes = 0
        #expect(arb_size_portfolio(&input, &params, nil, &chain, &legsOut, 2, &result, nil, &prices, &bad) == Status.null)
        #expect(arb_size_portfolio(&input, &params, &limits, &chain, &legsOut, 2, nil, nil, &prices, &bad) == Status.null)
        #expect(arb_size_portfolio(&input, &params, &limits, &chain, &legsOut, 2, &result, nil, nil, &bad) == Status.null)
        #expect(arb_size_portfolio(&input, &params, &limits, &chain, &legsOut, 1, &result, nil, &prices, &bad) == Status.capacity)
        #expect(arb_size_portfolio(&input, &params, &limits, &chain, &legsOut, 2, &result, nil, &prices, &bad) == 0)
    }
}
