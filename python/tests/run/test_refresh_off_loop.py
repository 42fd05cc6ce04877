"""The sizer's portfolio refresh off the event loop (`SessionSizer.refresh_off_loop`,
`PaperTrader.refresh_sizing_async`): the store's reads and writes run on a worker thread while the
loop goes on, the result is the refresh on the loop's, the trader sizes nothing until the new
portfolio is in place, and a settings change during a refresh is not lost."""
from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from types import SimpleNamespace

import pytest

from arbbot.config import Settings
from arbbot.engine import Engine
from arbbot.engine.types import Lane
from arbbot.execution.store import OrderStore
from arbbot.model import Venue
from arbbot.run.sizer import SessionSizer
from arbbot.run.trader import PaperTrader
from arbbot.sizing.robust import RobustParams
from tests.risk.trades import complete_profitable
from tests.sizing.test_lazy import NOW, _session

CASH = {v.label: 10_000_000_000 for v in Venue}          # $10,000 a venue, µ$


@pytest.fixture
def sized(tmp_path):
    """A sizer over Kalshi A / Polymarket B, its store holding a complete execution (1,000 lots
    YES A at 42¢ and NO B at 50¢: positions the equity marks at the streamed mids)."""
    store = OrderStore(str(tmp_path / "r.db"), clock_ms=lambda: int(NOW * 1000))
    complete_profitable(store)
    sizer = SessionSizer(_session("2027-03-01T00:00:00Z"), store, Settings(kill_file=""), clock=lambda: NOW)
    try:
        yield sizer, store
    finally:
        store.close()


def _samples(sizer: SessionSizer) -> None:
    """Depletion, mid and latency samples taken by the session since the last flush."""
    book = sizer.session.books["kalshi:A"]
    sizer.samples.on_packed("kalshi:A", book, NOW - 2)
    sizer.samples.on_packed("kalshi:A", sizer.session.books["polymarket:B"], NOW - 1)
    sizer.samples.on_latency(Venue.KALSHI, 0.120, NOW - 1)


def _stored(store: OrderStore) -> dict:
    return {kind: store.estimate_samples(kind, 0) for kind in ("latency", "depletion", "mid")}


def test_off_the_loop_the_refresh_reads_and_writes_what_the_one_on_the_loop_does(sized, tmp_path):
    sizer, store = sized
    _samples(sizer)
    twin_store = OrderStore(str(tmp_path / "twin.db"), clock_ms=lambda: int(NOW * 1000))
    complete_profitable(twin_store)
    twin = SessionSizer(sizer.session, twin_store, Settings(kill_file=""), clock=lambda: NOW)
    _samples(twin)
    try:
        written = asyncio.run(sizer.refresh_off_loop(CASH, [("kalshi", 0.250, NOW)]))
        assert twin.flush_samples([("kalshi", 0.250, NOW)]) == written > 0
        twin.refresh(CASH)
        assert _stored(store) == _stored(twin_store)
        assert _stored(store)["latency"]["kalshi"] == ((NOW - 1, 0.120), (NOW, 0.250))
        a, b = sizer.portfolio, twin.portfolio
        # the held positions are marked at the streamed mids: A's YES mid 49.5¢ (bid 49¢ = 100 − NO
        # ask 51¢ … ask 50¢), B's NO at 100 − its YES mid; equity = cash + their value
        assert a.equity == b.equity != sum(CASH.values())
        assert (a.cash, a.equity, a.peak, a.venues, a.markets, a.events, a.realised_loss_today, a.inflight_budgets,
                a.lane_pnl, a.drawdown_stopped) == (b.cash, b.equity, b.peak, b.venues, b.markets, b.events,
                                                    b.realised_loss_today, b.inflight_budgets, b.lane_pnl,
                                                    b.drawdown_stopped)
        assert a.markets["kalshi:A"].held == 4_200 * 1_000 + 40_000
        memo, twin_memo = sizer._estimates, twin._estimates
        assert memo.keys() == twin_memo.keys() and ("limits", Lane.CROSS) in memo
        assert {k: v for k, v in memo.items() if k != "venues"} == {k: v for k, v in twin_memo.items() if k != "venues"}
        assert memo["venues"][0] == twin_memo["venues"][0]     # the venue stats (the estimates: equal above)
        assert store.drawdown() == twin_store.drawdown()
        # the same sizing on either portfolio
        opp = next(o for o in Engine(sizer.session.universe, engine="python").scan().opportunities
                   if o.lane is Lane.CROSS)
        assert sizer.size(opp).record() == twin.size(opp).record()
    finally:
        twin_store.close()


