/// Lane 3: mutually exclusive m1…mN → {NO m1 … NO mN} pays N − 1; only if the group is
/// exhaustive, {YES m1 … YES mN} pays 1 (an augmented group's implicit "Other" is not a member).
func bucketLegSets(members: [Int32], exhaustive: Bool) -> [LegSet] {
    var sets = [LegSet(lane: Lane.bucket, kind: Kind.allNo, payout: Int64(members.count - 1),
                       legs: members.map { ($0, Side.no) })]
    if exhaustive {
        sets.append(LegSet(lane: Lane.bucket, kind: Kind.allYes, payout: 1, legs: members.map { ($0, Side.yes) }))
    }
    return sets
}
