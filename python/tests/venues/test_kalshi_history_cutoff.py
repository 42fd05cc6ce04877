"""Kalshi's historical cutoff: fills created before `trades_created_ts` are served by
`GET /historical/fills` only, orders canceled or executed before `orders_updated_ts` by
`GET /historical/orders` only (docs getting_started/historical_data: a live window of about 3
months; OpenAPI GetHistoricalCutoffResponse: three required RFC 3339 date-times).

The adapter listed `/portfolio/fills` only and said nothing of where that listing starts, so once
the cutoff passed the bot's first trade every reconciliation compared the store's older fills with
a listing that no longer held them, found differences and put the trader in safe mode. Now
`KalshiVenue.fill_history_start_ms()` is the cutoff, read after every complete fill listing, and
reconciliation compares the fills from it on (the older ones are still in positions and cash). The
simulator serves `/historical/cutoff` and partitions at `Faults.kalshi_history_cutoff_ms`.
"""
from __future__ import annotations

import asyncio
import dataclasses
import re
import time

import httpx

from arbbot.execution import Executor, OrderStore
from arbbot.execution.reconcile import reconcile, record_cash_baselines
from arbbot.venues.common import OrderRequest, TimeInForce
from arbbot.venues.common.errors import TransportError
from arbbot.venues.common.model import Action, Side
from tests.execution.harness import A, opportunity, routes, sim_config, start_sim, venue

RFC3339_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CUTOFF_FIELDS = {"market_settled_ts", "trades_created_ts", "orders_updated_ts"}


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


def on_sim(h, fn):
    """Run `fn` on the simulator's loop and return its result."""
    async def go():
        return fn()
    return asyncio.run_coroutine_threadsafe(go(), h.loop).result(5)


def plant(h) -> None:
    """Re-quote LAL around 40¢ so the parity arbitrage is there again (each trade consumes it)."""
    def go():
        _e, _q, listing = h.kalshi.listings[A]
        h.kalshi.process.quote(listing, 4000)
    on_sim(h, go)


def set_cutoff(h, ms: int) -> None:
    def go():
        h.kalshi.faults = dataclasses.replace(h.kalshi.faults, kalshi_history_cutoff_ms=ms)
    on_sim(h, go)


def account_fills(h) -> list:
    return on_sim(h, lambda: list(h.kalshi.exchange.accounts["user"].fills))


async def public_get(h, path: str, **params):
    async with httpx.AsyncClient() as c:
        r = await c.get(h.urls["kalshi_rest"] + path, params=params)
    return r.status_code, r.json()


