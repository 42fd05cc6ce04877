"""Simulated Polymarket: Gamma REST, CLOB REST and the CLOB market WebSocket (aiohttp, loopback).

Two listeners, like the real hosts: Gamma (`/markets`, `/events`) and CLOB (`/book`, `/books`,
`/tick-size`, `/neg-risk`, L2-authenticated `/data/orders`, `/data/trades`, `/order` (see
`orders.py`) and `/balance-allowance`, and the market WebSocket at `/ws/market` (see `ws.py`)).

Books: one per outcome token, derived from the shared matching engine's YES/NO bids the way the
real matcher keeps them consistent: the YES token's bids are the YES bids and its asks mirror the
NO bids (a NO bid at p is a YES ask at 1 − p), and vice versa. Book objects carry `hash` = SHA-1
hex of the compact JSON of the book with `hash` set to "" (keys in the venue's order), levels
best-LAST. Every `price_change` entry carries the hash of its token's book right after that
change, computed with the frame's `timestamp` (the convention an adapter needs to verify it).

A settled market (`settle_market`: UMA resolution) is `closed` on Gamma with
`umaResolutionStatus` "resolved", `outcomePrices` its payouts (["1", "0"], ["0", "1"] or
["0.5", "0.5"]) and `closedTime`; its orders are cancelled and new ones refused, its books are
gone (`GET /book` 404, `POST /books` leaves its tokens out, as for any closed market); `market_resolved`
goes to the WebSocket clients that enabled custom features. Positions and balances stay as they
are (`settle_pays` False): winning tokens are redeemed on chain, which this simulator does not do.

Matching-engine restarts (`Faults.poly_restart_s`), the venue's documented behaviour
(docs.polymarket.com/trading/matching-engine): for that long after the faults are set, the
order-related endpoints (`POST /order`, `DELETE /order`, `GET /data/order/{id}`, `GET
/data/orders`) answer HTTP 425 Too Early without doing anything; then for `poly_post_only_s` the
engine is in post-only mode (`orders.py`: an order without postOnly is refused). Books, Gamma,
balances and trades are served throughout.

Trades settle on chain after they match (`chain.py`, `Faults.poly_trade_fail_every`): GET
/data/trades gives each its status (MATCHED … CONFIRMED, or FAILED: reverted in the engine), while
GET /data/order keeps the order's size_matched as matched (the venue's "ghost fills").

Simulator-only keys (`ApiCreds`) are registered with `register_creds`; nothing here is real.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from decimal import Decimal

from aiohttp import web

from arbbot.sim.engine.matching import FULL
from arbbot.sim.faults import Faults
from arbbot.sim.paging import POLY_START, poly_cursor_page
from arbbot.sim.polymarket.auth import ApiCreds, CredRegistry, L2Failure
from arbbot.sim.polymarket.chain import TradeChain
from arbbot.sim.polymarket.orders import POST_ONLY, RESTARTING, OrderDesk
from arbbot.sim.polymarket.ws import WS_PATH, PolymarketWs
from arbbot.sim.scenarios import Scenario, close_ms
from arbbot.sim.venue import HttpVenueSim
from arbbot.sim.wire import iso_time, poly_price as _px, poly_size as _sz

ACCOUNT = web.RequestKey("poly_account", str)
TOO_EARLY = "Too Early: the matching engine is restarting"   # the 425's text is assumed (the docs give the status)
_START = "2026-10-01T14:00:00Z"


def _num(ticks: int) -> float:
    """Gamma serves some fields as JSON numbers (e.g. 0.01); float repr of a 4-dp value is exact text."""
    return float(Decimal(ticks) / Decimal(10_000))


def book_hash(book: dict) -> str:
    """SHA-1 of the compact JSON of `book` with hash "" and the venue's key order."""
    payload = {"market": book["market"], "asset_id": book["asset_id"], "timestamp": book["timestamp"],
               "hash": "", "bids": [{"price": lv["price"], "size": lv["size"]} for lv in book["bids"]],
               "asks": [{"price": lv["price"], "size": lv["size"]} for lv in book["asks"]],
               "min_order_size": book["min_order_size"], "tick_size": book["tick_size"],
               "neg_risk": book["neg_risk"], "last_trade_price": book["last_trade_price"]}
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _err(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class PolymarketSim(PolymarketWs, HttpVenueSim):
    """One simulated Polymarket (Gamma + CLOB). `starting_balance` µ$ of pUSD for each account."""

    venue = "polymarket"
    ws_path = WS_PATH
    too_many = {"error": "Too Many Requests"}
    retry_after = True                          # Cloudflare's throttling (factsheet §2.10)
    unavailable_message = "service unavailable"
    settle_pays = False                         # winning tokens stay in the wallet until redeemed
    nets_pairs = False                          # outcome tokens are held side by side (merged or redeemed on chain)
    log = logging.getLogger("arbbot.sim.polymarket")
    _PRIVATE = ("/data/", "/balance-allowance", "/order")

    def __init__(self, scenario: Scenario, seed: int = 0, *, registry: CredRegistry | None = None,
                 starting_balance: int = 10_000 * 1_000_000, clock_ms=lambda: int(time.time() * 1000),
                 step_interval: float | None = None) -> None:
        super().__init__(scenario, seed, starting_balance=starting_balance, clock_ms=clock_ms,
                         step_interval=step_interval)
        self.registry = registry or CredRegistry()
        self.tokens: dict[str, tuple[str, str]] = {}
        self.market_ids: dict[str, str] = {}
        self.event_ids: dict[str, str] = {}
        self.event_conds: dict[str, list[str]] = {}     # event slug → its condition ids, listing order
        self.last_yes: dict[str, int] = {}
        for i, (cond, (e, q, l)) in enumerate(self.listings.items()):
            self.tokens[l.yes_token] = (cond, "yes")
            self.tokens[l.no_token] = (cond, "no")
            self.market_ids[cond] = str(500_000 + i)
            self.event_ids.setdefault(l.event_id, str(90_000 + len(self.event_ids)))
            self.event_conds.setdefault(l.event_id, []).append(cond)
            self.last_yes[cond] = (q.fair // l.tick) * l.tick
        self.by_market_id = {v: c for c, v in self.market_ids.items()}   # Gamma id → condition id
        self.desk = OrderDesk(self)
        self.chain = TradeChain(self)          # trades' settlement statuses (`Faults.poly_trade_fail_every`)
        self.exchange.listeners.append(self.chain.on_event)
        self.gamma_app = web.Application(middlewares=[self.middleware])
        g = self.gamma_app.router
        g.add_get("/markets", self.gamma_markets)
        g.add_get("/markets/{id}", self.gamma_market)
        g.add_get("/events", self.gamma_events)
        self.clob_app = web.Application(middlewares=[self.middleware])
        c = self.clob_app.router
        c.add_get("/book", self.get_book)
        c.add_post("/books", self.post_books)
        c.add_get("/tick-size", self.get_tick_size)
        c.add_get("/neg-risk", self.get_neg_risk)
        c.add_get("/data/orders", self._engine_endpoint(self.get_orders))
        c.add_get("/data/trades", self.get_trades)
        c.add_get("/data/order/{id}", self._engine_endpoint(self.get_order))
        c.add_post("/order", self._engine_endpoint(self.post_order))
        c.add_delete("/order", self._engine_endpoint(self.delete_order))
        c.add_get("/version", self.get_version)
        c.add_get("/balance-allowance", self.get_balance)
        c.add_get(WS_PATH, self.ws_handler)
        self.gamma_url = self.clob_url = self.ws_url = ""

    # ---- faults: matching-engine restarts ------------------------------------------------
    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        """Put `faults` in force (read on every use); a restart they ask for (`poly_restart_s`)
        starts now."""
        self._faults = faults
        self._faults_set = time.monotonic()          # s (monotonic): when they were put in force

    def post_only_left_s(self) -> float:
        """Seconds the post-only mode still lasts (0 outside it): its answer's `retry_after_seconds`."""
        f = self._faults
        return max(0.0, f.poly_restart_s + f.poly_post_only_s - (time.monotonic() - self._faults_set)) \
            if self.engine_state() == POST_ONLY else 0.0

    def engine_state(self) -> str:
        """RESTARTING while `poly_restart_s` lasts after the faults were set, then POST_ONLY for
        `poly_post_only_s`, else "" (real time: the venue clock may be a test's frozen one)."""
        f = self._faults
        since = time.monotonic() - self._faults_set
        if since < f.poly_restart_s:
            return RESTARTING
        if f.poly_restart_s and since < f.poly_restart_s + f.poly_post_only_s:
            return POST_ONLY
        return ""

    def _engine_endpoint(self, handler):
        """`handler` of an order-related endpoint: answered HTTP 425, and nothing done, while the
        matching engine restarts (the venue's documented behaviour)."""
        async def serve(request: web.Request):
            if self.engine_state() == RESTARTING:
                return _err(425, TOO_EARLY)
            return await handler(request)
        return serve

    # ---- lifecycle ----------------------------------------------------------------------
    def register_creds(self, creds: ApiCreds) -> None:
        self.registry.register(creds)
        self.exchange.account(creds.account, self.starting_balance)

    async def start(self, host: str = "127.0.0.1", gamma_port: int = 0, clob_port: int = 0) -> None:
        h, p = await self.listen(self.gamma_app, host, gamma_port)
        self.gamma_url = f"http://{h}:{p}"
        h, p = await self.listen(self.clob_app, host, clob_port)
        self.clob_url = f"http://{h}:{p}"
        self.ws_url = f"ws://{h}:{p}{WS_PATH}"
        self.start_clock()

    async def stop(self) -> None:
        self.chain.close()
        await super().stop()

    # ---- middleware hooks: errors, L2 auth ----------------------------------------------
    def error(self, status: int, message: str, code: str = "") -> web.Response:
        return _err(status, message)

    async def authenticate(self, request: web.Request) -> web.Response | None:
        if not request.path.startswith(self._PRIVATE):
            return None
        body = await request.text() if request.can_read_body else ""
        try:
            request[ACCOUNT] = self.registry.verify(request.headers, request.method, request.path, body)
        except L2Failure as exc:
            return _err(401, str(exc))
        return None

    # ---- books --------------------------------------------------------------------------
    def token_levels(self, token: str) -> tuple[dict[int, int], dict[int, int]]:
        """(bids, asks) of one token as {price_ticks: lots}; asks mirror the other side's bids
        (published levels: the engine's plus any crossed-book fault level)."""
        cond, side = self.tokens[token]
        other = "no" if side == "yes" else "yes"
        return self.book_levels(cond, side), {FULL - p: q for p, q in self.book_levels(cond, other).items()}

    def _ltp(self, token: str) -> str:
        cond, side = self.tokens[token]
        y = self.last_yes[cond]
        return _px(y if side == "yes" else FULL - y)

    def book(self, token: str, ts_ms: int | None = None) -> dict:
        cond, _side = self.tokens[token]
        _e, _q, l = self.listings[cond]
        bids, asks = self.token_levels(token)
        out = {"market": cond, "asset_id": token, "timestamp": str(self.clock_ms() if ts_ms is None else ts_ms),
               "hash": "",
               "bids": [{"price": _px(p), "size": _sz(q)} for p, q in sorted(bids.items())],
               "asks": [{"price": _px(p), "size": _sz(q)} for p, q in sorted(asks.items(), reverse=True)],
               "min_order_size": l.min_order_size, "tick_size": _px(l.tick), "neg_risk": l.neg_risk,
               "last_trade_price": self._ltp(token)}
        out["hash"] = book_hash(out)
        return out

    def _token_query(self, request: web.Request) -> str | web.Response:
        token = request.query.get("token_id", "")
        if not token:
            return _err(400, "Invalid token id")
        if token not in self.tokens:
            return _err(404, "No orderbook exists for the requested token id")
        return token

    def _has_book(self, token: str) -> bool:
        """A token the CLOB serves a book for: one of a market still open (a closed or settled
        market's books are gone: `GET /book` answers 404, `POST /books` leaves them out)."""
        return token in self.tokens and self.exchange.markets[self.tokens[token][0]].open

    async def get_book(self, request: web.Request):
        t = self._token_query(request)
        if isinstance(t, web.Response):
            return t
        if not self._has_book(t):
            return _err(404, "No orderbook exists for the requested token id")
        return web.json_response(self.book(t))

    async def post_books(self, request: web.Request):
        try:
            body = json.loads(await request.text())
            tokens = [str(x["token_id"]) for x in body]
        except Exception:
            return _err(400, "Invalid payload")
        if len(tokens) > 500:
            return _err(400, "Too many token ids")
        return web.json_response([self.book(t) for t in tokens if self._has_book(t)])

    async def get_tick_size(self, request: web.Request):
        t = self._token_query(request)
        if isinstance(t, web.Response):
            return t
        return web.json_response({"minimum_tick_size": _num(self.listings[self.tokens[t][0]][2].tick)})

    async def get_neg_risk(self, request: web.Request):
        t = self._token_query(request)
        if isinstance(t, web.Response):
            return t
        return web.json_response({"neg_risk": self.listings[self.tokens[t][0]][2].neg_risk})

    async def get_orders(self, request: web.Request):
        """`GET /data/orders` (L2): the account's open orders, oldest first, 100 a page, keyset on
        the order's sequence number (`next_cursor`); filters `id`, `market`, `asset_id`."""
        acct, q = request[ACCOUNT], request.query
        key = request.headers["POLY_API_KEY"]
        live = [(o.seq, self._order_json(o, key)) for o in self.exchange.orders.values()
                if o.account == acct and o.status == "resting"]
        live = [(k, d) for k, d in live if all(not q.get(f) or d[f] == q[f] for f in ("id", "market", "asset_id"))]
        return self._paged(live, q)

    @staticmethod
    def _paged(keyed: list[tuple[int, dict]], q) -> web.Response:
        """One page of (key, item) pairs under the CLOB's `next_cursor` convention."""
        try:
            page, nxt = poly_cursor_page(keyed, lambda kd: kd[0], q.get("next_cursor") or POLY_START)
        except ValueError as exc:
            return _err(400, str(exc))
        return web.json_response({"data": [d for _k, d in page], "next_cursor": nxt, "limit": 100,
                                  "count": len(page)})

    async def get_order(self, request: web.Request):
        """`GET /data/order/{id}` (L2): one of the account's orders by its hash: a live one, a GTC one
        whatever its state; a FAK/FOK one that is done answers null."""
        held = self.desk.delayed_json(request.match_info["id"], request[ACCOUNT], request.headers["POLY_API_KEY"])
        if held is not None:                         # waiting out its match delay (`poly_match_delay_s`)
            return web.json_response(held)
        eid = self.desk.ids.get(request.match_info["id"])
        o = self.exchange.orders.get(eid) if eid else None
        if o is None or o.account != request[ACCOUNT]:
            return web.json_response({"error": "order not found"}, status=404)
        if o.status != "resting" and self.desk.order_types.get(o.order_id) in ("FAK", "FOK"):
            # as the CLOB: a FAK/FOK order is not served once done ("if the order was filled, it
            # will be in get_trades": py-clob-client #217); its fills are
            return web.json_response(None)
        return web.json_response(self._order_json(o, request.headers["POLY_API_KEY"]))

    def _order_json(self, o, owner: str) -> dict:
        """An order in the venue's terms: a SELL of a token was booked as a BUY of the other one."""
        _e, _q, l = self.listings[o.market]
        side = ("no" if o.side == "yes" else "yes") if o.action == "sell" else o.side
        price = FULL - o.price if o.action == "sell" else o.price
        # the OpenAPI's names (`ORDER_STATUS_MATCHED`); the POST /order answer and the user channel
        # write them short and lower case
        status = "ORDER_STATUS_" + {"resting": "LIVE", "executed": "MATCHED", "canceled": "CANCELED"}.get(o.status, "LIVE")
        return {"id": self.desk.rev.get(o.order_id, o.order_id), "status": status, "owner": owner,
                "market": o.market, "asset_id": l.yes_token if side == "yes" else l.no_token,
                "side": "SELL" if o.action == "sell" else "BUY", "original_size": _sz(o.initial),
                "size_matched": _sz(o.filled), "price": _px(price), "outcome": "Yes" if side == "yes" else "No",
                "expiration": "0", "order_type": self.desk.order_types.get(o.order_id, "GTC"),
                "associate_trades": [], "created_at": o.created_ms // 1000}

    def _trade_side(self, fe) -> tuple[str, str, int]:
        """(asset_id, BUY|SELL, token price ticks) of one fill, in the terms the order was sent."""
        o = fe.order
        _e, _q, l = self.listings[o.market]
        if o.action == "sell":                       # a SELL of a token was booked as a BUY of the other
            tok_side = "no" if o.side == "yes" else "yes"
            return (l.yes_token if tok_side == "yes" else l.no_token), "SELL", FULL - fe.price
        return (l.yes_token if o.side == "yes" else l.no_token), "BUY", fe.price

    async def get_trades(self, request: web.Request):
        """`GET /data/trades` (L2): the account's trades, oldest first, 100 a page, keyset on the
        place in the account's append-only fill log of the trade's first fill of ours. One trade
        per taker order's match, as the CLOB writes it: the top level is the taker order (`size`
        all it matched, `price` its limit), `maker_orders` every maker order it matched, each at
        its own price on its own token (owner = its API key: ours, or "house"); `trader_side`
        says which we were; `status` its settlement (`chain.TradeChain`: CONFIRMED unless a fault
        delays or fails it). Filters `id` (trade id), `market`, `asset_id` (either part),
        `after`/`before` (match time, unix s, inclusive)."""
        acct = request[ACCOUNT]
        key = request.headers["POLY_API_KEY"]
        q = request.query
        try:
            after, before = (int(q[k]) if q.get(k) else None for k in ("after", "before"))
        except ValueError:
            return _err(400, "after and before must be unix timestamps")
        by_trade: dict[str, list] = {}
        for a in self.exchange.accounts.values():
            for fe in a.fills:
                by_trade.setdefault(fe.trade_id, []).append(fe)
        # taker order id → its match: [(its fill, the maker's fill)] in fill order
        matches: dict[str, list] = {}
        for fills in by_trade.values():
            taker = next((x for x in fills if x.is_taker), None)
            maker = next((x for x in fills if not x.is_taker), None)
            if taker is not None and maker is not None:
                matches.setdefault(taker.order.order_id, []).append((taker, maker))
        data, seen = [], set()
        for i, fe in enumerate(self.exchange.accounts[acct].fills):
            taker_fill = fe if fe.is_taker else next((x for x in by_trade[fe.trade_id] if x.is_taker), fe)
            match = matches.get(taker_fill.order.order_id) or [(taker_fill, fe)]
            if taker_fill.order.order_id in seen:
                continue
            seen.add(taker_fill.order.order_id)
            item = self._trade_json(match, acct, key, fe.is_taker)
            ts = int(item["match_time"])
            if (q.get("market") and q["market"] != item["market"]) or (q.get("id") and q["id"] != item["id"]) \
                    or (after is not None and ts < after) or (before is not None and ts > before):
                continue
            if q.get("asset_id") and q["asset_id"] not in (item["asset_id"], *(m["asset_id"] for m in item["maker_orders"])):
                continue
            data.append((i, item))
        return self._paged(data, q)

    def _trade_json(self, match: list, acct: str, key: str, taker: bool) -> dict:
        """One taker order's match (its fills paired with the makers') as a CLOB Trade, seen by
        account `acct` (API key `key`), the taker or one of the makers."""
        first = match[0][0]
        o = first.order
        _e, _q, l = self.listings[o.market]
        t_asset, t_side, _exec_px = self._trade_side(first)
        limit = FULL - o.price if o.action == "sell" else o.price           # the taker's limit, on its token
        ts = first.ts_ms // 1000
        makers = []
        for _t, m in match:
            m_asset, m_side, m_px = self._trade_side(m)
            mine = m.order.account == acct
            makers.append({"order_id": self.desk.rev.get(m.order.order_id, m.order.order_id) if mine else m.order.order_id,
                           "owner": key if mine else "house", "maker_address": m.order.account,
                           "matched_amount": _sz(m.lots), "price": _px(m_px), "fee_rate_bps": "0",
                           "asset_id": m_asset, "outcome": "Yes" if m_asset == l.yes_token else "No", "side": m_side})
        return {"id": first.trade_id,
                "taker_order_id": self.desk.rev.get(o.order_id, o.order_id) if taker else o.order_id,
                "market": o.market, "asset_id": t_asset, "side": t_side, "size": _sz(sum(t.lots for t, _m in match)),
                "fee_rate_bps": str(self.exchange.markets[o.market].fees.taker_ppm // 100), "price": _px(limit),
                "status": self.chain.status(first.trade_id), "match_time": str(ts), "last_update": str(ts),
                "outcome": "Yes" if t_asset == l.yes_token else "No", "bucket_index": 0,
                "owner": key if taker else "house", "maker_address": acct,
                "transaction_hash": "0x" + hashlib.sha256(first.trade_id.encode()).hexdigest(),
                "trader_side": "TAKER" if taker else "MAKER", "maker_orders": makers}

    async def get_version(self, request: web.Request):
        return web.json_response({"version": 2})

    async def post_order(self, request: web.Request):
        acct = request[ACCOUNT]
        creds = self.registry.by_key[request.headers["POLY_API_KEY"]]
        return await self.desk.post_order(request, acct, creds)

    async def delete_order(self, request: web.Request):
        return await self.desk.cancel_order(request, request[ACCOUNT])

    async def get_balance(self, request: web.Request):
        """The collateral of the wallet `signature_type` names (0, the default: the signing key's own
        address; 1 its proxy, 2 its Safe); only the account's funded wallet holds any."""
        acct = self.exchange.accounts[request[ACCOUNT]]
        kind = request.query.get("signature_type", "0")
        if kind not in ("0", "1", "2"):
            return web.json_response({"error": f"invalid signature_type: {kind}"}, status=400)
        held = int(kind) == self.registry.by_key[request.headers["POLY_API_KEY"]].wallet_type
        return web.json_response({"balance": str(acct.balance if held else 0), "allowances": {}})

    # ---- Gamma --------------------------------------------------------------------------
    def market_json(self, cond: str) -> dict:
        e, q, l = self.listings[cond]
        m = self.exchange.markets[cond]
        bids, asks = self.token_levels(l.yes_token)
        best_bid = max(bids) if bids else 0
        best_ask = min(asks) if asks else FULL
        outcomes = ["Yes", "No"]
        if " vs. " in l.title:
            outcomes = [s.strip() for s in l.title.split(" vs. ")]
        y = self.last_yes[cond]
        prices = [_px(y), _px(FULL - y)]
        if m.settled:                  # the resolution's payout per token, dollars ("1", "0", "0.5")
            prices = [_px(m.yes_value), _px(FULL - m.yes_value)]
        fees_on = l.fee_ppm > 0
        out = {
            "id": self.market_ids[cond], "question": l.title, "conditionId": cond,
            "slug": f"{l.event_id}-{q.key.lower()}", "questionID": "0x" + hashlib.sha256(cond.encode()).hexdigest(),
            "resolutionSource": "", "description": f"This market resolves to {outcomes[0]} if {l.title}",
            "endDate": iso_time(close_ms(e, self.started_ms)), "startDate": _START,
            "active": m.open or m.settled,           # a resolved market stays active: true (closed: true)
            "closed": not m.open, "archived": False,
            "acceptingOrders": m.open, "enableOrderBook": True, "negRisk": l.neg_risk,
            "negRiskMarketID": l.neg_risk_market_id if l.neg_risk else "",
            "negRiskAugmented": l.neg_risk_augmented, "groupItemTitle": q.key,
            "outcomes": json.dumps(outcomes), "outcomePrices": json.dumps(prices),
            "clobTokenIds": json.dumps([l.yes_token, l.no_token]),
            "orderPriceMinTickSize": _num(l.tick), "orderMinSize": int(Decimal(l.min_order_size)),
            "bestBid": _num(best_bid), "bestAsk": _num(best_ask), "spread": _num(best_ask - best_bid),
            "lastTradePrice": _num(y), "volumeNum": m.volume / 100, "liquidityNum": 0,
            "feesEnabled": fees_on, "feeType": "sim_fees" if fees_on else None,
            "feeSchedule": {"exponent": l.fee_exponent, "rate": float(Decimal(l.fee_ppm) / 1_000_000),
                            "takerOnly": True, "rebateRate": 0.25} if fees_on else None,
            "events": [{"id": self.event_ids[l.event_id], "slug": l.event_id}],
        }
        if m.settled:
            out["umaResolutionStatus"] = "resolved"
            out["umaResolutionStatuses"] = json.dumps(["proposed", "resolved"])
            out["closedTime"] = _closed_time(m.settled_ms)
        return out

    def _filter_markets(self, qp) -> list[str]:
        conds = list(self.listings)
        closed = qp.get("closed")
        if closed in ("false", "true"):
            conds = [c for c in conds if (not self.exchange.markets[c].open) == (closed == "true")]
        want = {x for v in qp.getall("condition_ids", []) for x in v.split(",") if x}
        if want:
            conds = [c for c in conds if c in want]
        toks = {x for v in qp.getall("clob_token_ids", []) for x in v.split(",") if x}
        if toks:
            conds = [c for c in conds if {self.listings[c][2].yes_token, self.listings[c][2].no_token} & toks]
        return conds

    @staticmethod
    def _page(items: list, qp) -> list:
        try:
            limit = int(qp.get("limit", "100"))
            offset = int(qp.get("offset", "0"))
        except ValueError:
            return []
        return items[offset:offset + max(0, limit)]

    async def gamma_markets(self, request: web.Request):
        return web.json_response([self.market_json(c) for c in self._page(self._filter_markets(request.query),
                                                                          request.query)])

    async def gamma_market(self, request: web.Request):
        cond = self.by_market_id.get(request.match_info["id"])
        if cond is None:
            return _err(404, "market not found")
        return web.json_response(self.market_json(cond))

    def event_json(self, slug: str) -> dict:
        conds = self.event_conds[slug]
        e = self.listings[conds[0]][0]
        ls = [self.listings[c][2] for c in conds]
        neg = any(l.neg_risk for l in ls)
        return {"id": self.event_ids[slug], "ticker": slug, "slug": slug, "title": e.title,
                "description": e.title, "startDate": _START, "endDate": iso_time(close_ms(e, self.started_ms)),
                "active": True, "closed": self._event_closed(slug),
                "archived": False, "negRisk": neg, "negRiskMarketID": ls[0].neg_risk_market_id if neg else "",
                "negRiskAugmented": any(l.neg_risk_augmented for l in ls), "enableOrderBook": True,
                "markets": [self.market_json(c) for c in conds]}

    def _event_closed(self, slug: str) -> bool:
        """An event closes once every one of its markets has (its markets stay nested in it)."""
        return all(not self.exchange.markets[c].open for c in self.event_conds[slug])

    async def gamma_events(self, request: web.Request):
        slugs = list(self.event_ids)
        if request.query.get("slug"):
            slugs = [s for s in slugs if s == request.query["slug"]]
        closed = request.query.get("closed")
        if closed in ("false", "true"):
            slugs = [s for s in slugs if self._event_closed(s) == (closed == "true")]
        return web.json_response([self.event_json(s) for s in self._page(slugs, request.query)])


def _closed_time(ms: int) -> str:
    """Gamma's `closedTime` form: "2026-10-01 14:00:00+00" (UTC, whole seconds)."""
    return iso_time(ms).replace("T", " ").replace("Z", "+00")
