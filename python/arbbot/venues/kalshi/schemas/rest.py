"""Kalshi REST payloads → typed values. Fixed-point strings parsed exactly; legacy shapes tolerated."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from arbbot.venues.common.errors import ProtocolError
from arbbot.model import utc_ms
from arbbot.venues.common.model import Action, Balance, Fill, Order, Position, Resolution, Side, Venue
from arbbot.units import TICKS_PER_DOLLAR, UnitError, cents_to_micros, money_micros, price_ticks, qty_lots
from arbbot.venues.kalshi.common.enums import STATUS_FROM_WIRE

V = Venue.KALSHI


def _p(fn, value, what: str):
    try:
        return fn(value)
    except (UnitError, TypeError) as exc:
        raise ProtocolError(f"kalshi {what}: {exc}", venue="kalshi") from None


@dataclass(frozen=True)
class KalshiMarket:
    ticker: str
    event_ticker: str
    title: str
    status: str
    price_level_structure: str
    fractional: bool
    yes_bid: int
    yes_ask: int
    close_time: str = ""         # as Kalshi writes it (RFC 3339, UTC)


@dataclass(frozen=True)
class KalshiSeries:
    ticker: str
    fee_type: str
    fee_multiplier: Decimal      # exact, as the venue wrote it (any number of decimals)
    category: str = ""


def parse_market(d: dict) -> KalshiMarket:
    try:
        return KalshiMarket(
            ticker=d["ticker"], event_ticker=d["event_ticker"],
            title=d.get("title") or d.get("yes_sub_title", ""), status=d.get("status", ""),
            price_level_structure=d.get("price_level_structure", "linear_cent"),
            fractional=bool(d.get("fractional_trading_enabled", False)),
            yes_bid=_p(price_ticks, d.get("yes_bid_dollars", "0"), "yes_bid_dollars"),
            yes_ask=_p(price_ticks, d.get("yes_ask_dollars", "1"), "yes_ask_dollars"),
            close_time=str(d.get("close_time") or ""))
    except KeyError as exc:
        raise ProtocolError(f"kalshi market: missing field {exc}", venue="kalshi") from None


def parse_multiplier(value, what: str) -> Decimal:
    """A fee multiplier (a JSON number; the REST client decodes it with `parse_float=Decimal`, so
    exactly as written) → a finite Decimal ≥ 0. Also accepted: an int, decimal text, and a float
    (its shortest round-trip text, which is the JSON text the float came from). ProtocolError
    otherwise (bool, null, NaN, infinity, negative, anything else)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ProtocolError(f"kalshi {what}: not a number: {value!r}", venue="kalshi")
    try:
        mult = Decimal(repr(value) if isinstance(value, float) else value)
    except ArithmeticError:         # decimal.InvalidOperation: text that is not a number
        raise ProtocolError(f"kalshi {what}: not a number: {value!r}", venue="kalshi") from None
    if not mult.is_finite() or mult < 0:
        raise ProtocolError(f"kalshi {what}: {value!r} is not a multiplier", venue="kalshi")
    if mult == 0:
        return Decimal(0)
    if mult.adjusted() > 9 or mult.as_tuple().exponent < -40:   # keeps exact arithmetic on it small
        raise ProtocolError(f"kalshi {what}: {value!r} is out of range", venue="kalshi")
    return mult


def parse_series(d: dict) -> KalshiSeries:
    """A `Series` (OpenAPI: `ticker`, `fee_type`, `fee_multiplier` required). The fee type is kept
    as written (fees.py decides what it can price); ProtocolError if a field is missing or the
    multiplier is not one."""
    if not isinstance(d, dict):
        raise ProtocolError(f"kalshi series: not an object: {type(d).__name__}", venue="kalshi")
    try:
        ticker, fee_type, mult = d["ticker"], d["fee_type"], d["fee_multiplier"]
    except KeyError as exc:
        raise ProtocolError(f"kalshi series: missing field {exc}", venue="kalshi") from None
    if not isinstance(ticker, str) or not isinstance(fee_type, str):
        raise ProtocolError(f"kalshi series {ticker!r}: ticker and fee_type must be strings", venue="kalshi")
    return KalshiSeries(ticker, fee_type, parse_multiplier(mult, f"series {ticker} fee_multiplier"),
                        str(d.get("category") or ""))


