import CShims

/// Step 5's estimates (SIZING.md `robust_inputs`; twin: arbbot/sizing/robust.py): the samples of
/// the last `window_s` seconds in time order, a MAD filter, winsorizing to the type-7 quartile
/// fences, then the statistic — median (order latency, s), EWMA (depletion rate ρ, per s) or RMS of
/// ΔP / √Δt over consecutive mids (volatility s, $/√s). Fewer than `min_samples` raw samples, step
/// 5 off, or nothing left after the MAD filter (a `mad_z` below 0.6745 can drop every sample) → the
/// prior. Every double is computed as the twin computes it (same operations, same order), so the
/// values are equal, not close.
///
/// Samples are (t s, x) pairs in a ring (`arbbot.run.samples.SampleRing`'s own buffer): `n` pairs,
/// the oldest at pair `start`. A pair with a non-finite t or x is ignored (the twin drops it too).

enum EstimateKind: Int32 {
    case latency = 0        // ARB_ESTIMATE_LATENCY: median
    case depletion = 1      // ARB_ESTIMATE_DEPLETION: EWMA, time order
    case volatility = 2     // ARB_ESTIMATE_VOLATILITY: the samples are mids; RMS of ΔP / √Δt
}

struct RobustParams {
    let enabled: Bool
    let minSamples: Int
    let windowS: Double
    let madZ: Double
    let iqrK: Double
    let alpha: Double
    let prior: Double

    /// ARB_E_ARGUMENT for min_samples < 0; ARB_E_FLOAT for a double that is not finite or out of
    /// its range (window_s ≥ 0, mad_z > 0, iqr_k ≥ 0, 0 ≤ ewma_alpha ≤ 1).
    init(_ p: arb_robust_params) throws(EngineError) {
        guard p.min_samples >= 0 else { throw EngineError(Status.argument) }
        guard finiteIn(p.window_s, 0), finiteIn(p.mad_z, 0, openLow: true), finiteIn(p.iqr_k, 0),
              finiteIn(p.ewma_alpha, 0, 1), p.prior.isFinite
        else { throw EngineError(Status.float) }
        enabled = p.enabled != 0
        minSamples = Int(p.min_samples)
        windowS = p.window_s
        madZ = p.mad_z
        iqrK = p.iqr_k
        alpha = p.ewma_alpha
        prior = p.prior
    }
}

let madScale = 0.6745           // the MAD z-score's consistency constant (robust.MAD_SCALE)

/// The ring's pairs with `now − window_s ≤ t ≤ now` (and finite x), stably sorted by t (the ring
/// is normally in time order already: then nothing is sorted).
func windowed(_ samples: UnsafePointer<Double>, count n: Int, start: Int, now: Double, windowS: Double)
    -> [(t: Double, x: Double)] {
    let low = now - windowS
    var kept: [(t: Double, x: Double)] = []
    kept.reserveCapacity(n)
    var ordered = true
    for k in 0..<n {
        let j = (start + k) % n
        let t = samples[2 * j], x = samples[2 * j + 1]
        if low <= t && t <= now && x.isFinite {
            if let last = kept.last, t < last.t { ordered = false }
            kept.append((t, x))
        }
    }
    if !ordered {                                   // stable: equal times keep ring order
        let order = kept.indices.sorted { a, b in kept[a].t < kept[b].t || (kept[a].t == kept[b].t && a < b) }
        kept = order.map { kept[$0] }
    }
    return kept
}

/// The median of `s` (non-empty, ascending): the twin's `median` (mean of the two middle values for
/// an even count).
func median(sorted s: [Double]) -> Double {
    let mid = s.count / 2
    return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2.0
}

/// R type-7 quantile of `s` (non-empty, ascending).
func quantile7(sorted s: [Double], _ p: Double) -> Double {
    let h = Double(s.count - 1) * p
    let lo = h.rounded(.down)
    let i = Int(lo)
    let hi = min(i + 1, s.count - 1)
    return s[i] + (h - lo) * (s[hi] - s[i])
}

