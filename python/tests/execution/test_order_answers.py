"""Order answers that are late, stale or missing, against the Kalshi simulator (the real adapter
behind a thin wrapper playing what a real venue does): a filled leg always counts as filled, and an
order is never taken as unfilled or absent on one stale or early answer.

The opportunity buys 1,000 lots (10 contracts) of YES on each of A and B (a complement pair). In
the first two cases leg 1's edge is gone once leg 0 has filled, so leg 0 must be unwound to flat.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time

from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.venues.common.errors import NotFound, OutcomeUnknown, TransportError
from arbbot.venues.common.model import OrderStatus
from tests.execution.harness import A, B, opportunity, sim_config, start_sim, take_b_asks, venue

QUICK = ExecutorConfig(unwind_pause_s=0.05, unwind_pause_cap_s=0.05)


class Wrapped:
    """The real adapter, with the changes a test makes."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)


class LateFills(Wrapped):
    """`fills(order_id=X)` lists nothing for X's first `lag` reads (the venue's fill listing lags
    its order answers), for the orders `lags(client_order_id)` picks."""

    def __init__(self, inner, lags, lag: int = 22) -> None:
        super().__init__(inner)
        self.lags, self.lag, self.reads, self.coid = lags, lag, {}, {}

    async def place_order(self, req):
        o = await self.inner.place_order(req)
        self.coid[o.order_id] = req.client_order_id
        return o

    async def fills(self, *, order_id=None, **kw):
        if order_id is not None and self.lags(self.coid.get(order_id, "")):
            self.reads[order_id] = self.reads.get(order_id, 0) + 1
            if self.reads[order_id] <= self.lag:
                return []
        return await self.inner.fills(order_id=order_id, **kw)


def _reprice_b_after_leg_0(h):
    """B's YES asks are taken once leg 0 has filled: leg 1's edge is gone (`take_b_asks`)."""
    def on_step(name):
        if name == "filled:L0":
            h.loop.call_soon_threadsafe(take_b_asks, h)
    return on_step


def _run(make, *, on_step=None, config=QUICK, after=None):
    """Execute the planted opportunity through `make(adapter)`; (result, store, venue positions
    in YES lots by market, what `after(wrapper)` returns)."""
    async def main(h, tmp):
        v = venue(sim_config(h))
        opp = await opportunity(v)
        w = make(v)
        store = OrderStore(tmp / "o.db")
        ex = Executor(store, {f"kalshi:{A}": Route(w, A), f"kalshi:{B}": Route(w, B)}, config=config,
                      on_step=on_step(h) if on_step else (lambda _n: None))
        res = await ex.execute(opp, execution_id="x1")
        extra = await after(w, ex) if after else None
        pos = {p.market_id: p.yes_lots for p in await v.positions()}
        await v.close()
        return res, store, {m: pos.get(m, 0) for m in (A, B)}, extra
    return main


def run_case(tmp_path, make, **kw):
    h = start_sim()
    try:
        return asyncio.run(asyncio.wait_for(_run(make, **kw)(h, tmp_path), 90))
    finally:
        h.stop()


async def _late_fills_recorded(w, ex):
    while ex._late_fills:                    # the background fetches of the late fills
        await asyncio.sleep(0.05)


def test_a_leg_whose_fills_are_listed_late_still_counts_as_filled(tmp_path):
    """Leg 0 fills 1,000 lots, but the venue lists its fills only after the executor's ~1 s wait.
    Before: leg 0 counted as unfilled, the execution `aborted`, nothing unwound, 10 contracts held
    naked without safe mode. Now: leg 0 is unwound to flat; its fills are recorded when listed."""
    res, store, pos, _ = run_case(tmp_path, lambda v: LateFills(v, lambda c: c.endswith("L0E0")),
                                  on_step=_reprice_b_after_leg_0, after=_late_fills_recorded)
    entry = next(i for i in store.intents("x1") if i.role == "entry" and i.leg == 0)
    assert (res.state, entry.filled_qty, pos[A], pos[B]) == ("unwound", 1_000, 0, 0)
    assert sum(f.qty for f in store.fills(entry.client_order_id)) == 1_000 and not store.safe_mode()
    assert store.leg_net("x1") == {0: 0, 1: 0}
    store.close()


