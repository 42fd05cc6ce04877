"""The Swift engine through `arbbot._native`: packs Python values into the ABI's buffers and
turns the engine's records back into arbbot.engine.types values."""
from __future__ import annotations

import struct
from array import array
from itertools import chain

from arbbot.engine.select import native_module
from arbbot.engine.twin.evaluate import check_inputs
from arbbot.engine.twin.validate import check_levels, check_market, check_schedule, is_venue_code
from arbbot.engine.types import (
    INT32_MIN, Decomposition, EngineInputError, Evaluation, FeeSchedule, Kind, Lane, Leg,
    Book, Opportunity, Quote, RelationKind, ScanResult, Side, Status, Universe, Venue,
)

# arb_opportunity: id u64, lane i32, kind i32, qty, payout, cost, fee, profit i64, leg_start, leg_count i32
OPPORTUNITY_RECORD = struct.Struct("<Qiiqqqqqii")
# arb_leg: market i32, side i32, qty i64, worst_price i32, reserved i32, cost i64, fee i64
LEG_RECORD = struct.Struct("<iiqiiqq")
_LANES, _KINDS, _SIDES = tuple(Lane), tuple(Kind), tuple(Side)
_INT, _NUMBER = {int}, {int, float}


def _error(exc: Exception) -> EngineInputError:
    code, message, index = exc.args
    return EngineInputError(Status(code), message, index)


def _int64s(values: list, twin_checks) -> array:
    """`values` as an int64 array. Values that are not all plain ints (a bool, a float) or do not
    fit int64 go through `twin_checks` first: the twin's checks of the same input, which raise its
    error, the field's own code (the glue would read True as 1, or refuse with a bare TypeError /
    OverflowError)."""
    if not _INT.issuperset(map(type, values)):
        twin_checks()
    try:
        return array("q", values)
    except OverflowError:
        twin_checks()
        raise


def pack_book(book: Book) -> tuple[array, tuple[int, int, int, int]]:
    """(int64 pairs of all four sides, back to back; the four counts)."""
    sides = book.sides()
    flat = _int64s([x for side in sides for level in side for x in level],
                   lambda: check_levels(chain.from_iterable(sides)))
    return flat, tuple(len(side) for side in sides)


def _check_venue(venue) -> None:
    """The twin's venue check, made first (the glue would read True as 1, refuse 1.0 with a TypeError)."""
    if not is_venue_code(venue):
        raise EngineInputError(Status.VENUE, f"unknown venue code {venue!r}")


def _none(value: int, sentinel: int = -1) -> int | None:
    return None if value == sentinel else value


def decompose(venue: int, book: Book) -> Decomposition:
    _check_venue(venue)                    # before the book, as the twin
    levels, counts = pack_book(book)
    return decompose_levels(venue, levels, counts)


def decompose_packed(venue: int, packed) -> Decomposition:
    """`decompose` of a book in the session's packed form (an int64 buffer: the four counts, then
    the pairs); EngineInputError as the twin's `split_packed` (ARGUMENT: not an int64 buffer)."""
    try:
        levels, counts = memoryview(packed)[4:], tuple(packed[:4])
    except TypeError:
        raise EngineInputError(Status.ARGUMENT, "a packed book must be a contiguous int64 buffer") from None
    return decompose_levels(venue, levels, counts)


def decompose_levels(venue: int, levels, counts: tuple[int, int, int, int]) -> Decomposition:
    """`decompose` of a book already packed (int64 pairs, buffer protocol; the four counts)."""
    _check_venue(venue)
    native = native_module()
    try:
        yes, no, q = native.decompose(venue, levels, counts)
    except native.NativeError as exc:
        raise _error(exc) from None
    except TypeError:         # the glue's refusal of a buffer that is not int64, or of a count
        raise EngineInputError(Status.ARGUMENT, "a packed book must be a contiguous int64 buffer") from None
    quote = Quote(_none(q[0]), _none(q[1]), _none(q[2]), _none(q[3]), _none(q[4]),
                  _none(q[5], INT32_MIN), bool(q[6]))
    return Decomposition(yes, no, quote)


