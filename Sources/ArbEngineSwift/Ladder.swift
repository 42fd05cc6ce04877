/// Effective ask ladders: building one from a native side (its levels are `Level`s; the
/// engine's preallocated per-(market, side) ladder storage is `LadderStore`).
///
/// Invariants of a built ladder: prices ascending and distinct (equal prices summed into one
/// level), every qty > 0, prices in 0...10_000 ticks, qty in lots.

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
