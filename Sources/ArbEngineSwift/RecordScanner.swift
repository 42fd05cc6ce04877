import CShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The replay's record scanner behind `arb_scanner` (arb_engine.h), line for line and bit for
/// bit the twin `PyScanner` (python/arbbot/replay/scan.py, whose docstring is the spec):
///
/// - `feed` takes the complete lines of a chunk: a `book` line in the recorder's exact form
///   (`parseBook`, the twin's `RECORD` regex, which is deterministic: LL(1), no backtracking
///   changes what it accepts) is recorded; a raw `ws` / `rest` line (`isRaw`, the twin's `_raw`)
///   is counted; anything else, a book whose time goes back, or a book whose samples would
///   overflow int64 stops the feed at that line.
/// - `record` is the twin's `_record` + `_sample`: intern (venue, market) → market index,
///   coalesce into the open burst of the record's venue (closing every open burst when the
///   millisecond changes), take the depletion and mid samples. Everything that can overflow is
///   computed before anything changes, so a refused record leaves no trace.
/// - Doubles are Python's: `int / int` is the correctly rounded quotient (`pyTrueDivide`),
///   `float(int)` is `Double(Int64)`, and the mid throttle compares `now_s - last_s < 1.0`.
final class RecordScanner {
    static let full: Int64 = 10_000              // ticks per dollar (arbbot.units.TICKS_PER_DOLLAR)
    static let polymarket: Int32 = 1              // its venue id (`venueLabels`)
    static let venueLabels: [StaticString] = ["kalshi", "polymarket", "forecastex"]   // ids 0, 1, 2

    // MARK: Counters (the twin's attributes)

    @exclusivity(unchecked) private(set) var last: Int64 = 0
    @exclusivity(unchecked) private(set) var hasLast = false
    @exclusivity(unchecked) private(set) var frames: Int64 = 0
    @exclusivity(unchecked) private(set) var books: Int64 = 0

    // MARK: Names

    @exclusivity(unchecked) private(set) var names = NameTable()

    // MARK: Per market (index) and per (market, side) state

    /// Slot 2 × market + side: the twin's `_ask[(index, side)]`.
    @exclusivity(unchecked) private var asks: [AskState] = []
    @exclusivity(unchecked) private var mids: [MidState] = []
    /// The market's delivery in the open bursts (index into `openDeliveries`), -1 = none.
    @exclusivity(unchecked) private var deliverySlot: [Int32] = []

    // MARK: Open bursts (one millisecond, one per venue)

    @exclusivity(unchecked) private var hasOpen = false
    @exclusivity(unchecked) private var openAt: Int64 = 0
    /// Venue ids in order of their first record in the open millisecond.
    @exclusivity(unchecked) private var openVenues: [Int32] = []
    /// Per venue id: position in `openVenues`, -1 = no open burst.
    @exclusivity(unchecked) private var openBurstOfVenue: [Int32] = []
    @exclusivity(unchecked) private var openDeliveries: [OpenDelivery] = []
    @exclusivity(unchecked) private var openSamples: [OpenSample] = []
    @exclusivity(unchecked) private var openLevels = ResultBuffer<Int64>(capacity: 4096)
    @exclusivity(unchecked) private var openText = ResultBuffer<UInt8>(capacity: 256)

    // MARK: Closed bursts not yet taken (arb_scan_output)

    @exclusivity(unchecked) private var closedBursts = ResultBuffer<arb_scan_burst>(capacity: 256)
    @exclusivity(unchecked) private var closedDeliveries = ResultBuffer<arb_scan_delivery>(capacity: 1024)
    @exclusivity(unchecked) private var closedSamples = ResultBuffer<arb_scan_sample>(capacity: 1024)
    @exclusivity(unchecked) private var closedLevels = ResultBuffer<Int64>(capacity: 16384)
    @exclusivity(unchecked) private var closedText = ResultBuffer<UInt8>(capacity: 256)
    /// The closed output was handed out: cleared by the next feed / add / take.
    @exclusivity(unchecked) private var taken = false

    /// A parsed line's levels (pairs, sides back to back).
    @exclusivity(unchecked) private var scratch = ResultBuffer<Int64>(capacity: 1024)

    init() {
        for label in Self.venueLabels {
            _ = names.internVenue(label.utf8Start, label.utf8CodeUnitCount)
            openBurstOfVenue.append(-1)
        }
    }

