"""The session's sizing on the engine's own books (`SessionSizer._size_on_engine`: the chain,
steps 9–12 and the final re-price in one native call, `sizing.on_engine` / the glue's
`Engine.size_legs`) against the path that decomposes each leg's book in Python, packs it for the
chain and runs the portfolio steps in Python: the same TradeSizing (every step record), the same
sized opportunity and record, the same input errors — on hypothesis universes, portfolios and
settings, after book updates too.
"""
from __future__ import annotations

import dataclasses
import tempfile
from array import array
from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from arbbot.engine import Engine, EngineInputError, Status
from arbbot.engine.types import Book, FeeSchedule, Market, Relation, RelationKind, Universe
from arbbot.model import MarketInfo, Venue
from arbbot.sizing import native, on_engine, robust, robust_native
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


def _sizers(session, cfg, cash, store_dir, *, peak: int = 1, min_profit: float = 0.01):
    """(the sizer on the engine's books, the reference: the same session seen without an engine),
    each with its own store; the equity peak set first at `peak` × the cash (a drawdown after)."""
    from arbbot.config import Settings
    from arbbot.execution.store import OrderStore
    from arbbot.run.sizer import SessionSizer
    plain = SimpleNamespace(**{k: v for k, v in vars(session).items() if k != "engine"})
    out = []
    for s, name in ((session, "engine"), (plain, "plain")):
        store = OrderStore(f"{store_dir}/{name}.db")
        sizer = SessionSizer(s, store, Settings(kill_file="", sizing=cfg, min_profit=min_profit), clock=lambda: NOW)
        if peak > 1:
            sizer.refresh({v.label: c * peak for v, c in zip(Venue, cash)})
        sizer.refresh({v.label: c for v, c in zip(Venue, cash)})
        out.append((sizer, store))
    return out


def _compare(engine_sizer, reference, opp) -> bool:
    a, b = engine_sizer.size(opp), reference.size(opp)
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
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(on_engine, "size",
                                                                  wraps=on_engine.size) as spy:
        (engine_sizer, s1), (reference, s2) = _sizers(session, cfg, cash, tmp)
        try:
            sized = 0
            for opp in session.engine.scan().opportunities:
                _compare(engine_sizer, reference, opp)
                sized += 1
            for index, data in updates:              # the session's book and the engine's change together
                m = index % len(universe.markets)
                market = universe.markets[m]
                packed = pack(data.draw(books(market.venue)))
                session.books[market.name] = packed
                for opp in session.engine.update_packed(m, packed).opportunities:
                    _compare(engine_sizer, reference, opp)
                    sized += 1
            assert spy.call_count == sized           # every one sized on the engine's books (once), none twice
            assert engine_sizer.stats.rejected == reference.stats.rejected
            assert engine_sizer.stats.lowered == reference.stats.lowered
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
    """Default per-opportunity steps; random limits for steps 9–12 (some of them binding, some
    steps disabled)."""
    from arbbot.sizing.config import from_toml_dict
    usd = st.floats(20, 3_000)
    on = st.booleans()
    caution = draw(st.floats(0, 40))
    return from_toml_dict({
        "lane_allocator": {"enabled": draw(on),
                           "lanes": draw(st.sampled_from([["cross"], ["cross", "intra", "bucket"], ["intra"]]))},
        "loss_cap": {"enabled": draw(on), "loss_budget_usd": draw(usd), "gamma": draw(st.floats(0, 4))},
        "exposure_manager": {"enabled": draw(on), "max_venue_usd": draw(usd), "max_event_usd": draw(usd),
                             "max_market_usd": draw(usd), "max_category_usd": draw(usd)},
        "drawdown_manager": {"enabled": draw(on), "caution_pct": caution, "halt_pct": caution + draw(st.floats(1, 50)),
                             "caution_multiplier": draw(st.floats(0, 1))},
    })


