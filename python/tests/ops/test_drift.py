"""Drift monitor (arbbot.ops.drift): exact µ$ windows over a real order store with a fake clock,
one alert per episode, the lane disabled and put back, state surviving a re-open, and the
trader skipping a disabled lane."""
from __future__ import annotations

import asyncio
from collections import deque

import pytest

from arbbot.engine.types import Lane
from arbbot.execution import ExecutionResult, ExecutorConfig, OrderStore
from arbbot.ops import drift as drift_mod
from arbbot.ops.drift import DriftConfig, DriftMonitor, enable_lane
from arbbot.risk import RiskGates
from arbbot.run.trader import PaperTrader
from tests.risk.trades import Clock, complete_profitable, two_leg_opportunity, unwound_losing_3_25, utc_s

# two_leg_opportunity: qty 1,000 lots, payout $10.00, planned profit 800 × 1,000 − 90,000 = $0.71
PLANNED = 710_000
UNWOUND = -3_250_000        # unwound_losing_3_25's cash flow (fees included)
CONFIG = DriftConfig(window_ms=3_600_000, min_executions=2, max_gap_micros=5_000_000, disable_lane=True)


def _result(store, xid: str, state: str) -> ExecutionResult:
    return ExecutionResult(xid, state, "", store.leg_net(xid), store.cash_flow(xid))


def _unwound(store, monitor, xid: str):
    unwound_losing_3_25(store, xid)
    return monitor.on_result(_result(store, xid, "unwound"), two_leg_opportunity(f"opp-{xid}"))


def _complete(store, monitor, xid: str):
    complete_profitable(store, xid)
    return monitor.on_result(_result(store, xid, "complete"), two_leg_opportunity(f"opp-{xid}"))


def _alerts(store) -> list[dict]:
    return [e["data"] for e in store.events_after(0, 10_000) if e["kind"] == "drift_alert"]


@pytest.fixture
def clock():
    return Clock(utc_s("2026-03-10 10:00:00"))


@pytest.fixture
def store(tmp_path, clock):
    s = OrderStore(str(tmp_path / "o.db"), clock_ms=clock.ms)
    yield s
    s.close()


def test_the_window_is_exact_and_a_profitable_lane_does_not_drift(store, clock):
    monitor = DriftMonitor(store, CONFIG, clock=clock)
    monitor.load()
    for n in range(3):
        assert _complete(store, monitor, f"c{n}") is None
        clock.t += 1
    w = monitor.window(Lane.CROSS)
    # complete: locked-in = $10.00 payout − $9.29 paid (fees included) = the planned $0.71
    assert (w.executions, w.expected, w.realised, w.gap) == (3, 3 * PLANNED, 3 * 710_000, 0)
    assert monitor.disabled() == {} and _alerts(store) == []


def test_a_drifting_lane_alerts_once_is_disabled_and_survives_a_reopen(tmp_path, store, clock):
    monitor = DriftMonitor(store, CONFIG, clock=clock, configured_lanes=["cross", "bucket"])
    monitor.load()
    assert _unwound(store, monitor, "u1") is None           # 1 execution < min_executions 2
    clock.t += 60
    alert = _unwound(store, monitor, "u2")
    # expected 2 × $0.71, realised 2 × −$3.25: gap $7.92 > $5
    expected = {"lane": "cross", "expected_micros": 1_420_000, "realised_micros": -6_500_000,
                "gap_micros": 7_920_000, "executions": 2, "window_s": 3600.0, "max_gap_micros": 5_000_000,
                "disabled": True}
    assert alert == expected
    assert _alerts(store) == [expected]
    assert Lane.CROSS in monitor.disabled_lanes and "cross" in monitor.disabled_lanes
    assert list(monitor.disabled()) == ["cross"]
    value, reason = store.flags("lane_disabled:")["lane_disabled:cross"]
    assert value == "1" and reason.startswith("drift: realised $-6.500000 vs expected $1.420000 over 2 executions")
    clock.t += 60
    assert _unwound(store, monitor, "u3") is None            # same episode: no second alert
    assert len(_alerts(store)) == 1
    assert monitor.window("cross").realised == 3 * UNWOUND
    store.close()

    # a restart: the disabled lane, the window and the alerted episode come back from the store
    clock.t += 60
    again = OrderStore(str(tmp_path / "o.db"), clock_ms=clock.ms)
    m2 = DriftMonitor(again, CONFIG, clock=clock, configured_lanes=["bucket", "cross"])   # same set: stays out
    m2.load()
    assert m2.disabled_lanes >= {Lane.CROSS}
    w = m2.window(Lane.CROSS)
    assert (w.executions, w.expected, w.realised, w.gap) == (3, 3 * PLANNED, 3 * UNWOUND, 3 * PLANNED - 3 * UNWOUND)
    assert len(_alerts(again)) == 1                           # no new alert for the same episode
    assert m2.summary()["lanes"]["cross"] == {"executions": 3, "expected_micros": 2_130_000,
                                              "realised_micros": -9_750_000, "gap_micros": 11_880_000}
    again.close()