    deinit {
        names.free()
        openLevels.free()
        openText.free()
        closedBursts.free()
        closedDeliveries.free()
        closedSamples.free()
        closedLevels.free()
        closedText.free()
        scratch.free()
    }

    // MARK: - Feed

    /// The twin's `feed`: (offset after the last line taken, lines taken, stopped).
    func feed(_ data: UnsafePointer<UInt8>, count: Int, start: Int) -> (end: Int, lines: Int, stopped: Bool) {
        clearIfTaken()
        var pos = start, lines = 0
        let raw = UnsafeRawPointer(data)
        while pos < count {
            guard let found = memchr(raw + pos, 0x0A, count - pos) else { return (pos, lines, false) }
            let nl = raw.distance(to: UnsafeRawPointer(found))
            if let book = parseBook(data, pos, nl) {
                if hasLast && book.at < last { return (pos, lines, true) }   // the general path reports it
                let levels = scratch.pointer
                let reason = data + book.reasonStart
                let ok = record(at: book.at, venue: book.venue, market: data + book.marketStart,
                                marketLength: book.marketLength, levels: levels, counts: book.counts,
                                tradeable: book.tradeable, reason: reason, reasonLength: book.reasonLength)
                if !ok { return (pos, lines, true) }                          // overflow: add() reports it
            } else if isRaw(data, pos, nl) {
                frames += 1
            } else {
                return (pos, lines, true)
            }
            pos = nl + 1
            lines += 1
        }
        return (pos, lines, false)
    }

    /// The fields of a book line; its levels are in `scratch`.
    struct ParsedBook {
        var at: Int64
        var venue: Int32
        var marketStart: Int
        var marketLength: Int
        var counts: (Int64, Int64, Int64, Int64)
        var tradeable: Bool
        var reasonStart: Int
        var reasonLength: Int
    }

    /// The twin's `RECORD.match(data, pos, nl + 1)` (the match then ends at nl + 1 necessarily:
    /// no accepted byte is a newline). Reads nothing past `nl` (data[nl] is the newline: every
    /// loop stops at a byte it does not accept, and literals are compared within the line).
    func parseBook(_ p: UnsafePointer<UInt8>, _ pos: Int, _ nl: Int) -> ParsedBook? {
        var i = pos
        @inline(__always) func literal(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard nl - i >= n, memcmp(p + i, s.utf8Start, n) == 0 else { return false }
            i += n
            return true
        }
        @inline(__always) func byte(_ b: UInt8) -> Bool {
            guard p[i] == b else { return false }     // b is never the newline: i stays <= nl
            i += 1
            return true
        }
        /// `0|[1-9][0-9]{0,17}`: a digit after a leading 0 or after 18 digits cannot be followed
        /// by what the grammar wants next, so it fails here.
        @inline(__always) func integer() -> Int64? {
            let first = p[i] &- 0x30
            guard first <= 9 else { return nil }
            i += 1
            if first == 0 { return p[i] &- 0x30 <= 9 ? nil : 0 }
            var v = Int64(first), digits = 1
            while true {
                let d = p[i] &- 0x30
                if d > 9 { return v }
                if digits == 18 { return nil }
                v = v &* 10 &+ Int64(d)
                digits += 1
                i += 1
            }
        }
        /// `[\x20\x21\x23-\x5b\x5d-\x7e]*` then the closing `"` (consumed).
        @inline(__always) func text() -> Bool {
            while true {
                let b = p[i]
                if b == 0x22 { i += 1; return true }
                if b < 0x20 || b > 0x7E || b == 0x5C { return false }
                i += 1
            }
        }
        /// `\[(?:\[INT,INT\](?:,\[INT,INT\])*)?\]` into scratch: the level count. A level out of
        /// the engine's bounds (price > priceMax ticks, qty > levelQtyMax lots) is not for the fast
        /// path: the general path names its line.
        @inline(__always) func side() -> Int64? {
            guard byte(0x5B) else { return nil }                            // [
            if byte(0x5D) { return 0 }                                      // ]
            var n: Int64 = 0
            while true {
                guard byte(0x5B), let price = integer(), byte(0x2C), let qty = integer(), byte(0x5D),
                      price <= priceMax, qty <= levelQtyMax else { return nil }
                scratch.append(price)
                scratch.append(qty)
                n += 1
                if byte(0x2C) { continue }                                  // ,
                return byte(0x5D) ? n : nil                                 // ]
            }
        }

        guard literal("{\"recv_ts_ms\":"), let at = integer(), literal(",\"kind\":\"book\",\"venue\":\"") else { return nil }
        let venue: Int32
        switch p[i] {
        case 0x6B: guard literal("kalshi\"") else { return nil }; venue = 0
        case 0x70: guard literal("polymarket\"") else { return nil }; venue = 1
        case 0x66: guard literal("forecastex\"") else { return nil }; venue = 2
        default: return nil
        }
        guard literal(",\"market\":\"") else { return nil }
        let marketStart = i
        guard text() else { return nil }
        let marketLength = i - 1 - marketStart
        guard marketLength > 0, literal(",\"book\":[") else { return nil }
        scratch.removeAll()
        guard let c0 = side(), byte(0x2C), let c1 = side(), byte(0x2C), let c2 = side(), byte(0x2C),
              let c3 = side(), literal("],\"tradeable\":") else { return nil }
        let tradeable: Bool
        if literal("true") { tradeable = true } else if literal("false") { tradeable = false } else { return nil }
        guard literal(",\"reason\":\"") else { return nil }
        let reasonStart = i
        guard text() else { return nil }
        let reasonLength = i - 1 - reasonStart
        guard byte(0x7D), i == nl else { return nil }                       // }\n
        return ParsedBook(at: at, venue: venue, marketStart: marketStart, marketLength: marketLength,
                          counts: (c0, c1, c2, c3), tradeable: tradeable, reasonStart: reasonStart,
                          reasonLength: reasonLength)
    }

