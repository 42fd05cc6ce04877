/// SplitMix64 exactly as Vigna's splitmix64.c (state += 0x9E3779B97F4A7C15, then the mix);
/// a uniform in [0, 1) is (next() >> 11) × 2^−53. Twin: python/arbbot/sizing/rng.py.
///
/// The k-th output after state s is mix(s + k × γ), so a caller that needs only some of the next
/// outputs can mix the ones it reads (`uniform(at:)`, `bits53(at:)`) and move its state ahead by
/// a multiple of γ: same stream.
struct SplitMix64 {
    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15
    private(set) var state: UInt64

    init(seed: UInt64) { state = seed }

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= Self.gamma
        return Self.mix(state)
    }

    /// The uniform of the `k`-th output (k ≥ 1) after state `base`: bits53 × 2⁻⁵³.
    @inline(__always)
    static func uniform(at k: UInt64, from base: UInt64) -> Double {
        Double(bits53(at: k, from: base)) * 0x1.0p-53
    }

    /// The top 53 bits of the `k`-th output (k ≥ 1) after state `base`.
    @inline(__always)
    static func bits53(at k: UInt64, from base: UInt64) -> UInt64 {
        mix(base &+ gamma &* k) >> 11
    }

    @inline(__always)
    static func mix(_ s: UInt64) -> UInt64 {
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
