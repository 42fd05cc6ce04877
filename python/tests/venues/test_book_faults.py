"""Injected bad books (scenarios.Faults): crossed/locked and stale books are flagged by the
adapters, and the flag clears when a healthy book comes back. Real sockets to the simulators."""
from __future__ import annotations

import asyncio
import dataclasses
import time

from arbbot.sim.engine.matching import HOUSE
from arbbot.sim.scenarios import Faults
from arbbot.venues.common import OrderRequest, Side
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.kalshi.data import KalshiDataClient
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import kalshi_env

H0 = "KXFEDDECISION-26DEC-H0"
C25 = "KXFEDDECISION-26DEC-C25"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def now_ms() -> int:
    return int(time.time() * 1000)


def test_kalshi_crossed_and_locked_books_flagged_then_recover(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys, faults=Faults(crossed_books=(H0,))) as (sim, cfg):
            v = KalshiVenue(cfg)
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, [H0, C25])
            dc.start()
            # the scenario starts with the fault on
            sim.refresh_book_faults()
            b = await v.fetch_book(H0)
            assert not b.tradeable and b.reason.startswith("crossed book")
            assert b.yes_bids[0][0] + b.no_bids[0][0] == 10_100            # 1¢ past locked
            assert (await v.fetch_book(C25)).tradeable                      # other markets untouched
            await wait_for(lambda: dc.books[H0].updated_ms and "crossed" in dc.native(H0).reason,
                           what="crossed flag on the stream")
            assert dc.native(C25).tradeable
            # healthy again: a delta removes the bad level; the same stream is trusted again
            sim.faults = dataclasses.replace(sim.faults, crossed_books=())
            sim.refresh_book_faults()
            await wait_for(lambda: dc.native(H0).tradeable, what="recovered stream book")
            assert (await v.fetch_book(H0)).tradeable
            assert dc.native(H0).yes_bids == (await v.fetch_book(H0)).yes_bids
            # locked (YES bid + NO bid = $1 exactly) is flagged too
            sim.faults = dataclasses.replace(sim.faults, crossed_books=(H0,), cross_ticks=0)
            sim.refresh_book_faults()
            b = await v.fetch_book(H0)
            assert not b.tradeable and b.reason.startswith("locked book")
            await wait_for(lambda: "locked" in dc.native(H0).reason, what="locked flag")
            sim.faults = dataclasses.replace(sim.faults, crossed_books=())
            sim.refresh_book_faults()
            await wait_for(lambda: dc.native(H0).tradeable, what="recovered after locked")
            await dc.close()
            await v.close()
    run(main())


def test_kalshi_stale_book_flagged_by_age_then_recovers(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, [H0, C25])
            dc.start()
            await wait_for(lambda: all(b.tradeable for b in dc.books.values()), what="snapshots")
            # the venue stops publishing H0 while its book keeps changing
            sim.faults = dataclasses.replace(sim.faults, stale_books=(H0,))
            r = await v.place_order(OrderRequest(H0, Side.NO, 4000, 500))
            await asyncio.sleep(0.3)
            sim.exchange.place(HOUSE, C25, "no", "buy", 100, 100)            # C25 still moves
            await wait_for(lambda: (100, 100) in dc.native(C25).no_bids, what="C25 delta")
            assert dc.native(H0).tradeable and (4000, 500) not in dc.native(H0).no_bids
            stale = await dc.check_stale(now_ms(), 250)
            assert stale == [H0]
            b = dc.native(H0)
            assert not b.tradeable and b.reason.startswith("stale")
            assert dc.native(C25).tradeable
            await asyncio.sleep(0.2)                     # the requested snapshot is withheld too
            assert not dc.native(H0).tradeable
            # the venue publishes again: the next check asks again, the snapshot restores the book
            sim.faults = dataclasses.replace(sim.faults, stale_books=())
            assert await dc.check_stale(now_ms(), 250) == [H0]
            await wait_for(lambda: dc.native(H0).tradeable, what="fresh snapshot")
            assert (4000, 500) in dc.native(H0).no_bids
            assert dc.native(H0).no_bids == (await v.fetch_book(H0)).no_bids
            await v.cancel_order(r.order_id)
            await dc.close()
            await v.close()
    run(main())


