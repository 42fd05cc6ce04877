"""`ReplayVenue`: one venue of a recording as a `VenueClient` for market data — its discovery and
listing bodies from the header, its books from the `book` records, delivered in virtual time at
their receive times (`arbbot.replay.vloop`). It trades nothing: a replay puts a `PaperVenue`
(the local fill engine) in front of it.

The records stay in the file: one `BookSource` per replay reads them lazily, in file order, for
all the venues. A venue's stream pulls its next book from the source when it has delivered the
previous one; the books of the other venues read on the way wait in their venue's queue (a few
moments of data: the venues advance together on the virtual clock). Read-ahead is capped
(`READ_AHEAD`): past it, a stream waits until the virtual clock reaches what was read before it
reads on, so a venue silent for minutes does not pull minutes of the others' books into memory."""
from __future__ import annotations

import asyncio
from collections import deque
from typing import AsyncIterator

from arbbot.model import Book, MarketId, Venue
from arbbot.replay.format import Recording, RecordingError, labelled_book_records
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import BookUpdate

READ_AHEAD = 50_000       # books of other venues read ahead (in the virtual future) before a stream waits


class BookSource:
    """The book records of one recording, read once, in file order, shared by the replay's
    venues: `next(venue)` is that venue's next book, `(at_ms, book)`; `None` when it has no more;
    an `int` (unix ms) when the read-ahead is full: wait until then and ask again."""

    def __init__(self, recording: Recording, clock) -> None:
        self.clock = clock
        self.path = recording.path
        self._records = labelled_book_records(recording.path, header=False)
        self._left = dict(recording.venue_books)          # venue → its books not read yet
        self._queues: dict[str, deque] = {}
        self.buffered = 0                                 # books waiting in the queues
        self.max_buffered = 0                             # the most that waited at once
        self.failure: RecordingError | None = None

    def close(self) -> None:
        """Stop reading (closes the file)."""
        self._records.close()

    def queue(self, venue: str) -> deque:
        return self._queues.setdefault(venue, deque())

    def next(self, venue: str):
        if self.failure is not None:
            raise self.failure
        own = self._queues[venue]
        if own:
            if self.buffered > self.max_buffered:
                self.max_buffered = self.buffered
            self.buffered -= 1
            return own.popleft()
        left = self._left
        if not left.get(venue):
            return None
        queues, clock = self._queues, self.clock
        try:
            for at, book, label in self._records:
                left[label] = left.get(label, 0) - 1
                if label == venue:
                    return at, book
                other = queues.get(label)
                if other is None:                         # a venue the replay does not stream
                    continue
                other.append((at, book))
                self.buffered += 1
                if self.buffered >= READ_AHEAD and at / 1000 - clock.time() > 0:
                    self.max_buffered = max(self.max_buffered, self.buffered)
                    return at
        except RecordingError as exc:
            self.failure = exc
            raise
        self.failure = RecordingError(f"{self.path}: the file ended before its {venue} books did "
                                      "(changed while replayed?)")
        raise self.failure


class ReplayVenue:
    def __init__(self, name: str, recording: Recording, clock, source: BookSource) -> None:
        self.venue = name
        self.clock = clock                    # VirtualClock
        self.on_order_id = None
        self._markets = recording.markets.get(name, [])
        self._events = recording.events.get(name, [])
        self._bodies = recording.listing_bodies.get(name, [])
        self._first = recording.first_books.get(name, {})
        self._source = source
        source.queue(name)
        self.delivered = 0                    # book records streamed so far
        self.latest: dict[str, Book] = {}     # market id → last book delivered
        self.finished = asyncio.Event()       # every book of this venue delivered (or the file failed)

    async def discover_markets(self):
        return list(self._markets)

    async def discover_events(self):
        return list(self._events)

    def listing_bodies(self) -> list:
        return list(self._bodies)

    async def fetch_book(self, market_id: str) -> Book:
        """The latest book delivered, else the market's first recorded one (what a fetch at the
        start would have found), else an empty book held out as not recorded."""
        book = self.latest.get(market_id) or self._first.get(market_id)
        if book is not None:
            return book
        return Book(market=MarketId(Venue.parse(self.venue), market_id), tradeable=False, reason="not in the recording")

    async def stream_books(self, market_ids: list[str], *, on_update=None) -> AsyncIterator[BookUpdate]:
        """Every recorded book of `market_ids`, each at its receive time (virtual), `on_update`
        first as an adapter's feed does; then nothing more (the replay ends it). A bad record
        ends every stream and is kept in `BookSource.failure` (the replay raises it)."""
        wanted = set(market_ids)
        source, clock, name = self._source, self.clock, self.venue
        latest = self.latest
        while True:
            try:
                item = source.next(name)
            except RecordingError:
                break
            if item is None:
                break
            if item.__class__ is int:           # read-ahead full: let the others catch up
                await asyncio.sleep(item / 1000 - clock.time())
                continue
            at_ms, book = item
            if book.market.id not in wanted:
                continue
            delay = at_ms / 1000 - clock.time()
            if delay > 0:
                await asyncio.sleep(delay)
            latest[book.market.id] = book
            self.delivered += 1
            update = BookUpdate(book, at_ms)
            if on_update is not None:
                on_update(update)
            yield update
        self.finished.set()
        await asyncio.Event().wait()          # a live feed never ends by itself

    async def _no_orders(self, *_a, **_k):
        raise VenueError(f"replay {self.venue}: a recording takes no orders", venue=self.venue)

    place_order = cancel_order = balance = positions = order = orders = fills = _no_orders

    async def close(self) -> None:
        return None
