"""The fast path of the snapshot reader: decode and type-check an `arbbot.snapshot/1` file in one
C pass (msgspec typed Structs), then turn its decimal strings into exact integers through
per-text memos (U20k's 418k levels repeat ~10k distinct prices and ~500 distinct sizes).

It answers only for files it can vouch for: `read_snapshot_fast` returns None on anything it
does not accept plainly (malformed JSON, a wrong type, an unknown venue or kind, a number out of
range, a duplicate market; also a few things the strict reader accepts, such as a lone UTF-16
surrogate escape or a relation carrying a mistyped key its kind ignores), and
`arbbot.snapshot.load_snapshot` then runs the strict reader, which either builds the Snapshot or
names the problem with today's exact message. So the fast path must never accept what the
strict reader refuses, and must build an identical Snapshot when it accepts
(python/tests/engine/test_snapshot_fast.py holds it to both). Being stricter only costs time.
A market's `closes_at`, `event` and `category` (sizing's fields) are checked as the strict
reader checks them; an integer of more than 4,300 digits under an unknown key is skipped unread
here, and ignored there too (arbbot.snapshot.decode_json).

`read_packed_fast` is the same reader for the Swift engine (`arbbot scan --json`): the engine's
buffers without the Snapshot's objects. It first keeps each book side as its (msgspec-checked)
JSON text and reads all the sides' levels at once in vectorised passes (`_side_levels`), which
take only plainly written sides; any other file goes through the decoded sides as above. Either
way it vouches for exactly the files `read_snapshot_fast` vouches for, with buffers equal to
`arbbot.engine.native.pack_universe` of that Snapshot's universe (python/tests/engine/
test_scan_fast_packed.py holds it to both).
"""
from __future__ import annotations

import gc
from array import array
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, chain
from operator import attrgetter
from typing import Callable

import msgspec
from msgspec import UNSET, Struct, UnsetType

from arbbot import units
from arbbot.engine.types import MONEY_FEE_MAX, Market, Relation, RelationKind, Universe
from arbbot.json_depth import bounded_nesting
from arbbot.model import Book, FeeSchedule, Venue
from arbbot.snapshot import _KINDS, _PAIR_KINDS, _VENUES, FORMAT, Snapshot, stamp_problem

_MEMO_LIMIT = 200_000   # distinct texts kept per memo; a long-lived process never grows past it


class _Refused(Exception):
    """The fast path does not vouch for the file: the strict reader decides."""


# ---- the file's shape (gc=False: decoded JSON holds no reference cycles) ----------------------
# Unknown keys are skipped (spec: forward compatibility); a later duplicate key wins, as in json.

_Level = tuple[str, str]       # [price, size], decimal texts


class _Fees(Struct, frozen=True, gc=False):   # frozen: hashable, the key of its FeeSchedule
    taker_rate: str | UnsetType = UNSET
    maker_rate: str | UnsetType = UNSET
    per_contract: str | UnsetType = UNSET
    rounding: str | UnsetType = UNSET


class _Book(Struct, gc=False):
    yes_bids: list[_Level] = []
    yes_asks: list[_Level] = []
    no_bids: list[_Level] = []
    no_asks: list[_Level] = []


class _Market(Struct, gc=False):
    venue: str
    id: str
    title: str = ""
    fees: _Fees | UnsetType = UNSET
    lot: str | UnsetType = UNSET
    book: _Book | UnsetType = UNSET
    closes_at: str | None = None        # sizing's fields: checked as the strict reader checks them
    event: str | None = None            # (a string msgspec decodes is valid Unicode: it refuses
    category: str | None = None         # a lone surrogate escape)


class _Relation(Struct, gc=False):
    kind: str
    a: str | UnsetType = UNSET
    b: str | UnsetType = UNSET
    members: list[str] | UnsetType = UNSET
    exhaustive: bool = False
    parent: str | UnsetType = UNSET
    children: list[str] | UnsetType = UNSET
    child: str | UnsetType = UNSET
    confidence: str | UnsetType = UNSET


class _Params(Struct, gc=False):
    max_qty: str | UnsetType = UNSET
    min_profit: str | UnsetType = UNSET


class _File(Struct, gc=False):
    format: str
    markets: list[_Market]
    taken_at: str | None = None
    params: _Params | UnsetType = UNSET
    relations: list[_Relation] = []


_DECODER = msgspec.json.Decoder(_File)

# The packed reader's first try: the same shape, but each book side kept as its JSON text
# (checked JSON, not decoded: no tuple or string per level), which _side_levels reads at once.
_NO_LEVELS = msgspec.Raw(b"[]")


