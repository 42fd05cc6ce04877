import CShims

/// The C ABI (arb_engine.h), implemented with `@c @implementation` so every signature is
/// checked against the header at compile time. Each function checks its pointers and
/// arguments, calls the Swift API and returns a status code. Nothing here may trap: a trap
/// would kill the calling Python process.

// MARK: - Helpers

/// Run `body`; a thrown EngineError becomes its status code (and its index, when asked).
@inline(__always)
private func guarded(_ badIndex: UnsafeMutablePointer<Int64>? = nil,
                     _ body: () throws(EngineError) -> Void) -> Int32 {
    do {
        try body()
        return Status.ok
    } catch {
        badIndex?.pointee = error.index
        return error.code
    }
}

/// The engine behind an opaque handle (not retained: the caller's reference keeps it alive).
@inline(__always)
private func engine(_ handle: OpaquePointer?) throws(EngineError) -> Engine {
    guard let handle else { throw EngineError(Status.null) }
    return Unmanaged<Engine>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

// MARK: - Version and messages

@c @implementation
public func arb_abi_version() -> UInt32 { ARB_ABI_VERSION }

@c @implementation
public func arb_status_message(_ status: Int32) -> UnsafePointer<CChar>! {
    let message = Status.message(status)   // a literal: static, NUL-terminated storage
    return UnsafeRawPointer(message.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: - Decomposition and fees

@c @implementation
public func arb_decompose(_ venue: Int32, _ levels: UnsafePointer<Int64>?, _ counts: UnsafePointer<Int64>?,
                          _ yes: UnsafeMutablePointer<arb_ladder_buf>?, _ no: UnsafeMutablePointer<arb_ladder_buf>?,
                          _ quote: UnsafeMutablePointer<arb_quote>?) -> Int32 {
    guarded { () throws(EngineError) in
        guard let quote else { throw EngineError(Status.null) }
        let book = try NativeBook.validate(venue: venue, levels: levels, counts: counts)
        let (yesLadder, noLadder) = decomposeLadders(book)
        // Check both buffers before writing either: nothing is written on error.
        for (buffer, ladder) in [(yes, yesLadder), (no, noLadder)] {
            guard let buffer else { continue }
            guard buffer.pointee.capacity >= Int64(ladder.count) else { throw EngineError(Status.capacity) }
            guard ladder.isEmpty || buffer.pointee.levels != nil else { throw EngineError(Status.null) }
        }
        for (buffer, ladder) in [(yes, yesLadder), (no, noLadder)] {
            guard let buffer else { continue }
            if let out = buffer.pointee.levels {
                for (i, level) in ladder.enumerated() {
                    out[2 * i] = level.price
                    out[2 * i + 1] = level.qty
                }
            }
            buffer.pointee.count = Int64(ladder.count)
        }
        quote.pointee = book.quote
    }
}

@c @implementation
public func arb_order_fee(_ schedule: UnsafePointer<arb_fee_schedule>?, _ fills: UnsafePointer<Int64>?,
                          _ nFills: Int64, _ feeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded { () throws(EngineError) in
        guard let schedule, let feeOut else { throw EngineError(Status.null) }
        guard nFills >= 0 && nFills <= sideCountMax else { throw EngineError(Status.length) }
        if nFills > 0 && fills == nil { throw EngineError(Status.null) }
        let s = FeeSchedule(rate: Int64(schedule.pointee.taker_rate_ppm), perContract: schedule.pointee.per_contract,
                            rounding: schedule.pointee.rounding)
        feeOut.pointee = try orderFee(s, fills: fills, count: Int(nFills))
    }
}

// MARK: - Engine

@c @implementation
public func arb_engine_create(_ universe: UnsafePointer<arb_universe>?, _ engineOut: UnsafeMutablePointer<OpaquePointer?>?,
                              _ badIndex: UnsafeMutablePointer<Int64>?) -> Int32 {
    badIndex?.pointee = -1
    return guarded(badIndex) { () throws(EngineError) in
        guard let universe, let engineOut else { throw EngineError(Status.null) }
        let validated = try ValidatedUniverse.validate(universe.pointee)
        let engine = try Engine(validated)
        engineOut.pointee = OpaquePointer(Unmanaged.passRetained(engine).toOpaque())
    }
}

@c @implementation
public func arb_engine_destroy(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<Engine>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@c @implementation
public func arb_engine_scan(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<arb_result>?) -> Int32 {
    guarded { () throws(EngineError) in
        let e = try engine(handle)
        guard let out else { throw EngineError(Status.null) }
        try e.scan()
        out.pointee = e.result
    }
}

@c @implementation
public func arb_engine_update(_ handle: OpaquePointer?, _ market: Int32, _ levels: UnsafePointer<Int64>?,
                              _ counts: UnsafePointer<Int64>?, _ out: UnsafeMutablePointer<arb_result>?) -> Int32 {
    guarded { () throws(EngineError) in
        let e = try engine(handle)
        guard let out else { throw EngineError(Status.null) }
        guard market >= 0 && Int(market) < e.marketCount else { throw EngineError(Status.market) }
        let book = try NativeBook.validate(venue: e.venue[Int(market)], levels: levels, counts: counts)
        try e.update(market: Int(market), book: book)
        out.pointee = e.result
    }
}

@c @implementation
public func arb_engine_sizing_legs(_ handle: OpaquePointer?, _ legs: UnsafePointer<Int32>?, _ nLegs: Int64,
                                   _ legsOut: UnsafeMutablePointer<arb_sizing_leg>?, _ levelsOut: UnsafeMutablePointer<Int64>?,
                                   _ levelsCapacity: Int64, _ levelsUsed: UnsafeMutablePointer<Int64>?,
                                   _ badIndex: UnsafeMutablePointer<Int64>?) -> Int32 {
    badIndex?.pointee = -1
    return guarded(badIndex) { () throws(EngineError) in
        let e = try engine(handle)
        guard nLegs >= 0 && nLegs <= sideCountMax else { throw EngineError(Status.length) }
        if nLegs == 0 {
            levelsUsed?.pointee = 0
            return
        }
        guard let legs, let legsOut, let levelsUsed else { throw EngineError(Status.null) }
        var needed: Int64 = 0
        defer { levelsUsed.pointee = needed }
        try e.sizingLegs(legs, count: Int(nLegs), into: legsOut, levels: levelsOut, capacity: levelsCapacity,
                         needed: &needed)
    }
}

@c @implementation
public func arb_engine_nearest(_ handle: OpaquePointer?, _ indicesOut: UnsafeMutablePointer<Int32>?,
                               _ capacity: Int64, _ countOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded { () throws(EngineError) in
        let e = try engine(handle)
        guard capacity >= 0 else { throw EngineError(Status.length) }
        guard let countOut else { throw EngineError(Status.null) }
        countOut.pointee = 0
        guard let indicesOut else {                       // a size query: how many have an edge
            countOut.pointee = Int64(e.withTopEdge())
            return
        }
        let found = e.nearest(capacity: Int(min(capacity, Int64(e.candidates.count))))
        for (i, c) in found.enumerated() { indicesOut[i] = c }
        countOut.pointee = Int64(found.count)
    }
}

@c @implementation
public func arb_engine_set_limits(_ handle: OpaquePointer?, _ maxQty: Int64, _ minProfit: Int64) -> Int32 {
    guarded { () throws(EngineError) in
        try engine(handle).setLimits(maxQty: maxQty, minProfit: minProfit)
    }
}

// MARK: - Evaluation

@c @implementation
public func arb_evaluate(_ qty: Int64, _ profit: Int64, _ cost: Int64, _ fee: Int64, _ confidence: Double,
                         _ fillProb: Double, _ loss: Double, _ sigma: Double,
                         _ out: UnsafeMutablePointer<arb_evaluation>?) -> Int32 {
    guarded { () throws(EngineError) in
        guard let out else { throw EngineError(Status.null) }
        let e = try evaluate(qty: qty, profit: profit, cost: cost, fee: fee, confidence: confidence,
                             fillProb: fillProb, loss: loss, sigma: sigma)
        out.pointee = arb_evaluation(ev: e.ev, kelly: e.kelly, shrunk: e.shrunk)
    }
}
