"""The run's counts (`arbbot run --json`'s `trading`: executions by state, locked-in and realised
PnL) and the drift monitor's lane windows say what the store says, to the µ$, as `arbbot report`
reads it:
- an execution whose venue reverted a fill after it ended (Polymarket's FAILED trade) and that the
  executor re-hedged moves from what it first ended as to what it is now (before: the summary kept
  $0.40 of locked-in that no longer existed and missed the re-hedge's loss; the drift window too);
- an execution that ended while one order's fills were not listed yet counts that order's cost as
  the venue answered it (before: the payout of its lots without their cost, $0.505 too much).

Units: lots (100 a contract), ticks (10,000 = $1), µ$."""
from __future__ import annotations

import dataclasses

from arbbot.engine.types import Kind, Lane, Leg, Opportunity
from arbbot.execution.executor import Executor
from arbbot.execution.store import OrderStore
from arbbot.model import Side
from arbbot.ops.drift import DriftMonitor
from arbbot.ops.reporting.build import build_report
from arbbot.ops.reporting.load import read_store
from arbbot.risk.gates import RiskGates
from arbbot.run.trader import PaperTrader
from arbbot.venues.common.model import Action, Fill, Order, OrderStatus, Venue

LEGS = (Leg("kalshi:K1", Side.YES, 100, 4_000, 400_000, 10_000), Leg("polymarket:P1", Side.NO, 100, 5_000, 500_000, 5_000))
OPP = Opportunity("00000000000000aa", Lane.CROSS, Kind.YES_A_NO_B, 100, 1_000_000, 900_000, 15_000, 85_000, LEGS)
XID = "00000000000000aa-1"


def filled(store, leg: int, role: str, venue: Venue, market_id: str, side: Side, action: Action, price: int, fee: int,
           listed: bool = True, attempt: int = 0) -> str:
    """One order of 100 lots filled in full at `price`, its fill listed or not (the venue answered it)."""
    coid = store.add_intent(XID, leg, role, attempt, venue=venue.label, market=f"{venue.label}:{market_id}",
                            market_id=market_id, side=side.label, action=action.value, qty=100, price=price, tif="ioc",
                            new_execution=OPP if (leg, role) == (0, "entry") else None)
    store.record_order(coid, Order(venue, f"o-{coid}", coid, market_id, side, action, price, 100, 100, 0,
                                   OrderStatus.FILLED, fee, price * 100),
                       [Fill(venue, f"f-{coid}", f"o-{coid}", market_id, side, action, price, 100, fee, True, 1, coid)]
                       if listed else [])
    return coid


def setup(tmp_path):
    store = OrderStore(tmp_path / "o.db")
    executor = Executor(store, {})
    drift = DriftMonitor(store)
    trader = PaperTrader(executor, RiskGates(), {}, store, drift=drift)
    return store, executor, drift, trader


def report_totals(store) -> tuple[dict, int, int]:
    totals = build_report(read_store(store.path))["totals"]
    return totals["executions"], totals["locked_in_micros"], totals["realised_micros"]


def test_a_rehedged_execution_moves_in_the_runs_counts_and_its_drift_window(tmp_path):
    store, executor, drift, trader = setup(tmp_path)
    filled(store, 0, "entry", Venue.KALSHI, "K1", Side.YES, Action.BUY, 4_000, 10_000)
    filled(store, 1, "entry", Venue.POLYMARKET, "P1", Side.NO, Action.BUY, 5_000, 5_000)
    store.set_execution_state(XID, "complete")
    first = executor._result(XID, "complete")
    trader.record(first, OPP)
    drift.on_result(first, OPP)
    # $1.00 − $0.40 − $0.50 − $0.015 of fees: $0.085 locked in
    assert (dict(trader.stats.executions), trader.stats.locked_in, trader.stats.realised) == ({"complete": 1}, 85_000, 0)
    assert drift.window(Lane.CROSS).realised == 85_000
    # the Polymarket trade FAILED on chain: leg 1 never happened; leg 0 is sold back at 38¢ ($0.008 fee)
    store.void_fills("polymarket", ["f-" + XID + "-L1E0"], "trade FAILED", reopen=True)
    filled(store, 0, "unwind", Venue.KALSHI, "K1", Side.YES, Action.SELL, 3_800, 8_000)
    store.set_execution_state(XID, "unwound")
    again = executor._result(XID, "unwound")
    assert again.cash_flow == -400_000 - 10_000 + 380_000 - 8_000
    trader.rehedged(again)
    # −$0.038: the sale's 2¢ a contract and both fees
    assert (dict(trader.stats.executions), trader.stats.locked_in, trader.stats.realised) == ({"unwound": 1}, 0, -38_000)
    assert report_totals(store) == ({"unwound": 1}, 0, -38_000)
    assert dict(trader.stats.ended) == {"complete": 1, "unwound": 1}          # the metric's endings never drop
    assert sum(trader.stats.pnl_path) == -38_000
    window = drift.window(Lane.CROSS)
    assert (window.executions, window.expected, window.realised) == (1, 85_000, -38_000)


