import CShims
import Testing
@testable import ArbEngineSwift

/// arb_scanner_*: the recorder-line grammar, the raw-line rule, coalescing into bursts and the
/// sizing samples on worked examples (the twin is python/arbbot/replay/scan.py; the parity test
/// python/tests/replay/test_scan_parity.py compares the two on generated and real recordings).
@Suite struct RecordScannerTests {
    /// A scanner for one test (destroyed with it).
    final class Scanner {
        var handle: OpaquePointer?
        init() { #expect(arb_scanner_create(&handle) == 0) }
        deinit { arb_scanner_destroy(handle) }

        func feed(_ text: String, start: Int64 = 0) -> (end: Int64, lines: Int64, stopped: Bool) {
            let bytes = Array(text.utf8)
            var out = arb_scan_feed()
            let status = bytes.withUnsafeBufferPointer { arb_scanner_feed(handle, $0.baseAddress, Int64($0.count), start, &out) }
            #expect(status == 0)
            return (out.end, out.lines, out.stopped != 0)
        }

        func add(_ at: Int64, _ venue: String, _ market: String, _ sides: [[(Int64, Int64)]], tradeable: Bool = true,
                 reason: String = "") -> Int32 {
            let levels = sides.flatMap { $0.flatMap { [$0.0, $0.1] } }
            let counts = (0..<4).map { $0 < sides.count ? Int64(sides[$0].count) : 0 }
            let v = Array(venue.utf8), m = Array(market.utf8), r = Array(reason.utf8)
            return arb_scanner_add(handle, at, v, Int64(v.count), m, Int64(m.count), levels, counts, tradeable ? 1 : 0,
                                   r, Int64(r.count))
        }

        var state: arb_scan_state {
            var st = arb_scan_state()
            #expect(arb_scanner_state(handle, &st) == 0)
            return st
        }

        func name(_ i: Int64) -> (String, String) {
            var n = arb_scan_name()
            #expect(arb_scanner_name(handle, i, &n) == 0)
            var label = arb_scan_name()
            #expect(arb_scanner_venue(handle, n.venue, &label) == 0)
            return (text(label.bytes, label.len), text(n.bytes, n.len))
        }

        func take(finish: Bool = false) -> [Burst] {
            var o = arb_scan_output()
            #expect(arb_scanner_take(handle, finish ? 1 : 0, &o) == 0)
            return (0..<Int(o.n_bursts)).map { b in
                let burst = o.bursts[b]
                var label = arb_scan_name()
                #expect(arb_scanner_venue(handle, burst.venue, &label) == 0)
                let deliveries = (0..<Int(burst.delivery_count)).map { j in
                    let d = o.deliveries[Int(burst.delivery_start) + j]
                    var sides: [[Level]] = []
                    var at = Int(d.level_start)
                    for n in [d.counts.0, d.counts.1, d.counts.2, d.counts.3] {
                        sides.append((0..<Int(n)).map { k in Level(price: o.levels[2 * (at + k)], qty: o.levels[2 * (at + k) + 1]) })
                        at += Int(n)
                    }
                    return Delivery(market: d.market, records: d.records, sides: sides, tradeable: d.tradeable != 0,
                                    reason: text(o.text + Int(d.reason_start), d.reason_len))
                }
                let samples = (0..<Int(burst.sample_count)).map { j in
                    let s = o.samples[Int(burst.sample_start) + j]
                    return Sample(kind: s.kind, market: s.market, side: s.side, time: s.time, value: s.value)
                }
                return Burst(venue: text(label.bytes, label.len), at: burst.at, deliveries: deliveries, samples: samples)
            }
        }

        private func text(_ p: UnsafePointer<UInt8>?, _ n: Int64) -> String {
            guard let p, n > 0 else { return "" }
            return String(decoding: UnsafeBufferPointer(start: p, count: Int(n)), as: UTF8.self)
        }
    }