class _TextBook(Struct, gc=False):
    yes_bids: msgspec.Raw = _NO_LEVELS
    yes_asks: msgspec.Raw = _NO_LEVELS
    no_bids: msgspec.Raw = _NO_LEVELS
    no_asks: msgspec.Raw = _NO_LEVELS


class _TextMarket(_Market, gc=False):
    book: _TextBook | UnsetType = UNSET


class _TextFile(_File, gc=False):
    markets: list[_TextMarket]


_TEXT_DECODER = msgspec.json.Decoder(_TextFile)


# ---- decimal text → exact integer, through the strict parsers of arbbot.units ---------------

class _Memo(dict):
    """text → integer unit (ticks, lots, µ$, ppm): each distinct text goes once through the
    strict `parse`; a text it refuses raises _Refused (and is not kept). A hit is one C dict
    lookup."""

    def __init__(self, parse: Callable[[str], int]) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, text: str) -> int:
        try:
            value = self.parse(text)
        except ValueError:              # UnitError, or int() of a text past 4,300 digits
            raise _Refused from None
        if len(self) >= _MEMO_LIMIT:
            self.clear()
        self[text] = value
        return value


_PRICE = _Memo(units.parse_price)                                            # ticks, 0…10,000
_SIZE = _Memo(units.parse_size)                                              # lots, ≤ 1e8
_LOT = _Memo(lambda t: units.parse_size(t, "lot"))                           # lots
_RATE = _Memo(units.parse_rate)                                              # ppm, < 1e6
_FEE_MONEY = _Memo(lambda t: units.parse_money(t, "fee", MONEY_FEE_MAX))     # µ$, ≤ $1e6
_CONFIDENCE = _Memo(lambda t: units.parse_unit_interval(t, "confidence"))   # millionths, ≤ 1e6


@lru_cache(maxsize=4096)
def _stamp_ok(text: str) -> bool:
    """`closes_at` (or `taken_at`) is `YYYY-MM-DDTHH:MM:SSZ` (cached: markets share a few close times)."""
    return stamp_problem(text, "closes_at") is None


def _number(parse, text: str, *args) -> int:
    try:
        return parse(text, *args)
    except ValueError:
        raise _Refused from None


# ---- the reader ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PackedSnapshot:
    """A snapshot file as the Swift engine takes it, without the Python objects of a Snapshot:
    `buffers` are the keyword buffers of `arbbot._native.Engine`, equal to
    `arbbot.engine.native.pack_universe(snapshot.universe)` of the same file's Snapshot;
    `names` are the markets' `venue:id`, in file order (what an opportunity's legs name)."""
    buffers: dict
    names: list[str]
    taken_at: str | None = None


def read_snapshot_fast(data: bytes) -> Snapshot | None:
    """The Snapshot of a file's bytes, or None when the strict reader must decide (it then either
    builds the same Snapshot or raises the SnapshotError naming the problem)."""
    return _read(data, _snapshot)


def read_packed_fast(data: bytes) -> PackedSnapshot | None:
    """`read_snapshot_fast` for the Swift engine: None for exactly the files it refuses, else the
    engine's buffers built straight from the file, without a Market, Book or level tuple. First
    with the book sides read as text, all at once (_side_levels); a side that reader does not
    take plainly (an escape, a long number, pretty-printing inside a level, ...) sends the
    file through the decoded sides, read as read_snapshot_fast reads them."""
    packed = _read(data, _packed_from_text, _TEXT_DECODER)
    return packed if packed is not None else _read(data, _packed)


def _read(data: bytes, build: Callable[[_Checked], Snapshot | PackedSnapshot],
          decoder: msgspec.json.Decoder = _DECODER):
    if not data.isascii():              # ASCII is UTF-8; msgspec checks only the strings it keeps
        try:
            data.decode("utf-8")        # the strict reader refuses invalid UTF-8 anywhere
        except UnicodeDecodeError:
            return None
    collecting = gc.isenabled()
    gc.disable()                        # ~1M new containers: no point scanning them mid-build
    try:
        with bounded_nesting():         # as the strict reader: the same depth, whatever the host's limit
            decoded = decoder.decode(data)
        return build(_Checked(decoded))
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, _Refused):
        return None
    finally:
        # What was built is alive and acyclic: move it straight to the oldest generation (two
        # O(1) list moves) rather than have the next young collections walk its ~0.5M
        # containers. Not when someone froze objects on purpose: unfreeze would release them.
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if collecting:
            gc.enable()


