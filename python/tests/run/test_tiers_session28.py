"""A slow-tier REST read never overwrites the stream's book: a read of a polled market that began
before the market's promotion to the stream and ends after the stream's first book of it is
older than that book, so it is dropped (the feed's queue keeps the stream's book, which is what
the session reads next). Single reads and batch reads (`BookFeed.fetch_many`), and the plain
case (no promotion: the read is published) to show the guard drops nothing else."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from arbbot.model import Book, MarketId, Venue
from arbbot.run.tiers import SessionTiers, Tiers
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import BookUpdate

REST_BID = ((4_000, 100),)       # (price ticks, lots): the REST copy, read before the promotion
STREAM_BID = ((4_500, 300),)     # the stream's first book, after it


def book(mid: str, bids) -> Book:
    return Book(yes_bids=bids, market=MarketId(Venue.KALSHI, mid))


class GatedRest:
    """REST reads that answer only once `release` is set; `started` is set when the first begins,
    `answered` counts the answers (the poller publishes an answer in the step it gets it)."""

    def __init__(self) -> None:
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self.answered = 0

    async def read(self, mid: str) -> Book:
        self.started.set()
        await self.release.wait()
        self.answered += 1
        return book(mid, REST_BID)

    async def read_many(self, mids: list[str]) -> dict[str, Book]:
        return {mid: await self.read(mid) for mid in mids}


def session_of(feed: BookFeed, rest: GatedRest, ids: list[str]) -> tuple[SessionTiers, SimpleNamespace]:
    """A session whose kalshi venue polls `ids` through `feed` (as `SessionTiers.start` leaves it)."""
    venue = SimpleNamespace(feed=feed, fetch_book=rest.read, add_markets=None)
    session = SimpleNamespace(venues={"kalshi": venue}, clock=lambda: 0.0, markets=[None] * 4,
                              spawn=lambda coro, name: coro.close())
    tiers = SessionTiers(session, by_interest=True, slow_poll_s=30.0)
    tiers.plan = Tiers(streamed={"kalshi": []}, polled={"kalshi": list(ids)})
    tiers.slow = {f"kalshi:{mid}": "kalshi" for mid in ids}
    return tiers, venue


def queued(feed: BookFeed) -> dict[str, Book]:
    """The book of each market the session would read next (market id → book)."""
    out = {}
    while len(feed.queue):
        update = feed.queue.get_nowait()
        out[update.book.market.id] = update.book
    return out


async def late_rest_read(feed: BookFeed, rest: GatedRest, ids: list[str], promote: str | None) -> dict[str, Book]:
    """Start the slow tier's pass over `ids`; while its reads are in flight promote `promote` and
    publish the stream's first book of it; then let the reads answer. Returns `queued(feed)`."""
    tiers, _ = session_of(feed, rest, ids)
    task = asyncio.create_task(tiers._poll("kalshi", ids))
    try:
        await asyncio.wait_for(rest.started.wait(), 5)
        if promote is not None:
            assert tiers.promote([{"kind": "same", "a": f"kalshi:{promote}", "b": "polymarket:X"}]) == 1
            feed.publish(BookUpdate(book(promote, STREAM_BID), 1))          # the stream's snapshot
        rest.release.set()
        async with asyncio.timeout(5):                                      # every read answered
            while rest.answered < len(ids):
                await asyncio.sleep(0)
        await asyncio.sleep(0)
        return queued(feed)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_rest_read_begun_before_promotion_never_replaces_the_streams_newer_book():
    async def main():
        rest = GatedRest()
        feed = BookFeed("kalshi", [], rest.read, reads_per_s=1_000)
        return await late_rest_read(feed, rest, ["A"], promote="A"), rest
    books, rest = asyncio.run(main())
    assert rest.answered == 1                               # the read did run and answer late
    assert books["A"].yes_bids == STREAM_BID                # the stream's book, not the older REST copy


def test_a_batch_read_drops_only_the_promoted_markets_book():
    async def main():
        rest = GatedRest()
        feed = BookFeed("kalshi", [], rest.read, reads_per_s=1_000, fetch_many=rest.read_many, batch=10)
        return await late_rest_read(feed, rest, ["A", "B"], promote="A")
    books = asyncio.run(main())
    assert books["A"].yes_bids == STREAM_BID
    assert books["B"].yes_bids == REST_BID                  # still polled: its read is its book


def test_a_rest_read_of_a_market_still_polled_is_published():
    async def main():
        rest = GatedRest()
        feed = BookFeed("kalshi", [], rest.read, reads_per_s=1_000)
        return await late_rest_read(feed, rest, ["A"], promote=None), feed
    books, feed = asyncio.run(main())
    assert books["A"].yes_bids == REST_BID and feed.frames == 0
