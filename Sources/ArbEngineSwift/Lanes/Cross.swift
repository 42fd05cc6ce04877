/// Lane 2: cross-venue mappings. `same(a, b)` → {YES a, NO b}, {NO a, YES b};
/// `inverse(a, b)` (YES a ≡ NO b) → {YES a, YES b}, {NO a, NO b}; payout $1.
func crossLegSets(kind: Int32, a: Int32, b: Int32) -> [LegSet] {
    pairLegSets(lane: Lane.cross, a: a, b: b, yesEqualsYes: kind == RelationKind.same)
}