@pytest.mark.usefixtures("_swift")
@settings(SETTINGS, max_examples=150)
@given(st.one_of(portfolio_limits(), configs()), st.lists(st.integers(500_000_000, 100_000_000_000), min_size=3, max_size=3),
       st.lists(st.tuples(st.integers(4_310, 4_650), st.integers(1, 200_000)), min_size=1, max_size=4),
       st.sampled_from([1, 1, 2, 5]), st.sampled_from([0.01, 0.01, 0.01, 0.01, 1.0, 3.0]))
def test_trades_that_pass_the_chain_go_through_the_portfolio_steps_alike(cfg, cash, asks, peak, min_profit):
    """The cross pair with B's YES asks redrawn: most pass the chain, and steps 9–12 and the final
    re-price (which read the legs the engine gave) bind in turn."""
    from arbbot.run.live import pack
    session = _cross_session()
    b = session.universe.markets[1].book
    book = Book(b.yes_bids, tuple(sorted(dict(asks).items())), b.no_bids, b.no_asks)
    session.books["polymarket:B"] = packed = pack(book)
    opps = session.engine.update_packed(1, packed).opportunities
    with tempfile.TemporaryDirectory() as tmp:
        (engine_sizer, s1), (reference, s2) = _sizers(session, cfg, cash, tmp, peak=peak, min_profit=min_profit)
        try:
            for opp in opps:
                _compare(engine_sizer, reference, opp)
        finally:
            s1.close()
            s2.close()


@pytest.mark.usefixtures("_swift")
@pytest.mark.parametrize("table, peak, min_profit, bound_by, note", [
    ({"drawdown_manager": {"caution_pct": 10.0, "halt_pct": 90.0, "caution_multiplier": 0.5}}, 2, 0.01,
     "drawdown_manager", ""),
    ({"drawdown_manager": {"caution_pct": 10.0, "halt_pct": 40.0}}, 2, 0.01, "drawdown_manager",
     "rejected by drawdown_manager"),
    ({"exposure_manager": {"max_market_usd": 20.0}}, 1, 2.0, "re-price", "re-price: no quantity"),
    ({"lane_allocator": {"lanes": ["intra"]}}, 1, 0.01, "lane_allocator", "rejected by lane_allocator"),
    ({"lane_allocator": {"lanes": []}}, 1, 0.01, "lane_allocator", "rejected by lane_allocator"),
    ({"lane_allocator": {"lanes": [], "enabled": False}}, 1, 0.01, "execution_model", ""),
])
def test_the_tiers_rejects_and_the_final_re_price_alike(tmp_path, table, peak, min_profit, bound_by, note):
    """Hand-picked cases the random ones rarely reach: caution (q halved), a drawdown stop, a
    re-price that drops the trade (q lowered by a room until profit < min_profit), a lane off."""
    from arbbot.sizing.config import from_toml_dict
    session = _cross_session()
    (engine_sizer, s1), (reference, s2) = _sizers(session, from_toml_dict(table), [10**10] * 3, tmp_path, peak=peak,
                                                  min_profit=min_profit)
    try:
        opp = session.engine.scan().opportunities[0]
        assert _compare(engine_sizer, reference, opp)
        sizing = engine_sizer.size(opp).sizing
        assert sizing.bound_by == bound_by and sizing.note.startswith(note)
        if bound_by == "drawdown_manager" and not note:
            step = sizing.steps[-1]
            assert step.inputs.tier == "caution" and step.qty == step.qty_in // 2 // 100 * 100 and sizing.qty > 0
    finally:
        s1.close()
        s2.close()


