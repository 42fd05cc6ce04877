/// Lane 2, cross-venue mappings (relation members a, b), payout $1, in table order:
/// - `same(a, b)`: {YES a, NO b} (YES_A_NO_B), then {NO a, YES b} (NO_A_YES_B);
/// - `inverse(a, b)` (YES a ≡ NO b): {YES a, YES b} (YES_A_YES_B), then {NO a, NO b} (NO_A_NO_B).
func crossLegSets(kind: Int32, a: Int32, b: Int32) -> [LegSet] {
    pairLegSets(lane: Lane.cross, a: a, b: b, yesMeansYes: kind == RelationKind.same)
}

/// The two leg sets of a pair relation. `yesMeansYes`: a's YES is b's YES (`same`,
/// `equivalent`) → {YES a, NO b}, {NO a, YES b}; otherwise a's YES is b's NO (`inverse`,
/// `complement`) → {YES a, YES b}, {NO a, NO b}. Each pays $1.
func pairLegSets(lane: Int32, a: Int32, b: Int32, yesMeansYes: Bool) -> [LegSet] {
    if yesMeansYes {
        return [LegSet(lane: lane, kind: Kind.yesANoB, payout: 1, legs: [(a, Side.yes), (b, Side.no)]),
                LegSet(lane: lane, kind: Kind.noAYesB, payout: 1, legs: [(a, Side.no), (b, Side.yes)])]
    }
    return [LegSet(lane: lane, kind: Kind.yesAYesB, payout: 1, legs: [(a, Side.yes), (b, Side.yes)]),
            LegSet(lane: lane, kind: Kind.noANoB, payout: 1, legs: [(a, Side.no), (b, Side.no)])]
}
