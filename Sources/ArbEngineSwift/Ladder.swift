/// Effective ask ladders: building one from a native side, and the engine's preallocated
/// per-(market, side) ladder storage.
///
/// Invariants of a built ladder: prices ascending and distinct (equal prices summed into one
/// level), every qty > 0, prices in 0...10_000 ticks, qty in lots.

// MARK: - Level

/// One ladder level: price in ticks (0...10_000), quantity in lots (> 0 once in a ladder).
struct Level: Equatable {
    var price: Int64
    var qty: Int64
}

// MARK: - Building

/// Build the effective ask ladder of `side` (ARB_SIDE_*) of a validated book into `buffer`
/// and return its level count. Needs `buffer.count ≥ book.sourceCount(side:)` (else builds
/// nothing and returns 0; callers size the buffer from that count). Allocates nothing.
func buildLadder(into buffer: UnsafeMutableBufferPointer<Level>, from book: NativeBook, side: Int32) -> Int {
    let (nativeSide, complement) = book.ladderSource(side: side)
    let source = book.range(ofSide: nativeSide)
    guard !source.isEmpty, let levels = book.levels, buffer.count >= source.count else { return 0 }
    var n = 0
    for i in source {
        let q = levels[2 * i + 1]
        if q == 0 { continue }                       // size 0 is no level at all
        let p = levels[2 * i]
        buffer[n] = Level(price: complement ? priceMax - p : p, qty: q)
        n += 1
    }
    return sortAndMerge(UnsafeMutableBufferPointer(rebasing: buffer[0..<n]))
}

/// Sort `levels` ascending by price in place and merge equal prices (quantities summed) into
/// the front; returns the merged count. No allocation: venues usually send monotone books
/// (reversed in O(n)), small books use insertion sort, anything else an in-place heapsort.
func sortAndMerge(_ levels: UnsafeMutableBufferPointer<Level>) -> Int {
    var levels = levels
    let n = levels.count
    if n < 2 { return n }
    var ascending = true, descending = true
    for i in 1..<n {
        let a = levels[i - 1].price, b = levels[i].price
        if a > b { ascending = false }
        if a < b { descending = false }
    }
    if !ascending {
        if descending {
            levels.reverse()
        } else if n <= 32 {
            insertionSort(levels)
        } else {
            heapSort(levels)
        }
    }
    var w = 0
    for r in 1..<n {
        if levels[r].price == levels[w].price {
            // Saturating: a sum past Int64 needs ~10^11 levels, more than memory holds.
            let (sum, overflow) = levels[w].qty.addingReportingOverflow(levels[r].qty)
            levels[w].qty = overflow ? Int64.max : sum
        } else {
            w += 1
            levels[w] = levels[r]
        }
    }
    return w + 1
}

@inline(__always)
private func insertionSort(_ a: UnsafeMutableBufferPointer<Level>) {
    for i in 1..<a.count {
        let x = a[i]
        var j = i
        while j > 0 && a[j - 1].price > x.price {
            a[j] = a[j - 1]
            j -= 1
        }
        a[j] = x
    }
}

private func heapSort(_ a: UnsafeMutableBufferPointer<Level>) {
    let n = a.count
    func siftDown(_ start: Int, _ end: Int) {
        var root = start
        while true {
            var child = 2 * root + 1
            if child >= end { return }
            if child + 1 < end && a[child].price < a[child + 1].price { child += 1 }
            if a[root].price >= a[child].price { return }
            a.swapAt(root, child)
            root = child
        }
    }
    var start = n / 2
    while start > 0 {
        start -= 1
        siftDown(start, n)
    }
    var end = n
    while end > 1 {
        end -= 1
        a.swapAt(0, end)
        siftDown(0, end)
    }
}

// MARK: - Engine storage

/// Ladders of every (market, side) slot (slot = 2 × market + side) in one pool. Each slot owns
/// a fixed region `start ..< start + capacity`; a book bigger than the region moves the slot
/// to a fresh region (capacity doubled) at the end of the pool. Otherwise replacing a ladder
/// allocates nothing, so steady-state updates are allocation-free.
struct LadderStore {
    /// All regions, back to back. Only `start[s] ..< start[s] + count[s]` of a slot is live.
    private(set) var pool: [Level] = []
    private(set) var start: [Int]
    private(set) var count: [Int]
    private var capacity: [Int]

    init(slots: Int) {
        start = [Int](repeating: 0, count: slots)
        count = [Int](repeating: 0, count: slots)
        capacity = [Int](repeating: 0, count: slots)
    }

    /// Reserve room for every slot up front (create): `sizes[s]` levels plus headroom.
    mutating func reserve(sizes: [Int]) {
        var total = 0
        for s in 0..<sizes.count {
            let cap = sizes[s] + sizes[s] / 4 + 4
            start[s] = total
            capacity[s] = cap
            total += cap
        }
        pool = [Level](repeating: Level(price: 0, qty: 0), count: total)
    }

    /// Replace slot `slot`'s ladder with the effective ask ladder of `side` of `book`.
    mutating func install(slot: Int, book: NativeBook, side: Int32) {
        let need = book.sourceCount(side: side)
        if need > capacity[slot] {
            let cap = max(need, 2 * capacity[slot], 4)
            start[slot] = pool.count
            capacity[slot] = cap
            pool.append(contentsOf: repeatElement(Level(price: 0, qty: 0), count: cap))
        }
        let s = start[slot], cap = capacity[slot]
        count[slot] = pool.withUnsafeMutableBufferPointer { buffer in
            buildLadder(into: UnsafeMutableBufferPointer(rebasing: buffer[s..<(s + cap)]), from: book, side: side)
        }
    }

    /// The live levels of `slot` (a copy; for tests and diagnostics, not the hot path).
    func levels(slot: Int) -> [Level] {
        Array(pool[start[slot]..<(start[slot] + count[slot])])
    }
}
