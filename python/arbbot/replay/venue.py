"""`ReplayVenue`: one venue of a recording as a `VenueClient` for market data — its discovery and
listing bodies from the header, its books from the `book` records, delivered in virtual time at
their receive times (`arbbot.replay.vloop`). It trades nothing: a replay puts a `PaperVenue`
(the local fill engine) in front of it."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

from arbbot.model import Book, MarketId, Venue
from arbbot.replay.format import Recording
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import BookUpdate


class ReplayVenue:
    def __init__(self, name: str, recording: Recording, clock) -> None:
        self.venue = name
        self.clock = clock                    # VirtualClock
        self.on_order_id = None
        self._markets = recording.markets.get(name, [])
        self._events = recording.events.get(name, [])
        self._bodies = recording.listing_bodies.get(name, [])
        self._books = [(at, book) for at, book in recording.books if book.market.venue.label == name]
        self.delivered = 0                    # book records streamed so far
        self.latest: dict[str, Book] = {}     # market id → last book delivered
        self._first: dict[str, Book] = {}
        for _, book in self._books:
            self._first.setdefault(book.market.id, book)
        self.finished = asyncio.Event()       # every book of this venue delivered

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
        first as an adapter's feed does; then nothing more (the replay ends it)."""
        wanted = set(market_ids)
        for at_ms, book in self._books:
            if book.market.id not in wanted:
                continue
            delay = at_ms / 1000 - self.clock.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.latest[book.market.id] = book
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
