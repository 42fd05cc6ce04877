"""Swift vs Python on hypothesis-generated universes: identical results (byte-identical JSON),
identical errors, and incremental updates equal to a full rescan after any sequence of updates.

Examples per test: HYPOTHESIS_PROFILE=ci → 2,000; default 300; `deep` → 20,000.
"""
from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbbot.engine import (
    Engine, EngineInputError, FeeSchedule, Market, Book, Relation, RelationKind, Status, Universe,
    Venue, decompose, evaluate, order_fee,
)
from arbbot.opportunities import to_json_line

from ..conftest import require_native

settings.register_profile("default", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
# narrower properties (one update path, one packing) run a share of the profile's examples, so that
# CI stays near its time budget; the scan parity runs them all
QUARTER = settings(max_examples=max(50, settings().max_examples // 4))

# ---- strategies: mostly near-efficient books with frequent small mispricings ----------------

prices = st.one_of(st.integers(0, 10_000), st.sampled_from([0, 1, 100, 4_999, 5_000, 9_999, 10_000]))
qtys = st.one_of(st.integers(0, 50_000), st.sampled_from([0, 1, 99, 100, 100_000_000]))
levels = st.lists(st.tuples(prices, qtys), max_size=4).map(tuple)


@st.composite
def near_fair_levels(draw, fair: int):
    """Levels around a fair price so that sums across markets often land near $1."""
    out = []
    for _ in range(draw(st.integers(0, 4))):
        price = min(10_000, max(0, fair + draw(st.integers(-600, 600))))
        out.append((price, draw(st.integers(0, 20_000))))
    return tuple(out)


@st.composite
def books(draw, venue: Venue):
    if draw(st.integers(0, 4)) == 0:       # fully random, including crossed books
        sides = [draw(levels) for _ in range(4)]
    else:
        fair = draw(st.integers(300, 9_700))
        yes_bid, yes_ask = draw(near_fair_levels(fair - 200)), draw(near_fair_levels(fair + 100))
        no_bid, no_ask = draw(near_fair_levels(10_000 - fair - 200)), draw(near_fair_levels(10_000 - fair + 100))
        sides = [yes_bid, yes_ask, no_bid, no_ask]
    if venue.bids_only:
        sides[1] = sides[3] = ()
    return Book(*sides)


fee_schedules = st.builds(
    FeeSchedule,
    taker_rate_ppm=st.one_of(st.sampled_from([0, 30_000, 70_000]), st.integers(0, 999_999)),
    per_contract=st.one_of(st.sampled_from([0, 5_000, 10_000]), st.integers(0, 2_000_000)),
    rounding=st.one_of(st.sampled_from([1, 10, 100, 10_000]), st.integers(1, 1_000_000)),
)


@st.composite
def markets(draw, i: int):
    venue = draw(st.sampled_from(list(Venue)))
    return Market(venue, f"M{i}-{draw(st.text('abcé€#,:', max_size=3))}", draw(fee_schedules),
                  draw(st.sampled_from([100, 1])), draw(books(venue)))


@st.composite
def relations(draw, n: int):
    kind = draw(st.sampled_from(list(RelationKind)))
    size = {RelationKind.BUCKET: draw(st.integers(2, max(2, min(n, 6)))),
            RelationKind.TREE: draw(st.integers(3, max(3, min(n, 6))))}.get(kind, 2)
    if size > n:
        return None
    members = tuple(draw(st.permutations(range(n)))[:size])
    return Relation(kind, members, draw(st.booleans()))


@st.composite
def universes(draw):
    n = draw(st.integers(1, 8))
    ms = tuple(draw(markets(i)) for i in range(n))
    rels = tuple(r for r in draw(st.lists(relations(n), max_size=6)) if r is not None)
    max_qty = draw(st.one_of(st.none(), st.integers(0, 30_000)))
    min_profit = draw(st.one_of(st.just(1), st.integers(0, 50_000)))
    return Universe(ms, rels, max_qty, min_profit)


def outcome(fn):
    """The value, or the error's (status, index): errors must match across engines too."""
    try:
        return fn()
    except EngineInputError as exc:
        return ("error", exc.status, exc.index)


# ---- tests -----------------------------------------------------------------------------------

@given(universes())
def test_scan_is_identical_on_both_engines(universe):
    require_native()
    swift = Engine(universe, engine="swift").scan()
    python = Engine(universe, engine="python").scan()
    assert swift == python
    assert to_json_line(swift, "x") == to_json_line(python, "x")


@QUARTER
@given(universes(), st.lists(st.tuples(st.integers(0, 7), st.data()), min_size=1, max_size=6))
def test_incremental_updates_equal_a_full_rescan(universe, steps):
    require_native()
    engines = {name: Engine(universe, engine=name) for name in ("swift", "python")}
    current = list(universe.markets)
    for index, data in steps:
        m = index % len(current)
        book = data.draw(books(current[m].venue))
        current[m] = dataclasses.replace(current[m], book=book)
        updated = dataclasses.replace(universe, markets=tuple(current))
        fresh = Engine(updated, engine="python").scan()
        name = current[m].name
        expected_touching = tuple(o for o in fresh.opportunities if o.touches(name))
        for engine in engines.values():
            got = engine.update(m, book)
            assert got.opportunities == expected_touching
            assert got.untradeable == ((name,) if name in fresh.untradeable else ())
    for engine in engines.values():
        assert engine.scan() == fresh


@given(st.sampled_from(list(Venue)), levels, levels, levels, levels)
def test_decompose_parity_including_errors(venue, yb, ya, nb, na):
    require_native()
    book = Book(yb, ya, nb, na)
    assert outcome(lambda: decompose(venue, book, engine="swift")) == outcome(lambda: decompose(venue, book, engine="python"))


@given(fee_schedules | st.builds(FeeSchedule, taker_rate_ppm=st.integers(-5, 1_000_005),
                                 per_contract=st.integers(-5, 10**12 + 5), rounding=st.integers(-5, 10**12 + 5)),
       st.lists(st.tuples(st.integers(-2, 10_002), st.integers(-2, 100_000_002)), max_size=6))
def test_order_fee_parity_including_errors(schedule, fills):
    require_native()
    assert outcome(lambda: order_fee(schedule, fills, engine="swift")) == outcome(lambda: order_fee(schedule, fills, engine="python"))


unit = st.floats(0, 1)
@given(st.integers(-10, 10**8), st.integers(-10**9, 10**9), st.integers(0, 10**10), st.integers(0, 10**8),
       unit | st.floats(allow_nan=True), unit, st.floats(0, 5) | st.floats(allow_nan=True), st.floats(0, 0.5))
def test_evaluate_parity(qty, profit, cost, fee, c, f, loss, sigma):
    require_native()
    swift = outcome(lambda: evaluate(qty, profit, cost, fee, c, f, loss, sigma, engine="swift"))
    python = outcome(lambda: evaluate(qty, profit, cost, fee, c, f, loss, sigma, engine="python"))
    assert swift == python   # same operations in the same order: identical doubles
    if not isinstance(swift, tuple):
        assert 0.0 <= swift.kelly <= 1.0 and 0.0 <= swift.shrunk <= 1.0   # never NaN


@QUARTER
@given(universes(), st.integers(0, 7), st.data(), st.lists(st.integers(-3, 3), min_size=4, max_size=4))
def test_a_whole_packed_book_updates_as_its_book_does_on_both_engines(universe, index, data, nudge):
    """`update_packed(m, packed)` (the session's form, counts first) = `update(m, book)`; a packed
    book whose counts do not fit its length is refused alike (LENGTH), on both engines."""
    require_native()
    from array import array
    from arbbot.run.live import pack
    m = index % len(universe.markets)
    book = data.draw(books(universe.markets[m].venue))
    packed = pack(book)
    by_book = {name: outcome(lambda: Engine(universe, engine=name).update(m, book)) for name in ("swift", "python")}
    by_packed = {name: outcome(lambda: Engine(universe, engine=name).update_packed(m, packed))
                 for name in ("swift", "python")}
    assert by_packed == by_book
    bad = array("q", [c + d for c, d in zip(packed[:4], nudge)]) + packed[4:]
    if list(bad[:4]) != list(packed[:4]):
        refused = {name: outcome(lambda: Engine(universe, engine=name).update_packed(m, bad))
                   for name in ("swift", "python")}
        assert refused["swift"] == refused["python"]
        if 2 * sum(bad[:4]) != len(bad) - 4 or min(bad[:4]) < 0:
            assert refused["swift"] == ("error", Status.LENGTH, -1)
    for short in (array("q"), array("q", [0, 0, 0])):
        assert {outcome(lambda: Engine(universe, engine=name).update_packed(m, short))
                for name in ("swift", "python")} == {("error", Status.LENGTH, -1)}


@QUARTER
@given(universes(), st.lists(st.tuples(st.integers(0, 7), st.data()), max_size=4), st.integers(0, 40))
def test_nearest_candidates_are_identical_on_both_engines_and_ranked_by_their_edge(universe, steps, capacity):
    """`Engine.nearest` (arb_engine_nearest and its twin) after any updates: the same indices on
    both engines; exactly the candidates whose every leg has a level in a tradeable market (the
    first `capacity`), by their edge at the best levels recomputed here, ties by index; the live
    ones (those a scan reports can only come from) first; a smaller capacity gives a prefix."""
    from arbbot.engine.twin.candidates import build_candidates
    from arbbot.engine.twin.engine import TwinEngine
    from arbbot.engine.twin.sizing import PAYOUT_PER_LOT, level_cost
    require_native()
    engines = {name: Engine(universe, engine=name) for name in ("swift", "python")}
    current = list(universe.markets)
    for index, data in steps:
        m = index % len(current)
        current[m] = dataclasses.replace(current[m], book=data.draw(books(current[m].venue)))
        for engine in engines.values():
            engine.update(m, current[m].book)
    got = engines["swift"].nearest(capacity)
    assert got == engines["python"].nearest(capacity)
    assert engines["swift"].nearest(max(capacity - 3, 0)) == got[:max(capacity - 3, 0)]
    final = TwinEngine(dataclasses.replace(universe, markets=tuple(current)))   # its ladders, from scratch
    edges = {}
    for c, cand in enumerate(build_candidates(universe)):
        sides = [final.ladders[m][side] for m, side in cand.legs]
        if all(sides) and not any(final.crossed[m] for m, _ in cand.legs):
            edges[c] = cand.payout * PAYOUT_PER_LOT - sum(
                level_cost(ladder[0][0], current[m].fees) for ladder, (m, _) in zip(sides, cand.legs))
    assert list(got) == sorted(edges, key=lambda c: (-edges[c], c))[:capacity]
    reported = {o.id for o in engines["swift"].scan().opportunities}
    ids = [c.id_hex for c in build_candidates(universe)]
    assert all(edges[c] > 0 for c in engines["swift"].nearest(len(edges)) if ids[c] in reported)


def test_nearest_refuses_a_negative_capacity_on_both_engines():
    require_native()
    universe = Universe((Market(Venue.KALSHI, "A", FeeSchedule(0, 0, 1), 100, Book((), (), (), ())),), (), None, 1)
    for name in ("swift", "python"):
        engine = Engine(universe, engine=name)
        assert engine.nearest(0) == () and engine.nearest(5) == ()      # no side quoted: no edge
        try:
            engine.nearest(-1)
        except EngineInputError as exc:
            assert exc.status is Status.LENGTH
        else:
            raise AssertionError("a negative capacity was accepted")


@QUARTER
@given(universes(), st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 30_000)), st.integers(0, 50_000),
                                      st.integers(0, 7), st.data()), min_size=1, max_size=4))