def test_unwind_orders_whose_fills_are_listed_late_are_not_sent_again(tmp_path):
    """The unwind sale fills, but its fills are listed late. Before: the unwind still looked
    unfilled and all six attempts sold again, leaving the venue short 50 contracts of YES A
    (−5,000 lots) while the store believed +1,000 were held. Now: one sale, flat."""
    res, store, pos, _ = run_case(tmp_path, lambda v: LateFills(v, lambda c: "U" in c.rsplit("-", 1)[-1]),
                                  on_step=_reprice_b_after_leg_0, after=_late_fills_recorded)
    unwinds = [i for i in store.intents("x1") if i.role == "unwind"]
    assert (res.state, pos[A], pos[B], len(unwinds), unwinds[0].filled_qty) == ("unwound", 0, 0, 1, 1_000)
    store.close()


class Delayed(Wrapped):
    """The first order matches at the venue, but its answer says resting with nothing filled
    (Polymarket answers a marketable order `delayed`), and the cancel is refused: it matched."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.placed = 0

    async def place_order(self, req):
        o = await self.inner.place_order(req)
        self.placed += 1
        if self.placed == 1:
            return dataclasses.replace(o, status=OrderStatus.RESTING, filled_lots=0, remaining_lots=req.qty_lots,
                                       cost_micros=0, fees_micros=0)
        return o

    async def cancel_order(self, order_id):
        raise NotFound(f"cancel {order_id}: order already matched", venue="kalshi")


def test_a_resting_answer_is_looked_up_after_a_refused_cancel(tmp_path):
    """Before: leg 0 was recorded as 0 filled from the stale answer, the execution `aborted` with
    an intent still `placed`, and 10 contracts held at the venue. Now: the order is looked up, its
    1,000 lots count, and leg 1 completes the pair."""
    res, store, pos, _ = run_case(tmp_path, Delayed)
    assert (res.state, pos[A], pos[B]) == ("complete", 1_000, 1_000)
    assert [(i.leg, i.state, i.filled_qty) for i in store.intents("x1")] == [(0, "filled", 1_000), (1, "filled", 1_000)]
    store.close()


class Overloaded(Wrapped):
    """The order's answer is lost (503) and the venue queues it: it runs `queued_s` later. Its
    order listings fail (503) for the first `down_s`, then answer."""

    def __init__(self, inner, down_s: float, queued_s: float) -> None:
        super().__init__(inner)
        self.down_s, self.queued_s, self.t0, self.late = down_s, queued_s, None, None

    async def place_order(self, req):
        if self.t0 is not None:
            return await self.inner.place_order(req)
        self.t0 = time.monotonic()

        async def queued():
            await asyncio.sleep(self.queued_s)
            await self.inner.place_order(req)
        self.late = asyncio.ensure_future(queued())
        raise OutcomeUnknown("kalshi POST /portfolio/orders: HTTP 503", venue="kalshi", status=503)

    async def orders(self, **kw):
        if time.monotonic() - self.t0 < self.down_s:
            raise TransportError("HTTP 503", venue="kalshi")
        return await self.inner.orders(**kw)


def test_absent_is_decided_on_answered_lookups_only(tmp_path):
    """Lookups fail for 1.5 s, then answer (every 0.1 s at most); the queued order runs at 2 s;
    absent_after_s 1. Before: the 1 s ran from the first (failed) lookup, so the first answered
    lookup (at about 1.5 s, before the order ran) declared it absent, the execution `aborted`, and
    the queued order's 10 contracts were left naked. Now: 1 s of answered lookups (to about 2.5 s)
    see it, and the pair completes."""
    async def settle(w, _ex):
        await w.late
    res, store, pos, _ = run_case(tmp_path, lambda v: Overloaded(v, 1.5, 2.0), after=settle,
                                  config=dataclasses.replace(QUICK, absent_after_s=1.0, lookup_backoff_cap_s=0.1))
    assert (res.state, pos[A], pos[B]) == ("complete", 1_000, 1_000)
    store.close()


class NoUnwindOnLeg1(Wrapped):
    """Leg 1's market refuses every unwind order (paused for trading)."""

    async def place_order(self, req):
        if "-L1U" in req.client_order_id:
            from arbbot.venues.common.errors import OrderRejected
            raise OrderRejected("kalshi: market paused for trading", venue="kalshi")
        return await self.inner.place_order(req)


