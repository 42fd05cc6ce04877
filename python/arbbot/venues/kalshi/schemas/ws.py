"""Kalshi WebSocket v2 messages → typed values.

Trap 1 (VENUES.md): snapshots and deltas use *different* field names. Snapshots carry
`yes_dollars_fp` / `no_dollars_fp` (legacy `yes_dollars`, `yes`); deltas carry `price_dollars` +
`delta_fp` (legacy `price` cents + `delta`). A delta parsed with the snapshot's names would be
silently empty, so every delta field here is required.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.units import UnitError, price_ticks, qty_lots
from arbbot.venues.kalshi.schemas.rest import parse_levels


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
class Other:
    type: str
    sid: int | None
    seq: int | None
    raw: dict


def parse_message(text: str | bytes, *, use_yes_price: bool = False):
    """Decode one frame. Raises ProtocolError on malformed JSON or missing fields."""
    try:
        d = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
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
                no_levels = [(10_000 - p, q) for p, q in no_levels]
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
                price = 10_000 - price
            return OrderbookDelta(int(d["sid"]), int(d["seq"]), m["market_ticker"], side, price, delta,
                                  m.get("client_order_id", ""), int(m.get("ts_ms") or 0))
        if t == "subscribed":
            return Subscribed(int(d.get("id", 0)), int(d["msg"]["sid"]), d["msg"]["channel"])
        if t == "error":
            return WsError(int(d.get("id", 0)), int(d["msg"]["code"]), str(d["msg"].get("msg", "")))
    except (KeyError, TypeError, ValueError, UnitError) as exc:
        raise ProtocolError(f"kalshi ws: bad {t} frame ({exc!r})", venue="kalshi") from None
    return Other(t, d.get("sid"), d.get("seq"), d)
