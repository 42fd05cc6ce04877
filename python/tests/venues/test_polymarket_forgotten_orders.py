"""Polymarket's CLOB does not serve a FAK/FOK order by id once it has matched (`GET
/data/order/{id}` answers nothing: "if the order was filled, it will be in get_trades",
py-clob-client #217), and the simulator now answers as it does. Before, an order looked up by id
(recovery after a crash, a lost answer, a delayed order settling) was taken as never sent: a leg
that filled was recorded flat. Now the adapter reads such an order from its fills, and `settle`
takes one a venue that forgets finished orders shows nothing of for FORGOTTEN_S as done unfilled.
Units: lots (100 a share), ticks ($0.0001), µ$."""
from __future__ import annotations

import asyncio

import pytest

import arbbot.execution.settle as settle_module
from arbbot.execution import recover
from arbbot.execution.settle import settle
from arbbot.execution.store import OrderStore
from arbbot.sim.scenarios import Faults
from arbbot.venues.common import Action, Order, OrderRequest, OrderStatus, Side, TimeInForce, Venue
from tests.risk.trades import two_leg_opportunity
from tests.sim.venue_envs import polymarket


def alv(sim) -> str:
    return next(c for c, (_e, _q, listing) in sim.listings.items() if "ALV" in listing.title)


def test_a_matched_fak_is_read_from_its_fills_when_the_clob_no_longer_serves_it():
    """A 1,000-lot IOC (FAK) BUY fills at once: GET /data/order/{id} answers null, as the CLOB
    does; `order(id)` returns it from its fills: FILLED, its lots, cost and fee those of the
    fills. An id the venue never saw is still None."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            market = alv(sim)
            placed = await v.place_order(OrderRequest(market, Side.YES, 4_400, 1_000, tif=TimeInForce.IOC,
                                                      client_order_id="c1"))
            raw = await v.http.clob_get(f"/data/order/{placed.order_id}", None, auth=True)
            looked = await v.order(placed.order_id)
            fills = [f for f in await v.fills() if f.order_id == placed.order_id]
            return placed, raw, looked, fills, await v.order("0x" + "ab" * 32)
    placed, raw, looked, fills, unknown = asyncio.run(main())
    assert raw is None and placed.filled_lots >= 1_000
    assert (looked.status, looked.filled_lots, looked.side, looked.action) == (
        OrderStatus.FILLED, sum(f.qty_lots for f in fills), Side.YES, Action.BUY)
    assert looked.cost_micros == sum(f.price_ticks * f.qty_lots for f in fills) > 0
    assert looked.fees_micros == sum(f.fee_micros for f in fills)
    assert looked.client_order_id == "c1" and unknown is None


def test_recovery_finds_a_leg_that_filled_before_the_crash(tmp_path):
    """Leg 1 (a FAK) fills, then the process dies before its answer is recorded. The restarted
    process (no memory of the order) recovers by the order id stored before sending: before, the
    CLOB's null made it "no such order", the execution aborted and trading went on beside 10
    shares; now it is adopted from its fills: naked (leg 0 never filled), safe mode."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            market = alv(sim)
            store = OrderStore(str(tmp_path / "o.db"))
            store.create_execution("x1", two_leg_opportunity("opp-x1"))
            v.on_order_id = store.set_intent_order_id
            coid = store.add_intent("x1", 1, "entry", 0, venue="polymarket", market="polymarket:B", market_id=market,
                                    side="yes", action="buy", qty=1_000, price=4_400, tif="ioc")
            o = await v.place_order(OrderRequest(market, Side.YES, 4_400, 1_000, tif=TimeInForce.IOC,
                                                 client_order_id=coid))
            v.exec.placed.clear()                  # kill -9: a new process knows nothing of it
            v.exec.sent_after_s.clear()
            rep = await recover(store, {"polymarket": v}, absent_after_ms=0)
            return o, rep, store
    o, rep, store = asyncio.run(main())
    assert rep.missing == [] and rep.adopted == ["x1-L1E0"] and rep.executions == {"x1": "naked"}
    assert store.intent("x1-L1E0").filled_qty == o.filled_lots and store.safe_mode() is not None
    store.close()


