"""Simulated Kalshi WebSocket at /trade-api/ws/v2: commands, channels and frame faults.

Every connection needs RSA-PSS auth on the upgrade (signed over `GET /trade-api/ws/v2`). Commands:
subscribe, unsubscribe, update_subscription (get_snapshot, add_markets, delete_markets),
list_subscriptions. Channels: orderbook_delta (snapshot + signed-increment deltas with a
contiguous `seq` per sid), ticker, trade, fill, user_orders, market_positions, market_lifecycle_v2
(`event_fee_update`, pushed by `push_event_fee_update`; `determined` then `settled` when a market
settles, after the `user_order` cancels of its resting orders). Frame faults
(`ws_seq_gap_every` and `lost_removals` (lost deltas), `ws_duplicate_every`, `ws_out_of_order_every`,
`ws_malformed_every`, `stale_books`, `ws_overflow_after`) apply to book frames, `ws_disconnect_after` to all
data frames, per connection.
`stall_connections()` makes every live connection half-open (a network fault: nothing more is
delivered either way, and no close).
`KalshiWs` is mixed into `KalshiSim` (arbbot.sim.kalshi.server).
"""
from __future__ import annotations

import asyncio
import itertools
import json

from aiohttp import web

from arbbot.sim.engine.matching import FULL, BookDelta, FillEvent, MarketSettled, SelfTradeCancel, TradeEvent
from arbbot.sim.faults import Faults
from arbbot.sim.kalshi.auth import AuthFailure
from arbbot.sim.venue import WsConnection
from arbbot.sim.wire import count_fp, dollars, iso_time, micros_dollars

WS_PATH = "/trade-api/ws/v2"
HEARTBEAT_S = 10.0          # seconds between the venue's Pings (body `heartbeat`) to a connection (AsyncAPI)


class KalshiWs:
    """The WebSocket side of `KalshiSim` (a mixin: `self` is the simulator)."""

    async def ws_handler(self, request: web.Request):
        """The upgrade is signed like a REST request over `GET /trade-api/ws/v2`; the server pings
        every HEARTBEAT_S (`KalshiWsConn.writer`)."""
        try:
            account = self.registry.verify(request.headers, "GET", WS_PATH)
        except AuthFailure as exc:
            return self.error(401, str(exc), exc.code)
        return await self.serve_ws(request, lambda ws: KalshiWsConn(self, ws, account, request.transport))

    def stall_connections(self) -> None:
        """The network path of every live connection goes dead without a close (half-open): from
        now on nothing reaches its client (no frame, no Ping) and nothing of the client's reaches
        the venue (its Pings go unanswered). Only the client can notice, by the silence. A new
        connection is served normally."""
        for c in list(self.connections):
            c.stall()

    async def stop(self) -> None:
        """Stalled connections are dropped first (TCP aborted): closing one would wait for a close
        answer that cannot come."""
        for c in list(self.connections):
            if c.stalled:
                c.transport.abort()
        await super().stop()

    def ticker_msg(self, t: str) -> dict:
        """The ticker fields of market `t` (without timestamps): best YES bid / ask from the
        published book (a YES ask is 1 − best NO bid), last trade, volume, open interest."""
        m = self.exchange.markets[t]
        yes, no = self.book_levels(t, "yes"), self.book_levels(t, "no")
        by, bn = (max(yes) if yes else 0), (max(no) if no else 0)
        oi = sum(max(a.positions.get(t, 0), 0) for a in self.exchange.accounts.values())
        last = self.last_trade_lots.get(t, 0)
        return {"market_ticker": t, "market_id": f"sim-{t}",
                "price_dollars": dollars(m.last_yes_price), "yes_bid_dollars": dollars(by),
                "yes_ask_dollars": dollars(FULL - bn if no else FULL),
                "volume_fp": count_fp(m.volume), "open_interest_fp": count_fp(oi),
                "dollar_volume": m.volume // 100, "dollar_open_interest": oi // 100,
                "yes_bid_size_fp": count_fp(yes.get(by, 0)), "yes_ask_size_fp": count_fp(no.get(bn, 0)),
                "last_trade_size_fp": count_fp(last)}

    def on_engine_event(self, ev) -> None:
        """Fan an engine event out to every connection (each applies its subscriptions)."""
        if isinstance(ev, TradeEvent):
            self.last_trade_lots[ev.market] = ev.lots
        for c in list(self.connections):
            c.on_event(ev)

    def push_user_order(self, o) -> None:
        """Push a `user_order` frame (final state after matching / cancel) to subscribed connections."""
        for c in list(self.connections):
            c.user_order(o)

    def push_event_fee_update(self, event_ticker: str, fee_type: str | None, multiplier: int | float | None) -> None:
        """Push an `event_fee_update` (factsheet §1.8, on `market_lifecycle_v2`): `event_ticker`'s
        fee terms overridden from now on, None clearing that term; `multiplier` goes on the wire
        as a JSON number. Only the message: `event_fee_override` also makes the exchange
        charge them."""
        for c in list(self.connections):
            c.event_fee_update(event_ticker, fee_type, multiplier)


    def pause_market(self, ticker: str, paused: bool = True) -> None:
        """The exchange pauses trading in `ticker` (or resumes it): its orders are refused (400
        market_not_active) while its resting orders stay, and `market_lifecycle_v2` says so
        (`deactivated` / `activated`, `is_deactivated`: AsyncAPI marketLifecycleV2Payload)."""
        if paused:
            self.paused_markets.add(ticker)
        else:
            self.paused_markets.discard(ticker)
        msg = {"market_ticker": ticker, "event_type": "deactivated" if paused else "activated", "is_deactivated": paused}
        for c in list(self.connections):
            c.lifecycle(ticker, msg)


