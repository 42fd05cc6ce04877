import CShims
@testable import ArbEngineSwift

/// An opportunity for arb_size built from test values; owns its C arrays (CArrays).
final class TestSizing {
    let arrays = CArrays()
    var legs: [arb_sizing_leg] = []
    var levels: [Int64] = []
    var input = arb_sizing_input()
    var params = TestSizing.defaults

    /// SIZING.md's defaults: every step enabled, Polymarket min order $1.
    static var defaults: arb_sizing_params {
        var p = arb_sizing_params()
        p.leg_latency_s = 0.05
        p.round_trip_s = 0.15
        p.min_samples = 20
        p.enabled = SizingStep.allBits
        p.alpha = 19
        p.beta = 1
        p.min_fill_prob = 0.8
        p.min_order = (0, 1_000_000, 0)
        p.exponent = 0.5
        p.max_edge_share = 0.5
        p.near_days = 14
        p.far_days = 60
        p.far_multiplier = 0.75
        p.min_annual_return = 0.1
        p.paths = 2000
        p.max_requote = 100
        p.cvar_level = 0.95
        p.var_level = 0.99
        p.kelly_multiplier = 0.5
        p.sigma = 0.02
        return p
    }

    init(id: UInt64, qty: Int64, confidence: Double, days: Double, equity: Int64) {
        input.id = id
        input.payout = 1
        input.qty = qty
        input.confidence = confidence
        input.days_to_close = days
        input.min_profit = 1
        input.equity = equity
        input.loss_budget = 25
    }

    func leg(venue: Int32, lot: Int32, rate: Int32, rounding: Int64, ladder: [(Int64, Int64)], bid: Int64,
             rho: Double = 0.5, vol: Double = 0.01) {
        var l = arb_sizing_leg()
        l.venue = venue
        l.lot = lot
        l.fees = arb_fee_schedule(taker_rate_ppm: rate, reserved: 0, per_contract: 0, rounding: rounding)
        l.level_start = Int64(levels.count / 2)
        l.level_count = Int64(ladder.count)
        l.best_bid = bid
        l.depletion_rate = rho
        l.price_vol = vol
        for (p, q) in ladder { levels += [p, q] }
        legs.append(l)
    }

    /// Scenario A of python/tests/sizing/scenarios.py: Kalshi YES 0.45/0.46 × 50, Polymarket NO
    /// 0.50 × 30 then 0.51 × 100; c = 0.95, T = 20 days, E = $10,000, q0 = 50 contracts.
    static func cross() -> TestSizing {
        let t = TestSizing(id: 0x0123_4567_89AB_CDEF, qty: 5000, confidence: 0.95, days: 20, equity: 10_000_000_000)
        t.leg(venue: 0, lot: 100, rate: 70_000, rounding: 10_000, ladder: [(4500, 5000), (4600, 5000)], bid: 4400)
        t.leg(venue: 1, lot: 1, rate: 0, rounding: 10, ladder: [(5000, 3000), (5100, 10000)], bid: 4900)
        return t
    }

    /// Scenario B: a complement pair on Kalshi (one batch), c = 0.9, E = $1,000.
    static func parity() -> TestSizing {
        let t = TestSizing(id: 0xFF, qty: 5000, confidence: 0.9, days: 20, equity: 1_000_000_000)
        t.leg(venue: 0, lot: 100, rate: 70_000, rounding: 10_000, ladder: [(4000, 10000)], bid: 3900)
        t.leg(venue: 0, lot: 100, rate: 70_000, rounding: 10_000, ladder: [(5000, 10000)], bid: 4900)
        return t
    }

    /// The C input with its arrays attached.
    func cInput() -> arb_sizing_input {
        var i = input
        i.legs = UnsafePointer(arrays.copy(legs))
        i.n_legs = Int64(legs.count)
        i.levels = UnsafePointer(arrays.copy(levels))
        i.n_levels = Int64(levels.count / 2)
        return i
    }

    /// arb_size → (status, bad index, result, leg records).
    func run(capacity: Int64? = nil) -> (Int32, Int64, arb_sizing_result, [arb_sizing_leg_out]) {
        var i = cInput()
        var p = params
        var out = arb_sizing_result()
        var legsOut = [arb_sizing_leg_out](repeating: arb_sizing_leg_out(), count: max(legs.count, 1))
        var bad: Int64 = 99
        let status = legsOut.withUnsafeMutableBufferPointer { buffer in
            arb_size(&i, &p, &out, buffer.baseAddress, capacity ?? Int64(legs.count), &bad)
        }
        return (status, bad, out, legsOut)
    }
}

/// The seven step records of a result, computation order.
func stepRecords(_ r: arb_sizing_result) -> [arb_sizing_step] {
    withUnsafeBytes(of: r.steps) { Array($0.bindMemory(to: arb_sizing_step.self)) }
}
