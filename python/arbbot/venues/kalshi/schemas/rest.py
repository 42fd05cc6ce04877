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


def _direction(d: dict, what: str, default_action: str | None = None) -> tuple[Side, Action]:
    """An order's (or fill's) direction (side, action), as the venue reports it.

    The legacy `side` / `action` when the record has them (every read does today: OpenAPI 3.20
    still requires them on `Order`, deprecated, "will not be removed before May 14, 2026"; an
    empty string, as Go services write an absent optional one, counts as absent). Without them:
    `outcome_side` (yes | no: what the order adds — buy-YES and sell-NO give yes, buy-NO and
    sell-YES no), else `book_side` (bid = yes, ask = no), read as the BUY of that side. Both
    directions are the same trade on Kalshi's one book; which one a V2 order's legacy fields show
    is the venue's choice (a V2 ask is reported as a YES sale), so the execution client puts the
    orders it sent back in the direction it sent them (`KalshiExecutionClient.as_sent`).
    `default_action`: `action` when the record has `side` without it (None: required)."""
    side = d.get("side")
    if side not in (None, ""):
        try:
            action = d["action"] if default_action is None else (d.get("action") or default_action)
            return Side.parse(side), Action(action)
        except (KeyError, ValueError) as exc:
            raise ProtocolError(f"kalshi {what}: bad direction ({exc!r})", venue="kalshi") from None
    outcome, book = d.get("outcome_side"), d.get("book_side")
    if outcome in ("yes", "no"):
        return (Side.YES if outcome == "yes" else Side.NO), Action.BUY
    if outcome in (None, "") and book in ("bid", "ask"):
        return (Side.YES if book == "bid" else Side.NO), Action.BUY
    raise ProtocolError(f"kalshi {what}: no direction (side {side!r}, outcome_side {outcome!r}, "
                        f"book_side {book!r})", venue="kalshi")


def outcome_of(side: Side, action: Action) -> Side:
    """The outcome an order of `side` / `action` adds: buy YES and sell NO add YES, buy NO and
    sell YES add NO (Kalshi's "Order direction": `outcome_side`)."""
    return side if action is Action.BUY else side.other


def as_direction(side: Side, action: Action, price: int, want: tuple[Side, Action]) -> tuple[Side, Action, int] | None:
    """(side, action, price) re-expressed in the direction `want` (side, action) — the same order
    on Kalshi's one book: a sale of YES at p is a purchase of NO at 1 − p — or None when `want`
    adds the other outcome (not the same order)."""
    wside, waction = want
    if outcome_of(side, action) is not outcome_of(wside, waction):
        return None
    return wside, waction, price if wside is side else TICKS_PER_DOLLAR - price


def _own_price(d: dict, side: Side, what: str) -> int:
    """The price of `side` (ticks) from `yes_price_dollars` / `no_price_dollars` (the other one's
    complement when only it is there)."""
    own, other = ("yes_price_dollars", "no_price_dollars") if side is Side.YES else \
        ("no_price_dollars", "yes_price_dollars")
    if own in d:
        return _p(price_ticks, d[own], f"{what} {own}")
    if other in d:
        return TICKS_PER_DOLLAR - _p(price_ticks, d[other], f"{what} {other}")
    raise ProtocolError(f"kalshi {what}: no price", venue="kalshi")


def parse_order(d: dict) -> Order:
    """A REST `Order` (`GET /portfolio/orders[/{id}]`) → `Order`: direction as `_direction`, the
    price that side's, money exact from the order's own `taker/maker_fill_cost_dollars` and
    `taker/maker_fees_dollars`. ProtocolError when a required field is missing."""
    if not isinstance(d, dict):
        raise ProtocolError(f"kalshi order: not an object: {type(d).__name__}", venue="kalshi")
    try:
        side, action = _direction(d, "order")
        filled = _p(qty_lots, d.get("fill_count_fp", "0"), "fill_count_fp")
        remaining = _p(qty_lots, d.get("remaining_count_fp", "0"), "remaining_count_fp")
        initial = _p(qty_lots, d.get("initial_count_fp", "0"), "initial_count_fp") or filled + remaining
        return Order(V, d["order_id"], d.get("client_order_id", "") or "", d["ticker"], side, action,
                     _own_price(d, side, "order"), initial, filled, remaining,
                     STATUS_FROM_WIRE.get(d["status"], STATUS_FROM_WIRE["pending"]),
                     fees_micros=_p(money_micros, d.get("taker_fees_dollars", "0"), "fees")
                     + _p(money_micros, d.get("maker_fees_dollars", "0"), "fees"),
                     cost_micros=_p(money_micros, d.get("taker_fill_cost_dollars", "0"), "cost")
                     + _p(money_micros, d.get("maker_fill_cost_dollars", "0"), "cost"))
    except KeyError as exc:
        raise ProtocolError(f"kalshi order: missing field {exc}", venue="kalshi") from None