class _SlowPositions:
    """The store's positions read takes `seconds` (a slow disk), on whatever thread reads it."""
    def __init__(self, store: OrderStore, seconds: float, during=None) -> None:
        self.store, self.seconds, self.during, self.threads = store, seconds, during, []
        self._read = store.net_positions
        store.net_positions = self

    def __call__(self):
        self.threads.append(threading.get_ident())
        if self.during is not None:
            self.during()
        time.sleep(self.seconds)
        return self._read()


def _trader(sizer: SessionSizer, store: OrderStore, *, off_loop: bool) -> PaperTrader:
    executor = SimpleNamespace(answered=[("kalshi", 0.3, NOW)])
    trader = PaperTrader(executor, None, {}, store, sizer=sizer, refresh_off_loop=off_loop)
    trader.cash = dict(CASH)
    return trader


def test_the_loop_runs_while_a_refresh_reads_the_store_and_nothing_is_sized_meanwhile(sized):
    sizer, store = sized
    sizer.refresh(CASH)
    before = sizer.portfolio
    slow = _SlowPositions(store, 0.3)
    opp = next(o for o in Engine(sizer.session.universe, engine="python").scan().opportunities if o.lane is Lane.CROSS)

    async def main():
        trader = _trader(sizer, store, off_loop=True)
        ticks, seen = [], []

        async def ticker():
            while True:
                ticks.append(time.perf_counter())
                seen.append((trader.busy, sizer.portfolio is before))
                await asyncio.sleep(0.01)
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        refresh = asyncio.create_task(trader.refresh_sizing_async())
        await asyncio.sleep(0.1)
        assert trader.busy and trader.refreshing
        trader.offer(opp)                                 # found meanwhile: skipped, never sized
        await refresh
        tick.cancel()
        return trader, ticks, seen
    trader, ticks, seen = asyncio.run(main())
    assert slow.threads and threading.get_ident() not in slow.threads      # read on a worker thread
    assert len(ticks) >= 15 and max(b - a for a, b in zip(ticks, ticks[1:])) < 0.15    # the loop went on
    assert all(busy and old for busy, old in seen[1:-1])   # busy, on the old portfolio, until the new one
    assert trader.stats.skipped["busy"] == 1 and sizer.stats.sized == 0
    assert not trader.busy and sizer.portfolio is not before
    assert store.estimate_samples("latency", 0)["kalshi"] == ((NOW, 0.3),)   # the executor's latency flushed


def test_a_settings_change_during_a_refresh_is_read_again(sized):
    sizer, store = sized
    sizer.refresh(CASH)
    window = sizer.cfg.robust_inputs.window_s
    changed = sizer.cfg.model_copy(update={"robust_inputs": sizer.cfg.robust_inputs.model_copy(
        update={"window_s": window * 2})})
    calls = []

    def reconfigure_once():
        if not calls:
            sizer.reconfigure(changed)          # an operator's change lands while the thread reads
        calls.append(1)
    _SlowPositions(store, 0.05, during=reconfigure_once)
    asyncio.run(sizer.refresh_off_loop(CASH))
    assert len(calls) == 2                       # read twice: the first reading had the old settings
    assert sizer._estimates["params"] == RobustParams.from_config(changed)


def test_a_replay_refreshes_on_the_loop(sized):
    """A replay's virtual clock must not move while a thread works: with `refresh_off_loop`
    False (attach_paper_trader given a clock) the refresh runs on the loop's own thread."""
    sizer, store = sized
    slow = _SlowPositions(store, 0.0)

    async def main():
        trader = _trader(sizer, store, off_loop=False)
        await trader.refresh_sizing_async()
        return trader
    trader = asyncio.run(main())
    assert slow.threads == [threading.get_ident()]
    assert sizer.portfolio is not None and not trader.busy