def order_fee(schedule: FeeSchedule, fills) -> int:
    fills = [(price, qty) for price, qty in fills]
    flat = _int64s([schedule.taker_rate_ppm, schedule.per_contract, schedule.rounding, *chain.from_iterable(fills)],
                   lambda: (check_schedule(schedule), check_levels(fills)))
    native = native_module()
    try:
        return native.order_fee(flat[0], flat[1], flat[2], flat[3:])
    except native.NativeError as exc:
        raise _error(exc) from None


def evaluate(qty, profit, cost, fee, confidence, fill_prob, loss, sigma) -> Evaluation:
    args = (qty, profit, cost, fee, confidence, fill_prob, loss, sigma)
    if not (_INT.issuperset(map(type, args[:4])) and _NUMBER.issuperset(map(type, args[4:]))):
        check_inputs(*args)       # a bool, a float amount, a string: the twin's error
    native = native_module()
    try:
        return Evaluation(*native.evaluate(*args))
    except native.NativeError as exc:
        raise _error(exc) from None
    except OverflowError:
        check_inputs(*args)       # an amount past int64: the twin's ARGUMENT
        raise


def pack_universe(universe: Universe) -> dict:
    """The keyword buffers of `_native.Engine` (see arb_universe in arb_engine.h). A universe with
    a value the ABI cannot carry as the twin reads it (a bool, a float, past int32 / int64, or a
    negative max_qty, which the ABI reads as uncapped) goes through the twin's `check_universe`,
    which refuses it with the field's own code and its market or relation index."""
    markets, relations = universe.markets, universe.relations
    names, name_offsets, counts, levels = bytearray(), array("q", [0]), array("q"), []
    for market in markets:
        names += market.name.encode("utf-8")
        name_offsets.append(len(names))
        for side in market.book.sides():
            counts.append(len(side))
            levels += chain.from_iterable(side)
    rel_offsets, members = array("q", [0]), []
    for relation in relations:
        members += relation.members
        rel_offsets.append(len(members))
    max_qty = -1 if universe.max_qty is None else universe.max_qty
    fields = dict(   # typecode, values
        venue=("i", [m.venue for m in markets]), lot=("i", [m.lot for m in markets]),
        taker_rate_ppm=("i", [m.fees.taker_rate_ppm for m in markets]),
        per_contract=("q", [m.fees.per_contract for m in markets]), rounding=("q", [m.fees.rounding for m in markets]),
        book_levels=("q", levels), rel_kind=("i", [r.kind for r in relations]), rel_members=("i", members),
        limits=("q", [max_qty, universe.min_profit]))
    values = chain.from_iterable(v for _, v in fields.values())
    if not _UNIVERSE_INTS.issuperset(map(type, values)) or (universe.max_qty is not None and max_qty < 0):
        _check_universe(universe)
    try:
        buffers = {name: array(code, v) for name, (code, v) in fields.items()}
    except (OverflowError, TypeError):
        _check_universe(universe)
        raise EngineInputError(Status.ARGUMENT, "a universe value does not fit the engine's integers") from None
    max_qty, min_profit = buffers.pop("limits")
    return dict(buffers, book_counts=counts, names=bytes(names), name_offsets=name_offsets,
                rel_exhaustive=array("i", [1 if r.exhaustive else 0 for r in relations]),
                rel_offsets=rel_offsets, max_qty=max_qty, min_profit=min_profit)


_UNIVERSE_INTS = {int, Venue, RelationKind}    # the types a universe's integers come as


def _check_universe(universe: Universe) -> None:
    from arbbot.engine.twin.engine import check_universe   # the twin, only for a universe it must judge
    check_universe(universe)


