import CShims

/// The engine behind `arb_engine`: one universe (markets, fee schedules, static candidates)
/// and the current books, decomposed into effective ask ladders.
///
/// - `scan()` evaluates every candidate; `update(market:book:)` replaces one market's book and
///   evaluates only the candidates with a leg in it. Both fill the engine-owned result
///   buffers (valid until the next call): opportunities by profit descending then id
///   ascending, their legs contiguous in that order, untradeable market indices ascending.
/// - Invariant: after any sequence of updates, an update's result equals the part of a full
///   scan whose legs touch the market, and a scan equals a fresh engine's scan.
/// - Hot path: a per-slot top-of-book cost (slot = 2 × market + side) gives each candidate's
///   edge at the best levels with a few subtractions. The edge never rises with depth, so a
///   candidate whose top-of-book edge is ≤ 0 has nothing; the others are "live" (a bitset
///   kept current by every book change), and a scan depth-walks only those.
///   Steady-state updates allocate nothing (ladders and result buffers keep their capacity).
final class Engine {
    // MARK: Universe (immutable after create)

    let marketCount: Int
    /// ARB_VENUE_* per market (an update's book is validated against it).
    let venue: [Int32]
    let fees: [FeeSchedule]
    /// Lots per market: 100 (1 contract) or 1 (0.01), for sizing a leg.
    let lot: [Int64]
    /// Lots per opportunity, -1 = uncapped. Read only when a candidate is sized (`size`): the live
    /// bits and ladders do not depend on it, so `setLimits` changes it in place.
    private(set) var maxQty: Int64
    /// µ$: the smallest profit reported (read as `maxQty`).
    private(set) var minProfit: Int64
    let candidates: CandidateTable

    // MARK: Books
    // Mutable state is `@exclusivity(unchecked)`: an engine is used by one call at a time (the
    // C API's contract) and no access below overlaps another on the same property, so the
    // dynamic exclusivity bookkeeping (a runtime call per access) is pure cost on the hot path.

    @exclusivity(unchecked) private(set) var ladders: LadderStore
    @exclusivity(unchecked) private(set) var crossed: [Bool]
    /// Per slot: the best level's per-lot cost (1e-16 $) saturated at `topCostCap`;
    /// `topCostCap` when the side is empty or the market untradeable.
    @exclusivity(unchecked) private(set) var topCost: [Int64]
    /// Bit c set ⇔ candidate c's edge at the best levels is > 0 (every leg tradeable with
    /// depth): the only candidates a scan walks. Kept current by every install.
    @exclusivity(unchecked) private(set) var live: [UInt64]
    /// Bit m set ⇔ market m is crossed or locked (untradeable).
    @exclusivity(unchecked) private(set) var crossedBits: [UInt64]
    /// Per slot (2 × market + token): the token's best raw bid, ticks, -1 = none (the quote's
    /// best_bid_yes / best_bid_no, which sizing reads).
    @exclusivity(unchecked) private(set) var bestBid: [Int32]

    // MARK: Scratch and results

    @exclusivity(unchecked) private var walk: [WalkLeg]
    @exclusivity(unchecked) private var fills: [LegFill]
    @exclusivity(unchecked) private(set) var opportunities = ResultBuffer<arb_opportunity>()
    @exclusivity(unchecked) private(set) var legs = ResultBuffer<arb_leg>()
    @exclusivity(unchecked) private var spareLegs = ResultBuffer<arb_leg>()
    @exclusivity(unchecked) private(set) var untradeable = ResultBuffer<Int32>()

    // MARK: - Create

    /// Build from a validated universe; copies everything (the books' level memory too).
    init(_ u: ValidatedUniverse) throws(EngineError) {
        marketCount = u.marketCount
        venue = u.venue
        fees = u.fees
        lot = u.lot
        maxQty = u.maxQty
        minProfit = u.minProfit
        candidates = try CandidateTable(marketCount: u.marketCount, lots: u.lot, names: u.names, relations: u.relations)
        let slots = 2 * marketCount
        ladders = LadderStore(slots: slots)
        var sizes = [Int](repeating: 0, count: slots)
        for m in 0..<marketCount {
            sizes[2 * m] = u.books[m].sourceCount(side: Side.yes)
            sizes[2 * m + 1] = u.books[m].sourceCount(side: Side.no)
        }
        ladders.reserve(sizes: sizes)
        crossed = [Bool](repeating: false, count: marketCount)
        bestBid = [Int32](repeating: -1, count: slots)
        topCost = [Int64](repeating: topCostCap, count: slots)
        walk = [WalkLeg](repeating: .empty, count: max(candidates.maxLegs, 1))
        fills = [LegFill](repeating: .zero, count: max(candidates.maxLegs, 1))
        live = [UInt64](repeating: 0, count: (candidates.count + 63) / 64)
        crossedBits = [UInt64](repeating: 0, count: (marketCount + 63) / 64)
        for m in 0..<marketCount { install(market: m, book: u.books[m]) }
        for c in 0..<candidates.count where topEdgeIsPositive(c) { setBit(&live, c, true) }
    }

