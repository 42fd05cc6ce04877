/// Exact integer helpers. Prices are ticks (Int32 range 0...10_000), quantities lots, money µ$.

/// ceil(a / b) for a >= 0, b > 0.
@inline(__always)
func ceilDiv(_ a: Int128, _ b: Int128) -> Int128 {
    let (q, r) = a.quotientAndRemainder(dividingBy: b)
    return r > 0 ? q + 1 : q
}

/// The value as Int64, or EngineError(overflow).
@inline(__always)
func fitInt64(_ v: Int128) throws(EngineError) -> Int64 {
    guard v >= Int128(Int64.min) && v <= Int128(Int64.max) else { throw EngineError(code: Status.overflow) }
    return Int64(v)
}

/// (a + (10_000 - b)) / 2 rounded half to even; a, b in 0...10_000.
@inline(__always)
func halfEvenMid(_ askYes: Int32, _ askNo: Int32) -> Int32 {
    let s = askYes + 10_000 - askNo
    let half = s >> 1
    return (s & 1 == 1 && half & 1 == 1) ? half + 1 : half
}
