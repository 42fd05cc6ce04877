import CShims

/// The engine: a universe (markets, decomposed books, static candidates) held in memory.
/// `scan()` evaluates every candidate; `update(market:book:)` replaces one book and evaluates
/// only the candidates with a leg in it. Steady-state updates allocate nothing: ladders,
/// scratch and result buffers keep their capacity.
final class Engine {
    let venue: [Int32]
    let lot: [Int64]                  // lots per tradable unit: 100 or 1
    let fees: [FeeSchedule]
    let maxQty: Int64                 // lots, -1 = no cap
    let minProfit: Int64              // µ$
    let candidates: Candidates
    /// Candidate indices by market (CSR: byMarketStart[m] ..< byMarketStart[m + 1]).
    let byMarketStart: [Int]
    let byMarket: [Int32]

    /// Effective ask ladders, index 2·market + side.
    private(set) var ladders: [[Level]]
    private(set) var crossed: [Bool]
    /// Per-lot cost of the best level (1e-16 $), index 2·market + side; `noAsk` when the side
    /// is empty or the market untradeable.
    private var topCost: [Int128]
    static let noAsk = Int128.max

    private var walkIndex: [Int]
    private var walkRemaining: [Int64]
    private var fills: [LegFill]
    private(set) var outOpportunities: [arb_opportunity] = []
    private(set) var outLegs: [arb_leg] = []
    private(set) var outUntradeable: [Int32] = []

    var marketCount: Int { venue.count }

    init(venue: [Int32], lot: [Int64], fees: [FeeSchedule], books: [NativeBook], names: [[UInt8]],
         relationKinds: [Int32], members: [[Int32]], exhaustive: [Bool], maxQty: Int64, minProfit: Int64) {
        self.venue = venue
        self.lot = lot
        self.fees = fees
        self.maxQty = maxQty
        self.minProfit = minProfit
        let n = venue.count
        candidates = Candidates(relationKinds: relationKinds, members: members, exhaustive: exhaustive,
                                marketCount: n, names: names)
        var lists = [[Int32]](repeating: [], count: n)
        for c in 0..<candidates.count {
            var touched: [Int32] = []
            for j in candidates.legStart[c]..<candidates.legStart[c + 1] where !touched.contains(candidates.legMarket[j]) {
                touched.append(candidates.legMarket[j])
            }
            for m in touched { lists[Int(m)].append(Int32(c)) }
        }
        var start = [0]
        var flat: [Int32] = []
        for list in lists {
            flat += list
            start.append(flat.count)
        }
        byMarketStart = start
        byMarket = flat
        ladders = [[Level]](repeating: [], count: 2 * n)
        crossed = [Bool](repeating: false, count: n)
        topCost = [Int128](repeating: Engine.noAsk, count: 2 * n)
        walkIndex = [Int](repeating: 0, count: max(candidates.maxLegs, 1))
        walkRemaining = [Int64](repeating: 0, count: max(candidates.maxLegs, 1))
        fills = [LegFill](repeating: LegFill(worst: 0, cost: 0, fee: 0), count: max(candidates.maxLegs, 1))
        for m in 0..<n { install(market: m, book: books[m]) }
    }

    /// Decompose a validated book into the market's ladders (reusing their storage).
    private func install(market m: Int, book: NativeBook) {
        var yes: [Level] = [], no: [Level] = []   // move the storage out (no copy, no allocation)
        swap(&yes, &ladders[2 * m])
        swap(&no, &ladders[2 * m + 1])
        decompose(venue: venue[m], book: book, yes: &yes, no: &no)
        swap(&yes, &ladders[2 * m])
        swap(&no, &ladders[2 * m + 1])
        crossed[m] = isCrossed(venue: venue[m], book: book, yes: ladders[2 * m], no: ladders[2 * m + 1])
        for s in 0..<2 {
            let ladder = ladders[2 * m + s]
            topCost[2 * m + s] = crossed[m] || ladder.isEmpty ? Engine.noAsk : fees[m].levelCost(ladder[0].price)
        }
    }

    // MARK: - detection

    /// Full five-lane scan into the output buffers.
    func scan() throws(EngineError) {
        outOpportunities.removeAll(keepingCapacity: true)
        outLegs.removeAll(keepingCapacity: true)
        outUntradeable.removeAll(keepingCapacity: true)
        for c in 0..<candidates.count { try evaluate(candidate: c) }
        for m in 0..<marketCount where crossed[m] { outUntradeable.append(Int32(m)) }
        sortOutput()
    }

    /// Replace market `m`'s book (already validated) and detect the candidates touching it.
    func update(market m: Int, book: NativeBook) throws(EngineError) {
        install(market: m, book: book)
        outOpportunities.removeAll(keepingCapacity: true)
        outLegs.removeAll(keepingCapacity: true)
        outUntradeable.removeAll(keepingCapacity: true)
        for i in byMarketStart[m]..<byMarketStart[m + 1] { try evaluate(candidate: Int(byMarket[i])) }
        if crossed[m] { outUntradeable.append(Int32(m)) }
        sortOutput()
    }

