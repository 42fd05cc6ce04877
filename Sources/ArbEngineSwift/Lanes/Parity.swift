/// Lane 4, parity (relation members a, b), payout $1, in table order:
/// - `complement(a, b)` (exactly one is YES): as `inverse` — {YES a, YES b}, {NO a, NO b};
/// - `equivalent(a, b)` (one venue or rule-derived): as `same` — {YES a, NO b}, {NO a, YES b}.
func parityLegSets(kind: Int32, a: Int32, b: Int32) -> [LegSet] {
    pairLegSets(lane: Lane.parity, a: a, b: b, yesMeansYes: kind == RelationKind.equivalent)
}
