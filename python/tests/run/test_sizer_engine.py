"""The session's sizing on the engine's own books (`SessionSizer._size_on_engine`, the glue's
`Engine.size_legs`) against the path that decomposes each leg's book in Python and packs it for
the chain: the same TradeSizing (every step record), the same sized opportunity and record, the
same input errors — on hypothesis universes, portfolios and settings, after book updates too.
"""
from __future__ import annotations

import dataclasses
import tempfile
from array import array
from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from arbbot.engine import Engine, EngineInputError, Status, decompose
from arbbot.engine.types import Book, FeeSchedule, Market, Relation, RelationKind, Universe
from arbbot.model import MarketInfo, Venue
from arbbot.sizing import native
from arbbot.sizing.types import SizingInput, SizingParams
from tests.engine.test_parity import books, universes
from tests.sizing.pipeline_cases import configs
from tests.sizing.test_lazy import same

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
NOW = 1_800_000_000.25


@pytest.fixture
def _swift(native):
    """The test needs the engine (fails, not skips, when it is missing)."""


def _session(universe: Universe, closes: list[str], events: list[str]) -> SimpleNamespace:
    from arbbot.run.live import pack
    infos = [MarketInfo(m.venue, m.id, m.id, fees=m.fees, lot_lots=m.lot, closes_at=c, event_id=e,
                        category="C" if e else "")
             for m, c, e in zip(universe.markets, closes, events)]
    return SimpleNamespace(universe=universe, markets=infos, books={m.name: pack(m.book) for m in universe.markets},
                           held={}, index={m.name: i for i, m in enumerate(universe.markets)},
                           engine=Engine(universe, engine="swift"))


def _sizers(session, cfg, cash, store_dir):
    """(the sizer on the engine's books, the reference: the same session seen without an engine)."""
    from arbbot.config import Settings
    from arbbot.execution.store import OrderStore
    from arbbot.run.sizer import SessionSizer
    plain = SimpleNamespace(**{k: v for k, v in vars(session).items() if k != "engine"})
    out = []
    for s, name in ((session, "engine"), (plain, "plain")):
        store = OrderStore(f"{store_dir}/{name}.db")
        sizer = SessionSizer(s, store, Settings(kill_file="", sizing=cfg), clock=lambda: NOW)
        sizer.refresh({v.label: c for v, c in zip(Venue, cash)})
        out.append((sizer, store))
    return out


def _compare(on_engine, reference, opp) -> bool:
    a, b = on_engine.size(opp), reference.size(opp)
    assert a.error == b.error
    if b.sizing is None:
        return False
    same(a.sizing, b.sizing)
    assert a.opportunity == b.opportunity
    assert a.loss_budget == b.loss_budget
    assert a.record() == b.record()
    return True


@st.composite
def sessions(draw):
    universe = draw(universes())
    relations = tuple(dataclasses.replace(r, confidence=draw(st.one_of(st.none(), st.integers(0, 1_000_000))))
                      for r in universe.relations)
    universe = dataclasses.replace(universe, relations=relations)
    n = len(universe.markets)
    closes = draw(st.lists(st.sampled_from(["", "2027-01-16T00:00:00Z", "2027-03-01T00:00:00Z", "2026-01-01T00:00:00Z"]), min_size=n, max_size=n))
    events = draw(st.lists(st.sampled_from(["", "E1", "E2"]), min_size=n, max_size=n))
    return universe, closes, events


@pytest.mark.usefixtures("_swift")
@SETTINGS
@given(sessions(), configs(), st.lists(st.integers(0, 100_000_000_000), min_size=3, max_size=3),
       st.lists(st.tuples(st.integers(0, 7), st.data()), max_size=4))
def test_sizing_on_the_engines_books_is_the_python_decomposed_path(case, cfg, cash, updates):
    from arbbot.run.live import pack
    universe, closes, events = case
    session = _session(universe, closes, events)
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(native, "size_on_engine",
                                                                  wraps=native.size_on_engine) as spy:
        (on_engine, s1), (reference, s2) = _sizers(session, cfg, cash, tmp)
        try:
            sized = 0
            for opp in session.engine.scan().opportunities:
                _compare(on_engine, reference, opp)
                sized += 1
            for index, data in updates:              # the session's book and the engine's change together
                m = index % len(universe.markets)
                market = universe.markets[m]
                packed = pack(data.draw(books(market.venue)))
                session.books[market.name] = packed
                for opp in session.engine.update_packed(m, packed).opportunities:
                    _compare(on_engine, reference, opp)
                    sized += 1
            assert spy.call_count == sized           # every one sized on the engine's books (once), none twice
            assert on_engine.stats.rejected == reference.stats.rejected
            assert on_engine.stats.lowered == reference.stats.lowered
        finally:
            s1.close()
            s2.close()


def _cross_session(held: str | None = None):
    """Kalshi A and Polymarket B (confidence 0.97), B's YES cheap: cross opportunities."""
    a = Book(((5_000, 40_000), (4_900, 90_000)), (), ((4_900, 30_000), (4_800, 80_000)), ())
    b = Book(((4_300, 10_000),), ((4_400, 25_000), (4_500, 60_000)), ((5_500, 10_000),), ((5_700, 20_000),))
    kalshi = FeeSchedule(70_000, 0, 10_000)
    universe = Universe((Market(Venue.KALSHI, "A", kalshi, 100, a), Market(Venue.POLYMARKET, "B", FeeSchedule(), 1, b)),
                        (Relation(RelationKind.SAME, (0, 1), False, 970_000),), max_qty=None, min_profit=10_000)
    return _session(universe, ["2027-01-17T00:00:00Z", "2027-01-18T12:00:00Z"], ["E", ""])