def _partial_leg_1(h):
    """Leg 1 fills 900 of its 1,000 lots."""
    from arbbot.sim import Faults

    def on_step(name):
        if name == "filled:L0":
            h.kalshi.faults = Faults(partial_fill_lots=900)
    return on_step


def test_a_partial_last_leg_keeps_the_complete_sets_and_unwinds_only_the_excess(tmp_path):
    """Leg 1 fills 900 of 1,000 and cannot be unwound. Before: leg 0 was sold in full anyway, so
    100 naked lots became 900 naked lots (and safe mode). Now: 900 complete pairs are kept (their
    $1 payout is locked in) and only leg 0's 100 excess lots are sold: complete, no safe mode."""
    res, store, pos, _ = run_case(tmp_path, NoUnwindOnLeg1, on_step=_partial_leg_1)
    assert (res.state, res.filled, pos[A], pos[B]) == ("complete", {0: 900, 1: 900}, 900, 900)
    unwinds = [(i.leg, i.qty, i.filled_qty) for i in store.intents("x1") if i.role == "unwind"]
    assert unwinds == [(0, 100, 100)] and not store.safe_mode() and "kept 900 lots" in res.reason
    store.close()


def test_recovery_waits_for_an_order_the_venue_is_still_working_through(tmp_path):
    """An intent whose answer was lost ('unknown') 0.2 s ago; the venue lists no such order yet and
    runs it from its queue 1 s later (1,000 lots filled). Recovery (absent after 2 s) used to mark
    it failed on its first listing and call the execution flat; now it asks again once the 2 s have
    passed, adopts the order, and the execution is naked (leg 1 never went): safe mode."""
    from arbbot.execution import recover
    from arbbot.venues.common.model import Action, Fill, Order, Side, Venue
    from tests.risk.trades import two_leg_opportunity

    store = OrderStore(tmp_path / "o.db")
    store.create_execution("x1", two_leg_opportunity("opp-x1"))
    coid = store.add_intent("x1", 0, "entry", 0, venue="kalshi", market="kalshi:A", market_id="A", side="yes",
                            action="buy", qty=1_000, price=4_200, tif="ioc")
    store.set_intent_state(coid, "unknown", "OutcomeUnknown: HTTP 503")
    runs_at = time.monotonic() + 1.0
    order = Order(Venue.KALSHI, "o1", coid, "A", Side.YES, Action.BUY, 4_200, 1_000, 1_000, 0, OrderStatus.FILLED,
                  40_000, 4_200_000)
    fill = Fill(Venue.KALSHI, "f1", "o1", "A", Side.YES, Action.BUY, 4_200, 1_000, 40_000, True, 0)

    class Queued:
        venue = "kalshi"

        async def orders(self, **_):
            return [order] if time.monotonic() >= runs_at else []

        async def fills(self, **_):
            return [fill] if time.monotonic() >= runs_at else []

        async def order(self, _order_id):
            return None

    rep = asyncio.run(recover(store, {"kalshi": Queued()}, absent_after_ms=2_000))
    assert (rep.adopted, rep.missing, rep.executions) == ([coid], [], {"x1": "naked"})
    assert store.intent(coid).filled_qty == 1_000 and "x1" in store.safe_mode()
    store.close()


