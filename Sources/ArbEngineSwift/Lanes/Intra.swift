/// Lane 1, intra-market: on every market, {YES m, NO m} pays $1 in every outcome
/// (legs YES then NO). On bids-only venues this needs a crossed book, so it fires only on
/// Polymarket, when the two token books disagree without either being crossed.
func intraLegSet(market m: Int32) -> LegSet {
    LegSet(lane: Lane.intra, kind: Kind.yesNo, payout: 1, legs: [(m, Side.yes), (m, Side.no)])
}
