"""Unified venue model: frozen values shared by every adapter.

All prices are ticks, quantities lots, money µ$ (see `units`). A venue adapter converts its wire
messages into these types and never lets a venue float leak through.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Venue(str, enum.Enum):
    KALSHI = "kalshi"
    POLYMARKET = "polymarket"
    FORECASTEX = "forecastex"


class Side(str, enum.Enum):
    """The outcome side an order buys (or sells)."""
    YES = "yes"
    NO = "no"

    @property
    def other(self) -> "Side":
        return Side.NO if self is Side.YES else Side.YES


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
class FeeSchedule:
    """A market's fee schedule in engine units (spec/ARBITRAGE.md "Fees").

    taker_ppm / maker_ppm: p(1−p) coefficients in ppm; per_contract_micros: fixed µ$ per
    contract; rounding_micros: the per-order increment the rate part rounds up to (None = 1 µ$).
    """
    taker_ppm: int = 0
    maker_ppm: int = 0
    per_contract_micros: int = 0
    rounding_micros: int | None = None


@dataclass(frozen=True)
class MarketInfo:
    """One binary market as discovered on a venue.

    `market_id` is the id used in snapshots (Kalshi ticker, Polymarket condition id,
    ForecastEx `SYMBOL-YYYYMMDD-STRIKE`). `yes_token`/`no_token` are venue handles for the two
    sides (Polymarket token ids, ForecastEx conIds as strings; empty on Kalshi).
    `lot_lots` is the smallest tradable quantity in lots (100 = 1 contract, 1 = 0.01).
    """
    venue: Venue
    market_id: str
    title: str
    event_id: str = ""
    fees: FeeSchedule = FeeSchedule()
    lot_lots: int = 100
    tick_ticks: int = 100
    yes_token: str = ""
    no_token: str = ""
    neg_risk: bool = False
    neg_risk_augmented: bool = False
    active: bool = True
    extra: tuple[tuple[str, str], ...] = ()
    # where prices may sit: UNIFORM = every `tick_ticks`; TAPERED = Kalshi `tapered_deci_cent`
    # ($0.001 steps up to $0.10 and from $0.90, $0.01 between; `tick_ticks` is the finest step)
    price_grid: str = "uniform"
    min_price_ticks: int = 0        # lowest limit price an order may carry (0: one tick)
    max_price_ticks: int = 0        # highest (0: $1 − one tick)


@dataclass(frozen=True)
class EventInfo:
    venue: Venue
    event_id: str
    title: str
    market_ids: tuple[str, ...] = ()
    mutually_exclusive: bool = False
    exhaustive: bool = False        # False for Polymarket augmented neg-risk groups


Level = tuple[int, int]
"""(price_ticks, qty_lots)."""


@dataclass(frozen=True)
class NativeBook:
    """A market's book in the engine's native form (spec/ARBITRAGE.md "Books").

    Kalshi/ForecastEx: `yes_bids`, `no_bids` only. Polymarket: all four (one book per token).
    Levels are (price_ticks, qty_lots), sorted by price descending (best first), sizes > 0.
    `tradeable` is False while the adapter distrusts the book (sequence gap, hash mismatch,
    disconnect) — such a book must not be traded on.
    """
    venue: Venue
    market_id: str
    yes_bids: tuple[Level, ...] = ()
    no_bids: tuple[Level, ...] = ()
    yes_asks: tuple[Level, ...] = ()
    no_asks: tuple[Level, ...] = ()
    tradeable: bool = True
    reason: str = ""

    def best_yes_bid(self) -> int | None:
        return self.yes_bids[0][0] if self.yes_bids else None

    def best_no_bid(self) -> int | None:
        return self.no_bids[0][0] if self.no_bids else None


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
    book: NativeBook
    recv_ts_ms: int = 0


@dataclass
class MarketRecord:
    """A market with its latest book, as held by a data client (mutable container)."""
    info: MarketInfo
    book: NativeBook | None = None
    meta: dict = field(default_factory=dict)


UNIFORM, TAPERED = "uniform", "tapered_deci_cent"
_TAPER_LOW, _TAPER_HIGH, _TAPER_MID_TICK = 1_000, 9_000, 100   # ticks: $0.10, $0.90, $0.01


def price_bounds(m: MarketInfo) -> tuple[int, int]:
    """(lowest, highest) limit price in ticks an order on `m` may carry."""
    lo = m.min_price_ticks or m.tick_ticks
    hi = m.max_price_ticks or 10_000 - m.tick_ticks
    return lo, hi


def on_grid(m: MarketInfo, price: int) -> bool:
    """Whether `price` (ticks) is a valid limit price on `m`: on its grid and within its bounds."""
    lo, hi = price_bounds(m)
    if not lo <= price <= hi:
        return False
    if m.price_grid == TAPERED and _TAPER_LOW < price < _TAPER_HIGH:
        return price % _TAPER_MID_TICK == 0
    return price % m.tick_ticks == 0


def floor_price(m: MarketInfo, price: int) -> int:
    """The highest valid limit price ≤ `price` on `m` (the lowest valid one if none is ≤)."""
    lo, hi = price_bounds(m)
    p = min(max(price, lo), hi)
    step = _TAPER_MID_TICK if m.price_grid == TAPERED and _TAPER_LOW < p < _TAPER_HIGH else m.tick_ticks
    p -= p % step
    return max(p, lo)
