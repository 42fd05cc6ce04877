/// Lane 1: {YES m, NO m} pays $1 on every market (legs YES then NO).
func intraLegSet(market m: Int32) -> LegSet {
    LegSet(lane: Lane.intra, kind: Kind.yesNo, payout: 1, legs: [(m, Side.yes), (m, Side.no)])
}
