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

from arbbot.engine.select import implementation
from arbbot.engine.twin import decompose as _twin_decompose
from arbbot.engine.twin import evaluate as _twin_evaluate
from arbbot.engine.twin import fees as _twin_fees
from arbbot.engine.twin.engine import TwinEngine
from arbbot.engine.types import (
    Decomposition, EngineInputError, Evaluation, FeeSchedule, Kind, Lane, Leg, Market, Book,
    Opportunity, Quote, Relation, RelationKind, ScanResult, Side, Status, Universe, Venue,
)

__all__ = [
    "Decomposition", "Engine", "EngineInputError", "Evaluation", "FeeSchedule", "Kind", "Lane",
    "Leg", "Market", "Book", "Opportunity", "Quote", "Relation", "RelationKind",
    "ScanResult", "Side", "Status", "Universe", "Venue", "decompose", "decompose_packed", "evaluate",
    "implementation", "order_fee", "scan",
]


def _native():
    from arbbot.engine import native
    return native


def decompose(venue: int, book: Book, *, engine: str | None = None) -> Decomposition:
    if implementation("decompose", engine) == "swift":
        return _native().decompose(venue, book)
    return _twin_decompose.decompose(venue, book)


def decompose_packed(venue: int, packed, *, engine: str | None = None) -> Decomposition:
    """`decompose` of a book in the session's packed form (an int64 array: the four side counts,
    then the (price, qty) pairs; `arbbot.run.live.pack`), without building the Book's tuples
    on the Swift path."""
    counts = tuple(packed[:4])
    if implementation("decompose", engine) == "swift":
        return _native().decompose_levels(venue, memoryview(packed)[4:], counts)
    return _twin_decompose.decompose(venue, unpack_book(packed[4:], counts))


def order_fee(schedule: FeeSchedule, fills, *, engine: str | None = None) -> int:
    if implementation("fees", engine) == "swift":
        return _native().order_fee(schedule, fills)
    return _twin_fees.order_fee(schedule, fills)


def evaluate(qty: int, profit: int, cost: int, fee: int, confidence: float, fill_prob: float,
             loss: float, sigma: float, *, engine: str | None = None) -> Evaluation:
    args = (qty, profit, cost, fee, confidence, fill_prob, loss, sigma)
    if implementation("eval", engine) == "swift":
        return _native().evaluate(*args)
    return _twin_evaluate.evaluate(*args)


class Engine:
    """A universe held by one implementation: `scan()` for everything, `update(market, book)`
    to replace one market's book and get only the opportunities touching it."""

    def __init__(self, universe: Universe, *, engine: str | None = None) -> None:
        self.implementation = implementation("lanes", engine)
        self._names = {m.name: i for i, m in enumerate(universe.markets)}
        self._impl = (_native().NativeEngine(universe) if self.implementation == "swift"
                      else TwinEngine(universe))

    def scan(self) -> ScanResult:
        return self._impl.scan()

    def update(self, market: int | str, book: Book) -> ScanResult:
        if isinstance(market, str):
            if market not in self._names:
                raise EngineInputError(Status.MARKET, f"unknown market {market!r}")
            market = self._names[market]
        return self._impl.update(market, book)


    def update_packed(self, market: int, levels, counts) -> ScanResult:
        """`update` for a book already packed as the ABI's int64 pairs (sides back to back:
        yes_bids, yes_asks, no_bids, no_asks) and four counts, e.g. from
        `arbbot.engine.native.pack_book`. Skips building tuples on the hot path."""
        if self.implementation == "swift":
            return self._impl.update_packed(market, levels, counts)
        return self._impl.update(market, unpack_book(levels, counts))


def unpack_book(levels, counts) -> Book:
    """The Book of packed int64 pairs + four side counts (inverse of pack_book)."""
    sides, at = [], 0
    for count in counts:
        sides.append(tuple((levels[2 * i], levels[2 * i + 1]) for i in range(at, at + count)))
        at += count
    return Book(*sides)


def scan(universe: Universe, *, engine: str | None = None) -> ScanResult:
    return Engine(universe, engine=engine).scan()
