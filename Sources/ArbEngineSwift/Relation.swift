/// A validated relation: kind (ARB_REL_*), member market indices in leg order, exhaustive flag.
struct Relation {
    var kind: Int32
    var members: [Int32]
    var exhaustive: Bool

    /// The relation's leg sets in table order.
    var legSets: [LegSet] {
        switch kind {
        case RelationKind.same, RelationKind.inverse:
            return crossLegSets(kind: kind, a: members[0], b: members[1])
        case RelationKind.complement, RelationKind.equivalent:
            return parityLegSets(kind: kind, a: members[0], b: members[1])
        case RelationKind.bucket:
            return bucketLegSets(members: members, exhaustive: exhaustive)
        case RelationKind.tree:
            return treeLegSets(parent: members[0], children: Array(members[1...]))
        default:
            return [impliesLegSet(parent: members[0], child: members[1])]
        }
    }
}