def test_samples_taken_during_a_refresh_are_written_by_the_next(sized):
    """Samples taken while a refresh runs are in no row it writes: the next refresh writes them."""
    sizer, store = sized
    _samples(sizer)

    async def main():
        first = asyncio.create_task(sizer.refresh_off_loop(CASH))
        await asyncio.sleep(0)
        sizer.samples.on_latency(Venue.KALSHI, 0.5, NOW)       # taken after the first drain
        n1 = await first
        n2 = await sizer.refresh_off_loop(CASH)
        return n1, n2
    n1, n2 = asyncio.run(main())
    assert n1 >= 2 and n2 == 1
    assert [v for _, v in store.estimate_samples("latency", 0)["kalshi"]] == [0.120, 0.5]


@pytest.fixture
def on_engine_sizer(sized, native):
    """`sized`'s sizer on a session with a Swift engine: opportunities are sized on the engine's
    books with a plan per opportunity per refresh (`sizing.on_engine`); step 7 off (the 6¢ edge
    locked until B's close in June is below its hurdle)."""
    sizer, store = sized
    sizer.reconfigure(sizer.cfg.model_copy(update={"capital_lock": sizer.cfg.capital_lock.model_copy(
        update={"enabled": False})}))
    session = sizer.session
    session.index = {m.name: i for i, m in enumerate(session.universe.markets)}
    session.engine = Engine(session.universe, engine="swift")
    return sizer, store


def test_after_a_refresh_the_recent_opportunities_are_planned_ahead(on_engine_sizer, monkeypatch):
    from arbbot.sizing import on_engine
    sizer, store = on_engine_sizer
    sizer.refresh(CASH)
    opp = next(o for o in sizer.session.engine.scan().opportunities if o.lane is Lane.CROSS)
    first = sizer.size(opp)
    assert first.error == "" and first.opportunity is not None, first.sizing.bound_by
    made = []
    real_plan = on_engine.plan
    monkeypatch.setattr(on_engine, "plan", lambda *a, **k: made.append(a[0].id) or real_plan(*a, **k))

    async def refresh_and_plan():
        trader = _trader(sizer, store, off_loop=True)
        await trader.refresh_sizing_async()
        assert ("plan", opp.id) not in sizer._estimates      # planned after the refresh, between frames
        await trader._planning
        return trader._planning.result()
    planned = asyncio.run(refresh_and_plan())
    # the recent opportunity first, then every other leg set the session's lanes can report
    candidates = sizer.candidates()
    assert len(candidates) == 4 and opp.id in {c.id for c in candidates}   # intra A, intra B, the twins' two
    assert made[0] == opp.id and planned == len(made) == len(candidates)
    assert sorted(made) == sorted(c.id for c in candidates)
    again = sizer.size(opp)                                # found again: no plan made in its frame
    assert len(made) == planned
    assert again.record() == first.record() and again.opportunity == first.opportunity
    # a plan under way stops when settings change: the memo it would fill is gone, and the
    # plans of the new settings are made by the sizings (or the next refresh's planning)
    monkeypatch.setattr("arbbot.run.sizer.PLAN_AHEAD_CHUNK", 1)
    other = "0123456789abcdef"                             # another id (16 hex digits: its Monte Carlo seed)
    sizer.size(dataclasses.replace(opp, id=other))          # sized after opp: planned first
    sizer.refresh(CASH)
    del made[:]

    async def stopped():
        run = asyncio.ensure_future(sizer.plan_ahead())
        while not made:
            await asyncio.sleep(0)
        sizer.exclude_lanes(["cross"])                      # after the first plan, before the second
        return await run
    assert asyncio.run(stopped()) == 1 and made == [other]


def test_a_failed_periodic_refresh_is_logged_and_the_next_one_runs(sized):
    import sqlite3
    sizer, store = sized
    read = store.net_positions
    failures = []

    def failing_once():
        if not failures:
            failures.append(1)
            raise sqlite3.OperationalError("disk I/O error")
        return read()
    store.net_positions = failing_once

    async def main():
        trader = _trader(sizer, store, off_loop=True)
        every = asyncio.ensure_future(trader.refresh_sizing_every(0.01))
        while trader.refreshes < 3:
            await asyncio.sleep(0.01)
        alive = not every.done()
        every.cancel()
        return trader, alive
    trader, alive = asyncio.run(main())
    assert failures == [1] and alive                 # the task outlived the failure
    assert sizer.portfolio is not None and not trader.refreshing


