/// Re-pricing at a quantity (the ARBITRAGE.md depth walk and per-order fees, exact integers)
/// plus step 3's extras, the depth D at a price, and the walk's quantity. Twin:
/// python/arbbot/sizing/pricing.py (`reprice`, `exact_fees`, `depth_at`, `walk_depth`).
extension SizingOpportunity {
    /// Each leg as one taker order of `qty` lots (≤ q0, so within every ladder). With
    /// `extras` a leg's fee becomes max(fee, min_per_order_v) + per_order_v (µ$).
    func reprice(_ qty: Int64, params: SizingParams, extras: Bool) -> Priced {
        var worst = [Int64](repeating: 0, count: legs.count)
        var costs = worst, fees = worst
        var cost: Int64 = 0, fee: Int64 = 0
        levels.withUnsafeBufferPointer { pool in
            for (j, leg) in legs.enumerated() {
                let fill = priceOrder(pool: pool, first: leg.first, end: leg.end, qty: Int128(qty), schedule: leg.schedule)
                var f = Int64(truncatingIfNeeded: fill.fee)
                if extras {
                    f = max(f, SizingParams.pick(params.minPerOrder, leg.venue)) + SizingParams.pick(params.perOrderExtra, leg.venue)
                }
                worst[j] = fill.worst
                costs[j] = Int64(truncatingIfNeeded: fill.cost)
                fees[j] = f
                cost += costs[j]
                fee += f
            }
        }
        let payoutMicros = payout * qty * microsPerLotDollar
        return Priced(qty: qty, worst: worst, legCost: costs, legFee: fees, payout: payoutMicros, cost: cost, fee: fee,
                      profit: payoutMicros - cost - fee)
    }

    /// Per leg, the ARBITRAGE.md fee of one order of `qty` lots (no extras), µ$; saturates at
    /// Int64.max (only reachable from `init`'s overflow check, which then rejects).
    func exactFees(_ qty: Int64) -> [Int64] {
        levels.withUnsafeBufferPointer { pool in
            legs.map { leg in
                let fee = priceOrder(pool: pool, first: leg.first, end: leg.end, qty: Int128(qty), schedule: leg.schedule).fee
                return exactInt64(fee) ?? Int64.max
            }
        }
    }

    /// D: contracts on leg `j`'s ladder at prices ≤ `worst` ticks (exact lots, one division).
    func depthAt(leg j: Int, worst: Int64) -> Double {
        var lots: Int64 = 0
        for k in legs[j].first..<legs[j].end where levels[k].price <= worst { lots += levels[k].qty }
        return correctlyRoundedDividedBy100(lots)
    }

    /// The depth walk's quantity with max_qty = `cap` (> 0), floored to the lot.
    func walkDepth(cap: Int64) -> Int64 {
        var walk = legs.map { leg in
            WalkLeg(level: leg.first, end: leg.end, remaining: levels[leg.first].qty, schedule: leg.schedule, first: leg.first)
        }
        let taken = levels.withUnsafeBufferPointer { pool in
            walk.withUnsafeMutableBufferPointer { buffer in
                depthQty(pool: pool, legs: buffer, payoutRaw: Int128(payout) * rawPayoutPerLot, cap: cap)
            }
        }
        let q = taken < Int128(cap) ? Int64(truncatingIfNeeded: taken) : cap
        return q - q % lot
    }
}
