/// Lane 5: parent m0 partitioned by exclusive children c1…ck → {NO m0, YES c1 … YES ck} pays 1
/// and {YES m0, NO c1 … NO ck} pays k; `implies(c, m0)` → {YES m0, NO c} pays 1.
func treeLegSets(parent: Int32, children: [Int32]) -> [LegSet] {
    [LegSet(lane: Lane.tree, kind: Kind.parentNoChildrenYes, payout: 1,
            legs: [(parent, Side.no)] + children.map { ($0, Side.yes) }),
     LegSet(lane: Lane.tree, kind: Kind.parentYesChildrenNo, payout: Int64(children.count),
            legs: [(parent, Side.yes)] + children.map { ($0, Side.no) })]
}

func impliesLegSet(parent: Int32, child: Int32) -> LegSet {
    LegSet(lane: Lane.tree, kind: Kind.parentYesChildNo, payout: 1, legs: [(parent, Side.yes), (child, Side.no)])
}