@dataclass(frozen=True)
class OrderAck:
    """What `POST /portfolio/events/orders` answers (CreateOrderV2Response; an item of the batched
    create's answer): the order's id and the lots filled at once / left. No money: the answer has
    only an average price and an average fee per contract, rounded, so cost and fees are read
    from the order itself (`GET /portfolio/orders/{order_id}`)."""
    order_id: str
    client_order_id: str
    filled_lots: int
    remaining_lots: int


def parse_order_ack(d, client_order_id: str) -> OrderAck:
    """A CreateOrderV2Response (required: order_id, fill_count, remaining_count, ts_ms) for the
    order sent as `client_order_id`. ProtocolError if it is not one, or names another client id."""
    if not isinstance(d, dict):
        raise ProtocolError(f"kalshi order answer: not an object: {type(d).__name__}", venue="kalshi")
    oid = d.get("order_id")
    if not isinstance(oid, str) or not oid:
        raise ProtocolError(f"kalshi order answer without an order_id: {str(d)[:200]}", venue="kalshi")
    coid = d.get("client_order_id") or client_order_id
    if coid != client_order_id:
        raise ProtocolError(f"kalshi order answer for client order {coid!r}, sent {client_order_id!r}",
                            venue="kalshi")
    if "fill_count" not in d or "remaining_count" not in d:
        raise ProtocolError(f"kalshi order answer without fill_count / remaining_count: {str(d)[:200]}",
                            venue="kalshi")
    return OrderAck(oid, coid, _p(qty_lots, d["fill_count"], "fill_count"),
                    _p(qty_lots, d["remaining_count"], "remaining_count"))


def parse_fill(d: dict) -> Fill:
    """A REST `Fill` → `Fill`: direction as `_direction` (`action` buy when absent), the price
    that side's (`yes_price_dollars`, or its complement), fee exact from `fee_cost`."""
    try:
        side, action = _direction(d, "fill", default_action="buy")
        yes = _p(price_ticks, d["yes_price_dollars"], "yes_price_dollars")
        return Fill(V, d.get("fill_id") or d["trade_id"], d["order_id"], d.get("market_ticker") or d["ticker"], side,
                    action, yes if side is Side.YES else TICKS_PER_DOLLAR - yes,
                    _p(qty_lots, d["count_fp"], "count_fp"), _p(money_micros, d.get("fee_cost", "0"), "fee_cost"),
                    bool(d.get("is_taker")), int(d.get("ts_ms") or int(d.get("ts") or 0) * 1000),
                    d.get("client_order_id", "") or "")
    except KeyError as exc:
        raise ProtocolError(f"kalshi fill: missing field {exc}", venue="kalshi") from None


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


HISTORY_CUTOFFS = ("trades_created_ts", "orders_updated_ts")   # GET /historical/cutoff: fills, orders


def parse_history_cutoff(d) -> int:
    """`GET /historical/cutoff` (GetHistoricalCutoffResponse: `market_settled_ts`,
    `trades_created_ts`, `orders_updated_ts`, each a required RFC 3339 date-time) → the unix ms
    from which `/portfolio/fills` lists every fill and `/portfolio/orders` every order: the later
    of `trades_created_ts` (fills before it: `/historical/fills` only) and `orders_updated_ts`
    (orders canceled or executed before it: `/historical/orders` only). ProtocolError if either
    is missing or not a date-time with its offset."""
    if not isinstance(d, dict):
        raise ProtocolError("kalshi /historical/cutoff: not an object", venue="kalshi")
    try:
        return max(utc_ms(d[k]) for k in HISTORY_CUTOFFS)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"kalshi /historical/cutoff: unreadable cutoff ({exc})", venue="kalshi") from None


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
