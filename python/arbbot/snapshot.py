"""Read and write `arbbot.snapshot/1` files (spec/SNAPSHOT.md): the one reader and writer.

`parse_snapshot(obj)` validates a decoded JSON object and returns a `Snapshot` whose
`universe` feeds the engines. Every problem raises `SnapshotError` whose message starts with the
JSON path of the deepest offending element, e.g.
`markets[3].book.yes_bids[0][0]: price 1.2 is above 1`. `load_snapshot(path)` reads a file
through the one-pass reader (arbbot.snapshot_fast) when that one vouches for it, else through
`parse_snapshot`, so the answers and messages are this module's either way.
`load_snapshot_packed(path)` gives the Swift engine's buffers of a file that reader vouches for
(no Snapshot objects: `arbbot scan --json`), None for any other file.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from arbbot import units
from arbbot.json_depth import MAX_JSON_DEPTH, bounded_nesting
from arbbot.engine.types import MONEY_FEE_MAX, Market, Relation, RelationKind, Universe
from arbbot.model import Book, FeeSchedule, MarketInfo, Venue

FORMAT = "arbbot.snapshot/1"
_VENUES = {v.label: v for v in Venue}
_KINDS = {k.label: k for k in RelationKind}
_BOOK_SIDES = ("yes_bids", "yes_asks", "no_bids", "no_asks")
_PAIR_KINDS = {RelationKind.SAME, RelationKind.INVERSE, RelationKind.COMPLEMENT, RelationKind.EQUIVALENT}


class SnapshotError(ValueError):
    """A malformed snapshot. `path` is the JSON path of the offending element."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


@dataclass(frozen=True)
class Snapshot:
    universe: Universe
    taken_at: str | None = None
    titles: tuple[str, ...] = ()


# ---- small validators (each raises SnapshotError at `path`) -------------------------------

def _object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise SnapshotError(path, f"expected an object, got {_json_type(value)}")
    return value


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise SnapshotError(path, f"expected a list, got {_json_type(value)}")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SnapshotError(path, f"expected a string, got {_json_type(value)}")
    return value


def _text(value: Any, path: str, what: str) -> str:
    """A string that names something (a market id, an event, a category): valid Unicode, so
    it can be written as UTF-8 (an opportunity id hashes it; output, logs and stores write it).
    JSON's escapes can spell a lone UTF-16 surrogate ("\\ud800"), which no UTF-8 text holds."""
    text = _string(value, path)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SnapshotError(path, f"{what} {_shown(json.dumps(text), 80)} is not valid Unicode (a lone surrogate, "
                                      f"U+{ord(text[exc.start]):04X})") from None
    return text


_STAMP = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")


def stamp_problem(value: Any, what: str) -> str | None:
    """Why `value` is not a UTC time written exactly `YYYY-MM-DDTHH:MM:SSZ` (spec/SNAPSHOT.md
    `closes_at`), as a message naming `what`; None when it is one. ASCII digits only, and a real
    time (no February 30, no second 60): what arbbot.sizing.clock.parse_stamp reads."""
    if not isinstance(value, str):
        return f"{what} must be a string YYYY-MM-DDTHH:MM:SSZ, got {_json_type(value)}"
    m = _STAMP.fullmatch(value)
    if m is None:
        return f"{what} {_shown(json.dumps(value), 80)} is not YYYY-MM-DDTHH:MM:SSZ (UTC, e.g. \"2026-12-31T19:00:00Z\")"
    try:
        datetime(*map(int, m.groups()))
    except ValueError:
        return f"{what} {json.dumps(value)} is not a valid time"
    return None


def _sizing_fields(obj: dict, path: str) -> None:
    """A market's `closes_at`, `event` and `category` (spec/SNAPSHOT.md): what sizing reads and
    detection does not, checked here so that `arbbot scan` and `arbbot explain` refuse the same
    files. Absent or null: not stated."""
    closes_at = obj.get("closes_at")
    if closes_at is not None:
        problem = stamp_problem(closes_at, "closes_at")
        if problem is not None:
            raise SnapshotError(f"{path}.closes_at", problem)
    for key in ("event", "category"):
        if obj.get(key) is not None:
            _text(obj[key], f"{path}.{key}", key)


