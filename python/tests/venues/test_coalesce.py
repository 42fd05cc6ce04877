"""The bounded coalescing queue and the book feed around it (arbbot.venues.common.coalesce/feed):
a stalled consumer never blocks the producer and never grows memory past one book per market;
polls while the stream is down, re-snapshots, rate limits."""
from __future__ import annotations

import asyncio
import random
import time
import tracemalloc

import pytest

from arbbot.model import Book, MarketId, Venue
from arbbot.venues.common.coalesce import CoalescingQueue
from arbbot.venues.common.errors import TransportError
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import BookUpdate


def update(mid: str, price: int, lots: int, ts: int = 0) -> BookUpdate:
    return BookUpdate(Book(yes_bids=((price, lots),), market=MarketId(Venue.KALSHI, mid)), ts)


def test_stalled_consumer_holds_one_book_per_market_latest_wins_in_arrival_order():
    n, total = 50, 100_000
    rng = random.Random(5)
    markets = [f"M{i:02d}" for i in range(n)]
    sampled = [0]

    def sample(u: BookUpdate) -> None:      # sees every update, in order, before coalescing
        assert u.recv_ts_ms == sampled[0]
        sampled[0] += 1
    feed = BookFeed("kalshi", markets, on_update=sample)
    latest: dict[str, BookUpdate] = {}
    first_seen: list[str] = []
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for i in range(total):                 # no consumer at all: the reader publishes 100k updates
        mid = markets[i] if i < n else rng.choice(markets)
        u = update(mid, 100 + i % 9_800, 100 * (1 + i % 50), ts=i)
        feed.publish(u)
        latest[mid] = u
        if mid not in first_seen:
            first_seen.append(mid)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    q = feed.queue
    assert len(q) == n and q.max_depth == n and q.capacity == n
    assert q.coalesced == total - n and q.dropped == 0 and q.puts == total
    assert sampled[0] == total and feed.tap_errors == 0
    # memory: the queue holds n books, not 100k (an unbounded queue holds ~30 MB here)
    assert held - before < 1_000_000
    got = [q.get_nowait() for _ in range(n)]
    assert [u.book.market.id for u in got] == first_seen          # order of first arrival
    assert all(u is latest[u.book.market.id] for u in got)        # the newest book of each market
    assert q.empty() and feed.stats()["queue_depth"] == 0 and feed.stats()["queue_max_depth"] == n


def test_a_market_queued_again_after_it_was_read_joins_the_end():
    q = CoalescingQueue(10)
    for mid, px in (("A", 1), ("B", 2), ("A", 3)):
        q.put_nowait(update(mid, px, 100), mid)
    assert q.get_nowait().book.yes_bids == ((3, 100),)           # A, coalesced, kept its place
    q.put_nowait(update("A", 4, 100), "A")
    q.put_nowait(update("B", 5, 100), "B")
    assert [(u.book.market.id, u.book.yes_bids[0][0]) for u in (q.get_nowait(), q.get_nowait())] == \
        [("B", 5), ("A", 4)]
    assert q.coalesced == 2 and q.empty()
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()


def test_capacity_pushes_out_the_oldest_and_counts_it():
    q = CoalescingQueue(3)
    for item in ("a1", "b1", "c1", "b2", "d1"):
        q.put_nowait(item, item[0])
    assert (q.dropped, q.coalesced, len(q)) == (1, 1, 3)
    assert [q.get_nowait() for _ in range(3)] == ["b2", "c1", "d1"]
    with pytest.raises(ValueError):
        CoalescingQueue(0)


def test_keyless_items_are_never_coalesced():
    q = CoalescingQueue(100)
    for item in ("q1", "trade-1", "q2", "trade-2", "trade-3"):
        q.put_nowait(item, None if item.startswith("trade") else item[:1])
    assert [q.get_nowait() for _ in range(len(q))] == ["q2", "trade-1", "trade-2", "trade-3"]
    assert q.coalesced == 1


def test_get_waits_for_the_producer():
    async def main():
        q = CoalescingQueue(4)
        waiter = asyncio.create_task(q.get())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        q.put_nowait("x", "x")
        assert await asyncio.wait_for(waiter, 1) == "x"
    asyncio.run(main())