    /// The twin's `_raw` after `data.startswith(_PREFIX, pos)`: the first `,"kind":"` wholly in
    /// data[pos + 14 ..< min(pos + 48, nl + 1)], followed within the line by `ws"` or `rest"`.
    func isRaw(_ p: UnsafePointer<UInt8>, _ pos: Int, _ nl: Int) -> Bool {
        let prefix: StaticString = "{\"recv_ts_ms\":"
        let kind: StaticString = ",\"kind\":\""
        guard nl - pos >= 14, memcmp(p + pos, prefix.utf8Start, 14) == 0 else { return false }
        let windowEnd = min(pos + 48, nl + 1)
        var k = pos + 14
        while k + 9 <= windowEnd {
            if p[k] == 0x2C && memcmp(p + k, kind.utf8Start, 9) == 0 {
                let v = k + 9
                if nl + 1 - v >= 3 && p[v] == 0x77 && p[v + 1] == 0x73 && p[v + 2] == 0x22 { return true }     // ws"
                if nl + 1 - v >= 5 && p[v] == 0x72 && p[v + 1] == 0x65 && p[v + 2] == 0x73 && p[v + 3] == 0x74
                    && p[v + 4] == 0x22 { return true }                                                      // rest"
                return false
            }
            k += 1
        }
        return false
    }

    // MARK: - Add

    /// The twin's `add` (arguments already checked by the export). Throws `overflow` (nothing
    /// changed) or `length` (too many markets).
    func add(at: Int64, venue: UnsafePointer<UInt8>, venueLength: Int, market: UnsafePointer<UInt8>,
             marketLength: Int, levels: UnsafePointer<Int64>, counts: (Int64, Int64, Int64, Int64),
             tradeable: Bool, reason: UnsafePointer<UInt8>, reasonLength: Int) throws(EngineError) {
        clearIfTaken()
        let v = names.internVenue(venue, venueLength)
        while openBurstOfVenue.count < names.venueCount { openBurstOfVenue.append(-1) }
        guard record(at: at, venue: v, market: market, marketLength: marketLength, levels: levels, counts: counts,
                     tradeable: tradeable, reason: reason, reasonLength: reasonLength)
        else { throw EngineError(names.count >= NameTable.maxNames ? Status.length : Status.overflow) }
    }

    // MARK: - Take