    /// An operator's live change of the limits (max_qty ≥ -1: ARB_E_QTY; min_profit ≥ 0:
    /// ARB_E_MONEY; nothing changes on an error): the next scan sizes with them, as an engine
    /// built with them would, without rebuilding the candidates and ladders.
    func setLimits(maxQty newMaxQty: Int64, minProfit newMinProfit: Int64) throws(EngineError) {
        guard newMaxQty >= -1 else { throw EngineError(Status.qty) }
        guard newMinProfit >= 0 else { throw EngineError(Status.money) }
        maxQty = newMaxQty
        minProfit = newMinProfit
    }

    deinit {
        opportunities.free()
        legs.free()
        spareLegs.free()
        untradeable.free()
    }

    /// Decompose a validated book into market `m`'s ladder slots (reusing their storage) and
    /// refresh its crossed flag and top-of-book costs. The caller refreshes the live bits of
    /// the candidates touching `m`.
    private func install(market m: Int, book: NativeBook) {
        ladders.install(slot: 2 * m, book: book, side: Side.yes)
        ladders.install(slot: 2 * m + 1, book: book, side: Side.no)
        bestBid[2 * m] = book.bestBidYes
        bestBid[2 * m + 1] = book.bestBidNo
        let isCrossed = book.crossed
        crossed[m] = isCrossed
        setBit(&crossedBits, m, isCrossed)
        let askYes = Int64(book.bestAskYes), askNo = Int64(book.bestAskNo)
        topCost[2 * m] = isCrossed || askYes < 0 ? topCostCap : cappedTopCost(fees[m], price: askYes)
        topCost[2 * m + 1] = isCrossed || askNo < 0 ? topCostCap : cappedTopCost(fees[m], price: askNo)
    }

    // MARK: - Scan and update

    /// Full five-lane scan into the result buffers: sizes every live candidate. Throws
    /// ARB_E_OVERFLOW if a sized opportunity's money does not fit in Int64.
    func scan() throws(EngineError) {
        resetResults()
        for w in 0..<live.count {
            var bits = live[w]
            while bits != 0 {
                let c = w << 6 | bits.trailingZeroBitCount
                let s = size(c)
                if s != Status.ok { throw EngineError(s) }
                bits &= bits &- 1
            }
        }
        for w in 0..<crossedBits.count {
            var bits = crossedBits[w]
            while bits != 0 {
                untradeable.append(Int32(truncatingIfNeeded: w << 6 | bits.trailingZeroBitCount))
                bits &= bits &- 1
            }
        }
        finishResults()
    }

    /// Replace market `m`'s book (validated, `m` in range) and detect the candidates touching
    /// it. Untradeable lists `m` if its book is now crossed or locked.
    func update(market m: Int, book: NativeBook) throws(EngineError) {
        install(market: m, book: book)
        resetResults()
        let from = Int(candidates.touchingStart[m]), to = Int(candidates.touchingStart[m + 1])
        // Refresh every live bit first: an overflow below must not leave a stale one behind
        // (sizing relies on live ⇒ every leg tradeable with depth).
        for i in from..<to {
            let c = Int(candidates.touching[i])
            setBit(&live, c, topEdgeIsPositive(c))
        }
        for i in from..<to {
            let c = Int(candidates.touching[i])
            guard live[c >> 6] & (UInt64(1) << UInt64(c & 63)) != 0 else { continue }
            let s = size(c)
            if s != Status.ok { throw EngineError(s) }
        }
        if crossed[m] { untradeable.append(Int32(truncatingIfNeeded: m)) }
        finishResults()
    }

    // MARK: - Top-of-book bound