@pytest.mark.usefixtures("_swift")
@settings(SETTINGS, max_examples=25)
@given(st.integers(0, 2**32), st.integers(21, 700), st.sampled_from([0.3, 3.5]))
def test_a_full_history_sizes_alike_with_the_swift_or_the_python_estimates(seed, count, mad_z):
    """Step 5 from a session's sample rings (up to full and wrapped, with outliers): the sizer
    with the Swift estimates (`robust_native`, the default) and with the twin's
    (ARB_ENGINE_ESTIMATES=python) size alike, every step record equal; the estimates
    are not priors, so the cleaning ran."""
    import random
    from arbbot.model import Side
    from arbbot.sizing.config import from_toml_dict
    session = _cross_session()
    opp = session.engine.scan().opportunities[0]
    cfg = from_toml_dict({"robust_inputs": {"mad_z": mad_z}})
    with tempfile.TemporaryDirectory() as tmp:
        (swift, s1), (python, s2) = _sizers(session, cfg, [10**10] * 3, tmp)
        try:
            for sizer in (swift, python):
                r = random.Random(seed)
                for name in ("kalshi:A", "polymarket:B"):
                    for side in Side:
                        for i in range(count):
                            x = r.expovariate(2.0) * (40 if r.random() < 0.03 else 1)
                            _push_sample(sizer.samples.depletion, (name, side), (NOW - count + i, x))
                    for i in range(count):
                        _push_sample(sizer.samples.mids, name, (NOW - 2 * count + 2 * i, 0.45 + r.random() / 10))
                for venue in Venue:
                    for i in range(count // 4):
                        sizer.samples.on_latency(venue, r.uniform(0.05, 0.4), NOW - count + 4 * i)
            swift.refresh({v.label: 10**10 for v in Venue})
            with mock.patch.dict("os.environ", {"ARB_ENGINE_ESTIMATES": "python"}):
                python.refresh({v.label: 10**10 for v in Venue})
            b = python.size(opp)
            a = swift.size(opp)
            assert swift._estimates["estimator"] is robust_native and python._estimates["estimator"] is robust
            same(a.sizing, b.sizing)
            assert a.opportunity == b.opportunity and a.record() == b.record()
            estimates = a.sizing.steps[0].inputs
            if mad_z > 0.6745:               # (below it the MAD filter may drop every sample: the prior)
                assert all(not e.prior for e in estimates.depletion)
                assert all(not e.prior for _, e in estimates.volatility)
        finally:
            s1.close()
            s2.close()


def _push_sample(rings: dict, key, sample) -> None:
    """Add one sample to `rings[key]` as the session's sampler does (a SampleRing per key)."""
    from arbbot.run.samples import SampleRing
    rings.setdefault(key, SampleRing()).append(sample)


@pytest.mark.usefixtures("_swift")
def test_a_held_leg_is_not_sized_on_either_path(tmp_path):
    from arbbot.sizing.config import from_toml_dict
    session = _cross_session()
    (engine_sizer, s1), (reference, s2) = _sizers(session, from_toml_dict({}), [10**10] * 3, tmp_path)
    try:
        opps = session.engine.scan().opportunities
        assert opps
        with mock.patch.object(on_engine, "size", wraps=on_engine.size) as spy:
            assert all(_compare(engine_sizer, reference, o) for o in opps)
        assert spy.call_count == len(opps)
        session.held["kalshi:A"] = "stale"
        for opp in opps:
            assert engine_sizer.size(opp).error == reference.size(opp).error == "sizing input: 'kalshi:A: no healthy book'"
        assert engine_sizer.stats.rejected["input"] == len(opps)
    finally:
        s1.close()
        s2.close()


@pytest.mark.usefixtures("_swift")
def test_size_legs_refuses_bad_legs_and_limits_with_the_leg_named():
    """The glue's checks and the engine's: a bad market, side or length; an empty ladder (LENGTH
    with its leg); limits naming a leg past the last; buffers of the wrong type."""
    session = _cross_session()
    engine = session.engine
    head = SizingInput("0123456789abcdef", 1, 1_000, (), 1.0, 10.0, 0, 10**9, 5.0)
    params = native.pack_params(SizingParams())
    limits = on_engine.LIMITS.pack(0, 0, 1.0, 1e9, 1.0, 0, 0, 0)

    def call(legs=array("i", [1, 0, 0, 1]), estimates=array("d", [0.0] * 4), inp=head, lim=limits,
             rooms=array("q"), masks=array("q")):
        return engine.size_legs(legs, native.pack_head(inp, len(legs) // 2), estimates, params, lim, rooms, masks)

    def error(**kwargs):
        with pytest.raises(native.native_module().NativeError) as exc:
            call(**kwargs)
        return Status(exc.value.args[0]), exc.value.args[2]
    rec, legs_out, port, bounds, prices = call()
    assert len(port) == on_engine.RESULT.size and bounds == b"" and len(prices) == 3 * 2 * 8
    assert native.LazyResult(rec, legs_out).engine_qty == 1_000
    assert error(legs=array("i", [1, 0, 5, 1])) == (Status.MARKET, 1)
    assert error(legs=array("i", [1, 2, 0, 1])) == (Status.ARGUMENT, 0)
    assert error(estimates=array("d", [0.0] * 2)) == (Status.LENGTH, -1)
    assert error(estimates=array("d", [-1.0, 0.0, 0.0, 0.0])) == (Status.FLOAT, 0)     # ρ < 0: the chain's check
    assert error(rooms=array("q", [5]), masks=array("q", [0b100])) == (Status.LENGTH, -1)   # leg 2 of 2
    assert error(rooms=array("q", [5]), masks=array("q")) == (Status.LENGTH, -1)
    assert error(lim=on_engine.LIMITS.pack(0, 3, 1.0, 1e9, 1.0, 0, 0, 0)) == (Status.ARGUMENT, -1)   # no such tier
    with pytest.raises(EngineInputError) as exc:
        native.pack_head(dataclasses.replace(head, id="xyz"), 2)
    assert exc.value.status == Status.ARGUMENT
    with pytest.raises(TypeError):
        call(estimates=array("f", [0.0] * 4))
    with pytest.raises(TypeError):
        call(legs=array("q", [1, 0, 0, 1]))
    engine.update_packed(0, array("q", [0, 0, 0, 0]))          # A's book emptied: no ladder to size
    assert error() == (Status.LENGTH, 1)


@pytest.mark.usefixtures("_swift")
def test_step_5_is_estimated_as_of_the_refresh_whenever_a_path_first_needs_it(tmp_path):
    """The session's sample rings keep filling after a refresh. The engine path's plan for an
    opportunity is made ahead, right after the refresh (`plan_ahead`); the Python path estimates
    at its first sizing. Before, each estimated at that moment (memoised for the refresh), so
    with samples arriving in between the two paths sized differently (a replay of a 64 s
    recording traded 70,188 lots on the swift engine, 67,908 on the python one). Now both take
    the estimates as of the refresh: equal, and the samples that came after wait for the next."""
    from arbbot.config import Settings
    from arbbot.execution.store import OrderStore
    from arbbot.model import Side
    from arbbot.run.sizer import SessionSizer
    session = _cross_session()
    plain = SimpleNamespace(**{k: v for k, v in vars(session).items() if k != "engine"})
    opp = session.engine.scan().opportunities[0]
    clock = [NOW]
    sizers = []
    for s, name in ((session, "engine"), (plain, "plain")):
        sizer = SessionSizer(s, OrderStore(tmp_path / f"{name}.db"), Settings(kill_file="", min_profit=0.01),
                             clock=lambda: clock[0])
        sizer.refresh({v.label: 10**10 for v in Venue})
        sizers.append(sizer)
    engine, reference = sizers
    engine._plan(opp, engine._confidence_of(opp), clock[0])        # what plan_ahead does after a refresh
    for sizer in sizers:                                            # then samples arrive for a minute
        for i in range(60):
            for market in ("kalshi:A", "polymarket:B"):
                for side in Side:
                    _push_sample(sizer.samples.depletion, (market, side), (NOW + 1 + i, 5.0 + i % 7))
    clock[0] = NOW + 61
    assert _compare(engine, reference, opp)
    depletion = engine.size(opp).sizing.steps[0].inputs.depletion
    assert all(e.prior for e in depletion)                          # as of the refresh: no samples yet
    for sizer in sizers:
        sizer.refresh({v.label: 10**10 for v in Venue})
    assert _compare(engine, reference, opp)
    assert not any(e.prior for e in engine.size(opp).sizing.steps[0].inputs.depletion)