    /// The closed bursts (after closing the open ones when `finish`); cleared by the next call.
    func take(finish: Bool) -> arb_scan_output {
        clearIfTaken()
        if finish { close() }
        taken = true
        return arb_scan_output(
            bursts: closedBursts.pointer, n_bursts: Int64(closedBursts.count),
            deliveries: closedDeliveries.pointer, n_deliveries: Int64(closedDeliveries.count),
            samples: closedSamples.pointer, n_samples: Int64(closedSamples.count),
            levels: closedLevels.pointer, n_levels: Int64(closedLevels.count / 2),
            text: closedText.pointer, n_text: Int64(closedText.count))
    }

    private func clearIfTaken() {
        guard taken else { return }
        taken = false
        closedBursts.removeAll()
        closedDeliveries.removeAll()
        closedSamples.removeAll()
        closedLevels.removeAll()
        closedText.removeAll()
    }

    // MARK: - Per record

    /// The twin's `_record` on one book (levels: the four sides back to back, `counts` pairs
    /// each). False, with nothing changed, when a sum overflows int64 or the name table is full.
    private func record(at: Int64, venue: Int32, market: UnsafePointer<UInt8>, marketLength: Int,
                        levels: UnsafePointer<Int64>, counts: (Int64, Int64, Int64, Int64), tradeable: Bool,
                        reason: UnsafePointer<UInt8>, reasonLength: Int) -> Bool {
        // Stateless parts first: the effective asks and the mid's numerator. An untradeable book
        // (it may be missing updates) is delivered but not sampled; Polymarket's asks are the
        // token's own (the other token's bids mirror them: never added).
        let o1 = Int(counts.0), o2 = o1 + Int(counts.1), o3 = o2 + Int(counts.2)
        let yb = counts.0 > 0 ? Level(price: levels[0], qty: levels[1]) : nil
        let ya = counts.1 > 0 ? Level(price: levels[2 * o1], qty: levels[2 * o1 + 1]) : nil
        let nb = counts.2 > 0 ? Level(price: levels[2 * o2], qty: levels[2 * o2 + 1]) : nil
        let na = counts.3 > 0 ? Level(price: levels[2 * o3], qty: levels[2 * o3 + 1]) : nil
        var yesAsk = Ask(level: nil), noAsk = Ask(level: nil)
        if tradeable && venue == Self.polymarket {
            yesAsk = Ask(level: ya)
            noAsk = Ask(level: na)
        } else if tradeable {
            guard let y = effectiveAsk(ya, nb), let n = effectiveAsk(na, yb) else { return false }
            yesAsk = y
            noAsk = n
        }
        var mid2: Int64? = nil
        if tradeable, let yb, let ask = yesAsk.level {
            let (sum, overflow) = yb.price.addingReportingOverflow(ask.price)
            if overflow { return false }
            mid2 = sum
        }
        // The market index (a new market's state is fresh: its updates cannot overflow).
        guard let index = names.intern(venue: venue, market, marketLength) else { return false }
        if Int(index) == mids.count {
            asks.append(.fresh)
            asks.append(.fresh)
            mids.append(MidState(has: false, mid2: -1, at: 0))
            deliverySlot.append(-1)
        }
        let m = Int(index)
        let second = floorDivide(at, 1000)
        var yes: (state: AskState, sample: (Double, Double)?) = (asks[2 * m], nil)
        var no: (state: AskState, sample: (Double, Double)?) = (asks[2 * m + 1], nil)
        if tradeable {
            guard let y = Self.askStep(asks[2 * m], best: yesAsk.level, second: second),
                  let n = Self.askStep(asks[2 * m + 1], best: noAsk.level, second: second) else { return false }
            yes = y
            no = n
        }

        // Commit.
        books += 1
        last = at
        hasLast = true
        if hasOpen && at != openAt { close() }
        openAt = at
        hasOpen = true
        var burst = openBurstOfVenue[Int(venue)]
        if burst < 0 {
            burst = Int32(openVenues.count)
            openVenues.append(venue)
            openBurstOfVenue[Int(venue)] = burst
        }
        let levelStart = openLevels.count / 2
        openLevels.append(contentsOf: levels, count: 2 * (o3 + Int(counts.3)))
        let reasonStart = openText.count
        openText.append(contentsOf: reason, count: reasonLength)
        let slot = deliverySlot[m]
        if slot < 0 {
            deliverySlot[m] = Int32(openDeliveries.count)
            openDeliveries.append(OpenDelivery(burst: burst, market: index, records: 1, levelStart: levelStart,
                                               counts: counts, tradeable: tradeable, reasonStart: reasonStart,
                                               reasonLength: reasonLength))
        } else {
            openDeliveries[Int(slot)].replace(levelStart: levelStart, counts: counts, tradeable: tradeable,
                                              reasonStart: reasonStart, reasonLength: reasonLength)
        }
        asks[2 * m] = yes.state
        asks[2 * m + 1] = no.state
        if let sample = yes.sample { sampleOut(burst, ARB_SAMPLE_DEPLETION, index, Side.yes, sample) }
        if let sample = no.sample { sampleOut(burst, ARB_SAMPLE_DEPLETION, index, Side.no, sample) }
        if let mid2 {
            let nowS = pyTrueDivide(at, 1000)
            let state = mids[m]
            if !state.has || (mid2 != state.mid2 && !(nowS - state.at < 1.0)) {
                mids[m] = MidState(has: true, mid2: mid2, at: nowS)
                sampleOut(burst, ARB_SAMPLE_MID, index, 0, (nowS, pyTrueDivide(mid2, 2) / Double(Self.full)))
            }
        }
        return true
    }