class FakeBooks:
    """`fetch(market_id)` → the current book of that market (price = a version counter)."""

    def __init__(self, markets: list[str]) -> None:
        self.version = {m: 100 for m in markets}
        self.fetches: list[tuple[str, float]] = []
        self.fail: set[str] = set()
        self.block: asyncio.Event | None = None

    async def fetch(self, mid: str) -> Book:
        self.fetches.append((mid, time.monotonic()))
        if self.block is not None:
            await self.block.wait()
        if mid in self.fail:
            self.fail.discard(mid)
            raise TransportError(f"{mid}: 503", venue="kalshi")
        return Book(yes_bids=((self.version[mid], 100),), market=MarketId(Venue.KALSHI, mid))


async def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def drain(feed: BookFeed) -> dict[str, int]:
    out = {}
    while not feed.queue.empty():
        u = feed.queue.get_nowait()
        out[u.book.market.id] = u.book.yes_bids[0][0]
    return out


def test_feed_polls_while_the_stream_is_down_and_stops_when_it_is_back():
    async def main():
        markets = ["A", "B", "C"]
        books = FakeBooks(markets)
        feed = BookFeed("kalshi", markets, books.fetch, reads_per_s=200, poll_interval_s=0.05)
        feed.start()
        await asyncio.sleep(0.1)
        assert books.fetches == [] and feed.stats()["mode"] == "stream"      # streaming: no polls
        feed.stream_down("test")
        await wait_for(lambda: feed.polled >= 3)
        assert drain(feed) == {"A": 100, "B": 100, "C": 100} and feed.stats()["mode"] == "poll"
        books.version["B"] = 250                                           # the venue's book moves
        await wait_for(lambda: drain(feed).get("B") == 250)
        polls = len(books.fetches)
        # a poll cycle takes ≥ poll_interval_s: three markets every 0.05 s, never faster
        await asyncio.sleep(0.25)
        assert len(books.fetches) - polls <= 3 * (0.25 / 0.05 + 1)
        # a poll in flight when the stream comes back is discarded: the stream's books are newer
        books.block = asyncio.Event()
        in_flight = len(books.fetches) + 1
        await wait_for(lambda: len(books.fetches) == in_flight)
        await asyncio.sleep(0.05)
        assert len(books.fetches) == in_flight                            # one poll, held by the venue
        drain(feed)
        published = feed.polled
        feed.stream_up()
        books.block.set()
        await asyncio.sleep(0.2)
        assert feed.polled == published and feed.queue.empty() and feed.stats()["mode"] == "stream"
        fetched = len(books.fetches)
        await asyncio.sleep(0.2)
        assert len(books.fetches) == fetched                               # no polling while streaming
        assert feed.fallbacks == 1
        await feed.close()
    asyncio.run(main())


def test_resnapshots_are_asked_once_rate_limited_and_retried_after_an_error():
    async def main():
        markets = [f"M{i}" for i in range(15)]
        books = FakeBooks(markets)
        feed = BookFeed("kalshi", markets, books.fetch, reads_per_s=10)       # burst 10, then 10/s
        feed.start()
        books.fail.add("M3")
        assert feed.resnapshot(markets + ["unknown"]) == 15
        assert feed.resnapshot(["M0", "M1"]) == 0                           # already pending
        await wait_for(lambda: feed.resnapshots == 15, timeout=10)
        times = [t for _, t in books.fetches]
        # 16 fetches (M3 twice): 10 at once, the other 6 at 10/s (+ the backoff after M3's error)
        assert len(books.fetches) == 16 and times[-1] - times[0] >= 0.5
        assert feed.fetch_errors == 1 and [m for m, _ in books.fetches].count("M3") == 2
        assert drain(feed) == {m: 100 for m in markets}
        await feed.close()
    asyncio.run(main())


def test_close_is_not_lost_to_a_wake_up_at_the_same_moment():
    async def main():
        books = FakeBooks(["A"])
        feed = BookFeed("kalshi", ["A"], books.fetch, reads_per_s=100, poll_interval_s=30)
        feed.start()
        feed.stream_down("socket closed")
        await wait_for(lambda: feed.polled == 1)   # one poll cycle done: it sleeps until the next
        await asyncio.sleep(0.05)
        feed.resnapshot(["A"])                     # wakes it ...
        await feed.close()                         # ... as it is cancelled, in the same step: it must end
        assert feed._task is None and len(books.fetches) == 1
    asyncio.run(asyncio.wait_for(main(), 3))
