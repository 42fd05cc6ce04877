"""Executor, store and recovery against the real Kalshi adapter and the simulator (loopback)."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from arbbot.execution import Executor, ExecutorConfig, OrderStore, Refused, Route, acknowledge, recover
from arbbot.risk import BreakerState, CircuitBreaker, DailyLossCap, RiskGates
from arbbot.sim import Faults
from arbbot.venues.common import OrderRequest, TimeInForce
from arbbot.venues.common.errors import OutcomeUnknown
from tests.execution.harness import A, B, dump_opp, opportunity, routes, sim_config, take_b_asks, venue

PY_ROOT = Path(__file__).resolve().parents[2]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def venue_view(v, store):
    """The venue's orders and fills for the store's client_order_ids."""
    coids = {i.client_order_id for i in store.intents()}
    orders = {o.client_order_id: o for o in await v.orders() if o.client_order_id in coids}
    ids = {o.order_id: c for c, o in orders.items()}
    fills = sorted((f.fill_id, ids[f.order_id], f.qty_lots, f.price_ticks, f.fee_micros)
                   for f in await v.fills() if f.order_id in ids)
    return orders, fills


def store_fills(store):
    return sorted((f.fill_id, f.client_order_id, f.qty, f.price, f.fee) for f in store.fills())


def assert_store_matches_venue(store, orders, fills):
    assert store_fills(store) == fills
    for it in store.intents():
        o = orders.get(it.client_order_id)
        if o is None:
            assert it.state in ("failed", "rejected") and it.filled_qty == 0
        else:
            assert (it.order_id, it.filled_qty, it.cost, it.fee) == (o.order_id, o.filled_lots, o.cost_micros,
                                                                     o.fees_micros)
            assert sum(f[2] for f in fills if f[1] == it.client_order_id) == o.filled_lots


def test_store_is_wal_with_process_durability_by_default(tmp_path):
    s = OrderStore(tmp_path / "o.db")
    assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 1      # NORMAL + background fsync (walsync)
    assert s.safe_mode() is None


def test_two_leg_arb_executes_and_store_matches_venue(tmp_path, sim_factory):
    h = sim_factory()

    async def main():
        v = venue(sim_config(h))
        opp = await opportunity(v)
        assert opp.qty == 1000 and all(l.qty == 1000 for l in opp.legs) and opp.profit > 0
        store = OrderStore(tmp_path / "o.db")
        seen = []

        def on_step(name):
            # each intent is durable (visible from another connection) before its order exists
            if name.startswith("intent:"):
                leg = int(name.split("L")[1])
                other = sqlite3.connect(tmp_path / "o.db")
                rows = other.execute("SELECT client_order_id, state FROM intents WHERE leg=?", (leg,)).fetchall()
                other.close()
                seen.append((name, rows))
        start = (await v.balance()).cash_micros
        res = await Executor(store, routes(v), on_step=on_step).execute(opp, execution_id="x1")
        assert res.state == "complete", res.reason
        assert res.filled == {0: 1000, 1: 1000}
        assert seen == [("intent:L0", [("x1-L0E0", "intent")]), ("intent:L1", [("x1-L1E0", "intent")])]
        orders, fills = await venue_view(v, store)
        assert set(orders) == {"x1-L0E0", "x1-L1E0"}
        assert_store_matches_venue(store, orders, fills)
        # µ$ exact: 10 YES LAL at 42¢ + 10 YES BOS at 47¢, each fee ceil_to_cent(0.07·10·p(1−p)) = $0.18
        assert res.cash_flow == -(4_200_000 + 180_000 + 4_700_000 + 180_000) == -(opp.cost + opp.fee)
        assert (await v.balance()).cash_micros == start + res.cash_flow
        assert [i.state for i in store.intents()] == ["filled", "filled"]
        assert store.execution("x1").state == "complete" and store.safe_mode() is None
        await v.close()
    run(main())


def test_second_leg_rejected_unwinds_first_leg(tmp_path, sim_factory):
    h = sim_factory(Faults(order_reject_every=2))

    async def main():
        v = venue(sim_config(h))
        opp = await opportunity(v)
        store = OrderStore(tmp_path / "o.db")
        gates = RiskGates(loss=DailyLossCap(100_000_000), breaker=CircuitBreaker(1, 60))
        res = await Executor(store, routes(v), config=ExecutorConfig(failure_threshold=1, blacklist_s=60),
                             risk=gates).execute(opp, execution_id="x1")
        assert res.state == "unwound", res.reason
        assert gates.loss.realised == res.cash_flow and gates.breaker.state is BreakerState.OPEN
        assert res.filled == {0: 0, 1: 0}
        states = {i.client_order_id: i.state for i in store.intents()}
        assert states == {"x1-L0E0": "filled", "x1-L1E0": "rejected", "x1-L0U0": "filled"}
        orders, fills = await venue_view(v, store)
        assert_store_matches_venue(store, orders, fills)
        pos = {p.market_id: p.yes_lots for p in await v.positions()}
        assert pos.get(A, 0) == 0 and pos.get(B, 0) == 0            # nothing left at the venue
        assert res.cash_flow < 0                                      # the unwind cost spread + fees
        assert store.safe_mode() is None
        # trap 7: the failing market is blacklisted; a new attempt is refused
        assert store.market_blocks(f"kalshi:{B}")[0] > 0
        with pytest.raises(Refused, match="blacklisted"):
            await Executor(store, routes(v)).execute(opp)
        await v.close()
    run(main())


def test_unwind_failure_flags_naked_and_safe_mode(tmp_path, sim_factory):
    # every order after the first is rejected: leg 2 and every unwind attempt fail
    h = sim_factory(Faults(order_reject_every=1))
    h.kalshi.faults = Faults()          # let the first order through, then reject everything

    async def main():
        v = venue(sim_config(h))
        opp = await opportunity(v)
        store = OrderStore(tmp_path / "o.db")

        def on_step(name):
            if name == "filled:L0":
                h.kalshi.faults = Faults(order_reject_every=1)
        res = await Executor(store, routes(v), on_step=on_step).execute(opp, execution_id="x1")
        assert res.state == "naked" and res.filled == {0: 1000, 1: 0}
        assert store.execution("x1").state == "naked"
        assert "x1" in store.safe_mode()
        with pytest.raises(Refused, match="safe mode"):
            await Executor(store, routes(v)).execute(opp)
        assert acknowledge(store) == ["x1"] and store.safe_mode() is None
        await v.close()
    run(main())


def reprice_bos(h) -> None:
    """On the simulator's loop: BOS reprices around 55¢, its YES ask jumps to 57¢ (worst 47¢)."""
    _e, _q, listing = h.kalshi.listings[B]
    h.kalshi.process.quote(listing, 5500)


