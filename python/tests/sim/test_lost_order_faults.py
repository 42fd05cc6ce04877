"""Lost and late order answers (`Faults.lost_order_response_every`, `order_response_delay_s`) on
the Kalshi, Polymarket and TWS simulators: the venue places and matches the order, the client
gets no answer (a dropped connection, or nothing before its timeout), and the simulator's record
— and every later read of the venue — shows the order and its fills."""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import pytest

from arbbot.sim.engine.matching import FULL, HOUSE
from arbbot.sim.forecastex import start_tws
from arbbot.sim.scenarios import Faults
from arbbot.venues.common import OrderStatus, VenueError
from arbbot.venues.common.model import OrderRequest, Side, TimeInForce
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient
from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
from arbbot.venues.polymarket.order_hash import order_hash
from tests.sim.venue_envs import kalshi, kalshi_raw, polymarket, poly_raw
from tests.fx_day import MID

H0 = "KXFEDDECISION-26DEC-H0"
ORDERS = "/portfolio/events/orders"          # Kalshi's V2 order create (the V1 path answers 410)
C25 = "KXFEDDECISION-26DEC-C25"
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)          # no HTTP response: the connection went away


def run(coro, limit: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


def ioc(coid: str, ticker: str = H0, count: str = "3.00") -> dict:
    """A Kalshi IOC buy of YES at $0.99 (V2: a bid at the YES price): crosses the house ask at once."""
    return {"ticker": ticker, "client_order_id": coid, "side": "bid", "count": count, "price": "0.9900",
            "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "taker_at_cross"}


async def outcome(send) -> str:
    """'201' / '400' … for an answered request, 'lost' for a dropped connection."""
    try:
        return str((await send()).status_code)
    except DROPPED:
        return "lost"


# ---- Kalshi -----------------------------------------------------------------------------------
def test_kalshi_lost_answer_order_is_placed_filled_and_listed(keys):
    async def main():
        async with kalshi(keys, faults=Faults(lost_order_response_every=1)) as (sim, v, _clock):
            acct = sim.exchange.accounts["user"]
            with pytest.raises(DROPPED):
                await kalshi_raw(sim, keys, "POST", ORDERS, body=ioc("lost-1"))
            o = sim.exchange.orders[sim.exchange.by_client_id[("user", "lost-1")]]
            assert (o.status, o.filled, o.remaining, o.taker_cost) == ("executed", 300, 0, 300 * 5_400)
            assert acct.positions[H0] == 300
            # what recovery reads afterwards: the order and its fill, by client order id
            (got,) = [x for x in await v.orders(ticker=H0) if x.client_order_id == "lost-1"]
            assert (got.order_id, got.status, got.filled_lots, got.cost_micros) == \
                (o.order_id, OrderStatus.FILLED, 300, 1_620_000)
            assert [(f.fill_id, f.qty_lots, f.price_ticks) for f in await v.fills(order_id=o.order_id)] == \
                [(fe.fill_id, 300, 5_400) for fe in acct.fills if fe.order is o]
            # a batch: both orders placed and filled, the whole answer lost
            with pytest.raises(DROPPED):
                await kalshi_raw(sim, keys, "POST", ORDERS + "/batched",
                                 body={"orders": [ioc("lost-b1"), ioc("lost-b2", C25, "2.00")]})
            placed = [sim.exchange.orders[sim.exchange.by_client_id[("user", c)]] for c in ("lost-b1", "lost-b2")]
            assert [(x.market, x.status, x.filled) for x in placed] == [(H0, "executed", 300), (C25, "executed", 200)]
            assert acct.positions == {H0: 600, C25: 200}
            # refused orders are answered (only accepted ones count)
            r = await kalshi_raw(sim, keys, "POST", ORDERS, body=ioc("dup", "NOPE"))
            assert r.status_code == 404 and r.json()["error"]["code"] == "market_not_found"
    run(main())


def test_kalshi_lost_counter_counts_accepted_orders_apart_from_rejects(keys):
    async def main():
        f = Faults(order_reject_every=2, lost_order_response_every=2)
        async with kalshi(keys, faults=f) as (sim, _v, _clock):
            got = [await outcome(lambda i=i: kalshi_raw(sim, keys, "POST", ORDERS, body=ioc(f"n{i}")))
                   for i in range(1, 8)]
            # received 1..7: every 2nd refused; of the 4 accepted (1, 3, 5, 7) every 2nd answer lost
            assert got == ["201", "400", "lost", "400", "201", "400", "lost"]
            assert sorted(c for (_a, c) in sim.exchange.by_client_id) == ["n1", "n3", "n5", "n7"]
            assert all(o.status == "executed" for o in sim.exchange.orders.values() if o.account == "user")
        async with kalshi(keys, faults=Faults(lost_order_response_every=3)) as (sim, _v, _clock):
            def batch(*coids):
                return lambda: kalshi_raw(sim, keys, "POST", ORDERS + "/batched",
                                          body={"orders": [ioc(c) for c in coids]})
            single = lambda c: lambda: kalshi_raw(sim, keys, "POST", ORDERS, body=ioc(c))  # noqa: E731
            # each order of a batch counts: 1-2 answered, 3-4 lost (3 is in it), 5 answered, 6 lost
            got = [await outcome(s) for s in (batch("a", "b"), batch("c", "d"), single("e"), single("f"))]
            assert got == ["201", "lost", "201", "lost"]
            assert len(sim.exchange.by_client_id) == 6 and sim.exchange.accounts["user"].positions[H0] == 1_800
    run(main())


def test_kalshi_late_answer_order_is_at_the_venue_before_the_client_gives_up(keys):
    async def main():
        async with kalshi(keys, faults=Faults(order_response_delay_s=2.0)) as (sim, _v, _clock):
            t0 = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await kalshi_raw(sim, keys, "POST", ORDERS, body=ioc("late-1"), timeout=0.5)
            o = sim.exchange.orders[sim.exchange.by_client_id[("user", "late-1")]]
            assert (o.status, o.filled) == ("executed", 300) and time.monotonic() - t0 < 1.5
            # through the adapter with a 0.5 s timeout: an error, and the order exactly once
            v = KalshiVenue(KalshiConfig(**{**_v.config.__dict__, "timeout_s": 0.5, "max_retries": 1}))
            with pytest.raises(VenueError):
                await v.place_order(OrderRequest(C25, Side.YES, 9_900, 200, tif=TimeInForce.IOC, client_order_id="late-2"))
            late2 = [x for x in sim.exchange.orders.values() if x.client_order_id == "late-2"]
            assert [(x.status, x.filled) for x in late2] == [("executed", 200)]
            await v.close()
            # a refusal is late too (every order answer is)
            t0 = time.monotonic()
            r = await kalshi_raw(sim, keys, "POST", ORDERS, body=ioc("late-3", "NOPE"), timeout=5)
            assert r.status_code == 404 and time.monotonic() - t0 >= 2.0
    run(main())


# ---- Polymarket -------------------------------------------------------------------------------
def test_polymarket_lost_and_late_answers():
    async def main():
        async with polymarket(faults=Faults(lost_order_response_every=1)) as (sim, v, _clock):
            await v.discover_markets()
            cond = sorted(sim.listings)[2]
            acct = sim.exchange.accounts["trader"]

            ask = 10_000 - max(sim.exchange.markets[cond].levels("no"))    # the best YES ask: 10,000 lots

            def signed(px: int, lots: int) -> tuple[dict, str]:
                req = OrderRequest(cond, Side.YES, px, lots, tif=TimeInForce.IOC)
                payload = v.exec._build(v.exec.check(req), req)
                return payload, order_hash(payload["order"], sim.listings[cond][2].neg_risk)

            payload, vid = signed(ask, 5_000)    # a market BUY at a higher limit would spend more, buy more
            with pytest.raises(DROPPED):
                await poly_raw(v, "POST", "/order", body=payload)
            o = sim.exchange.orders[sim.desk.ids[vid]]
            assert (o.account, o.status, o.filled) == ("trader", "executed", 5_000)
            got = await v.order(vid)
            assert (got.status, got.filled_lots, got.price_ticks) == (OrderStatus.FILLED, 5_000, ask)
            (fill,) = await v.fills(order_id=vid)
            assert (fill.qty_lots, fill.price_ticks, fill.is_taker) == (5_000, acct.fills[-1].price, True)
            assert [(p.market_id, p.yes_lots) for p in await v.positions()] == [(cond, 5_000)]

            sim.faults = Faults(order_response_delay_s=2.0)            # switched at run time
            payload, vid = signed(ask, 4_000)
            t0 = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await poly_raw(v, "POST", "/order", body=payload, timeout=0.5)
            o = sim.exchange.orders[sim.desk.ids[vid]]
            assert (o.status, o.filled) == ("executed", 4_000) and time.monotonic() - t0 < 1.5
            assert acct.positions[cond] == 9_000
    run(main())


# ---- TWS (ib_async) ---------------------------------------------------------------------------
YES = 713900002


def test_tws_lost_and_late_order_answers():
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, faults=Faults(lost_order_response_every=1))
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=61, ack_timeout=0.5)
            t = await cl.place_limit(YES, "BUY", 5, Decimal("0.41"), "IOC", order_ref="lost-ioc")
            assert (t.status, t.filled) == ("PendingSubmit", 0)          # no answer reached the client
            fo = sim.by_api[(61, t.order_id)]
            assert (sim.backend.refresh(fo).status, fo.filled) == ("Filled", 5)
            (x,) = sim.backend.executions()
            assert x.order.perm_id == fo.perm_id and cl.ib.fills() == []
            # a resting order whose answer is lost; the house then hits it: that later fill arrives
            g = await cl.place_limit(YES, "BUY", 3, Decimal("0.38"), "GTC", order_ref="lost-gtc")
            assert g.status == "PendingSubmit"
            opens = await cl.ib.reqOpenOrdersAsync()
            assert [(tr.order.orderRef, tr.orderStatus.status) for tr in opens] == [("lost-gtc", "Submitted")]
            done = await cl.ib.reqCompletedOrdersAsync(False)
            assert [(tr.order.orderRef, tr.orderStatus.status) for tr in done] == [("lost-ioc", "Filled")]
            execs = await cl.ib.reqExecutionsAsync()
            assert [(e.execution.orderRef, e.execution.shares, e.execution.price) for e in execs] == \
                [("lost-ioc", 5.0, 0.41)]
            sim.backend.exchange.place(HOUSE, MID, "no", "buy", FULL - 3_800, 300, "ioc")
            deadline = time.monotonic() + 2
            while cl.trades[g.order_id].orderStatus.status != "Filled":
                assert time.monotonic() < deadline, "the later fill never reached the client"
                await asyncio.sleep(0.02)
            assert sorted(f.execution.orderRef for f in cl.ib.fills()) == ["lost-gtc", "lost-ioc"]

            sim.faults = Faults(order_response_delay_s=2.0)
            t0 = time.monotonic()
            d = await cl.place_limit(YES, "BUY", 2, Decimal("0.42"), "IOC", order_ref="late-ioc")
            assert d.status == "PendingSubmit"
            assert sim.backend.refresh(sim.by_api[(61, d.order_id)]).status == "Filled" and time.monotonic() - t0 < 1.5
            tr = cl.trades[d.order_id]
            while tr.orderStatus.status != "Filled":
                assert time.monotonic() - t0 < 4, "the delayed answer never came"
                await asyncio.sleep(0.02)
            assert time.monotonic() - t0 >= 2.0 and [f.execution.shares for f in tr.fills] == [2.0]
            await cl.close()
        finally:
            await sim.stop()
    run(main())