def test_polymarket_crossed_token_book_flagged_then_recovers():
    from tests.venues.test_polymarket import by_title, in_sync, poly_env

    async def main():
        async with poly_env(faults=Faults(crossed_books=())) as (sim, cfg):
            from arbbot.venues.polymarket import PolymarketVenue
            v = PolymarketVenue(cfg)
            ms = await v.discover_markets()
            alv = by_title(sim, "ALV")
            other = next(m.market_id for m in ms if m.market_id != alv)
            dc = v.data_client([m for m in ms if m.market_id in (alv, other)])
            dc.start()
            await wait_for(lambda: in_sync(dc, sim), what="initial books")
            sim.faults = dataclasses.replace(sim.faults, crossed_books=(alv,))
            sim.refresh_book_faults()
            b = await v.fetch_book(alv)                       # REST: the YES token's bid ≥ its ask
            assert not b.tradeable and "crossed" in b.reason and b.yes_bids[0][0] > b.yes_asks[0][0]
            await wait_for(lambda: "crossed" in dc.native(alv).reason, what="crossed flag on the stream")
            assert dc.hash_mismatches == 0                    # the frames were consistent: the book is bad
            assert dc.native(other).tradeable
            sim.faults = dataclasses.replace(sim.faults, crossed_books=())
            sim.refresh_book_faults()
            await wait_for(lambda: dc.native(alv).tradeable, what="recovered")
            assert (await v.fetch_book(alv)).tradeable and in_sync(dc, sim)
            # locked: bid == ask on the YES token
            sim.faults = dataclasses.replace(sim.faults, crossed_books=(alv,), cross_ticks=0)
            sim.refresh_book_faults()
            b = await v.fetch_book(alv)
            assert not b.tradeable and b.yes_bids[0][0] == b.yes_asks[0][0]
            await wait_for(lambda: not dc.native(alv).tradeable, what="locked flag")
            sim.faults = dataclasses.replace(sim.faults, crossed_books=())
            sim.refresh_book_faults()
            await wait_for(lambda: in_sync(dc, sim), what="recovered after locked")
            await dc.close()
            await v.close()
    run(main())


def test_polymarket_stale_market_flagged_by_age_then_recovers():
    from arbbot.sim.engine.matching import HOUSE as H
    from tests.venues.test_polymarket import by_title, expected, in_sync, poly_env, as_tuple

    async def main():
        async with poly_env() as (sim, cfg):
            from arbbot.venues.polymarket import PolymarketVenue
            v = PolymarketVenue(cfg)
            ms = await v.discover_markets()
            alv = by_title(sim, "ALV")
            other = next(m.market_id for m in ms if m.market_id != alv)
            dc = v.data_client([m for m in ms if m.market_id in (alv, other)])
            dc.start()
            await wait_for(lambda: in_sync(dc, sim), what="initial books")
            sim.faults = dataclasses.replace(sim.faults, stale_books=(alv,))
            sim.exchange.place(H, alv, "yes", "buy", 1000, 500)          # ALV moves, unpublished
            await asyncio.sleep(0.3)
            sim.exchange.place(H, other, "yes", "buy", 100, 500)         # the other market is live
            await wait_for(lambda: in_sync(dc, sim) is False and as_tuple(dc.native(other)) == expected(sim, other),
                           what="other market delta")
            assert dc.native(alv).tradeable and as_tuple(dc.native(alv)) != expected(sim, alv)  # silently stale
            assert dc.check_stale(now_ms(), 250) == [alv]
            b = dc.native(alv)
            assert not b.tradeable and "stale" in b.reason
            assert dc.native(other).tradeable
            await wait_for(lambda: dc.native(alv).tradeable, what="REST resnapshot")
            assert as_tuple(dc.native(alv)) == expected(sim, alv)
            await dc.close()
            await v.close()
    run(main())
