import CShims

/// Per-order taker fees (spec/ARBITRAGE.md "Fees"), exact.
///
/// For one order of q = Σ q_i lots filling q_i lots at p_i ticks:
/// ```
/// raw = Σ r × q_i × p_i × (10_000 − p_i)            1e-16 $   (Int128)
/// fee = ⌈raw / (R × 10^10)⌉ × R + ⌈c × q / 100⌉       µ$
/// ```

// MARK: - Limits

/// Largest fee rate: rates are below 1 (999,999 ppm).
let rateMaxPPM = Int64(ARB_RATE_MAX_PPM)
/// Largest per-contract commission and rounding increment, µ$ ($1,000,000).
let moneyFeeMax = Int64(ARB_MONEY_FEE_MAX)

// MARK: - Schedule

/// One market's taker fee schedule.
struct FeeSchedule: Equatable {
    /// r: taker rate, ppm, 0...999,999.
    var rate: Int64
    /// c: commission, µ$ per contract, 0...ARB_MONEY_FEE_MAX.
    var perContract: Int64
    /// R: the rate part is rounded up to a multiple of R µ$, 1...ARB_MONEY_FEE_MAX.
    var rounding: Int64

    /// Checks in ABI order: rate (ARB_E_RATE), then commission and rounding (ARB_E_MONEY).
    func validate() throws(EngineError) {
        guard rate >= 0 && rate <= rateMaxPPM else { throw EngineError(Status.rate) }
        guard perContract >= 0 && perContract <= moneyFeeMax else { throw EngineError(Status.money) }
        guard rounding >= 1 && rounding <= moneyFeeMax else { throw EngineError(Status.money) }
    }

    // MARK: Arithmetic (valid schedules, prices in 0...10_000)

    /// r × p × (10_000 − p): the raw rate part per lot at `p` ticks, 1e-16 $ (≤ 2.5e13, fits).
    @inline(__always)
    func rawPerLot(price p: Int64) -> Int64 {
        rate * p * (10_000 - p)
    }

    /// The order fee in µ$ from its raw rate part (1e-16 $, ≥ 0) and its size (lots, ≥ 0).
    @inline(__always)
    func fee(raw: Int128, qty: Int128) -> Int128 {
        let r = Int128(rounding)
        return ceilDiv(raw, r * rawPerMicro) * r + ceilDiv(Int128(perContract) * qty, 100)
    }

    /// Per-lot cost of buying at `p` ticks including the unrounded fee, 1e-16 $:
    /// p × 10^10 + r × p × (10_000 − p) + c × 10^8. Non-decreasing in p for every r < 1.
    @inline(__always)
    func costPerLot(price p: Int64) -> Int128 {
        Int128(p * rawPricePerLotTick + rawPerLot(price: p)) + Int128(perContract) * rawCommissionPerLotMicro
    }
}

// MARK: - One order

/// The fee (µ$) of one taker order whose fills are `count` (price ticks, qty lots) pairs at
/// `fills`. Checks: schedule (rate, then money), then each fill in order (price, then qty).
/// Throws ARB_E_OVERFLOW when the fee does not fit in Int64.
func orderFee(_ schedule: FeeSchedule, fills: UnsafePointer<Int64>?, count: Int) throws(EngineError) -> Int64 {
    try schedule.validate()
    var raw: Int128 = 0
    var qty: Int128 = 0
    if count > 0, let fills {
        for i in 0..<count {
            let p = fills[2 * i], q = fills[2 * i + 1]
            guard p >= 0 && p <= priceMax else { throw EngineError(Status.price) }
            guard q >= 0 && q <= levelQtyMax else { throw EngineError(Status.qty) }
            raw += Int128(schedule.rawPerLot(price: p)) * Int128(q)
            qty += Int128(q)
        }
    }
    return try fitInt64(schedule.fee(raw: raw, qty: qty))
}