def _shown(text: str, limit: int = 40) -> str:
    """`text` for a message, shown by its ends when long (`units.shortened`)."""
    return units.shortened(text, limit)


def _required(obj: dict, key: str, path: str) -> Any:
    if key not in obj:
        raise SnapshotError(_join(path, key), "required field is missing")
    return obj[key]


def _decimal(parse, value: Any, path: str, *args) -> int:
    try:
        return parse(value, *args)
    except units.UnitError as exc:
        message = str(exc)
        if isinstance(value, str) and len(value) > 40:
            message = message.replace(value, _shown(value))
        raise SnapshotError(path, message) from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---- the parser ----------------------------------------------------------------------------

def parse_snapshot(obj: Any) -> Snapshot:
    """Validate a decoded `arbbot.snapshot/1` object; raise SnapshotError on the first problem."""
    root = _object(obj, "$")
    fmt = _required(root, "format", "")
    if not isinstance(fmt, str):
        raise SnapshotError("format", f"unsupported format: expected \"{FORMAT}\", got {_json_type(fmt)}")
    if fmt != FORMAT:
        raise SnapshotError("format", f"unsupported format {_shown(json.dumps(fmt))} (expected \"{FORMAT}\")")
    taken_at = root.get("taken_at")
    if taken_at is not None:            # the decision time sizing reads: a malformed one is refused here too
        problem = stamp_problem(taken_at, "taken_at")
        if problem is not None:
            raise SnapshotError("taken_at", problem)
    max_qty, min_profit = _parse_params(root.get("params", {}))
    raw_markets = _list(_required(root, "markets", ""), "markets")
    markets: list[Market] = []
    index: dict[str, int] = {}
    for i, raw in enumerate(raw_markets):
        market = _parse_market(raw, f"markets[{i}]")
        if market.name in index:
            raise SnapshotError(f"markets[{i}].id", f"duplicate market \"{market.name}\" (also markets[{index[market.name]}])")
        index[market.name] = i
        markets.append(market)
    relations = _relations(root.get("relations", []), index)
    universe = Universe(tuple(markets), relations, max_qty, min_profit)
    return Snapshot(universe, taken_at, tuple(m.title for m in markets))


def parse_relations(raw: Any, markets: tuple[Market, ...] | list[Market]) -> tuple[Relation, ...]:
    """Validate relations written as in a snapshot (`{"kind": "bucket", "members": [...]}`)
    against `markets` and return them with market indices; SnapshotError names the problem
    (`relations[2].members[1]: unknown market "kalshi:X"`). What a live session uses to check its
    discovered and mapped relations without writing a snapshot."""
    return _relations(raw, {m.name: i for i, m in enumerate(markets)})


def _relations(raw: Any, index: dict[str, int]) -> tuple[Relation, ...]:
    return tuple(_parse_relation(r, f"relations[{j}]", index) for j, r in enumerate(_list(raw, "relations")))


def _parse_params(raw: Any) -> tuple[int | None, int]:
    params = _object(raw, "params")
    max_qty = None
    if "max_qty" in params:
        max_qty = _decimal(units.parse_size, params["max_qty"], "params.max_qty", "max_qty")
    min_profit = 1
    if "min_profit" in params:
        min_profit = _decimal(units.parse_money, params["min_profit"], "params.min_profit", "min_profit",
                              2**63 - 1)
    return max_qty, min_profit


def _parse_market(raw: Any, path: str) -> Market:
    obj = _object(raw, path)
    venue_label = _string(_required(obj, "venue", path), f"{path}.venue")
    venue = _VENUES.get(venue_label)
    if venue is None:
        raise SnapshotError(f"{path}.venue", f"unknown venue {json.dumps(venue_label)} (expected kalshi, polymarket or forecastex)")
    market_id = _text(_required(obj, "id", path), f"{path}.id", "market id")
    if not market_id:
        raise SnapshotError(f"{path}.id", "market id is empty")
    title = _string(obj.get("title", ""), f"{path}.title")
    _sizing_fields(obj, path)
    fees = _parse_fees(obj.get("fees", {}), f"{path}.fees")
    lot = 100
    if "lot" in obj:
        lot = _decimal(units.parse_size, obj["lot"], f"{path}.lot", "lot")
        if lot not in (100, 1):
            raise SnapshotError(f"{path}.lot", f"lot {_shown(obj['lot'])} must be \"1\" or \"0.01\"")
    book = _parse_book(obj.get("book", {}), f"{path}.book", venue)
    return Market(venue, market_id, fees, lot, book, title)


