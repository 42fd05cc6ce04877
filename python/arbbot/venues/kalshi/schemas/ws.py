"""Kalshi WebSocket v2 messages → typed values.

Trap 1 (VENUES.md): snapshots and deltas use *different* field names. Snapshots carry
`yes_dollars_fp` / `no_dollars_fp` (legacy `yes_dollars`, `yes`); deltas carry `price_dollars` +
`delta_fp` (legacy `price` cents + `delta`). A delta parsed with the snapshot's names would be
silently empty, so every delta field here is required.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from arbbot.venues.common import wire_json
from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.model import Fill, Side, Trade, Venue
from arbbot.units import TICKS_PER_DOLLAR, UnitError, money_micros, price_ticks, qty_lots
from arbbot.venues.kalshi.schemas.rest import _direction, parse_levels, parse_multiplier


@dataclass(frozen=True)
class OrderbookSnapshot:
    sid: int
    seq: int
    ticker: str
    yes: tuple[tuple[int, int], ...]
    no: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class OrderbookDelta:
    sid: int
    seq: int
    ticker: str
    side: str
    price: int            # ticks of `side`'s own price (after use_yes_price conversion)
    delta: int            # signed lots
    client_order_id: str = ""
    ts_ms: int = 0


@dataclass(frozen=True)
class Subscribed:
    id: int
    sid: int
    channel: str


@dataclass(frozen=True)
class WsError:
    id: int
    code: int
    msg: str


@dataclass(frozen=True)
class TickerQuote:
    """A `ticker` channel update: top of book and last trade of one market.

    Prices in ticks of the YES leg (yes_bid 0 = no bid, yes_ask 10,000 = no ask, as the venue
    sends them); sizes, volume and open interest in lots. A field the frame does not carry is None.
    """
    market_id: str
    last_price_ticks: int | None
    yes_bid_ticks: int | None
    yes_ask_ticks: int | None
    yes_bid_lots: int | None = None
    yes_ask_lots: int | None = None
    last_trade_lots: int | None = None
    volume_lots: int | None = None
    open_interest_lots: int | None = None
    ts_ms: int = 0
    venue_uuid: str = ""


@dataclass(frozen=True)
class ChannelMsg:
    """A parsed `ticker` / `trade` / `fill` frame: `value` is a TickerQuote, Trade or Fill."""
    type: str
    sid: int | None
    seq: int | None
    value: object


@dataclass(frozen=True)
class EventFeeUpdate:
    """`event_fee_update` (on the `market_lifecycle_v2` channel): the fee terms of every market of
    `event_ticker` from now on. `fee_type` / `multiplier` None: that override is cleared (the
    series' own term applies again). `error` names a term that could not be read (the event's
    fees are then unknown)."""
    sid: int | None
    seq: int | None
    event_ticker: str
    fee_type: str | None
    multiplier: Decimal | None      # exact, as written on the wire
    error: str = ""


@dataclass(frozen=True)
class PriceLevelStructureUpdate:
    """`market_lifecycle_v2` with `event_type` `price_level_structure_updated`: `market_ticker`'s
    price grid from now on (`linear_cent`, `tapered_deci_cent`, `deci_cent`, or one not known)."""
    sid: int | None
    seq: int | None
    market_ticker: str
    price_level_structure: str


@dataclass(frozen=True)
class MarketTrading:
    """`market_lifecycle_v2` that stops or restarts trading in `market_ticker`: `deactivated` /
    `activated` (`is_deactivated`: trading paused on an open market, its resting orders kept),
    `determined` and `settled` (it trades no more). `held`: why it does not trade ("" = it trades
    again)."""
    sid: int | None
    seq: int | None
    market_ticker: str
    held: str
    ended: bool = False             # determined or settled: it never trades again


@dataclass(frozen=True)
class Other:
    type: str
    sid: int | None
    seq: int | None
    raw: dict


def _price(m: dict, new: str, old: str) -> int | None:
    """`*_dollars` string (exact ticks), else the legacy integer cents field, else None."""
    if new in m:
        return price_ticks(m[new])
    if old in m:
        return _int(m[old], old) * 100
    return None


def _lots(m: dict, new: str, old: str | None) -> int | None:
    if new in m:
        return qty_lots(m[new])
    if old is not None and old in m:
        return _int(m[old], old) * 100
    return None


def _int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise UnitError(f"{what}: expected an integer, got {v!r}")
    return v


def _ts_ms(m: dict) -> int:
    if m.get("ts_ms") is not None:
        return _int(m["ts_ms"], "ts_ms")
    if m.get("ts") is not None:
        return _int(m["ts"], "ts") * 1000
    return 0


def _required(v, what: str):
    if v is None:
        raise KeyError(what)
    return v


def parse_ticker(m: dict) -> TickerQuote:
    """`ticker` msg (AsyncAPI tickerPayload; `*_dollars`/`*_fp` or legacy cents/int fields)."""
    try:
        return TickerQuote(
            m["market_ticker"], _price(m, "price_dollars", "price"),
            _price(m, "yes_bid_dollars", "yes_bid"), _price(m, "yes_ask_dollars", "yes_ask"),
            _lots(m, "yes_bid_size_fp", None), _lots(m, "yes_ask_size_fp", None),
            _lots(m, "last_trade_size_fp", None), _lots(m, "volume_fp", "volume"),
            _lots(m, "open_interest_fp", "open_interest"), _ts_ms(m), str(m.get("market_id") or ""))
    except (KeyError, TypeError, ValueError, UnitError) as exc:
        raise ProtocolError(f"kalshi ticker: bad message ({exc!r})", venue="kalshi") from None


def parse_trade(m: dict) -> Trade:
    """`trade` msg (AsyncAPI tradePayload) → the public `Trade` print (price as YES ticks)."""
    try:
        yes = _required(_price(m, "yes_price_dollars", "yes_price"), "yes_price_dollars")
        if "no_price_dollars" in m and price_ticks(m["no_price_dollars"]) != TICKS_PER_DOLLAR - yes:
            raise ValueError("yes_price + no_price != 1")
        lots = _required(_lots(m, "count_fp", "count"), "count_fp")
        if lots <= 0:
            raise ValueError("count must be positive")
        return Trade(Venue.KALSHI, m["market_ticker"], str(m["trade_id"]), yes, lots,
                     Side.parse(m["taker_side"]), _ts_ms(m))
    except (KeyError, TypeError, ValueError, UnitError) as exc:
        raise ProtocolError(f"kalshi trade: bad message ({exc!r})", venue="kalshi") from None


def parse_fill(m: dict) -> Fill:
    """`fill` msg (AsyncAPI fillPayload) → `Fill`: fill_id = trade_id (the spec's fill key), the
    direction as a REST fill's (`schemas.rest._direction`: `side` / `action`, both required when
    `side` is there; else the BUY of `outcome_side` / `book_side`), price in that side's own ticks,
    fee = `fee_cost` dollars exactly in µ$ (0 when the frame omits it)."""
    try:
        side, action = _direction(m, "fill")
        yes = _required(_price(m, "yes_price_dollars", "yes_price"), "yes_price_dollars")
        lots = _required(_lots(m, "count_fp", "count"), "count_fp")
        if lots <= 0:
            raise ValueError("count must be positive")
        is_taker = m["is_taker"]
        if not isinstance(is_taker, bool):
            raise TypeError(f"is_taker: {is_taker!r}")
        return Fill(Venue.KALSHI, str(m["trade_id"]), str(m["order_id"]), m["market_ticker"], side,
                    action, yes if side is Side.YES else TICKS_PER_DOLLAR - yes, lots,
                    money_micros(m.get("fee_cost", "0")), is_taker, _ts_ms(m),
                    str(m.get("client_order_id") or ""))
    except (KeyError, TypeError, ValueError, UnitError) as exc:
        raise ProtocolError(f"kalshi fill: bad message ({exc!r})", venue="kalshi") from None


_CHANNEL_PARSERS = {"ticker": parse_ticker, "trade": parse_trade, "fill": parse_fill}


def parse_event_fee_update(text: str | bytes) -> EventFeeUpdate:
    """An `event_fee_update` frame, decoded again with `parse_float=Decimal` so that the
    multiplier is exactly what the venue wrote (rare frames: the cost does not matter). A frame
    without an event ticker is a ProtocolError; unreadable terms are kept as `error`."""
    d = json.loads(text, parse_float=Decimal)
    sid, seq = d.get("sid"), d.get("seq")
    return event_override(d["msg"], sid if isinstance(sid, int) else None, seq if isinstance(seq, int) else None)


def event_override(m: dict, sid: int | None = None, seq: int | None = None) -> EventFeeUpdate:
    """The override terms an object states for its `event_ticker`: an `event_fee_update`'s `msg`,
    an `Event` of `GET /events`, or an `EventFeeChange` of `GET /events/fee_changes` (all three
    name them `fee_type_override` / `fee_multiplier_override`, null = cleared). ValueError without
    an event ticker; unreadable terms are kept as `error` (the event's fees are then unknown)."""
    event = m["event_ticker"]
    if not isinstance(event, str) or not event:
        raise ValueError(f"event_ticker {event!r}")
    fee_type, mult, error = m.get("fee_type_override"), m.get("fee_multiplier_override"), ""
    if fee_type is not None and not isinstance(fee_type, str):
        fee_type, error = None, f"fee_type_override {fee_type!r} is not a string"
    if mult is not None:
        try:
            mult = parse_multiplier(mult, "fee_multiplier_override")
        except ProtocolError as exc:
            mult, error = None, str(exc)
    return EventFeeUpdate(sid, seq, event, fee_type, mult, error)


_ENDED_EVENTS = ("determined", "settled")              # the market never trades again
_TRADING_EVENTS = ("deactivated", "activated", *_ENDED_EVENTS)


def _market_trading(d: dict) -> MarketTrading:
    """A lifecycle frame that stops or restarts trading (ValueError / KeyError if malformed)."""
    m = d["msg"]
    ticker, event, paused = m["market_ticker"], m.get("event_type"), m.get("is_deactivated")
    if not (isinstance(ticker, str) and ticker) or not (paused is None or isinstance(paused, bool)):
        raise ValueError(f"market_ticker {ticker!r}, is_deactivated {paused!r}")
    if event in _ENDED_EVENTS:
        held = f"kalshi: {ticker} {event}" + (f" (result {m['result']})" if m.get("result") else "")
    elif paused if paused is not None else event == "deactivated":
        held = f"kalshi: trading in {ticker} paused (market deactivated)"
    else:
        held = ""
    sid, seq = d.get("sid"), d.get("seq")
    return MarketTrading(sid if isinstance(sid, int) else None, seq if isinstance(seq, int) else None, ticker, held,
                         event in _ENDED_EVENTS)


def parse_message(text: str | bytes, *, use_yes_price: bool = False):
    """Decode one frame. Raises ProtocolError on malformed JSON or missing fields."""
    try:
        d = wire_json.decode(text)
    except ValueError as exc:
        raise ProtocolError(f"kalshi ws: malformed frame ({exc})", venue="kalshi") from None
    if not isinstance(d, dict) or "type" not in d:
        raise ProtocolError("kalshi ws: frame without type", venue="kalshi")
    t = d["type"]
    try:
        if t == "orderbook_snapshot":
            m = d["msg"]
            yes = m.get("yes_dollars_fp", m.get("yes_dollars", m.get("yes")))
            no = m.get("no_dollars_fp", m.get("no_dollars", m.get("no")))
            no_levels = parse_levels(no, "no_dollars_fp")
            if use_yes_price:
                no_levels = [(TICKS_PER_DOLLAR - p, q) for p, q in no_levels]
            return OrderbookSnapshot(int(d["sid"]), int(d["seq"]), m["market_ticker"],
                                     tuple(parse_levels(yes, "yes_dollars_fp")), tuple(no_levels))
        if t == "orderbook_delta":
            m = d["msg"]
            if "price_dollars" in m:
                price = price_ticks(m["price_dollars"])
            else:
                price = int(m["price"]) * 100
            if "delta_fp" in m:
                delta = qty_lots(m["delta_fp"], signed=True)
            else:
                delta = int(m["delta"]) * 100
            side = m["side"]
            if side not in ("yes", "no"):
                raise ProtocolError(f"kalshi ws: bad side {side!r}", venue="kalshi")
            if use_yes_price and side == "no":
                price = TICKS_PER_DOLLAR - price
            return OrderbookDelta(int(d["sid"]), int(d["seq"]), m["market_ticker"], side, price, delta,
                                  m.get("client_order_id", ""), int(m.get("ts_ms") or 0))
        if t in _CHANNEL_PARSERS:
            seq = d.get("seq")
            return ChannelMsg(t, d.get("sid"), None if seq is None else int(seq), _CHANNEL_PARSERS[t](d["msg"]))
        if t == "event_fee_update":
            return parse_event_fee_update(text)
        if t == "market_lifecycle_v2" and d["msg"].get("event_type") == "price_level_structure_updated":
            m = d["msg"]
            ticker, structure = m["market_ticker"], m["price_level_structure"]
            if not (isinstance(ticker, str) and ticker and isinstance(structure, str)):
                raise ValueError(f"market_ticker {ticker!r}, price_level_structure {structure!r}")
            sid, seq = d.get("sid"), d.get("seq")
            return PriceLevelStructureUpdate(sid if isinstance(sid, int) else None, seq if isinstance(seq, int) else None,
                                             ticker, structure)
        if t == "market_lifecycle_v2" and (d["msg"].get("event_type") in _TRADING_EVENTS
                                           or "is_deactivated" in d["msg"]):
            return _market_trading(d)
        if t == "subscribed":
            return Subscribed(int(d.get("id", 0)), int(d["msg"]["sid"]), d["msg"]["channel"])
        if t == "error":
            return WsError(int(d.get("id", 0)), int(d["msg"]["code"]), str(d["msg"].get("msg", "")))
    except (KeyError, TypeError, ValueError, UnitError) as exc:
        raise ProtocolError(f"kalshi ws: bad {t} frame ({exc!r})", venue="kalshi") from None
    return Other(t, d.get("sid"), d.get("seq"), d)