_NO_FEES = _Fees()
_EMPTY_BOOK = _Book()
_NO_TEXT_BOOK = _TextBook()
_fee_schedules: dict[_Fees, FeeSchedule] = {}   # fee texts → their (frozen, shared) schedule
_SIDES_OF = attrgetter("yes_bids", "yes_asks", "no_bids", "no_asks")   # the ABI's side order


class _Checked:
    """A decoded file through every check of the fast path but its level texts (which both
    builders read through the same memos, _PRICE and _SIZE), column by column. Raises _Refused
    on anything the fast path does not vouch for."""

    __slots__ = ("raw", "max_qty", "min_profit", "venues", "schedules", "lots", "books", "names", "relations")

    def __init__(self, raw: _File) -> None:
        decoded = type(raw) is _File   # else a _TextFile: its sides are checked by _side_levels
        if raw.format != FORMAT or (raw.taken_at is not None and not _stamp_ok(raw.taken_at)):
            raise _Refused
        self.raw = raw
        self.max_qty, self.min_profit = None, 1
        if raw.params is not UNSET:
            if raw.params.max_qty is not UNSET:
                self.max_qty = _number(units.parse_size, raw.params.max_qty, "max_qty")
            if raw.params.min_profit is not UNSET:
                self.min_profit = _number(units.parse_money, raw.params.min_profit, "min_profit", 2**63 - 1)
        venues: list[Venue] = []
        schedules: list[FeeSchedule] = []
        lots: list[int] = []
        books: list[_Book] = []
        names: list[str] = []
        lot_of, schedule_of = _LOT, _fee_schedules.get
        for m in raw.markets:
            venue = _VENUES.get(m.venue)
            if venue is None or not m.id or (m.closes_at is not None and not _stamp_ok(m.closes_at)):
                raise _Refused
            lot = 100 if m.lot is UNSET else lot_of[m.lot]
            if lot != 100 and lot != 1:
                raise _Refused
            b = (_EMPTY_BOOK if decoded else _NO_TEXT_BOOK) if m.book is UNSET else m.book
            if venue.bids_only and decoded and (b.yes_asks or b.no_asks):
                raise _Refused
            fees = _NO_FEES if m.fees is UNSET else m.fees
            venues.append(venue)
            schedules.append(schedule_of(fees) or _fee_schedule(fees))
            lots.append(lot)
            books.append(b)
            names.append(f"{m.venue}:{m.id}")   # Market.name: the venue's label is its text
        index = dict(zip(names, range(len(names))))
        if len(index) != len(names):   # a duplicate `venue:id`
            raise _Refused
        self.relations = tuple([_relation(r, index) for r in raw.relations])
        self.venues, self.schedules, self.lots, self.books, self.names = venues, schedules, lots, books, names


def _snapshot(checked: _Checked) -> Snapshot:
    """The Snapshot (engine objects) of a checked file; each level text through its memo."""
    price, size, raw = _PRICE, _SIZE, checked.raw
    books = []
    for b in checked.books:
        books.append(Book(tuple([(price[p], size[q]) for p, q in b.yes_bids]),   # (ticks, lots)
                          tuple([(price[p], size[q]) for p, q in b.yes_asks]) if b.yes_asks else (),
                          tuple([(price[p], size[q]) for p, q in b.no_bids]),
                          tuple([(price[p], size[q]) for p, q in b.no_asks]) if b.no_asks else ()))
    titles = tuple([m.title for m in raw.markets])
    markets = tuple(map(Market, checked.venues, [m.id for m in raw.markets], checked.schedules, checked.lots,
                        books, titles))
    universe = Universe(markets, checked.relations, checked.max_qty, checked.min_profit)
    return Snapshot(universe, raw.taken_at, titles)


def _packed_from_text(checked: _Checked) -> PackedSnapshot:
    """`_packed` of a file decoded with its book sides as JSON text."""
    counts, levels = _side_levels(list(chain.from_iterable(map(_SIDES_OF, checked.books))))
    bids_only = [v.bids_only for v in checked.venues]
    if counts.reshape(-1, 4)[bids_only][:, 1::2].any():   # asks in a bids-only venue's book
        raise _Refused
    return _packed(checked, array("q", counts.tobytes()), array("q", levels.tobytes()))


