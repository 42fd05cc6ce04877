/// Lane 3, buckets of mutually exclusive markets m1…mN (N ≥ 2), in table order:
/// - {NO m1 … NO mN} (ALL_NO): at most one is YES, so at least N − 1 NO legs pay: payout N − 1;
/// - only if the group is exhaustive, {YES m1 … YES mN} (ALL_YES): exactly one pays: payout 1.
/// Never assume exhaustive: an augmented neg-risk group has an implicit "Other" outcome.
func bucketLegSets(members: [Int32], exhaustive: Bool) -> [LegSet] {
    var sets = [LegSet(lane: Lane.bucket, kind: Kind.allNo, payout: Int64(members.count - 1),
                       legs: members.map { ($0, Side.no) })]
    if exhaustive {
        sets.append(LegSet(lane: Lane.bucket, kind: Kind.allYes, payout: 1, legs: members.map { ($0, Side.yes) }))
    }
    return sets
}