def _parse_fees(raw: Any, path: str) -> FeeSchedule:
    obj = _object(raw, path)
    rate = {}
    for key in ("taker_rate", "maker_rate"):
        rate[key] = _decimal(units.parse_rate, obj[key], f"{path}.{key}", key) if key in obj else 0
    per_contract = 0
    if "per_contract" in obj:
        per_contract = _decimal(units.parse_money, obj["per_contract"], f"{path}.per_contract",
                                "per_contract", MONEY_FEE_MAX)
    rounding = 1
    if "rounding" in obj:
        rounding = _decimal(units.parse_money, obj["rounding"], f"{path}.rounding", "rounding", MONEY_FEE_MAX)
        if rounding == 0:
            raise SnapshotError(f"{path}.rounding", "rounding must be above 0")
    return FeeSchedule(rate["taker_rate"], per_contract, rounding, rate["maker_rate"])


def _parse_book(raw: Any, path: str, venue: Venue) -> Book:
    obj = _object(raw, path)
    sides = {}
    for key in _BOOK_SIDES:
        levels = _list(obj.get(key, []), f"{path}.{key}")
        if venue.bids_only and key.endswith("_asks") and levels:
            raise SnapshotError(f"{path}.{key}", f"{venue.label} books have bids only")
        sides[key] = tuple(_parse_level(level, f"{path}.{key}[{n}]") for n, level in enumerate(levels))
    return Book(**sides)


def _parse_level(raw: Any, path: str) -> tuple[int, int]:
    level = _list(raw, path)
    if len(level) != 2:
        raise SnapshotError(path, f"a level is [price, size], got {len(level)} elements")
    price = _decimal(units.parse_price, level[0], f"{path}[0]")
    size = _decimal(units.parse_size, level[1], f"{path}[1]")
    return price, size


def _parse_relation(raw: Any, path: str, index: dict[str, int]) -> Relation:
    obj = _object(raw, path)
    label = _string(_required(obj, "kind", path), f"{path}.kind")
    kind = _KINDS.get(label)
    if kind is None:
        raise SnapshotError(f"{path}.kind", f"unknown kind {json.dumps(label)}")
    seen: set[int] = set()

    def ref(value: Any, ref_path: str) -> int:
        name = _string(value, ref_path)
        if name not in index:
            raise SnapshotError(ref_path, f"unknown market {json.dumps(name)}")
        i = index[name]
        if i in seen:
            raise SnapshotError(ref_path, f"{name} appears twice in one relation")
        seen.add(i)
        return i

    def group(key: str, minimum: int, noun: str) -> list[int]:
        items = _list(_required(obj, key, path), f"{path}.{key}")
        members = [ref(v, f"{path}.{key}[{n}]") for n, v in enumerate(items)]
        if len(members) < minimum:
            raise SnapshotError(f"{path}.{key}", f"a {kind.label} needs at least {minimum} {noun}, got {len(members)}")
        return members

    exhaustive = False
    if kind in _PAIR_KINDS:
        members = [ref(_required(obj, "a", path), f"{path}.a"), ref(_required(obj, "b", path), f"{path}.b")]
    elif kind is RelationKind.BUCKET:
        members = group("members", 2, "members")
        exhaustive = obj.get("exhaustive", False)
        if not isinstance(exhaustive, bool):
            raise SnapshotError(f"{path}.exhaustive", f"expected true or false, got {_json_type(exhaustive)}")
    elif kind is RelationKind.TREE:
        members = [ref(_required(obj, "parent", path), f"{path}.parent")]
        members += group("children", 2, "children (one child: use implies or equivalent)")
    else:  # IMPLIES: stored parent first (leg order), whatever the JSON order
        child = ref(_required(obj, "child", path), f"{path}.child")
        parent = ref(_required(obj, "parent", path), f"{path}.parent")
        members = [parent, child]
    confidence = None
    if "confidence" in obj:
        confidence = _decimal(units.parse_unit_interval, obj["confidence"], f"{path}.confidence", "confidence")
    return Relation(kind, tuple(members), exhaustive, confidence)