def _side_levels(sides: list[msgspec.Raw]):
    """(level count per side, [price ticks, size lots] per level back to back), int64 arrays, of
    book sides given as the JSON texts msgspec checked, in a few vectorised passes over all of
    them at once. Takes only sides written plainly: lists of [price, size] lists of two strings
    of 1–8 digits and dots, and outside the strings nothing but brackets, commas and JSON
    whitespace. Raises _Refused on anything else (the decoded sides then decide), and wherever
    units.parse_price / parse_size would: `digits[.digits]`, at most 4 / 2 decimals once
    trailing zeros go, a price at most 1, a size at most 1,000,000 contracts."""
    import numpy as np

    pow10 = 10 ** np.arange(19, dtype=np.int64)

    def byte_sum(words):        # the sum of each uint64's 8 bytes (each sum below 256)
        return ((words * 0x0101010101010101) >> 56).astype(np.int64)

    text = b"".join([*sides, b"        "])                  # padded: 8 bytes from anywhere
    size = len(text) - 8
    outside = text.translate(None, b"0123456789.")          # without the digits and dots
    syntax = outside.translate(None, b" \t\n\r")             # and without JSON whitespace
    if syntax.translate(None, b'[]",'):                      # anything else: a letter, a backslash, ...
        raise _Refused
    buf = np.frombuffer(text, np.uint8)
    core = buf[:size]
    # The strings: no backslash, so quotes pair up in order. Each string's bytes as one
    # little-endian word (its first character in the low byte); a byte past its end counts 0.
    quotes = np.flatnonzero(core == 34)
    if len(quotes) % 2:
        raise _Refused
    starts = quotes[0::2] + 1
    lengths = quotes[1::2] - starts
    n = len(lengths)
    if n and (lengths.min() < 1 or lengths.max() > 8):
        raise _Refused
    if len(text) - len(outside) != lengths.sum():          # a digit or dot outside the strings
        raise _Refused
    windows = np.ndarray((size + 1,), dtype="<u8", buffer=buf, strides=(1,))
    inside = (np.uint64(2**64 - 1) >> (64 - 8 * lengths.astype(np.uint64))).astype("<u8").view(np.uint8)
    inside = inside.reshape(n, 8) != 0                       # the row's bytes that are the string's
    chars = windows[starts].view(np.uint8).reshape(n, 8)
    digits = chars - 48
    digit = (digits < 10) & inside
    dot = (chars == 46) & inside
    if (inside & ~(digit | dot)).any():
        raise _Refused
    dots = byte_sum(dot.view(np.uint64).ravel())
    point = byte_sum((dot * np.arange(8, dtype=np.uint8)).view(np.uint64).ravel())   # where the one dot is
    if n and (dots.max() > 1 or ((dots == 1) & ((point == 0) | (point == lengths - 1))).any()):
        raise _Refused                                      # not `digits[.digits]`
    # Nesting, on the syntax characters alone: each string pair `["",""]` becomes L; what is left
    # must be one `[]` or `[L,L,...,L]` per side, and no quote.
    skeleton = np.frombuffer(syntax.replace(b'["",""]', b"L"), np.uint8)
    if (skeleton == 34).any():
        raise _Refused
    brackets = np.flatnonzero((skeleton == 91) | (skeleton == 93))
    opens, closes = brackets[0::2], brackets[1::2]
    if len(brackets) != 2 * len(sides) or (skeleton[opens] != 91).any() or (skeleton[closes] != 93).any():
        raise _Refused
    framed = np.concatenate(([0], skeleton, [0]))         # NUL before and after: fits nothing
    before, after = framed[:-2], framed[2:]
    level, comma = skeleton == 76, skeleton == 44
    if (level & ~(((before == 91) | (before == 44)) & ((after == 44) | (after == 93)))).any() or \
            (comma & ~((before == 76) & (after == 76))).any():
        raise _Refused
    counts = (closes - opens) // 2                          # `[L,...,L]`: 2 per level, less one
    if 2 * int(counts.sum()) != n:
        raise _Refused
    # Values: the row's digits as one 8-digit number (SWAR; the dot and the bytes past the end
    # count 0), split at the dot, the fraction scaled to the unit's decimals.
    word = np.where(digit, digits, 0).view("<u8").ravel()
    word = ((word * 2561) >> 8) & 0x00FF00FF00FF00FF
    word = ((word * 6553601) >> 16) & 0x0000FFFF0000FFFF
    number8 = ((word * 42949672960001) >> 32).astype(np.int64)
    point = np.where(dots > 0, point, lengths).astype(np.int64)
    whole = number8 // pow10[8 - point]
    places = np.where(dots > 0, 7 - point, 0)             # digits of the fraction's field
    fraction = number8 % pow10[places]
    unit = np.empty(n, np.int64)
    unit[0::2], unit[1::2] = 4, 2                           # decimals: prices in ticks, sizes in lots
    shift = unit - places
    extra = pow10[np.maximum(-shift, 0)]
    if (fraction % extra).any():                            # a decimal the unit does not hold
        raise _Refused
    exact = whole * pow10[unit] + fraction // extra * pow10[np.maximum(shift, 0)]
    if (exact[0::2] > units.TICKS_PER_DOLLAR).any() or (exact[1::2] > _SIZE_MAX).any():
        raise _Refused
    return counts.astype(np.int64), exact