def parse_levels(levels, what: str) -> list[tuple[int, int]]:
    """[[price_dollars, count_fp], ...] (any order) → [(ticks, lots)]. Legacy integer cents
    ([[42, 13]]) also accepted."""
    out = []
    for lv in levels or []:
        if not isinstance(lv, (list, tuple)) or len(lv) != 2:
            raise ProtocolError(f"kalshi {what}: bad level {lv!r}", venue="kalshi")
        p, q = lv
        if isinstance(p, int) and not isinstance(p, bool):
            out.append((p * 100, q * 100 if isinstance(q, int) else _p(qty_lots, q, what)))
        else:
            out.append((_p(price_ticks, p, what), _p(qty_lots, q, what)))
    return out


def parse_orderbook(body: dict) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """GET /markets/{t}/orderbook → (yes_bids, no_bids). Current `orderbook_fp` or legacy `orderbook`."""
    if "orderbook_fp" in body:
        ob = body["orderbook_fp"] or {}
        return parse_levels(ob.get("yes_dollars"), "yes_dollars"), parse_levels(ob.get("no_dollars"), "no_dollars")
    if "orderbook" in body:
        ob = body["orderbook"] or {}
        return parse_levels(ob.get("yes"), "yes"), parse_levels(ob.get("no"), "no")
    raise ProtocolError("kalshi orderbook: neither orderbook_fp nor orderbook in response", venue="kalshi")


def parse_order(d: dict) -> Order:
    side = Side.parse(d["side"])
    price_key = "yes_price_dollars" if side is Side.YES else "no_price_dollars"
    filled = _p(qty_lots, d.get("fill_count_fp", "0"), "fill_count_fp")
    remaining = _p(qty_lots, d.get("remaining_count_fp", "0"), "remaining_count_fp")
    initial = _p(qty_lots, d.get("initial_count_fp", "0"), "initial_count_fp") or filled + remaining
    return Order(V, d["order_id"], d.get("client_order_id", ""), d["ticker"], side, Action(d["action"]),
                 _p(price_ticks, d[price_key], price_key), initial, filled, remaining,
                 STATUS_FROM_WIRE.get(d["status"], STATUS_FROM_WIRE["pending"]),
                 fees_micros=_p(money_micros, d.get("taker_fees_dollars", "0"), "fees")
                 + _p(money_micros, d.get("maker_fees_dollars", "0"), "fees"),
                 cost_micros=_p(money_micros, d.get("taker_fill_cost_dollars", "0"), "cost")
                 + _p(money_micros, d.get("maker_fill_cost_dollars", "0"), "cost"))


def parse_fill(d: dict) -> Fill:
    side = Side.parse(d["side"])
    yes = _p(price_ticks, d["yes_price_dollars"], "yes_price_dollars")
    return Fill(V, d.get("fill_id") or d["trade_id"], d["order_id"], d.get("market_ticker") or d["ticker"], side,
                Action(d.get("action", "buy")), yes if side is Side.YES else TICKS_PER_DOLLAR - yes,
                _p(qty_lots, d["count_fp"], "count_fp"), _p(money_micros, d.get("fee_cost", "0"), "fee_cost"),
                bool(d.get("is_taker")), int(d.get("ts_ms") or int(d.get("ts") or 0) * 1000),
                d.get("client_order_id", ""))


def parse_balance(d: dict) -> Balance:
    if "balance_dollars" in d:
        cash = _p(money_micros, d["balance_dollars"], "balance_dollars")
    else:
        cash = cents_to_micros(int(d["balance"]))
    return Balance(V, cash, cents_to_micros(int(d.get("portfolio_value", 0))))