def test_putting_a_lane_back_restarts_its_window_and_a_new_episode_alerts_again(tmp_path, store, clock):
    monitor = DriftMonitor(store, CONFIG, clock=clock)
    monitor.load()
    _unwound(store, monitor, "u1")
    _unwound(store, monitor, "u2")
    assert Lane.CROSS in monitor.disabled_lanes
    clock.t += 10
    assert enable_lane(store, "cross", who="alice") is True   # what the dashboard calls
    assert monitor.disabled_lanes == frozenset() and monitor.disabled() == {}
    assert store.flags("lane_disabled:cross")["lane_disabled:cross"] == ("0", "put back by alice")
    assert [e["data"] for e in store.events_after(0, 10_000) if e["kind"] == "drift_lane_enabled"] == [
        {"lane": "cross", "who": "alice", "was_disabled": True}]
    assert monitor.window("cross").executions == 0             # the window restarts at the put-back
    clock.t += 10
    assert _unwound(store, monitor, "u3") is None
    clock.t += 10
    alert = _unwound(store, monitor, "u4")                     # a new episode: alerted again
    assert alert["executions"] == 2 and alert["gap_micros"] == 7_920_000
    assert len(_alerts(store)) == 2 and Lane.CROSS in monitor.disabled_lanes
    store.close()

    # the put-back floor survives a restart too: u1, u2 stay out of the rebuilt window
    again = OrderStore(str(tmp_path / "o.db"), clock_ms=clock.ms)
    m2 = DriftMonitor(again, CONFIG, clock=clock)
    m2.load()
    assert m2.window("cross").executions == 2 and len(_alerts(again)) == 2
    again.close()


def test_the_window_rolls_and_ends_the_episode(store, clock):
    config = DriftConfig(window_ms=600_000, min_executions=2, max_gap_micros=5_000_000, disable_lane=False)
    monitor = DriftMonitor(store, config, clock=clock)
    monitor.load()
    _unwound(store, monitor, "u1")
    assert _unwound(store, monitor, "u2")["gap_micros"] == 7_920_000
    assert monitor.disabled() == {} and store.flags("lane_disabled:") == {}    # disable_lane = false: alert only
    clock.t += 601                                             # both executions leave the 10-minute window
    monitor.tick()
    assert monitor.window("cross").executions == 0
    _unwound(store, monitor, "u3")
    assert _unwound(store, monitor, "u4") is not None          # the old episode ended: a new alert
    assert len(_alerts(store)) == 2


def test_a_flag_cleared_by_another_process_is_learnt_by_tick(tmp_path, store, clock):
    monitor = DriftMonitor(store, CONFIG, clock=clock)
    monitor.load()
    _unwound(store, monitor, "u1")
    _unwound(store, monitor, "u2")
    other = OrderStore(str(tmp_path / "o.db"), clock_ms=clock.ms)       # e.g. an operator tool
    drift_mod._MONITORS.discard(monitor)                                 # as if in another process
    other.set_flag("lane_disabled:cross", "0", "by hand")
    other.close()
    assert Lane.CROSS in monitor.disabled_lanes
    monitor.tick()
    assert monitor.disabled_lanes == frozenset()


def test_editing_the_configured_lanes_puts_the_lane_back_at_start(tmp_path, store, clock):
    monitor = DriftMonitor(store, CONFIG, clock=clock, configured_lanes=["intra", "cross", "bucket"])
    monitor.load()
    _unwound(store, monitor, "u1")
    _unwound(store, monitor, "u2")
    assert store.flags("lane_disabled_config:")["lane_disabled_config:cross"][0] == '["bucket", "cross", "intra"]'
    store.close()
    clock.t += 5
    again = OrderStore(str(tmp_path / "o.db"), clock_ms=clock.ms)
    m2 = DriftMonitor(again, CONFIG, clock=clock, configured_lanes=["intra", "cross"])   # a person edited lanes
    m2.load()
    assert m2.disabled() == {}
    value, reason = again.flags("lane_disabled:cross")["lane_disabled:cross"]
    assert value == "0" and "lanes edited" in reason
    assert m2.window("cross").executions == 0 and len(_alerts(again)) == 1
    again.close()


