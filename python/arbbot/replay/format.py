"""The recording file, `arbbot.recording/1`: JSON lines.

Line 1, the header:
    {"format": "arbbot.recording/1", "started_ms": UNIX_MS, "source": "simulator" | "connect" |
     "live" | "paper", "venues": {NAME: {"markets": [MARKET, ...], "events": [EVENT, ...],
     "listing_bodies": [BODY, ...]}}}
with MARKET / EVENT the discovered `MarketInfo` / `EventInfo` fields (venue as its label, fees
as an object) and BODY the listing responses the venue sent (what `arbbot rules`/`map` read).

Then one record per line, in receive order, each with `recv_ts_ms` (unix ms when it arrived):
- `{"kind": "book", "venue", "market", "book": [YES_BIDS, YES_ASKS, NO_BIDS, NO_ASKS],
   "tradeable", "reason"}`: every book update a feed produced, before its queue coalesced
   books; sides as [[price ticks, qty lots], ...]. Replay reads these.
- `{"kind": "ws", "venue", "frame"}` / `{"kind": "rest", "venue", "method", "path", "status",
   "body"}`: the venue's frames and REST answers as they arrived (never request headers, so no
   credentials), written by the adapters' recorder hooks: the raw record of what was seen.
"""
from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Iterator

from arbbot.model import Book, EventInfo, FeeSchedule, MarketId, MarketInfo, Venue

FORMAT = "arbbot.recording/1"


class RecordingError(ValueError):
    """A recording that cannot be read: the message names the file and line."""


def market_to_json(m: MarketInfo) -> dict:
    out = dataclasses.asdict(m)
    out["venue"] = m.venue.label
    out["extra"] = [list(kv) for kv in m.extra]
    return out


def market_from_json(d: dict) -> MarketInfo:
    return MarketInfo(**{**d, "venue": Venue.parse(d["venue"]), "fees": FeeSchedule(**d["fees"]),
                         "extra": tuple(tuple(kv) for kv in d.get("extra", ()))})


def event_to_json(e: EventInfo) -> dict:
    return {**dataclasses.asdict(e), "venue": e.venue.label, "market_ids": list(e.market_ids)}


def event_from_json(d: dict) -> EventInfo:
    return EventInfo(**{**d, "venue": Venue.parse(d["venue"]), "market_ids": tuple(d["market_ids"])})


def book_to_json(book: Book) -> list:
    return [[[p, q] for p, q in side] for side in book.sides()]


def book_from_record(rec: dict) -> Book:
    sides = [tuple((int(p), int(q)) for p, q in side) for side in rec["book"]]
    return Book(*sides, market=MarketId(Venue.parse(rec["venue"]), rec["market"]),
                tradeable=bool(rec.get("tradeable", True)), reason=rec.get("reason", ""))


@dataclasses.dataclass(frozen=True)
class Recording:
    """A recording read whole: the header's venues and the book records in receive order."""
    path: str
    started_ms: int
    source: str
    markets: dict[str, list[MarketInfo]]       # venue name → discovered markets
    events: dict[str, list[EventInfo]]
    listing_bodies: dict[str, list]
    books: list[tuple[int, Book]]              # (recv unix ms, book), in file order
    frames: int                                # raw ws/rest records (kept in the file, not replayed)


def read_recording(path: str | Path) -> Recording:
    """Read and check a recording; RecordingError names the file and line of what is wrong."""
    path = Path(path)
    try:
        fh = gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        with fh:
            return _read(path, fh)
    except (OSError, EOFError, UnicodeDecodeError) as exc:      # a damaged .gz, bad bytes
        raise RecordingError(f"{path}: cannot read: {type(exc).__name__}: {exc}") from None


def _read(path: Path, fh) -> Recording:
    lines = _lines(path, fh)
    try:
        _, header = next(lines)
    except StopIteration:
        raise RecordingError(f"{path}: empty file, expected an {FORMAT} header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(f"{path}:1: not an {FORMAT} file (format {header.get('format') if isinstance(header, dict) else None!r})")
    try:
        venues = header["venues"]
        markets = {v: [market_from_json(m) for m in d["markets"]] for v, d in venues.items()}
        events = {v: [event_from_json(e) for e in d.get("events", [])] for v, d in venues.items()}
        bodies = {v: list(d.get("listing_bodies", [])) for v, d in venues.items()}
        started, source = int(header["started_ms"]), str(header.get("source", ""))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordingError(f"{path}:1: bad header: {type(exc).__name__}: {exc}") from None
    books, frames, last = [], 0, None
    for number, rec in lines:
        kind = rec.get("kind") if isinstance(rec, dict) else None
        if kind == "book":
            try:
                at = int(rec["recv_ts_ms"])
                book = book_from_record(rec)
            except (KeyError, TypeError, ValueError) as exc:
                raise RecordingError(f"{path}:{number}: bad book record: {type(exc).__name__}: {exc}") from None
            if last is not None and at < last:
                raise RecordingError(f"{path}:{number}: recv_ts_ms {at} goes back in time (after {last})")
            last = at
            books.append((at, book))
        elif kind in ("ws", "rest"):
            frames += 1
        else:
            raise RecordingError(f"{path}:{number}: unknown record kind {kind!r}")
    return Recording(str(path), started, source, markets, events, bodies, books, frames)


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
    a record cut short by a crash of the recording process: it is left out, not an error."""
    for number, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            if not line.endswith("\n"):
                return
            raise RecordingError(f"{path}:{number}: not JSON: {exc.msg}") from None