@pytest.mark.parametrize("change", ["asks_taken", "repriced"])
def test_edge_gone_before_second_leg_unwinds_unless_completing_loses_less(tmp_path, sim_factory, change):
    """Leg 0 buys 10 YES LAL at 42¢ (its bid 38¢), then leg 1's edge goes.
    - asks_taken: BOS's YES asks are all taken, leg 1 cannot be bought at all: leg 0 is unwound.
    - repriced: BOS's YES ask jumps to 57¢, above leg 1's worst price (47¢). Completing brings
      $10 − 10 × 57¢ − $0.18 fee = $4.12 for leg 1; unwinding leg 0 at best 10 × 38¢ = $3.80 (its
      fee unknown here: these routes carry no market rules, so the unwind is rated above what it
      would bring). Before, leg 0 was unwound; now leg 1 is bought at 57¢: complete.
    Either way the store is what the venue shows."""
    h = sim_factory()

    async def main():
        v = venue(sim_config(h))
        opp = await opportunity(v)
        store = OrderStore(tmp_path / "o.db")

        def on_step(name):
            if name == "filled:L0":
                h.loop.call_soon_threadsafe(take_b_asks if change == "asks_taken" else reprice_bos, h)
        res = await Executor(store, routes(v), on_step=on_step).execute(opp, execution_id="x1")
        legs = [(i.client_order_id, i.filled_qty, i.price) for i in store.intents()]
        pos = {p.market_id: p.yes_lots for p in await v.positions() if p.yes_lots}
        if change == "asks_taken":
            assert res.state == "unwound" and "edge gone" in res.reason
            assert [coid for coid, _q, _p in legs] == ["x1-L0E0", "x1-L0U0"] and pos == {}
        else:
            assert (res.state, res.filled) == ("complete", {0: 1_000, 1: 1_000})
            assert "completed at the books then ($4.12 for legs 1… against $3.8 unwinding" in res.reason
            assert legs == [("x1-L0E0", 1_000, opp.legs[0].worst_price), ("x1-L1E0", 1_000, 5_700)]
            assert pos == {A: 1_000, B: 1_000}
        orders, fills = await venue_view(v, store)
        assert_store_matches_venue(store, orders, fills)
        await v.close()
    run(main())


