/// Depth-walk sizing of one leg set (spec "Sizing a taker opportunity").

/// Result of pricing one leg as a single order of q lots.
struct LegFill {
    var worst: Int32
    var cost: Int128
    var fee: Int128
}

/// One order of `qty` lots walking `ladder` from its best level (the caller guarantees depth).
@inline(__always)
func take(_ ladder: [Level], qty: Int128, schedule: FeeSchedule) -> LegFill {
    var need = qty, cost: Int128 = 0, raw: Int128 = 0, worst: Int32 = 0
    for level in ladder {
        let fill = Int128(level.qty) < need ? Int128(level.qty) : need
        cost += Int128(level.price) * fill
        raw += Int128(schedule.rate * Int64(level.price) * Int64(10_000 - level.price)) * fill
        worst = level.price
        need -= fill
        if need == 0 { break }
    }
    return LegFill(worst: worst, cost: cost, fee: schedule.fee(raw: raw, qty: qty))
}