def test_an_opportunity_found_while_the_trader_is_busy_is_planned_once_it_is_free(on_engine_sizer, monkeypatch):
    from arbbot.sizing import on_engine
    sizer, store = on_engine_sizer
    sizer.refresh(CASH)
    opp = next(o for o in sizer.session.engine.scan().opportunities if o.lane is Lane.CROSS)
    made = []
    real_plan = on_engine.plan
    monkeypatch.setattr(on_engine, "plan", lambda *a, **k: made.append(a[0].id) or real_plan(*a, **k))

    async def main():
        trader = _trader(sizer, store, off_loop=True)
        _SlowPositions(store, 0.1)
        refresh = asyncio.create_task(trader.refresh_sizing_async())
        await asyncio.sleep(0.02)
        trader.offer(opp)                      # skipped: busy; remembered, never sized
        assert made == [] and sizer.stats.sized == 0
        await refresh
        await trader._planning
        return trader
    trader = asyncio.run(main())
    # planned first (then the session's other leg sets)
    assert trader.stats.skipped["busy"] == 1 and made[0] == opp.id and len(made) == len(sizer.candidates())
    planned = len(made)
    sized = sizer.size(opp)                    # offered again once the cooldown is over: no plan made
    assert len(made) == planned and sized.sizing is not None and sizer.stats.sized == 1
    # a session without the engine path has nothing to plan: nothing is remembered
    sizer.on_engine_books = False
    sizer._recent.clear()
    sizer.remember(opp)
    assert not sizer._recent


def test_an_opportunity_found_first_is_sized_on_the_plan_of_its_candidate(on_engine_sizer, monkeypatch):
    """Planned ahead from the engine's candidate (never found before): the same id and leg order
    as the opportunity the engine reports, so its sizing makes no plan and records the same."""
    from arbbot.sizing import on_engine
    sizer, store = on_engine_sizer
    sizer.refresh(CASH)
    opp = next(o for o in sizer.session.engine.scan().opportunities if o.lane is Lane.CROSS)
    reference = sizer.size(opp)                     # its plan built from the opportunity, in its frame
    assert reference.opportunity is not None
    sizer.refresh(CASH)
    sizer._recent.clear()                           # never found, as far as the planning knows
    assert asyncio.run(sizer.plan_ahead()) == len(sizer.candidates()) == 4
    made = []
    monkeypatch.setattr(on_engine, "plan", lambda *a, **k: made.append(a[0].id))
    found = sizer.size(opp)
    assert made == [] and found.record() == reference.record() and found.opportunity == reference.opportunity


def test_a_large_session_plans_only_its_recent_opportunities(on_engine_sizer, monkeypatch):
    sizer, _ = on_engine_sizer
    monkeypatch.setattr("arbbot.run.sizer.CANDIDATES_PLANNED_MAX", 5)   # 2 markets + 2 × 1 relation ≤ 5
    assert len(sizer.candidates()) == 4
    monkeypatch.setattr("arbbot.run.sizer.CANDIDATES_PLANNED_MAX", 3)
    u = sizer.session.universe
    sizer.session.universe = dataclasses.replace(u, relations=u.relations + u.relations[:1])   # it grew: built again
    assert sizer.candidates() == []


