"""`ReplayVenue`: one venue of a recording as a `VenueClient` for market data — its discovery and
listing bodies from the header, its books from the `book` records, delivered in virtual time at
their receive times (`arbbot.replay.vloop`). It trades nothing: a replay puts a `PaperVenue`
(the local fill engine) in front of it. It does hold the live adapter's order rules where the live
adapter has them (Polymarket: `refusal`, `budget`, `buys_by_amount`; `PolymarketRules`), on the
recorded markets, which the `PaperVenue` takes up: a replay refuses, and spends, what a live run
would.

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

from arbbot.model import Book, MarketId, MarketInfo, Venue
from arbbot.replay.format import Recording, RecordingError, RecordReader
from arbbot.replay.scan import new_scanner
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import OrderRequest, PackedBookUpdate

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


class PolymarketRules:
    """The live Polymarket adapter's order rules (`PolymarketVenue.refusal` and `.budget`, its
    execution client's `check` and `signed_amounts` under them: the market's tick grid and
    minimum size, a marketable order's $1 minimum and its amounts in the CLOB's precision, the
    dollar amount a marketable BUY spends) over `markets` (market id → MarketInfo, as recorded:
    tick, fees, `min_order_size_lots` in `extra`). The live code itself runs, on an object laid
    out as those methods read it (`provider.markets`, `exec`); none of it does I/O or signs: the
    execution client is built without a transport, config or signer."""

    buys_by_amount = True

    def __init__(self, markets: dict[str, MarketInfo] | None = None) -> None:
        from arbbot.venues.polymarket.execution import PolymarketExecutionClient
        from arbbot.venues.polymarket.venue import PolymarketVenue
        self.markets: dict[str, MarketInfo] = dict(markets or {})
        self.provider = self                  # `PolymarketVenue` reads `provider.markets`; `check` too
        self.exec = PolymarketExecutionClient(None, None, self)
        self._refusal, self._budget = PolymarketVenue.refusal, PolymarketVenue.budget

    def refusal(self, req: OrderRequest) -> str | None:
        """`PolymarketVenue.refusal`: why the live adapter would refuse `req`, or None (a market
        not recorded is not refused here, as a market not discovered is not live)."""
        return self._refusal(self, req)

    def budget(self, req: OrderRequest) -> int:
        """`PolymarketVenue.budget`: µ$ a marketable BUY of `req` spends (its signed maker
        amount), 0 for any other order or one whose amounts `signed_amounts` refuses (an order
        `refusal` refuses is not sent: ask it first, as `PaperVenue` does)."""
        return self._budget(self, req)


# venue label → the live adapter's order rules a replay of its markets applies (the adapters
# without a `refusal`/`budget` — Kalshi, ForecastEx — have none: their paper rules are the lot
# and grid checks `PaperVenue` makes itself)
LIVE_RULES = {Venue.POLYMARKET.label: PolymarketRules}


class ReplayVenue:
    def __init__(self, name: str, recording: Recording, clock, source: BookSource) -> None:
        self.venue = name
        self.clock = clock                    # VirtualClock
        self.on_order_id = None
        self._markets = recording.markets.get(name, [])
        # the live adapter's order rules on the recorded markets, where it has them: exposed as
        # the adapter exposes them (instance attributes, so that a venue without them has none:
        # `PaperVenue` and the executor take them up where they exist)
        rules = LIVE_RULES.get(name)
        self.order_rules = rules() if rules is not None else None
        if self.order_rules is not None:
            self.refusal, self.budget = self.order_rules.refusal, self.order_rules.budget
            self.buys_by_amount = self.order_rules.buys_by_amount
            self._rules_follow()
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
        self._rules_follow()

    def repriced(self, markets) -> None:
        """Markets a `repriced` record names (this venue's): discovery lists them with their new
        fee schedules from now on."""
        own = {m.market_id: m for m in markets if m.venue.label == self.venue}
        self._markets = [own.get(m.market_id, m) for m in self._markets]
        self._rules_follow()

    def _rules_follow(self) -> None:
        """The order rules read the markets as discovery lists them now."""
        if self.order_rules is not None:
            self.order_rules.markets = {m.market_id: m for m in self._markets}

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
