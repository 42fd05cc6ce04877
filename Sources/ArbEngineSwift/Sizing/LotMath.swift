/// Lots and exact dollar bounds (SIZING.md "Mechanics"). Every double that becomes an integer
/// does so through floor(v + 1e-9). Twin: `floor_lot`, `bound_micros`, `dollar_bound` in
/// python/arbbot/sizing/pricing.py.

let sizingEpsilon = 1e-9
/// floor_lot / bound_micros arguments at or above 2^62 never bind (no Int64 overflow).
private let noBind = Double(1 << 62)

/// min(q_in, lot × floor(x × 100 / lot + 1e-9)) lots for a finite x ≥ 0 (order: x × 100, / lot,
/// + 1e-9). Values reaching q_in / lot (or NaN) do not bind, so the conversion never traps.
func floorLot(_ contracts: Double, qtyIn: Int64, lot: Int64) -> Int64 {
    let v = contracts * 100.0 / Double(lot) + sizingEpsilon
    guard v < Double(qtyIn / lot) && v < noBind else { return qtyIn }
    return v > -noBind ? lot * Int64(v.rounded(.down)) : 0     // callers pass x ≥ 0: never negative
}

/// A dollar bound X as exact µ$: floor(X × 10^6 + 1e-9), 2^62 when that is larger (or NaN).
func boundMicros(_ dollars: Double) -> Int64 {
    let v = dollars * 1e6 + sizingEpsilon
    guard v < noBind else { return 1 << 62 }
    return v > -noBind ? Int64(v.rounded(.down)) : 0           // callers pass X ≥ 0: never negative
}

/// The largest multiple of `lot` q ≤ q_in with amount(q) ≤ limit (µ$), by bisection over lots;
/// `amount` is non-decreasing in q. 0 when not even one lot fits.
func dollarBound(qtyIn: Int64, lot: Int64, limit: Int64, amount: (Int64) -> Int64) -> Int64 {
    var lo: Int64 = 0, hi = qtyIn / lot          // lo fits (0 always); every k > hi does not
    if amount(hi * lot) <= limit { return hi * lot }
    hi -= 1
    while lo < hi {
        let mid = (lo + hi + 1) / 2
        if amount(mid * lot) <= limit { lo = mid } else { hi = mid - 1 }
    }
    return lo * lot
}
