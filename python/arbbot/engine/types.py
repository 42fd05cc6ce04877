"""Value types of the hot path, shared by the Swift engine's wrapper and the Python twin.

Integer codes mirror Sources/CShims/include/arb_engine.h exactly. Venue, Side, Level,
FeeSchedule and Book come from the one model (`arbbot.model`). Units: price ticks
(1e-4 $/contract), quantity lots (0.01 contract), money µ$, fee rates ppm.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum

from arbbot.model import Book, FeeSchedule, Labelled, Level, Side, Venue
from arbbot.units import TICKS_PER_DOLLAR

class RelationKind(Labelled):
    SAME = 0
    INVERSE = 1
    COMPLEMENT = 2
    EQUIVALENT = 3
    BUCKET = 4
    TREE = 5
    IMPLIES = 6


class Lane(Labelled):
    INTRA = 0
    CROSS = 1
    BUCKET = 2
    PARITY = 3
    TREE = 4


class Kind(Labelled):
    YES_NO = 0
    YES_A_NO_B = 1
    NO_A_YES_B = 2
    YES_A_YES_B = 3
    NO_A_NO_B = 4
    ALL_NO = 5
    ALL_YES = 6
    PARENT_NO_CHILDREN_YES = 7
    PARENT_YES_CHILDREN_NO = 8
    PARENT_YES_CHILD_NO = 9


class Status(IntEnum):
    """Error codes of the C ABI (ARB_E_*); the twin raises the same ones."""
    OK = 0
    NULL = 1
    PRICE = 2
    QTY = 3
    VENUE = 4
    KIND = 5
    LENGTH = 6
    BIDS_ONLY = 7
    MARKET = 8
    RELATION = 9
    RATE = 10
    MONEY = 11
    LOT = 12
    FLOAT = 13
    CAPACITY = 14
    NAME = 15
    OVERFLOW = 16
    ARGUMENT = 17


class EngineInputError(ValueError):
    """Bad input to an engine function. `status` is the ABI error code, `index` the offending
    market or relation index when there is one (else -1)."""

    def __init__(self, status: Status, message: str, index: int = -1) -> None:
        super().__init__(message)
        self.status = Status(status)
        self.index = index

    def __eq__(self, other: object) -> bool:  # parity tests compare errors across engines
        return (isinstance(other, EngineInputError) and self.status == other.status
                and self.index == other.index)

    __hash__ = ValueError.__hash__


PRICE_MAX = TICKS_PER_DOLLAR
LEVEL_QTY_MAX = 100_000_000


def within_engine(book: Book) -> Book:
    """`book` with every level's quantity at most LEVEL_QTY_MAX lots (1,000,000 contracts), as the
    engines accept it: a venue may show more at one price (Polymarket's 0.1¢ / 99.9¢ walls), and
    refused, such a book would leave the engine on the one before it. A level then offers a
    million contracts, still more than a trade takes. `book` itself when no level is above."""
    sides = book.sides()
    if all(q <= LEVEL_QTY_MAX for side in sides for _p, q in side):
        return book
    yes_bids, yes_asks, no_bids, no_asks = (tuple((p, min(q, LEVEL_QTY_MAX)) for p, q in side) for side in sides)
    return dataclasses.replace(book, yes_bids=yes_bids, yes_asks=yes_asks, no_bids=no_bids, no_asks=no_asks)
RATE_MAX_PPM = 999_999
MONEY_FEE_MAX = 1_000_000_000_000
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Market:
    venue: Venue
    id: str
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    lot: int = 100                 # lots per tradable unit: 100 (1 contract) or 1 (0.01)
    book: Book = field(default_factory=Book)
    title: str = ""

    @property
    def name(self) -> str:
        """The market's name elsewhere in a snapshot: `venue:id`."""
        return f"{self.venue.label}:{self.id}"


@dataclass(frozen=True, slots=True)
class Relation:
    """A relation between markets; `members` are market indices in leg order
    (a, b | bucket members | tree parent then children | implies parent then child)."""
    kind: RelationKind
    members: tuple[int, ...]
    exhaustive: bool = False
    confidence: int | None = None   # millionths, None = unstated


@dataclass(frozen=True, slots=True)
class Universe:
    markets: tuple[Market, ...]
    relations: tuple[Relation, ...] = ()
    max_qty: int | None = None      # lots per opportunity; None = no cap
    min_profit: int = 1             # µ$

    def index_of(self, name: str) -> int:
        for i, market in enumerate(self.markets):
            if market.name == name:
                return i
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class Quote:
    """Best prices of a decomposed book (ticks; None when missing)."""
    best_bid_yes: int | None
    best_ask_yes: int | None
    best_bid_no: int | None
    best_ask_no: int | None
    mid: int | None           # (askYES + 10,000 − askNO) / 2, half to even
    overround: int | None     # askYES + askNO − 10,000
    crossed: bool             # crossed or locked: untradeable


@dataclass(frozen=True, slots=True)
class Decomposition:
    """Effective ask ladders (ascending, one level per price) and the quote summary."""
    yes: tuple[Level, ...]
    no: tuple[Level, ...]
    quote: Quote


@dataclass(frozen=True, slots=True)
class Leg:
    market: str               # `venue:id`
    side: Side
    qty: int                  # lots
    worst_price: int          # ticks
    cost: int                 # µ$
    fee: int                  # µ$


@dataclass(frozen=True, slots=True)
class Opportunity:
    id: str                   # 16 hex digits (spec/ARBITRAGE.md)
    lane: Lane
    kind: Kind
    qty: int                  # lots
    payout: int               # µ$
    cost: int                 # µ$
    fee: int                  # µ$
    profit: int               # µ$
    legs: tuple[Leg, ...]

    def touches(self, market: str) -> bool:
        return any(leg.market == market for leg in self.legs)


@dataclass(frozen=True, slots=True)
class ScanResult:
    opportunities: tuple[Opportunity, ...]
    untradeable: tuple[str, ...]      # market names, in market order


@dataclass(frozen=True, slots=True)
class Evaluation:
    ev: float                 # $ per contract
    kelly: float              # fraction of bankroll, [0, 1]
    shrunk: float             # Baker–McHale shrunk fraction, [0, 1]