    @inline(__always)
    private func sampleOut(_ burst: Int32, _ kind: Int, _ market: Int32, _ side: Int32, _ value: (Double, Double)) {
        openSamples.append(OpenSample(burst: burst, sample: arb_scan_sample(
            kind: Int32(kind), market: market, side: side, reserved: 0, time: value.0, value: value.1)))
    }

    /// The twin's `_close`: the open bursts, in venue order, to the closed output.
    private func close() {
        guard hasOpen else { return }
        for (b, venue) in openVenues.enumerated() {
            let burst = Int32(b)
            let deliveryStart = closedDeliveries.count, sampleStart = closedSamples.count
            for d in openDeliveries where d.burst == burst {
                let levelStart = closedLevels.count / 2
                let pairs = Int(d.counts.0 + d.counts.1 + d.counts.2 + d.counts.3)
                closedLevels.append(contentsOf: openLevels.pointer + 2 * d.levelStart, count: 2 * pairs)
                let textStart = closedText.count
                closedText.append(contentsOf: openText.pointer + d.reasonStart, count: d.reasonLength)
                closedDeliveries.append(arb_scan_delivery(
                    market: d.market, tradeable: d.tradeable ? 1 : 0, records: d.records,
                    level_start: Int64(levelStart), counts: d.counts, reason_start: Int64(textStart),
                    reason_len: Int64(d.reasonLength)))
                deliverySlot[Int(d.market)] = -1
            }
            for s in openSamples where s.burst == burst { closedSamples.append(s.sample) }
            closedBursts.append(arb_scan_burst(
                at: openAt, venue: venue, reserved: 0, delivery_start: Int64(deliveryStart),
                delivery_count: Int64(closedDeliveries.count - deliveryStart), sample_start: Int64(sampleStart),
                sample_count: Int64(closedSamples.count - sampleStart)))
            openBurstOfVenue[Int(venue)] = -1
        }
        openVenues.removeAll(keepingCapacity: true)
        openDeliveries.removeAll(keepingCapacity: true)
        openSamples.removeAll(keepingCapacity: true)
        openLevels.removeAll()
        openText.removeAll()
        hasOpen = false
    }

    // MARK: - Sampling (arbbot.run.samples.StreamSamples._on_best on the first levels)

    /// An effective ask (nil level = none); nil when a sum overflows.
    struct Ask { var level: Level? }

    /// The twin's `_effective_ask`: the better of the side's own ask and $1 − the opposite
    /// side's bid (their sizes added on a tie).
    @inline(__always)
    private func effectiveAsk(_ ask: Level?, _ oppositeBid: Level?) -> Ask? {
        var viaBid: Level? = nil
        if let bid = oppositeBid {
            let (price, overflow) = Self.full.subtractingReportingOverflow(bid.price)
            if overflow { return nil }
            viaBid = Level(price: price, qty: bid.qty)
        }
        guard let ask else { return Ask(level: viaBid) }
        guard let via = viaBid, !(ask.price < via.price) else { return Ask(level: ask) }
        if via.price < ask.price { return Ask(level: via) }
        let (qty, overflow) = ask.qty.addingReportingOverflow(via.qty)
        return overflow ? nil : Ask(level: Level(price: ask.price, qty: qty))
    }

