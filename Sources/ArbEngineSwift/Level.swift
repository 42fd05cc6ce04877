/// One ladder level: price in ticks (0...10_000), quantity in lots (> 0 once in a ladder).
struct Level: Equatable {
    var price: Int64
    var qty: Int64
}
