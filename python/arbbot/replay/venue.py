"""`ReplayVenue`: one venue of a recording as a `VenueClient` for market data — its discovery and
listing bodies from the header, its books from the `book` records, delivered in virtual time at
their receive times (`arbbot.replay.vloop`). It trades nothing: a replay puts a `PaperVenue`
(the local fill engine) in front of it.

The records stay in the file: one `BookSource` per replay reads (and checks) them lazily, in file
order, for all the venues. A venue's stream pulls its next book from the source when it has delivered the
previous one; the books of the other venues read on the way wait in their venue's queue (a few
moments of data: the venues advance together on the virtual clock). Read-ahead is capped
(`READ_AHEAD`): past it, a stream waits until the virtual clock reaches what was read before it
reads on, so a venue silent for minutes does not pull minutes of the others' books into memory."""
from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path
from typing import AsyncIterator

from arbbot.model import Book, MarketId, Venue
from arbbot.replay.format import Recording, RecordingError, RecordReader, reader_books
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import BookUpdate

READ_AHEAD = 50_000       # books of other venues read ahead (in the virtual future) before a stream waits
PROGRESS_EVERY = 50_000   # book records between two progress reports


class BookSource:
    """The book records of one recording, read once, in file order, shared by the replay's
    venues: `next(venue)` is that venue's next book, `(at_ms, book)`; `None` when the file has
    ended and it has no more; an `int` (unix ms) when the read-ahead is full: wait until then and
    ask again. Every record is checked as it is read (no pass before the replay): a bad one raises
    RecordingError, kept in `failure`. `mappings`, `listed` and `listings` records go to the
    `reader`'s hooks.
    What was read is counted (`books`, `venue_books`, `frames`, `last_ms`)."""

    def __init__(self, recording: Recording, clock) -> None:
        self.clock = clock
        self.path = recording.path
        self.reader = RecordReader(Path(recording.path), header=False)   # its hooks: mappings, listed, listings
        self._records = reader_books(self.reader)
        self._queues: dict[str, deque] = {}
        self._held: dict[str, tuple] = {}                 # venue → the item `push_back` returned
        self.buffered = 0                                 # books waiting in the queues
        self.max_buffered = 0                             # the most that waited at once
        self.failure: RecordingError | None = None
        self.ended = False                                # the whole file was read
        self.books = 0                                    # book records read
        self.venue_books: dict[str, int] = {}             # venue label → book records read
        self.last_ms: int | None = None                   # recv_ts_ms of the last book record read
        self.on_progress = None                           # called with (bytes read, books) every PROGRESS_EVERY books

    @property
    def frames(self) -> int:
        """Raw ws/rest records passed over (final once `ended`)."""
        return self.reader.frames

    def close(self) -> None:
        """Stop reading (closes the file)."""
        self._records.close()

    def queue(self, venue: str) -> deque:
        return self._queues.setdefault(venue, deque())

    def push_back(self, venue: str, item) -> None:
        """Return `venue`'s item `next` just gave (a book or a wait): `next` gives it first again."""
        self._held[venue] = item

    def next(self, venue: str):
        if self.failure is not None:
            raise self.failure
        held = self._held.pop(venue, None)
        if held is not None:
            return held
        own = self._queues[venue]
        if own:
            if self.buffered > self.max_buffered:
                self.max_buffered = self.buffered
            self.buffered -= 1
            return own.popleft()
        if self.ended:
            return None
        queues, clock, counts = self._queues, self.clock, self.venue_books
        try:
            for at, book, label in self._records:
                self.books += 1
                self.last_ms = at
                if not self.books % PROGRESS_EVERY and self.on_progress is not None:
                    self.on_progress(self.reader.position(), self.books)
                counts[label] = counts.get(label, 0) + 1
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
        self.ended = True
        return None


class ReplayVenue:
    def __init__(self, name: str, recording: Recording, clock, source: BookSource) -> None:
        self.venue = name
        self.clock = clock                    # VirtualClock
        self.on_order_id = None
        self._markets = recording.markets.get(name, [])
        self._events = recording.events.get(name, [])
        self._bodies = recording.listing_bodies.get(name, [])
        self._source = source
        source.queue(name)
        self.delivered = 0                    # books streamed so far (after coalescing)
        self.coalesced = 0                    # book records superseded within their millisecond
        self.latest: dict[str, Book] = {}     # market id → last book delivered
        self._wanted: set[str] = set()        # market ids streamed (`stream_books`, `add_markets`)
        self.finished = asyncio.Event()       # every book of this venue delivered (or the file failed)

    async def discover_markets(self):
        return list(self._markets)

    async def discover_events(self):
        return list(self._events)

    def listing_bodies(self) -> list:
        return list(self._bodies)

    def listed(self, markets) -> None:
        """Markets a `listed` record names (this venue's), as the record is read: discovery lists
        them, and their books (later in the file) are streamed."""
        own = [m for m in markets if m.venue.label == self.venue]
        self._markets = self._markets + own
        self._wanted.update(m.market_id for m in own)

    def relisted(self, bodies: list) -> None:
        """A `listings` record's bodies for this venue: the listing as re-read."""
        self._bodies = list(bodies)

    async def add_markets(self, market_ids: list[str]) -> list[str]:
        """Stream these markets' books too (from the records at or after now); the ids that were new."""
        new = [m for m in dict.fromkeys(market_ids) if m not in self._wanted]
        self._wanted.update(new)
        return new

    async def fetch_book(self, market_id: str) -> Book:
        """The latest book delivered, else an empty book held out as not recorded yet (a replay
        never looks ahead in the file)."""
        book = self.latest.get(market_id)
        if book is not None:
            return book
        return Book(market=MarketId(Venue.parse(self.venue), market_id), tradeable=False,
                    reason="not in the recording yet")

    async def stream_books(self, market_ids: list[str], *, on_update=None) -> AsyncIterator[BookUpdate]:
        """Every recorded book of `market_ids` at its receive time (virtual), `on_update` first
        for each as an adapter's feed does; then nothing more (the replay ends it). The books one
        millisecond brought are coalesced as a live feed's queue coalesces a burst read at once:
        `on_update` sees every one, the stream gives each market's latest once (in the order the
        markets first appeared). A bad record ends every stream and is kept in
        `BookSource.failure` (the replay raises it)."""
        wanted = self._wanted
        wanted.update(market_ids)
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
            burst = {}                          # market id → its latest book of this millisecond
            while True:
                mid = book.market.id
                if mid in wanted:
                    latest[mid] = book
                    update = BookUpdate(book, at_ms)
                    if on_update is not None:
                        on_update(update)
                    if mid in burst:
                        self.coalesced += 1
                    burst[mid] = update
                try:
                    item = source.next(name)
                except RecordingError:
                    break
                if item is None or item.__class__ is int or item[0] != at_ms:
                    if item is not None:            # the next burst's first book, or a wait
                        source.push_back(name, item)
                    break
                book = item[1]
            for update in burst.values():
                self.delivered += 1
                yield update
            if source.failure is not None:
                break
        self.finished.set()
        await asyncio.Event().wait()          # a live feed never ends by itself

    async def _no_orders(self, *_a, **_k):
        raise VenueError(f"replay {self.venue}: a recording takes no orders", venue=self.venue)

    place_order = cancel_order = balance = positions = order = orders = fills = _no_orders

    async def close(self) -> None:
        return None