class _StubExecutor:
    """Executes by writing an unwound execution (−$3.25) into the store: no venue."""
    config = ExecutorConfig()

    def __init__(self, store) -> None:
        self.store, self.n, self.answered = store, 0, deque()

    def pause_gc(self) -> None:
        pass

    def resume_gc(self) -> None:
        pass

    async def execute(self, opp, decided_ns=None, sizing=None, loss_budget=0) -> ExecutionResult:
        self.n += 1
        xid = f"x{self.n}"
        unwound_losing_3_25(self.store, xid)
        return _result(self.store, xid, "unwound")


def test_the_trader_feeds_the_monitor_and_skips_a_disabled_lane(store, clock):
    monitor = DriftMonitor(store, CONFIG, clock=clock)
    changes: list[frozenset] = []
    monitor.on_change = changes.append          # what attach_paper_trader hands the sizer
    monitor.load()
    executor = _StubExecutor(store)
    trader = PaperTrader(executor, RiskGates(), {}, store, drift=monitor)
    trader.cash = {"kalshi": 10**12, "polymarket": 10**12}

    async def offer(n: int) -> None:
        for i in range(n):
            trader.offer(two_leg_opportunity(f"opp{i}"))
            await trader.drain()
    asyncio.run(offer(3))
    assert trader.stats.executions["unwound"] == 2 and executor.n == 2
    assert trader.stats.realised == 2 * UNWOUND
    assert trader.stats.skipped == {"lane disabled (drift)": 1}          # the third: lane out after 2
    assert trader.drift.disabled() == {"cross": store.flags("lane_disabled:")["lane_disabled:cross"][1]}
    assert store.count_executions(("unwound",)) == 2                      # nothing executed for the third
    enable_lane(store, Lane.CROSS, who="bob")
    asyncio.run(offer(1))
    assert executor.n == 3 and trader.stats.skipped["lane disabled (drift)"] == 1
    assert changes[-2:] == [frozenset({"cross"}), frozenset()]


def test_a_disabled_lane_leaves_the_sizing_budget_split():
    """Step 9 splits the budget over `[sizing.lane_allocator] lanes`: a lane the monitor took out
    is left out of it (and rejected there) until it is put back."""
    from arbbot.config import Settings
    from arbbot.run.sizer import SessionSizer
    sizer = SessionSizer.__new__(SessionSizer)            # only the config part of a session's sizer
    sizer._configured, sizer._excluded, sizer._generation = Settings(kill_file="").sizing, frozenset(), 0
    sizer.exclude_lanes(frozenset({"cross"}))
    assert sizer.cfg.lane_allocator.lanes == ["intra", "bucket", "parity", "tree"]
    assert sizer._params == sizer.cfg.params() and sizer._configured.lane_allocator.lanes[1] == "cross"
    # an operator's change keeps the lane out; putting the lane back keeps the change
    tuned = sizer._configured.model_copy(update={"kelly": sizer._configured.kelly.model_copy(
        update={"kelly_multiplier": 0.5})})
    sizer.reconfigure(tuned)
    assert sizer.cfg.lane_allocator.lanes == ["intra", "bucket", "parity", "tree"]
    sizer.exclude_lanes(frozenset())
    assert sizer.cfg.lane_allocator.lanes == ["intra", "cross", "bucket", "parity", "tree"]
    assert sizer.cfg.kelly.kelly_multiplier == 0.5 and sizer._params == tuned.params()


def test_a_real_run_disables_a_drifting_lane_and_skips_it(tmp_path):
    """`arbbot run` against a simulator rejecting every second order: unwound executions make a
    lane drift (tight settings); the alert is in the store, the lane's later opportunities are
    skipped, and the flag is there for the next start."""
    from tests.run.botproc import SimProcess, run_bot
    sim = SimProcess(tmp_path, seed=1, step=0.2, faults={"order_reject_every": 2})
    try:
        bot = run_bot(sim, tmp_path / "d.db", "--duration", "10", "--cooldown", "0.1", "--no-dashboard",
                      env={"ARB_BREAKER_FAILURES": "1000", "ARB_DRIFT_MIN_EXECUTIONS": "1",
                           "ARB_DRIFT_MAX_GAP_USD": "0.01"})
    finally:
        sim.stop()
    assert bot.returncode == 0, bot.stderr[-3000:]
    trading = bot.summary["trading"]
    alerts = [e for e in bot.events if e["event"] == "drift.alert"]
    assert alerts, trading
    store = OrderStore(str(tmp_path / "d.db"))
    stored = _alerts(store)
    assert [a["lane"] for a in stored] == [a["lane"] for a in alerts]
    assert all(a["gap_micros"] == a["expected_micros"] - a["realised_micros"] > 10_000 for a in stored)
    flags = store.flags("lane_disabled:")
    assert {name.split(":")[1] for name, (value, _) in flags.items() if value == "1"} == {a["lane"] for a in stored}
    assert trading["skipped"].get("lane disabled (drift)", 0) >= 1, trading
    monitor = DriftMonitor(store, DriftConfig(), configured_lanes=None)
    monitor.load()                                       # the next start: still out
    assert set(monitor.disabled()) == {a["lane"] for a in stored}
    store.close()


