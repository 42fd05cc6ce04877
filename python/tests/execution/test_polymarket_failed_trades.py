"""A Polymarket trade that FAILED on chain after it was MATCHED is no fill: its leg is voided and the
execution brought back to hedged.

The CLOB matches a trade at once and settles it on chain afterwards: MATCHED, MINED, CONFIRMED, or
RETRYING then FAILED, when no tokens and no cash moved (docs.polymarket.com/developers/CLOB/trades/
trades-overview; py-clob-client #338: 12 of 34 matched BUYs FAILED after the V2 cutover). GET
/data/trades lists the same trade id with its new status; GET /data/order keeps the order's
size_matched ("ghost fills", py-clob-client-v2 #34). Before, the executor hedged leg 0's MATCHED
fill with leg 1 and recorded the execution complete; when leg 0's trade FAILED nothing removed its
fill from the store, so the store said "complete, hedged" while the venue held leg 1 alone (naked),
until a reconciliation found the difference. The simulator now fails every Nth trade
(`Faults.poly_trade_fail_every`) after `poly_trade_fail_after_s`, reverting it in its engine.

End to end: executor → the real Polymarket adapter (signed V2 orders) → the simulated CLOB. Books
as `test_buys_by_amount` (A's YES asks 20,000 lots at 0.45 then 40,000 at 0.48; B's NO asks 100,000
at 0.40) and a NO bid on B at 0.39 to unwind leg 1 into. Units: lots (100 a share), ticks
($0.0001), µ$. Settlement timings are fractions of a second here.
"""
from __future__ import annotations

import asyncio
import time

from arbbot.engine.types import Side
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.execution.reconcile import reconcile, record_cash_baselines
from arbbot.execution.schema import LATEST, current_version
from arbbot.sim.engine.matching import HOUSE
from arbbot.sim.faults import Faults
from arbbot.venues.common.model import Action, Fill, OrderRequest, OrderStatus, Settlement, TimeInForce, Venue
from tests.execution.test_schema import T0, legacy_db
from tests.execution.test_buys_by_amount import _books, _markets, _opportunity
from tests.sim.venue_envs import polymarket

FAIL_AFTER_S = 0.4
FAST = ExecutorConfig(settlement_poll_s=0.05, settlement_poll_cap_s=0.2, unwind_pause_s=0.01, unwind_pause_cap_s=0.01)


def _setup(sim, v):
    """Markets A, B with the books of the module doc; the executor's routes over both."""
    a, b = _markets(sim)
    _books(sim, a, b)
    sim.exchange.set_level(HOUSE, b, "no", 3_900, 100_000)          # B's NO bid at 0.39: leg 1's way out
    return a, b, {f"polymarket:{c}": Route(v, c, v.provider.markets[c]) for c in (a, b)}


async def _settled(ex: Executor, within_s: float = 10.0) -> float:
    """Wait until the executor watches no execution's fills any more; seconds it took."""
    start = time.monotonic()
    while ex.settlements._tasks:
        assert time.monotonic() - start < within_s, "the settlement watch did not end"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def _positions(store, v) -> tuple[dict, dict]:
    """(the store's net YES lots per market, the venue's), non-zero ones, by `venue:id`."""
    held = {m: lots for m, (lots, _cost) in store.net_positions().items() if lots}
    return held, {f"polymarket:{p.market_id}": p.yes_lots for p in await v.positions()}


