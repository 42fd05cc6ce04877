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
