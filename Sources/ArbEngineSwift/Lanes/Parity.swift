/// Lane 4: `complement(a, b)` (exactly one is YES) → {YES a, YES b}, {NO a, NO b};
/// `equivalent(a, b)` → as `same`; payout $1.
func parityLegSets(kind: Int32, a: Int32, b: Int32) -> [LegSet] {
    pairLegSets(lane: Lane.parity, a: a, b: b, yesEqualsYes: kind == RelationKind.equivalent)
}
