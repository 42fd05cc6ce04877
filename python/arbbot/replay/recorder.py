"""`arbbot run --record FILE`: what the session's venues send, written as `arbbot.recording/1`
(see `arbbot.replay.format`).

`RecordingVenue` wraps each venue adapter: discovery results and listing bodies are kept for the
header, every book a feed produces (before its queue coalesces books: the adapter's `on_update`
tap) and every `fetch_book` answer become `book` records; everything else passes through to the
adapter unchanged (orders included). The adapters' own recorder hooks add their raw WebSocket
frames and REST answers (`SessionRecorder.raw`). Records arriving before the header (discovery's
REST answers, the start's book fetches) wait in memory until `start` writes it.
"""
from __future__ import annotations

import gzip
import json
import time
from decimal import Decimal
from pathlib import Path

from arbbot.model import Book
from arbbot.replay.format import FORMAT, book_to_json, event_to_json, market_to_json
from arbbot.venues.common.model import BookUpdate

FLUSH_S = 1.0          # the file is flushed at least this often while records arrive (and at close)


def _exact(value):
    """JSON for what `json` cannot write: an exact decimal (IB strikes) as its decimal string."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot record a {type(value).__name__}")


def _line(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=_exact) + "\n"


class SessionRecorder:
    """One recording file. Refuses to overwrite an existing file."""

    def __init__(self, path: str | Path, source: str, *, clock=time.time) -> None:
        self.path = Path(path)
        try:                                  # FILE.gz: gzip-compressed as written (about 10× smaller)
            # level 1: ≈ 5× faster to write than gzip's default 9, for a file ≈ 20 % larger
            self._fh = (gzip.open(self.path, "xt", encoding="utf-8", compresslevel=1) if self.path.suffix == ".gz"
                        else self.path.open("x", encoding="utf-8"))
        except FileExistsError:
            raise ValueError(f"--record {self.path}: the file exists; give a new path") from None
        except OSError as exc:
            raise ValueError(f"--record {self.path}: cannot create: {exc.strerror or exc}") from None
        self.source = source
        self.clock = clock
        self.venues: dict[str, "RecordingVenue"] = {}
        self.books = 0                      # book records written
        self.frames = 0                     # raw ws/rest records written
        self._pending: list[str] | None = []     # lines before the header
        self._last_ms = 0
        self._flushed = clock()
        self.started_ms = int(clock() * 1000)     # the replay's virtual clock starts here

    def _now_ms(self) -> int:
        """Receive time, unix ms, never going back (a wall clock step is absorbed)."""
        self._last_ms = max(self._last_ms, int(self.clock() * 1000))
        return self._last_ms

    def _write(self, record: dict) -> None:
        line = _line(record)
        if self._pending is not None:
            self._pending.append(line)
            return
        self._fh.write(line)
        now = self.clock()
        if now - self._flushed >= FLUSH_S:
            self._fh.flush()
            self._flushed = now

    def raw(self, record: dict) -> None:
        """The adapters' recorder hook: a raw `ws` frame or `rest` answer."""
        self.frames += 1
        self._write({"recv_ts_ms": self._now_ms(), **record})

    def book(self, venue: str, book: Book) -> None:
        if book.market is None:
            return
        self.books += 1
        self._write({"recv_ts_ms": self._now_ms(), "kind": "book", "venue": venue, "market": book.market.id,
                     "book": book_to_json(book), "tradeable": book.tradeable, "reason": book.reason})

    def wrap(self, name: str, venue) -> "RecordingVenue":
        wrapped = self.venues[name] = RecordingVenue(venue, self, name)
        return wrapped

    def start(self, started_ms: int | None = None) -> None:
        """Write the header (after discovery), then what arrived before it."""
        header = {"format": FORMAT, "started_ms": self.started_ms if started_ms is None else started_ms,
                  "source": self.source,
                  "venues": {name: {"markets": [market_to_json(m) for m in v.markets],
                                    "events": [event_to_json(e) for e in v.events],
                                    "listing_bodies": v.listing_bodies()} for name, v in self.venues.items()}}
        pending, self._pending = self._pending or [], None
        self._fh.write(_line(header))
        self._fh.writelines(pending)
        self._fh.flush()

    def close(self) -> None:
        if self._fh.closed:
            return
        if self._pending is not None:       # stopped before discovery ended: the header still goes first
            self.start()
        self._fh.flush()
        self._fh.close()

    def summary(self) -> dict:
        return {"path": str(self.path), "books": self.books, "frames": self.frames}


class RecordingVenue:
    """A venue adapter whose discovery and books are recorded; everything else is the adapter's."""

    def __init__(self, inner, recorder: SessionRecorder, name: str) -> None:
        self.__dict__["inner"] = inner
        self.__dict__["recorder"] = recorder
        self.__dict__["name"] = name
        self.__dict__["markets"] = []
        self.__dict__["events"] = []
        # the adapter's raw frames and REST answers too, through its own recorder hooks
        for holder in (inner, getattr(inner, "http", None)):
            if holder is not None and hasattr(holder, "recorder"):
                holder.recorder = recorder.raw

    def __getattr__(self, attr):            # orders, balances, feed, … : the adapter's own
        return getattr(self.inner, attr)

    def __setattr__(self, attr, value):     # e.g. `on_order_id` set by the order store
        setattr(self.inner, attr, value)

    async def discover_markets(self):
        found = await self.inner.discover_markets()
        self.__dict__["markets"] = list(found)
        return found

    async def discover_events(self):
        found = await self.inner.discover_events()
        self.__dict__["events"] = list(found)
        return found

    def listing_bodies(self) -> list:
        bodies = getattr(self.inner, "listing_bodies", None)
        return bodies() if bodies is not None else []

    async def fetch_book(self, market_id: str) -> Book:
        book = await self.inner.fetch_book(market_id)
        self.recorder.book(self.name, book)
        return book

    async def stream_books(self, market_ids: list[str], *, on_update=None):
        def tap(update: BookUpdate) -> None:
            self.recorder.book(self.name, update.book)
            if on_update is not None:
                on_update(update)
        async for update in self.inner.stream_books(market_ids, on_update=tap):
            yield update
