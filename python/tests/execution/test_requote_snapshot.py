"""The order path re-quotes a leg whose streamed book is not fresh (or a top-up) from the venue's
book now. On ForecastEx `fetch_book` of a streamed market reads IB's local ticker: when IB stops
sending a streaming request's ticks without an error (a farm gone inactive, a dropped line), that
ticker is frozen, and the "re-quote" confirmed the frozen book. The executor now asks for a one-off
snapshot where the adapter has one (`snapshot_book`).

Scenario "forecastex", seed 1: MID's YES bid 0.37 (× 100). Units: ticks ($0.0001), lots (0.01)."""
from __future__ import annotations

import asyncio

from arbbot.execution import Executor, OrderStore, Route
from arbbot.sim.forecastex import start_tws
from arbbot.venues.common import OrderRequest, Side, TimeInForce
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient
from tests.venues.test_forecastex_review_fixes_s29 import MID, run


def test_a_quiet_forecastex_leg_is_requoted_from_a_snapshot_not_its_frozen_ticker(tmp_path):
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            v = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=81), ["FF"], poll_s=0.1)
            mids = [m.market_id for m in await v.discover_markets()]
            latest = {}

            async def consume():
                async for u in v.stream_books(mids):
                    latest[u.book.market.id] = u.book
            task = asyncio.create_task(consume())
            for _ in range(100):
                if MID in latest:
                    break
                await asyncio.sleep(0.05)
            streamed = latest[MID].yes_bids
            real = sim._ticks

            def ticks(conn, req_id, t):
                if req_id in conn.tickers:          # a streaming request's ticks: IB sends no more
                    return
                return real(conn, req_id, t)
            sim._ticks = ticks
            # the venue moves meanwhile: another account bids YES 0.39 for 50
            other = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=82), ["FF"])
            await other.discover_markets()
            await other.place_order(OrderRequest(MID, Side.YES, 3_900, 5_000, tif=TimeInForce.GTC,
                                                 client_order_id="other-1"))
            await asyncio.sleep(0.5)
            ticker = (await v.fetch_book(MID)).yes_bids
            store = OrderStore(str(tmp_path / "o.db"))
            ex = Executor(store, {f"forecastex:{MID}": Route(v, MID)})
            dec = await ex._quote(f"forecastex:{MID}", ex.routes[f"forecastex:{MID}"])
            store.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await v.close()
            await other.close()
            return streamed, ticker, dec, ex.rest_requotes
        finally:
            await sim.stop()
    streamed, ticker, dec, requotes = run(main())
    assert streamed == ((3_700, 10_000),) == ticker        # the stream's last word, frozen
    # the re-quote: YES asks are 1 − the NO bids; what it must see is the new YES bid, as NO's
    # ask at 1 − 0.39 = 0.61 for 50 (before: 0.63 for 100, the frozen ticker's)
    assert dec.no[0] == (6_100, 5_000) and requotes == 1
