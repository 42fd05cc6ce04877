/// Market names (UTF-8 `venue:id`) back to back; market m's name is
/// `bytes[offsets[m] ..< offsets[m + 1]]`.
struct MarketNames {
    var bytes: [UInt8]
    var offsets: [Int]

    func name(_ m: Int) -> ArraySlice<UInt8> { bytes[offsets[m]..<offsets[m + 1]] }
}