def test_a_delayed_fak_that_matches_settles_from_its_fills():
    """A FAK held by the match delay (sports markets) answers PENDING; once matched the CLOB no
    longer serves it. Before, `settle` kept the PENDING record forever (the execution, and all
    trading, waited); now it returns the order as its fills show it."""
    async def main():
        async with polymarket(faults=Faults(poly_match_delay_s=0.3)) as (sim, v, _clock):
            await v.discover_markets()
            first = await v.place_order(OrderRequest(alv(sim), Side.YES, 9_900, 500, tif=TimeInForce.IOC,
                                                     client_order_id="d"))
            done = await asyncio.wait_for(settle(v, first, timeout_s=5, backoff_cap_s=0.05), 5)
            return first, done, [f for f in await v.fills(order_id=first.order_id) if f.order_id == first.order_id]
    first, done, fills = asyncio.run(main())
    assert first.status is OrderStatus.PENDING
    assert (done.status, done.filled_lots) == (OrderStatus.FILLED, sum(f.qty_lots for f in fills))
    assert done.filled_lots >= 500


class Forgetful:
    """A venue that forgets finished orders and shows nothing of this one (no order, no fill)."""
    forgets_finished_orders = True
    looked = 0

    async def order(self, order_id):
        self.looked += 1
        return None


@pytest.mark.parametrize("forgets", [True, False])
def test_an_order_a_forgetful_venue_shows_nothing_of_ends_unfilled_after_forgotten_s(monkeypatch, forgets):
    """Pending, then nothing at all for FORGOTTEN_S (0.3 s here): done, CANCELED, 0 lots. A venue
    that keeps its orders (no `forgets_finished_orders`) is waited for (the give-up returns it
    still pending)."""
    monkeypatch.setattr(settle_module, "FORGOTTEN_S", 0.3)
    client = Forgetful()
    if not forgets:
        client.forgets_finished_orders = False
    pending = Order(Venue.POLYMARKET, "0x1", "c", "M", Side.YES, Action.BUY, 4_400, 1_000, 0, 1_000,
                    OrderStatus.PENDING)
    done = asyncio.run(settle(client, pending, timeout_s=1, backoff_cap_s=0.05, give_up_s=1.0))
    if forgets:
        assert (done.status, done.filled_lots, done.remaining_lots) == (OrderStatus.CANCELED, 0, 0)
    else:
        assert done.status is OrderStatus.PENDING and client.looked >= 5


def test_an_order_read_from_its_fills_asks_for_its_markets_trades_since_it_was_sent_not_the_whole_history():
    """An order whose answer was lost (no `placed` record) is known from its signing: its lookup
    asks `/data/trades` for its market since it was sent. After a restart (nothing known), what
    recovery and the restarted watches tell the adapter (`remember_order`) does the same. Before,
    each lookup paged through the account's whole trade history (30 signed pages at 3,000
    trades), every few seconds for the absent watch's 10 minutes. (After a restart there is no
    time floor: our clock is not the venue's.)"""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            v.on_order_id = lambda coid, order_id: None    # as the trader wires it (the store records the id)
            market = alv(sim)
            last = None
            for i in range(3):
                await v.fills()                            # the venue's clock (its latest match) is known
                last = await v.place_order(OrderRequest(market, Side.YES, 9_900, 500, tif=TimeInForce.IOC,
                                                        client_order_id=f"c{i}"))
            v.exec.placed.clear()                          # its answer lost
            v.exec.sent_after_s.clear()
            seen = []
            real = v.http.clob_get

            async def spy(path, params, **kw):
                if path == "/data/trades":
                    seen.append(dict(params or {}))
                return await real(path, params, **kw)
            v.http.clob_get = spy
            lost = await v.order(last.order_id)
            lost_asked, seen[:] = list(seen), []
            v.exec.expected.clear()                        # a restarted process knows nothing of it
            v.remember_order(last.order_id, market)
            restarted = await v.order(last.order_id)
            return last, lost, lost_asked, restarted, list(seen)
    last, lost, lost_asked, restarted, restart_asked = asyncio.run(main())
    assert lost.filled_lots == restarted.filled_lots == last.filled_lots > 0
    market = lost_asked[0]["market"]
    assert all(p.get("market") == market and "after" in p for p in lost_asked), lost_asked
    assert restart_asked and all(p.get("market") == market for p in restart_asked), restart_asked
