"""Trading values of the venue adapters: orders, fills, positions, balances, trades, book updates.

Markets, books, sides, venues and fee schedules are the one model's (`arbbot.model`, re-exported
here for the adapters). All prices are ticks, quantities lots, money µ$ (`arbbot.units`); a venue
adapter converts its wire messages into these types and never lets a venue float leak through.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from arbbot.engine import unpack_sides
from arbbot.model import (  # noqa: F401  (re-exported: the adapters' vocabulary)
    TAPERED, UNIFORM, Book, EventInfo, FeeSchedule, Level, MarketId, MarketInfo, Side, Venue, floor_price,
    on_grid, price_bounds,
)


def held(b: Book, reason: str) -> Book:
    """`b` untradeable for `reason` (the venue takes no orders now: trading paused, its matching
    engine restarting; or its fees are above the ones it is priced with); the levels are kept. A
    book already untradeable keeps its own reason."""
    return dataclasses.replace(b, tradeable=False, reason=reason) if b.tradeable else b


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
    """Buy (or sell) `qty_lots` of `side` at limit `price_ticks` (the side's own price).

    `spend_micros` (a BUY; 0 = `price_ticks × qty_lots`): what the fills the order is priced on
    cost at the book, µ$. Venues whose marketable BUY spends a dollar amount rather than buying a
    number of shares (Polymarket's FAK/FOK: adapters with `buys_by_amount`) spend this instead of
    the limit's cost, so that fills below the limit do not buy more shares than `qty_lots`."""
    market_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    action: Action = Action.BUY
    tif: TimeInForce = TimeInForce.GTC
    client_order_id: str = ""
    post_only: bool = False
    spend_micros: int = 0


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


class Settlement(str, enum.Enum):
    """Where a fill stands in its venue's settlement. Kalshi's and IB's fills are final when
    listed; a Polymarket trade is matched by the CLOB, then settled on chain, and may still be
    reverted meanwhile (docs.polymarket.com/developers/CLOB/trades/trades-overview: MATCHED, MINED,
    RETRYING, then CONFIRMED or FAILED, the two terminal statuses)."""
    PENDING = "pending"            # matched, not final: may still fail (MATCHED, MINED, RETRYING)
    FINAL = "final"                # can no longer be undone (CONFIRMED)
    FAILED = "failed"              # reverted: no tokens and no cash moved, it never was a fill (FAILED)


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
    # False while the venue may still revert it (`Settlement.PENDING`: a Polymarket trade not yet
    # CONFIRMED); the executor then watches it (`VenueClient.fill_settlement`)
    final: bool = True


@dataclass(frozen=True)
class Position:
    venue: Venue
    market_id: str
    yes_lots: int          # signed net: > 0 YES contracts held, < 0 NO contracts held (Kalshi convention)
    fees_paid_micros: int = 0


@dataclass(frozen=True)
class Resolution:
    """How a market settled, once the venue's public market data says the result is final.

    `yes_value`: µ$ one YES lot pays (0 … 10,000 = $0 … $0.01 a lot, i.e. $0 … $1 a contract); a NO
    lot pays 10,000 − yes_value. `result` "yes" (10,000), "no" (0), "scalar" (a split value, e.g. a
    Polymarket 50/50 at 5,000, a Kalshi scalar market's settlement value), or "void" (the venue
    returns every position at its cost; `yes_value` None). `resolved_ms`: the venue's settlement
    time (ms since the epoch; 0 when it gives none). `paid`: True when the venue credits the payout
    to cash and drops the position at settlement (Kalshi's `finalized`, ForecastEx at expiry);
    False when the position stays until it is redeemed (Polymarket's outcome tokens; a paper
    account, which holds it)."""
    venue: Venue
    market_id: str
    result: str
    yes_value: int | None
    resolved_ms: int = 0
    paid: bool = False

    def __post_init__(self) -> None:
        if self.result not in ("yes", "no", "scalar", "void"):
            raise ValueError(f"resolution result must be yes|no|scalar|void, not {self.result!r}")
        if (self.yes_value is None) != (self.result == "void"):
            raise ValueError("a void resolution has no yes_value; every other one has one")
        if self.yes_value is not None and not (isinstance(self.yes_value, int) and 0 <= self.yes_value <= 10_000):
            raise ValueError(f"yes_value must be an integer 0..10000 µ$ per lot, not {self.yes_value!r}")

    def lot_value(self, yes_lots: int) -> int | None:
        """µ$ a signed net position of `yes_lots` (> 0 YES, < 0 NO) pays; None when void (at cost)."""
        return lot_value(self.yes_value, yes_lots)


def lot_value(yes_value: int | None, yes_lots: int) -> int | None:
    """µ$ a net position of `yes_lots` YES lots (< 0: NO lots) pays when a YES lot pays `yes_value`
    µ$ and a NO lot 10,000 − it; None when void (`yes_value` None: returned at cost)."""
    if yes_value is None:
        return None
    return yes_lots * yes_value if yes_lots >= 0 else -yes_lots * (10_000 - yes_value)


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

