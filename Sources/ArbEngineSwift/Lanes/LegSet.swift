/// A candidate trade: buy each (market, side) leg in equal quantity; pays `payout` dollars per
/// contract in every outcome (spec "The five lanes").
struct LegSet {
    var lane: Int32
    var kind: Int32
    var payout: Int64
    var legs: [(market: Int32, side: Int32)]
}

enum Side { static let yes: Int32 = 0; static let no: Int32 = 1 }
enum Lane { static let intra: Int32 = 0, cross: Int32 = 1, bucket: Int32 = 2, parity: Int32 = 3, tree: Int32 = 4 }
enum Kind {
    static let yesNo: Int32 = 0, yesANoB: Int32 = 1, noAYesB: Int32 = 2, yesAYesB: Int32 = 3, noANoB: Int32 = 4
    static let allNo: Int32 = 5, allYes: Int32 = 6
    static let parentNoChildrenYes: Int32 = 7, parentYesChildrenNo: Int32 = 8, parentYesChildNo: Int32 = 9
}
enum RelationKind {
    static let same: Int32 = 0, inverse: Int32 = 1, complement: Int32 = 2, equivalent: Int32 = 3
    static let bucket: Int32 = 4, tree: Int32 = 5, implies: Int32 = 6
    static func isValid(_ k: Int32) -> Bool { k >= 0 && k <= 6 }
}

/// The two leg sets of a pair relation in table order: `same`-like {YES a, NO b}, {NO a, YES b};
/// `inverse`-like {YES a, YES b}, {NO a, NO b}.
func pairLegSets(lane: Int32, a: Int32, b: Int32, yesEqualsYes: Bool) -> [LegSet] {
    if yesEqualsYes {
        return [LegSet(lane: lane, kind: Kind.yesANoB, payout: 1, legs: [(a, Side.yes), (b, Side.no)]),
                LegSet(lane: lane, kind: Kind.noAYesB, payout: 1, legs: [(a, Side.no), (b, Side.yes)])]
    }
    return [LegSet(lane: lane, kind: Kind.yesAYesB, payout: 1, legs: [(a, Side.yes), (b, Side.yes)]),
            LegSet(lane: lane, kind: Kind.noANoB, payout: 1, legs: [(a, Side.no), (b, Side.no)])]
}