def test_a_leg_whose_trade_fails_after_the_execution_completed_is_voided_and_the_other_leg_unwound(tmp_path):
    """Leg 0's trade FAILS 0.4 s after it matched, once the execution completed: the watch voids
    its fills, unwinds leg 1's 30,000 lots (sold at 0.39), and the execution ends unwound, the
    trader told (`on_cash_change`), no safe mode; a reconciliation then finds no difference and the
    store's positions are the venue's (none)."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, b, routes = _setup(sim, v)
            store = OrderStore(tmp_path / "o.db")
            await record_cash_baselines(store, {"polymarket": v})

            def on_step(step):
                if step == "filled:L0":      # leg 0's trade will fail; the others settle at once
                    sim.faults = Faults()

            sim.faults = Faults(poly_trade_fail_every=1, poly_trade_fail_after_s=FAIL_AFTER_S)
            ex = Executor(store, routes, config=FAST, on_step=on_step)
            changed: list[str] = []
            ex.on_cash_change = changed.append
            rehedged: list = []
            ex.on_rehedged = rehedged.append
            res = await ex.execute(_opportunity(f"polymarket:{a}", f"polymarket:{b}"), execution_id="x")
            assert (res.state, res.filled) == ("complete", {0: 30_000, 1: 30_000})
            assert "x" in ex.settlements._tasks                    # leg 0's fills were not final
            await _settled(ex)
            row = store.execution("x")
            assert row.state == "unwound" and "reverted fills" in row.reason
            assert store.leg_net("x") == {0: 0, 1: 0} and store.safe_mode() is None
            leg0 = store.intents("x")[0]
            assert (leg0.role, leg0.state, leg0.filled_qty, leg0.cost, leg0.fee) == ("entry", "canceled", 0, 0, 0)
            assert sum(f.qty for f in store.voided_fills(leg0.client_order_id)) == 30_000
            assert [(i.leg, i.role, i.action, i.filled_qty) for i in store.intents("x")][2:] == [
                (1, "unwind", "sell", 30_000)]
            assert changed and set(changed) == {"x"}
            assert [(r.execution_id, r.state) for r in rehedged] == [("x", "unwound")]   # the trader's breaker
            kinds = [e["kind"] for e in store.events("x")]
            # reopened with the voiding (a crash during the re-hedge leaves it to crash recovery), then ended
            assert kinds.index("execution_complete") < kinds.index("fills_voided") \
                < kinds.index("execution_executing") < kinds.index("execution_unwound")
            report = await reconcile(store, {"polymarket": v})
            assert report["differences"] == 0, report["venues"]["polymarket"]["differences"]
            held, venue = await _positions(store, v)
            assert held == venue == {}
            tokens = sim.exchange.accounts["trader"].tokens
            assert (tokens[(a, "yes")], tokens[(b, "no")]) == (0, 0)
            store.close()
    asyncio.run(main())


def test_a_leg_re_hedged_twice_is_sold_again_under_a_new_order_id(tmp_path):
    """As above, and the re-hedge's own sale of leg 1 (x-L1U0) FAILS on chain too: the watch voids
    it and re-hedges again, selling leg 1 as x-L1U1. Before (crash review, session 33), the second
    re-hedge started its unwind attempts at 0 again: x-L1U0 was refused by the store's unique
    intent key, the re-hedge died, the execution stayed `executing` with 30,000 NO B lots naked at
    the venue, and no exposure counted them (only executions that ended are held)."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, b, routes = _setup(sim, v)
            store = OrderStore(tmp_path / "o.db")
            fail = Faults(poly_trade_fail_every=1, poly_trade_fail_after_s=FAIL_AFTER_S)

            def on_step(step):
                if step == "filled:L0":                 # leg 0's trade fails; leg 1's settles
                    sim.faults = Faults()
                elif step == "unwind_intent:L1" and not [i for i in store.intents("x") if i.role == "unwind"][:-1]:
                    sim.faults = fail                   # the first re-hedge's sale fails on chain too
                elif step == "unwind_placed:L1":
                    sim.faults = Faults()

            sim.faults = fail
            ex = Executor(store, routes, config=FAST, on_step=on_step)
            rehedged: list = []
            ex.on_rehedged = rehedged.append
            res = await ex.execute(_opportunity(f"polymarket:{a}", f"polymarket:{b}"), execution_id="x")
            assert (res.state, res.filled) == ("complete", {0: 30_000, 1: 30_000})
            await _settled(ex, within_s=20.0)
            assert [(r.execution_id, r.state) for r in rehedged] == [("x", "unwound"), ("x", "unwound")]
            assert store.execution("x").state == "unwound" and store.safe_mode() is None
            assert [(i.client_order_id, i.filled_qty) for i in store.intents("x")] == [
                ("x-L0E0", 0), ("x-L1E0", 30_000), ("x-L1U0", 0), ("x-L1U1", 30_000)]
            assert store.leg_net("x") == {0: 0, 1: 0}
            tokens = sim.exchange.accounts["trader"].tokens
            assert (tokens[(a, "yes")], tokens[(b, "no")]) == (0, 0)
            store.close()
    asyncio.run(main())


def test_a_re_hedge_that_errs_leaves_the_execution_naked_and_counted_not_open(tmp_path):
    """Leg 0's trade FAILS after the execution completed and the re-hedge itself errs (here its
    unwind raises before any order). Before, the execution stayed `executing` (reopened by the
    voiding) with leg 1's 30,000 lots held alone: safe mode said so, but no exposure count held
    them (only ended executions are held), so after an ack the bot traded as if they were not
    there. Now it is reconciled at once, as after an error inside an execution: naked."""
    from arbbot.sizing.state import HELD_STATES

    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, b, routes = _setup(sim, v)
            store = OrderStore(tmp_path / "o.db")

            def on_step(step):
                if step == "filled:L0":
                    sim.faults = Faults()

            sim.faults = Faults(poly_trade_fail_every=1, poly_trade_fail_after_s=FAIL_AFTER_S)
            ex = Executor(store, routes, config=FAST, on_step=on_step)
            res = await ex.execute(_opportunity(f"polymarket:{a}", f"polymarket:{b}"), execution_id="x")
            assert res.state == "complete"

            async def broken_fail(*_args, **_kw):
                raise RuntimeError("disk I/O error")
            ex._fail = broken_fail
            await _settled(ex)
            row = store.execution("x")
            assert row.state == "naked" and "x" in (store.safe_mode() or "")
            assert store.leg_net("x") == {0: 0, 1: 30_000}
            assert [held[0] for held in store.held_legs(HELD_STATES)] == [f"polymarket:{b}"]
            store.close()
    asyncio.run(main())


