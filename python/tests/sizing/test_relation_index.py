"""`RelationIndex`: an opportunity's relation is the first one (file order) generating its leg set,
found by one dict probe; checked against a scan of every relation on U20k."""
import pytest

from arbbot.bench.universe import build_u20k
from arbbot.engine.twin.candidates import _relation_leg_sets
from arbbot.engine.types import Kind, Lane, Leg, Opportunity
from arbbot.sizing.trade import RelationIndex


def _opportunity(names, legs, lane=Lane.CROSS) -> Opportunity:
    return Opportunity("00000000000000aa", lane, Kind.YES_A_NO_B,
                       100, 1_000_000, 900_000, 1_000, 99_000,
                       tuple(Leg(names[m], side, 100, 5_000, 500_000, 500) for m, side in legs))


def _first_by_scan(universe, names, wanted):
    for relation in universe.relations:
        for *_, legs in _relation_leg_sets(relation.kind, relation.members, relation.exhaustive):
            if frozenset((names[m], side) for m, side in legs) == wanted:
                return relation
    return None


@pytest.fixture(scope="module")
def u20k():
    return build_u20k(20_000).universe


def test_every_leg_set_finds_the_first_relation_in_file_order(u20k):
    names = [m.name for m in u20k.markets]
    index = RelationIndex(u20k)
    checked, kinds = 0, set()
    for relation in u20k.relations[::9]:           # every kind, spread over the file
        for *_, legs in _relation_leg_sets(relation.kind, relation.members, relation.exhaustive):
            opp = _opportunity(names, legs)
            wanted = frozenset((leg.market, leg.side) for leg in opp.legs)
            assert index.relation(opp) is _first_by_scan(u20k, names, wanted)
            checked += 1
            kinds.add(relation.kind)
    assert checked > 500 and len(kinds) >= 4        # cross pairs, buckets, parity pairs, trees


def test_a_leg_set_no_relation_generates_is_refused(u20k):
    names = [m.name for m in u20k.markets]
    index = RelationIndex(u20k)
    from arbbot.model import Side
    opp = _opportunity(names, [(0, Side.YES), (1, Side.YES), (2, Side.YES)])
    with pytest.raises(ValueError, match="no relation generates its leg set"):
        index.relation(opp)


def test_reset_sees_relations_added_later(u20k):
    from dataclasses import replace
    names = [m.name for m in u20k.markets]
    first = u20k.relations[0]
    smaller = replace(u20k, relations=u20k.relations[1:])
    index = RelationIndex(smaller)
    *_, legs = next(iter(_relation_leg_sets(first.kind, first.members, first.exhaustive)))
    opp = _opportunity(names, legs)
    try:
        before = index.relation(opp)
    except ValueError:
        before = None
    index.reset(u20k)
    assert before is not first and index.relation(opp) is first
