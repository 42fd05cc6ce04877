import CShims

/// The enumerations of arb_engine.h, in header order: status codes, venues, sides, native book
/// sides, relation kinds, lanes and candidate kinds. Each constant is the header's own, so a
/// renumbering there shows up here.

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

// MARK: - Venues

enum Venue {
    static let kalshi = Int32(ARB_VENUE_KALSHI)
    static let polymarket = Int32(ARB_VENUE_POLYMARKET)
    static let forecastex = Int32(ARB_VENUE_FORECASTEX)

    static func isValid(_ v: Int32) -> Bool { v == kalshi || v == polymarket || v == forecastex }
    /// Kalshi and ForecastEx publish bids only (ForecastEx contracts are buy-only).
    static func isBidsOnly(_ v: Int32) -> Bool { v != polymarket }
}

// MARK: - Sides

enum Side {
    static let yes = Int32(ARB_SIDE_YES)
    static let no = Int32(ARB_SIDE_NO)
}

/// Native side indices (ARB_BOOK_*), in array order.
enum BookSide {
    static let yesBids = Int(ARB_BOOK_YES_BIDS)
    static let yesAsks = Int(ARB_BOOK_YES_ASKS)
    static let noBids = Int(ARB_BOOK_NO_BIDS)
    static let noAsks = Int(ARB_BOOK_NO_ASKS)
}

// MARK: - Relation kinds

enum RelationKind {
    static let same = Int32(ARB_REL_SAME)
    static let inverse = Int32(ARB_REL_INVERSE)
    static let complement = Int32(ARB_REL_COMPLEMENT)
    static let equivalent = Int32(ARB_REL_EQUIVALENT)
    static let bucket = Int32(ARB_REL_BUCKET)
    static let tree = Int32(ARB_REL_TREE)
    static let implies = Int32(ARB_REL_IMPLIES)

    static func isValid(_ k: Int32) -> Bool { k >= same && k <= implies }

    /// Whether `count` members fit kind `k`: pairs exactly 2, bucket ≥ 2, tree ≥ 3.
    static func accepts(_ k: Int32, memberCount count: Int) -> Bool {
        switch k {
        case bucket: return count >= 2
        case tree: return count >= 3
        default: return count == 2
        }
    }
}

// MARK: - Lanes and kinds of candidates

enum Lane {
    static let intra = Int32(ARB_LANE_INTRA)
    static let cross = Int32(ARB_LANE_CROSS)
    static let bucket = Int32(ARB_LANE_BUCKET)
    static let parity = Int32(ARB_LANE_PARITY)
    static let tree = Int32(ARB_LANE_TREE)
}

enum Kind {
    static let yesNo = Int32(ARB_KIND_YES_NO)
    static let yesANoB = Int32(ARB_KIND_YES_A_NO_B)
    static let noAYesB = Int32(ARB_KIND_NO_A_YES_B)
    static let yesAYesB = Int32(ARB_KIND_YES_A_YES_B)
    static let noANoB = Int32(ARB_KIND_NO_A_NO_B)
    static let allNo = Int32(ARB_KIND_ALL_NO)
    static let allYes = Int32(ARB_KIND_ALL_YES)
    static let parentNoChildrenYes = Int32(ARB_KIND_PARENT_NO_CHILDREN_YES)
    static let parentYesChildrenNo = Int32(ARB_KIND_PARENT_YES_CHILDREN_NO)
    static let parentYesChildNo = Int32(ARB_KIND_PARENT_YES_CHILD_NO)
}