def test_reconcile_across_the_cutoff_finds_no_difference_but_still_finds_a_real_one(tmp_path):
    h = start_sim()

    async def main():
        v = venue(sim_config(h))
        store = OrderStore(tmp_path / "o.db")
        await record_cash_baselines(store, {"kalshi": v})
        executor = Executor(store, routes(v))

        assert (await executor.execute(await opportunity(v, max_qty=100), execution_id="old")).state == "complete"
        old = {fe.fill_id for fe in account_fills(h)}
        assert old
        # the cutoff: the whole second after the old fills; the next trade comes after it
        cutoff = (max(fe.ts_ms for fe in account_fills(h)) // 1000 + 1) * 1000
        while h.kalshi.clock_ms() < cutoff + 50:
            await asyncio.sleep(0.05)
        plant(h)
        assert (await executor.execute(await opportunity(v, max_qty=100), execution_id="new")).state == "complete"
        new = {fe.fill_id for fe in account_fills(h)} - old
        assert new and all(fe.ts_ms >= cutoff for fe in account_fills(h) if fe.fill_id in new)

        report = await reconcile(store, {"kalshi": v})
        assert report["differences"] == 0, report["venues"]["kalshi"]["differences"]

        set_cutoff(h, cutoff)                                     # Kalshi archives the old fills
        report = await reconcile(store, {"kalshi": v})
        k = report["venues"]["kalshi"]
        assert report["differences"] == 0, k["differences"]
        assert k["fills"] == {"venue": len(new), "store": len(new)}
        assert v.fill_history_start_ms() == cutoff                # the venue's cutoff, as Kalshi says it
        assert {f.fill_id for f in await v.fills()} == new
        # the old fills are still in positions and cash: both sides agree
        assert k["positions"]["venue"] == k["positions"]["store"] and k["positions"]["venue"]
        assert k["cash_moved_micros"]["venue"] == k["cash_moved_micros"]["store"]

        # a real difference after the cutoff is still found: an order behind the store's back
        plant(h)
        o = await v.place_order(OrderRequest(A, Side.YES, 5000, 100, Action.BUY, TimeInForce.IOC))
        assert o.filled_lots == 100
        report = await reconcile(store, {"kalshi": v})
        diffs = report["venues"]["kalshi"]["differences"]
        stray = [d for d in diffs if d["what"] == "fill"]
        assert len(stray) == 1 and stray[0]["store"] is None and stray[0]["id"] not in old | new, diffs
        assert {d["what"] for d in diffs} == {"fill", "position", "cash"}, diffs
        await v.close()
        store.close()

    try:
        run(main())
    finally:
        h.stop()


def test_simulator_serves_the_cutoff_and_the_historical_lists_in_kalshis_shape(tmp_path):
    h = start_sim()

    async def main():
        status, body = await public_get(h, "/historical/cutoff")   # public: no credentials
        assert status == 200 and set(body) == CUTOFF_FIELDS
        assert set(body.values()) == {"1970-01-01T00:00:00Z"}     # default: nothing partitioned

        v = venue(sim_config(h))
        store = OrderStore(tmp_path / "o.db")
        assert (await Executor(store, routes(v)).execute(await opportunity(v, max_qty=100),
                                                         execution_id="x")).state == "complete"
        fills_before = {f.fill_id for f in await v.fills()}
        orders_before = {o.order_id for o in await v.orders()}
        assert fills_before and orders_before
        history = await v.http.get("/historical/fills", auth=True)
        assert history == {"fills": [], "cursor": ""}

        # a resting order stays in /portfolio/orders whatever the cutoff
        plant(h)
        resting = await v.place_order(OrderRequest(A, Side.YES, 100, 100, Action.BUY, TimeInForce.GTC))
        cutoff_ms = h.kalshi.clock_ms() + 2_345                   # served to the whole second
        set_cutoff(h, cutoff_ms)
        status, body = await public_get(h, "/historical/cutoff")
        assert status == 200 and set(body) == CUTOFF_FIELDS
        assert all(isinstance(x, str) and RFC3339_S.match(x) for x in body.values()), body
        want = cutoff_ms // 1000 * 1000
        assert body["trades_created_ts"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(want / 1000))

        assert await v.fills() == []
        assert v.fill_history_start_ms() == want
        hist_fills = await v.http.get("/historical/fills", {"limit": 1000}, auth=True)
        assert {f["fill_id"] for f in hist_fills["fills"]} == fills_before and hist_fills["cursor"] == ""
        assert {"fill_id", "order_id", "ticker", "count_fp", "yes_price_dollars", "created_time"} <= \
            set(hist_fills["fills"][0])
        live_orders = {o.order_id for o in await v.orders()}
        assert live_orders == {resting.order_id}
        hist_orders = await v.http.get("/historical/orders", {"limit": 1000}, auth=True)
        assert {o["order_id"] for o in hist_orders["orders"]} == orders_before
        # the account's own history needs credentials
        status, _body = await public_get(h, "/historical/fills")
        assert status == 401
        await v.cancel_order(resting.order_id)
        await v.close()
        store.close()

    try:
        run(main())
    finally:
        h.stop()


def test_a_failed_cutoff_read_keeps_the_last_value(tmp_path):
    h = start_sim()

    async def main():
        v = venue(sim_config(h))
        assert v.fill_history_start_ms() is None                  # nothing read yet: as if it listed all
        await v.fills()
        assert v.fill_history_start_ms() == 0                     # the simulator's default: no cutoff (epoch)
        set_cutoff(h, 1_700_000_000_000)
        await v.fills()
        assert v.fill_history_start_ms() == 1_700_000_000_000
        inner = v.http.request

        async def broken(method, path, **kw):
            if path == "/historical/cutoff":
                raise TransportError("kalshi: connection reset", venue="kalshi")
            return await inner(method, path, **kw)
        v.http.request = broken
        set_cutoff(h, 1_800_000_000_000)
        await v.fills()
        assert v.fill_history_start_ms() == 1_700_000_000_000      # kept
        v.http.request = inner
        await v.fills(ticker=A)                                    # a filtered listing does not read it
        assert v.fill_history_start_ms() == 1_700_000_000_000
        await v.fills()
        assert v.fill_history_start_ms() == 1_800_000_000_000
        await v.close()

    try:
        run(main())
    finally:
        h.stop()
