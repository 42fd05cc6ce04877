"""The one model of markets, books and fees: adapters parse wire messages straight into it, the
engine packs it, sizing, execution, risk and the views read it.

Units (spec/ARBITRAGE.md, `arbbot.units`): prices in ticks ($0.0001), quantities in lots (0.01
contract), money in µ$, fee rates in ppm — integers everywhere. A market is a `MarketId` (venue +
the venue's own id); its string form `venue:id` appears only at the edges (CLI, files, logs, the
engine's C ABI names).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from arbbot.units import LOTS_PER_CONTRACT, TICKS_PER_DOLLAR

# A level is (price ticks, qty lots).
Level = tuple[int, int]


class Labelled(IntEnum):
    """An ABI enum whose lower-case name is its spelling in files, logs and venue wire formats."""

    def __init__(self, *_value) -> None:
        self._label = self._name_.lower()      # once per member: `label` is read per book update

    @property
    def label(self) -> str:
        return self._label

    @classmethod
    def parse(cls, label: str):
        """The member spelled `label` ("kalshi", "yes"); ValueError naming the choices otherwise."""
        try:
            return cls[label.upper()]
        except (KeyError, AttributeError):
            choices = ", ".join(m.label for m in cls)
            raise ValueError(f"{label!r} is not a {cls.__name__.lower()} ({choices})") from None


class Venue(Labelled):
    KALSHI = 0
    POLYMARKET = 1
    FORECASTEX = 2

    @property
    def bids_only(self) -> bool:
        """Kalshi and ForecastEx publish bids only (buy-only contracts)."""
        return self is not Venue.POLYMARKET

    @property
    def closes_at_ends_trading(self) -> bool:
        """A market's `closes_at` ends its trading: Kalshi's close_time, IB's last trade time. Not
        Polymarket's endDate (its markets take orders until the venue closes them)."""
        return self is not Venue.POLYMARKET

    @property
    def top_of_book_only(self) -> bool:
        """ForecastEx's books are IB's top of book: one level a side, those below it hidden, not gone."""
        return self is Venue.FORECASTEX


class Side(Labelled):
    """The outcome side a leg or an order buys (or sells)."""
    YES = 0
    NO = 1

    @property
    def other(self) -> "Side":
        return Side.NO if self is Side.YES else Side.YES


