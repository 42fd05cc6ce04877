import CShims

/// Native books and their quote summary (spec/ARBITRAGE.md "Books and quote decomposition").
///
/// A native book is one level array of Int64 pairs (price ticks, qty lots) holding its four
/// sides back to back — yes_bids, yes_asks, no_bids, no_asks — with `counts[4]` levels each.
/// Effective ask ladders (what one can buy per side) are built in Ladder.swift:
/// - Kalshi, ForecastEx (bids only): YES ladder = NO bids at 10_000 − p; NO ladder = YES bids
///   at 10_000 − p.
/// - Polymarket (one book per token): each side's own asks; the other token's bids are not added.

// MARK: - Limits

/// Largest price: 10,000 ticks = the $1 payout.
let priceMax = Int64(ARB_PRICE_MAX)
/// Largest quantity of one native level: 10^8 lots = 1,000,000 contracts.
let levelQtyMax = Int64(ARB_LEVEL_QTY_MAX)
/// Largest level count of one native side (keeps every sum of counts far from overflow; the
/// C glue applies the same bound).
let sideCountMax: Int64 = 1 << 40

// MARK: - A validated native book

/// A view of a validated native book in caller memory (valid only during the call that made
/// it) and its quote summary. Every level has price in 0...10_000 and qty in 0...10^8.
struct NativeBook {
    /// The level pairs; nil only when the book has no levels.
    let levels: UnsafePointer<Int64>?
    /// First pair index of native side s is `sideStart[s]`, its end `sideStart[s + 1]`.
    let sideStart: (Int, Int, Int, Int, Int)
    let venue: Int32

    /// Best (highest) bid with qty > 0 per token, ticks, or -1.
    let bestBidYes: Int32
    let bestBidNo: Int32
    /// Best (lowest) effective ask per side, ticks, or -1 (the first level of its ladder).
    let bestAskYes: Int32
    let bestAskNo: Int32

    /// Total level pairs (all four sides).
    var total: Int { sideStart.4 }

    /// Pair indices of native side `s` (0...3).
    @inline(__always)
    func range(ofSide s: Int) -> Range<Int> {
        switch s {
        case 0: return sideStart.0..<sideStart.1
        case 1: return sideStart.1..<sideStart.2
        case 2: return sideStart.2..<sideStart.3
        default: return sideStart.3..<sideStart.4
        }
    }

    /// Crossed or locked, i.e. untradeable (spec "Crossed or locked books are stale"):
    /// bids-only venues: both best bids exist and best YES bid + best NO bid ≥ 10_000;
    /// Polymarket: a token's own best bid ≥ its own best ask (a missing side crosses nothing).
    var crossed: Bool {
        if Venue.isBidsOnly(venue) {
            return bestBidYes >= 0 && bestBidNo >= 0 && Int64(bestBidYes) + Int64(bestBidNo) >= priceMax
        }
        return (bestBidYes >= 0 && bestAskYes >= 0 && bestBidYes >= bestAskYes)
            || (bestBidNo >= 0 && bestAskNo >= 0 && bestBidNo >= bestAskNo)
    }

    /// The quote summary (arb_quote) of this book.
    var quote: arb_quote {
        let both = bestAskYes >= 0 && bestAskNo >= 0
        return arb_quote(
            best_bid_yes: bestBidYes, best_ask_yes: bestAskYes, best_bid_no: bestBidNo, best_ask_no: bestAskNo,
            mid: both ? halfEvenMid(askYes: bestAskYes, askNo: bestAskNo) : -1,
            overround: both ? bestAskYes + bestAskNo - Int32(priceMax) : Int32.min,
            crossed: crossed ? 1 : 0, reserved: 0)
    }

    // MARK: Validation

