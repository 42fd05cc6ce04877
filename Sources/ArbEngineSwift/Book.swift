/// Native books and their decomposition into effective ask ladders (spec "Books and quote
/// decomposition"). Units: price ticks (0...10_000), qty lots (0...10^8 per level).

/// One ladder level: price ticks, qty lots (> 0 once in a ladder).
struct Level: Equatable {
    var price: Int32
    var qty: Int64
}

enum Venue {
    static let kalshi: Int32 = 0
    static let polymarket: Int32 = 1
    static let forecastex: Int32 = 2
    static func isValid(_ v: Int32) -> Bool { v >= 0 && v <= 2 }
    /// Kalshi and ForecastEx publish bids only.
    static func bidsOnly(_ v: Int32) -> Bool { v != polymarket }
}

let priceMax: Int64 = 10_000
let levelQtyMax: Int64 = 100_000_000

/// A native book as the ABI passes it: int64 pairs (price, qty), sides back to back in the
/// order yes_bids, yes_asks, no_bids, no_asks, with `counts` levels each.
struct NativeBook {
    let levels: UnsafePointer<Int64>?
    let counts: (Int, Int, Int, Int)

    var total: Int { counts.0 + counts.1 + counts.2 + counts.3 }

    /// (first pair index, count) of native side 0...3.
    func side(_ s: Int) -> (start: Int, count: Int) {
        switch s {
        case 0: return (0, counts.0)
        case 1: return (counts.0, counts.1)
        case 2: return (counts.0 + counts.1, counts.2)
        default: return (counts.0 + counts.1 + counts.2, counts.3)
        }
    }

    @inline(__always) func price(_ i: Int) -> Int64 { levels![2 * i] }
    @inline(__always) func qty(_ i: Int) -> Int64 { levels![2 * i + 1] }

    /// Checks in ABI order: counts, pointer, each level (price then qty), the bids-only rule.
    static func validated(venue: Int32, levels: UnsafePointer<Int64>?, counts: UnsafePointer<Int64>?) throws(EngineError) -> NativeBook {
        guard Venue.isValid(venue) else { throw EngineError(code: Status.venue) }
        guard let counts else { throw EngineError(code: Status.null) }
        var c = [Int](repeating: 0, count: 4)
        var total: Int64 = 0
        for i in 0..<4 {
            let v = counts[i]
            guard v >= 0 && v <= (1 << 40) else { throw EngineError(code: Status.length) }
            c[i] = Int(v)
            total += v
        }
        if total > 0 && levels == nil { throw EngineError(code: Status.null) }
        let book = NativeBook(levels: levels, counts: (c[0], c[1], c[2], c[3]))
        for i in 0..<Int(total) {
            let p = book.price(i), q = book.qty(i)
            guard p >= 0 && p <= priceMax else { throw EngineError(code: Status.price) }
            guard q >= 0 && q <= levelQtyMax else { throw EngineError(code: Status.qty) }
        }
        if Venue.bidsOnly(venue) && (c[1] > 0 || c[3] > 0) { throw EngineError(code: Status.bidsOnly) }
        return book
    }

    /// Best (highest) price with qty > 0 on native side `s`, or -1.
    func bestBid(_ s: Int) -> Int32 {
        let (start, count) = side(s)
        var best: Int64 = -1
        for i in start..<(start + count) where qty(i) > 0 && price(i) > best { best = price(i) }
        return Int32(best)
    }
}

/// Fill `ladder` (capacity kept) with native side `s`'s levels, complemented (10_000 − p) when
/// `complement`, ascending, one level per price, zero sizes dropped. No allocation once the
/// ladder's capacity has been reached before.
func fillLadder(_ ladder: inout [Level], from book: NativeBook, side s: Int, complement: Bool) {
    ladder.removeAll(keepingCapacity: true)
    let (start, count) = book.side(s)
    for i in start..<(start + count) {
        let q = book.qty(i)
        if q == 0 { continue }
        let p = Int32(book.price(i))
        ladder.append(Level(price: complement ? 10_000 - p : p, qty: q))
    }
    sortAndMerge(&ladder)
}

/// In-place ascending sort by price (venues send sorted books, often descending: reversed
/// first, then insertion sort, O(n) on sorted input), then equal prices merged.
func sortAndMerge(_ ladder: inout [Level]) {
    let n = ladder.count
    if n < 2 { return }
    if ladder[0].price > ladder[n - 1].price { ladder.reverse() }
    if n > 64 {
        ladder.sort { $0.price < $1.price }
    } else {
        for i in 1..<n {
            let x = ladder[i]
            var j = i - 1
            while j >= 0 && ladder[j].price > x.price {
                ladder[j + 1] = ladder[j]
                j -= 1
            }
            ladder[j + 1] = x
        }
    }
    var w = 0
    for r in 1..<n {
        if ladder[r].price == ladder[w].price {
            ladder[w].qty += ladder[r].qty
        } else {
            w += 1
            ladder[w] = ladder[r]
        }
    }
    ladder.removeLast(n - w - 1)
}

/// The two effective ask ladders of a validated book: bids-only venues complement the other
/// side's bids; Polymarket uses each token's own asks (never the other token's bids).
func decompose(venue: Int32, book: NativeBook, yes: inout [Level], no: inout [Level]) {
    if Venue.bidsOnly(venue) {
        fillLadder(&yes, from: book, side: 2, complement: true)
        fillLadder(&no, from: book, side: 0, complement: true)
    } else {
        fillLadder(&yes, from: book, side: 1, complement: false)
        fillLadder(&no, from: book, side: 3, complement: false)
    }
}

/// Crossed or locked (untradeable): bids-only: best YES bid + best NO bid ≥ $1; Polymarket:
/// a token's own best bid ≥ its own best ask.
func isCrossed(venue: Int32, book: NativeBook, yes: [Level], no: [Level]) -> Bool {
    let bidYes = book.bestBid(0), bidNo = book.bestBid(2)
    if Venue.bidsOnly(venue) { return bidYes >= 0 && bidNo >= 0 && Int64(bidYes) + Int64(bidNo) >= priceMax }
    return (bidYes >= 0 && !yes.isEmpty && bidYes >= yes[0].price) || (bidNo >= 0 && !no.isEmpty && bidNo >= no[0].price)
}
