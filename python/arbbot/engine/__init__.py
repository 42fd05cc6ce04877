"""The hot path: decomposition, fees, the five lanes and evaluation.

Public surface (each function takes `engine="swift"|"python"` or follows ARB_ENGINE*):
    decompose(venue, book) -> Decomposition
    order_fee(schedule, fills) -> int (µ$)
    evaluate(qty, profit, cost, fee, confidence, fill_prob, loss, sigma) -> Evaluation
    Engine(universe).scan() / .update(market, book) -> ScanResult
    scan(universe) -> ScanResult
Units: ticks (1e-4 $/contract), lots (0.01 contract), µ$; see arbbot.engine.types.
"""
from __future__ import annotations

import operator

from arbbot.engine.select import implementation
from arbbot.engine.twin.validate import check_market, check_venue
from arbbot.engine.types import (
    Decomposition, EngineInputError, Evaluation, FeeSchedule, Kind, Lane, Leg, Market, Book,
    Opportunity, Quote, Relation, RelationKind, ScanResult, Side, Status, Universe, Venue,
)

__all__ = [
    "Decomposition", "Engine", "EngineInputError", "Evaluation", "FeeSchedule", "Kind", "Lane",
    "Leg", "Market", "Book", "Opportunity", "Quote", "Relation", "RelationKind",
    "ScanResult", "Side", "Status", "Universe", "Venue", "decompose", "decompose_packed", "evaluate",
    "implementation", "order_fee", "scan", "scan_packed",
]


def _native():
    from arbbot.engine import native
    return native


_twin_package = None


def _twin():
    """arbbot.engine.twin with its modules, imported on first use (not for a Swift scan)."""
    global _twin_package
    if _twin_package is None:
        import arbbot.engine.twin.decompose
        import arbbot.engine.twin.engine
        import arbbot.engine.twin.evaluate
        import arbbot.engine.twin.fees
        _twin_package = arbbot.engine.twin
    return _twin_package


def decompose(venue: int, book: Book, *, engine: str | None = None) -> Decomposition:
    if implementation("decompose", engine) == "swift":
        return _native().decompose(venue, book)
    return _twin().decompose.decompose(venue, book)


def decompose_packed(venue: int, packed, *, engine: str | None = None) -> Decomposition:
    """`decompose` of a book in the session's packed form (an int64 array: the four side counts,
    then the (price, qty) pairs; `arbbot.run.live.pack`), without building the Book's tuples
    on the Swift path."""
    return packed_decomposer(engine)(venue, packed)


def packed_decomposer(engine: str | None = None):
    """`decompose_packed` with its implementation chosen now, once: a function (venue, packed)
    → Decomposition for a caller on the hot path (no selection or import per call)."""
    if implementation("decompose", engine) == "swift":
        return _native().decompose_packed
    twin = _twin().decompose.decompose

    def decompose_twin(venue: int, packed) -> Decomposition:
        check_venue(venue)                  # first, as on the Swift path
        return twin(venue, unpack_book(*split_packed(packed)))
    return decompose_twin


def order_fee(schedule: FeeSchedule, fills, *, engine: str | None = None) -> int:
    if implementation("fees", engine) == "swift":
        return _native().order_fee(schedule, fills)
    return _twin().fees.order_fee(schedule, fills)


def evaluate(qty: int, profit: int, cost: int, fee: int, confidence: float, fill_prob: float,
             loss: float, sigma: float, *, engine: str | None = None) -> Evaluation:
    args = (qty, profit, cost, fee, confidence, fill_prob, loss, sigma)
    if implementation("eval", engine) == "swift":
        return _native().evaluate(*args)
    return _twin().evaluate.evaluate(*args)