@dataclass(frozen=True, slots=True)
class MarketId:
    """One market: the venue and the venue's own id (Kalshi ticker, Polymarket condition id,
    ForecastEx `SYMBOL-YYYYMMDD-STRIKE`). `str()` gives the edge form `venue:id`."""
    venue: Venue
    id: str

    def __str__(self) -> str:
        return f"{self.venue.label}:{self.id}"

    @classmethod
    def parse(cls, name: str) -> "MarketId":
        """`venue:id` → MarketId; ValueError on an unknown venue or a missing id."""
        venue, sep, ident = name.partition(":")
        if not sep or not ident:
            raise ValueError(f"{name!r} is not a market name (venue:id)")
        return cls(Venue.parse(venue), ident)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Taker fee of one market: rate part `taker_rate_ppm` × p(1−p) per contract rounded up to
    `rounding` µ$ per order, plus `per_contract` µ$ per contract (rounded up to whole µ$).
    `maker_rate_ppm` is informational: makers pay nothing in any lane."""
    taker_rate_ppm: int = 0
    per_contract: int = 0
    rounding: int = 1
    maker_rate_ppm: int = 0


@dataclass(frozen=True, slots=True)
class Book:
    """A market's book as its venue publishes it: Kalshi / ForecastEx bids only, Polymarket one
    book per token (all four sides). Levels are (price ticks, qty lots); adapters emit them best
    first, the engine accepts any order (duplicates add up, qty 0 is ignored).

    `market` names the book's market where it travels alone (adapters, feeds); a book inside an
    engine `Market` needs none. `tradeable` is False while the adapter distrusts the book
    (sequence gap, hash mismatch, disconnect): such a book must not be traded on."""
    yes_bids: tuple[Level, ...] = ()
    yes_asks: tuple[Level, ...] = ()
    no_bids: tuple[Level, ...] = ()
    no_asks: tuple[Level, ...] = ()
    market: MarketId | None = None
    tradeable: bool = True
    reason: str = ""

    def sides(self) -> tuple[tuple[Level, ...], ...]:
        """The four native sides in ABI order: yes_bids, yes_asks, no_bids, no_asks."""
        return (self.yes_bids, self.yes_asks, self.no_bids, self.no_asks)

    @property
    def venue(self) -> Venue:
        return self.market.venue

    @property
    def market_id(self) -> str:
        return self.market.id

    def best_yes_bid(self) -> int | None:
        return self.yes_bids[0][0] if self.yes_bids else None

    def best_no_bid(self) -> int | None:
        return self.no_bids[0][0] if self.no_bids else None


# where an order's price may sit (MarketInfo.price_grid)
UNIFORM, TAPERED = "uniform", "tapered_deci_cent"
_TAPER_LOW, _TAPER_HIGH, _TAPER_MID_TICK = 1_000, 9_000, 100   # ticks: $0.10, $0.90, $0.01


@dataclass(frozen=True)
class MarketInfo:
    """One binary market as discovered on a venue, with the rules its orders must follow.

    `market_id` is the venue's own id; `yes_token` / `no_token` are venue handles for the two
    sides (Polymarket token ids, ForecastEx conIds as strings; empty on Kalshi). `lot_lots` is the
    smallest tradable quantity (100 = 1 contract, 1 = 0.01). `price_grid`: UNIFORM = every
    `tick_ticks`; TAPERED = Kalshi `tapered_deci_cent` ($0.001 steps up to $0.10 and from $0.90,
    $0.01 between; `tick_ticks` is the finest step). `min_price_ticks` / `max_price_ticks`: the
    order price bounds (0: one tick / $1 − one tick)."""
    venue: Venue
    market_id: str
    title: str
    event_id: str = ""
    fees: FeeSchedule = FeeSchedule()
    lot_lots: int = LOTS_PER_CONTRACT
    tick_ticks: int = 100
    yes_token: str = ""
    no_token: str = ""
    neg_risk: bool = False
    neg_risk_augmented: bool = False
    active: bool = True
    extra: tuple[tuple[str, str], ...] = ()
    price_grid: str = UNIFORM
    min_price_ticks: int = 0
    max_price_ticks: int = 0
    closes_at: str = ""             # UTC `YYYY-MM-DDTHH:MM:SSZ` when trading closes, "" if the venue does not say
    category: str = ""

    @property
    def id(self) -> MarketId:
        return MarketId(self.venue, self.market_id)


@dataclass(frozen=True)
class EventInfo:
    venue: Venue
    event_id: str
    title: str
    market_ids: tuple[str, ...] = ()
    mutually_exclusive: bool = False
    exhaustive: bool = False        # False for Polymarket augmented neg-risk groups


def utc_second(text: str) -> str:
    """A venue's RFC 3339 / ISO 8601 time as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds, the
    snapshot's form); "" when it is empty or unreadable (the venue did not say)."""
    from datetime import datetime, timezone
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return ""
    if t.tzinfo is None:
        return ""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_ms(text: str) -> int:
    """A venue's RFC 3339 / ISO 8601 time with its offset → unix ms; ValueError when it is not
    one (no offset included: a local time names no instant)."""
    from datetime import datetime, timedelta, timezone
    t = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"{text!r}: a time without its UTC offset")
    return (t - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)


def price_bounds(m: MarketInfo) -> tuple[int, int]:
    """(lowest, highest) limit price in ticks an order on `m` may carry."""
    lo = m.min_price_ticks or m.tick_ticks
    hi = m.max_price_ticks or TICKS_PER_DOLLAR - m.tick_ticks
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


__all__ = ["Book", "EventInfo", "FeeSchedule", "Labelled", "Level", "MarketId", "MarketInfo", "Side",
           "TAPERED", "UNIFORM", "Venue", "floor_price", "on_grid", "price_bounds", "utc_second"]