def test_a_confirmed_trade_changes_nothing(tmp_path):
    """Every trade goes MATCHED → MINED → CONFIRMED (the fault on, no trade failing): the watch
    ends once the venue says every fill is final, the execution stays complete with its 30,000
    sets, nothing is voided or unwound, and a reconciliation finds no difference."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, b, routes = _setup(sim, v)
            store = OrderStore(tmp_path / "o.db")
            await record_cash_baselines(store, {"polymarket": v})
            sim.faults = Faults(poly_trade_fail_every=1_000, poly_trade_fail_after_s=FAIL_AFTER_S)
            ex = Executor(store, routes, config=FAST)
            res = await ex.execute(_opportunity(f"polymarket:{a}", f"polymarket:{b}"), execution_id="x")
            assert res.state == "complete" and "x" in ex.settlements._tasks
            assert await _settled(ex) < FAST.settlement_watch_s
            assert store.execution("x").state == "complete" and store.execution("x").reason == ""
            assert store.leg_net("x") == {0: 30_000, 1: 30_000} and store.voided_fills() == []
            assert [i.role for i in store.intents("x")] == ["entry", "entry"] and store.safe_mode() is None
            fills = [f.fill_id for f in store.fills()]
            assert set((await v.fill_settlement(fills)).values()) == {Settlement.FINAL}
            assert (await reconcile(store, {"polymarket": v}))["differences"] == 0
            held, venue = await _positions(store, v)
            assert held == venue == {f"polymarket:{a}": 30_000, f"polymarket:{b}": -30_000}
            store.close()
    asyncio.run(main())


def test_after_a_restart_the_fills_of_a_recently_ended_execution_are_watched_again(tmp_path):
    """The process that traded stops before leg 0's trade FAILED (its watch never ran); the next
    one watches the executions ended within `settlement_watch_s` (`watch_settlements_since_restart`)
    and brings this one back to hedged: leg 0 voided, leg 1 unwound."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, b, routes = _setup(sim, v)
            store = OrderStore(tmp_path / "o.db")
            sim.faults = Faults(poly_trade_fail_every=1, poly_trade_fail_after_s=FAIL_AFTER_S)

            def on_step(step):
                if step == "filled:L0":
                    sim.faults = Faults()

            first = Executor(store, routes, config=FAST, on_step=on_step)
            assert (await first.execute(_opportunity(f"polymarket:{a}", f"polymarket:{b}"),
                                        execution_id="x")).state == "complete"
            for task in list(first.settlements._tasks.values()):      # the process stops
                task.cancel()
            await asyncio.sleep(FAIL_AFTER_S + 0.1)
            again = Executor(store, routes, config=FAST)
            assert again.watch_settlements_since_restart() == 1
            await _settled(again)
            assert store.execution("x").state == "unwound" and store.leg_net("x") == {0: 0, 1: 0}
            assert store.safe_mode() is None
            assert (await reconcile(store, {"polymarket": v}))["differences"] == 0
            store.close()
    asyncio.run(main())