    /// Size candidate c and append it to the output if its profit reaches min_profit.
    @inline(__always)
    private func evaluate(candidate c: Int) throws(EngineError) {
        let first = candidates.legStart[c], end = candidates.legStart[c + 1]
        let payout = Int128(candidates.payout[c]) * 100_000_000_000_000   // P·10^14 per lot
        // Top-of-book reject: the marginal edge never increases with depth.
        var edge = payout
        for j in first..<end {
            let t = topCost[2 * Int(candidates.legMarket[j]) + Int(candidates.legSide[j])]
            if t == Engine.noAsk { return }
            edge -= t
        }
        if edge <= 0 { return }
        try size(candidate: c, first: first, end: end, payout: payout)
    }

    private func size(candidate c: Int, first: Int, end: Int, payout: Int128) throws(EngineError) {
        let legs = end - first
        for j in 0..<legs {
            walkIndex[j] = 0
            walkRemaining[j] = ladders[ladderIndex(first + j)][0].qty
        }
        // Depth walk: take segments while the per-lot edge is > 0 and every ladder has depth.
        var taken: Int128 = 0
        walk: while true {
            var edge = payout
            for j in 0..<legs {
                let m = Int(candidates.legMarket[first + j])
                edge -= fees[m].levelCost(ladders[ladderIndex(first + j)][walkIndex[j]].price)
            }
            if edge <= 0 { break }
            var segment = walkRemaining[0]
            for j in 1..<legs where walkRemaining[j] < segment { segment = walkRemaining[j] }
            taken += Int128(segment)
            if maxQty >= 0 && taken >= Int128(maxQty) { break }
            for j in 0..<legs {
                walkRemaining[j] -= segment
                if walkRemaining[j] == 0 {
                    let ladder = ladders[ladderIndex(first + j)]
                    walkIndex[j] += 1
                    if walkIndex[j] == ladder.count { break walk }
                    walkRemaining[j] = ladder[walkIndex[j]].qty
                }
            }
        }
        var qty = taken
        if maxQty >= 0 && qty > Int128(maxQty) { qty = Int128(maxQty) }
        var unit: Int64 = 1
        for j in first..<end { unit = max(unit, lot[Int(candidates.legMarket[j])]) }
        qty -= qty % Int128(unit)
        if qty == 0 { return }
        var cost: Int128 = 0, fee: Int128 = 0
        for j in 0..<legs {
            let m = Int(candidates.legMarket[first + j])
            fills[j] = take(ladders[ladderIndex(first + j)], qty: qty, schedule: fees[m])
        }
        let totalPayout = try fitInt64(Int128(candidates.payout[c]) * qty * 10_000)
        for j in 0..<legs {
            _ = try fitInt64(fills[j].cost)
            _ = try fitInt64(fills[j].fee)
            cost += fills[j].cost
            fee += fills[j].fee
        }
        let totalCost = try fitInt64(cost), totalFee = try fitInt64(fee)
        let profit = try fitInt64(Int128(totalPayout) - cost - fee)
        if profit < minProfit { return }
        let q = try fitInt64(qty)
        outOpportunities.append(arb_opportunity(
            id: candidates.id[c], lane: candidates.lane[c], kind: candidates.kind[c], qty: q, payout: totalPayout,
            cost: totalCost, fee: totalFee, profit: profit, leg_start: Int32(outLegs.count), leg_count: Int32(legs)))
        for j in 0..<legs {
            outLegs.append(arb_leg(market: candidates.legMarket[first + j], side: candidates.legSide[first + j], qty: q,
                                   worst_price: fills[j].worst, reserved: 0, cost: Int64(fills[j].cost),
                                   fee: Int64(fills[j].fee)))
        }
    }

    /// The result buffers, stable until the next scan/update (the arrays are not mutated
    /// while C holds the pointers: the storage outlives this call because the engine owns it).
    func withResults(_ body: (UnsafeBufferPointer<arb_opportunity>, UnsafeBufferPointer<arb_leg>, UnsafeBufferPointer<Int32>) -> Void) {
        outOpportunities.withUnsafeBufferPointer { o in
            outLegs.withUnsafeBufferPointer { l in
                outUntradeable.withUnsafeBufferPointer { u in body(o, l, u) }
            }
        }
    }

    @inline(__always)
    private func ladderIndex(_ leg: Int) -> Int {
        2 * Int(candidates.legMarket[leg]) + Int(candidates.legSide[leg])
    }

    /// Profit descending, then id ascending. Insertion sort for the few results of an update
    /// (no allocation); the standard sort for large scans.
    private func sortOutput() {
        @inline(__always) func before(_ a: arb_opportunity, _ b: arb_opportunity) -> Bool {
            a.profit != b.profit ? a.profit > b.profit : a.id < b.id
        }
        let n = outOpportunities.count
        if n > 32 {
            outOpportunities.sort(by: before)
            return
        }
        if n < 2 { return }
        for i in 1..<n {
            let x = outOpportunities[i]
            var j = i - 1
            while j >= 0 && before(x, outOpportunities[j]) {
                outOpportunities[j + 1] = outOpportunities[j]
                j -= 1
            }
            outOpportunities[j + 1] = x
        }
    }
}
