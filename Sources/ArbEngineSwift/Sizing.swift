/// Depth-walk sizing of a taker opportunity (spec/ARBITRAGE.md "Sizing a taker opportunity").
///
/// All legs' ladders are walked together. At the current levels the per-lot marginal edge is
/// ```
/// E = P × 10^14 − Σ_j (p_j × 10^10 + r_j × p_j × (10_000 − p_j) + c_j × 10^8)   1e-16 $ / lot
/// ```
/// (payout minus prices minus unrounded fees). It never increases with depth, so segments —
/// runs over which every leg stays on one level — are taken while E > 0 and every ladder has
/// depth left. The quantity is then capped at max_qty, floored to the candidate's lot, and
/// each leg priced as one order of q lots (cost = Σ fills, fee per Fees.swift).

// MARK: - Top-of-book bound

/// Saturation bound (2^60) of the per-slot top-of-book cost used by the quick reject, and
/// that cost's value for an empty or untradeable side. A candidate on the fast path has
/// P × 10^14 ≤ this bound (see `CandidateTable.fastEdge`), so one such leg rejects it, and a
/// real cost saturated here already exceeds its payout: the reject stays exact.
let topCostCap: Int64 = 1 << 60

/// The per-lot cost (1e-16 $) of the best level of a ladder, saturated at `topCostCap`.
@inline(__always)
func cappedTopCost(_ schedule: FeeSchedule, price: Int64) -> Int64 {
    let cost = schedule.costPerLot(price: price)
    return cost < Int128(topCostCap) ? Int64(truncatingIfNeeded: cost) : topCostCap
}

// MARK: - Depth

/// The quantity (lots) over which the marginal edge stays strictly positive and every ladder
/// has depth: Q of the spec. `legs` start at each ladder's best level (non-empty ladders);
/// `payoutRaw` = P × 10^14. The edge is kept incrementally (a leg that moves to its next
/// level changes it by that leg's cost difference), which equals recomputing the sum. With
/// `cap ≥ 0`, stops as soon as Q ≥ cap (the capped result min(Q, cap) is unchanged).
func depthQty(pool: UnsafeBufferPointer<Level>, legs: UnsafeMutableBufferPointer<WalkLeg>,
              payoutRaw: Int128, cap: Int64) -> Int128 {
    var edge = payoutRaw
    for k in 0..<legs.count {
        let cost = legs[k].schedule.costPerLot(price: pool[legs[k].level].price)
        legs[k].cost = cost
        edge -= cost
    }
    var taken: Int128 = 0
    while edge > 0 {
        var segment = Int64.max
        for k in 0..<legs.count { segment = min(segment, legs[k].remaining) }
        taken += Int128(segment)
        if cap >= 0 && taken >= Int128(cap) { return taken }
        for k in 0..<legs.count {
            legs[k].remaining -= segment
            if legs[k].remaining == 0 {
                let next = legs[k].level + 1
                if next == legs[k].end { return taken }   // a ladder is exhausted
                legs[k].level = next
                legs[k].remaining = pool[next].qty
                let cost = legs[k].schedule.costPerLot(price: pool[next].price)
                edge -= cost - legs[k].cost
                legs[k].cost = cost
            }
        }
    }
    return taken
}

// MARK: - Pricing one leg

/// One taker order of `qty` lots (> 0, at most the ladder's depth) walking the ladder
/// `pool[first ..< end]` from its best level.
func priceOrder(pool: UnsafeBufferPointer<Level>, first: Int, end: Int, qty: Int128,
                schedule: FeeSchedule) -> LegFill {
    var need = qty
    var cost: Int128 = 0, raw: Int128 = 0, worst: Int64 = 0
    var i = first
    while i < end && need > 0 {
        let level = pool[i]
        let fill = Int128(level.qty) < need ? Int128(level.qty) : need
        cost += Int128(level.price) * fill
        raw += Int128(schedule.rawPerLot(price: level.price)) * fill
        worst = level.price
        need -= fill
        i += 1
    }
    return LegFill(worst: worst, cost: cost, fee: schedule.fee(raw: raw, qty: qty))
}
