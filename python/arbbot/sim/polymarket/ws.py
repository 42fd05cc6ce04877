"""Simulated Polymarket market WebSocket at /ws/market (the CLOB host).

Subscribe with `{"assets_ids":[…],"type":"market"}` (`operation` subscribe / unsubscribe later);
`PING` → `PONG`. Events: `book` (full snapshot, on subscribe), `price_change` (absolute size at a
level; every entry carries its token's book hash right after the change, computed with the
frame's `timestamp`), `last_trade_price`, `tick_size_change`, and `market_resolved` (to a
connection that subscribed with `custom_feature_enabled`, for a market one of whose tokens it
follows; not for a 50/50, which has no winning token). No sequence numbers, as on the venue. Frame faults: `poly_drop_every`, `lost_removals`, `poly_bad_hash_every`, `ws_malformed_every`,
`ws_disconnect_after`, `stale_books`. `PolymarketWs` is mixed into `PolymarketSim`
(arbbot.sim.polymarket.server).
"""
from __future__ import annotations

import hashlib
import json

from aiohttp import web

from arbbot.sim.engine.matching import FULL, BookDelta, MarketSettled, TradeEvent
from arbbot.sim.faults import Faults
from arbbot.sim.venue import WsConnection
from arbbot.sim.wire import poly_price as _px, poly_size as _sz

WS_PATH = "/ws/market"
DUMP_BOOKS = 500        # books per initial-dump frame (the venue's assets-per-connection scale)


class PolymarketWs:
    """The market-channel side of `PolymarketSim` (a mixin: `self` is the simulator)."""

    async def ws_handler(self, request: web.Request):
        return await self.serve_ws(request, lambda ws: PolyWsConn(self, ws))

    def book_event(self, token: str) -> dict:
        return {"event_type": "book", **self.book(token)}

    def on_engine_event(self, ev) -> None:
        """Turn engine events into wire frames now (hashes need the book state of this instant)."""
        if isinstance(ev, BookDelta) and ev.market in self.listings:
            _e, _q, l = self.listings[ev.market]
            own, other = (l.yes_token, l.no_token) if ev.side == "yes" else (l.no_token, l.yes_token)
            targets = [c for c in self.connections if own in c.assets or other in c.assets]
            if not targets:
                return                               # nobody subscribed: no frame to build
            ts = self.clock_ms()
            size_b = self.book_levels(ev.market, ev.side).get(ev.price, 0)
            changes = []
            for token, price, side in ((own, ev.price, "BUY"), (other, FULL - ev.price, "SELL")):
                bids, asks = self.token_levels(token)
                changes.append({"asset_id": token, "price": _px(price), "size": _sz(size_b), "side": side,
                                "hash": self.book(token, ts)["hash"],
                                "best_bid": _px(max(bids)) if bids else "0",
                                "best_ask": _px(min(asks)) if asks else "1"})
            frame = {"event_type": "price_change", "market": ev.market, "price_changes": changes,
                     "timestamp": str(ts)}
            for c in targets:
                c.on_price_change(frame)
        elif isinstance(ev, MarketSettled) and ev.market in self.listings:
            self._market_resolved(ev)
        elif isinstance(ev, TradeEvent) and ev.market in self.listings:
            _e, _q, l = self.listings[ev.market]
            self.last_yes[ev.market] = ev.yes_price
            for token, px in ((l.yes_token, ev.yes_price), (l.no_token, FULL - ev.yes_price)):
                frame = {"event_type": "last_trade_price", "asset_id": token, "market": ev.market,
                         "price": _px(px), "size": _sz(ev.lots), "fee_rate_bps": "0",
                         "side": "BUY" if (token == l.yes_token) == (ev.taker_side == "yes") else "SELL",
                         "timestamp": str(ev.ts_ms), "transaction_hash": "0x" + ev.trade_id.replace("-", "")}
                for c in list(self.connections):
                    c.on_asset_event(token, frame)

    def _market_resolved(self, ev: MarketSettled) -> None:
        """`market_resolved` (a custom feature): the winning token and its outcome label."""
        if ev.yes_value not in (0, FULL):
            return                                   # 50/50: no winning token
        _e, _q, l = self.listings[ev.market]
        outcomes = json.loads(self.market_json(ev.market)["outcomes"])
        win = 0 if ev.yes_value == FULL else 1
        frame = {"event_type": "market_resolved", "id": self.market_ids[ev.market], "market": ev.market,
                 "assets_ids": [l.yes_token, l.no_token], "winning_asset_id": (l.yes_token, l.no_token)[win],
                 "winning_outcome": outcomes[win], "timestamp": str(ev.ts_ms)}
        for c in list(self.connections):
            if c.custom and c.assets & {l.yes_token, l.no_token}:
                c._send(frame)

    def change_tick_size(self, cond: str, new_tick: int) -> None:
        """Announce a tick-size change (`tick_size_change` on both tokens)."""
        _e, _q, l = self.listings[cond]
        old, l.tick = l.tick, new_tick
        self.exchange.markets[cond].tick = lambda p, t=new_tick: t
        ts = str(self.clock_ms())
        for token in (l.yes_token, l.no_token):
            frame = {"event_type": "tick_size_change", "asset_id": token, "market": cond,
                     "old_tick_size": _px(old), "new_tick_size": _px(new_tick), "timestamp": ts}
            for c in list(self.connections):
                c.on_asset_event(token, frame)