def test_lots_a_venue_filled_beyond_the_size_are_not_expected_profit():
    """Leg 0 filled 1,031 of 1,000 lots (Polymarket's budget bought more), leg 1 1,000: the execution
    committed to 1,000, so 1,000 lots' planned profit ($0.10) is expected, not 1,031's ($0.1031). A
    first leg that filled 700 expects 700's."""
    from arbbot.ops.reporting.pnl import execution_pnl
    over = execution_pnl("complete", 1_000, 10_000_000, 100_000, [1_031, 1_000], 1_031, -9_990_000)
    assert (over.expected, over.traded, over.locked_in) == (100_000, 1_000, 10_000)
    part = execution_pnl("complete", 1_000, 10_000_000, 100_000, [700, 700], 700, -6_930_000)
    assert (part.expected, part.traded, part.locked_in) == (70_000, 700, 70_000)


def test_what_was_paid_for_lots_held_beyond_the_sets_is_not_a_loss():
    """Leg 1 filled 1,031 lots for $4.7988 (its budget bought 31 beyond 1,000): those 31 cost
    31 × 4,798,800 // 1,031 = 144,289 µ$, held at cost, so the locked-in profit is the 1,000 sets'
    (cash flow −$9.4488 + $0.144289 + payout $10 = $0.695489). Equal legs hold nothing; a lot an
    unwind bought of the other side beyond the leg counts at its cost, not as a $1 pair."""
    from arbbot.ops.reporting.pnl import execution_pnl, held_cost
    held = held_cost([1_000, 1_031], [1_000, 1_031], [4_650_000, 4_798_800])
    assert held == 144_289
    assert execution_pnl("complete", 1_000, 10_000_000, 700_000, [1_000, 1_031], 1_000, -9_448_800, held).locked_in \
        == 695_489
    assert held_cost([1_000, 1_000], [1_000, 1_000], [4_650_000, 4_800_000]) == 0
    # an unwind that bought 605 NO at 0.80 for 604 YES: the cash flow credits the 605th as a $1 pair
    assert held_cost([-1, 0], [604, 0], [1_510_000, 0], [605, 0], [4_840_000, 0]) == 8_000 - 10_000


def test_the_dashboard_sizing_and_report_count_held_lots_at_cost_like_the_run_summary(tmp_path, clock):
    """An execution whose Polymarket leg filled 1,031 of 1,000 lots at 50¢ ($5.155, fee $0.05): the
    31 extra lots cost 31 × 5,205,000 // 1,031 = 156,503 µ$. Locked-in = $10 − $9.445 + $0.156503
    = $0.711503 on the dashboard's execution row, in the lane's daily PnL (sizing) and in the
    report, as the store's held_cost says."""
    from arbbot.ops.dashboard.history import History
    from arbbot.ops.reporting.build import build_report
    from arbbot.ops.reporting.load import read_store
    from tests.risk.trades import fill
    store = OrderStore(str(tmp_path / "o.db"), clock_ms=clock.ms)
    store.create_execution("o1", two_leg_opportunity("opp-o1"))
    for leg, (venue, market, side, lots, price, fee) in enumerate((("kalshi", "A", "yes", 1_000, 4_200, 40_000),
                                                                   ("polymarket", "B", "no", 1_031, 5_000, 50_000))):
        fill(store, "o1", leg, "entry", venue=venue, market_id=market, side=side, action="buy", qty=lots, price=price,
             fee=fee)
    store.set_execution_state("o1", "complete")
    assert store.held_cost("o1") == 156_503
    locked = 10_000_000 - (4_200_000 + 40_000 + 5_155_000 + 50_000) + 156_503
    assert locked == 711_503
    (row,) = History(store.path).executions()
    assert row["locked_in_micros"] == locked and row["cash_flow_micros"] == locked - 156_503 - 10_000_000
    assert store.lane_daily_pnl(0, 0) == {int(Lane.CROSS): (locked,)}
    assert build_report(read_store(store.path))["totals"]["locked_in_micros"] == locked
    store.close()
