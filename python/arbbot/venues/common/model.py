"""Trading values of the venue adapters: orders, fills, positions, balances, trades, book updates.

Markets, books, sides, venues and fee schedules are the one model's (`arbbot.model`, re-exported
here for the adapters). All prices are ticks, quantities lots, money µ$ (`arbbot.units`); a venue
adapter converts its wire messages into these types and never lets a venue float leak through.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from arbbot.engine import unpack_sides
from arbbot.model import (  # noqa: F401  (re-exported: the adapters' vocabulary)
    TAPERED, UNIFORM, Book, EventInfo, FeeSchedule, Level, MarketId, MarketInfo, Side, Venue, floor_price,
    on_grid, price_bounds,
)


class Action(str, enum.Enum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(str, enum.Enum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    DAY = "day"


class OrderStatus(str, enum.Enum):
    PENDING = "pending"
    RESTING = "resting"            # accepted, live on the book (may be partially filled)
    FILLED = "filled"              # fully executed
    CANCELED = "canceled"          # canceled (may have partial fills)
    REJECTED = "rejected"


@dataclass(frozen=True)
class OrderRequest:
    """Buy (or sell) `qty_lots` of `side` at limit `price_ticks` (the side's own price)."""
    market_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    action: Action = Action.BUY
    tif: TimeInForce = TimeInForce.GTC
    client_order_id: str = ""
    post_only: bool = False


@dataclass(frozen=True)
class Order:
    venue: Venue
    order_id: str
    client_order_id: str
    market_id: str
    side: Side
    action: Action
    price_ticks: int
    qty_lots: int
    filled_lots: int
    remaining_lots: int
    status: OrderStatus
    fees_micros: int = 0
    cost_micros: int = 0


@dataclass(frozen=True)
class Fill:
    venue: Venue
    fill_id: str
    order_id: str
    market_id: str
    side: Side
    action: Action
    price_ticks: int
    qty_lots: int
    fee_micros: int
    is_taker: bool
    ts_ms: int = 0
    client_order_id: str = ""


@dataclass(frozen=True)
class Position:
    venue: Venue
    market_id: str
    yes_lots: int          # signed net: > 0 YES contracts held, < 0 NO contracts held (Kalshi convention)
    fees_paid_micros: int = 0


@dataclass(frozen=True)
class Balance:
    venue: Venue
    cash_micros: int
    portfolio_value_micros: int = 0


@dataclass(frozen=True)
class Trade:
    """A public trade print."""
    venue: Venue
    market_id: str
    trade_id: str
    yes_price_ticks: int
    qty_lots: int
    taker_side: Side
    ts_ms: int = 0


@dataclass(frozen=True)
class BookUpdate:
    """Emitted by a data client whenever a market's book changes (or its trust changes)."""
    book: Book
    recv_ts_ms: int = 0
    packed = None           # (not a field) a PackedBookUpdate's book, packed; None here


class PackedBookUpdate:
    """A `BookUpdate` whose book comes packed (a replay's: the record scanner packs it), as the
    session keeps books (`arbbot.run.live.pack`: an int64 array of the four side counts, then
    the (price ticks, lots) pairs). The session reads `packed`, `name`, `tradeable` and `reason`;
    `book`, the Book itself, is built the first time it is read (a paper fill, a quote) and is
    the same object after that."""
    __slots__ = ("market", "name", "packed", "tradeable", "reason", "recv_ts_ms", "_book")

    def __init__(self, market: MarketId, name: str, packed, tradeable: bool, reason: str, recv_ts_ms: int) -> None:
        self.market, self.name = market, name          # name: str(market), "venue:id"
        self.packed, self.tradeable, self.reason, self.recv_ts_ms = packed, tradeable, reason, recv_ts_ms
        self._book: Book | None = None

    @property
    def book(self) -> Book:
        book = self._book
        if book is None:
            packed = self.packed
            book = self._book = Book(*unpack_sides(packed[4:], packed[:4]), market=self.market,
                                     tradeable=self.tradeable, reason=self.reason)
        return book


@dataclass
class MarketRecord:
    """A market with its latest book, as held by a data client (mutable container)."""
    info: MarketInfo
    book: Book | None = None
    meta: dict = field(default_factory=dict)

