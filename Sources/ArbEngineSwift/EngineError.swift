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
