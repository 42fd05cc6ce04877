@testable import ArbEngineSwift

/// A direct, unoptimised reading of spec/ARBITRAGE.md over `TestMarket` values: its own
/// decomposition (dictionary merge + sort), candidate generation (Set-of-legs dedup), depth
/// walk (no top-of-book shortcut, no early stop at the cap) and fee arithmetic. Shares
/// nothing with the engine but SHA-256 (tested against published vectors). Property tests
/// compare the engine, incremental state included, against it.
enum Reference {
    // MARK: Books

    static func ladder(_ m: TestMarket, side: Int32) -> Levels {
        let bidsOnly = m.venue != 1
        let source = bidsOnly ? (side == 0 ? m.sides[2] : m.sides[0]) : (side == 0 ? m.sides[1] : m.sides[3])
        var merged: [Int64: Int64] = [:]
        for (p, q) in source where q > 0 { merged[bidsOnly ? 10_000 - p : p, default: 0] += q }
        return merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func crossed(_ m: TestMarket) -> Bool {
        func bestBid(_ s: Levels) -> Int64? { s.filter { $0.1 > 0 }.map(\.0).max() }
        let bidYes = bestBid(m.sides[0]), bidNo = bestBid(m.sides[2])
        if m.venue != 1 {
            guard let bidYes, let bidNo else { return false }
            return bidYes + bidNo >= 10_000
        }
        let askYes = ladder(m, side: 0).first?.0, askNo = ladder(m, side: 1).first?.0
        if let bidYes, let askYes, bidYes >= askYes { return true }
        if let bidNo, let askNo, bidNo >= askNo { return true }
        return false
    }

    // MARK: Candidates

    struct Candidate {
        var lane: Int32, kind: Int32, payout: Int64
        var legs: [(market: Int32, side: Int32)]
    }

    static func candidates(marketCount: Int, relations: [TestRelation]) -> [Candidate] {
        var out: [Candidate] = []
        var seen: [Set<Int32>] = []
        func add(_ lane: Int32, _ kind: Int32, _ payout: Int64, _ legs: [(Int32, Int32)]) {
            let key = Set(legs.map { $0.0 * 2 + $0.1 })
            if seen.contains(key) { return }
            seen.append(key)
            out.append(Candidate(lane: lane, kind: kind, payout: payout, legs: legs.map { (market: $0.0, side: $0.1) }))
        }
        let Y: Int32 = 0, N: Int32 = 1
        for m in 0..<Int32(marketCount) { add(0, 0, 1, [(m, Y), (m, N)]) }
        for r in relations {
            let ms = r.members
            switch r.kind {
            case 0, 3:   // same → cross, equivalent → parity
                let lane: Int32 = r.kind == 0 ? 1 : 3
                add(lane, 1, 1, [(ms[0], Y), (ms[1], N)])
                add(lane, 2, 1, [(ms[0], N), (ms[1], Y)])
            case 1, 2:   // inverse → cross, complement → parity
                let lane: Int32 = r.kind == 1 ? 1 : 3
                add(lane, 3, 1, [(ms[0], Y), (ms[1], Y)])
                add(lane, 4, 1, [(ms[0], N), (ms[1], N)])
            case 4:
                add(2, 5, Int64(ms.count - 1), ms.map { ($0, N) })
                if r.exhaustive { add(2, 6, 1, ms.map { ($0, Y) }) }
            case 5:
                add(4, 7, 1, [(ms[0], N)] + ms.dropFirst().map { ($0, Y) })
                add(4, 8, Int64(ms.count - 1), [(ms[0], Y)] + ms.dropFirst().map { ($0, N) })
            default:
                add(4, 9, 1, [(ms[0], Y), (ms[1], N)])
            }
        }
        return out
    }

    static func id(_ markets: [TestMarket], _ legs: [(market: Int32, side: Int32)]) -> UInt64 {
        let parts = legs.map { Array((markets[Int($0.market)].name + ($0.side == 0 ? "#yes" : "#no")).utf8) }
            .sorted { $0.lexicographicallyPrecedes($1) }
        return SHA256.prefix64(Array(parts.joined(separator: [UInt8(ascii: ",")])))
    }

    // MARK: Sizing

    static func orderFee(_ m: TestMarket, fills: [(Int64, Int64)]) -> Int128 {
        var raw: Int128 = 0, q: Int128 = 0
        for (p, n) in fills {
            raw += Int128(m.rate) * Int128(n) * Int128(p) * Int128(10_000 - p)
            q += Int128(n)
        }
        let r = Int128(m.rounding)
        func ceil(_ a: Int128, _ b: Int128) -> Int128 { (a + b - 1) / b }
        return ceil(raw, r * 10_000_000_000) * r + ceil(Int128(m.perContract) * q, 100)
    }

    static func scan(_ markets: [TestMarket], _ relations: [TestRelation], maxQty: Int64, minProfit: Int64)
        -> (opportunities: [Opp], untradeable: [Int32]) {
        let crossedFlags = markets.map(crossed)
        let ladders = markets.map { [ladder($0, side: 0), ladder($0, side: 1)] }
        var found: [Opp] = []
        for cand in candidates(marketCount: markets.count, relations: relations) {
            if cand.legs.contains(where: { crossedFlags[Int($0.market)] || ladders[Int($0.market)][Int($0.side)].isEmpty }) { continue }
            let legLadders = cand.legs.map { ladders[Int($0.market)][Int($0.side)] }
            let legMarkets = cand.legs.map { markets[Int($0.market)] }
            var index = [Int](repeating: 0, count: cand.legs.count)
            var remaining = legLadders.map { $0[0].1 }
            var total: Int128 = 0
            walk: while true {
                var edge = Int128(cand.payout) * 100_000_000_000_000
                for (k, m) in legMarkets.enumerated() {
                    let p = Int128(legLadders[k][index[k]].0)
                    edge -= p * 10_000_000_000 + Int128(m.rate) * p * (10_000 - p) + Int128(m.perContract) * 100_000_000
                }
                if edge <= 0 { break }
                let segment = remaining.min()!
                total += Int128(segment)
                for k in 0..<remaining.count {
                    remaining[k] -= segment
                    if remaining[k] == 0 {
                        index[k] += 1
                        if index[k] == legLadders[k].count { break walk }
                        remaining[k] = legLadders[k][index[k]].1
                    }
                }
            }
            var q = total
            if maxQty >= 0 { q = min(q, Int128(maxQty)) }
            let unit: Int128 = legMarkets.contains { $0.lot == 100 } ? 100 : 1
            q -= q % unit
            if q == 0 { continue }
            var legs: [Opp.Leg] = []
            var cost: Int128 = 0, fee: Int128 = 0
            for (k, m) in legMarkets.enumerated() {
                var need = q, legCost: Int128 = 0, worst: Int64 = 0
                var fills: [(Int64, Int64)] = []
                for (p, size) in legLadders[k] where need > 0 {
                    let take = min(Int128(size), need)
                    fills.append((p, Int64(take)))
                    legCost += Int128(p) * take
                    worst = p
                    need -= take
                }
                let legFee = orderFee(m, fills: fills)
                cost += legCost
                fee += legFee
                legs.append(Opp.Leg(market: cand.legs[k].market, side: cand.legs[k].side, qty: Int64(q), worst: Int32(worst),
                                    cost: Int64(legCost), fee: Int64(legFee)))
            }
            let payout = Int128(cand.payout) * q * 10_000
            let profit = payout - cost - fee
            if profit < Int128(minProfit) { continue }
            found.append(Opp(id: id(markets, cand.legs), lane: cand.lane, kind: cand.kind, qty: Int64(q), payout: Int64(payout),
                             cost: Int64(cost), fee: Int64(fee), profit: Int64(profit), legs: legs))
        }
        found.sort { $0.profit != $1.profit ? $0.profit > $1.profit : $0.id < $1.id }
        let untradeable = markets.indices.filter { crossedFlags[$0] }.map { Int32($0) }
        return (found, untradeable)
    }
}
