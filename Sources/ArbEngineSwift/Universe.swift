import CShims

/// Validation of an `arb_universe` (the argument of arb_engine_create) into Swift values the
/// engine copies. Checks run in a fixed order so that the C engine and the Python twin report
/// the same first error:
/// 1. n_markets ≥ 0 and n_relations ≥ 0 (ARB_E_LENGTH);
/// 2. arrays non-null when their count is > 0 (ARB_E_NULL);
/// 3. per market i (bad index i): venue, lot ∈ {100, 1} (ARB_E_LOT), fee rate, commission,
///    rounding, then the native book (NativeBook.validate);
/// 4. names: name_offsets[0] = 0 (bad index -1), non-decreasing (bad index = the market)
///    (ARB_E_NAME);
/// 5. per relation j (bad index j): kind 0...6 (ARB_E_KIND), offsets (rel_offsets[0] = 0,
///    non-decreasing: ARB_E_LENGTH), member count (pairs 2, bucket ≥ 2, tree ≥ 3:
///    ARB_E_RELATION), then each member in order: index in range (ARB_E_MARKET), not seen
///    before in this relation (ARB_E_RELATION);
/// 6. max_qty ≥ -1 (ARB_E_QTY), min_profit ≥ 0 (ARB_E_MONEY), bad index -1.
struct ValidatedUniverse {
    var venue: [Int32] = []
    /// Lots per tradable unit: 100 (whole contracts) or 1 (0.01 contract).
    var lot: [Int64] = []
    var fees: [FeeSchedule] = []
    /// Views into the caller's book levels: valid only during arb_engine_create.
    var books: [NativeBook] = []
    var names = MarketNames(bytes: [], offsets: [0])
    var relations: [Relation] = []
    /// Lots per opportunity, -1 = uncapped.
    var maxQty: Int64 = -1
    /// µ$, the smallest profit reported.
    var minProfit: Int64 = 1

    var marketCount: Int { venue.count }

    static func validate(_ u: arb_universe) throws(EngineError) -> ValidatedUniverse {
        var out = ValidatedUniverse()

        // MARK: 1–2. Sizes and pointers
        guard u.n_markets >= 0 && u.n_relations >= 0 else { throw EngineError(Status.length) }
        let n = Int(u.n_markets), r = Int(u.n_relations)
        if n > 0 {
            guard let _ = u.venue, let _ = u.lot, let _ = u.taker_rate_ppm, let _ = u.per_contract,
                  let _ = u.rounding, let _ = u.book_counts, let _ = u.name_offsets else {
                throw EngineError(Status.null)
            }
        }
        if r > 0 {
            guard let _ = u.rel_kind, let _ = u.rel_exhaustive, let _ = u.rel_offsets, let _ = u.rel_members else {
                throw EngineError(Status.null)
            }
        }

        // MARK: 3. Markets
        out.venue.reserveCapacity(n)
        out.lot.reserveCapacity(n)
        out.fees.reserveCapacity(n)
        out.books.reserveCapacity(n)
        if n > 0, let venues = u.venue, let lots = u.lot, let rates = u.taker_rate_ppm,
           let perContract = u.per_contract, let rounding = u.rounding, let counts = u.book_counts {
            var levelOffset = 0   // pairs before market m's book in book_levels
            for m in 0..<n {
                do throws(EngineError) {
                    let v = venues[m]
                    guard Venue.isValid(v) else { throw EngineError(Status.venue) }
                    guard lots[m] == 100 || lots[m] == 1 else { throw EngineError(Status.lot) }
                    let schedule = FeeSchedule(rate: Int64(rates[m]), perContract: perContract[m], rounding: rounding[m])
                    try schedule.validate()
                    let marketCounts = counts + 4 * m
                    var levels: UnsafePointer<Int64>? = nil
                    if let all = u.book_levels { levels = all + 2 * levelOffset }
                    let book = try NativeBook.validate(venue: v, levels: levels, counts: marketCounts)
                    levelOffset += book.total           // ≤ 2^42 per market: no overflow below the cap
                    guard levelOffset <= 1 << 60 else { throw EngineError(Status.length) }
                    out.venue.append(v)
                    out.lot.append(Int64(lots[m]))
                    out.fees.append(schedule)
                    out.books.append(book)
                } catch {
                    throw EngineError(error.code, index: Int64(m))
                }
            }
        }

        // MARK: 4. Names
        if let offsets = u.name_offsets {
            guard offsets[0] == 0 else { throw EngineError(Status.name) }
            var total = 0
            for m in 0..<n {
                guard offsets[m + 1] >= offsets[m] else { throw EngineError(Status.name, index: Int64(m)) }
            }
            if n > 0 { total = Int(offsets[n]) }
            if total > 0 && u.names == nil { throw EngineError(Status.null) }
            var bytes: [UInt8] = []
            if total > 0, let names = u.names { bytes = Array(UnsafeBufferPointer(start: names, count: total)) }
            out.names = MarketNames(bytes: bytes, offsets: (0...n).map { Int(offsets[$0]) })
        }

        // MARK: 5. Relations
        if r > 0, let kinds = u.rel_kind, let exhaustive = u.rel_exhaustive, let offsets = u.rel_offsets,
           let members = u.rel_members {
            out.relations.reserveCapacity(r)
            var lastSeenIn = [Int](repeating: -1, count: n)   // relation that last named market m
            for j in 0..<r {
                let fail = { (code: Int32) in EngineError(code, index: Int64(j)) }
                let kind = kinds[j]
                guard RelationKind.isValid(kind) else { throw fail(Status.kind) }
                let a = offsets[j], b = offsets[j + 1]
                guard (j > 0 || a == 0) && b >= a else { throw fail(Status.length) }
                let count = Int(b - a)
                guard RelationKind.accepts(kind, memberCount: count) else { throw fail(Status.relation) }
                var list: [Int32] = []
                list.reserveCapacity(min(count, n))   // more than n members must repeat one
                for i in 0..<count {
                    let m = members[Int(a) + i]
                    guard m >= 0 && Int(m) < n else { throw fail(Status.market) }
                    guard lastSeenIn[Int(m)] != j else { throw fail(Status.relation) }
                    lastSeenIn[Int(m)] = j
                    list.append(m)
                }
                out.relations.append(Relation(kind: kind, members: list, exhaustive: exhaustive[j] != 0))
            }
        }

        // MARK: 6. Parameters
        guard u.max_qty >= -1 else { throw EngineError(Status.qty) }
        guard u.min_profit >= 0 else { throw EngineError(Status.money) }
        out.maxQty = u.max_qty
        out.minProfit = u.min_profit
        return out
    }
}