def test_the_adapter_reports_a_failed_trade_and_counts_no_lots_for_its_order(tmp_path):
    """A GTC BUY of 20,000 lots of A's YES at 0.45 matches in full (MATCHED, not final), then its
    trade FAILS: the adapter lists no fill of it any more and reports the trade FAILED by its fill
    id, and the order read by id (GET /data/order, which still says size_matched 200 shares: the
    ghost fill) counts 0 lots, done: canceled. The simulator gave the cash back."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, _b, _routes = _setup(sim, v)
            before = sim.exchange.accounts["trader"].balance
            sim.faults = Faults(poly_trade_fail_every=1, poly_trade_fail_after_s=FAIL_AFTER_S)
            o = await v.place_order(OrderRequest(a, Side.YES, 4_500, 20_000, action=Action.BUY, tif=TimeInForce.GTC))
            assert (o.status, o.filled_lots) == (OrderStatus.FILLED, 20_000)
            [fill] = await v.fills(order_id=o.order_id)
            assert (fill.qty_lots, fill.final) == (20_000, False)
            assert await v.fill_settlement([fill.fill_id]) == {fill.fill_id: Settlement.PENDING}
            await asyncio.sleep(FAIL_AFTER_S + 0.2)
            assert await v.fill_settlement([fill.fill_id, "t-unknown"]) == {fill.fill_id: Settlement.FAILED}
            assert await v.fills(order_id=o.order_id) == [] and await v.positions() == []
            raw = await v.http.clob_get(f"/data/order/{o.order_id}", None, auth=True)
            assert (raw["status"], raw["size_matched"]) == ("ORDER_STATUS_MATCHED", "200")
            found = await v.order(o.order_id)
            assert (found.filled_lots, found.status, found.fees_micros, found.cost_micros) == (
                0, OrderStatus.CANCELED, 0, 0)
            assert sim.exchange.accounts["trader"].balance == before
    asyncio.run(main())


def test_a_voided_fill_leaves_every_reader_and_an_old_database_migrates(tmp_path):
    """A version-1 database (`test_schema.legacy_db`; its x2 complete: 1,000 lots of A's YES on
    Kalshi at 0.42 and 1,000 of B's NO on Polymarket at 0.50, fees $0.18 and $0.05) opens at
    version 9, its fills as they were. Voiding x2's Polymarket fill moves it out of the fills: leg
    1 holds nothing, the cash flow is leg 0's alone, B's running position is 0, the order filled
    nothing (canceled), leg 0's lots are held at cost (no loss realised), an event says why, and
    the fill, read again from the venue, is not recorded again."""
    path = tmp_path / "old.db"
    legacy_db(path)
    store = OrderStore(path, clock_ms=lambda: T0 + 7_200_000)
    assert store.migrated_from == 1 and current_version(store._db) == LATEST == 11
    assert store.net_positions()["polymarket:B"] == (-1_000, 5_000_000) and store.cash_flow("x2") == -9_430_000
    kalshi = store.net_positions()["kalshi:A"]
    [voided] = store.void_fills("polymarket", ["f-x2-L1E0", "t-unknown"], "trade FAILED")
    assert (voided.fill_id, voided.client_order_id, voided.qty) == ("f-x2-L1E0", "x2-L1E0", 1_000)
    assert store.leg_net("x2") == {0: 1_000, 1: 0}
    assert store.cash_flow("x2") == -(4_200_000 + 180_000)
    assert store.net_positions()["polymarket:B"] == (0, 0)
    assert store.net_positions()["kalshi:A"] == kalshi                   # the other legs' market: untouched
    from tests.execution.test_store_reads_by_index import acquired_summed, running_acquired
    assert running_acquired(store) == acquired_summed(store) and "polymarket:B" not in running_acquired(store)
    assert store.fills("x2-L1E0") == [] and store.voided_fills() == [voided]
    it = store.intent("x2-L1E0")
    assert (it.state, it.filled_qty, it.cost, it.fee, it.error) == ("canceled", 0, 0, 0, "trade FAILED")
    assert store.held_cost("x2") == 4_200_000 + 180_000                  # leg 0's lots, held beyond no set
    assert "fills_voided" in [e["kind"] for e in store.events("x2")] and store.realised_loss("x2") == 0
    again = Fill(Venue.POLYMARKET, "f-x2-L1E0", "o-x2-L1E0", "B", Side.NO, Action.BUY, 5_000, 1_000, 50_000, True)
    assert store.record_fills("x2-L1E0", [again]) == 0
    assert store.leg_net("x2") == {0: 1_000, 1: 0} and store.void_fills("polymarket", ["f-x2-L1E0"], "again") == []
    store.close()


def test_the_trader_counts_a_rehedge_as_a_failed_execution(tmp_path):
    """A venue that reverts fills (repeated FAILED trades) stops trading through the circuit breaker:
    each re-hedge the executor reports (`on_rehedged`) is a breaker failure for the trader; three
    open it (threshold 3)."""
    from arbbot.execution.executor import ExecutionResult
    from arbbot.risk.breaker import CircuitBreaker
    from arbbot.risk.gates import RiskGates
    from arbbot.run.trader import PaperTrader
    store = OrderStore(tmp_path / "t.db")
    ex = Executor(store, {})
    breaker = CircuitBreaker(threshold=3)
    trader = PaperTrader(ex, RiskGates(breaker=breaker), {}, store)
    assert ex.on_rehedged == trader.rehedged                     # wired by the trader
    for n in range(3):
        ex.on_rehedged(ExecutionResult(f"x{n}", "unwound", "polymarket reverted fills ['t1'] after listing them",
                                       {0: 0, 1: 0}, -120_000))
    assert breaker.failures == 3 and breaker.state.value == "open"
    assert trader.stats.last[0] == ("x2", "re-hedged: unwound", "polymarket reverted fills ['t1'] after listing them")
    store.close()
