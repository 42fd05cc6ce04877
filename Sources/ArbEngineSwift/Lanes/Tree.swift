/// Lane 5, event trees, in table order:
/// - `tree`: parent m0 partitioned by exclusive children c1…ck (k ≥ 2):
///   {NO m0, YES c1 … YES ck} (PARENT_NO_CHILDREN_YES) pays 1 — exactly one leg wins;
///   {YES m0, NO c1 … NO ck} (PARENT_YES_CHILDREN_NO) pays k — k of the k + 1 legs win.
/// - `implies(child, parent)` (child true ⇒ parent true), members (parent, child):
///   {YES parent, NO child} (PARENT_YES_CHILD_NO) pays 1.
func treeLegSets(parent: Int32, children: [Int32]) -> [LegSet] {
    [LegSet(lane: Lane.tree, kind: Kind.parentNoChildrenYes, payout: 1,
            legs: [(parent, Side.no)] + children.map { ($0, Side.yes) }),
     LegSet(lane: Lane.tree, kind: Kind.parentYesChildrenNo, payout: Int64(children.count),
            legs: [(parent, Side.yes)] + children.map { ($0, Side.no) })]
}

func impliesLegSet(parent: Int32, child: Int32) -> LegSet {
    LegSet(lane: Lane.tree, kind: Kind.parentYesChildNo, payout: 1, legs: [(parent, Side.yes), (child, Side.no)])
}
