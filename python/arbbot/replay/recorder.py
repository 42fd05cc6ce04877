"""`arbbot run --record FILE`: what the session's venues send, written as `arbbot.recording/1`
(see `arbbot.replay.format`).

`RecordingVenue` wraps each venue adapter: discovery results and listing bodies are kept for the
header, every book a feed produces (before its queue coalesces books: the adapter's `on_update`
tap) and every `fetch_book` answer become `book` records; everything else passes through to the
adapter unchanged (orders included). The adapters' own recorder hooks add their raw WebSocket
frames and REST answers (`SessionRecorder.raw`). Records arriving before the header (discovery's
REST answers, the start's book fetches) wait in memory until `start` writes it.

Off the event loop's path: a record costs the loop one msgspec encode (about a microsecond; no
`json.dumps`, no dict per book) appended to an in-memory chunk; full chunks (`CHUNK_BYTES`) go to
a writer thread, which writes them and compresses (`.gz`; zlib releases the GIL while it works).
Every `FLUSH_S` the writer also takes the chunk in the making, whether or not records still arrive
(a quiet feed), writes it and flushes the file; `close` hands over the last chunk, waits for the
writer and closes the file: nothing queued is lost. A crash loses at most the last `FLUSH_S` of
records; the line cut short by it (or a .gz stream cut short) is left out when the file is read
(`arbbot.replay.format`). `books` and `frames` count the records written; a write that fails sets
`error` (the records after it are dropped, and `arbbot run` exits 1).

The file is created owner-only (0600, whatever the umask): it holds the account's REST answers
(balances, fills, orders). No whole credential is written: `private` masks every `owner` (an API
key, in Polymarket's trades and orders) as `arbbot config show` masks key ids, and scrubs REST
answers of every registered secret."""
from __future__ import annotations

import gzip
import json
import os
import queue
import re
import threading
import time
from decimal import Decimal
from pathlib import Path

import msgspec

from arbbot import logs
from arbbot.config import mask_key_id
from arbbot.model import Book
from arbbot.replay.format import FORMAT, BookRecord, event_to_json, mapping_rows_to_json, market_to_json
from arbbot.venues.common.model import BookUpdate

log = logs.get("replay")

FLUSH_S = 1.0          # the records waiting in memory are written and the file flushed this often (and at close)
CHUNK_BYTES = 256 * 1024   # encoded records handed to the writer thread at once
_FLUSH = object()      # in the writer's queue: flush the file (what came before it is written)
_BOOKS, _FRAMES = 0, 1     # the records counted (`SessionRecorder._put`)