def test_a_large_session_makes_every_leg_set_once_and_a_found_opportunity_reads_it(on_engine_sizer, monkeypatch):
    """Over CANDIDATES_PLANNED_MAX leg sets (and none of the nearest planned: NEAREST_PLANNED 0),
    plan_ahead makes no plans beyond the recent ones but every candidate's LegSet, once per
    universe (then frozen out of the cyclic GC); a found opportunity's plan reads its LegSet, kept
    across refreshes, and sizes as without it."""
    from arbbot.engine.twin.candidates import build_candidates
    from arbbot.sizing import on_engine
    sizer, _ = on_engine_sizer
    monkeypatch.setattr("arbbot.run.sizer.CANDIDATES_PLANNED_MAX", 3)    # 2 markets + 2 × 1 relation > 3
    monkeypatch.setattr("arbbot.run.sizer.NEAREST_PLANNED", 0)
    frozen, made, planned = [], [], []
    monkeypatch.setattr("arbbot.run.sizer.gc.freeze", lambda: frozen.append(len(sizer._leg_sets)))
    real_leg_set, real_plan = on_engine.leg_set, on_engine.plan
    monkeypatch.setattr(on_engine, "leg_set", lambda legs, *a: made.append(tuple(legs)) or real_leg_set(legs, *a))
    monkeypatch.setattr(on_engine, "plan", lambda opp, *a, **k: planned.append(opp.id) or real_plan(opp, *a, **k))
    sizer.refresh(CASH)
    opp = next(o for o in sizer.session.engine.scan().opportunities if o.lane is Lane.CROSS)
    reference = sizer.size(opp)                      # its LegSet and plan made in its frame
    assert reference.opportunity is not None and len(made) == 1 and planned == [opp.id]
    assert made[0] == tuple((leg.market, leg.side) for leg in opp.legs)
    sizer._leg_sets.clear()
    sizer._recent.clear()
    del made[:], planned[:]
    sizer.refresh(CASH)
    assert sizer.candidates() == [] and asyncio.run(sizer.plan_ahead()) == 0 and planned == []
    universe = sizer.session.universe
    names = [m.name for m in universe.markets]
    expected = {c.id_hex: tuple((names[m], side) for m, side in c.legs) for c in build_candidates(universe)}
    assert len(expected) == 4 and opp.id in expected
    assert sorted(made) == sorted(expected.values()) and frozen == [4]
    assert {k: tuple((leg.market, leg.side) for leg in v.trade_legs) for k, v in sizer._leg_sets.items()} == expected
    assert asyncio.run(sizer.plan_ahead()) == 0 and len(made) == 4 and frozen == [4]   # once per universe
    found = sizer.size(opp)                          # its plan made in its frame, its LegSet read
    assert len(made) == 4 and planned == [opp.id]
    assert found.record() == reference.record() and found.opportunity == reference.opportunity
    sizer.refresh(CASH)                              # a new portfolio: a new plan, the same LegSet
    again = sizer.size(opp)
    assert len(made) == 4 and planned == [opp.id, opp.id] and again.record() == reference.record()
    # the universe grew (a relation generated, here one listed twice: no new leg set): its leg sets
    # are gone through again, those known kept
    sizer.session.universe = dataclasses.replace(universe, relations=universe.relations + universe.relations[:1])
    asyncio.run(sizer.plan_ahead())
    assert len(made) == 4 and frozen == [4, 4]


def test_a_large_session_plans_the_leg_sets_nearest_an_arbitrage(on_engine_sizer, monkeypatch):
    """Over CANDIDATES_PLANNED_MAX leg sets, plan_ahead plans the NEAREST_PLANNED leg sets with the
    largest edge at the best levels (`Engine.nearest`), after the recent ones: an opportunity then
    found among them is sized with no plan made in its frame, as one planned in its frame."""
    from arbbot.engine.twin.candidates import build_candidates
    from arbbot.sizing import on_engine
    sizer, _ = on_engine_sizer
    monkeypatch.setattr("arbbot.run.sizer.CANDIDATES_PLANNED_MAX", 3)    # 2 markets + 2 × 1 relation > 3
    monkeypatch.setattr("arbbot.run.sizer.NEAREST_PLANNED", 2)
    monkeypatch.setattr("arbbot.run.sizer.gc.freeze", lambda: None)
    planned = []
    real_plan = on_engine.plan
    monkeypatch.setattr(on_engine, "plan", lambda opp, *a, **k: planned.append(opp.id) or real_plan(opp, *a, **k))
    engine, universe = sizer.session.engine, sizer.session.universe
    ids = [c.id_hex for c in build_candidates(universe)]
    nearest = [ids[c] for c in engine.nearest(2)]
    opp = next(o for o in engine.scan().opportunities if o.lane is Lane.CROSS)
    assert len(ids) == 4 and len(nearest) == 2 and nearest[0] == opp.id      # the one live leg set first
    sizer.refresh(CASH)
    assert asyncio.run(sizer.plan_ahead()) == 2 and planned == nearest
    found = sizer.size(opp)                          # planned ahead: no plan in its frame
    assert planned == nearest and found.opportunity is not None
    sizer.refresh(CASH)
    del planned[:]
    reference = sizer.size(opp)                      # the same portfolio, its plan made in its frame
    assert planned == [opp.id]
    assert found.record() == reference.record() and found.opportunity == reference.opportunity
    assert asyncio.run(sizer.plan_ahead()) == 1 and planned == [opp.id, nearest[1]]   # recent first, then the nearest


