import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Step 8's legging-risk simulation per contract, bit for bit the twin's
/// (python/arbbot/sizing/montecarlo.py, whose docstring fixes the floating-point order).
///
/// Equivalent shortcuts (same doubles): z and ΔP are computed only for a batch that missed
/// its quote (a filled batch never reads them, and its u1, u2 are skipped in the stream, not
/// mixed: the three uniforms always advance it); u < f is decided on u's integer bits
/// (`fillThreshold`), without converting u; the
/// sorted PnLs are the sorted missed-path PnLs merged with the filled paths' PnL, which is g
/// exactly, so only the missed paths are sorted. Equal doubles are interchangeable in the
/// tail sums, so the stable order is not needed.
extension SizingContext {
    func simulate(_ priced: Priced) -> arb_sizing_monte_carlo {
        let n = priced.contracts
        let g = Double(priced.profit) / n / 1e6
        let legs = opp.legs
        let avg = priced.legCost.map { Double($0) / n / 1e6 }         // p̄_j, $
        let efee = priced.legFee.map { Double($0) / n / 1e6 }         // e_j, $
        let bid = legs.map { Double($0.bestBid) / 10000 }             // $
        let rate = legs.map { Double($0.schedule.rate) / 1e6 }
        let comm = legs.map { Double($0.schedule.perContract) / 1e6 } // $ per contract
        let later = Array(groups.dropFirst())
        let driftT = later.map { params.drift * $0.time }
        let volT = later.map { batch in
            var s = legs[batch.legs[0]].priceVol
            for j in batch.legs.dropFirst() { s = pyMax(s, legs[j].priceVol) }
            return s * sqrt(batch.time)
        }
        // Legs filled before later batch b (batch 1 and every earlier later batch), leg order.
        var unwind: [[Int]] = []
        var filled = groups[0].legs
        for batch in later {
            unwind.append(filled.sorted())
            filled += batch.legs
        }
        let threshold = Double(params.maxRequote) * 0.0001
        let twoPi = 2.0 * Double.pi
        let paths = Int(params.paths)
        /// The PnL after later batch `b` missed its quote with uniforms u1, u2 (re-quote: pnl − d;
        /// unwind: the filled legs sold at the bid), and whether the path unwound.
        func missedBatch(_ b: Int, _ pnl: Double, _ u1: Double, _ u2: Double) -> (Double, Bool) {
            let z = sqrt(-2.0 * log(1.0 - u1)) * cos(twoPi * u2)
            let dp = driftT[b] + volT[b] * z
            if dp <= threshold {
                var d = 0.0
                for j in later[b].legs {
                    let x = pyMin(pyMax(avg[j] + dp, 0.0), 1.0)
                    d += (x + (rate[j] * x * (1.0 - x) + comm[j])) - (avg[j] + efee[j])
                }
                return (pnl - d, false)
            }
            var sum = 0.0
            for j in unwind[b] {
                let x = pyMax(bid[j] - dp, 0.0)
                sum += ((x - (rate[j] * x * (1.0 - x) + comm[j])) - avg[j]) - efee[j]
            }
            return (sum, true)
        }
        // One pass, path order: Σ PnL over all paths and the missed paths' PnLs. The three uniforms
        // of path p's later batch b follow state seed + 3 (p × laterCount + b) γ.
        var missedPnl: [Double] = []
        var total = 0.0
        let laterCount = later.count
        let fillBelow = batchFill.map(fillThreshold)
        let step = SplitMix64.gamma &* 3                              // u, u1, u2
        fillBelow.withUnsafeBufferPointer { below in
            var base = opp.seed                               // the state before the first output
            var path = 0
            while path < paths {
                let (quoted, next) = quotedPaths(from: base, upTo: paths - path, below: below, step: step)
                for _ in 0..<quoted { total += g }            // every later batch filled as quoted: g
                path += quoted
                base = next
                if path == paths { break }
                var pnl = g, unwound = false                  // a later batch of this path missed
                for b in 0..<laterCount {
                    if !unwound && SplitMix64.bits53(at: 1, from: base) >= below[b] {
                        (pnl, unwound) = missedBatch(b, pnl, SplitMix64.uniform(at: 2, from: base),
                                                     SplitMix64.uniform(at: 3, from: base))
                    }
                    base &+= step
                }
                total += pnl
                missedPnl.append(pnl)
                path += 1
            }
        }
        let missedCount = missedPnl.count, quoted = paths - missedCount
        var losses = g < 0.0 ? quoted : 0                     // #(PnL < 0)
        for pnl in missedPnl where pnl < 0.0 { losses += 1 }
        var missedLoss = 0.0
        for pnl in missedPnl { missedLoss += pyMax(0.0, -pnl) }
        missedPnl.sort()
        let count = Double(paths)
        let kC = tailCount(paths, params.cvarLevel), kV = tailCount(paths, params.varLevel)
        var tail = 0.0, valueAtRisk = 0.0
        var i = 0, gLeft = quoted
        for rank in 1...max(kC, kV) {          // the ascending PnLs, first max(kC, kV) of them
            let v: Double
            if i < missedPnl.count && (gLeft == 0 || missedPnl[i] < g) {
                v = missedPnl[i]
                i += 1
            } else {
                v = g
                gLeft -= 1
            }
            if rank <= kC { tail += v }
            if rank == kV { valueAtRisk = -v }
        }
        return arb_sizing_monte_carlo(
            paths: params.paths, seed: opp.seed, mean: total / count, p_loss: Double(losses) / count,
            cvar: -(tail / Double(kC)), value_at_risk: valueAtRisk,
            l_leg: missedCount > 0 ? missedLoss / Double(missedCount) : 0.0, missed: Int64(missedCount))
    }
}

/// How many paths in a row, at most `limit`, from state `base`, have every later batch b filled
/// as quoted (its first uniform's bits below `below[b]`), and the state after them.
private func quotedPaths(from base: UInt64, upTo limit: Int, below: UnsafeBufferPointer<UInt64>,
                         step: UInt64) -> (Int, UInt64) {
    var state = base
    var count = 0
    if below.count == 1 {                                     // the common case, two venues
        let below0 = below[0]
        while count < limit && SplitMix64.bits53(at: 1, from: state) < below0 {
            state &+= step
            count += 1
        }
        return (count, state)
    }
    while count < limit {
        var s = state
        for b in 0..<below.count {
            if SplitMix64.bits53(at: 1, from: s) >= below[b] { return (count, state) }
            s &+= step
        }
        state = s
        count += 1
    }
    return (count, state)
}

/// The batch fills as quoted when its uniform u = k × 2⁻⁵³ (k = the output's top 53 bits) is
/// below f, that is when k < f × 2⁵³ (exact: a power-of-two scaling), that is when k <
/// ceil(f × 2⁵³): the integer this returns. f ≤ 0 or NaN: never (0); f ≥ 1: always (2⁵³).
func fillThreshold(_ f: Double) -> UInt64 {
    if !(f > 0.0) { return 0 }
    if f >= 1.0 { return 1 << 53 }
    return UInt64((f * 0x1.0p53).rounded(.up))
}

/// k = max(1, floor(N × (1 − level) + 1e-9)), at most N (level in (0, 1)).
func tailCount(_ paths: Int, _ level: Double) -> Int {
    let v = (Double(paths) * (1.0 - level) + sizingEpsilon).rounded(.down)
    return v >= Double(paths) ? paths : max(1, Int(v))
}