class KalshiWsConn(WsConnection):
    """One client connection: subscriptions, per-sid sequence numbers, book-frame faults."""

    def __init__(self, sim, ws: web.WebSocketResponse, account: str, transport: asyncio.Transport) -> None:
        super().__init__(sim, ws)
        self.account = account
        self.transport = transport
        self.sids = itertools.count(1)
        self.subs: dict[int, dict] = {}       # sid → {"channel", "tickers", "seq", "use_yes_price"}
        self.book_frames = 0
        self.held: str | None = None
        self.stalled = False                  # half-open (`stall`): nothing is delivered either way
        self.overflowed: set[int] = set()     # sids ended by `ws_overflow_after`: their queued frames are not sent

    def send(self, obj: dict, *, book: bool = False) -> None:
        self.q.put_nowait((obj, book))

    def stall(self) -> None:
        """Half-open from now on: the client's frames stay unread (no Pong answers its Pings), and
        `write` / the heartbeat send nothing; the TCP connection stays open."""
        self.stalled = True
        self.transport.pause_reading()

    async def writer(self) -> None:
        """The queued frames (`WsConnection.writer`) and, beside them, the venue's heartbeat."""
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await super().writer()
        finally:
            heartbeat.cancel()

    async def _heartbeat(self) -> None:
        """A Ping with body `heartbeat` every HEARTBEAT_S until stalled (AsyncAPI control_frames)."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if self.stalled:
                return                        # the dead path delivers no Ping either
            try:
                await self.ws.ping(b"heartbeat")
            except ConnectionError:
                return                        # closing: the connection's loop ends it

    async def write(self, item: tuple[dict, bool], f: Faults) -> bool:
        if self.stalled:
            return False                      # lost on the dead path
        obj, book = item
        text = json.dumps(obj, separators=(",", ":"))
        if not book:
            await self.ws.send_str(text)
            return True
        if obj.get("sid") in self.overflowed:
            return False                      # its subscription ended
        self.book_frames += 1
        n = self.book_frames
        if n == f.ws_overflow_after:
            # the venue ends the subscription this client reads too slowly; its error names no sid
            self.overflowed.add(obj["sid"])
            self.subs.pop(obj["sid"], None)
            await self.ws.send_str(json.dumps({"type": "error", "msg": {"code": 25, "msg": "Subscription buffer overflow"}}))
            return False
        if f.ws_malformed_every and n % f.ws_malformed_every == 0:
            await self.ws.send_str('{"type":"orderbook_delta","sid":')   # truncated frame
        if f.ws_out_of_order_every and n % f.ws_out_of_order_every == 0 and self.held is None:
            self.held = text                                           # sent after the next one
            return False
        await self.ws.send_str(text)
        if f.ws_duplicate_every and n % f.ws_duplicate_every == 0:
            await self.ws.send_str(text)
        if self.held is not None:
            held, self.held = self.held, None
            await self.ws.send_str(held)
        return True

    def _next_seq(self, sid: int) -> int:
        s = self.subs[sid]
        s["seq"] += 1
        return s["seq"]

    def _lost(self, seq: int, ev: BookDelta) -> bool:
        """Is the delta `ev`, numbered `seq`, lost upstream (its content with its number: the
        client sees a gap, and a copy that ignores it stays wrong)? `ws_seq_gap_every`: every Nth
        number; `lost_removals`: a delta that emptied its level (the engine applied it already)."""
        f = self.sim.faults
        return (bool(f.ws_seq_gap_every) and seq % f.ws_seq_gap_every == 0) or (
            ev.market in f.lost_removals and ev.price not in self.sim.book_levels(ev.market, ev.side))

    def _error(self, cid, code: int, msg: str) -> None:
        self.send({"id": cid, "type": "error", "msg": {"code": code, "msg": msg}})

    def _snapshot(self, sid: int, ticker: str) -> None:
        if ticker in self.sim.faults.stale_books:
            return                                          # stale-book fault: nothing is published
        use_yes = self.subs[sid]["use_yes_price"]
        msg: dict = {"market_ticker": ticker, "market_id": f"sim-{ticker}"}
        yes = sorted(self.sim.book_levels(ticker, "yes").items())
        no = sorted(self.sim.book_levels(ticker, "no").items())
        if yes:
            msg["yes_dollars_fp"] = [[dollars(p), count_fp(q)] for p, q in yes]
        if no:
            msg["no_dollars_fp"] = [[dollars(FULL - p if use_yes else p), count_fp(q)] for p, q in no]
        self.send({"type": "orderbook_snapshot", "sid": sid, "seq": self._next_seq(sid), "msg": msg}, book=True)

    def on_text(self, text: str) -> None:
        """One command from the client."""
        try:
            cmd = json.loads(text)
            cid = cmd.get("id", 0)
            name = cmd["cmd"]
        except Exception:
            self._error(0, 1, "Unable to process message")
            return
        params = cmd.get("params") or {}
        if name == "subscribe":
            chans = params.get("channels")
            if not chans:
                self._error(cid, 3, "Channels required")
                return
            tickers = params.get("market_tickers") or ([params["market_ticker"]] if params.get("market_ticker") else [])
            for ch in chans:
                if ch not in ("orderbook_delta", "ticker", "trade", "fill", "user_orders", "market_positions",
                              "market_lifecycle_v2"):
                    self._error(cid, 8, "Unknown channel name")
                    continue
                if ch == "orderbook_delta" and not tickers:
                    self._error(cid, 14, "Market Ticker required")
                    continue
                bad = [t for t in tickers if t not in self.sim.listings]
                if bad:
                    self._error(cid, 16, "Market not found")
                    continue
                if any(s["channel"] == ch and set(tickers) & s["tickers"] for s in self.subs.values()):
                    self._error(cid, 6, "Already subscribed")
                    continue
                sid = next(self.sids)
                self.subs[sid] = {"channel": ch, "tickers": set(tickers), "seq": 0,
                                  "use_yes_price": bool(params.get("use_yes_price"))}
                self.send({"id": cid, "type": "subscribed", "msg": {"channel": ch, "sid": sid}})
                if ch == "orderbook_delta":
                    for t in tickers:
                        self._snapshot(sid, t)
                if ch == "ticker" and params.get("send_initial_snapshot"):
                    now = self.sim.clock_ms()
                    for t in tickers:
                        self._ticker(sid, t, now, force=True)
        elif name == "unsubscribe":
            sids = params.get("sids")
            if not sids:
                self._error(cid, 4, "Subscription IDs required")
                return
            for sid in sids:
                if self.subs.pop(sid, None) is None:
                    self._error(cid, 7, "Unknown subscription ID")
                else:
                    self.send({"id": cid, "sid": sid, "type": "unsubscribed"})
        elif name == "update_subscription":
            sids = params.get("sids") or ([params["sid"]] if "sid" in params else [])
            if len(sids) != 1:
                self._error(cid, 12, "Exactly one subscription ID is required")
                return
            sid = sids[0]
            sub = self.subs.get(sid)
            if sub is None:
                self._error(cid, 7, "Unknown subscription ID")
                return
            action = params.get("action")
            tickers = params.get("market_tickers") or []
            if action == "get_snapshot":
                for t in tickers or sorted(sub["tickers"]):
                    if t in sub["tickers"]:
                        self._snapshot(sid, t)
            elif action == "add_markets":
                sub["tickers"] |= set(tickers)
                self.send({"id": cid, "sid": sid, "seq": sub["seq"], "type": "ok",
                           "msg": {"market_tickers": sorted(sub["tickers"])}})
                for t in tickers:
                    self._snapshot(sid, t)
            elif action == "delete_markets":
                sub["tickers"] -= set(tickers)
                self.send({"id": cid, "sid": sid, "seq": sub["seq"], "type": "ok",
                           "msg": {"market_tickers": sorted(sub["tickers"])}})
            elif action is None:
                self._error(cid, 15, "Action required")
            else:
                self._error(cid, 13, "Unsupported action")
        elif name == "list_subscriptions":
            self.send({"id": cid, "type": "ok", "msg": [{"channel": s["channel"], "sid": sid}
                                                        for sid, s in self.subs.items()]})
        else:
            self._error(cid, 5, "Unknown command")

    def user_order(self, o) -> None:
        """`user_order` (AsyncAPI userOrderPayload; factsheet §1.8): `side` = the side the order
        buys, `outcome_side` the same, `book_side` bid (buys YES) or ask (buys NO), price as YES."""
        if o.account != self.account:
            return
        yes_px = o.price if o.side == "yes" else FULL - o.price
        msg = {"order_id": o.order_id, "user_id": o.account, "ticker": o.market, "status": o.status,
               "side": o.side, "is_yes": o.side == "yes", "outcome_side": o.side,
               "book_side": "bid" if o.side == "yes" else "ask", "yes_price_dollars": dollars(yes_px),
               "fill_count_fp": count_fp(o.filled), "remaining_count_fp": count_fp(o.remaining),
               "initial_count_fp": count_fp(o.initial),
               "taker_fill_cost_dollars": micros_dollars(o.taker_cost),
               "maker_fill_cost_dollars": micros_dollars(o.maker_cost),
               "client_order_id": o.client_order_id, "self_trade_prevention_type": o.stp,
               "created_time": iso_time(o.created_ms), "last_update_time": iso_time(o.updated_ms)}
        if o.taker_fee:
            msg["taker_fees_dollars"] = micros_dollars(o.taker_fee)
        if o.maker_fee:
            msg["maker_fees_dollars"] = micros_dollars(o.maker_fee)
        for sid, s in list(self.subs.items()):
            if s["channel"] == "user_orders" and (not s["tickers"] or o.market in s["tickers"]):
                self.send({"type": "user_order", "sid": sid, "msg": msg})

    def event_fee_update(self, event_ticker: str, fee_type: str | None, multiplier) -> None:
        markets = {t for t, (e, _q, _l) in self.sim.listings.items() if e.event_id == event_ticker}
        for sid, s in list(self.subs.items()):
            if s["channel"] == "market_lifecycle_v2" and (not s["tickers"] or markets & s["tickers"]):
                s["seq"] += 1
                self.send({"type": "event_fee_update", "sid": sid, "seq": s["seq"], "msg": {
                    "event_ticker": event_ticker, "fee_type_override": fee_type,
                    "fee_multiplier_override": multiplier}})

    def market_settled(self, ev: MarketSettled) -> None:
        """Our resting orders it cancelled (`user_order`), then `market_lifecycle_v2` `determined`
        (result, settlement value in dollars; none for a void) and `settled` (AsyncAPI
        marketLifecycleV2Payload)."""
        for o in ev.cancelled:
            self.user_order(o)
        ts = ev.ts_ms // 1000
        determined = {"market_ticker": ev.market, "event_type": "determined", "result": ev.result,
                      "determination_ts": ts}
        if ev.yes_value is not None:             # a void has no settlement value
            determined["settlement_value"] = dollars(ev.yes_value)
        for msg in (determined, {"market_ticker": ev.market, "event_type": "settled", "settled_ts": ts}):
            self.lifecycle(ev.market, msg)

    def lifecycle(self, ticker: str, msg: dict) -> None:
        """One `market_lifecycle_v2` frame about `ticker` to this connection's subscriptions of it."""
        for sid, s in list(self.subs.items()):
            if s["channel"] == "market_lifecycle_v2" and (not s["tickers"] or ticker in s["tickers"]):
                s["seq"] += 1
                self.send({"type": "market_lifecycle_v2", "sid": sid, "seq": s["seq"], "msg": msg})

    def on_event(self, ev) -> None:
        if isinstance(ev, MarketSettled):
            self.market_settled(ev)
            return
        now = self.sim.clock_ms()
        if isinstance(ev, FillEvent) and not ev.is_taker and ev.order.account == self.account:
            self.user_order(ev.order)               # a resting order of ours was (partly) filled
        if isinstance(ev, SelfTradeCancel):
            self.user_order(ev.order)               # a resting order of ours met our own taker
        if isinstance(ev, FillEvent) and ev.order.account == self.account:
            a = self.sim.exchange.accounts[self.account]
            t = ev.order.market
            pos = a.positions.get(t, 0)
            vol = sum(f.lots for f in a.fills if f.order.market == t)
            for sid, s in list(self.subs.items()):
                if s["channel"] == "market_positions" and (not s["tickers"] or t in s["tickers"]):
                    # AsyncAPI marketPositionPayload: money in centi-cents (1/10,000 $) = µ$ // 100
                    self.send({"type": "market_position", "sid": sid, "msg": {
                        "user_id": self.account, "market_ticker": t, "position": pos // 100,
                        "position_fp": count_fp(pos), "position_cost": a.traded.get(t, 0) // 100,
                        "realized_pnl": a.realized.get(t, 0) // 100, "fees_paid": a.fees_paid.get(t, 0) // 100,
                        "position_fee_cost": a.fees_paid.get(t, 0) // 100, "volume": vol // 100,
                        "volume_fp": count_fp(vol)}})
        for sid, s in list(self.subs.items()):
            ch = s["channel"]
            if isinstance(ev, BookDelta) and ch == "orderbook_delta" and ev.market in s["tickers"] \
                    and ev.market not in self.sim.faults.stale_books:
                price = FULL - ev.price if (ev.side == "no" and s["use_yes_price"]) else ev.price
                msg = {"market_ticker": ev.market, "market_id": f"sim-{ev.market}",
                       "price_dollars": dollars(price), "delta_fp": count_fp(ev.delta),
                       "side": ev.side, "ts": iso_time(now), "ts_ms": now}
                if ev.client_order_id and ev.account == self.account:
                    msg["client_order_id"] = ev.client_order_id
                seq = self._next_seq(sid)
                if not self._lost(seq, ev):
                    self.send({"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg}, book=True)
            elif isinstance(ev, TradeEvent) and ch == "trade" and (not s["tickers"] or ev.market in s["tickers"]):
                s["seq"] += 1
                self.send({"type": "trade", "sid": sid, "seq": s["seq"], "msg": {
                    "trade_id": ev.trade_id, "market_ticker": ev.market,
                    "yes_price_dollars": dollars(ev.yes_price), "no_price_dollars": dollars(FULL - ev.yes_price),
                    "count_fp": count_fp(ev.lots), "taker_side": ev.taker_side,
                    "taker_outcome_side": ev.taker_side, "taker_book_side": "bid" if ev.taker_side == "yes" else "ask",
                    "ts": ev.ts_ms // 1000, "ts_ms": ev.ts_ms}})
            elif isinstance(ev, FillEvent) and ch == "fill" and ev.order.account == self.account \
                    and (not s["tickers"] or ev.order.market in s["tickers"]):
                o = ev.order
                yes_px = ev.price if o.side == "yes" else FULL - ev.price    # ev.price: of the side bought
                # AsyncAPI fillPayload: `side`/`action` as submitted, `purchased_side` the side bought;
                # `outcome_side` / `book_side` the direction it adds (as the REST fill's)
                self.send({"type": "fill", "sid": sid, "msg": {
                    "trade_id": ev.trade_id, "order_id": o.order_id, "client_order_id": o.client_order_id,
                    "market_ticker": o.market, "is_taker": ev.is_taker, "side": o.submitted_side,
                    "outcome_side": o.side, "book_side": "bid" if o.side == "yes" else "ask",
                    "yes_price_dollars": dollars(yes_px), "count_fp": count_fp(ev.lots),
                    "fee_cost": micros_dollars(ev.fee, 6), "action": o.action, "ts": ev.ts_ms // 1000,
                    "ts_ms": ev.ts_ms, "post_position_fp": count_fp(ev.post_position),
                    "purchased_side": o.side}})
            elif ch == "ticker" and isinstance(ev, (BookDelta, TradeEvent, FillEvent)):
                t = ev.order.market if isinstance(ev, FillEvent) else ev.market
                if not s["tickers"] or t in s["tickers"]:
                    self._ticker(sid, t, now)

    def _ticker(self, sid: int, ticker: str, now: int, *, force: bool = False) -> None:
        """`ticker` (AsyncAPI tickerPayload, fixed-point fields): the published top of book, last
        trade price/size, volume and open interest; sent only when one of them changed."""
        msg = self.sim.ticker_msg(ticker)
        key = json.dumps(msg, sort_keys=True)
        sent = self.subs[sid].setdefault("last", {})
        if not force and sent.get(ticker) == key:
            return
        sent[ticker] = key
        self.send({"type": "ticker", "sid": sid, "msg": {**msg, "ts": now // 1000, "ts_ms": now, "time": iso_time(now)}})
