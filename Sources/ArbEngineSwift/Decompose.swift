/// Standalone decomposition (arb_decompose): a validated native book (NativeBook.swift) to its
/// two effective ask ladders (Ladder.swift).

/// The two effective ask ladders of a validated book as fresh arrays (YES, NO).
func decomposeLadders(_ book: NativeBook) -> (yes: [Level], no: [Level]) {
    func ladder(_ side: Int32) -> [Level] {
        var out = [Level](repeating: Level(price: 0, qty: 0), count: book.sourceCount(side: side))
        let n = out.withUnsafeMutableBufferPointer { buildLadder(into: $0, from: book, side: side) }
        out.removeLast(out.count - n)
        return out
    }
    return (ladder(Side.yes), ladder(Side.no))
}
