"""The running bot's sizing path gives what the plain pipeline gives: the Swift chain with its step
records decoded on demand (`native.size_lazy`), step records assembled on first access
(`TradeSizing.steps`), T from the decision's whole second (`days_to_close_at`), and
`SessionSizer`'s per-book reuse of a decomposed book."""
from __future__ import annotations

import copy as copy_module
import dataclasses
import math
import pickle
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from arbbot.engine import Book, Engine
from arbbot.engine.types import FeeSchedule, Lane, Market, Relation, RelationKind, Universe
from arbbot.model import MarketInfo, Venue
from arbbot.sizing import native
from arbbot.sizing.clock import days_to_close, days_to_close_at, days_to_latest, latest_close, stamp
from arbbot.sizing.config import from_toml_dict
from arbbot.sizing.pipeline import TradeSizing, size_trade
from arbbot.sizing.record import trade_record
from arbbot.sizing.steps import size_opportunity
from arbbot.sizing.types import ORDER, Outcome
from tests.sizing.pipeline_cases import configs, cross_trade, parity_trade, portfolio, portfolios, trades

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.fixture
def _swift(native):
    """The test needs the engine (fails, not skips, when it is missing)."""


def assert_same(a, b, path: str = "result") -> None:
    """Equal values of the same types, recursively; a NaN equals only a NaN (no tolerance: the
    same engine decodes the same bytes)."""
    assert type(a) is type(b), f"{path}: {a!r} vs {b!r}"
    if isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, tuple):
        assert len(a) == len(b), f"{path}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{path}.{field.name}")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def same(a: TradeSizing, b: TradeSizing) -> None:
    """Every field equal (the step records NaN-aware), the outcomes too."""
    for name in TradeSizing.FIELDS:
        assert_same(getattr(a, name), getattr(b, name), name)
    assert a.outcomes == b.outcomes


def _sized(trade, p, cfg, chain, memo=None):
    try:
        return size_trade(trade, p, cfg, now_s=0.0, chain=chain, memo=memo)
    except ValueError as exc:                 # EngineInputError: the same from every chain
        return type(exc), str(exc)


@pytest.mark.usefixtures("_swift")
@SETTINGS
@given(trades(), portfolios(), configs(), st.booleans())
def test_lazy_swift_chain_sizes_as_the_eager_one(trade, p, cfg, with_memo):
    eager = _sized(trade, p, cfg, native.size_opportunity, {} if with_memo else None)
    lazy = _sized(trade, p, cfg, native.size_lazy, {} if with_memo else None)
    if isinstance(eager, tuple):
        assert lazy == eager
        return
    # the decision first, records untouched: then every record, and the explain object
    assert (lazy.qty, lazy.profit, lazy.bound_by, lazy.note, lazy.priced, lazy.loss_budget) == \
        (eager.qty, eager.profit, eager.bound_by, eager.note, eager.priced, eager.loss_budget)
    assert lazy.outcomes == eager.outcomes == tuple(s.outcome for s in eager.steps)
    same(lazy, eager)
    assert [s.step for s in lazy.steps] == list(ORDER)
    assert trade_record(lazy) == trade_record(eager)


@pytest.mark.usefixtures("_swift")
def test_lazy_result_is_the_decoded_result():
    for trade in (cross_trade(), parity_trade()):
        inp = dataclasses.replace(trade.input, equity=10_000_000_000, loss_budget=20.0)
        eager, lazy = native.size_opportunity(inp), native.size_lazy(inp)
        for name in ("engine_qty", "qty", "rejected_by", "bound_by", "fill", "monte_carlo"):
            assert getattr(lazy, name) == getattr(eager, name), name
        assert lazy.outcomes == tuple(s.outcome for s in eager.steps)
        # the seven outcomes alone, read from the record as `on_engine.size` reads them
        codes = native.CHAIN_OUTCOMES.unpack_from(native._call((inp,), native.SizingParams())[0])
        assert tuple(Outcome(c) for c in codes) == lazy.outcomes
        assert_same(lazy.result(), eager)
        assert lazy.result() is lazy.result() and lazy.steps is lazy.result().steps


