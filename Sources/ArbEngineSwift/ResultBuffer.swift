/// Engine-owned output memory handed to C (arb_result): a growable buffer of trivial C
/// structs at a stable address. The address changes only when the buffer grows, i.e. during
/// an engine call, and stays valid until the next call (the header's ownership rule). Reused
/// across calls: `removeAll()` keeps the capacity, so steady state allocates nothing.
struct ResultBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private(set) var capacity: Int

    /// Never a null base address, even when empty (capacity ≥ 1).
    init(capacity: Int = 16) {
        self.capacity = max(capacity, 1)
        base = UnsafeMutablePointer<Element>.allocate(capacity: self.capacity)
    }

    /// Release the memory; the buffer must not be used afterwards (engine deinit only).
    func free() { base.deallocate() }

    @inline(__always)
    mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow(to: 2 * capacity) }
        (base + count).initialize(to: element)
        count += 1
    }

    /// Append `n` elements copied from `source` (n >= 0).
    @inline(__always)
    mutating func append(contentsOf source: UnsafePointer<Element>, count n: Int) {
        if n <= 0 { return }
        if count + n > capacity { grow(to: max(count + n, 2 * capacity)) }
        (base + count).initialize(from: source, count: n)
        count += n
    }

    /// Make room for `n` elements in total (no-op when there already is).
    mutating func reserve(_ n: Int) {
        if n > capacity { grow(to: max(n, 2 * capacity)) }
    }

    private mutating func grow(to newCapacity: Int) {
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        fresh.moveInitialize(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }

    var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: base, count: count) }
    var pointer: UnsafePointer<Element> { UnsafePointer(base) }
}