class PolyWsConn(WsConnection):
    """One market-channel client: subscribed assets, outgoing text frames, frame faults."""

    def __init__(self, sim, ws: web.WebSocketResponse) -> None:
        super().__init__(sim, ws)
        self.assets: set[str] = set()
        self.custom = False              # `custom_feature_enabled`: best_bid_ask, new_market, market_resolved
        self.price_changes = 0
        self.dropped = 0
        self.corrupted = 0

    def _send(self, obj) -> None:
        self.q.put_nowait(json.dumps(obj, separators=(",", ":")))

    async def write(self, text: str, f: Faults) -> bool:
        if text != "PONG" and f.ws_malformed_every and (self.frames + 1) % f.ws_malformed_every == 0:
            await self.ws.send_str('{"event_type":"price_change","market":')
        await self.ws.send_str(text)
        return text != "PONG"                        # a PONG is not a data frame

    def on_text(self, text: str) -> None:
        if text == "PING":
            self.q.put_nowait("PONG")
            return
        try:
            msg = json.loads(text)
            ids = [str(a) for a in msg.get("assets_ids", [])]
        except Exception:
            self.q.put_nowait("INVALID OPERATION")
            return
        op = msg.get("operation")
        if op == "unsubscribe":
            self.assets -= set(ids)
            return
        if op not in (None, "subscribe") or (op is None and msg.get("type", "market").lower() != "market"):
            self.q.put_nowait("INVALID OPERATION")
            return
        if "custom_feature_enabled" in msg:
            self.custom = bool(msg["custom_feature_enabled"])
        new = [a for a in ids if a in self.sim.tokens]
        self.assets |= set(new)
        if new and msg.get("initial_dump", True):      # one array frame per DUMP_BOOKS books
            for k in range(0, len(new), DUMP_BOOKS):
                self._send([self.sim.book_event(a) for a in new[k:k + DUMP_BOOKS]])

    def on_price_change(self, frame: dict) -> None:
        if frame["market"] in self.sim.faults.stale_books:
            return                                   # stale-book fault: the market is not published
        changes = [c for c in frame["price_changes"] if c["asset_id"] in self.assets]
        if not changes:
            return
        self.price_changes += 1
        n = self.price_changes
        f = self.sim.faults
        removal = frame["market"] in f.lost_removals and all(c["size"] == _sz(0) for c in changes)
        if removal or (f.poly_drop_every and n % f.poly_drop_every == 0):
            self.dropped += 1
            return
        if f.poly_bad_hash_every and n % f.poly_bad_hash_every == 0:
            self.corrupted += 1
            changes = [dict(changes[0], hash=hashlib.sha1(b"corrupt").hexdigest())] + changes[1:]
        self._send({**frame, "price_changes": changes})

    def on_asset_event(self, token: str, frame: dict) -> None:
        if token in self.assets:
            self._send(frame)
