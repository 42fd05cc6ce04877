"""Injected bad books (scenarios.Faults): lost updates that leave a copy locked/crossed are caught
(seq gap, hash) and the book is restored from the venue, which never publishes one; a silently
stale book is restored by a re-snapshot (`BookFeed.resnapshot`, what the session asks for). Real
sockets to the simulators."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from arbbot.sim.engine.matching import HOUSE
from arbbot.sim.scenarios import Faults
from arbbot.venues.common import OrderRequest, Side
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.kalshi.book import KalshiBook, checked
from arbbot.venues.kalshi.data import KalshiDataClient
from tests.sim.venue_envs import strand_two_best_no_levels
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


@pytest.mark.parametrize("past,kind", [(0, "locked"), (100, "crossed")])
def test_kalshi_lost_level_removals_flagged_then_recover(rsa_keys, past, kind):
    """The deltas that emptied H0's two best NO levels are lost, then a YES bid takes their place
    (the venue's book is never locked or crossed): a copy applying that delta across the gap is
    locked/crossed and `checked` flags it; the adapter sees the gap instead, holds the book and
    resyncs to the venue's."""
    async def main():
        async with kalshi_env(rsa_keys, faults=Faults(lost_removals=(H0,))) as (sim, cfg):
            v = KalshiVenue(cfg)
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, [H0, C25])
            dc.start()
            await wait_for(lambda: dc.native(H0).tradeable and dc.native(C25).tradeable, what="snapshots")
            copy = KalshiBook(H0)
            copy.apply_snapshot(dc.native(H0).yes_bids, dc.native(H0).no_bids)
            stale_no, yes = strand_two_best_no_levels(sim.exchange, H0, past)
            copy.apply_delta("yes", yes, 1_000)                  # the one delta that arrived
            flagged = checked(copy.native())
            assert not flagged.tradeable and flagged.reason.startswith(f"{kind} book")
            await wait_for(lambda: dc.gaps >= 1 and dc.native(H0).tradeable, what="resync after the gap")
            b = await v.fetch_book(H0)
            assert b.tradeable and b.yes_bids[0] == (yes, 1_000) and b.no_bids[0][0] < stale_no
            assert (dc.native(H0).yes_bids, dc.native(H0).no_bids) == (b.yes_bids, b.no_bids)
            assert dc.native(C25).tradeable                                 # other markets untouched
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


def test_polymarket_lost_level_removals_caught_by_the_hash_then_recover():
    """The price_change frames that emptied ALV's two best NO levels are lost, then a YES bid
    takes their place: the adapter's copy would be crossed, and the next frame's hash disagrees
    with it; the token is re-fetched and the book is the venue's (never crossed) again."""
    from tests.venues.test_polymarket import by_title, in_sync, poly_env

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
            sim.faults = dataclasses.replace(sim.faults, lost_removals=(alv,))
            strand_two_best_no_levels(sim.exchange, alv)
            await wait_for(lambda: dc.hash_mismatches >= 1, what="hash mismatch after the lost frames")
            await wait_for(lambda: in_sync(dc, sim), what="re-fetched")
            b = await v.fetch_book(alv)
            assert b.tradeable and b.yes_bids[0][0] < b.yes_asks[0][0]
            assert dc.native(other).tradeable
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