def test_trade_sizing_builds_its_records_once_and_behaves_as_a_frozen_value():
    trade, cfg = cross_trade(), from_toml_dict({})
    a = size_trade(trade, portfolio(10_000), cfg, now_s=0.0)
    b = size_trade(trade, portfolio(10_000), cfg, now_s=0.0, chain=size_opportunity)
    assert a.outcomes == tuple(s.outcome for s in a.steps) and a.steps is a.steps
    assert a == b and hash(a) == hash(b) and repr(a) == repr(b)
    assert repr(a).startswith("TradeSizing(id=") and "steps=(StepResult(" in repr(a)
    copy = TradeSizing(a.id, a.lane, a.engine_qty, a.qty, a.profit, a.bound_by, a.note, list(a.steps), a.priced,
                       a.loss_budget)
    assert copy == a and copy.outcomes == a.outcomes and isinstance(copy.steps, tuple)
    assert copy != TradeSizing(a.id, a.lane, a.engine_qty, a.qty, a.profit, a.bound_by, "other", a.steps,
                               a.priced, a.loss_budget)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.qty = 1
    assert copy_module.copy(a) == a and copy_module.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a
    built = []

    def steps():
        built.append(1)
        return a.steps
    lazy = TradeSizing(a.id, a.lane, a.engine_qty, a.qty, a.profit, a.bound_by, a.note, steps, a.priced,
                       a.loss_budget, a.outcomes)
    assert built == [] and lazy.qty == a.qty
    assert lazy.steps == a.steps and lazy.steps == a.steps and built == [1]


STAMPS = st.one_of(
    st.integers(0, 4_000_000_000).map(stamp),
    st.none(),
    st.sampled_from(["", "2027-02-30T00:00:00Z", "2027-01-01 00:00:00", "nope", "2027-01-01T00:00:00Z"]))


@SETTINGS
@given(st.lists(STAMPS, max_size=4), st.integers(0, 4_000_000_000), st.floats(0, 400))
def test_days_from_the_decision_second_are_the_days_from_its_stamp(closes, second, unknown):
    def outcome(f):
        try:
            return f()
        except ValueError as exc:
            return str(exc)
    expected = outcome(lambda: days_to_close(closes, stamp(second), unknown))
    assert outcome(lambda: days_to_close_at(closes, second, unknown)) == expected
    # a leg set's latest close parsed once (the running bot's way): the same double, the same error
    assert outcome(lambda: days_to_latest(latest_close(tuple(closes)), tuple(closes), second, unknown)) == expected
    if isinstance(expected, float):
        assert type(days_to_close_at(closes, second, unknown)) is float


# ---- SessionSizer ---------------------------------------------------------------------------------

NOW = 1_800_000_000.25
KALSHI_FEES = FeeSchedule(70_000, 0, 10_000)


def _session(closes: str):
    """Kalshi A and Polymarket B, the same event (confidence 0.97), B's YES 6¢ cheap: a cross
    opportunity (buy B YES, A NO)."""
    from arbbot.run.live import pack
    books = {"kalshi:A": Book(((5_000, 40_000), (4_900, 90_000)), (), ((4_900, 30_000), (4_800, 80_000)), ()),
             "polymarket:B": Book(((4_300, 10_000),), ((4_400, 25_000), (4_500, 60_000)),
                                  ((5_500, 10_000),), ((5_700, 20_000),))}
    markets = (Market(Venue.KALSHI, "A", KALSHI_FEES, 100, books["kalshi:A"]),
               Market(Venue.POLYMARKET, "B", FeeSchedule(), 1, books["polymarket:B"]))
    universe = Universe(markets, (Relation(RelationKind.SAME, (0, 1), False, 970_000),), max_qty=None,
                        min_profit=10_000)
    infos = [MarketInfo(Venue.KALSHI, "A", "A", event_id="E", fees=KALSHI_FEES, lot_lots=100, closes_at=closes),
             MarketInfo(Venue.POLYMARKET, "B", "B", fees=FeeSchedule(), lot_lots=1, closes_at="2027-06-30T12:00:00Z")]
    return SimpleNamespace(universe=universe, markets=infos, books={k: pack(b) for k, b in books.items()}, held={})


def _reference(sizer, session, opp):
    """The plain pipeline, as `SessionSizer` sized before: every leg's book decomposed, the
    decision stamp formatted and parsed, the eager Swift chain."""
    from arbbot.run.quotes import StreamedQuotes
    from arbbot.sizing.select import size_opportunity as chain
    from arbbot.sizing.trade import LegMarket, RelationIndex, trade_from_opportunity
    infos = {str(m.id): m for m in session.markets}
    quotes = StreamedQuotes(session)
    markets = {leg.market: LegMarket.from_info(infos[leg.market], None, quotes(leg.market)) for leg in opp.legs}
    trade = trade_from_opportunity(opp, markets, confidence=RelationIndex(session.universe).confidence(opp),
                                   decided_at=stamp(int(NOW)), unknown_days=sizer.cfg.unknown_days,
                                   min_profit=int(round(sizer.settings.min_profit * 1_000_000)))
    return size_trade(trade, sizer.portfolio, sizer.cfg, now_s=NOW,
                      daily_loss_cap_usd=sizer.settings.daily_loss_cap_usd, chain=chain, params=sizer.cfg.params())