def _exact(value):
    """JSON for what `json` cannot write: an exact decimal (IB strikes) as its decimal string."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot record a {type(value).__name__}")


# `"owner": "…"` in a venue's JSON: Polymarket's trades and orders name the API key that owns the
# order (the whole key, ours and the other makers'); \s*: bodies as the venue spaced them
_OWNER = re.compile(r'("owner"\s*:\s*")((?:[^"\\]|\\.)*)(")')


def _mask_owner(match: re.Match) -> str:
    return f"{match[1]}{mask_key_id(match[2])}{match[3]}"


def private(record: dict) -> dict:
    """A raw `ws` / `rest` record as recorded: every `owner` value masked as the project shows an
    API key id (`mask_key_id`: its first 4 characters, then `********`; one of 8 characters or
    fewer, e.g. the simulator's "house", shows nothing of itself), and a REST answer's body
    scrubbed of every registered secret (`logs.scrub`: key ids, API secrets, private keys, the
    dashboard token, wherever they appear). A replay never reads them (it reads the book records;
    the raw ones are the record of what was seen, `format.raw_records`). WebSocket frames (public
    market channels, thousands a second) get the `owner` check alone, a substring test that costs
    the loop well under a microsecond."""
    if record.get("kind") == "rest":
        body = record.get("body")
        if isinstance(body, str):
            if '"owner"' in body:
                body = _OWNER.sub(_mask_owner, body)
            return {**record, "body": logs.scrub(body)}
    elif record.get("kind") == "ws":
        frame = record.get("frame")
        if isinstance(frame, str) and '"owner"' in frame:
            return {**record, "frame": _OWNER.sub(_mask_owner, frame)}
    return record


def _line(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=_exact) + "\n"


class SessionRecorder:
    """One recording file. Refuses to overwrite an existing file."""

    def __init__(self, path: str | Path, source: str, *, clock=time.time) -> None:
        self.path = Path(path)
        try:                                  # owner-only (0600): it holds the account's REST answers
            self._file = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        except FileExistsError:
            raise ValueError(f"--record {self.path}: the file exists; give a new path") from None
        except OSError as exc:
            raise ValueError(f"--record {self.path}: cannot create: {exc.strerror or exc}") from None
        # FILE.gz: gzip-compressed as written (about 10× smaller); level 1: ≈ 5× faster to write
        # than gzip's default 9, for a file ≈ 20 % larger. The GzipFile leaves `_file` open: both closed.
        try:
            self._fh = (gzip.GzipFile(filename=str(self.path), mode="wb", compresslevel=1, fileobj=self._file)
                        if self.path.suffix == ".gz" else self._file)
        except OSError as exc:
            self._file.close()
            raise ValueError(f"--record {self.path}: cannot write: {exc.strerror or exc}") from None
        self.source = source
        self.clock = clock
        self.venues: dict[str, "RecordingVenue"] = {}
        self.books = 0                      # book records written
        self.frames = 0                     # raw ws/rest records written
        self.error: str | None = None       # the writer's failure (records are then dropped)
        self._encode_into = msgspec.json.Encoder(enc_hook=_exact).encode_into
        self._lock = threading.Lock()       # the chunk in the making: the event loop adds, the writer takes
        self._buf = bytearray()             # the records encoded since the last hand-over
        self._counts = [0, 0]               # the book and raw records in it (_BOOKS, _FRAMES)
        self._early: list[tuple] | None = []    # chunks before the header
        # → the writer thread: (chunk, books, frames) in file order, _FLUSH, None to end it
        self._chunks: queue.SimpleQueue = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._last_ms = 0
        self._closed = False
        self.started_ms = int(clock() * 1000)     # the replay's virtual clock starts here

    def _stamp(self, now: float) -> int:
        """Receive time `now` as unix ms, never going back (a wall clock step is absorbed)."""
        ms = int(now * 1000)
        if ms < self._last_ms:
            return self._last_ms
        self._last_ms = ms
        return ms

    def _put(self, record, counted: int | None = None) -> None:
        """`record` appended to the chunk in the making; `counted`: _BOOKS or _FRAMES, if it is one."""
        with self._lock:
            buf = self._buf
            self._encode_into(record, buf, -1)
            buf.append(10)                                  # "\n"
            if counted is not None:
                self._counts[counted] += 1
            full = len(buf) >= CHUNK_BYTES
        if full:
            self._hand_over()

    def _hand_over(self) -> None:
        """The chunk in the making to the writer (before the header: kept for it), in file order."""
        with self._lock:
            if not self._buf:
                return
            chunk = (self._buf, *self._counts)
            self._buf, self._counts = bytearray(), [0, 0]
            if self._early is not None:
                self._early.append(chunk)
            else:
                self._chunks.put(chunk)

    def raw(self, record: dict) -> None:
        """The adapters' recorder hook: a raw `ws` frame or `rest` answer, credentials masked
        (`private`)."""
        if self._closed or self.error is not None:
            return
        self._put({"recv_ts_ms": self._stamp(self.clock()), **private(record)}, _FRAMES)

    def book(self, venue: str, book: Book) -> None:
        if book.market is None or self._closed or self.error is not None:
            return
        self._put(BookRecord(self._stamp(self.clock()), "book", venue, book.market.id, book.sides(), book.tradeable,
                             book.reason), _BOOKS)

    def mappings(self, digest: str, rows) -> None:
        """The twins the session generated from the listings with `digest` (`MappingRow`s), now:
        a replay applies them at this moment instead of matching again."""
        if self._closed or self.error is not None:
            return
        from arbbot.mapping.generate import rows_to_json
        self._put({"recv_ts_ms": self._stamp(self.clock()), "kind": "mappings", "mappings": rows_to_json(digest, rows)})

    def listed(self, markets) -> None:
        """Markets (`MarketInfo`) that joined the session now (a listing refresh found them):
        a replay adds them at this moment."""
        if self._closed or self.error is not None:
            return
        self._put({"recv_ts_ms": self._stamp(self.clock()), "kind": "listed",
                   "markets": [market_to_json(m) for m in markets]})

    def repriced(self, markets) -> None:
        """Known markets (`MarketInfo`) the session re-priced now (a listing refresh found their
        fee schedules changed): a replay re-prices them at this moment."""
        if self._closed or self.error is not None:
            return
        self._put({"recv_ts_ms": self._stamp(self.clock()), "kind": "repriced",
                   "markets": [market_to_json(m) for m in markets]})

    def listings(self, digest: str, twins) -> None:
        """A listing refresh's result, now: every venue's listing bodies as re-read (their
        listings' digest `digest`) and the twins generated from them (`MappingRow`s; None: no
        generation). A replay applies them at this moment, as the session did."""
        if self._closed or self.error is not None:
            return
        from arbbot.mapping.generate import rows_to_json
        self._put({"recv_ts_ms": self._stamp(self.clock()), "kind": "listings", "digest": digest,
                   "venues": {name: {"listing_bodies": v.listing_bodies()} for name, v in self.venues.items()},
                   "mappings": None if twins is None else rows_to_json(digest, twins)})

    def wrap(self, name: str, venue) -> "RecordingVenue":
        wrapped = self.venues[name] = RecordingVenue(venue, self, name)
        return wrapped

    def start(self, started_ms: int | None = None, *, mappings=(), rules: list[dict] | None = None) -> None:
        """Write the header (after discovery), then what arrived before it; start the writer.
        `mappings`: the rows of the user's mapping file the session trades (`MappingRow`);
        `rules`: the relations of its rules file."""
        if self._early is None:
            return
        header = {"format": FORMAT, "started_ms": self.started_ms if started_ms is None else started_ms,
                  "source": self.source, "mappings": "recorded",
                  "user_mappings": mapping_rows_to_json(mappings), "rules": list(rules or ()),
                  "venues": {name: {"markets": [market_to_json(m) for m in v.markets],
                                    "events": [event_to_json(e) for e in v.events],
                                    "listing_bodies": v.listing_bodies()} for name, v in self.venues.items()}}
        with self._lock:
            early, self._early = self._early, None
            self._chunks.put((_line(header).encode("utf-8"), 0, 0))      # first in the file, written by the writer
            for chunk in early:
                self._chunks.put(chunk)
            self._chunks.put(_FLUSH)                  # the header on disk at once
        self._writer = threading.Thread(target=self._write_chunks, name="arbbot-recorder", daemon=True)
        self._writer.start()

    def _write_chunks(self) -> None:
        """The writer thread: each chunk written (and compressed) in order and its records
        counted; every FLUSH_S the chunk in the making handed over too, then the file flushed
        (`_FLUSH`); ends at the None after the last chunk."""
        due, dirty = time.monotonic() + FLUSH_S, False
        while True:
            try:
                item = self._chunks.get(timeout=max(0.0, due - time.monotonic()))
            except queue.Empty:
                item = ()                             # nothing arrived
            if item is None:
                return
            if time.monotonic() >= due:               # even on a quiet feed: what waits in memory, to disk
                due = time.monotonic() + FLUSH_S
                self._hand_over()
                self._chunks.put(_FLUSH)
            if self.error is not None:
                continue                              # drained, not written
            if item is _FLUSH:
                if dirty:
                    self._write(self._fh.flush)
                    dirty = False
            elif item:
                chunk, books, frames = item
                if self._write(self._fh.write, chunk):
                    self.books += books
                    self.frames += frames
                    dirty = True

    def _write(self, call, *args) -> bool:
        """`call(*args)` on the file; False (and `error` set) if it failed."""
        try:
            call(*args)
            return True
        except (OSError, ValueError) as exc:
            self._failed(exc)
            return False

    def _failed(self, exc: Exception) -> None:
        if self.error is None:                # the first failure (closing the file may fail again)
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("record.write_failed", path=str(self.path), error=self.error)

    def close(self) -> None:
        """Write what is left (the header first if `start` never ran), wait for the writer, close."""
        if self._closed:
            return
        if self._early is not None:         # stopped before discovery ended: the header still goes first
            self.start()
        self._closed = True
        self._hand_over()
        self._chunks.put(None)
        if self._writer is not None:
            self._writer.join()
        self._write(self._fh.close)           # flushes (and ends the gzip stream)
        if self._fh is not self._file:
            self._write(self._file.close)

    def summary(self) -> dict:
        out = {"path": str(self.path), "books": self.books, "frames": self.frames}
        if self.error is not None:
            out["error"] = self.error
        return out


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
        value = getattr(self.inner, attr)
        if attr == "snapshot_book":         # where the adapter has one (IB): recorded as fetch_book is
            async def snapshot_book(market_id: str) -> Book:
                book = await value(market_id)
                self.recorder.book(self.name, book)
                return book
            return snapshot_book
        return value

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
