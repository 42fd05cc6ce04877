"""Market-channel WebSocket frames and CLOB book summaries → typed messages.

A frame is one JSON object or a JSON array of them; `PONG` (reply to our `PING`) is returned as
`Pong`. Prices and sizes stay decimal *strings* here (the book hash is computed over the venue's
own strings); `book.TokenBook` converts them to ticks/lots. Anything unexpected raises
`ProtocolError` (the caller distrusts what that frame may have carried).
"""
from __future__ import annotations

from dataclasses import dataclass

from arbbot.venues.common import wire_json
from arbbot.venues.common.errors import ProtocolError

StrLevel = tuple[str, str]          # (price, size) exactly as sent


@dataclass(frozen=True)
class BookMsg:
    asset_id: str
    market: str
    timestamp: str
    hash: str
    bids: tuple[StrLevel, ...]
    asks: tuple[StrLevel, ...]
    min_order_size: str | None = None
    tick_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None

    @property
    def hashable(self) -> bool:
        return bool(self.hash) and None not in (self.min_order_size, self.tick_size, self.neg_risk,
                                                self.last_trade_price)


@dataclass(frozen=True)
class Change:
    asset_id: str
    price: str
    size: str
    side: str           # "BUY" = bid, "SELL" = ask
    hash: str
    best_bid: str = ""  # the token's best bid and ask once the change is applied ("" when not sent)
    best_ask: str = ""


@dataclass(frozen=True)
class PriceChangeMsg:
    market: str
    timestamp: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class LastTradeMsg:
    asset_id: str
    market: str
    price: str
    timestamp: str


@dataclass(frozen=True)
class TickSizeMsg:
    asset_id: str
    market: str
    new_tick_size: str
    timestamp: str


@dataclass(frozen=True)
class ResolvedMsg:
    """`market_resolved` (a custom feature): `market` (condition id) was resolved; it never
    trades again (its order books are gone: the CLOB answers 404 for its tokens)."""
    market: str
    asset_ids: tuple[str, ...]
    timestamp: str


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class OtherMsg:
    event_type: str


def _s(obj: dict, key: str, what: str) -> str:
    v = obj.get(key)
    if not isinstance(v, str):
        raise ProtocolError(f"polymarket {what}: field {key!r} missing or not a string", venue="polymarket")
    return v


def _opt(obj: dict, key: str) -> str:
    """An optional string field; "" when absent or not a string."""
    v = obj.get(key)
    return v if isinstance(v, str) else ""


def _levels(raw, what: str) -> tuple[StrLevel, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProtocolError(f"polymarket {what}: levels must be a list", venue="polymarket")
    out = []
    for lv in raw:
        if not isinstance(lv, dict):
            raise ProtocolError(f"polymarket {what}: level must be an object", venue="polymarket")
        out.append((_s(lv, "price", what), _s(lv, "size", what)))
    return tuple(out)


def parse_book(obj: dict, what: str = "book") -> BookMsg:
    """A REST `/book` summary or a WS `book` event."""
    if not isinstance(obj, dict):
        raise ProtocolError(f"polymarket {what}: expected an object", venue="polymarket")
    nr = obj.get("neg_risk")
    return BookMsg(_s(obj, "asset_id", what), str(obj.get("market", "")), str(obj.get("timestamp", "")),
                   str(obj.get("hash") or ""), _levels(obj.get("bids"), what), _levels(obj.get("asks"), what),
                   obj.get("min_order_size") if isinstance(obj.get("min_order_size"), str) else None,
                   obj.get("tick_size") if isinstance(obj.get("tick_size"), str) else None,
                   nr if isinstance(nr, bool) else None,
                   obj.get("last_trade_price") if isinstance(obj.get("last_trade_price"), str) else None)


def _one(obj) -> object:
    if not isinstance(obj, dict):
        raise ProtocolError("polymarket ws: message is not an object", venue="polymarket")
    et = obj.get("event_type")
    if et == "book":
        return parse_book(obj, "ws book")
    if et == "price_change":
        raw = obj.get("price_changes")
        if not isinstance(raw, list):
            raise ProtocolError("polymarket ws price_change: price_changes missing", venue="polymarket")
        changes = []
        for c in raw:
            if not isinstance(c, dict):
                raise ProtocolError("polymarket ws price_change: entry is not an object", venue="polymarket")
            side = _s(c, "side", "ws price_change")
            if side not in ("BUY", "SELL"):
                raise ProtocolError(f"polymarket ws price_change: side {side!r}", venue="polymarket")
            changes.append(Change(_s(c, "asset_id", "ws price_change"), _s(c, "price", "ws price_change"),
                                  _s(c, "size", "ws price_change"), side, str(c.get("hash") or ""),
                                  _opt(c, "best_bid"), _opt(c, "best_ask")))
        return PriceChangeMsg(str(obj.get("market", "")), str(obj.get("timestamp", "")), tuple(changes))
    if et == "last_trade_price":
        return LastTradeMsg(_s(obj, "asset_id", "ws last_trade_price"), str(obj.get("market", "")),
                            _s(obj, "price", "ws last_trade_price"), str(obj.get("timestamp", "")))
    if et == "tick_size_change":
        return TickSizeMsg(_s(obj, "asset_id", "ws tick_size_change"), str(obj.get("market", "")),
                           _s(obj, "new_tick_size", "ws tick_size_change"), str(obj.get("timestamp", "")))
    if et == "market_resolved":
        # documented: market, assets_ids, winning_asset_id, winning_outcome (some older pushes
        # carried one asset_id); the market is enough to hold it, the assets cover a frame without it
        market = obj.get("market")
        raw = obj.get("assets_ids")
        assets = [a for a in (raw if isinstance(raw, list) else []) + [obj.get("asset_id")] if isinstance(a, str) and a]
        if not (isinstance(market, str) and market) and not assets:
            raise ProtocolError("polymarket ws market_resolved: names no market or asset", venue="polymarket")
        return ResolvedMsg(market if isinstance(market, str) else "", tuple(assets), str(obj.get("timestamp", "")))
    if isinstance(et, str):
        return OtherMsg(et)
    raise ProtocolError("polymarket ws: message without event_type", venue="polymarket")


def parse_frame(text: str) -> list:
    """One WS text frame → list of typed messages."""
    if text == "PONG":
        return [Pong()]
    try:
        data = wire_json.decode(text)
    except ValueError:
        raise ProtocolError(f"polymarket ws: frame is not JSON ({text[:40]!r})", venue="polymarket") from None
    return [_one(o) for o in data] if isinstance(data, list) else [_one(data)]