/// |x − m| for every x of `s` (ascending), ascending: the values below m read backwards and those
/// from m on read forwards are each ascending, merged (no second sort).
func sortedDeviations(_ s: [Double], from m: Double) -> [Double] {
    var split = 0
    while split < s.count && s[split] < m { split += 1 }
    var out: [Double] = []
    out.reserveCapacity(s.count)
    var left = split - 1, right = split
    while left >= 0 || right < s.count {
        let l = left >= 0 ? abs(s[left] - m) : Double.infinity
        let r = right < s.count ? abs(s[right] - m) : Double.infinity
        if right >= s.count || (left >= 0 && l <= r) {
            out.append(l)
            left -= 1
        } else {
            out.append(r)
            right += 1
        }
    }
    return out
}

/// The MAD filter, then winsorizing; time order kept. The twin sorts four times (median, MAD, two
/// quartiles); the same order statistics come from one sort here: the deviations' order by a merge,
/// the survivors' by filtering the sorted values with the same test.
func cleaned(_ xs: [Double], madZ: Double, iqrK: Double) -> [Double] {
    if xs.isEmpty { return [] }
    let s = xs.sorted()
    let m = median(sorted: s)
    let mad = median(sorted: sortedDeviations(s, from: m))
    let kept: [Double], keptSorted: [Double]
    if mad == 0.0 {
        kept = xs
        keptSorted = s
    } else {
        let test = { (x: Double) -> Bool in madScale * abs(x - m) / mad <= madZ }
        kept = xs.filter(test)
        keptSorted = s.filter(test)
    }
    if kept.isEmpty { return [] }
    let q1 = quantile7(sorted: keptSorted, 0.25), q3 = quantile7(sorted: keptSorted, 0.75)
    let iqr = q3 - q1
    let low = q1 - iqrK * iqr, high = q3 + iqrK * iqr
    return kept.map { pyMin(pyMax($0, low), high) }
}

/// (value, raw samples in the window, the prior?) of one estimate.
func robustEstimate(_ kind: EstimateKind, _ samples: UnsafePointer<Double>, count n: Int, start: Int,
                    now: Double, _ p: RobustParams) -> (Double, Int64, Bool) {
    let points = n == 0 ? [] : windowed(samples, count: n, start: start, now: now, windowS: p.windowS)
    var raw: [Double]
    if kind == .volatility {
        raw = []
        raw.reserveCapacity(max(points.count - 1, 0))
        if points.count > 1 {
            for i in 1..<points.count where points[i].t > points[i - 1].t {
                raw.append((points[i].x - points[i - 1].x) / (points[i].t - points[i - 1].t).squareRoot())
            }
        }
    } else {
        raw = points.map(\.x)
    }
    let count = Int64(raw.count)
    if !p.enabled || raw.count < p.minSamples { return (p.prior, count, true) }
    let xs = cleaned(raw, madZ: p.madZ, iqrK: p.iqrK)
    if xs.isEmpty { return (p.prior, count, true) }
    switch kind {
    case .latency:
        return (median(sorted: xs.sorted()), count, false)
    case .depletion:
        var e = xs[0]
        for x in xs.dropFirst() { e = p.alpha * x + (1.0 - p.alpha) * e }
        return (e, count, false)
    case .volatility:
        var total = 0.0
        for x in xs { total += x * x }
        return ((total / Double(xs.count)).squareRoot(), count, false)
    }
}

@c @implementation
public func arb_robust_estimate(_ kind: Int32, _ samples: UnsafePointer<Double>?, _ n: Int64, _ start: Int64,
                                _ now: Double, _ params: UnsafePointer<arb_robust_params>?,
                                _ out: UnsafeMutablePointer<arb_robust_estimate_out>?) -> Int32 {
    do throws(EngineError) {
        guard let params, let out else { throw EngineError(Status.null) }
        guard let which = EstimateKind(rawValue: kind) else { throw EngineError(Status.kind) }
        guard n >= 0, n <= Int64(Int32.max), start >= 0, start < max(n, 1) else { throw EngineError(Status.length) }
        guard n == 0 || samples != nil else { throw EngineError(Status.null) }
        guard now.isFinite else { throw EngineError(Status.float) }
        let p = try RobustParams(params.pointee)
        let empty = [0.0, 0.0]
        let (value, count, prior) = empty.withUnsafeBufferPointer { none in
            robustEstimate(which, samples ?? none.baseAddress!, count: Int(n), start: Int(start), now: now, p)
        }
        out.pointee = arb_robust_estimate_out(value: value, samples: count, prior: prior ? 1 : 0, reserved: 0)
        return Status.ok
    } catch {
        return error.code
    }
}
