/// Exact integer helpers shared by fees, sizing and decomposition, plus the two correctly
/// rounded integer → Double conversions evaluation needs to match Python bit for bit.
///
/// Units: prices in ticks (0...10_000), quantities in lots, money in µ$; "raw" fee and edge
/// amounts are in 1e-16 $ (µ$ × 10^-10) and live in `Int128`.

// MARK: - Scales

/// 10^4: payout per lot in µ$ of a $1 contract (1 lot = 0.01 contract).
let microsPerLotDollar: Int64 = 10_000
/// 10^10: raw (1e-16 $) per µ$; a fee's rate part is rounded up in units of R × 10^10 raw.
let rawPerMicro: Int128 = 10_000_000_000
/// 10^14: raw per lot of a $1 payout.
let rawPayoutPerLot: Int128 = 100_000_000_000_000
/// 10^10: raw per lot per tick of price.
let rawPricePerLotTick: Int64 = 10_000_000_000
/// 10^8: raw per lot per µ$-per-contract of commission.
let rawCommissionPerLotMicro: Int128 = 100_000_000

// MARK: - Integer helpers

/// ⌈a / b⌉ for a ≥ 0 and b > 0 (callers guarantee both).
@inline(__always)
func ceilDiv(_ a: Int128, _ b: Int128) -> Int128 {
    let (q, r) = a.quotientAndRemainder(dividingBy: b)
    return r > 0 ? q + 1 : q
}

/// `v` as Int64, or nil when it does not fit.
@inline(__always)
func exactInt64(_ v: Int128) -> Int64? {
    v >= Int128(Int64.min) && v <= Int128(Int64.max) ? Int64(truncatingIfNeeded: v) : nil
}

/// `v` as Int64, or `EngineError(ARB_E_OVERFLOW)`.
@inline(__always)
func fitInt64(_ v: Int128) throws(EngineError) -> Int64 {
    guard let r = exactInt64(v) else { throw EngineError(Status.overflow) }
    return r
}

/// The quote mid `(askYes + (10_000 − askNo)) / 2` in ticks, rounded half to even.
/// Both asks are in 0...10_000, so the sum is in 0...20_000 (never negative).
@inline(__always)
func halfEvenMid(askYes: Int32, askNo: Int32) -> Int32 {
    let s = askYes + (10_000 - askNo)
    let half = s >> 1
    return (s & 1 == 1 && half & 1 == 1) ? half + 1 : half
}

// MARK: - Correctly rounded conversions (Python semantics)

/// `Double(v)` rounded to nearest, ties to even, for |v| ≤ 2^64 (Python's `float(int)`).
/// Avoids relying on the generic Int128 → Double path.
func correctlyRoundedDouble(_ v: Int128) -> Double {
    if let small = exactInt64(v) { return Double(small) }
    let magnitude = v.magnitude
    guard magnitude <= UInt128(UInt64.max) else { return Double(v) }   // not reached by callers
    let d = Double(UInt64(truncatingIfNeeded: magnitude))               // uitofp: round to nearest even
    return v < 0 ? -d : d
}

/// `q / 100` as Python's int true division computes it: the exact quotient rounded once to
/// the nearest Double (ties to even). `Double(q) / 100` rounds twice when |q| > 2^53.
func correctlyRoundedDividedBy100(_ q: Int64) -> Double {
    let m = q.magnitude
    let d: Double
    if m <= (UInt64(1) << 53) {
        d = Double(m) / 100                                    // m exact, one IEEE division
    } else {
        // Scale so the integer quotient has 63 significant bits, fold the remainder into a
        // sticky bit far below the rounding position, convert once, then rescale exactly.
        let bits = UInt64.bitWidth - m.leadingZeroBitCount     // 54...64
        let shift = 70 - bits                                  // 6...16
        let scaled = UInt128(m) << UInt128(shift)              // < 2^70
        let (quotient, remainder) = scaled.quotientAndRemainder(dividingBy: 100)
        let sticky: UInt128 = remainder == 0 ? 0 : 1
        let rounded = Double(UInt64(truncatingIfNeeded: quotient | sticky))   // quotient < 2^64
        d = rounded * Double(sign: .plus, exponent: -shift, significand: 1)
    }
    return q < 0 ? -d : d
}