class NativeEngine:
    """The Swift engine holding one universe."""

    def __init__(self, universe: Universe) -> None:
        self._start(pack_universe(universe), [m.name for m in universe.markets])

    @classmethod
    def from_buffers(cls, buffers: dict, names: list[str]) -> NativeEngine:
        """The engine of a universe already packed: `buffers` as `pack_universe` gives them (e.g.
        `arbbot.snapshot_fast.read_packed_fast`), `names` the markets' `venue:id` in order."""
        engine = cls.__new__(cls)
        engine._start(buffers, list(names))
        return engine

    def _start(self, buffers: dict, names: list[str]) -> None:
        native = native_module()
        self._native = native
        self._names = names
        try:
            self._engine = native.Engine(**buffers)
        except native.NativeError as exc:
            raise _error(exc) from None
        # the chain, steps 9–12 and the final re-price on this engine's own books: the glue's own
        # method, no Python frame between (`arbbot.sizing.on_engine` packs and decodes; a found
        # frame calls it cold, where each frame costs µs)
        self.size_legs = self._engine.size_legs

    def _result(self, raw) -> ScanResult:
        opp_bytes, leg_bytes, untradeable = raw
        if not opp_bytes and not untradeable:         # most book updates: nothing to decode
            return _NOTHING
        names = self._names
        return ScanResult(decode_opportunities(opp_bytes, leg_bytes, names),
                          tuple(names[m] for m in untradeable))

    def scan_raw(self):
        """(opportunity records, leg records, untradeable indices): the call without decoding."""
        return self._engine.scan()

    def scan(self) -> ScanResult:
        try:
            return self._result(self._engine.scan())
        except self._native.NativeError as exc:
            raise _error(exc) from None

    def update_raw(self, market: int, levels, counts):
        return self._engine.update(market, levels, counts)

    def update(self, market: int, book: Book) -> ScanResult:
        check_market(market, len(self._names))      # before the book, as the twin
        return self.update_packed(market, *pack_book(book))

    def nearest(self, capacity: int) -> tuple[int, ...]:
        try:
            return self._engine.nearest(capacity)
        except self._native.NativeError as exc:
            raise _error(exc) from None

    def set_limits(self, max_qty: int | None, min_profit: int) -> None:
        try:
            self._engine.set_limits(-1 if max_qty is None else max_qty, min_profit)
        except self._native.NativeError as exc:
            raise _error(exc) from None

    def update_packed(self, market: int, levels, counts=None) -> ScanResult:
        """`counts` None: `levels` is the whole packed book, its four side counts first. Errors as
        the twin's: the market first (the glue would read True as 1), then the buffer and counts."""
        if type(market) is not int or not 0 <= market < len(self._names):
            check_market(market, len(self._names))
        try:
            raw = self._engine.update(market, levels) if counts is None else self._engine.update(market, levels, counts)
            return self._result(raw)
        except self._native.NativeError as exc:
            raise _error(exc) from None
        except TypeError:       # the glue's refusal of a buffer that is not int64, or of a count
            raise EngineInputError(Status.ARGUMENT, "a packed book must be a contiguous int64 buffer") from None
        except OverflowError:   # a count past int64
            raise EngineInputError(Status.LENGTH, "a side count is absurdly large") from None


_NOTHING = ScanResult((), ())


def decode_opportunities(opp_bytes: bytes, leg_bytes: bytes, names: list[str]) -> tuple[Opportunity, ...]:
    legs = list(LEG_RECORD.iter_unpack(leg_bytes))
    out = []
    for oid, lane, kind, qty, payout, cost, fee, profit, start, count in OPPORTUNITY_RECORD.iter_unpack(opp_bytes):
        out.append(Opportunity(
            f"{oid:016x}", _LANES[lane], _KINDS[kind], qty, payout, cost, fee, profit,
            tuple(Leg(names[m], _SIDES[s], lq, worst, lc, lf)
                  for m, s, lq, worst, _, lc, lf in legs[start:start + count])))
    return tuple(out)
