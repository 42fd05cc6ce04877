"""The Swift engine through `arbbot._native`: packs Python values into the ABI's buffers and
turns the engine's records back into arbbot.engine.types values."""
from __future__ import annotations

import struct
from array import array

from arbbot.engine.select import native_module
from arbbot.engine.types import (
    INT32_MIN, Decomposition, EngineInputError, Evaluation, FeeSchedule, Kind, Lane, Leg,
    Book, Opportunity, Quote, ScanResult, Side, Status, Universe,
)

# arb_opportunity: id u64, lane i32, kind i32, qty, payout, cost, fee, profit i64, leg_start, leg_count i32
OPPORTUNITY_RECORD = struct.Struct("<Qiiqqqqqii")
# arb_leg: market i32, side i32, qty i64, worst_price i32, reserved i32, cost i64, fee i64
LEG_RECORD = struct.Struct("<iiqiiqq")
_LANES, _KINDS, _SIDES = tuple(Lane), tuple(Kind), tuple(Side)


def _error(exc: Exception) -> EngineInputError:
    code, message, index = exc.args
    return EngineInputError(Status(code), message, index)


def pack_book(book: Book) -> tuple[array, tuple[int, int, int, int]]:
    """(int64 pairs of all four sides, back to back; the four counts)."""
    sides = book.sides()
    try:
        flat = array("q", [x for side in sides for level in side for x in level])
    except OverflowError:
        raise EngineInputError(Status.QTY, "a book value does not fit in int64") from None
    return flat, tuple(len(side) for side in sides)


def _none(value: int, sentinel: int = -1) -> int | None:
    return None if value == sentinel else value


def decompose(venue: int, book: Book) -> Decomposition:
    levels, counts = pack_book(book)
    return decompose_levels(venue, levels, counts)


def decompose_levels(venue: int, levels, counts: tuple[int, int, int, int]) -> Decomposition:
    """`decompose` of a book already packed (int64 pairs, buffer protocol; the four counts)."""
    native = native_module()
    try:
        yes, no, q = native.decompose(int(venue), levels, counts)
    except native.NativeError as exc:
        raise _error(exc) from None
    except OverflowError:
        raise EngineInputError(Status.VENUE, f"unknown venue code {venue!r}") from None
    quote = Quote(_none(q[0]), _none(q[1]), _none(q[2]), _none(q[3]), _none(q[4]),
                  _none(q[5], INT32_MIN), bool(q[6]))
    return Decomposition(yes, no, quote)


def order_fee(schedule: FeeSchedule, fills) -> int:
    flat = array("q")
    try:
        for price, qty in fills:
            flat.append(price)
            flat.append(qty)
    except OverflowError:
        raise EngineInputError(Status.QTY, "a fill does not fit in int64") from None
    native = native_module()
    try:
        return native.order_fee(schedule.taker_rate_ppm, schedule.per_contract, schedule.rounding, flat)
    except native.NativeError as exc:
        raise _error(exc) from None
    except OverflowError:
        raise EngineInputError(Status.MONEY, "a fee schedule value does not fit in int64") from None


def evaluate(qty, profit, cost, fee, confidence, fill_prob, loss, sigma) -> Evaluation:
    native = native_module()
    for name, value in (("confidence", confidence), ("fill probability", fill_prob), ("loss", loss), ("sigma", sigma)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EngineInputError(Status.FLOAT, f"{name} {value!r} must be a number")
    try:
        return Evaluation(*native.evaluate(qty, profit, cost, fee, confidence, fill_prob, loss, sigma))
    except native.NativeError as exc:
        raise _error(exc) from None
    except OverflowError:
        raise EngineInputError(Status.ARGUMENT, "an amount does not fit in int64") from None


def pack_universe(universe: Universe) -> dict:
    """The keyword buffers of `_native.Engine` (see arb_universe in arb_engine.h)."""
    markets = universe.markets
    names = bytearray()
    name_offsets = array("q", [0])
    counts = array("q")
    levels = array("q")
    for market in markets:
        names += market.name.encode("utf-8")
        name_offsets.append(len(names))
        flat, side_counts = pack_book(market.book)
        levels.extend(flat)
        counts.extend(side_counts)
    rel_offsets = array("q", [0])
    members = array("i")
    for relation in universe.relations:
        members.extend(relation.members)
        rel_offsets.append(len(members))
    try:
        return dict(
            venue=array("i", [int(m.venue) for m in markets]),
            lot=array("i", [m.lot for m in markets]),
            taker_rate_ppm=array("i", [m.fees.taker_rate_ppm for m in markets]),
            per_contract=array("q", [m.fees.per_contract for m in markets]),
            rounding=array("q", [m.fees.rounding for m in markets]),
            book_counts=counts, book_levels=levels, names=bytes(names), name_offsets=name_offsets,
            rel_kind=array("i", [int(r.kind) for r in universe.relations]),
            rel_exhaustive=array("i", [1 if r.exhaustive else 0 for r in universe.relations]),
            rel_offsets=rel_offsets, rel_members=members,
            max_qty=-1 if universe.max_qty is None else universe.max_qty,
            min_profit=universe.min_profit)
    except OverflowError as exc:
        raise EngineInputError(Status.ARGUMENT, f"a universe value does not fit the engine's integers: {exc}") from None


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
        return self.update_packed(market, *pack_book(book))

    def nearest(self, capacity: int) -> tuple[int, ...]:
        try:
            return self._engine.nearest(capacity)
        except self._native.NativeError as exc:
            raise _error(exc) from None

    def update_packed(self, market: int, levels, counts=None) -> ScanResult:
        """`counts` None: `levels` is the whole packed book, its four side counts first."""
        try:
            raw = self._engine.update(market, levels) if counts is None else self._engine.update(market, levels, counts)
            return self._result(raw)
        except self._native.NativeError as exc:
            raise _error(exc) from None
        except OverflowError:
            raise EngineInputError(Status.MARKET, f"market index {market!r} is out of range") from None


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
