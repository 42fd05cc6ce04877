"""An order a venue that forgets finished orders showed nothing of while it settled is watched.

Polymarket's CLOB does not serve a FAK/FOK by id once it is done, and lists its trade only once
matched: a delayed FAK that `settle` sees nothing of for FORGOTTEN_S (neither the order nor a
fill) may still be a match listed later. Before, it was recorded `canceled` with 0 lots and nothing
looked again (no absent watch, no late-fills fetch, reconciliation's `adopt_late_fills` needing
filled lots): leg 0 was unwound because the hedge "filled nothing", then the hedge filled, a naked
1,000-lot leg in an execution recorded `unwound`, no safe mode. Now such an order is taken as never
sent (failed, NOT_FOUND; after a restart RECOVERY_NOT_FOUND): no other order is sent for its lots,
and the absent watch adopts its fill when listed. Units: lots (100 a share), ticks ($0.0001).
FORGOTTEN_S is 0.3 s here and the watch's windows a fraction of a second."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

import arbbot.execution.settle as settle_module
from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as ESide
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route, recover
from arbbot.execution.store import NOT_FOUND, RECOVERY_NOT_FOUND
from arbbot.model import MarketInfo, Venue
from arbbot.venues.common.model import Action, Order, OrderRequest, OrderStatus, Side, TimeInForce
from tests.execution.test_executor_review_fixes import K, P, FakeVenue, quote

K1 = MarketInfo(Venue.KALSHI, K, "k", lot_lots=100)
P1 = MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1)
FAST = dict(unwind_pause_s=0.01, unwind_pause_cap_s=0.01, lookup_backoff_cap_s=0.05, absent_watch_cap_s=0.1)
BOOKS = {"polymarket:P1": quote(5000, 5000), "kalshi:K1": quote(5200, 5300)}


@pytest.fixture(autouse=True)
def short_forgotten(monkeypatch):
    monkeypatch.setattr(settle_module, "FORGOTTEN_S", 0.3)


class DelayedPoly(FakeVenue):
    """Polymarket-like. An order `delays(req)` picks is answered `delayed` (PENDING, order id
    0xd<n>, n its place among the orders sent); the CLOB serves it by id (PENDING) for the first
    `pending_reads` lookups, then not at all; once `matched` is set it fills in full and its trade
    is listed. As the adapter, `order(id)` reads a finished order from its fills (None without
    one); open orders: none (a FAK never rests)."""
    forgets_finished_orders = True

    def __init__(self, *, pending_reads: int = 0, delays=lambda req: True) -> None:
        super().__init__(Venue.POLYMARKET, P1)
        self.pending_reads, self.delays = pending_reads, delays
        self.matched = False
        self.delayed: dict[str, OrderRequest] = {}      # order id → request, until matched
        self.looked = 0                                  # lookups by id

    async def place_order(self, req):
        if not self.delays(req):
            return await super().place_order(req)
        self.sent.append((req.side.label, req.action.value, req.qty_lots))
        oid = f"0xd{len(self.sent)}"
        self.delayed[oid] = req
        return self._pending(oid, req)

    def _pending(self, oid, req):
        return Order(Venue.POLYMARKET, oid, req.client_order_id, req.market_id, req.side, req.action,
                     req.price_ticks, req.qty_lots, 0, req.qty_lots, OrderStatus.PENDING)

    def _match(self):
        if self.matched:
            for oid, req in list(self.delayed.items()):
                del self.delayed[oid]
                self.execute(req)
                self.listed[-1] = dataclasses.replace(self.listed[-1], order_id=oid)

    async def order(self, order_id):
        self.looked += 1
        self._match()
        if order_id in self.delayed and self.looked <= self.pending_reads:
            return self._pending(order_id, self.delayed[order_id])
        got = [f for f in self.listed if f.order_id == order_id]
        if not got:
            return None
        lots = sum(f.qty_lots for f in got)
        return Order(Venue.POLYMARKET, order_id, "", got[0].market_id, got[0].side, got[0].action, got[0].price_ticks,
                     lots, lots, 0, OrderStatus.FILLED, cost_micros=sum(f.price_ticks * f.qty_lots for f in got))

    async def orders(self, **_):
        return []

    async def fills(self, *, order_id=None, **_):
        self._match()
        return [f for f in self.listed if order_id is None or f.order_id == order_id]


def opportunity(*legs) -> Opportunity:
    """1,000 lots of each (market, side, price ticks) leg."""
    cost = sum(p for _m, _s, p in legs) * 1_000
    return Opportunity("00000000000000aa", Lane.CROSS, Kind(0), 1_000, 10_000_000, cost, 0, 10_000_000 - cost,
                       tuple(Leg(m, s, 1_000, p, p * 1_000, 0) for m, s, p in legs))


def run(tmp_path, kal, poly, legs, *, match: bool, absent_watch_s: float):
    """Execute `legs` over Kalshi and `poly`; once it has ended the delayed orders match (`match`)
    or never do; then wait (at most 10 s) for the absent watches to end. (result, store, watches
    started, lookups by id after the execution ended)."""
    store = OrderStore(str(tmp_path / "o.db"))
    routes = {"kalshi:K1": Route(kal, K, K1), "polymarket:P1": Route(poly, P, P1)}
    ex = Executor(store, routes, config=ExecutorConfig(**FAST, absent_watch_s=absent_watch_s),
                  book_source=lambda m: BOOKS[m])

    async def main():
        res = await ex.execute(opportunity(*legs), execution_id="x1")
        watches, looked = list(ex._watches), poly.looked
        poly.matched = match                 # listed only after the execution ended
        await asyncio.wait_for(asyncio.gather(*watches), 10)
        return res, len(watches), poly.looked - looked
    res, watches, looked = asyncio.run(main())
    return res, store, watches, looked


def test_a_delayed_hedge_listed_after_it_was_forgotten_is_adopted_naked(tmp_path):
    """Leg 1 (Polymarket YES, a delayed FAK) shows nothing for FORGOTTEN_S: taken as never sent,
    leg 0 (Kalshi NO) is unwound as before and the execution ends `unwound`. Then the FAK's
    1,000-lot match is listed: the watch records it on leg 1, the execution is naked, safe mode."""
    kal, poly = FakeVenue(Venue.KALSHI, K1), DelayedPoly()
    res, store, watches, _looked = run(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800),
                                                             ("polymarket:P1", ESide.YES, 5000)],
                                       match=True, absent_watch_s=10.0)
    assert (store.leg_net("x1"), store.execution("x1").state) == ({0: 0, 1: 1_000}, "naked")
    assert store.safe_mode() is not None and "x1-L1E0, taken as never sent" in store.safe_mode()
    assert (res.state, watches) == ("unwound", 1) and res.reason.startswith(NOT_FOUND)
    leg1 = store.intent("x1-L1E0")
    assert (leg1.state, leg1.order_id, leg1.filled_qty) == ("filled", "0xd1", 1_000)
    assert sum(f.qty for f in store.fills("x1-L1E0")) == 1_000
    assert poly.sent == [("yes", "buy", 1_000)] and poly.net == {P: 1_000}
    store.close()


def test_a_forgotten_hedge_that_never_appears_leaves_the_execution_unwound(tmp_path):
    """The same FAK is never matched (killed with nothing filled): the watch looks for its
    `absent_watch_s` (0.5 s) and ends; the execution stays `unwound`, no safe mode, the intent
    failed (NOT_FOUND: still one a restart watches again within `absent_watch_s`)."""
    kal, poly = FakeVenue(Venue.KALSHI, K1), DelayedPoly()
    res, store, watches, looked = run(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800),
                                                            ("polymarket:P1", ESide.YES, 5000)],
                                      match=False, absent_watch_s=0.5)
    leg1 = store.intent("x1-L1E0")
    assert (leg1.state, leg1.filled_qty) == ("failed", 0) and leg1.error.startswith(NOT_FOUND)
    assert (res.state, watches) == ("unwound", 1) and looked > 0
    assert store.execution("x1").state == "unwound" and store.safe_mode() is None
    assert store.leg_net("x1") == {0: 0, 1: 0} and kal.net == {K: 0}
    store.close()


def test_a_forgotten_unwind_is_not_sent_again_and_its_late_fill_is_adopted(tmp_path):
    """Leg 0 (Polymarket YES) fills, leg 1 (Kalshi NO) fills nothing, leg 0's unwind (a delayed
    FAK SELL) is forgotten: as an unwind order lookups did not find, no second one is sent (it
    could sell the lots twice): naked, safe mode. Its match listed later is adopted: leg 0 flat,
    the execution `unwound` (safe mode stays for the operator)."""
    kal = FakeVenue(Venue.KALSHI, K1, cap=0)
    poly = DelayedPoly(delays=lambda req: req.action is Action.SELL)
    res, store, watches, _looked = run(tmp_path, kal, poly, [("polymarket:P1", ESide.YES, 5000),
                                                             ("kalshi:K1", ESide.NO, 4800)],
                                       match=True, absent_watch_s=10.0)
    assert poly.sent == [("yes", "buy", 1_000), ("yes", "sell", 1_000)]
    assert (res.state, watches) == ("naked", 1) and "not sent again" in res.reason
    assert store.intent("x1-L0U0").filled_qty == 1_000
    assert store.leg_net("x1") == {0: 0, 1: 0} and poly.net == {P: 0}
    assert store.execution("x1").state == "unwound" and store.safe_mode() is not None
    store.close()


def test_recovery_marks_a_forgotten_order_not_found_and_the_restart_watch_adopts_its_fill(tmp_path):
    """The process died while leg 0's delayed FAK waited. Recovery finds it pending by the id
    recorded before sending, then the CLOB shows nothing of it for FORGOTTEN_S: failed as
    RECOVERY_NOT_FOUND, the execution aborted (before: recorded `canceled`, never looked at
    again). The restarted executor watches it; its match listed now is adopted: naked, safe mode."""
    kal, poly = FakeVenue(Venue.KALSHI, K1), DelayedPoly(pending_reads=2)
    store = OrderStore(str(tmp_path / "o.db"))
    store.create_execution("x1", opportunity(("polymarket:P1", ESide.YES, 5000), ("kalshi:K1", ESide.NO, 4800)))
    coid = store.add_intent("x1", 0, "entry", 0, venue="polymarket", market="polymarket:P1", market_id=P, side="yes",
                            action="buy", qty=1_000, price=5000, tif="ioc")

    async def main():
        sent = await poly.place_order(OrderRequest(P, Side.YES, 5000, 1_000, tif=TimeInForce.IOC,
                                                   client_order_id=coid))
        store.set_intent_order_id(coid, sent.order_id)            # as the adapter's on_order_id does
        rep = await recover(store, {"polymarket": poly, "kalshi": kal}, absent_after_ms=0)
        marked = store.intent(coid)
        state = store.execution("x1").state
        ex = Executor(store, {"kalshi:K1": Route(kal, K, K1), "polymarket:P1": Route(poly, P, P1)},
                      config=ExecutorConfig(**FAST, absent_watch_s=10.0), book_source=lambda m: BOOKS[m])
        started = ex.watch_absent_since_restart()
        poly.matched = True
        await asyncio.wait_for(asyncio.gather(*ex._watches), 10)
        return rep, marked, state, started
    rep, marked, recovered_state, started = asyncio.run(main())
    assert (rep.missing, rep.adopted, recovered_state) == ([coid], [], "aborted")
    assert (marked.state, marked.error, marked.order_id) == ("failed", RECOVERY_NOT_FOUND, "0xd1")
    assert started == 1
    assert (store.intent(coid).state, store.intent(coid).filled_qty) == ("filled", 1_000)
    assert store.execution("x1").state == "naked" and store.safe_mode() is not None
    store.close()


def test_an_error_mid_execution_has_the_orders_its_recovery_did_not_find_watched(tmp_path):
    """An unexpected error right after leg 0's delayed FAK was answered (`placed:L0`): the executor
    reconciles the execution at once (`_errored` → recovery), which sees the order pending, then
    nothing of it for FORGOTTEN_S: RECOVERY_NOT_FOUND, the execution aborted. Before, nothing
    watched it until the next restart, so its match listed meanwhile was never recorded (a filled
    leg the store does not hold, no safe mode); now its watch starts with the error's recovery."""
    kal, poly = FakeVenue(Venue.KALSHI, K1), DelayedPoly(pending_reads=2)
    store = OrderStore(str(tmp_path / "o.db"))

    def on_step(step: str) -> None:
        if step == "placed:L0":
            store.set_intent_order_id("x1-L0E0", "0xd1")    # as the adapter's on_order_id does before sending
            raise RuntimeError("disk hiccup")

    async def main():
        ex = Executor(store, {"kalshi:K1": Route(kal, K, K1), "polymarket:P1": Route(poly, P, P1)},
                      config=ExecutorConfig(**FAST, absent_watch_s=10.0), book_source=lambda m: BOOKS[m],
                      on_step=on_step)
        res = await ex.execute(opportunity(("polymarket:P1", ESide.YES, 5000), ("kalshi:K1", ESide.NO, 4800)),
                               execution_id="x1")
        marked = store.intent("x1-L0E0")
        watched = len(ex._watches)
        poly.matched = True
        await asyncio.wait_for(asyncio.gather(*ex._watches), 10)
        return res, marked, watched
    res, marked, watched = asyncio.run(main())
    assert (res.state, res.errored, marked.state, marked.error) == ("aborted", True, "failed", RECOVERY_NOT_FOUND)
    assert watched == 1                                             # before: 0, until a restart
    assert (store.intent("x1-L0E0").state, store.leg_net("x1")) == ("filled", {0: 1_000, 1: 0})
    assert store.execution("x1").state == "naked" and store.safe_mode() is not None
    store.close()
