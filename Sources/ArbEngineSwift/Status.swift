import CShims

// MARK: - Status codes

/// The status codes of arb_engine.h (`ARB_OK`, `ARB_E_*`) as `Int32`, the type every C entry
/// point returns. Taken from the header's constants, so a renumbering there shows up here.
enum Status {
    static let ok = Int32(ARB_OK)
    static let null = Int32(ARB_E_NULL)
    static let price = Int32(ARB_E_PRICE)
    static let qty = Int32(ARB_E_QTY)
    static let venue = Int32(ARB_E_VENUE)
    static let kind = Int32(ARB_E_KIND)
    static let length = Int32(ARB_E_LENGTH)
    static let bidsOnly = Int32(ARB_E_BIDS_ONLY)
    static let market = Int32(ARB_E_MARKET)
    static let relation = Int32(ARB_E_RELATION)
    static let rate = Int32(ARB_E_RATE)
    static let money = Int32(ARB_E_MONEY)
    static let lot = Int32(ARB_E_LOT)
    static let float = Int32(ARB_E_FLOAT)
    static let capacity = Int32(ARB_E_CAPACITY)
    static let name = Int32(ARB_E_NAME)
    static let overflow = Int32(ARB_E_OVERFLOW)
    static let argument = Int32(ARB_E_ARGUMENT)

    // MARK: Messages

    /// A static English message for `code`. The returned string lives in the binary's constant
    /// data (NUL-terminated, never freed); unknown codes get a generic message, never nothing.
    static func message(_ code: Int32) -> StaticString {
        switch code {
        case ok: return "ok"
        case null: return "a required pointer is NULL"
        case price: return "a price is outside 0...10000 ticks"
        case qty: return "a quantity is negative or above 10^8 lots (or max_qty < -1)"
        case venue: return "unknown venue code (0 kalshi, 1 polymarket, 2 forecastex)"
        case kind: return "unknown relation kind (0...6)"
        case length: return "a count or offset is negative, not monotone, or inconsistent"
        case bidsOnly: return "asks given for a Kalshi or ForecastEx book (bids only)"
        case market: return "a market index is out of range"
        case relation: return "relation shape: wrong member count, or a market named twice"
        case rate: return "fee rate outside 0...999999 ppm"
        case money: return "money out of range (negative, rounding < 1, or above the maximum)"
        case lot: return "lot must be 100 (1 contract) or 1 (0.01 contract)"
        case float: return "a float input is NaN, infinite or out of its range"
        case capacity: return "a caller-provided output buffer is too small"
        case name: return "market names: bad offsets"
        case overflow: return "a result does not fit in int64"
        case argument: return "invalid argument (e.g. qty 0 for evaluation)"
        default: return "unknown status code"
        }
    }
}

// MARK: - Errors inside the engine

/// A failed check: the status code to return and, for universe checks, the offending market
/// or relation index (-1 when the error is not about one). Thrown (typed) inside the engine and
/// turned into a return code at the C boundary; never escapes as a trap.
struct EngineError: Error, Equatable {
    var code: Int32
    var index: Int64 = -1

    init(_ code: Int32, index: Int64 = -1) {
        self.code = code
        self.index = index
    }
}