    /// Whether candidate c's marginal edge at the best levels is > 0 (false when a leg's side
    /// is empty or its market untradeable). Costs are ≥ 0, so the running edge only falls:
    /// stop at the first leg that takes it to ≤ 0. With edge ≤ 2^60 and every saturated cost
    /// ≤ 2^60 the running value stays above -2^60 (no overflow). Saturation only lowers costs
    /// that already exceed any fast-path payout, so the answer is exact.
    @inline(__always)
    private func topEdgeIsPositive(_ c: Int) -> Bool {
        var edge = candidates.fastEdge[c]
        if edge < 0 { return exactTopEdgeIsPositive(c) }
        for j in Int(candidates.legStart[c])..<Int(candidates.legStart[c + 1]) {
            edge &-= topCost[Int(candidates.legSlot[j])]
            if edge <= 0 { return false }
        }
        return true
    }

    /// The same in exact Int128 arithmetic, for payouts above the fast path's bound.
    private func exactTopEdgeIsPositive(_ c: Int) -> Bool {
        guard let edge = topEdge(c) else { return false }
        return edge > 0
    }

    /// Candidate c's edge at the best levels, exact: its payout less every leg's best-level cost
    /// with the unrounded fee (1e-16 $ per lot); nil when a leg's side is empty or its market
    /// untradeable. Positive ⇔ c is live.
    private func topEdge(_ c: Int) -> Int128? {
        var edge = Int128(candidates.payout[c]) * rawPayoutPerLot
        for j in Int(candidates.legStart[c])..<Int(candidates.legStart[c + 1]) {
            let m = Int(candidates.legMarket[j]), slot = Int(candidates.legSlot[j])
            if crossed[m] || ladders.count[slot] == 0 { return nil }
            edge -= fees[m].costPerLot(price: ladders.pool[ladders.start[slot]].price)
        }
        return edge
    }

    // MARK: - Nearest candidates

    /// The candidates nearest an arbitrage now: those with an edge at the best levels
    /// (`topEdge`), the largest edge first (ties: the lower index first), at most `capacity`.
    /// Live candidates come first; the rest are the ones a small move of a best level makes
    /// live. Twin: `TwinEngine.nearest`.
    func nearest(capacity: Int) -> [Int32] {
        var top = Self.largest(rankingKeys(), count: max(capacity, 0))
        top.sort(by: >)
        return top.map { Int32(truncatingIfNeeded: 0xFFFF_FFFF - UInt32(truncatingIfNeeded: $0)) }
    }