def parse_position(d: dict) -> Position:
    return Position(V, d["ticker"], _p(lambda v: qty_lots(v, signed=True), d["position_fp"], "position_fp"),
                    _p(money_micros, d.get("fees_paid_dollars", "0"), "fees_paid_dollars"))


def created_s(d: dict) -> int | None:
    """`created_time` (RFC 3339) of an order as unix seconds (floored); None if absent or unreadable."""
    try:
        t = datetime.fromisoformat(d["created_time"].replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return int((t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp() // 1)


FINAL_STATUSES = ("finalized", "settled")      # Market.status once the result is final (payouts made)


def is_final(d) -> bool:
    """A `Market` whose status says its result is final (`finalized` / `settled`), whatever its
    `result` shows (a voided market shows "": the OpenAPI Market.result has no "void")."""
    return isinstance(d, dict) and d.get("status") in FINAL_STATUSES


def _resolution(ticker, result, scalar_value, at_text) -> Resolution | None:
    """The `Resolution` a final Kalshi `result` gives (both the Market and the Settlement forms):
    yes → 10,000 µ$ per YES lot, no → 0, scalar → `scalar_value()` (µ$ per lot), void → None
    (positions returned at cost); None for another result (none yet). `at_text`: the settlement
    time (RFC 3339 or Unix s; 0 if absent or unreadable). `paid`: Kalshi credits the payout (or
    refund) and drops the position when it settles. ProtocolError without a ticker."""
    if not isinstance(ticker, str) or not ticker:
        raise ProtocolError("kalshi: a final market or settlement without a ticker", venue="kalshi")
    values = {"yes": lambda: TICKS_PER_DOLLAR, "no": lambda: 0, "scalar": scalar_value, "void": lambda: None}
    if result not in values:
        return None
    value = values[result]()
    try:
        at = utc_ms(at_text) if at_text else 0
    except ValueError:
        at = 0
    return Resolution(V, ticker, result, value, at, paid=True)


def parse_resolution(d: dict) -> Resolution | None:
    """A `Market` whose result is final → its `Resolution`; None while it is not (status not
    `finalized`/`settled`: `determined`, `disputed` and `amended` can still change) or its result
    is not known yet. Scalar → `settlement_value_dollars` (the YES payout per contract: $0.50 →
    5,000; dollars per contract × 10⁴ = µ$ per lot, parsed exactly); `resolved_ms` from
    `settlement_ts`. ProtocolError if a final scalar's value cannot be read."""
    if not is_final(d):
        return None
    ticker = d.get("ticker")

    def scalar() -> int:
        raw = d.get("settlement_value_dollars")
        if raw is None:
            raise ProtocolError(f"kalshi market {ticker}: scalar result without settlement_value_dollars",
                                venue="kalshi")
        return _p(price_ticks, raw, f"market {ticker} settlement_value_dollars")
    return _resolution(ticker, d.get("result"), scalar, d.get("settlement_ts"))


def parse_settlement_resolution(d: dict) -> Resolution | None:
    """A `Settlement` (`GET /portfolio/settlements`: this account's settlement of one market) →
    the market's `Resolution` by `market_result`; scalar → `value` (cents one YES contract paid:
    µ$ per lot = cents × 100); `resolved_ms` from `settled_time`. None for another
    `market_result`; ProtocolError if the ticker is missing or a scalar's `value` is not 0–100
    cents."""
    if not isinstance(d, dict):
        raise ProtocolError(f"kalshi settlement: not an object: {type(d).__name__}", venue="kalshi")
    ticker = d.get("ticker")

    def scalar() -> int:
        cents = d.get("value")
        if isinstance(cents, bool) or not isinstance(cents, int) or not 0 <= cents <= 100:
            raise ProtocolError(f"kalshi settlement {ticker}: scalar result with value {cents!r} "
                                "(cents per YES contract, 0-100)", venue="kalshi")
        return cents * 100                  # cents per contract → µ$ per lot (ticks per contract)
    return _resolution(ticker, d.get("market_result"), scalar, d.get("settled_time"))