_SIZE_MAX = units.MAX_CONTRACTS * units.LOTS_PER_CONTRACT
_TAKER, _PER_CONTRACT, _ROUNDING = (attrgetter(a) for a in ("taker_rate_ppm", "per_contract", "rounding"))


def _packed(checked: _Checked, counts: array | None = None, levels: array | None = None) -> PackedSnapshot:
    """The engine buffers of a checked file: `pack_universe` of its Snapshot's universe, field
    for field (values are bounded by the parsers, so every one fits its integer type). The book
    buffers are made here from decoded sides unless given."""
    if counts is None:
        # Every level at once, in C loops: the sides in ABI order, their [price, size] texts
        # flattened, then each text through its memo (prices at even places, sizes at odd).
        sides = list(chain.from_iterable(map(_SIDES_OF, checked.books)))
        texts = list(chain.from_iterable(chain.from_iterable(sides)))
        texts[0::2] = map(_PRICE.__getitem__, texts[0::2])   # ticks
        texts[1::2] = map(_SIZE.__getitem__, texts[1::2])    # lots
        counts, levels = array("q", map(len, sides)), array("q", texts)
    names = checked.names
    encoded = list(map(str.encode, names))
    relations = checked.relations
    members = array("i", chain.from_iterable([r.members for r in relations]))
    buffers = dict(
        venue=array("i", map(int, checked.venues)),
        lot=array("i", checked.lots),
        taker_rate_ppm=array("i", map(_TAKER, checked.schedules)),
        per_contract=array("q", map(_PER_CONTRACT, checked.schedules)),
        rounding=array("q", map(_ROUNDING, checked.schedules)),
        book_counts=counts, book_levels=levels,
        names=b"".join(encoded), name_offsets=array("q", accumulate(map(len, encoded), initial=0)),
        rel_kind=array("i", [int(r.kind) for r in relations]),
        rel_exhaustive=array("i", [1 if r.exhaustive else 0 for r in relations]),
        rel_offsets=array("q", accumulate([len(r.members) for r in relations], initial=0)),
        rel_members=members,
        max_qty=-1 if checked.max_qty is None else checked.max_qty,
        min_profit=checked.min_profit)
    return PackedSnapshot(buffers, names, checked.raw.taken_at)


def _fee_schedule(raw: _Fees) -> FeeSchedule:
    """The FeeSchedule of fee texts not met before (remembered in _fee_schedules)."""
    rounding = 1 if raw.rounding is UNSET else _FEE_MONEY[raw.rounding]
    if rounding == 0:
        raise _Refused
    schedule = FeeSchedule(
        taker_rate_ppm=0 if raw.taker_rate is UNSET else _RATE[raw.taker_rate],
        per_contract=0 if raw.per_contract is UNSET else _FEE_MONEY[raw.per_contract],
        rounding=rounding,
        maker_rate_ppm=0 if raw.maker_rate is UNSET else _RATE[raw.maker_rate])
    if len(_fee_schedules) >= _MEMO_LIMIT:
        _fee_schedules.clear()
    _fee_schedules[raw] = schedule
    return schedule


def _relation(raw: _Relation, index: dict[str, int]) -> Relation:
    """The strict reader's `_parse_relation` for a relation it would accept; leg order: a, b |
    members | parent, children | implies parent, child."""
    kind = _KINDS.get(raw.kind)
    if kind is None:
        raise _Refused
    exhaustive = False
    if kind in _PAIR_KINDS:
        names = [raw.a, raw.b]
    elif kind is RelationKind.BUCKET:
        names = raw.members
        exhaustive = raw.exhaustive
        if names is UNSET or len(names) < 2:
            raise _Refused
    elif kind is RelationKind.TREE:
        if raw.children is UNSET or len(raw.children) < 2:
            raise _Refused
        names = [raw.parent, *raw.children]
    else:   # IMPLIES
        names = [raw.parent, raw.child]
    try:
        members = tuple([index[name] for name in names])   # UNSET is never a key: refused
    except (KeyError, TypeError):
        raise _Refused from None
    if len(set(members)) != len(members):   # a market named twice in one relation
        raise _Refused
    confidence = None if raw.confidence is UNSET else _CONFIDENCE[raw.confidence]
    return Relation(kind, members, exhaustive, confidence)
