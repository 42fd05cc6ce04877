import CShims

/// arb_scanner_* (arb_engine.h, "the replay's record scanner"): pointer and length checks, then
/// RecordScanner. Nothing traps; a bad argument returns its status and changes nothing.

/// A valid address for empty inputs given as NULL (never read: its length is 0).
nonisolated(unsafe) private let emptyBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
nonisolated(unsafe) private let emptyLevels = UnsafeMutablePointer<Int64>.allocate(capacity: 2)

@inline(__always)
private func scanner(_ handle: OpaquePointer?) throws(EngineError) -> RecordScanner {
    guard let handle else { throw EngineError(Status.null) }
    return Unmanaged<RecordScanner>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// `length` bytes at `pointer` (NULL allowed when empty).
@inline(__always)
private func bytes(_ pointer: UnsafePointer<UInt8>?, _ length: Int64) throws(EngineError) -> UnsafePointer<UInt8> {
    guard length >= 0 && length <= Int64(Int32.max) else { throw EngineError(Status.length) }
    if let pointer { return pointer }
    guard length == 0 else { throw EngineError(Status.null) }
    return UnsafePointer(emptyBytes)
}

@inline(__always)
private func run(_ body: () throws(EngineError) -> Void) -> Int32 {
    do {
        try body()
        return Status.ok
    } catch {
        return error.code
    }
}

@c @implementation
public func arb_scanner_create(_ scannerOut: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let scannerOut else { return Status.null }
    scannerOut.pointee = OpaquePointer(Unmanaged.passRetained(RecordScanner()).toOpaque())
    return Status.ok
}

@c @implementation
public func arb_scanner_destroy(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<RecordScanner>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@c @implementation
public func arb_scanner_feed(_ handle: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ len: Int64, _ start: Int64,
                             _ out: UnsafeMutablePointer<arb_scan_feed>?) -> Int32 {
    run { () throws(EngineError) in
        let s = try scanner(handle)
        guard let out else { throw EngineError(Status.null) }
        guard len >= 0 && start >= 0 else { throw EngineError(Status.length) }
        if len > 0 && data == nil { throw EngineError(Status.null) }
        let r = s.feed(data ?? UnsafePointer(emptyBytes), count: Int(len), start: Int(start))
        out.pointee = arb_scan_feed(end: Int64(r.end), lines: Int64(r.lines), stopped: r.stopped ? 1 : 0, reserved: 0)
    }
}

@c @implementation
public func arb_scanner_add(_ handle: OpaquePointer?, _ at: Int64, _ venue: UnsafePointer<UInt8>?, _ venueLen: Int64,
                            _ market: UnsafePointer<UInt8>?, _ marketLen: Int64, _ levels: UnsafePointer<Int64>?,
                            _ counts: UnsafePointer<Int64>?, _ tradeable: Int32, _ reason: UnsafePointer<UInt8>?,
                            _ reasonLen: Int64) -> Int32 {
    run { () throws(EngineError) in
        let s = try scanner(handle)
        guard let counts else { throw EngineError(Status.null) }
        let c = (counts[0], counts[1], counts[2], counts[3])
        let limit: Int64 = 1 << 40
        for n in [c.0, c.1, c.2, c.3] where n < 0 || n > limit { throw EngineError(Status.length) }
        let total = c.0 + c.1 + c.2 + c.3
        if total > 0 && levels == nil { throw EngineError(Status.null) }
        let v = try bytes(venue, venueLen), m = try bytes(market, marketLen), r = try bytes(reason, reasonLen)
        try s.add(at: at, venue: v, venueLength: Int(venueLen), market: m, marketLength: Int(marketLen),
                  levels: levels ?? UnsafePointer(emptyLevels), counts: c, tradeable: tradeable != 0,
                  reason: r, reasonLength: Int(reasonLen))
    }
}

@c @implementation
public func arb_scanner_take(_ handle: OpaquePointer?, _ finish: Int32, _ out: UnsafeMutablePointer<arb_scan_output>?) -> Int32 {
    run { () throws(EngineError) in
        let s = try scanner(handle)
        guard let out else { throw EngineError(Status.null) }
        out.pointee = s.take(finish: finish != 0)
    }
}

@c @implementation
public func arb_scanner_state(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<arb_scan_state>?) -> Int32 {
    run { () throws(EngineError) in
        let s = try scanner(handle)
        guard let out else { throw EngineError(Status.null) }
        out.pointee = arb_scan_state(last: s.last, has_last: s.hasLast ? 1 : 0, reserved: 0, frames: s.frames,
                                     books: s.books, n_names: Int64(s.names.count),
                                     n_venues: Int64(s.names.venueCount))
    }
}

@c @implementation
public func arb_scanner_name(_ handle: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<arb_scan_name>?) -> Int32 {
    run { () throws(EngineError) in
        let s = try scanner(handle)
        guard let out else { throw EngineError(Status.null) }
        guard index >= 0 && index < Int64(s.names.count) else { throw EngineError(Status.market) }
        let name = s.names.market(Int(index))
        out.pointee = arb_scan_name(venue: name.venue, reserved: 0, bytes: name.bytes, len: Int64(name.length))
    }
}

@c @implementation
public func arb_scanner_venue(_ handle: OpaquePointer?, _ venue: Int32, _ out: UnsafeMutablePointer<arb_scan_name>?) -> Int32 {
    run { () throws(EngineError) in
        let s = try scanner(handle)
        guard let out else { throw EngineError(Status.null) }
        guard venue >= 0 && Int(venue) < s.names.venueCount else { throw EngineError(Status.venue) }
        let label = s.names.venue(Int(venue))
        out.pointee = arb_scan_name(venue: venue, reserved: 0, bytes: label.bytes, len: Int64(label.length))
    }
}
