import CShims
import Testing
@testable import ArbEngineSwift

/// arb_decompose: effective ask ladders and the quote summary, per venue; ladder sorting.
@Suite struct DecomposeTests {
    // MARK: Venues

    @Test func kalshiLaddersAreTheOtherSidesBidsComplemented() {
        // yes_bids 0.42×150, 0.41×300, 0.42×5 (duplicate), 0.30×0 (ignored); no_bids 0.55×20.
        let d = decomposed(0, [[(4_200, 15_000), (4_100, 30_000), (4_200, 500), (3_000, 0)], [], [(5_500, 2_000)], []])
        #expect(d.status == 0)
        #expect(d.yes == [4_500, 2_000])                          // NO bid 0.55 → YES ask 0.45
        #expect(d.no == [5_800, 15_500, 5_900, 30_000])           // YES bids → NO asks, summed, ascending
        let q = d.quote
        #expect(q.best_bid_yes == 4_200 && q.best_ask_yes == 4_500 && q.best_bid_no == 5_500 && q.best_ask_no == 5_800)
        #expect(q.mid == 4_350 && q.overround == 300 && q.crossed == 0 && q.reserved == 0)
    }

    @Test func forecastExFollowsTheKalshiRule() {
        let d = decomposed(2, [[(5_500, 15_000)], [], [(4_300, 10_000)], []])
        #expect(d.status == 0 && d.yes == [5_700, 10_000] && d.no == [4_500, 15_000])
        #expect(d.quote.crossed == 0 && d.quote.overround == 200 && d.quote.mid == 5_600)
    }

    @Test func polymarketUsesEachTokensOwnAsksOnly() {
        let d = decomposed(1, [[(4_300, 90_050)], [(4_500, 12_000), (4_400, 1)], [(5_400, 8_000)], [(5_700, 6_000)]])
        #expect(d.status == 0)
        #expect(d.yes == [4_400, 1, 4_500, 12_000])               // the NO bid 0.54 is not added
        #expect(d.no == [5_700, 6_000])                           // the YES bid 0.43 is not added
        #expect(d.quote.best_bid_yes == 4_300 && d.quote.best_bid_no == 5_400)
        #expect(d.quote.best_ask_yes == 4_400 && d.quote.best_ask_no == 5_700 && d.quote.crossed == 0)
        // Bids only: no ladders at all.
        let bidsOnly = decomposed(1, [[(4_300, 1)], [], [(5_400, 1)], []])
        #expect(bidsOnly.yes.isEmpty && bidsOnly.no.isEmpty && bidsOnly.quote.best_ask_yes == -1)
    }

    @Test func zeroSizeLevelsAreIgnoredEverywhere() {
        let d = decomposed(0, [[(9_000, 0), (4_000, 100)], [], [(9_500, 0)], []])
        #expect(d.yes.isEmpty && d.no == [6_000, 100])
        #expect(d.quote.best_bid_yes == 4_000 && d.quote.best_bid_no == -1 && d.quote.best_ask_yes == -1)
        #expect(d.quote.crossed == 0)                             // 0.90 + 0.95 would be crossed if counted
        let p = decomposed(1, [[(6_000, 0)], [(5_000, 10)], [], []])
        #expect(p.quote.crossed == 0 && p.quote.best_bid_yes == -1)
    }

    // MARK: Crossed and locked books

    @Test func bidsOnlyBooksCrossAtOneDollar() {
        #expect(decomposed(2, [[(5_600, 100)], [], [(4_400, 100)], []]).quote.crossed == 1)   // locked exactly at $1
        #expect(decomposed(2, [[(5_600, 100)], [], [(4_399, 100)], []]).quote.crossed == 0)
        #expect(decomposed(0, [[(6_100, 4_000)], [], [(4_200, 7_500)], []]).quote.crossed == 1)   // stale-books
        #expect(decomposed(0, [[(6_100, 4_000)], [], [], []]).quote.crossed == 0)             // one side: nothing to cross
        let locked = decomposed(0, [[(10_000, 1)], [], [(0, 1)], []])
        #expect(locked.quote.crossed == 1 && locked.quote.overround == 0)
    }