    /// Validate a native book, in this order: venue (ARB_E_VENUE); counts pointer (ARB_E_NULL);
    /// each count 0...2^40 (ARB_E_LENGTH); levels pointer when any level (ARB_E_NULL); each
    /// level in array order, price 0...10_000 (ARB_E_PRICE) before qty 0...10^8 (ARB_E_QTY);
    /// then asks on a bids-only venue (ARB_E_BIDS_ONLY). Computes the best prices on the way.
    static func validate(venue: Int32, levels: UnsafePointer<Int64>?,
                         counts: UnsafePointer<Int64>?) throws(EngineError) -> NativeBook {
        guard Venue.isValid(venue) else { throw EngineError(Status.venue) }
        guard let counts else { throw EngineError(Status.null) }
        let c0 = counts[0], c1 = counts[1], c2 = counts[2], c3 = counts[3]
        @inline(__always) func isCount(_ c: Int64) -> Bool { c >= 0 && c <= sideCountMax }
        guard isCount(c0) && isCount(c1) && isCount(c2) && isCount(c3) else { throw EngineError(Status.length) }
        let s1 = Int(c0), s2 = s1 + Int(c1), s3 = s2 + Int(c2), end = s3 + Int(c3)
        if end > 0 && levels == nil { throw EngineError(Status.null) }
        // Best prices per native side among levels with qty > 0: max for bids, min for asks.
        var best: (Int64, Int64, Int64, Int64) = (-1, -1, -1, -1)
        if end > 0, let levels {
            var i = 0
            for side in 0..<4 {
                let sideEnd = side == 0 ? s1 : side == 1 ? s2 : side == 2 ? s3 : end
                let isBid = side == BookSide.yesBids || side == BookSide.noBids
                var b: Int64 = -1
                while i < sideEnd {
                    let p = levels[2 * i], q = levels[2 * i + 1]
                    guard p >= 0 && p <= priceMax else { throw EngineError(Status.price) }
                    guard q >= 0 && q <= levelQtyMax else { throw EngineError(Status.qty) }
                    if q > 0 && (b < 0 || (isBid ? p > b : p < b)) { b = p }
                    i += 1
                }
                switch side {
                case 0: best.0 = b
                case 1: best.1 = b
                case 2: best.2 = b
                default: best.3 = b
                }
            }
        }
        if Venue.isBidsOnly(venue) && (c1 > 0 || c3 > 0) { throw EngineError(Status.bidsOnly) }
        let bidYes = best.0, bidNo = best.2
        let askYes: Int64, askNo: Int64
        if Venue.isBidsOnly(venue) {          // a NO bid at p is a YES ask at 10_000 − p
            askYes = bidNo >= 0 ? priceMax - bidNo : -1
            askNo = bidYes >= 0 ? priceMax - bidYes : -1
        } else {                              // Polymarket: each token's own asks
            askYes = best.1
            askNo = best.3
        }
        return NativeBook(levels: levels, sideStart: (0, s1, s2, s3, end), venue: venue,
                          bestBidYes: Int32(truncatingIfNeeded: bidYes), bestBidNo: Int32(truncatingIfNeeded: bidNo),
                          bestAskYes: Int32(truncatingIfNeeded: askYes), bestAskNo: Int32(truncatingIfNeeded: askNo))
    }

    // MARK: Ladder sources

    /// The native side feeding the effective ask ladder of `side` (ARB_SIDE_*), and whether its
    /// prices are complemented (10_000 − p).
    @inline(__always)
    func ladderSource(side: Int32) -> (nativeSide: Int, complement: Bool) {
        if Venue.isBidsOnly(venue) {
            return side == Side.yes ? (BookSide.noBids, true) : (BookSide.yesBids, true)
        }
        return side == Side.yes ? (BookSide.yesAsks, false) : (BookSide.noAsks, false)
    }

    /// Level count of the native side feeding the ladder of `side`: an upper bound of the
    /// ladder's length.
    @inline(__always)
    func sourceCount(side: Int32) -> Int {
        range(ofSide: ladderSource(side: side).nativeSide).count
    }
}