STEPS = [("intent:L0", None, "aborted", False),
         ("placed:L0", None, "naked", True),
         ("filled:L0", None, "naked", True),
         ("unwind_intent:L0", 2, "naked", True),
         ("unwind_placed:L0", 2, "unwound", False)]


@pytest.mark.parametrize("step,reject_every,final,safe", STEPS, ids=[s[0] for s in STEPS])
def test_crash_at_each_step_then_recover(tmp_path, sim_factory, step, reject_every, final, safe):
    h = sim_factory(Faults(order_reject_every=reject_every) if reject_every else None)
    cfg = sim_config(h)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    db = tmp_path / "o.db"

    async def plan():
        v = venue(cfg)
        o = await opportunity(v)
        await v.close()
        return o
    opp = run(plan())
    (tmp_path / "opp.json").write_text(dump_opp(opp))
    p = subprocess.run([sys.executable, "-m", "tests.execution.crash_child", str(tmp_path / "cfg.json"), str(db),
                        str(tmp_path / "opp.json"), step], cwd=PY_ROOT, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(PY_ROOT)})
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stdout, p.stderr)

    async def after():
        v = venue(cfg)
        store = OrderStore(db)                         # a fresh process's view of the file
        assert store.execution("x1").state == "executing"
        before = {i.client_order_id for i in store.intents()}
        rep = await recover(store, {"kalshi": v})
        assert rep.executions == {"x1": final}
        assert {i.client_order_id for i in store.intents()} == before    # recovery never places
        assert not [i for i in store.intents() if i.state in ("intent", "placed", "unknown")]
        orders, fills = await venue_view(v, store)
        assert_store_matches_venue(store, orders, fills)
        # venue orders are exactly the adopted intents: nothing lost, nothing duplicated
        assert set(orders) == set(rep.adopted)
        assert (store.safe_mode() is not None) == safe
        if safe:
            with pytest.raises(Refused, match="safe mode"):
                await Executor(store, routes(v)).execute(opp)
        # a second recovery is a no-op; re-sending an adopted client_order_id is refused by the venue
        # as a duplicate, which the adapter reports as "already there, look it up" (never a reject)
        rep2 = await recover(store, {"kalshi": v})
        assert rep2.executions == {} and store_fills(store) == fills
        for coid, o in orders.items():
            with pytest.raises(OutcomeUnknown, match="order_already_exists"):
                await v.place_order(OrderRequest(o.market_id, o.side, o.price_ticks, o.qty_lots,
                                                 tif=TimeInForce.IOC, client_order_id=coid))
        await v.close()
    run(after())


class BuggyOnSecondLeg:
    """The real Kalshi adapter, except that reading market B's book raises an unexpected error
    (a bug, not a VenueError): it strikes after leg 0 has filled."""

    def __init__(self, real) -> None:
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    async def fetch_book(self, market_id):
        if market_id == B:
            raise RuntimeError("parser bug")
        return await self.real.fetch_book(market_id)


def test_error_after_a_filled_leg_flags_naked_and_enters_safe_mode_at_once(tmp_path, sim_factory):
    h = sim_factory()

    async def main():
        v = venue(sim_config(h))
        opp = await opportunity(v)
        store = OrderStore(tmp_path / "o.db")
        buggy = BuggyOnSecondLeg(v)
        res = await Executor(store, {f"kalshi:{A}": Route(buggy, A), f"kalshi:{B}": Route(buggy, B)}).execute(
            opp, execution_id="e1")
        assert (res.state, res.errored) == ("naked", True) and res.filled == {0: 1000, 1: 0}
        assert res.reason == "RuntimeError: parser bug"
        assert store.execution("e1").state == "naked"
        assert "e1" in store.safe_mode()                          # at once, not at the next restart
        orders, fills = await venue_view(v, store)
        assert set(orders) == {"e1-L0E0"}
        assert_store_matches_venue(store, orders, fills)
        with pytest.raises(Refused, match="safe mode"):
            await Executor(store, routes(v)).execute(opp)
        await v.close()
    run(main())