    /// The `count` largest of `keys` (distinct), in no order: a min-heap of the best so far, so
    /// that a few hundred of tens of thousands cost one comparison each, not a sort of them all.
    static func largest(_ keys: [Int128], count: Int) -> [Int128] {
        if keys.count <= count { return keys }
        var heap: [Int128] = []
        heap.reserveCapacity(count)
        func siftDown(_ i: Int) {
            var i = i
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && heap[l] < heap[m] { m = l }
                if r < heap.count && heap[r] < heap[m] { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for key in keys {
            if heap.count < count {
                heap.append(key)
                var i = heap.count - 1                     // sift up
                while i > 0 && heap[(i - 1) / 2] > heap[i] {
                    heap.swapAt(i, (i - 1) / 2)
                    i = (i - 1) / 2
                }
            } else if count > 0 && key > heap[0] {
                heap[0] = key
                siftDown(0)
            }
        }
        return heap
    }

    /// How many candidates have an edge at the best levels (`nearest`'s most).
    func withTopEdge() -> Int {
        var count = 0
        forEachTopEdge { _, _ in count += 1 }
        return count
    }

    /// One Int128 key per candidate with an edge at the best levels, whose descending order is
    /// `nearest`'s (edge descending, then index ascending): edge × 2^32 + (2^32 − 1 − c) (|edge| <
    /// 2^90, c < 2^31: no overflow, no tie).
    private func rankingKeys() -> [Int128] {
        var keys: [Int128] = []
        keys.reserveCapacity(candidates.count)
        forEachTopEdge { c, edge in keys.append(edge << 32 | Int128(0xFFFF_FFFF - UInt32(c))) }
        return keys
    }

    /// `body(c, topEdge(c))` for every candidate c with an edge at the best levels, in index
    /// order. The edge comes from the per-slot top-of-book costs (compact, no ladder read) when
    /// they are exact: a fast-path payout and no saturated slot (a saturated slot is an empty
    /// side, an untradeable market, or a cost above any fast-path payout: then `topEdge`
    /// decides). Int128 sums: a bucket's many legs cannot overflow them.
    private func forEachTopEdge(_ body: (Int, Int128) -> Void) {
        candidates.fastEdge.withUnsafeBufferPointer { fast in
            candidates.legStart.withUnsafeBufferPointer { start in
                candidates.legSlot.withUnsafeBufferPointer { slot in
                    topCost.withUnsafeBufferPointer { top in
                        for c in 0..<fast.count {
                            var edge: Int128? = Int128(fast[c])
                            if fast[c] < 0 {
                                edge = topEdge(c)
                            } else {
                                for j in Int(start[c])..<Int(start[c + 1]) {
                                    let cost = top[Int(slot[j])]
                                    if cost == topCostCap {
                                        edge = topEdge(c)
                                        break
                                    }
                                    edge! -= Int128(cost)
                                }
                            }
                            if let edge { body(c, edge) }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private func setBit(_ bits: inout [UInt64], _ i: Int, _ on: Bool) {
        let mask = UInt64(1) << UInt64(i & 63)
        if on { bits[i >> 6] |= mask } else { bits[i >> 6] &= ~mask }
    }

    // MARK: - Sizing one candidate

    /// Depth-walk candidate c (every leg's ladder non-empty, market tradeable), price its legs
    /// and append it to the results if profit ≥ min_profit. Returns ARB_OK or ARB_E_OVERFLOW.
    private func size(_ c: Int) -> Int32 {
        let first = Int(candidates.legStart[c]), n = Int(candidates.legStart[c + 1]) - first
        let payout = candidates.payout[c]
        let unit = candidates.lot[c]
        let cap = maxQty
        return ladders.pool.withUnsafeBufferPointer { pool in
            walk.withUnsafeMutableBufferPointer { walkBuffer in
                fills.withUnsafeMutableBufferPointer { fillBuffer in
                    let walkLegs = UnsafeMutableBufferPointer(rebasing: walkBuffer[0..<n])
                    for k in 0..<n {
                        let slot = Int(candidates.legSlot[first + k]), m = Int(candidates.legMarket[first + k])
                        let start = ladders.start[slot]
                        walkLegs[k] = WalkLeg(level: start, end: start + ladders.count[slot], remaining: pool[start].qty,
                                              schedule: fees[m], first: start)
                    }
                    // Q, then q = min(Q, max_qty) floored to the lot.
                    var q = depthQty(pool: pool, legs: walkLegs, payoutRaw: Int128(payout) * rawPayoutPerLot, cap: cap)
                    if cap >= 0 && q > Int128(cap) { q = Int128(cap) }
                    q -= q % Int128(unit)
                    if q <= 0 { return Status.ok }
                    // Each leg one order of q lots from its best level.
                    var cost: Int128 = 0, fee: Int128 = 0
                    for k in 0..<n {
                        let leg = walkLegs[k]
                        let fill = priceOrder(pool: pool, first: leg.first, end: leg.end, qty: q, schedule: leg.schedule)
                        guard exactInt64(fill.cost) != nil && exactInt64(fill.fee) != nil else { return Status.overflow }
                        fillBuffer[k] = fill
                        cost += fill.cost
                        fee += fill.fee
                    }
                    let payoutMicros = Int128(payout) * q * Int128(microsPerLotDollar)
                    guard let qty = exactInt64(q), let payout64 = exactInt64(payoutMicros),
                          let cost64 = exactInt64(cost), let fee64 = exactInt64(fee),
                          let profit = exactInt64(payoutMicros - cost - fee) else { return Status.overflow }
                    if profit < minProfit { return Status.ok }
                    opportunities.append(arb_opportunity(
                        id: candidates.id[c], lane: candidates.lane[c], kind: candidates.kind[c], qty: qty,
                        payout: payout64, cost: cost64, fee: fee64, profit: profit,
                        leg_start: Int32(truncatingIfNeeded: legs.count), leg_count: Int32(truncatingIfNeeded: n)))
                    for k in 0..<n {
                        let fill = fillBuffer[k]
                        legs.append(arb_leg(
                            market: candidates.legMarket[first + k], side: candidates.legSide[first + k], qty: qty,
                            worst_price: Int32(truncatingIfNeeded: fill.worst), reserved: 0,
                            cost: Int64(truncatingIfNeeded: fill.cost), fee: Int64(truncatingIfNeeded: fill.fee)))
                    }
                    return Status.ok
                }
            }
        }
    }

    // MARK: - Legs as sizing reads them

    /// Sizing's view of `n` legs ((market, side) pairs in `pairs`) as the engine holds them now:
    /// into `legsOut[j]` the market's venue, lot and fee schedule, its side's effective ask ladder
    /// (copied back to back into `levelsOut`, level_start / level_count set) and the token's best
    /// raw bid (0 = none); depletion_rate and price_vol 0. Returns the pairs written. Throws
    /// MARKET / ARGUMENT (side) with the leg's index, CAPACITY (index -1) when `capacity` pairs do
    /// not hold every ladder: then nothing is written and `needed` holds the pairs required.
    func sizingLegs(_ pairs: UnsafePointer<Int32>, count n: Int, into legsOut: UnsafeMutablePointer<arb_sizing_leg>,
                    levels levelsOut: UnsafeMutablePointer<Int64>?, capacity: Int64,
                    needed: inout Int64) throws(EngineError) {
        var total: Int64 = 0
        for j in 0..<n {
            let m = pairs[2 * j], side = pairs[2 * j + 1]
            guard m >= 0 && Int(m) < marketCount else { throw EngineError(Status.market, index: Int64(j)) }
            guard side == Side.yes || side == Side.no else { throw EngineError(Status.argument, index: Int64(j)) }
            total += Int64(ladders.count[2 * Int(m) + Int(side)])
        }
        needed = total
        guard total <= capacity else { throw EngineError(Status.capacity) }
        guard total == 0 || levelsOut != nil else { throw EngineError(Status.null) }
        var at: Int64 = 0
        for j in 0..<n {
            let m = Int(pairs[2 * j]), slot = 2 * m + Int(pairs[2 * j + 1])
            let start = ladders.start[slot], count = ladders.count[slot]
            for k in 0..<count {
                let level = ladders.pool[start + k]
                levelsOut![2 * (Int(at) + k)] = level.price
                levelsOut![2 * (Int(at) + k) + 1] = level.qty
            }
            let f = fees[m]
            legsOut[j] = arb_sizing_leg(
                venue: venue[m], lot: Int32(truncatingIfNeeded: lot[m]),
                fees: arb_fee_schedule(taker_rate_ppm: Int32(truncatingIfNeeded: f.rate), reserved: 0,
                                       per_contract: f.perContract, rounding: f.rounding),
                level_start: at, level_count: Int64(count), best_bid: Int64(max(bestBid[slot], 0)),
                depletion_rate: 0, price_vol: 0)
            at += Int64(count)
        }
    }

    // MARK: - Results

    private func resetResults() {
        opportunities.removeAll()
        legs.removeAll()
        untradeable.removeAll()
    }

    /// Order the opportunities (profit descending, then id ascending) and lay their legs out
    /// contiguously in that order.
    private func finishResults() {
        let n = opportunities.count
        if n < 2 { return }
        var list = opportunities.buffer
        if n <= 32 {                                   // update-sized: insertion sort, no allocation
            for i in 1..<n {
                let x = list[i]
                var j = i
                while j > 0 && Engine.precedes(x, list[j - 1]) {
                    list[j] = list[j - 1]
                    j -= 1
                }
                list[j] = x
            }
        } else {
            list.sort(by: Engine.precedes)
        }
        spareLegs.removeAll()
        spareLegs.reserve(legs.count)
        for i in 0..<n {
            let start = Int(list[i].leg_start), count = Int(list[i].leg_count)
            list[i].leg_start = Int32(truncatingIfNeeded: spareLegs.count)
            for k in 0..<count { spareLegs.append(legs[start + k]) }
        }
        swap(&legs, &spareLegs)
    }

    /// Output order: profit descending, then id ascending (unsigned).
    @inline(__always)
    static func precedes(_ a: arb_opportunity, _ b: arb_opportunity) -> Bool {
        a.profit != b.profit ? a.profit > b.profit : a.id < b.id
    }

    /// The result buffers as C sees them (valid until the next call on this engine).
    var result: arb_result {
        arb_result(opportunities: opportunities.pointer, n_opportunities: Int64(opportunities.count),
                   legs: legs.pointer, n_legs: Int64(legs.count),
                   untradeable: untradeable.pointer, n_untradeable: Int64(untradeable.count))
    }
}