    @Test func polymarketCrossesPerToken() {
        #expect(decomposed(1, [[(5_700, 1)], [(5_700, 10)], [], []]).quote.crossed == 1)        // YES locked
        #expect(decomposed(1, [[(5_800, 1)], [(5_700, 10)], [], []]).quote.crossed == 1)        // YES crossed
        #expect(decomposed(1, [[], [], [(5_700, 1)], [(5_700, 10)]]).quote.crossed == 1)        // NO locked
        #expect(decomposed(1, [[(5_699, 1)], [(5_700, 10)], [(4_299, 1)], [(4_300, 1)]]).quote.crossed == 0)
        // The two tokens disagreeing (YES ask + NO ask < $1) is not crossed: it is the intra arb.
        let disagree = decomposed(1, [[(6_000, 1)], [(6_200, 1)], [(3_300, 1)], [(3_500, 1)]])
        #expect(disagree.quote.crossed == 0 && disagree.quote.overround == -300)
        // A bid with no ask on its own token crosses nothing.
        #expect(decomposed(1, [[(9_900, 1)], [], [], [(500, 1)]]).quote.crossed == 0)
    }

    // MARK: Quote arithmetic

    @Test func midIsHalfToEvenAndMissingAsksUseSentinels() {
        #expect(decomposed(1, [[], [(4_201, 1)], [], [(5_800, 1)]]).quote.mid == 4_200)   // 4200.5 → 4200
        #expect(decomposed(1, [[], [(4_203, 1)], [], [(5_800, 1)]]).quote.mid == 4_202)   // 4201.5 → 4202
        #expect(decomposed(1, [[], [(4_201, 1)], [], [(5_801, 1)]]).quote.mid == 4_200)
        let oneSided = decomposed(1, [[(9_900, 1)], [(9_950, 1)], [], []]).quote
        #expect(oneSided.mid == -1 && oneSided.overround == Int32.min && oneSided.best_ask_no == -1)
        let empty = decomposed(0, [[], [], [], []])
        #expect(empty.status == 0 && empty.yes.isEmpty && empty.no.isEmpty)
        #expect(empty.quote.best_bid_yes == -1 && empty.quote.best_bid_no == -1 && empty.quote.mid == -1)
        #expect(empty.quote.overround == Int32.min && empty.quote.crossed == 0)
    }

    // MARK: Ladder shape

    @Test func unsortedDuplicatedInputBecomesOneAscendingLevelPerPrice() {
        let levels: Levels = [(5_200, 1), (4_800, 2), (5_000, 3), (4_800, 4), (5_200, 5), (4_900, 0), (5_000, 6)]
        let d = decomposed(1, [[], levels, [], []])
        #expect(d.yes == [4_800, 6, 5_000, 9, 5_200, 6])
        // The same through the complement: NO bids 0.48, 0.50, 0.52 → YES asks 0.52, 0.50, 0.48.
        let k = decomposed(0, [[], [], levels, []])
        #expect(k.yes == [4_800, 6, 5_000, 9, 5_200, 6])
    }