def test_leg_sets_cut_short_by_a_refresh_go_on_at_the_next_one(on_engine_sizer, monkeypatch):
    """A refresh cancels the planning under way: the next one goes on with the LegSets already
    made kept, and the candidates listed once (not again on the worker thread)."""
    import arbbot.run.sizer as sizer_module
    sizer, _ = on_engine_sizer
    monkeypatch.setattr(sizer_module, "CANDIDATES_PLANNED_MAX", 3)
    monkeypatch.setattr(sizer_module, "NEAREST_PLANNED", 0)        # no plan (each makes its LegSet)
    monkeypatch.setattr(sizer_module, "LEG_SETS_CHUNK", 1)
    monkeypatch.setattr(sizer_module.gc, "freeze", lambda: None)
    listed = []
    real_build = sizer_module.build_candidates
    monkeypatch.setattr(sizer_module, "build_candidates", lambda u: listed.append(1) or real_build(u))
    sizer.refresh(CASH)

    async def cut_short():
        run = asyncio.ensure_future(sizer.plan_ahead())
        while len(sizer._leg_sets) < 2:
            await asyncio.sleep(0)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        return len(sizer._leg_sets)
    assert asyncio.run(cut_short()) == 2 and listed == [1] and sizer._leg_sets_made == ()
    kept = dict(sizer._leg_sets)
    asyncio.run(sizer.plan_ahead())
    assert listed == [1] and len(sizer._leg_sets) == 4 and sizer._leg_sets_made != ()
    assert all(sizer._leg_sets[k] is v for k, v in kept.items())


def test_a_replay_plans_nothing_ahead(on_engine_sizer):
    """In a replay (refreshes on the loop, a virtual clock) nothing is planned ahead: a plan made
    ahead only saves latency, and its turns of the loop ordered the events of one virtual instant
    (a book burst, a refresh) differently on the swift engine (which plans) than on the python one
    (which does not). A 64 s recording replayed to 5,324,390 µ$ locked in on swift and 5,465,080
    on python; now 5,465,080 on both. A live session still plans ahead after each refresh."""
    sizer, store = on_engine_sizer

    async def refreshed(off_loop: bool):
        trader = _trader(sizer, store, off_loop=off_loop)
        await trader.refresh_sizing_async()
        planning = trader._planning
        if planning is not None:
            await planning
        return planning
    assert asyncio.run(refreshed(False)) is None
    assert asyncio.run(refreshed(True)).result() > 0


def test_a_restart_reads_each_keys_newest_samples_only_in_the_window(tmp_path):
    """The rings keep each key's newest MAX_SAMPLES; the store picks them (a day's window held
    millions of rows, every one made a Python object at each start to keep 512 a key)."""
    from arbbot.execution.store import OrderStore
    from arbbot.run.samples import MAX_SAMPLES
    from arbbot.sizing import state
    from arbbot.sizing.config import SizingConfig
    store = OrderStore(str(tmp_path / "s.db"))
    t0 = 1_800_000_000.0
    rows = [("mid", "kalshi:A", t0 + k, k / 1000) for k in range(MAX_SAMPLES + 100)]
    rows += [("mid", "kalshi:B", t0 + k + 0.5, 0.5) for k in range(3)]
    rows += [("latency", "kalshi", t0 - 90_000, 9.0), ("latency", "kalshi", t0 + 5, 0.2)]   # one before the window
    store.add_estimate_samples(rows)
    now_ms = int((t0 + MAX_SAMPLES + 100) * 1000)
    h = state.history(store, now_ms, SizingConfig(), newest=MAX_SAMPLES)
    assert [v for _, v in h.mids["kalshi:A"]] == [k / 1000 for k in range(100, MAX_SAMPLES + 100)]
    assert h.mids["kalshi:B"] == tuple((t0 + k + 0.5, 0.5) for k in range(3))
    assert h.latency == {Venue.KALSHI: ((t0 + 5, 0.2),)}
    assert state.history(store, now_ms, SizingConfig()).mids["kalshi:A"][0] == (t0, 0.0)   # all: from the first
    store.close()
