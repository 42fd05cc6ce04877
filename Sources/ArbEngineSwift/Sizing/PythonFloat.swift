/// Python's two-argument `min` / `max` on doubles, exactly: the first argument unless the second
/// compares strictly smaller / larger (so NaN and ±0 come out as in the twin), and `float(int)`
/// is `Double(Int64)` (round to nearest even, as CPython). Every double of the sizing chain that
/// the twin takes through `min` / `max` goes through these.

@inline(__always)
func pyMin(_ a: Double, _ b: Double) -> Double { b < a ? b : a }

@inline(__always)
func pyMax(_ a: Double, _ b: Double) -> Double { b > a ? b : a }

/// `x` finite and in [low, high] (closed ends; `openLow` makes the low end strict).
@inline(__always)
func finiteIn(_ x: Double, _ low: Double, _ high: Double = .greatestFiniteMagnitude, openLow: Bool = false,
              openHigh: Bool = false) -> Bool {
    x.isFinite && (openLow ? x > low : x >= low) && (openHigh ? x < high : x <= high)
}
