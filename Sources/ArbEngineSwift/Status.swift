import CShims

/// Status codes of arb_engine.h (`ARB_OK`, `ARB_E_*`), as Swift constants.
enum Status {
    static let ok: Int32 = 0
    static let null: Int32 = 1
    static let price: Int32 = 2
    static let qty: Int32 = 3
    static let venue: Int32 = 4
    static let kind: Int32 = 5
    static let length: Int32 = 6
    static let bidsOnly: Int32 = 7
    static let market: Int32 = 8
    static let relation: Int32 = 9
    static let rate: Int32 = 10
    static let money: Int32 = 11
    static let lot: Int32 = 12
    static let float: Int32 = 13
    static let capacity: Int32 = 14
    static let name: Int32 = 15
    static let overflow: Int32 = 16
    static let argument: Int32 = 17

    /// A static English message for a code; unknown codes get a generic message.
    static func message(_ code: Int32) -> StaticString {
        switch code {
        case ok: return "ok"
        case null: return "a required pointer is NULL"
        case price: return "a price is outside 0...10000 ticks"
        case qty: return "a quantity is negative or above 10^8 lots (or max_qty < -1)"
        case venue: return "unknown venue code"
        case kind: return "unknown relation kind"
        case length: return "a count or offset is negative, not monotone, or inconsistent"
        case bidsOnly: return "asks given for a Kalshi or ForecastEx book (bids only)"
        case market: return "a market index is out of range"
        case relation: return "relation shape: wrong member count, or a market named twice"
        case rate: return "fee rate outside 0...999999 ppm"
        case money: return "money out of range (negative, rounding < 1, or above the maximum)"
        case lot: return "lot must be 100 (1 contract) or 1 (0.01 contract)"
        case float: return "a float input is NaN, infinite or out of range"
        case capacity: return "an output buffer is too small"
        case name: return "market names: bad offsets"
        case overflow: return "a result does not fit in int64"
        case argument: return "invalid argument"
        default: return "unknown status code"
        }
    }
}

/// Thrown inside the engine, turned into a status code at the C boundary.
struct EngineError: Error {
    let code: Int32
    var index: Int64 = -1
}