    /// The twin's `_ask_update` on a copy of the state: the new state and the depletion sample
    /// (second, removed / start size) it closes, if any; nil when a sum or difference overflows.
    static func askStep(_ old: AskState, best: Level?, second: Int64) -> (state: AskState, sample: (Double, Double)?)? {
        var st = old
        var sample: (Double, Double)? = nil
        if st.second != second {
            if st.changed && st.startSize > 0 {
                guard let removed = removedLots(st) else { return nil }
                sample = (Double(st.second), pyTrueDivide(removed, st.startSize))
            }
            st.second = second
            st.changed = false
            st.removed = 0
            st.startPrice = st.price
            st.startSize = st.price != 0 ? st.size : 0
            st.left = st.startSize
        }
        let price = best?.price ?? 0, size = best?.qty ?? 0
        if price != st.price || size != st.size {
            st.changed = true
            if st.startPrice == 0 {                 // the second began without an ask: measured from its first
                st.startPrice = price
                st.startSize = size
                st.left = size
            } else if price == st.price && price == st.startPrice && size < st.size {
                let (d, o1) = st.size.subtractingReportingOverflow(size)   // taken at the first best ask's price
                let (r, o2) = st.removed.addingReportingOverflow(d)
                if o1 || o2 { return nil }
                st.removed = r
            }
            if price == st.startPrice { st.left = size }
            st.price = price
            st.size = size
        }
        return (st, sample)
    }

    /// The twin's `removed_lots`: what the second's first best ask lost while it stayed the best,
    /// plus what it still held when the best ask ended worse or gone.
    static func removedLots(_ st: AskState) -> Int64? {
        guard st.price == 0 || st.price > st.startPrice else { return st.removed }
        let (r, overflow) = st.removed.addingReportingOverflow(st.left)
        return overflow ? nil : r
    }
}

/// The twin's `_ask[(index, side)]`: [second, price, size, start price, start size, changed, removed, left].
struct AskState: Equatable {
    var second: Int64
    var price: Int64
    var size: Int64
    var startPrice: Int64
    var startSize: Int64
    var changed: Bool
    var removed: Int64
    var left: Int64

    static let fresh = AskState(second: -1, price: 0, size: 0, startPrice: 0, startSize: 0, changed: false,
                                removed: 0, left: 0)
}

/// The twin's `_mid[index]`: [2 × mid ticks, unix s] once it exists.
struct MidState {
    var has: Bool
    var mid2: Int64
    var at: Double
}

struct OpenDelivery {
    var burst: Int32
    var market: Int32
    var records: Int64
    var levelStart: Int                          // pairs into openLevels
    var counts: (Int64, Int64, Int64, Int64)
    var tradeable: Bool
    var reasonStart: Int                         // bytes into openText
    var reasonLength: Int

    mutating func replace(levelStart: Int, counts: (Int64, Int64, Int64, Int64), tradeable: Bool,
                          reasonStart: Int, reasonLength: Int) {
        records += 1
        self.levelStart = levelStart
        self.counts = counts
        self.tradeable = tradeable
        self.reasonStart = reasonStart
        self.reasonLength = reasonLength
    }
}

struct OpenSample {
    var burst: Int32
    var sample: arb_scan_sample
}

// MARK: - Interning

/// Venue labels and (venue id, market id) byte strings → dense ids, in order of first
/// appearance. Bytes live in one arena (stable between calls: the C API hands out pointers).
struct NameTable {
    static let maxNames = Int(Int32.max) - 1

    private(set) var arena = ResultBuffer<UInt8>(capacity: 1 << 16)
    // markets
    private var slots = [Int32](repeating: -1, count: 1024)
    private var hashes: [UInt64] = []
    private(set) var venueOf: [Int32] = []
    private(set) var starts: [Int] = []
    private(set) var lengths: [Int] = []
    // venues
    private(set) var venueStarts: [Int] = []
    private(set) var venueLengths: [Int] = []

    var count: Int { hashes.count }
    var venueCount: Int { venueStarts.count }

    func free() { arena.free() }

    func market(_ i: Int) -> (venue: Int32, bytes: UnsafePointer<UInt8>, length: Int) {
        (venueOf[i], arena.pointer + starts[i], lengths[i])
    }