@pytest.mark.usefixtures("_swift")
@pytest.mark.parametrize("closes", ["2027-03-01T00:00:00Z", "", "2027-13-01T00:00:00Z"])
def test_a_session_sizes_as_the_plain_pipeline_and_follows_each_book_update(tmp_path, closes):
    from arbbot.config import Settings
    from arbbot.execution.store import OrderStore
    from arbbot.run.live import pack
    from arbbot.run.sizer import SessionSizer
    session = _session(closes)
    store = OrderStore(str(tmp_path / "s.db"))
    try:
        sizer = SessionSizer(session, store, Settings(kill_file=""), clock=lambda: NOW)
        sizer.refresh({v.label: 10_000_000_000 for v in Venue})
        opps = Engine(session.universe, engine="swift").scan().opportunities
        cross = [o for o in opps if o.lane is Lane.CROSS]
        assert cross, opps

        def check(opp):
            sized = sizer.size(opp)
            if closes.startswith("2027-13"):          # a bad close time: an input error, as before
                with pytest.raises(ValueError) as exc:
                    _reference(sizer, session, opp)
                assert sized.sizing is None and sized.error == f"sizing input: {exc.value}"
                return sized
            expected = _reference(sizer, session, opp)
            same(sized.sizing, expected)
            assert sized.record() == trade_record(expected)
            assert sized.error == "" and (sized.opportunity is None) == (expected.qty == 0)
            return sized

        first = [check(o) for o in cross]
        again = [check(o) for o in cross]                         # the same books: the same answers
        assert [s.opportunity for s in again] == [s.opportunity for s in first]
        # B's book changes (its asks deeper and dearer): the new book is decomposed and sized
        session.books["polymarket:B"] = pack(Book(((4_300, 10_000),), ((4_450, 90_000), (4_600, 60_000)),
                                                  ((5_500, 10_000),), ((5_700, 20_000),)))
        changed = [check(o) for o in cross]
        if not closes.startswith("2027-13"):
            assert [trade_record(s.sizing) for s in changed] != [trade_record(s.sizing) for s in first]
        # a market held out (stale, distrusted) is not sized, and sized again once back
        session.held["kalshi:A"] = "stale"
        assert all(sizer.size(o).error == "sizing input: 'kalshi:A: no healthy book'" for o in cross)
        del session.held["kalshi:A"]
        assert [check(o).opportunity for o in cross] == [s.opportunity for s in changed]
        assert sizer.stats.rejected["input"] == len(cross) * (5 if closes.startswith("2027-13") else 1)
    finally:
        store.close()


@pytest.mark.usefixtures("_swift")
def test_warming_sizes_the_last_opportunity_again_and_counts_nothing(tmp_path):
    """`SessionSizer.warm` (sizing_warm_ms): nothing to do before a first sizing; after one it
    sizes that opportunity again with no stats, no record kept; a held leg ends it."""
    import copy

    from arbbot.config import Settings
    from arbbot.execution.store import OrderStore
    from arbbot.run.sizer import SessionSizer
    session = _session("2027-03-01T00:00:00Z")
    store = OrderStore(str(tmp_path / "w.db"))
    try:
        sizer = SessionSizer(session, store, Settings(kill_file=""), clock=lambda: NOW)
        sizer.refresh({v.label: 10_000_000_000 for v in Venue})
        opp = next(o for o in Engine(session.universe, engine="swift").scan().opportunities if o.lane is Lane.CROSS)
        assert sizer.warm() is False
        first = sizer.size(opp)
        stats = copy.deepcopy(sizer.stats)
        assert all(sizer.warm() for _ in range(3))
        assert (sizer.stats.sized, sizer.stats.traded, sizer.stats.rejected, sizer.stats.lowered,
                sizer.stats.quantities, sizer.stats.elapsed_ns) == (
            stats.sized, stats.traded, stats.rejected, stats.lowered, stats.quantities, stats.elapsed_ns)
        assert sizer.size(opp).record() == first.record()            # warming changed nothing
        session.held["kalshi:A"] = "stale"
        assert sizer.warm() is False and sizer.warm() is False        # its book is gone: nothing to warm
    finally:
        store.close()


def test_outcomes_are_in_order():
    sizing = size_trade(cross_trade(), portfolio(10_000), from_toml_dict({}), now_s=0.0)
    assert len(sizing.outcomes) == len(ORDER) and all(isinstance(o, Outcome) for o in sizing.outcomes)