def test_limits_changed_in_place_size_as_an_engine_built_with_them_on_both_engines(universe, steps):
    """`set_limits` (an operator's live max_qty / min_profit): every later scan and update, on
    both engines, equals a fresh engine's built on the same books with those limits."""
    require_native()
    engines = {name: Engine(universe, engine=name) for name in ("swift", "python")}
    current = universe
    for max_qty, min_profit, index, data in steps:
        for engine in engines.values():
            engine.set_limits(max_qty, min_profit)
        current = dataclasses.replace(current, max_qty=max_qty, min_profit=min_profit)
        fresh = Engine(current, engine="python").scan()
        for engine in engines.values():
            assert engine.scan() == fresh
        m = index % len(current.markets)                  # and an update after it, as a fresh engine
        book = data.draw(books(current.markets[m].venue))
        markets = list(current.markets)
        markets[m] = dataclasses.replace(markets[m], book=book)
        current = dataclasses.replace(current, markets=tuple(markets))
        name = markets[m].name
        want = tuple(o for o in Engine(current, engine="python").scan().opportunities if o.touches(name))
        for engine in engines.values():
            assert engine.update(m, book).opportunities == want


@pytest.mark.parametrize("max_qty, min_profit, status", [(-1, 0, Status.QTY), (True, 0, Status.QTY),
                                                         (1.5, 0, Status.QTY), (0, -1, Status.MONEY),
                                                         (0, 2 ** 63, Status.MONEY)])
def test_limits_an_engine_refuses_change_nothing_on_both_engines(max_qty, min_profit, status):
    require_native()
    book = Book(yes_asks=((4_000, 300),), no_asks=((5_800, 300),))      # $0.02 a contract, 3 contracts
    universe = Universe((Market(Venue.POLYMARKET, "A", FeeSchedule(), 1, book),), (), 200, 5)
    for name in ("swift", "python"):
        engine = Engine(universe, engine=name)
        with pytest.raises(EngineInputError) as refused:
            engine.set_limits(max_qty, min_profit)
        assert refused.value.status == status
        assert [o.qty for o in engine.scan().opportunities] == [200]          # still capped at 200 lots