# ---- files ---------------------------------------------------------------------------------

def load_snapshot(path: str | Path) -> Snapshot:
    """Read and validate a snapshot file. Raises SnapshotError (also for unreadable JSON).

    A file the one-pass reader (arbbot.snapshot_fast) accepts is returned from it; anything else
    goes through the strict reader below, which reads it or names the problem."""
    from arbbot.snapshot_fast import read_snapshot_fast   # imports this module

    try:
        snapshot = read_snapshot_fast(Path(path).read_bytes())
    except OSError:
        snapshot = None                 # the strict reader below reports it
    return snapshot if snapshot is not None else load_snapshot_strict(path)


def load_snapshot_packed(path: str | Path):
    """The Swift engine's buffers of a snapshot file, straight from the one-pass reader
    (`arbbot.snapshot_fast.PackedSnapshot`), or None for a file it does not vouch for or cannot
    read: `load_snapshot` then reads it, or names the problem. Same files, same universe."""
    from arbbot.snapshot_fast import read_packed_fast   # imports this module

    try:
        return read_packed_fast(Path(path).read_bytes())
    except OSError:
        return None


def load_snapshot_strict(path: str | Path) -> Snapshot:
    """`load_snapshot` through the strict reader only (decode_json + parse_snapshot): the reference."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SnapshotError("$", f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SnapshotError("$", f"{path} is not UTF-8") from None
    return parse_snapshot(decode_json(text))


def read_snapshot_data(data: bytes, source: str = "standard input") -> Snapshot:
    """The Snapshot of a file's bytes read elsewhere (`arbbot scan -`: standard input): the
    one-pass reader's when it vouches for them, else the strict reader's, as `load_snapshot`."""
    from arbbot.snapshot_fast import read_snapshot_fast   # imports this module

    snapshot = read_snapshot_fast(data)
    if snapshot is not None:
        return snapshot
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SnapshotError("$", f"{source} is not UTF-8") from None
    return parse_snapshot(decode_json(text))


def decode_json(text: str) -> Any:
    """`json.loads(text)` for a snapshot, or SnapshotError at `$` naming the problem; never
    another exception, whatever the text:
    - an integer past int()'s 4,300 digits (ValueError in json.loads) is kept as the float it
      rounds to (±inf): no snapshot field is a JSON number, so it is either ignored (an unknown
      key) or refused as a number, as a short one is. (Not sys.set_int_max_str_digits: a process-
      wide switch that would also lift the guard against int()'s quadratic time, for a value
      nothing reads.) Long floats need nothing: float() has no digit limit;
    - nesting deeper than MAX_JSON_DEPTH levels is refused: the format nests 6 levels, only an
      unknown key's value can be deeper (`json_depth.bounded_nesting`: whatever the host
      process's recursion limit, a deep text cannot run the C decoder off its stack);
    - NaN, Infinity and -Infinity, which json.loads accepts, are refused: they are not JSON
      (RFC 8259), so the file is not JSON (spec: "JSON, UTF-8"), even if they sit under an
      unknown key."""
    try:
        with bounded_nesting():
            return json.loads(text, parse_int=_json_int, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise SnapshotError("$", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise SnapshotError("$", f"JSON nested too deeply to read (the limit is about {MAX_JSON_DEPTH} "
                                 "levels; a snapshot needs 6)") from None
    except _Constant as exc:
        line, column = _position(text, exc.at(text))
        raise SnapshotError("$", f"invalid JSON at line {line} column {column}: {exc.name} is not a JSON "
                                 "value (JSON has no NaN or Infinity)") from None


def _json_int(text: str) -> int | float:
    if len(text) <= 4_000:
        try:
            return int(text)
        except ValueError:          # a lower PYTHONINTMAXSTRDIGITS
            pass
    return float(text)


class _Constant(Exception):
    """NaN, Infinity or -Infinity met by json.loads (which tells no position: `at` finds it)."""

    _TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(-?Infinity|NaN)')

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def at(self, text: str) -> int:
        """Where the first such constant outside a string is in `text` (0 if not found)."""
        for m in self._TOKEN.finditer(text):
            if m.group(1):
                return m.start()
        return 0


def _json_constant(name: str):
    raise _Constant(name)


def _position(text: str, index: int) -> tuple[int, int]:
    """(line, column), from 1, of `text[index]`: as json.JSONDecodeError counts them."""
    line = text.count("\n", 0, index) + 1
    return line, index - text.rfind("\n", 0, index)


def snapshot_to_dict(universe: Universe, taken_at: str | None = None) -> dict:
    """The `arbbot.snapshot/1` object for a universe (round-trips through parse_snapshot)."""
    fmt = units.format_decimal
    markets = [_market_dict(m.venue, m.id, m.title, m.fees, m.lot, m.book) for m in universe.markets]
    names = [m.name for m in universe.markets]
    relations = []
    for r in universe.relations:
        rel: dict[str, Any] = {"kind": r.kind.label}
        refs = [names[i] for i in r.members]
        if r.kind in _PAIR_KINDS:
            rel["a"], rel["b"] = refs
        elif r.kind is RelationKind.BUCKET:
            rel["members"] = refs
            rel["exhaustive"] = r.exhaustive
        elif r.kind is RelationKind.TREE:
            rel["parent"], rel["children"] = refs[0], refs[1:]
        else:
            rel["child"], rel["parent"] = refs[1], refs[0]
        if r.confidence is not None:
            rel["confidence"] = fmt(r.confidence, 6)
        relations.append(rel)
    params: dict[str, str] = {"min_profit": fmt(universe.min_profit, 6)}
    if universe.max_qty is not None:
        params = {"max_qty": units.format_qty(universe.max_qty), **params}
    out: dict[str, Any] = {"format": FORMAT}
    if taken_at:
        out["taken_at"] = taken_at
    out.update({"params": params, "markets": markets, "relations": relations})
    return out


def dump_snapshot(markets: Iterable[tuple[MarketInfo, Book | None]], *, relations: list[dict] | None = None,
                  params: dict | None = None, taken_at: datetime | None = None,
                  include_untradeable: bool = False) -> dict:
    """The `arbbot.snapshot/1` object for discovered markets and their books (what an adapter
    dumps). A book flagged untradeable is left out (its market is written without a book) unless
    `include_untradeable`: a distrusted book must not reach the engine."""
    ts = (taken_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    out_markets = []
    for info, book in markets:
        keep = book is not None and (book.tradeable or include_untradeable)
        market = _market_dict(info.venue, info.market_id, info.title, info.fees, info.lot_lots,
                              book if keep else None)
        # what sizing reads (detection does not): trading's close, the venue's event, a category
        for key, value in (("closes_at", info.closes_at), ("event", info.event_id), ("category", info.category)):
            if value:
                market[key] = value
        out_markets.append(market)
    snap: dict = {"format": FORMAT, "taken_at": ts.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if params:
        snap["params"] = dict(params)
    snap["markets"] = out_markets
    if relations:
        snap["relations"] = list(relations)
    return snap


def _market_dict(venue: Venue, market_id: str, title: str, fees: FeeSchedule, lot: int, book: Book | None) -> dict:
    """One market of a snapshot; `book` None writes the market without one."""
    fmt = units.format_decimal
    fee_obj: dict[str, str] = {}
    if fees.taker_rate_ppm:
        fee_obj["taker_rate"] = fmt(fees.taker_rate_ppm, 6)
    if fees.maker_rate_ppm:
        fee_obj["maker_rate"] = fmt(fees.maker_rate_ppm, 6)
    if fees.per_contract:
        fee_obj["per_contract"] = fmt(fees.per_contract, 6)
    if fees.rounding != 1:
        fee_obj["rounding"] = fmt(fees.rounding, 6)
    out: dict[str, Any] = {"venue": venue.label, "id": market_id, "title": title, "fees": fee_obj,
                           "lot": units.format_qty(lot)}
    if book is not None:
        if venue.bids_only and (book.yes_asks or book.no_asks):
            raise ValueError(f"{venue.label}:{market_id}: a bids-only venue's book has asks")
        out["book"] = {k: [[units.format_price(p), units.format_qty(q)] for p, q in side if q > 0]
                       for k, side in zip(_BOOK_SIDES, book.sides()) if side}
    return out
