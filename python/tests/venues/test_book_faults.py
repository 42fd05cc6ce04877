"""Injected bad books (scenarios.Faults): crossed/locked books are flagged by the adapters, and the
flag clears when a healthy book comes back; a silently stale book is restored by a re-snapshot
(`BookFeed.resnapshot`, what the session asks for). Real sockets to the simulators."""
from __future__ import annotations

import asyncio
import dataclasses

from arbbot.sim.engine.matching import HOUSE
from arbbot.sim.scenarios import Faults
from arbbot.venues.common import OrderRequest, Side
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.kalshi.data import KalshiDataClient
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import kalshi_env

H0 = "KXFEDDECISION-26DEC-H0"
C25 = "KXFEDDECISION-26DEC-C25"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def drain(feed: BookFeed) -> dict:
    """The queued books by market id (the newest of each)."""
    out = {}
    while not feed.queue.empty():
        u = feed.queue.get_nowait()
        out[u.book.market_id] = u.book
    return out


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


def test_kalshi_stale_book_resnapshotted_over_rest_and_the_stream(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            feed = BookFeed("kalshi", [H0, C25], v.fetch_book, reads_per_s=10)
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, [H0, C25], feed=feed)
            dc.start()
            feed.start()
            await wait_for(lambda: all(b.tradeable for b in dc.books.values()), what="snapshots")
            # the venue stops publishing H0 while its book keeps changing
            sim.faults = dataclasses.replace(sim.faults, stale_books=(H0,))
            r = await v.place_order(OrderRequest(H0, Side.NO, 4000, 500))
            await asyncio.sleep(0.3)
            sim.exchange.place(HOUSE, C25, "no", "buy", 100, 100)            # C25 still moves
            await wait_for(lambda: (100, 100) in dc.native(C25).no_bids, what="C25 delta")
            assert dc.native(H0).tradeable and (4000, 500) not in dc.native(H0).no_bids   # silently stale
            drain(feed)
            # a re-snapshot: the REST book is published at once ...
            assert feed.resnapshot([H0]) == 1 and feed.resnapshot([H0]) == 0        # asked once while pending
            await wait_for(lambda: feed.resnapshots == 1, what="REST re-snapshot")
            published = drain(feed)[H0]
            assert published.tradeable and (4000, 500) in published.no_bids
            assert published.no_bids == (await v.fetch_book(H0)).no_bids
            # ... and the stream is asked for its snapshot too (withheld here: the shadow book waits)
            await asyncio.sleep(0.2)
            assert (4000, 500) not in dc.native(H0).no_bids
            # the venue publishes again: the next re-snapshot's stream snapshot restores the shadow book
            sim.faults = dataclasses.replace(sim.faults, stale_books=())
            assert feed.resnapshot([H0]) == 1
            await wait_for(lambda: (4000, 500) in dc.native(H0).no_bids, what="fresh stream snapshot")
            assert dc.native(H0).tradeable and dc.native(H0).no_bids == (await v.fetch_book(H0)).no_bids
            await v.cancel_order(r.order_id)
            await feed.close()
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


def test_polymarket_stale_market_resnapshotted_into_the_shadow_book():
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
            drain(dc.feed)
            assert dc.feed.resnapshot([alv]) == 1
            await wait_for(lambda: dc.feed.resnapshots == 1, what="REST re-snapshot")
            # both token books fetched into the shadow books, and the market's book published
            assert dc.native(alv).tradeable and as_tuple(dc.native(alv)) == expected(sim, alv)
            assert as_tuple(drain(dc.feed)[alv]) == expected(sim, alv) and dc.hash_mismatches == 0
            assert as_tuple(dc.native(other)) == expected(sim, other)
            await dc.close()
            await v.close()
    run(main())