def test_an_execution_of_an_earlier_run_rehedged_moves_only_its_drift_window(tmp_path):
    store, executor, drift, trader = setup(tmp_path)
    filled(store, 0, "entry", Venue.KALSHI, "K1", Side.YES, Action.BUY, 4_000, 10_000)
    filled(store, 1, "entry", Venue.POLYMARKET, "P1", Side.NO, Action.BUY, 5_000, 5_000)
    store.set_execution_state(XID, "complete")
    drift.load()                                     # a restart: the window comes from the store
    assert drift.window(Lane.CROSS).realised == 85_000
    store.void_fills("polymarket", ["f-" + XID + "-L1E0"], "trade FAILED", reopen=True)
    filled(store, 0, "unwind", Venue.KALSHI, "K1", Side.YES, Action.SELL, 3_800, 8_000)
    store.set_execution_state(XID, "unwound")
    trader.rehedged(executor._result(XID, "unwound"))
    assert (dict(trader.stats.executions), trader.stats.locked_in, trader.stats.realised) == ({}, 0, 0)
    window = drift.window(Lane.CROSS)
    assert (window.executions, window.realised) == (1, -38_000)


def test_an_order_whose_fills_are_not_listed_yet_counts_its_answered_cost(tmp_path):
    store, executor, drift, trader = setup(tmp_path)
    filled(store, 0, "entry", Venue.KALSHI, "K1", Side.YES, Action.BUY, 4_000, 10_000)
    filled(store, 1, "entry", Venue.POLYMARKET, "P1", Side.NO, Action.BUY, 5_000, 5_000, listed=False)
    store.set_execution_state(XID, "complete")
    result = executor._result(XID, "complete")
    assert result.filled == {0: 100, 1: 100} and result.cash_flow == -410_000 - 505_000
    trader.record(result, OPP)
    assert trader.stats.locked_in == 85_000             # before: 590,000 (leg 1's lots without their cost)
    # listed later, the report agrees
    store.record_fills(f"{XID}-L1E0", [Fill(Venue.POLYMARKET, "f-late", f"o-{XID}-L1E0", "P1", Side.NO, Action.BUY,
                                            5_000, 100, 5_000, True, 2, f"{XID}-L1E0")])
    assert report_totals(store) == ({"complete": 1}, 85_000, 0)


def test_counts_stay_revisable_for_an_hour_only(tmp_path):
    """The trader remembers each execution's part in the counts for COUNTED_KEEP_S (an hour: a
    venue reverts fills within the 15-minute settlement watch), the oldest dropped first; a
    re-hedge after that leaves the run's counts as they are."""
    from types import SimpleNamespace
    from arbbot.run.trader import COUNTED_KEEP_S
    store = OrderStore(tmp_path / "o.db")
    now = [1_000.0]
    trader = PaperTrader(Executor(store, {}), RiskGates(), {}, store, clock=lambda: now[0])

    def result(xid, state, cash_flow):
        return SimpleNamespace(execution_id=xid, state=state, reason="", filled={0: 100, 1: 100},
                               cash_flow=cash_flow, held_cost=0)

    trader.record(result("a", "complete", -915_000), OPP)
    now[0] += COUNTED_KEEP_S + 1
    trader.record(result("b", "complete", -915_000), OPP)
    assert list(trader._counted) == ["b"]
    trader.rehedged(result("a", "unwound", -38_000))        # too late to revise: counts unchanged
    trader.rehedged(result("b", "unwound", -38_000))
    assert (dict(trader.stats.executions), trader.stats.locked_in, trader.stats.realised) == \
        ({"complete": 1, "unwound": 1}, 85_000, -38_000)


def test_a_rehedged_bucket_execution_revises_its_groups_trial(tmp_path):
    """Bucket selection counts a complete, profitable execution as its group's success; re-hedged
    to unwound (a venue reverted a fill), that trial becomes a failure, persisted: the group's
    posterior is as if it had failed (1 failure, 0 successes), not 1 success and 1 failure."""
    from types import SimpleNamespace
    from arbbot.mapping.selection import BucketSelector
    store = OrderStore(tmp_path / "o.db")
    buckets = BucketSelector(store)
    trader = PaperTrader(Executor(store, {}), RiskGates(), {}, store, buckets=buckets,
                         bucket_group=lambda opp: "g", clock=lambda: 1_000.0)
    opp = dataclasses.replace(OPP, lane=Lane.BUCKET)
    first = SimpleNamespace(execution_id="b", state="complete", reason="", filled={0: 100, 1: 100},
                            cash_flow=-915_000, held_cost=0)
    trader.record(first, opp)
    trader._bucket_outcome(opp, first)
    assert (buckets.stats("g", 1_000.0).successes, buckets.stats("g", 1_000.0).failures) == (1.0, 0.0)
    trader.rehedged(SimpleNamespace(execution_id="b", state="unwound", reason="", filled={0: 0, 1: 0},
                                    cash_flow=-38_000, held_cost=0))
    st = BucketSelector(store).stats("g", 1_000.0)                     # as persisted
    assert (st.successes, st.failures, st.consecutive_failures) == (0.0, 1.0, 1)
