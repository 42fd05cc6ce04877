import CShims

// The C ABI (arb_engine.h). Every function validates its arguments and returns a status code;
// nothing here may trap (a trap would kill the calling Python process).

@c @implementation
public func arb_abi_version() -> UInt32 { 1 }

@c @implementation
public func arb_status_message(_ status: Int32) -> UnsafePointer<CChar>! {
    let message = Status.message(status)
    return UnsafeRawPointer(message.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// Run `body`, mapping a thrown EngineError to its code (and index, when asked for).
@inline(__always)
private func guarded(_ badIndex: UnsafeMutablePointer<Int64>? = nil, _ body: () throws(EngineError) -> Void) -> Int32 {
    do {
        try body()
        return Status.ok
    } catch {
        badIndex?.pointee = error.index
        return error.code
    }
}

@c @implementation
public func arb_decompose(_ venue: Int32, _ levels: UnsafePointer<Int64>?, _ counts: UnsafePointer<Int64>?,
                          _ yes: UnsafeMutablePointer<arb_ladder_buf>?, _ no: UnsafeMutablePointer<arb_ladder_buf>?,
                          _ quote: UnsafeMutablePointer<arb_quote>?) -> Int32 {
    guarded { () throws(EngineError) in
        guard let quote else { throw EngineError(code: Status.null) }
        let book = try NativeBook.validated(venue: venue, levels: levels, counts: counts)
        var yesLadder: [Level] = [], noLadder: [Level] = []
        decompose(venue: venue, book: book, yes: &yesLadder, no: &noLadder)
        for (buffer, ladder) in [(yes, yesLadder), (no, noLadder)] {
            guard let buffer else { continue }
            guard buffer.pointee.capacity >= Int64(ladder.count) else { throw EngineError(code: Status.capacity) }
            guard ladder.isEmpty || buffer.pointee.levels != nil else { throw EngineError(code: Status.null) }
        }
        for (buffer, ladder) in [(yes, yesLadder), (no, noLadder)] {
            guard let buffer else { continue }
            for (i, level) in ladder.enumerated() {
                buffer.pointee.levels[2 * i] = Int64(level.price)
                buffer.pointee.levels[2 * i + 1] = level.qty
            }
            buffer.pointee.count = Int64(ladder.count)
        }
        let askYes = yesLadder.first?.price ?? -1, askNo = noLadder.first?.price ?? -1
        let both = askYes >= 0 && askNo >= 0
        quote.pointee = arb_quote(
            best_bid_yes: book.bestBid(0), best_ask_yes: askYes, best_bid_no: book.bestBid(2), best_ask_no: askNo,
            mid: both ? halfEvenMid(askYes, askNo) : -1, overround: both ? askYes + askNo - 10_000 : Int32.min,
            crossed: isCrossed(venue: venue, book: book, yes: yesLadder, no: noLadder) ? 1 : 0, reserved: 0)
    }
}

@c @implementation
public func arb_order_fee(_ schedule: UnsafePointer<arb_fee_schedule>?, _ fills: UnsafePointer<Int64>?,
                          _ nFills: Int64, _ feeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded { () throws(EngineError) in
        guard let schedule, let feeOut else { throw EngineError(code: Status.null) }
        let s = FeeSchedule(rate: Int64(schedule.pointee.taker_rate_ppm), perContract: schedule.pointee.per_contract,
                            rounding: schedule.pointee.rounding)
        try s.validate()
        guard nFills >= 0 && nFills <= (1 << 40) else { throw EngineError(code: Status.length) }
        if nFills > 0 && fills == nil { throw EngineError(code: Status.null) }
        var raw: Int128 = 0, qty: Int128 = 0
        for i in 0..<Int(nFills) {
            let p = fills![2 * i], q = fills![2 * i + 1]
            guard p >= 0 && p <= priceMax else { throw EngineError(code: Status.price) }
            guard q >= 0 && q <= levelQtyMax else { throw EngineError(code: Status.qty) }
            raw += s.raw(price: Int32(p), qty: q)
            qty += Int128(q)
        }
        feeOut.pointee = try fitInt64(s.fee(raw: raw, qty: qty))
    }
}

@c @implementation
public func arb_engine_create(_ universe: UnsafePointer<arb_universe>?, _ engineOut: UnsafeMutablePointer<OpaquePointer?>?,
                              _ badIndex: UnsafeMutablePointer<Int64>?) -> Int32 {
    badIndex?.pointee = -1
    return guarded(badIndex) { () throws(EngineError) in
        guard let universe, let engineOut else { throw EngineError(code: Status.null) }
        let engine = try buildEngine(universe.pointee)
        engineOut.pointee = OpaquePointer(Unmanaged.passRetained(engine).toOpaque())
    }
}

/// Validate and copy a universe (ABI order: sizes, pointers, markets, names, relations, params).
private func buildEngine(_ u: arb_universe) throws(EngineError) -> Engine {
    guard u.n_markets >= 0 && u.n_relations >= 0 else { throw EngineError(code: Status.length) }
    let n = Int(u.n_markets), r = Int(u.n_relations)
    if n > 0 && (u.venue == nil || u.lot == nil || u.taker_rate_ppm == nil || u.per_contract == nil
                 || u.rounding == nil || u.book_counts == nil) {
        throw EngineError(code: Status.null)
    }
    if u.name_offsets == nil || (n > 0 && u.names == nil) || u.rel_offsets == nil { throw EngineError(code: Status.null) }
    if r > 0 && (u.rel_kind == nil || u.rel_exhaustive == nil) { throw EngineError(code: Status.null) }
    var venues: [Int32] = [], lots: [Int64] = [], fees: [FeeSchedule] = [], books: [NativeBook] = []
    var levelOffset = 0
    for m in 0..<n {
        do throws(EngineError) {
            let v = u.venue[m]
            guard Venue.isValid(v) else { throw EngineError(code: Status.venue) }
            guard u.lot[m] == 100 || u.lot[m] == 1 else { throw EngineError(code: Status.lot) }
            let s = FeeSchedule(rate: Int64(u.taker_rate_ppm[m]), perContract: u.per_contract[m], rounding: u.rounding[m])
            try s.validate()
            let counts = u.book_counts + 4 * m
            var total = 0
            for i in 0..<4 {
                guard counts[i] >= 0 && counts[i] <= (1 << 40) else { throw EngineError(code: Status.length) }
                total += Int(counts[i])
            }
            if total > 0 && u.book_levels == nil { throw EngineError(code: Status.null) }
            let book = try NativeBook.validated(venue: v, levels: total > 0 ? u.book_levels + 2 * levelOffset : nil,
                                                counts: counts)
            levelOffset += total
            venues.append(v)
            lots.append(Int64(u.lot[m]))
            fees.append(s)
            books.append(book)
        } catch {
            throw EngineError(code: error.code, index: Int64(m))
        }
    }
    guard u.name_offsets[0] == 0 else { throw EngineError(code: Status.name) }
    var names: [[UInt8]] = []
    for m in 0..<n {
        let a = u.name_offsets[m], b = u.name_offsets[m + 1]
        guard b >= a else { throw EngineError(code: Status.name, index: Int64(m)) }
        names.append(Array(UnsafeBufferPointer(start: u.names + Int(a), count: Int(b - a))))
    }
    guard u.rel_offsets[0] == 0 else { throw EngineError(code: Status.length) }
    if r > 0 && u.rel_members == nil && u.rel_offsets[r] > 0 { throw EngineError(code: Status.null) }
    var kinds: [Int32] = [], members: [[Int32]] = [], exhaustive: [Bool] = []
    for j in 0..<r {
        let fail = { (code: Int32) in EngineError(code: code, index: Int64(j)) }
        let k = u.rel_kind[j]
        guard RelationKind.isValid(k) else { throw fail(Status.kind) }
        let a = u.rel_offsets[j], b = u.rel_offsets[j + 1]
        guard b >= a else { throw fail(Status.length) }
        let count = Int(b - a)
        let shapeOK: Bool
        switch k {
        case RelationKind.bucket: shapeOK = count >= 2
        case RelationKind.tree: shapeOK = count >= 3
        default: shapeOK = count == 2
        }
        guard shapeOK else { throw fail(Status.relation) }
        var list: [Int32] = []
        for i in 0..<count {
            let m = u.rel_members[Int(a) + i]
            guard m >= 0 && Int(m) < n else { throw fail(Status.market) }
            guard !list.contains(m) else { throw fail(Status.relation) }
            list.append(m)
        }
        kinds.append(k)
        members.append(list)
        exhaustive.append(u.rel_exhaustive[j] != 0)
    }
    guard u.max_qty >= -1 else { throw EngineError(code: Status.qty) }
    guard u.min_profit >= 0 else { throw EngineError(code: Status.money) }
    return Engine(venue: venues, lot: lots, fees: fees, books: books, names: names, relationKinds: kinds,
                  members: members, exhaustive: exhaustive, maxQty: u.max_qty, minProfit: u.min_profit)
}

@c @implementation
public func arb_engine_destroy(_ engine: OpaquePointer?) {
    guard let engine else { return }
    Unmanaged<Engine>.fromOpaque(UnsafeRawPointer(engine)).release()
}

@inline(__always)
private func engineFrom(_ pointer: OpaquePointer?) throws(EngineError) -> Engine {
    guard let pointer else { throw EngineError(code: Status.null) }
    return Unmanaged<Engine>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

/// Point `out` at the engine's result buffers (valid until the next call on the engine).
private func publish(_ engine: Engine, _ out: UnsafeMutablePointer<arb_result>) {
    engine.withResults { opportunities, legs, untradeable in
        out.pointee = arb_result(opportunities: opportunities.baseAddress, n_opportunities: Int64(opportunities.count),
                                 legs: legs.baseAddress, n_legs: Int64(legs.count),
                                 untradeable: untradeable.baseAddress, n_untradeable: Int64(untradeable.count))
    }
}

@c @implementation
public func arb_engine_scan(_ engine: OpaquePointer?, _ out: UnsafeMutablePointer<arb_result>?) -> Int32 {
    guarded { () throws(EngineError) in
        let e = try engineFrom(engine)
        guard let out else { throw EngineError(code: Status.null) }
        try e.scan()
        publish(e, out)
    }
}

@c @implementation
public func arb_engine_update(_ engine: OpaquePointer?, _ market: Int32, _ levels: UnsafePointer<Int64>?,
                              _ counts: UnsafePointer<Int64>?, _ out: UnsafeMutablePointer<arb_result>?) -> Int32 {
    guarded { () throws(EngineError) in
        let e = try engineFrom(engine)
        guard let out else { throw EngineError(code: Status.null) }
        guard market >= 0 && Int(market) < e.marketCount else { throw EngineError(code: Status.market) }
        let book = try NativeBook.validated(venue: e.venue[Int(market)], levels: levels, counts: counts)
        try e.update(market: Int(market), book: book)
        publish(e, out)
    }
}

@c @implementation
public func arb_evaluate(_ qty: Int64, _ profit: Int64, _ cost: Int64, _ fee: Int64, _ confidence: Double,
                         _ fillProb: Double, _ loss: Double, _ sigma: Double,
                         _ out: UnsafeMutablePointer<arb_evaluation>?) -> Int32 {
    guarded { () throws(EngineError) in
        guard let out else { throw EngineError(code: Status.null) }
        let e = try evaluate(qty: qty, profit: profit, cost: cost, fee: fee, confidence: confidence,
                             fillProb: fillProb, loss: loss, sigma: sigma)
        out.pointee = arb_evaluation(ev: e.ev, kelly: e.kelly, shrunk: e.shrunk)
    }
}