    struct Delivery: Equatable {
        var market: Int32
        var records: Int64
        var sides: [[Level]]
        var tradeable: Bool
        var reason: String
    }

    struct Sample: Equatable {
        var kind: Int32
        var market: Int32
        var side: Int32
        var time: Double
        var value: Double
    }

    struct Burst: Equatable {
        var venue: String
        var at: Int64
        var deliveries: [Delivery]
        var samples: [Sample]
    }

    static func book(_ at: Int64, _ venue: String = "kalshi", _ market: String = "K-1", _ sides: String = "[[],[],[],[]]",
                     tradeable: Bool = true, reason: String = "") -> String {
        "{\"recv_ts_ms\":\(at),\"kind\":\"book\",\"venue\":\"\(venue)\",\"market\":\"\(market)\",\"book\":\(sides),"
            + "\"tradeable\":\(tradeable),\"reason\":\"\(reason)\"}\n"
    }

    private func levels(_ pairs: [(Int64, Int64)]) -> [Level] { pairs.map { Level(price: $0.0, qty: $0.1) } }

    // MARK: Grammar

    @Test func aBookLineIsParsedInto() {
        let s = Scanner()
        let line = Self.book(1_795_864_998_229, "polymarket", "0xabc", "[[[4000,100],[3900,5]],[],[[0,0]],[[6100,70]]]",
                             tradeable: false, reason: "snapshot (2)")
        #expect(s.feed(line) == (Int64(line.utf8.count), 1, false))
        #expect(s.state.books == 1 && s.state.has_last == 1 && s.state.last == 1_795_864_998_229)
        #expect(s.state.n_names == 1 && s.name(0) == ("polymarket", "0xabc"))
        #expect(s.take().isEmpty)                               // the millisecond is still open
        let bursts = s.take(finish: true)
        #expect(bursts.count == 1)
        #expect(bursts[0].venue == "polymarket" && bursts[0].at == 1_795_864_998_229)
        #expect(bursts[0].deliveries == [Delivery(market: 0, records: 1,
                                                  sides: [levels([(4_000, 100), (3_900, 5)]), [], levels([(0, 0)]),
                                                          levels([(6_100, 70)])],
                                                  tradeable: false, reason: "snapshot (2)")])
    }

    @Test(arguments: [
        "{\"format\":\"arbbot.recording/1\"}\n", "\n", " \n",
        RecordScannerTests.book(1_000).replacingFirst("1000", "01000"),                      // leading zero
        RecordScannerTests.book(1_234_567_890_123_456_789),                                  // 19 digits
        RecordScannerTests.book(1_000, "kalshi", "K-1", "[[[-1,2]],[],[],[]]"),              // negative
        RecordScannerTests.book(1_000, "kalshi", "K-1", "[[[01,2]],[],[],[]]"),
        RecordScannerTests.book(1_000, "kalshi", "K-1", "[[],[],[]]"),                       // 3 sides
        RecordScannerTests.book(1_000, "kalshi", "K-1", "[[],[],[],[],[]]"),                 // 5 sides
        RecordScannerTests.book(1_000, "kalshi", "K\\\"1"),                                  // an escape
        RecordScannerTests.book(1_000, "kalshi", ""),                                        // empty market
        RecordScannerTests.book(1_000, "betfair"),
        RecordScannerTests.book(1_000, reason: "\u{7f}"), RecordScannerTests.book(1_000, reason: "é"),
        RecordScannerTests.book(1_000).replacingFirst("\n", "\r\n"),
        RecordScannerTests.book(1_000).replacingFirst("true", "True"),
        "{\"recv_ts_ms\":1,\"kind\":\"wsx\"}\n",
        "{\"recv_ts_ms\":1,\"xxxxxxxxxxxxxxxxxxxxxxxx\":1,\"kind\":\"ws\"}\n",   // kind past the 48-byte window
        "{\"recv_ts_ms\":1,\"kind\":\"book\",\"kind\":\"ws\"}\n",
    ])
    func otherLinesStopTheFeed(line: String) {
        let s = Scanner()
        let first = Self.book(999)
        #expect(s.feed(first + line + Self.book(5_000)) == (Int64(first.utf8.count), 1, true))
        #expect(s.state.books == 1 && s.state.frames == 0)
    }

    @Test func rawLinesAreCountedAndSkipped() {
        let s = Scanner()
        let lines = ["{\"recv_ts_ms\":5,\"kind\":\"ws\",\"venue\":\"kalshi\",\"frame\":\"{\\\"a\\\":1}\"}\n",
                     "{\"recv_ts_ms\":6,\"kind\":\"rest\",\"method\":\"GET\"}\n",
                     "{\"recv_ts_ms\":\"x\",\"kind\":\"ws\"\n",
                     "{\"recv_ts_ms\":1234567890123,\"z\":0,\"kind\":\"rest\"}\n"]
        let data = lines.joined()
        #expect(s.feed(data) == (Int64(data.utf8.count), 4, false))
        #expect(s.state.frames == 4 && s.state.books == 0 && s.state.has_last == 0)
    }

    @Test func incompleteLinesStartOffsetsAndTimeGoingBack() {
        let s = Scanner()
        let a = Self.book(2_000), b = Self.book(2_000, "kalshi", "K-2"), c = Self.book(1_999)
        let n = Int64(a.utf8.count)
        #expect(s.feed(a + String(b.dropLast())) == (n, 1, false))              // no newline yet
        #expect(s.feed(a + b + c, start: n) == (n + Int64(b.utf8.count), 1, true))   // 1,999 < 2,000
        #expect(s.feed(a, start: 999) == (999, 0, false))
        #expect(s.feed("") == (0, 0, false))
        #expect(s.state.books == 2 && s.state.last == 2_000)
    }

    // MARK: Bursts

    @Test func booksCoalescePerVenueAndMillisecond() {
        let s = Scanner()
        let data = Self.book(1_000, "kalshi", "A", "[[[4000,1]],[],[],[]]") + Self.book(1_000, "polymarket", "P")
            + Self.book(1_000, "kalshi", "B") + Self.book(1_000, "kalshi", "A", "[[[4100,2]],[],[],[]]", reason: "r")
            + Self.book(1_001, "kalshi", "B")
        _ = s.feed(data)
        let closed = s.take()
        #expect(closed.map(\.venue) == ["kalshi", "polymarket"])                // venues in order of first record
        #expect(closed[0].deliveries.map(\.market) == [0, 2] && closed[0].deliveries.map(\.records) == [2, 1])
        #expect(closed[0].deliveries[0].sides[0] == levels([(4_100, 2)]) && closed[0].deliveries[0].reason == "r")
        #expect(closed[1].deliveries.map(\.market) == [1])
        #expect(s.take().isEmpty)
        let last = s.take(finish: true)
        #expect(last.count == 1 && last[0].at == 1_001 && last[0].deliveries.map(\.market) == [2])
        #expect((Int64(0)..<3).map { "\(s.name($0).0)/\(s.name($0).1)" } == ["kalshi/A", "polymarket/P", "kalshi/B"])
    }

    @Test func addedBooksJoinTheFedOnes() {
        let s = Scanner()
        _ = s.feed(Self.book(1_000, "kalshi", "A"))
        #expect(s.add(1_000, "kalshi", "A", [[(4_000, 1)]], reason: "é") == 0)   // same market, same burst
        #expect(s.add(1_000, "betfair", "é", []) == 0)                           // any label: venue id 3
        let bursts = s.take(finish: true)
        #expect(bursts.map(\.venue) == ["kalshi", "betfair"])
        #expect(bursts[0].deliveries == [Delivery(market: 0, records: 2, sides: [levels([(4_000, 1)]), [], [], []],
                                                  tradeable: true, reason: "é")])
        #expect(s.state.n_venues == 4 && s.name(1) == ("betfair", "é"))
    }

    // MARK: Samples

    /// The twin's worked example: depletion at the best effective ask, mids at most once a second.
    @Test func depletionAndMidSamples() {
        let s = Scanner()
        let data = [Self.book(1_000, "kalshi", "K", "[[[4000,100]],[[6000,50]],[],[]]"),   // yes ask 6000 x50; no ask 6000 x100
                    Self.book(1_400, "kalshi", "K", "[[[4000,100]],[[6000,20]],[],[]]"),   // 30 of 50 taken
                    Self.book(1_900, "kalshi", "K", "[[[4000,100]],[[6100,20]],[],[]]"),   // the rest gone
                    Self.book(2_050, "kalshi", "K", "[[[4100,100]],[[6100,20]],[],[]]"),   // second 1 closes
                    Self.book(2_999, "kalshi", "K", "[[[4200,100]],[[6100,20]],[],[]]"),   // < 1 s: no mid
                    Self.book(3_100, "kalshi", "K", "[[[4200,100]],[[6100,20]],[],[]]")].joined()
        _ = s.feed(data)
        let samples = s.take(finish: true).flatMap(\.samples)
        #expect(samples == [Sample(kind: 1, market: 0, side: 0, time: 1.0, value: 0.5),
                            Sample(kind: 0, market: 0, side: 0, time: 1.0, value: 1.0),
                            Sample(kind: 0, market: 0, side: 1, time: 1.0, value: 0.0),
                            Sample(kind: 1, market: 0, side: 0, time: 2.05, value: 0.51),
                            // second 2: the YES ask did not change (no sample), the NO ask moved better
                            Sample(kind: 0, market: 0, side: 1, time: 2.0, value: 0.0),
                            Sample(kind: 1, market: 0, side: 0, time: 3.1, value: 0.515)])
    }

    @Test func effectiveAskTiesAddTheirSizes() {
        // yes ask 6000 x5 and no bid 4000 x7 (= yes ask 6000 x7): one level of 12.
        let s = Scanner()
        _ = s.feed(Self.book(1_000, "kalshi", "K", "[[],[[6000,5]],[[4000,7]],[]]")
                   + Self.book(1_500, "kalshi", "K", "[[],[[6000,5]],[[4000,1]],[]]")
                   + Self.book(2_000, "kalshi", "K", "[[],[],[],[]]"))
        let samples = s.take(finish: true).flatMap(\.samples)
        #expect(samples.first == Sample(kind: 0, market: 0, side: 0, time: 1.0, value: 0.5))   // 6 of 12
    }

    @Test func askStepOnTheTwinsState() {
        var st = AskState.fresh
        var r = RecordScanner.askStep(st, best: Level(price: 6_000, qty: 50), second: 7)!
        #expect(r.sample == nil && r.state == AskState(second: 7, price: 6_000, size: 50, startPrice: 6_000,
                                                       startSize: 50, changed: true, removed: 0, left: 50))
        st = r.state
        r = RecordScanner.askStep(st, best: Level(price: 6_000, qty: 20), second: 7)!       // 30 taken
        r = RecordScanner.askStep(r.state, best: nil, second: 7)!                             // the rest gone
        #expect(r.state == AskState(second: 7, price: 0, size: 0, startPrice: 6_000, startSize: 50, changed: true,
                                    removed: 30, left: 20))
        r = RecordScanner.askStep(r.state, best: Level(price: 5_000, qty: 9), second: 8)!
        #expect(r.sample! == (7.0, 1.0))
        #expect(r.state == AskState(second: 8, price: 5_000, size: 9, startPrice: 5_000, startSize: 9, changed: true,
                                    removed: 0, left: 9))
        // a re-quote to a better price, one level at a time: worse, none, better within the second
        for best in [Level(price: 5_100, qty: 3), nil, Level(price: 4_900, qty: 20)] {
            r = RecordScanner.askStep(r.state, best: best, second: 9)!
        }
        r = RecordScanner.askStep(r.state, best: Level(price: 4_900, qty: 20), second: 10)!
        #expect(r.sample! == (9.0, 0.0))                                         // nothing of 5,000 × 9 taken
        // 12 of 20 taken, refilled, 4 more taken: 16 of the 20 the second began with
        for qty: Int64 in [8, 20, 16] {
            r = RecordScanner.askStep(r.state, best: Level(price: 4_900, qty: qty), second: 10)!
        }
        r = RecordScanner.askStep(r.state, best: Level(price: 4_900, qty: 16), second: 11)!
        #expect(r.sample! == (10.0, 0.8))
        r = RecordScanner.askStep(r.state, best: Level(price: 4_900, qty: 16), second: 12)!
        #expect(r.sample == nil)                                                 // second 11: no change, no sample
        #expect(RecordScanner.askStep(AskState(second: 1, price: 5, size: 7, startPrice: 5, startSize: 1, changed: true,
                                               removed: Int64.max, left: 0), best: Level(price: 5, qty: 6),
                                      second: 1) == nil)                         // overflow: refused
    }

    // MARK: Python's arithmetic

    @Test(arguments: [
        (123_456_789_012_345_678, 1_000, 0x1.c12218377de6bp+46),   // Double(a) / Double(b) gives ...6cp+46
        (1_152_921_504_606_846_977, 3, 0x1.5555555555555p+58),
        (Int64.min, 3, -0x1.5555555555555p+61),
        (Int64.max, 7, 0x1.2492492492492p+60),
        (5, -4_611_686_018_427_387_904, -0x1.4p-60),
        (9_007_199_254_740_993, 2, 0x1p52),                         // a tie: to even
        (-9_007_199_254_740_995, 2, -0x1.0000000000002p+52),
        (9_007_199_254_740_993, 1_000, 0x1.0624dd2f1a9fcp+43),
        (Int64.max, Int64.max, 1.0), (Int64.min, -Int64.max, 1.0), (1, Int64.max, 0x1p-63),
        (4_611_686_018_427_387_905, 4_611_686_018_427_387_904, 1.0),
        (1_740_816_960_299_813_499, 127_976_676_574, 0x1.9f1e662f2c0f7p+23),
        (3_996_077_508_026_646_703, 50_008_729_460_724_511, 0x1.3fa161ac4c1bbp+6),
        (-8_135_854_979_305_788_918, 145_622_100_681_626, -0x1.b47b49ec7ea4ap+15),
        (-1_880_283_478_743_649_885, -6_948_257, 0x1.f80dfa3f3bdf7p+37),
        (8_814_278_549_364_800_218, -1_039_027_014, -0x1.f9a36d3c03284p+32),
        (-6_564_873_480_255_534_690, -208_388_989_844_351, 0x1.ec3be815c5214p+14),
        (6_702_163_916_888_618_658, -9_190_566_215_927, -0x1.64137b4a4a963p+19),
        (6_504_853_222_885_255_938, -3_685_443_745_383_078, -0x1.b940c81b43d65p+10),
        (5_595_378_380_161_175_911, -4_241, -0x1.2bfc7bd4bdaa7p+50),
        (-2_759_494_278_672_687_382, 10_944_803_168, -0x1.e0e581a40841ap+27),
        (2_761_010_336_259_859_292, 16_103_963_670, 0x1.47036381df507p+27),
        (5_100_638_368_743_294_636, 425_218_652_178, 0x1.6e118579bcce0p+23),
        (1_795_864_998_229, 1_000, 1_795_864_998.229),
    ] as [(Int64, Int64, Double)])
    func trueDivisionIsPythons(a: Int64, b: Int64, expected: Double) {
        #expect(pyTrueDivide(a, b).bitPattern == expected.bitPattern)
    }

    @Test func zeroAndFloorDivision() {
        #expect(pyTrueDivide(0, -(1 << 60)).bitPattern == (-0.0).bitPattern)
        #expect(pyTrueDivide(0, 5).bitPattern == (0.0).bitPattern)
        #expect(floorDivide(-7, 1_000) == -1 && floorDivide(-1_000, 1_000) == -1 && floorDivide(1_999, 1_000) == 1)
        #expect(floorDivide(Int64.min, 1_000) == -9_223_372_036_854_776)
    }

    // MARK: Hostile input

    @Test func badArgumentsAreStatusCodes() {
        let s = Scanner()
        var out = arb_scan_feed()
        #expect(arb_scanner_feed(nil, nil, 0, 0, &out) == Status.null)
        #expect(arb_scanner_feed(s.handle, nil, 5, 0, &out) == Status.null)
        #expect(arb_scanner_feed(s.handle, nil, 0, 0, nil) == Status.null)
        #expect(arb_scanner_feed(s.handle, nil, -1, 0, &out) == Status.length)
        #expect(arb_scanner_feed(s.handle, nil, 0, -1, &out) == Status.length)
        #expect(arb_scanner_feed(s.handle, nil, 0, 3, &out) == 0 && out.end == 3 && out.stopped == 0)
        let counts: [Int64] = [1, 0, 0, 0], bad: [Int64] = [-1, 0, 0, 0]
        #expect(arb_scanner_add(s.handle, 1, nil, 0, nil, 0, nil, counts, 1, nil, 0) == Status.null)   // levels
        #expect(arb_scanner_add(s.handle, 1, nil, 0, nil, 0, nil, bad, 1, nil, 0) == Status.length)
        #expect(arb_scanner_add(s.handle, 1, nil, 3, nil, 0, nil, [0, 0, 0, 0], 1, nil, 0) == Status.null)
        #expect(arb_scanner_add(s.handle, 1, nil, 0, nil, 0, nil, nil, 1, nil, 0) == Status.null)
        var name = arb_scan_name()
        #expect(arb_scanner_name(s.handle, 0, &name) == Status.market)
        #expect(arb_scanner_venue(s.handle, 3, &name) == Status.venue)
        #expect(arb_scanner_venue(s.handle, 2, &name) == 0 && name.len == 10)    // forecastex
        #expect(s.state.books == 0)
        // Sums past int64: refused, nothing changed (no name, no book).
        #expect(s.add(1, "kalshi", "Z", [[(Int64.min + 5, 1)]]) == Status.overflow)
        #expect(s.add(1, "kalshi", "Z", [[(Int64.max, 1)], [(100, 2)]]) == Status.overflow)
        #expect(s.add(1, "kalshi", "Z", [[(6_000, Int64.max)], [], [], [(4_000, 1)]]) == Status.overflow)
        #expect(s.state.books == 0 && s.state.n_names == 0)
        #expect(arb_scanner_add(s.handle, 1, nil, 0, nil, 0, nil, [0, 0, 0, 0], 0, nil, 0) == 0)   // all empty: fine
        #expect(s.state.books == 1 && s.name(0) == ("", ""))
    }

    @Test func levelsBeyondTheEnginesBoundsStopTheFeed() {
        // A price above priceMax or a quantity above levelQtyMax is not for the fast path: the
        // general path names its line (a book superseded within its millisecond included).
        let ok = Self.book(1_000, "kalshi", "K", "[[[10000,100000000]],[],[],[]]")
        for bad in ["[[[10001,1]],[],[],[]]", "[[],[],[[1,100000001]],[]]", "[[],[[5000,999999999999999999]],[],[]]"] {
            let s = Scanner()
            let r = s.feed(ok + Self.book(1_001, "kalshi", "K", bad))
            #expect(r.lines == 1 && r.stopped)
            #expect(s.state.books == 1)
        }
    }
}

private extension String {
    func replacingFirst(_ target: String, _ replacement: String) -> String {
        replacing(target, with: replacement, maxReplacements: 1)
    }
}
