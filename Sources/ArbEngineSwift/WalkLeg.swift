/// One leg during the walk: its position in the ladder pool and its market's fee schedule.
struct WalkLeg {
    /// Pool index of the current level, and one past the ladder's last level.
    var level: Int
    var end: Int
    /// Lots left at the current level.
    var remaining: Int64
    var schedule: FeeSchedule
    /// First pool index of the ladder (the best level).
    var first: Int
    /// Per-lot cost (1e-16 $) at the current level, fee included.
    var cost: Int128 = 0

    static let empty = WalkLeg(level: 0, end: 0, remaining: 0,
                               schedule: FeeSchedule(rate: 0, perContract: 0, rounding: 1), first: 0)
}
