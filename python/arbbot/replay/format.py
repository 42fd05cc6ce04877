"""The recording file, `arbbot.recording/1`: JSON lines.

Line 1, the header:
    {"format": "arbbot.recording/1", "started_ms": UNIX_MS, "source": "simulator" | "connect" |
     "live" | "paper", "mappings": "recorded", "venues": {NAME: {"markets": [MARKET, ...],
     "events": [EVENT, ...], "listing_bodies": [BODY, ...]}}}
with MARKET / EVENT the discovered `MarketInfo` / `EventInfo` fields (venue as its label, fees
as an object) and BODY the listing responses the venue sent (what `arbbot rules`/`map` read).
`"mappings": "recorded"` (written since the recorder records them; absent in older files): the
session's generated twins are in the file as `mappings` records, at the moment it had them.
`"user_mappings": [ROW, ...]`, `"rules": [RELATION, ...]` (absent in older files: none): the rows of
the user's `--mappings` file the session traded (ROW: `{"ids", "relation", "confidence",
"approved", "reasons"}`) and the relations of its `--rules` file; a replay trades them too.

Then one record per line, in receive order, each with `recv_ts_ms` (unix ms when it arrived):
- `{"kind": "book", "venue", "market", "book": [YES_BIDS, YES_ASKS, NO_BIDS, NO_ASKS],
   "tradeable", "reason"}`: every book update a feed produced, before its queue coalesced
   books; sides as [[price ticks, qty lots], ...], integers: a price 0 to 10,000 ticks, a quantity
   0 to 10^8 lots (the engine's bounds). Replay reads these.
- `{"kind": "ws", "venue", "frame"}` / `{"kind": "rest", "venue", "method", "path", "status",
   "body"}`: the venue's frames and REST answers as they arrived (never request headers, so no
   credentials), written by the adapters' recorder hooks: the raw record of what was seen.
- `{"kind": "mappings", "mappings": {"format", "digest", "rows": [...]}}`: the cross-venue twins
  the session generated (`arbbot.mapping.generate.rows_to_json`) from the listings whose
  `listings_digest` is `digest`. A replay applies them at that moment instead of matching again
  (the matcher's minute at 20k markets, and the twins arrive when they did live).
- `{"kind": "listed", "markets": [MARKET, ...]}`: markets a listing refresh found listed since
  the start, when they joined the session (a replay adds them then, and streams their books).
- `{"kind": "repriced", "markets": [MARKET, ...]}`: known markets a listing refresh found with a
  changed fee schedule, when the session re-priced them (a replay re-prices them then).
- `{"kind": "listings", "digest", "venues": {NAME: {"listing_bodies": [BODY, ...]}}, "mappings":
  {"format", "digest", "rows"} | null}`: a refresh that found the listings changed, when the
  session applied it: every venue's listing bodies as re-read, and the twins generated from them
  (null: the session generated none). A replay derives the rules from these bodies and applies
  both at that moment.

Reading streams: `read_recording` makes one pass over the file that checks every line and keeps
only the header and counts (memory does not grow with the recording's length);
`Recording.stream()` reads the book records again, lazily, in file order.
A replay needs no such pass: `read_header` checks the header alone and the replay's reader checks
each record as it reaches it (a bad one ends the replay with the file and line).
A `.gz` file whose stream ends early (the recording process was killed) is read like a plain file
whose last line was cut short: up to its last complete line; `cut_short` then says how many lines
were read.
Lines as the recorder writes them (`{"recv_ts_ms":N,"kind":"…"` first) are recognised by their
start: a raw `ws` / `rest` line is skipped without being parsed, a book line is decoded into a
typed msgspec struct; any other line is parsed as generic JSON and checked as before.
A replay reads through `RecordReader.bursts` instead: the record scanner (`arbbot.replay.scan`,
Swift or its twin) takes the recorder's own lines in bulk, samples and coalesces their books,
and leaves every other line to the same general reading (same checks, same errors).
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import json
import queue
import threading
import zlib
from pathlib import Path
from typing import Annotated, Iterator

import msgspec

from arbbot.engine.twin.validate import check_schedule, is_int
from arbbot.engine.types import INT64_MAX, LEVEL_QTY_MAX, PRICE_MAX, EngineInputError
from arbbot.json_depth import bounded_nesting
from arbbot.model import Book, EventInfo, FeeSchedule, MarketId, MarketInfo, Venue
from arbbot.replay.scan import KIND, PREFIX
from arbbot.units import LOTS_PER_CONTRACT, TICKS_PER_DOLLAR, shortened

FORMAT = "arbbot.recording/1"
# the header's started_ms (unix ms) lies in 2000…2100: the replay's clock starts there, and a
# value decades off (negative, 0) made it idle through those decades before the first record
STARTED_MIN_MS = 946_684_800_000
STARTED_MAX_MS = 4_102_444_800_000
READ_BUFFER = 1 << 20          # bytes read (decompressed) at a time
# compressed bytes the inflating thread reads at a time (≈ 11 MiB of a recording inflated). Large on
# purpose: zlib takes the GIL back after each output block it fills, and a thread waiting for the
# GIL waits up to the switch interval (5 ms) while the replay's loop holds it; a few large calls
# wait far less than many small ones (benchmarks/RESULTS.md, session 11)
INFLATE_READ = 1 << 21
INFLATE_AHEAD = 4              # chunks the inflating thread may get ahead of the reader
GZIP_WBITS = 16 + zlib.MAX_WBITS   # zlib: a gzip wrapper


class RecordingError(ValueError):
    """A recording that cannot be read: the message names the file and line."""


def market_to_json(m: MarketInfo) -> dict:
    out = dataclasses.asdict(m)
    out["venue"] = m.venue.label
    out["extra"] = [list(kv) for kv in m.extra]
    return out


def market_from_json(d: dict) -> MarketInfo:
    """A recorded market, checked as the engine and the paper venues take it: ValueError naming
    the market and the field otherwise (before, a lot of 37 or a NaN fee rate in a header was
    refused by the engine mid-replay, a traceback)."""
    m = MarketInfo(**{**d, "venue": Venue.parse(d["venue"]), "fees": FeeSchedule(**d["fees"]),
                      "extra": tuple(tuple(kv) for kv in d.get("extra", ()))})
    name = shortened(repr(m.market_id))
    if not isinstance(m.market_id, str):
        raise ValueError(f"market {name}: market_id must be a string")
    if not is_int(m.lot_lots) or m.lot_lots not in (1, LOTS_PER_CONTRACT):
        raise ValueError(f"market {name}: lot_lots {shortened(repr(m.lot_lots))} must be 100 (a contract) or 1")
    for field in ("tick_ticks", "min_price_ticks", "max_price_ticks"):
        v = getattr(m, field)
        if not is_int(v) or not (1 if field == "tick_ticks" else 0) <= v <= TICKS_PER_DOLLAR:
            raise ValueError(f"market {name}: {field} {shortened(repr(v))} is not an int in "
                             f"{1 if field == 'tick_ticks' else 0}…{TICKS_PER_DOLLAR}")
    try:
        check_schedule(m.fees)
    except EngineInputError as exc:
        raise ValueError(f"market {name}: fees: {exc}") from None
    if not is_int(m.fees.maker_rate_ppm) or m.fees.maker_rate_ppm < 0:
        raise ValueError(f"market {name}: fees: maker rate {shortened(repr(m.fees.maker_rate_ppm))} ppm is not an int ≥ 0")
    return m


def event_to_json(e: EventInfo) -> dict:
    return {**dataclasses.asdict(e), "venue": e.venue.label, "market_ids": list(e.market_ids)}


def event_from_json(d: dict) -> EventInfo:
    return EventInfo(**{**d, "venue": Venue.parse(d["venue"]), "market_ids": tuple(d["market_ids"])})


def mapping_rows_to_json(rows) -> list[dict]:
    """The user's mapping rows (`MappingRow`) as the header's `user_mappings` holds them."""
    return [{"ids": list(r.ids), "relation": r.relation, "confidence": r.confidence, "approved": r.approved,
             "reasons": r.reasons} for r in rows]


def mapping_rows_from_json(items: list) -> list:
    """`mapping_rows_to_json`'s rows back, each checked as a recorded twin is
    (`arbbot.mapping.generate.rows_from_json`), its review (`approved`: true, false or null) too."""
    from arbbot.mapping.generate import GENERATOR, rows_from_json
    rows = rows_from_json({"format": GENERATOR, "rows": items})
    reviews = [item.get("approved") for item in items]
    if any(a is not None and type(a) is not bool for a in reviews):
        raise TypeError("a mapping row's approved must be true, false or null")
    return [dataclasses.replace(row, approved=a) for row, a in zip(rows, reviews)]


def _checked_rules(rules: list) -> list[dict]:
    """The header's `rules`, checked as `arbbot.mapping.rules_file.load_rules` checks a file's."""
    from types import SimpleNamespace
    from arbbot.mapping.rules_file import relation_names
    from arbbot.snapshot import parse_relations
    names = {n for r in rules if isinstance(r, dict) for n in relation_names(r) if isinstance(n, str)}
    parse_relations(rules, [SimpleNamespace(name=n) for n in names])     # (not a list: refused there)
    return rules


def book_to_json(book: Book) -> list:
    return [[[p, q] for p, q in side] for side in book.sides()]


def book_from_record(rec: dict) -> Book:
    if not isinstance(rec["book"], list) or len(rec["book"]) > 4:
        raise ValueError("a book has at most four sides: yes bids, yes asks, no bids, no asks")
    sides = [tuple(_level(level) for level in side) for side in rec["book"]]
    return Book(*sides, market=MarketId(Venue.parse(rec["venue"]), rec["market"]),
                tradeable=bool(rec.get("tradeable", True)), reason=rec.get("reason", ""))


def _level(level) -> tuple[int, int]:
    """A book level of a record read as generic JSON, checked as `BookRecord` checks one."""
    price, qty = level
    if type(price) is not int or type(qty) is not int:     # (5.5 is no quantity, true no price)
        raise TypeError(f"level {shortened(json.dumps(level))}: price and quantity must be integers")
    if not 0 <= price <= PRICE_MAX:
        raise ValueError(f"price {shortened(str(price))} outside 0 to {PRICE_MAX:,} ticks")
    if not 0 <= qty <= LEVEL_QTY_MAX:
        raise ValueError(f"quantity {shortened(str(qty))} outside 0 to {LEVEL_QTY_MAX:,} lots")
    return price, qty


def _recv_ms(rec: dict) -> int:
    at = rec["recv_ts_ms"]
    if type(at) is not int or not 0 <= at <= INT64_MAX:
        raise TypeError(f"recv_ts_ms {shortened(json.dumps(at))}: expected an integer of unix milliseconds")
    return at


Price = Annotated[int, msgspec.Meta(ge=0, le=PRICE_MAX)]          # ticks: the engine's bounds
Lots = Annotated[int, msgspec.Meta(ge=0, le=LEVEL_QTY_MAX)]


class BookRecord(msgspec.Struct):
    """A `book` record as written (field order = the recorder's key order)."""
    recv_ts_ms: Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
    kind: str
    venue: str
    market: str
    book: tuple[tuple[tuple[Price, Lots], ...], ...]
    tradeable: bool = True
    reason: str = ""


_BOOK = msgspec.json.Decoder(BookRecord)
_ANY = msgspec.json.Decoder()


@dataclasses.dataclass(frozen=True)
class Recording:
    """A checked recording: its header and counts (`read_header`: the header alone, counts
    empty). The book records themselves stay in the file: `stream()` reads them, in file order."""
    path: str
    started_ms: int
    source: str
    markets: dict[str, list[MarketInfo]]       # venue name → discovered markets
    events: dict[str, list[EventInfo]]
    listing_bodies: dict[str, list]
    books: int                                 # book records
    frames: int                                # raw ws/rest records (kept in the file, not replayed)
    last_ms: int | None                        # recv_ts_ms of the last book record
    venue_books: dict[str, int]                # venue label → book records
    mappings: dict[str, list] = dataclasses.field(default_factory=dict)   # listings digest → recorded twins (MappingRow)
    recorded_mappings: bool = False            # the header says the session's generated twins are recorded
    user_mappings: list = dataclasses.field(default_factory=list)   # the --mappings rows the session traded (MappingRow)
    rules: list[dict] = dataclasses.field(default_factory=list)     # the relations of its --rules file
    cut_short: int | None = None               # cut off (a .gz stream ended early, a last line cut): the complete lines read

    def stream(self) -> Iterator[tuple[int, Book]]:
        """(recv unix ms, book) per book record, in file order, read lazily from the file."""
        return book_records(self.path, header=False)


def read_recording(path: str | Path) -> Recording:
    """Check a recording (one streaming pass); RecordingError names the file and line of what is
    wrong. Keeps the header and the counts, not the records."""
    reader = RecordReader(Path(path))
    per_venue: dict[str, int] = {}
    books, last = 0, None
    for at, _mid, _rec, _number, label in reader.records():
        books += 1
        last = at
        per_venue[label] = per_venue.get(label, 0) + 1
    h = reader.header
    return Recording(str(reader.path), h["started"], h["source"], h["markets"], h["events"], h["bodies"],
                     books, reader.frames, last, per_venue, reader.mappings, h["recorded_mappings"],
                     h["user_mappings"], h["rules"], reader.cut_short)


def read_header(path: str | Path) -> Recording:
    """The header alone, checked (no pass over the records): what a replay needs to start. The
    counts are left empty; a replay's `BookSource` checks each record as it streams it."""
    reader = RecordReader(Path(path))
    reader.read_only_header()
    h = reader.header
    return Recording(str(reader.path), h["started"], h["source"], h["markets"], h["events"], h["bodies"],
                     0, 0, None, {}, {}, h["recorded_mappings"], h["user_mappings"], h["rules"])


def book_records(path: str | Path, *, header: bool = True) -> Iterator[tuple[int, Book]]:
    """(recv unix ms, book) per book record of a recording, in file order, read lazily; a bad
    line raises RecordingError (file:line) when it is reached. `header=False`: the header is
    not checked again (a recording `read_recording` checked)."""
    for at, book, _ in labelled_book_records(path, header=header):
        yield at, book


def labelled_book_records(path: str | Path, *, header: bool = True) -> Iterator[tuple[int, Book, str]]:
    """`book_records` with each book's venue label: (recv unix ms, book, label)."""
    return reader_books(RecordReader(Path(path), header=header))


def reader_books(reader: "RecordReader") -> Iterator[tuple[int, Book, str]]:
    """(recv unix ms, book, venue label) per book record of `reader`'s file."""
    for at, mid, rec, number, label in reader.records():
        if rec.__class__ is BookRecord:
            try:
                book = Book(*rec.book, market=mid, tradeable=rec.tradeable, reason=rec.reason)
            except TypeError:                   # more than four sides: the error, with its line
                book = reader.book(mid, rec, number)
        else:
            book = rec
        yield at, book, label


class RecordReader:
    """One pass over a recording's lines: the header, then the book records as (recv ms,
    MarketId, BookRecord | Book, line number, venue label); raw records are counted."""

    def __init__(self, path: Path, *, header: bool = True) -> None:
        self.path = path
        self.read_header = header           # False: line 1 is skipped unparsed (a pass after `read_recording`)
        self.frames = 0
        self.cut_short: int | None = None    # cut off (a .gz stream ended early, a last line cut): the complete lines read
        self.header: dict = {}
        self.mappings: dict[str, list] = {}  # listings digest → a `mappings` record's twins (MappingRow)
        self.on_mappings = None              # called with (recv ms, twins) for each `mappings` record
        self.on_listed = None                # called with (recv ms, [MarketInfo]) for each `listed` record
        self.on_repriced = None              # called with (recv ms, [MarketInfo]) for each `repriced` record
        self.on_listings = None              # called with (recv ms, digest, {venue: bodies}, twins | None)
        self._raw = None                     # the open file (under the gzip reader for .gz)
        self._ids: dict[str, tuple[str, dict[str, MarketId]]] = {}   # venue text → (label, market text → MarketId)

    def _open_raw(self):
        """The file itself, opened for bytes (its position is the progress)."""
        try:
            self._raw = self.path.open("rb")
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        return self._raw

    def _open(self):
        raw = self._open_raw()
        return io.BufferedReader(_Gunzip(raw) if self.path.suffix == ".gz" else raw, READ_BUFFER)

    def position(self) -> int:
        """Bytes of the file read so far (compressed bytes for .gz), for progress."""
        raw = self._raw
        try:
            return raw.tell() if raw is not None and not raw.closed else 0
        except (OSError, ValueError):
            return 0

    def read_only_header(self) -> None:
        fh = self._open()
        try:
            with fh, self._raw:
                self._read_header(enumerate(fh, 1))
        except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:     # a damaged .gz, bad bytes
            raise RecordingError(f"{self.path}: cannot read: {type(exc).__name__}: {exc}") from None

    def records(self):
        fh = self._open()
        try:
            with fh, self._raw:                   # (a GzipFile leaves the file it was given open)
                yield from self._records(fh)
        except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:     # a damaged .gz, bad bytes
            raise RecordingError(f"{self.path}: cannot read: {type(exc).__name__}: {exc}") from None

    def bursts(self, scanner) -> Iterator[list[tuple]]:
        """The book records as `scanner`'s bursts (`arbbot.replay.scan`), a list of them per
        chunk read, in file order; raw records counted in `frames`, the other records to the
        hooks. Lines the scanner does not take are read as `records` reads them (same checks,
        same errors with file and line) and their books handed to `scanner.add`. A .gz file is
        inflated by a thread of its own, ahead of the scanner (`_Inflater`). Any other error a
        record causes (the scanner refusing it) is a RecordingError with its line too."""
        raw = self._open_raw()
        source = _Inflater(raw) if self.path.suffix == ".gz" else _Plain(raw)
        try:
            with raw:
                yield from self._bursts(source, scanner)
        except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:     # a damaged .gz, bad bytes
            raise RecordingError(f"{self.path}: cannot read: {type(exc).__name__}: {exc}") from None
        finally:
            source.close()

    def _bursts(self, source, scanner):
        chunks = iter(source)
        number, data, parts = 0, b"", []     # parts: the start of a line longer than the chunks so far
        while True:                          # the header: the first line that is not blank
            end = data.find(b"\n")
            if end < 0:
                more = next(chunks, b"")
                if more:
                    parts.append(data)
                    data = more
                    continue
                line, data = b"".join(parts) + data, b""    # the file's last line, without its newline
                number += 1 if line else 0
                break
            number += 1
            line, data = b"".join(parts) + data[:end + 1], data[end + 1:]
            parts = []
            if line.strip():
                break
        if self.read_header:
            self._read_header(iter([(number, line)]))
        tail, feed, frames = data, scanner.feed, 0
        try:                                 # (number: the lines read; an error is on the next one)
            while True:
                chunk = next(chunks, b"")
                if not chunk and not tail:
                    break
                data = tail + chunk if tail else chunk
                pos = 0
                while True:
                    pos, lines, stopped = feed(data, pos)
                    number += lines
                    if not stopped:
                        break
                    end = data.index(b"\n", pos) + 1     # a line the scanner left: read the general way
                    frames += self._other(number + 1, data[pos:end], scanner)
                    number += 1
                    pos = end
                tail = data[pos:]
                if not chunk:                # a last line without its newline
                    frames += self._other(number + 1, tail, scanner)
                    tail = b""
                bursts = scanner.take()
                if bursts:
                    yield bursts
            bursts = scanner.finish()
            if bursts:
                yield bursts
            if source.cut_short:
                self.cut_short = number
        except (RecordingError, OSError, EOFError, UnicodeDecodeError, zlib.error):
            raise
        except Exception as exc:             # e.g. a number the scanner cannot hold
            raise RecordingError(f"{self.path}:{number + 1}: bad record: {type(exc).__name__}: {exc}") from None
        finally:
            self.frames = frames + scanner.frames

    def _other(self, number: int, line: bytes, scanner) -> int:
        """A line the scanner did not take, read by `_generic`: its book to `scanner.add` (after
        the time check); 1 if it was a raw record."""
        got = self._generic(number, line)
        if got is None:
            return 0
        if got is False:
            return 1
        at, mid, book = got
        last = scanner.last
        if last is not None and at < last:
            raise RecordingError(f"{self.path}:{number}: recv_ts_ms {at} goes back in time (after {last})")
        scanner.add(at, mid.venue.label, mid.id, book.sides(), book.tradeable, book.reason)
        return 0

    def _records(self, fh):
        path = self.path
        lines = enumerate(fh, 1)
        number, line = 0, b""
        if self.read_header:
            number = self._read_header(lines)
        else:
            for number, line in lines:      # the first line that is not blank
                if line.strip():
                    break
        ids = self._ids
        decode = _BOOK.decode
        last = None
        frames = 0
        try:
            for number, line in lines:
                at = None
                if line.startswith(PREFIX):
                    k = line.find(KIND, 14, 48)
                    if k > 0:
                        k += 9
                        if line.startswith(b'book"', k):
                            try:
                                rec = decode(line)
                            except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
                                rec = None                  # checked as generic JSON below (its line named)
                            if rec is not None and len(rec.book) <= 4:
                                at = rec.recv_ts_ms
                                venue = ids.get(rec.venue)
                                mid = venue[1].get(rec.market) if venue is not None else None
                                if mid is None:
                                    mid = self._market_id(rec.venue, rec.market, number)
                                    venue = ids[rec.venue]
                                label = venue[0]
                        elif (line.startswith(b'ws"', k) or line.startswith(b'rest"', k)) and line.endswith(b"\n"):
                            frames += 1                 # a raw record: not parsed
                            continue
                if at is None:
                    got = self._generic(number, line)
                    if got is None:
                        continue
                    if got is False:
                        frames += 1
                        continue
                    at, mid, rec = got
                    label = mid.venue.label
                if last is not None and at < last:
                    raise RecordingError(f"{path}:{number}: recv_ts_ms {at} goes back in time (after {last})")
                last = at
                yield at, mid, rec, number, label
            if getattr(fh.raw, "cut_short", False):    # (a .gz file's `_Gunzip`)
                cut = line and not line.endswith(b"\n")  # the line the cut went through: not counted
                self.cut_short = number - 1 if cut else number
        finally:
            self.frames = frames

    def _read_header(self, lines) -> None:
        path = self.path
        header = None
        for number, line in lines:
            if not line.strip():
                continue
            try:
                with bounded_nesting():
                    header = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                header = None
                text = line if isinstance(line, str) else line.decode("utf-8", "replace")
                if text.lstrip().startswith(('{"format": "' + FORMAT + '"', '{"format":"' + FORMAT + '"')) \
                        and not text.endswith("\n"):
                    raise RecordingError(f"{path}:{number}: the {FORMAT} header is cut short ({len(text):,} "
                                         "characters, no end of line): the recording stopped while its "
                                         "header was written, and holds no record") from None
            break
        else:
            raise RecordingError(f"{path}: empty file, expected an {FORMAT} header")
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise RecordingError(f"{path}:{number}: not an {FORMAT} file (format "
                                 f"{header.get('format') if isinstance(header, dict) else None!r})")
        try:
            venues = header["venues"]
            labels = [m.label for m in Venue]
            for v in venues:
                if v not in labels:                      # as the recorder writes them (the scanner's too)
                    raise ValueError(f"{v!r} is not a venue ({', '.join(labels)})")
            started = header["started_ms"]
            if isinstance(started, bool) or not isinstance(started, int) or not STARTED_MIN_MS <= started <= STARTED_MAX_MS:
                raise ValueError(f"started_ms {shortened(str(started))} is not a time in ms since 1970 "
                                 f"between 2000 and 2100")
            self.header = {
                "markets": {v: [market_from_json(m) for m in d["markets"]] for v, d in venues.items()},
                "events": {v: [event_from_json(e) for e in d.get("events", [])] for v, d in venues.items()},
                "bodies": {v: list(d.get("listing_bodies", [])) for v, d in venues.items()},
                "started": started, "source": str(header.get("source", "")),
                "recorded_mappings": header.get("mappings") == "recorded",
                "user_mappings": mapping_rows_from_json(header.get("user_mappings", [])),
                "rules": _checked_rules(header.get("rules", []))}
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise RecordingError(f"{path}:{number}: bad header: {type(exc).__name__}: {exc}") from None
        return number

    def _market_id(self, venue: str, market: str, number: int) -> MarketId:
        try:
            mid = MarketId(Venue.parse(venue), market)
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordingError(f"{self.path}:{number}: bad book record: {type(exc).__name__}: {exc}") from None
        self._ids.setdefault(venue, (mid.venue.label, {}))[1][market] = mid
        return mid

    def _generic(self, number: int, line: bytes):
        """A line not in the recorder's own form: parsed whole and checked. None: nothing (a
        blank line, a last line cut short by a crash); False: a raw record; else (recv ms,
        MarketId, dict)."""
        path = self.path
        if not line.strip():
            return None
        try:
            with bounded_nesting():           # msgspec recurses on the C stack up to the interpreter's limit
                rec = _ANY.decode(line)
        except RecursionError:
            raise RecordingError(f"{path}:{number}: JSON nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise RecordingError(f"{path}:{number}: not UTF-8 text: {exc}") from None
        except msgspec.DecodeError as exc:
            if not line.endswith(b"\n"):        # the last line, cut short by a crash of the recorder
                self.cut_short = number - 1     # said, as for a .gz stream cut short
                return None
            raise RecordingError(f"{path}:{number}: not JSON: {exc}") from None
        kind = rec.get("kind") if isinstance(rec, dict) else None
        if kind in ("ws", "rest"):
            return False
        if kind == "mappings":
            self._mappings(number, rec)
            return None
        if kind in ("listed", "repriced"):
            self._listed(number, rec)
            return None
        if kind == "listings":
            self._listings(number, rec)
            return None
        if kind != "book":
            raise RecordingError(f"{path}:{number}: unknown record kind {kind!r}")
        try:
            at = _recv_ms(rec)
            book = book_from_record(rec)
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordingError(f"{path}:{number}: bad book record: {type(exc).__name__}: {exc}") from None
        return at, book.market, book

    def _mappings(self, number: int, rec: dict) -> None:
        from arbbot.mapping.generate import rows_from_json
        doc = rec.get("mappings")
        try:
            rows = rows_from_json(doc)
            digest = doc["digest"]
            if not isinstance(digest, str) or not isinstance(rec["recv_ts_ms"], int):
                raise TypeError("digest and recv_ts_ms must be a string and an integer")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RecordingError(f"{self.path}:{number}: bad mappings record: {type(exc).__name__}: {exc}") from None
        self.mappings[digest] = rows
        if self.on_mappings is not None:
            self.on_mappings(rec["recv_ts_ms"], rows)

    def _listed(self, number: int, rec: dict) -> None:
        try:
            at = rec["recv_ts_ms"]
            markets = [market_from_json(m) for m in rec["markets"]]
            if not isinstance(at, int):
                raise TypeError("recv_ts_ms must be an integer")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RecordingError(f"{self.path}:{number}: bad {rec.get('kind')} record: {type(exc).__name__}: {exc}") from None
        hook = self.on_listed if rec.get("kind") == "listed" else self.on_repriced
        if hook is not None:
            hook(at, markets)

    def _listings(self, number: int, rec: dict) -> None:
        from arbbot.mapping.generate import rows_from_json
        try:
            at, digest, doc = rec["recv_ts_ms"], rec["digest"], rec["mappings"]
            bodies = {str(v): list(d["listing_bodies"]) for v, d in rec["venues"].items()}
            if not isinstance(at, int) or not isinstance(digest, str):
                raise TypeError("recv_ts_ms and digest must be an integer and a string")
            twins = None if doc is None else rows_from_json(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RecordingError(f"{self.path}:{number}: bad listings record: {type(exc).__name__}: {exc}") from None
        if twins is not None:
            self.mappings[digest] = twins
        if self.on_listings is not None:
            self.on_listings(at, digest, bodies, twins)

    def book(self, mid: MarketId, rec, number: int) -> Book:
        """The Book of a record `records` gave."""
        if isinstance(rec, Book):
            return rec
        try:
            return Book(*rec.book, market=mid, tradeable=rec.tradeable, reason=rec.reason)
        except TypeError as exc:                 # more than four sides
            raise RecordingError(f"{self.path}:{number}: bad book record: {type(exc).__name__}: {exc}") from None


class _Gunzip(io.RawIOBase):
    """A .gz file's bytes, inflated as read (`records`, `read_header`); a stream cut short ends
    where it was cut, `cut_short` set (`GzipFile.read1` returns what it inflated before it raises)."""

    def __init__(self, raw) -> None:
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self.cut_short = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        try:
            data = self._gz.read1(len(b))
        except EOFError:
            if self._gz.tell() == 0:            # nothing to read in it: a damaged file
                raise
            self.cut_short = True
            return 0
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._gz.close()
        super().close()


class _Plain:
    """A plain file's bytes in chunks of READ_BUFFER."""
    cut_short = False

    def __init__(self, raw) -> None:
        self._raw = raw

    def __iter__(self):
        read = self._raw.read
        while chunk := read(READ_BUFFER):
            yield chunk

    def close(self) -> None:
        return None


class _Inflater:
    """A .gz file's bytes, inflated by a thread of its own up to INFLATE_AHEAD chunks ahead of the
    reader: zlib releases the GIL while it inflates, so on two cores the replay's parsing and the
    inflating overlap. Chunks come in file order; an error (a damaged file) is raised to the reader
    where it happened. Members of a multi-member file follow one another. A file that ends inside a
    member (its writer was killed) ends there, `cut_short` set: what it held is read (if nothing, it
    is an error)."""

    def __init__(self, raw) -> None:
        self.cut_short = False
        self._queue: queue.Queue = queue.Queue(maxsize=INFLATE_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(raw,), name="arbbot-inflate", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, raw) -> None:
        try:
            inflater, inside = zlib.decompressobj(GZIP_WBITS), False    # inside: a member begun, not ended
            inflated = False
            while not self._stop.is_set():
                data = raw.read(INFLATE_READ)
                if not data:
                    if inside and not inflated:         # nothing to read in it: a damaged file
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                    self.cut_short = inside
                    break
                while data:
                    inside = True
                    out = inflater.decompress(data)
                    inflated = inflated or bool(out)
                    if out and not self._put(out):
                        return
                    if not inflater.eof:
                        break
                    data, inside = inflater.unused_data, False     # the next member, if any
                    inflater = zlib.decompressobj(GZIP_WBITS)
            self._put(None)
        except BaseException as exc:                # noqa: BLE001 — handed to the reader's thread
            self._put(exc)

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def raw_records(path: str | Path) -> Iterator[dict]:
    """The raw `ws` / `rest` records of a recording, in file order (the venues' own frames and
    answers; e.g. to feed a venue's data client `on_frame` again)."""
    path = Path(path)
    with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")) as fh:
        for _, rec in _lines(path, fh):
            if isinstance(rec, dict) and rec.get("kind") in ("ws", "rest"):
                yield rec


def _lines(path: Path, fh) -> Iterator[tuple[int, object]]:
    """(line number, JSON value) per line. A last line without its newline that does not parse is
    a record cut short by a crash of the recording process: it is left out, not an error (as is
    the rest of a .gz stream cut short)."""
    try:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                with bounded_nesting():
                    value = json.loads(line)
            except json.JSONDecodeError as exc:
                if not line.endswith("\n"):
                    return
                raise RecordingError(f"{path}:{number}: not JSON: {exc.msg}") from None
            except RecursionError:
                raise RecordingError(f"{path}:{number}: JSON nested too deeply") from None
            yield number, value
    except EOFError:
        return
