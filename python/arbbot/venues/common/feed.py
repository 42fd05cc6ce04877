"""One venue's book feed: what its stream publishes, on its way to the session.

- **Coalescing:** every update goes through `publish(update)` (called by the adapter's socket
  reader; it never blocks and never awaits the consumer) into a `CoalescingQueue` holding at most
  one `BookUpdate` per market: the consumer reads the newest book of each market, in order of first
  arrival, and the queue never holds more than the feed's markets.
- **Estimates before coalescing:** `on_update(update)`, when set, sees every update first (the
  sizing samples: depletion and volatility need each change, not only the last one).
- **Stream → poll fallback:** the adapter calls `stream_down()` when its stream is lost and
  `stream_up()` when it is back (per `source` when the venue's markets are spread over several
  connections, naming that connection's markets). While a source is down, the feed polls its
  markets' books with `fetch` (REST, an IB snapshot), each at most once per `poll_interval_s`,
  within `reads_per_s`; a poll begun before a stream came back is discarded (the stream's
  snapshots are newer).
- **Re-snapshots:** `resnapshot(ids)` fetches those books (once each while pending, before any
  poll, within the same `reads_per_s`; up to `batch` in one read where the venue has a batch
  endpoint, `fetch_many`) and publishes them: how a stale or quiet book is restored.
- **A read never overtakes the stream:** a fetched book (poll or re-snapshot) is discarded
  (`superseded`) when the adapter published a book of its market after the read began: that
  book is newer, and the REST answer may lack an update it carries (Kalshi then restores a
  distrusted book from the stream's own `get_snapshot`, asked for with every re-snapshot).
- **Liveness:** `frames` grows with every stream frame (`heard`, called by the adapter's reader)
  and every book the stream publishes; never with a REST answer (`publish(..., fetched=True)`).
  The session judges a stream live by it. `failing(id)` counts the reads of a book the venue
  answered it has not (a 404, or a batch answer without it) in a row since its last good read or
  stream update: a quiet book the venue no longer serves (a market closed or resolved without a
  word on the stream) is not confirmed by its re-snapshots, and the session stops taking its
  stream's liveness for it (`FAILED_READS_STALE`).

Without `fetch` the feed only coalesces (a replay, a bench). Fetch failures are counted and
retried after a backoff; they never end the feed.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Awaitable, Callable

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.coalesce import CoalescingQueue
from arbbot.venues.common.errors import NotFound
from arbbot.venues.common.model import Book, BookUpdate
from arbbot.venues.common.ratelimit import TokenBucket

log = logging.getLogger("arbbot.venues.feed")

POLL_INTERVAL_S = 1.0          # a polled market is fetched at most once per this many seconds
FAILED_READS_STALE = 3         # reads of a book failed in a row after which the session holds it stale
BOOK_READ_SHARE = 0.5          # the share of a venue's read budget its feed may spend on books


class BookFeed:
    """The feed of `venue`'s `market_ids` (venue ids). `fetch(market_id)` → `Book` for polls and
    re-snapshots, at most `reads_per_s` of them per second (burst: one second's worth)."""

    def __init__(self, venue: str, market_ids: list[str], fetch: Callable[[str], Awaitable[Book]] | None = None,
                 reads_per_s: float = 1.0, *, on_update: Callable[[BookUpdate], None] | None = None,
                 poll_interval_s: float = POLL_INTERVAL_S,
                 fetch_many: Callable[[list[str]], Awaitable[dict[str, Book]]] | None = None,
                 batch: int = 1) -> None:
        self.venue = venue
        self.market_ids = list(dict.fromkeys(market_ids))
        self.queue: CoalescingQueue[BookUpdate] = CoalescingQueue(max(1, len(self.market_ids)))
        self.on_update = on_update
        self.fetch = fetch
        # `fetch_many(ids)` → {id: Book}: up to `batch` books in one read (Kalshi GET /markets/orderbooks),
        # used for re-snapshots when several are pending
        self.fetch_many, self.batch = fetch_many, max(1, batch)
        self.limiter = TokenBucket(reads_per_s, max(1.0, reads_per_s))
        self.poll_interval_s = poll_interval_s
        self.generation = 0             # +1 on every stream up/down transition
        self.fallbacks = 0              # stream → poll transitions (of any source)
        self.polled = 0                 # books published from polls
        self.resnapshots = 0            # books published from re-snapshots
        self.fetch_errors = 0
        self.superseded = 0             # fetched books discarded: the stream published their market during the read
        self.tap_errors = 0
        self._failed: dict[str, int] = {}         # market id → its reads failed in a row (`failing`)
        self.frames = 0                 # stream frames and stream-published books so far (liveness; REST never counts)
        # the adapter's own follow-up of a re-snapshot (Kalshi: ask the stream for the snapshots
        # too, so its shadow books follow in sequence); called with the market ids newly asked for
        self.on_resnapshot: Callable[[list[str]], None] | None = None
        self._known = set(self.market_ids)
        self._pending: OrderedDict[str, None] = OrderedDict()    # re-snapshots asked for, oldest first
        # market id → True once the stream published it, for each read under way (then its answer is older)
        self._reading: dict[str, bool] = {}
        self._down: dict[str, list[str]] = {}     # stream source that is down → its market ids
        self._polled_ids: list[str] = []          # the markets of every source down: what is polled
        self._polled_set: frozenset[str] = frozenset()
        self._cursor = 0                # next market of the poll cycle
        self._cycle_started: float | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    # ---- the reader's side (hot) ----------------------------------------------------------
    def heard(self) -> None:
        """The stream delivered a frame (a book or not: a PONG, an ack): it is alive."""
        self.frames += 1

    def publish(self, update: BookUpdate, *, fetched: bool = False) -> None:
        """One update: sampled (`on_update`), then queued (coalesced per market). `fetched`: a
        REST answer, not the stream's (it neither shows the stream alive nor supersedes a read)."""
        if not fetched:
            self.frames += 1
            reading = self._reading
            if reading:
                mid = update.book.market.id
                if mid in reading:
                    reading[mid] = True
            if self._failed:
                self._failed.pop(update.book.market.id, None)
        tap = self.on_update
        if tap is not None:
            try:
                tap(update)
            except Exception:           # a sampling bug must never stop the reader
                self.tap_errors += 1
                if self.tap_errors == 1:
                    log.exception("%s feed: on_update failed", self.venue)
        self.queue.put_nowait(update, update.book.market.id)

    # ---- the consumer's side --------------------------------------------------------------
    async def get(self) -> BookUpdate:
        return await self.queue.get()

    # ---- stream state, polls and re-snapshots ----------------------------------------------
    @property
    def streaming(self) -> bool:
        """True while no stream source is down (nothing is polled)."""
        return not self._down

    def add_markets(self, market_ids) -> list[str]:
        """Markets that joined the stream mid-session (listed since the start, or promoted): the
        queue grows to hold one book of each. Returns the ids that were new to the feed."""
        added = [mid for mid in dict.fromkeys(market_ids) if mid not in self._known]
        self.market_ids += added
        self._known.update(added)
        self.queue.capacity = max(1, len(self.market_ids))
        return added

    def failing(self, market_id: str) -> int:
        """Reads of `market_id`'s book that failed in a row since its last good read or stream update."""
        return self._failed.get(market_id, 0)

    def _read_failed(self, market_id: str, exc: Exception | None = None) -> None:
        """A read of `market_id`'s book failed (`exc`; None: the venue's answer left it out). Only
        the venue's word that it has no such book counts towards `failing` (a 404, or no answer
        for it): a timeout or a rate limit says nothing of the market."""
        self.fetch_errors += 1
        if exc is None or isinstance(exc, NotFound):
            self._failed[market_id] = self._failed.get(market_id, 0) + 1

    def polls(self, market_id: str) -> bool:
        """True while `market_id`'s stream source is down (its book comes from polls)."""
        return market_id in self._polled_set

    def stream_down(self, reason: str = "", source: str = "stream", market_ids: list[str] | None = None) -> None:
        """Stream `source` (carrying `market_ids`, default all) is lost: poll its books until
        `stream_up(source)`."""
        if source not in self._down:
            self._down[source] = self.market_ids if market_ids is None else list(market_ids)
            self._transition()
            self.fallbacks += 1
            self._wake.set()
            log.warning("%s feed: %s down (%s): polling %d books", self.venue, source, reason or "disconnected",
                        len(self._polled_ids))

    def stream_up(self, source: str = "stream") -> None:
        """Stream `source` is back: stop polling its books (polls under way are discarded)."""
        if self._down.pop(source, None) is not None:
            self._transition()
            log.info("%s feed: %s back: %d books still polled", self.venue, source, len(self._polled_ids))

    def _transition(self) -> None:
        self.generation += 1
        self._polled_ids = list(dict.fromkeys(m for ids in self._down.values() for m in ids))
        self._polled_set = frozenset(self._polled_ids)
        self._cursor, self._cycle_started = 0, None

    def resnapshot(self, market_ids) -> int:
        """Fetch these books again (rate limited) and publish them; returns how many were newly
        asked for (one already pending is not asked twice)."""
        added = [mid for mid in market_ids if mid in self._known and mid not in self._pending]
        for mid in added:
            self._pending[mid] = None
        if added:
            self._wake.set()
            if self.on_resnapshot is not None:
                self.on_resnapshot(added)
        return len(added)

    def start(self) -> None:
        if self.fetch is not None and self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"feed-{self.venue}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _next(self) -> tuple[str, bool]:
        """(market id, polled?) of the next fetch: a pending re-snapshot first, else the next
        market of the poll cycle while the stream is down; waits while there is nothing to do."""
        while True:
            if self._pending:
                return self._pending.popitem(last=False)[0], False
            ids = self._polled_ids
            if ids:
                now = time.monotonic()
                if self._cursor == 0:
                    if self._cycle_started is not None and now < self._cycle_started + self.poll_interval_s:
                        await self._sleep(self._cycle_started + self.poll_interval_s - now)
                        continue
                    self._cycle_started = now
                mid = ids[self._cursor]
                self._cursor = (self._cursor + 1) % len(ids)
                return mid, True
            await self._sleep(None)

    async def _sleep(self, seconds: float | None) -> None:
        """Until woken (`stream_down`, `resnapshot`) or `seconds` passed (None: no limit)."""
        self._wake.clear()
        try:                            # (not wait_for: on 3.11 it can swallow a cancel racing a wake-up)
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _resnapshot_many(self, first: str) -> bool:
        """`first` and up to `batch` − 1 more pending re-snapshots in one read; False (nothing
        taken) when there is no `fetch_many` or nothing else is pending."""
        if self.fetch_many is None or self.batch < 2 or not self._pending:
            return False
        ids = [first]
        while self._pending and len(ids) < self.batch:
            ids.append(self._pending.popitem(last=False)[0])
        await self.limiter.acquire(1.0)
        self._reading.update(dict.fromkeys(ids, False))
        try:
            books = await self.fetch_many(ids)
        except asyncio.CancelledError:
            raise
        except Exception as exc:            # the whole batch is asked for again later
            for mid in ids:
                self._read_failed(mid, exc)
            log.warning("%s feed: fetching %d books failed: %s: %s", self.venue, len(ids), type(exc).__name__, exc)
            for mid in ids:
                self._pending[mid] = None
            await asyncio.sleep(1.0)
            return True
        finally:
            superseded = {mid for mid in ids if self._reading.pop(mid)}
        now_ms = int(time.time() * 1000)
        for mid in ids:
            book = books.get(mid)
            if book is None:
                self._read_failed(mid)      # not answered: the next staleness check asks again
                continue
            self._failed.pop(mid, None)
            if mid in superseded:
                self.superseded += 1        # the stream's book is newer
                continue
            self.resnapshots += 1
            self.publish(BookUpdate(book, now_ms), fetched=True)
        return True

    async def _run(self) -> None:
        backoff = Backoff(base=0.1, cap=5.0)
        while True:
            mid, polled = await self._next()
            if not polled and await self._resnapshot_many(mid):
                continue
            generation = self.generation
            await self.limiter.acquire(1.0)
            if polled and generation != self.generation:
                continue                    # a stream came back (or another fell) while waiting
            self._reading[mid] = False      # the read begins
            try:
                book = await self.fetch(mid)
            except asyncio.CancelledError:
                raise
            except Exception as exc:        # a venue error, a closed connection: try again later
                self._read_failed(mid, exc)
                log.warning("%s feed: fetching %s failed: %s: %s", self.venue, mid, type(exc).__name__, exc)
                if not polled:
                    self._pending[mid] = None
                await asyncio.sleep(backoff.next_delay())
                continue
            finally:
                superseded = self._reading.pop(mid)
            backoff.reset()
            self._failed.pop(mid, None)
            if polled and generation != self.generation:
                continue                    # the stream came back meanwhile: its books are newer
            if superseded:
                self.superseded += 1        # the stream published this market during the read: its book is newer
                continue
            if polled:
                self.polled += 1
            else:
                self.resnapshots += 1
            self.publish(BookUpdate(book, int(time.time() * 1000)), fetched=True)

    def stats(self) -> dict:
        """What the session's summary and metrics show (counters only grow)."""
        q = self.queue.stats()
        return {"mode": "stream" if self.streaming else "poll", "polling": len(self._polled_ids),
                "queue_depth": q["depth"], "queue_max_depth": q["max_depth"], "queue_capacity": q["capacity"],
                "updates": q["puts"], "coalesced": q["coalesced"], "dropped": q["dropped"],
                "fallbacks": self.fallbacks, "polled": self.polled, "resnapshots": self.resnapshots,
                "fetch_errors": self.fetch_errors}