@st.composite
def portfolio_limits(draw):
    """Default per-opportunity steps; random limits for steps 9–11 (some of them binding)."""
    from arbbot.sizing.config import from_toml_dict
    usd = st.floats(20, 3_000)
    return from_toml_dict({
        "lane_allocator": {"lanes": draw(st.sampled_from([["cross"], ["cross", "intra", "bucket"], ["intra"]]))},
        "loss_cap": {"loss_budget_usd": draw(usd), "gamma": draw(st.floats(0, 4))},
        "exposure_manager": {"max_venue_usd": draw(usd), "max_event_usd": draw(usd), "max_market_usd": draw(usd),
                             "max_category_usd": draw(usd)},
    })


@pytest.mark.usefixtures("_swift")
@SETTINGS
@given(st.one_of(portfolio_limits(), configs()), st.lists(st.integers(500_000_000, 100_000_000_000), min_size=3, max_size=3),
       st.lists(st.tuples(st.integers(4_310, 4_650), st.integers(1, 200_000)), min_size=1, max_size=4))
def test_trades_that_pass_the_chain_go_through_the_portfolio_steps_alike(cfg, cash, asks):
    """The cross pair with B's YES asks redrawn: most pass the chain, and steps 9–12 and the final
    re-price (which read the legs the engine gave) bind in turn."""
    from arbbot.run.live import pack
    session = _cross_session()
    b = session.universe.markets[1].book
    book = Book(b.yes_bids, tuple(sorted(dict(asks).items())), b.no_bids, b.no_asks)
    session.books["polymarket:B"] = packed = pack(book)
    opps = session.engine.update_packed(1, packed).opportunities
    with tempfile.TemporaryDirectory() as tmp:
        (on_engine, s1), (reference, s2) = _sizers(session, cfg, cash, tmp)
        try:
            for opp in opps:
                _compare(on_engine, reference, opp)
        finally:
            s1.close()
            s2.close()


@pytest.mark.usefixtures("_swift")
def test_a_held_leg_is_not_sized_on_either_path(tmp_path):
    from arbbot.sizing.config import from_toml_dict
    session = _cross_session()
    (on_engine, s1), (reference, s2) = _sizers(session, from_toml_dict({}), [10**10] * 3, tmp_path)
    try:
        opps = session.engine.scan().opportunities
        assert opps
        with mock.patch.object(native, "size_on_engine", wraps=native.size_on_engine) as spy:
            assert all(_compare(on_engine, reference, o) for o in opps)
        assert spy.call_count == len(opps)
        session.held["kalshi:A"] = "stale"
        for opp in opps:
            assert on_engine.size(opp).error == reference.size(opp).error == "sizing input: 'kalshi:A: no healthy book'"
        assert on_engine.stats.rejected["input"] == len(opps)
    finally:
        s1.close()
        s2.close()


@pytest.mark.usefixtures("_swift")
def test_size_legs_gives_the_decomposed_ladders_and_refuses_bad_legs():
    session = _cross_session()
    engine, universe = session.engine, session.universe
    head = SizingInput("0123456789abcdef", 1, 1_000, (), 1.0, 10.0, 0, 10**9, 5.0)
    legs = array("i", [1, 0, 0, 1])               # B YES, A NO
    result, sized = native.size_on_engine(engine, legs, head, array("d", [0.0, 0.0, 0.0, 0.0]), SizingParams())
    for (m, side), (ladder, bid) in zip([(1, 0), (0, 1)], sized):
        d = decompose(universe.markets[m].venue, universe.markets[m].book, engine="python")
        assert ladder == (d.yes if side == 0 else d.no)
        assert bid == ((d.quote.best_bid_yes if side == 0 else d.quote.best_bid_no) or 0)
    assert sized[0] == (((4_400, 25_000), (4_500, 60_000)), 4_300)
    assert result.engine_qty == 1_000

    def error(legs, estimates=array("d", [0.0] * 4), inp=head):
        with pytest.raises(EngineInputError) as exc:
            native.size_on_engine(engine, legs, inp, estimates, SizingParams())
        return exc.value.status, exc.value.index
    assert error(array("i", [1, 0, 5, 1])) == (Status.MARKET, 1)
    assert error(array("i", [1, 2, 0, 1])) == (Status.ARGUMENT, 0)
    assert error(array("i", [1, 0, 0])) == (Status.LENGTH, -1)
    assert error(legs, array("d", [0.0] * 2)) == (Status.LENGTH, -1)
    assert error(legs, array("d", [-1.0, 0.0, 0.0, 0.0])) == (Status.FLOAT, 0)      # ρ < 0: the chain's check
    assert error(legs, inp=dataclasses.replace(head, id="xyz")) == (Status.ARGUMENT, -1)
    engine.update_packed(0, array("q", [0, 0, 0, 0]))          # A's book emptied: no ladder to size
    assert error(legs) == (Status.LENGTH, 1)
    with pytest.raises(TypeError):
        native.size_on_engine(engine, legs, head, array("f", [0.0] * 4), SizingParams())
    with pytest.raises(TypeError):
        native.size_on_engine(engine, array("q", [1, 0, 0, 1]), head, array("d", [0.0] * 4), SizingParams())