    /// Large books take the descending, ascending and heap-sort paths of `sortAndMerge`.
    @Test(arguments: [0, 1, 2, 3] as [UInt64])
    func largeBooksSortAndMergeLikeADictionary(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var levels: Levels = []
        for i in 0..<300 {
            let price: Int64
            switch seed {
            case 0: price = Int64(9_000 - 25 * i)                    // descending (venues' bid order)
            case 1: price = Int64(25 * i)                            // ascending
            default: price = Int64(rng.next() % 200) * 50            // shuffled with many duplicates
            }
            levels.append((price, Int64(rng.next() % 3) * 1_000))     // about a third are size 0
        }
        var merged: [Int64: Int64] = [:]
        for (p, q) in levels where q > 0 { merged[p, default: 0] += q }
        let expected = merged.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] }
        #expect(decomposed(1, [[], levels, [], []]).yes == expected)
        #expect(decomposed(1, [[], [], [], levels]).no == expected)
    }

    @Test func sortAndMergeDirectly() {
        var a = [Level(price: 3, qty: 1), Level(price: 1, qty: 2), Level(price: 3, qty: 4), Level(price: 2, qty: 8)]
        let n = a.withUnsafeMutableBufferPointer { sortAndMerge($0) }
        #expect(n == 3 && Array(a[0..<n]) == [Level(price: 1, qty: 2), Level(price: 2, qty: 8), Level(price: 3, qty: 5)])
        var one = [Level(price: 7, qty: 1)]
        #expect(one.withUnsafeMutableBufferPointer { sortAndMerge($0) } == 1)
        var none: [Level] = []
        #expect(none.withUnsafeMutableBufferPointer { sortAndMerge($0) } == 0)
    }

    // MARK: Buffers

    @Test func quoteOnlyAndExactCapacity() {
        var quote = arb_quote()
        let levels: [Int64] = [4_000, 100, 4_100, 200]
        #expect(arb_decompose(0, levels, [0, 0, 2, 0], nil, nil, &quote) == 0)
        #expect(quote.best_ask_yes == 5_900 && quote.best_bid_no == 4_100)
        var mem = [Int64](repeating: 0, count: 4)
        mem.withUnsafeMutableBufferPointer { p in
            var yes = arb_ladder_buf(levels: p.baseAddress, capacity: 2, count: 0)
            #expect(arb_decompose(0, levels, [0, 0, 2, 0], &yes, nil, &quote) == 0)
            #expect(yes.count == 2)
        }
        #expect(mem == [5_900, 200, 6_000, 100])
        // An empty ladder needs no memory at all.
        var empty = arb_ladder_buf(levels: nil, capacity: 0, count: 9)
        #expect(arb_decompose(0, levels, [0, 0, 2, 0], nil, &empty, &quote) == 0 && empty.count == 0)
    }

    @Test func smallBuffersFailWithoutWriting() {
        var quote = arb_quote(best_bid_yes: 77, best_ask_yes: 0, best_bid_no: 0, best_ask_no: 0, mid: 0, overround: 0, crossed: 0, reserved: 0)
        var mem = [Int64](repeating: -1, count: 4)
        let levels: [Int64] = [4_000, 1, 4_100, 1, 5_000, 1]
        mem.withUnsafeMutableBufferPointer { p in
            var yes = arb_ladder_buf(levels: p.baseAddress, capacity: 2, count: 0)
            var no = arb_ladder_buf(levels: p.baseAddress! + 2, capacity: 0, count: 0)
            // YES ladder fits (2 levels), NO ladder (1 level) does not: nothing is written.
            #expect(arb_decompose(0, levels, [1, 0, 2, 0], &yes, &no, &quote) == Status.capacity)
            #expect(yes.count == 0)
            var negative = arb_ladder_buf(levels: p.baseAddress, capacity: -1, count: 0)
            #expect(arb_decompose(0, levels, [1, 0, 2, 0], &negative, nil, &quote) == Status.capacity)
            var noMemory = arb_ladder_buf(levels: nil, capacity: 5, count: 0)
            #expect(arb_decompose(0, levels, [1, 0, 2, 0], &noMemory, nil, &quote) == Status.null)
        }
        #expect(mem == [-1, -1, -1, -1] && quote.best_bid_yes == 77)
    }

    // MARK: Hostile books

    @Test func badBooksReturnTheirCode() {
        #expect(decomposed(0, [[], [(5_000, 1)], [], []]).status == Status.bidsOnly)
        #expect(decomposed(2, [[], [], [], [(5_000, 1)]]).status == Status.bidsOnly)
        #expect(decomposed(0, [[(10_001, 1)], [], [], []]).status == Status.price)
        #expect(decomposed(1, [[], [(-1, 1)], [], []]).status == Status.price)
        #expect(decomposed(1, [[], [], [], [(5_000, 100_000_001)]]).status == Status.qty)
        #expect(decomposed(1, [[(5_000, -1)], [], [], []]).status == Status.qty)
        #expect(decomposed(1, [[(5_000, 100_000_000)], [], [], []]).status == 0)          // the largest level
        #expect(decomposed(3, [[], [], [], []]).status == Status.venue)
        #expect(decomposed(-1, [[], [], [], []]).status == Status.venue)
        // Precedence: venue, counts, levels in array order (price before qty), then bids-only.
        #expect(decomposed(0, [[], [(10_001, 1)], [], []]).status == Status.price)
        #expect(decomposed(0, [[(5_000, -1)], [(10_001, 1)], [], []]).status == Status.qty)
        #expect(decomposed(0, [[(10_001, -1)], [], [], []]).status == Status.price)
        #expect(decomposed(9, [[(10_001, -1)], [], [], []]).status == Status.venue)
        var quote = arb_quote()
        #expect(arb_decompose(0, nil, [1, 0, 0, 0], nil, nil, &quote) == Status.null)
        #expect(arb_decompose(0, nil, [0, 0, 0, 0], nil, nil, &quote) == 0)                // nothing to read
        #expect(arb_decompose(0, nil, [-1, 0, 0, 0], nil, nil, &quote) == Status.length)
        #expect(arb_decompose(0, nil, [0, 0, 0, Int64.min], nil, nil, &quote) == Status.length)
        #expect(arb_decompose(0, nil, [Int64.max, 0, 0, 0], nil, nil, &quote) == Status.length)
        #expect(arb_decompose(0, nil, nil, nil, nil, &quote) == Status.null)
        #expect(arb_decompose(0, nil, [0, 0, 0, 0], nil, nil, nil) == Status.null)
        #expect(arb_decompose(99, nil, [-1, 0, 0, 0], nil, nil, &quote) == Status.venue)
    }
}
