/// Per-order taker fees (spec "Fees"), exact: raw rate part in 1e-16 $, fee in µ$.

let rateMaxPPM: Int64 = 999_999
let moneyFeeMax: Int64 = 1_000_000_000_000

/// One market's schedule: rate r (ppm), commission c (µ$ per contract), rounding R (µ$).
struct FeeSchedule {
    var rate: Int64
    var perContract: Int64
    var rounding: Int64

    /// Rate, then commission, then rounding (ABI order).
    func validate() throws(EngineError) {
        guard rate >= 0 && rate <= rateMaxPPM else { throw EngineError(code: Status.rate) }
        guard perContract >= 0 && perContract <= moneyFeeMax else { throw EngineError(code: Status.money) }
        guard rounding >= 1 && rounding <= moneyFeeMax else { throw EngineError(code: Status.money) }
    }

    /// Raw rate part of q lots at p ticks: r·q·p·(10_000 − p), 1e-16 $.
    @inline(__always)
    func raw(price p: Int32, qty q: Int64) -> Int128 {
        Int128(rate * Int64(p) * Int64(10_000 - p)) * Int128(q)
    }

    /// ceil(raw / (R·10^10))·R + ceil(c·q / 100), µ$.
    @inline(__always)
    func fee(raw: Int128, qty: Int128) -> Int128 {
        let r = Int128(rounding)
        return ceilDiv(raw, r * 10_000_000_000) * r + ceilDiv(Int128(perContract) * qty, 100)
    }

    /// Per-lot cost of buying at p including the unrounded fee, 1e-16 $:
    /// p·10^10 + r·p·(10_000 − p) + c·10^8.
    @inline(__always)
    func levelCost(_ p: Int32) -> Int128 {
        Int128(Int64(p) * 10_000_000_000 + rate * Int64(p) * Int64(10_000 - p)) + Int128(perContract) * 100_000_000
    }
}