class Engine:
    """A universe held by one implementation: `scan()` for everything, `update(market, book)`
    to replace one market's book and get only the opportunities touching it."""

    def __init__(self, universe: Universe, *, engine: str | None = None) -> None:
        self.implementation = implementation("lanes", engine)
        self._names = {m.name: i for i, m in enumerate(universe.markets)}
        self._impl = (_native().NativeEngine(universe) if self.implementation == "swift"
                      else _twin().engine.TwinEngine(universe))
        # whether an opportunity can be sized on this engine's own books (`size_legs`): Swift only
        self.sizes_on_books = self.implementation == "swift"
        if self.sizes_on_books:                  # the glue's method itself (see `size_legs`)
            self.size_legs = self._impl.size_legs

    def scan(self) -> ScanResult:
        return self._impl.scan()

    def update(self, market: int | str, book: Book) -> ScanResult:
        if isinstance(market, str):
            if market not in self._names:
                raise EngineInputError(Status.MARKET, f"unknown market {market!r}")
            market = self._names[market]
        return self._impl.update(market, book)

    def size_legs(self, *args) -> tuple:
        """See `arbbot.sizing.on_engine` (Swift engines only: an instance attribute there, the
        glue's method, so that a found frame's sizing crosses no Python frame to reach it)."""
        raise EngineInputError(Status.ARGUMENT, "size_legs needs the Swift engine")

    def nearest(self, capacity: int) -> tuple[int, ...]:
        """The candidates nearest an arbitrage now (indices in `build_candidates` order): up to
        `capacity` of those whose every leg's side has a level in a tradeable market, by their
        edge at the best levels (payout less each leg's best-level cost with its unrounded fee,
        exact) descending, ties by index ascending. The live ones (edge > 0) come first; the
        rest are those a small move makes live. EngineInputError LENGTH for a negative capacity."""
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise EngineInputError(Status.LENGTH, f"capacity must be an int >= 0, not {capacity!r}")
        return self._impl.nearest(capacity)

    def set_limits(self, max_qty: int | None, min_profit: int) -> None:
        """Change the universe's `max_qty` (lots, None = no cap) and `min_profit` (µ$) in place: every
        later scan and update sizes with them, exactly as an engine built with them would (an
        operator's live change, without rebuilding the candidates and books). EngineInputError
        QTY / MONEY as a universe with them (nothing changes)."""
        from arbbot.engine.twin.engine import check_limits
        check_limits(max_qty, min_profit)
        self._impl.set_limits(max_qty, min_profit)

    def update_packed(self, market: int, levels, counts=None) -> ScanResult:
        """`update` for a book already packed as the ABI's int64 pairs (sides back to back:
        yes_bids, yes_asks, no_bids, no_asks) and four counts, e.g. from
        `arbbot.engine.native.pack_book`; with `counts` None, `levels` is the session's packed
        book (`arbbot.run.live.pack`: the four counts, then the pairs). Skips building tuples on
        the hot path."""
        if self.implementation == "swift":
            return self._impl.update_packed(market, levels, counts)
        check_market(market, len(self._names))      # first, as on the Swift path
        if counts is None:
            levels, counts = split_packed(levels)
        else:
            levels = int64_values(levels)
            counts = side_counts(counts, len(levels))
        return self._impl.update(market, unpack_book(levels, counts))


def int64_values(buffer) -> list[int]:
    """The Python ints of a one-dimensional C-contiguous int64 buffer (array('q'), numpy int64),
    the only buffer the Swift glue takes; EngineInputError ARGUMENT for anything else (a list,
    uint64 or int32 items, a strided or big-endian array), as the Swift path reports the glue's
    refusal."""
    try:
        view = memoryview(buffer)
    except TypeError:
        view = None
    if (view is None or view.ndim != 1 or not view.c_contiguous or view.itemsize != 8
            or view.format[-1] not in "ql" or view.format[:-1] not in ("", "<", "=", "@")):
        raise EngineInputError(Status.ARGUMENT, "a packed book must be a contiguous int64 buffer")
    return view.cast("B").cast("q").tolist()


def side_counts(counts, n_values: int) -> tuple[int, int, int, int]:
    """The four side counts of `n_values` int64 pair values, read and checked as the Swift glue
    reads them: ARGUMENT for a count that is not an integer, LENGTH unless 4 counts in 0…2^40
    whose pairs fill exactly `n_values`."""
    read = []
    try:
        counts = tuple(counts)
        if len(counts) != 4:
            raise EngineInputError(Status.LENGTH, "a book has 4 side counts (yes_bids, yes_asks, no_bids, no_asks)")
        for count in counts:
            read.append(operator.index(count))
            if not 0 <= read[-1] <= 1 << 40:
                raise EngineInputError(Status.LENGTH, "a side count is negative or absurdly large")
    except TypeError:
        raise EngineInputError(Status.ARGUMENT, "the side counts must be 4 integers") from None
    if 2 * sum(read) != n_values:
        raise EngineInputError(Status.LENGTH, "a book holds exactly 2 * sum(counts) int64 values after its counts")
    return tuple(read)


def split_packed(packed) -> tuple[list[int], tuple[int, int, int, int]]:
    """(pairs, the four counts) of a packed book (counts first) as Python ints, checked as the
    Swift glue checks it (`int64_values`, then `side_counts`)."""
    values = int64_values(packed)
    if len(values) < 4:
        raise EngineInputError(Status.LENGTH, "a packed book starts with its 4 side counts")
    return values[4:], side_counts(values[:4], len(values) - 4)


def unpack_sides(levels, counts) -> list[tuple]:
    """The four sides, as tuples of (price, qty) pairs, of packed int64 pairs + four side counts."""
    sides, at = [], 0
    for count in counts:
        end = at + 2 * count
        sides.append(tuple(zip(levels[at:end:2], levels[at + 1:end:2])))
        at = end
    return sides


def unpack_book(levels, counts) -> Book:
    """The Book of packed int64 pairs + four side counts (inverse of pack_book)."""
    return Book(*unpack_sides(levels, counts))


def scan(universe: Universe, *, engine: str | None = None) -> ScanResult:
    return Engine(universe, engine=engine).scan()


def scan_packed(buffers: dict, names: list[str]) -> ScanResult:
    """`scan` on the Swift engine of a universe already packed as `native.pack_universe` packs
    it (`arbbot.snapshot.load_snapshot_packed`), `names` its markets' `venue:id` in order."""
    return _native().NativeEngine.from_buffers(buffers, names).scan()
