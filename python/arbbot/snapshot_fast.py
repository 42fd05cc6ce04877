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
One deliberate difference: an integer of more than 4,300 digits under an unknown key made
json.loads raise an uncaught ValueError; here it is skipped unread, as the spec wants.
"""
from __future__ import annotations

import gc
from typing import Callable

import msgspec
from msgspec import UNSET, Struct, UnsetType

from arbbot import units
from arbbot.engine.types import MONEY_FEE_MAX, Market, Relation, RelationKind, Universe
from arbbot.model import Book, FeeSchedule
from arbbot.snapshot import _KINDS, _PAIR_KINDS, _VENUES, FORMAT, Snapshot

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


def _number(parse, text: str, *args) -> int:
    try:
        return parse(text, *args)
    except ValueError:
        raise _Refused from None


# ---- the reader ------------------------------------------------------------------------------

def read_snapshot_fast(data: bytes) -> Snapshot | None:
    """The Snapshot of a file's bytes, or None when the strict reader must decide (it then either
    builds the same Snapshot or raises the SnapshotError naming the problem)."""
    if not data.isascii():              # ASCII is UTF-8; msgspec checks only the strings it keeps
        try:
            data.decode("utf-8")        # the strict reader refuses invalid UTF-8 anywhere
        except UnicodeDecodeError:
            return None
    collecting = gc.isenabled()
    gc.disable()                        # ~1M new containers: no point scanning them mid-build
    try:
        return _convert(_DECODER.decode(data))
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


def _convert(raw: _File) -> Snapshot:
    if raw.format != FORMAT:
        raise _Refused
    max_qty, min_profit = None, 1
    if raw.params is not UNSET:
        if raw.params.max_qty is not UNSET:
            max_qty = _number(units.parse_size, raw.params.max_qty, "max_qty")
        if raw.params.min_profit is not UNSET:
            min_profit = _number(units.parse_money, raw.params.min_profit, "min_profit", 2**63 - 1)
    markets, names = _markets(raw.markets)
    index = dict(zip(names, range(len(names))))
    if len(index) != len(names):   # a duplicate `venue:id`
        raise _Refused
    relations = tuple(_relation(r, index) for r in raw.relations)
    universe = Universe(tuple(markets), relations, max_qty, min_profit)
    return Snapshot(universe, raw.taken_at, tuple(m.title for m in raw.markets))


_NO_FEES = _Fees()
_EMPTY_BOOK = _Book()
_fee_schedules: dict[_Fees, FeeSchedule] = {}   # fee texts → their (frozen, shared) schedule


def _markets(raw: list[_Market]) -> tuple[list[Market], list[str]]:
    """The engine's markets and their `venue:id` names, in file order."""
    price, size, schedules = _PRICE, _SIZE, _fee_schedules
    markets, names = [], []
    for m in raw:
        venue = _VENUES.get(m.venue)
        if venue is None or not m.id:
            raise _Refused
        lot = 100 if m.lot is UNSET else _LOT[m.lot]
        if lot != 100 and lot != 1:
            raise _Refused
        b = _EMPTY_BOOK if m.book is UNSET else m.book
        if venue.bids_only and (b.yes_asks or b.no_asks):
            raise _Refused
        book = Book(tuple([(price[p], size[q]) for p, q in b.yes_bids]),   # (ticks, lots)
                    tuple([(price[p], size[q]) for p, q in b.yes_asks]) if b.yes_asks else (),
                    tuple([(price[p], size[q]) for p, q in b.no_bids]),
                    tuple([(price[p], size[q]) for p, q in b.no_asks]) if b.no_asks else ())
        fees = _NO_FEES if m.fees is UNSET else m.fees
        markets.append(Market(venue, m.id, schedules.get(fees) or _fee_schedule(fees), lot, book, m.title))
        names.append(f"{m.venue}:{m.id}")   # Market.name: the venue's label is its text
    return markets, names


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