    func venue(_ v: Int) -> (bytes: UnsafePointer<UInt8>, length: Int) {
        (arena.pointer + venueStarts[v], venueLengths[v])
    }

    /// The id of a venue label (a linear search: there are a handful).
    mutating func internVenue(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        for v in 0..<venueStarts.count where venueLengths[v] == length {
            if length == 0 || memcmp(arena.pointer + venueStarts[v], bytes, length) == 0 { return Int32(v) }
        }
        venueStarts.append(arena.count)
        venueLengths.append(length)
        arena.append(contentsOf: bytes, count: length)
        return Int32(venueStarts.count - 1)
    }

    /// The index of (venue, market), interned on first sight; nil when the table is full.
    mutating func intern(venue: Int32, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> Int32? {
        let h = Self.hash(venue, bytes, length)
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = slots[s]
            if id < 0 { break }
            let i = Int(id)
            if hashes[i] == h && venueOf[i] == venue && lengths[i] == length
                && (length == 0 || memcmp(arena.pointer + starts[i], bytes, length) == 0) {
                return id
            }
            s = (s + 1) & mask
        }
        guard count < Self.maxNames else { return nil }
        let id = Int32(count)
        hashes.append(h)
        venueOf.append(venue)
        starts.append(arena.count)
        lengths.append(length)
        arena.append(contentsOf: bytes, count: length)
        slots[s] = id
        if 2 * count > slots.count { rehash(2 * slots.count) }
        return id
    }

    private mutating func rehash(_ size: Int) {
        slots = [Int32](repeating: -1, count: size)
        let mask = size - 1
        for (i, h) in hashes.enumerated() {
            var s = Int(truncatingIfNeeded: h) & mask
            while slots[s] >= 0 { s = (s + 1) & mask }
            slots[s] = Int32(i)
        }
    }

    /// 8 bytes at a time, multiply-rotate, then a final avalanche (murmur3's fmix64).
    @inline(__always)
    static func hash(_ venue: Int32, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = (UInt64(UInt32(bitPattern: venue)) &+ 1) &* k ^ UInt64(length)
        let raw = UnsafeRawPointer(bytes)
        var i = 0
        while i + 8 <= length {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = ((h << 5) | (h >> 59)) ^ w
            h = h &* k
            i += 8
        }
        if i < length {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < length {
                w |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = (((h << 5) | (h >> 59)) ^ w) &* k
        }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }
}

// MARK: - Python's integer arithmetic

/// Python's `a // b` (floor division), b != 0 and not (a = Int64.min, b = -1).
@inline(__always)
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Python's `a / b` on ints (b != 0): the correctly rounded (half to even) quotient. Both
/// magnitudes ≤ 2^53: `Double(a) / Double(b)` (exact operands, one rounding), as CPython.
@inline(__always)
func pyTrueDivide(_ a: Int64, _ b: Int64) -> Double {
    let limit: UInt64 = 1 << 53
    if a.magnitude <= limit && b.magnitude <= limit { return Double(a) / Double(b) }
    return exactQuotient(a, b)
}

/// The correctly rounded a / b for any int64s (b != 0): a quotient of ≥ 55 significant bits
/// with a sticky bit for a nonzero remainder rounds to the same double as the exact quotient,
/// then an exact power-of-two scaling.
@inline(never)
func exactQuotient(_ a: Int64, _ b: Int64) -> Double {
    let negative = (a < 0) != (b < 0)
    let ua = a.magnitude, ub = b.magnitude
    if ua == 0 || ub == 0 { return negative ? -0.0 : 0.0 }
    let la = UInt64.bitWidth - ua.leadingZeroBitCount
    let lb = UInt64.bitWidth - ub.leadingZeroBitCount
    let shift = max(0, 55 - (la - lb))                 // 0 ... 118; the quotient has 55 ... 64 bits
    let high: UInt64 = shift >= 64 ? ua << UInt64(shift - 64) : ua >> UInt64(64 - shift)
    let low: UInt64 = shift >= 64 ? 0 : ua << UInt64(shift)
    let (q, r) = ub.dividingFullWidth((high: high, low: low))   // high < ub: the quotient fits
    let magnitude = Double(q | (r != 0 ? 1 : 0))
    return Double(sign: negative ? .minus : .plus, exponent: -shift, significand: magnitude)
}