class PendingAWhile(Wrapped):
    """The first order matches at the venue, but the venue shows it PENDING (no fills) for
    `pending_s` (IB: a warning turned the status into a validation error; Polymarket `delayed`)."""

    def __init__(self, inner, pending_s: float) -> None:
        super().__init__(inner)
        self.pending_s, self.first, self.until = pending_s, None, 0.0

    async def place_order(self, req):
        o = await self.inner.place_order(req)
        if self.first is None:
            self.first, self.until = o.order_id, time.monotonic() + self.pending_s
            return dataclasses.replace(o, status=OrderStatus.PENDING, filled_lots=0, remaining_lots=req.qty_lots,
                                       cost_micros=0, fees_micros=0)
        return o

    async def order(self, order_id):
        o = await self.inner.order(order_id)
        if order_id == self.first and time.monotonic() < self.until:
            return dataclasses.replace(o, status=OrderStatus.PENDING, filled_lots=0, cost_micros=0, fees_micros=0)
        return o


def test_an_order_pending_past_the_alert_enters_safe_mode_and_is_still_waited_for(tmp_path):
    """Before: the execution waited silently for as long as the venue said pending (forever, on an
    IB order whose status a warning replaced), with nobody told. Now: safe mode after
    `unsettled_alert_s`, naming the order; the execution still waits, and completes with the
    order's 1,000 lots once the venue shows them."""
    config = dataclasses.replace(QUICK, unsettled_alert_s=0.3)
    # pending 3 s, ten times the alert: on a loaded machine the first look at it may come late
    res, store, pos, _ = run_case(tmp_path, lambda v: PendingAWhile(v, 3.0), config=config)
    assert (res.state, pos[A], pos[B]) == ("complete", 1_000, 1_000)
    assert [(i.leg, i.state, i.filled_qty) for i in store.intents("x1")] == [(0, "filled", 1_000), (1, "filled", 1_000)]
    assert "x1-L0E0 on kalshi:" in store.safe_mode() and "still pending at the venue after 0.3 s" in store.safe_mode()
    store.close()


def test_lookups_failing_past_the_alert_enter_safe_mode_and_go_on(tmp_path):
    """The answer is lost and lookups fail for 1.5 s (the order runs at 2 s). With a 0.5 s alert the
    operator is told (safe mode) while the lookups go on, and the pair still completes."""
    async def settle(w, _ex):
        await w.late
    res, store, pos, _ = run_case(tmp_path, lambda v: Overloaded(v, 1.5, 2.0), after=settle,
                                  config=dataclasses.replace(QUICK, absent_after_s=1.0, lookup_backoff_cap_s=0.1,
                                                             unsettled_alert_s=0.5))
    assert (res.state, pos[A], pos[B]) == ("complete", 1_000, 1_000)
    assert "outcome still unknown after 0.5 s of lookups" in store.safe_mode()
    store.close()


class Unavailable(Wrapped):
    """The venue takes no orders for now (rate limited after the retries, its engine restarting):
    every order refused `VenueUnavailable`, nothing placed."""

    async def place_order(self, req):
        from arbbot.venues.common.errors import VenueUnavailable
        raise VenueUnavailable("kalshi: too many requests (after 4 retries)", retry_after=1.0, venue="kalshi")


def test_an_order_refused_while_the_venue_takes_none_is_no_fill_outcome(tmp_path):
    """Step 2 learns each venue's IOC fill success from the orders that reached its matching; an
    outage's refusals lowered it for good (the posterior has no window)."""
    h = start_sim()

    async def main():
        v = venue(sim_config(h))
        opp = await opportunity(v, max_qty=1_000)
        store = OrderStore(str(tmp_path / "o.db"))
        res = await Executor(store, {m: Route(Unavailable(v), mid) for m, mid in ((f"kalshi:{A}", A), (f"kalshi:{B}", B))},
                             config=QUICK).execute(opp)
        [leg0] = [i for i in store.intents() if i.role == "entry"]
        at_venue = store._db.execute("SELECT at_venue FROM intents WHERE client_order_id=?",
                                     (leg0.client_order_id,)).fetchone()[0]
        outcomes = store.fill_outcomes()
        store.close()
        await v.close()
        return res, leg0, at_venue, outcomes
    try:
        res, leg0, at_venue, outcomes = asyncio.run(main())
    finally:
        h.stop()
    assert (res.state, leg0.state, at_venue, outcomes) == ("aborted", "rejected", 0, {})
