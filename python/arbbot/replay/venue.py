"""`ReplayVenue`: one venue of a recording as a `VenueClient` for market data — its discovery and
listing bodies from the header, its books from the `book` records, delivered in virtual time at
their receive times (`arbbot.replay.vloop`). It trades nothing: a replay puts a `PaperVenue`
(the local fill engine) in front of it.

The records stay in the file: one `BookSource` per replay reads (and checks) them lazily, in file
order, for all the venues, through the record scanner (`arbbot.replay.scan`: per venue and
millisecond, each market's last book and the samples of every record). A venue's stream pulls its
next burst from the source when it has delivered the previous one; the bursts of the other venues
read on the way wait in their venue's queue (a few moments of data: the venues advance together on
the virtual clock). Read-ahead is capped (`READ_AHEAD`, to within one chunk of the file): past it,
a stream waits until the virtual clock reaches what was read before it reads on, so a venue
silent for minutes does not pull minutes of the others' books into memory."""
from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path
from typing import AsyncIterator

from arbbot.model import Book, MarketId, Venue
from arbbot.replay.format import Recording, RecordingError, RecordReader
from arbbot.replay.scan import new_scanner
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import PackedBookUpdate

READ_AHEAD = 50_000       # coalesced books of other venues read ahead (in the virtual future) before a stream waits
PROGRESS_EVERY = 50_000   # book records between two progress reports


class BookSource:
    """The book records of one recording, read once, in file order, shared by the replay's
    venues, as the scanner's bursts (`arbbot.replay.scan`: each venue's books of one millisecond
    coalesced per market, with the sizing samples their records produced): `next(venue)` is
    that venue's next burst, `(at_ms, deliveries, samples)`; `None` when the file has ended and it
    has no more; an `int` (unix ms) when the read-ahead is full: wait until then and ask again.
    Every record is checked as it is read (no pass before the replay): a bad one raises
    RecordingError, kept in `failure`. `mappings`, `listed` and `listings` records go to the
    `reader`'s hooks. A burst's market index names its market in `mids` (and `names`, "venue:id").
    What was read is counted (`books`, `venue_books`, `frames`, `last_ms`)."""

    def __init__(self, recording: Recording, clock, *, engine: str | None = None) -> None:
        self.clock = clock
        self.path = recording.path
        self.reader = RecordReader(Path(recording.path), header=False)   # its hooks: mappings, listed, listings
        self.scanner = new_scanner(engine)
        self._bursts = self.reader.bursts(self.scanner)
        self.mids: list[MarketId] = []                    # market index → MarketId
        self.names: list[str] = []                        # market index → "venue:id"
        self.on_samples = None                            # called with (samples, source, wanted ids) before a burst's books
        self._queues: dict[str, deque] = {}
        self.buffered = 0                                 # deliveries waiting in the queues
        self.max_buffered = 0                             # the most that waited at once
        self.failure: RecordingError | None = None
        self.ended = False                                # the whole file was read
        self.books = 0                                    # book records read
        self.venue_books: dict[str, int] = {}             # venue label → book records read
        self.last_ms: int | None = None                   # recv_ts_ms of the last book record read
        self.on_progress = None                           # called with (bytes read, books) every PROGRESS_EVERY books
        self._progress_at = PROGRESS_EVERY

    @property
    def frames(self) -> int:
        """Raw ws/rest records passed over (final once `ended`)."""
        return self.reader.frames

    def close(self) -> None:
        """Stop reading (closes the file)."""
        self._bursts.close()

    def queue(self, venue: str) -> deque:
        return self._queues.setdefault(venue, deque())

    def next(self, venue: str):
        if self.failure is not None:
            raise self.failure
        own = self._queues[venue]
        while not own:
            if self.ended:
                return None
            if self.buffered >= READ_AHEAD and self.last_ms / 1000 - self.clock.time() > 0:
                return self.last_ms
            self._read()
        item = own.popleft()
        self.buffered -= len(item[1])
        return item

    def _read(self) -> None:
        """One chunk's bursts into the venues' queues."""
        try:
            bursts = next(self._bursts, None)
        except RecordingError as exc:
            self.failure = exc
            raise
        if bursts is None:
            self.ended = True
            return
        names, mids = self.scanner.names, self.mids
        for venue, market in names[len(mids):]:
            mid = MarketId(Venue.parse(venue), market)
            mids.append(mid)
            self.names.append(str(mid))
        queues, counts = self._queues, self.venue_books
        for venue, at, deliveries, samples in bursts:
            n = 0
            for d in deliveries:
                n += d[1]
            counts[venue] = counts.get(venue, 0) + n
            self.books += n
            q = queues.get(venue)
            if q is not None:                             # else a venue the replay does not stream
                q.append((at, deliveries, samples))
                self.buffered += len(deliveries)
        self.last_ms = bursts[-1][1]
        self.max_buffered = max(self.max_buffered, self.buffered)
        if self.books >= self._progress_at:
            self._progress_at = (self.books // PROGRESS_EVERY + 1) * PROGRESS_EVERY
            if self.on_progress is not None:
                self.on_progress(self.reader.position(), self.books)


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
        self.latest: dict[str, PackedBookUpdate] = {}   # market id → last book delivered
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

    def repriced(self, markets) -> None:
        """Markets a `repriced` record names (this venue's): discovery lists them with their new
        fee schedules from now on."""
        own = {m.market_id: m for m in markets if m.venue.label == self.venue}
        self._markets = [own.get(m.market_id, m) for m in self._markets]

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
        update = self.latest.get(market_id)
        if update is not None:
            return update.book
        return Book(market=MarketId(Venue.parse(self.venue), market_id), tradeable=False,
                    reason="not in the recording yet")

    async def stream_books(self, market_ids: list[str], *, on_update=None) -> AsyncIterator[PackedBookUpdate]:
        """Every recorded book of `market_ids` at its receive time (virtual), the books one
        millisecond brought coalesced as a live feed's queue coalesces a burst read at once: each
        market's latest once (in the order the markets first appeared), `on_update` first for
        each as an adapter's feed does; as `PackedBookUpdate`s (the scanner's packed books: a
        `Book` is built only where one is read). The sizing samples of every record (taken by the
        scanner before coalescing) go to `BookSource.on_samples` first. Then nothing more (the
        replay ends it). A bad record ends every stream and is kept in `BookSource.failure` (the
        replay raises it)."""
        wanted = self._wanted
        wanted.update(market_ids)
        source, clock, name = self._source, self.clock, self.venue
        latest, mids, names = self.latest, source.mids, source.names
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
            at_ms, deliveries, samples = item
            for d in deliveries:
                if mids[d[0]].id in wanted:
                    break
            else:
                continue                        # nothing this replay streams
            delay = at_ms / 1000 - clock.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if samples and source.on_samples is not None:
                source.on_samples(samples, source, wanted)
            updates = []
            for index, records, packed, tradeable, reason in deliveries:
                mid = mids[index]
                if mid.id not in wanted:
                    continue
                update = PackedBookUpdate(mid, names[index], packed, tradeable, reason, at_ms)
                latest[mid.id] = update
                if on_update is not None:
                    on_update(update)
                self.coalesced += records - 1
                updates.append(update)
            for update in updates:
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
