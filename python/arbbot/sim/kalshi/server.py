"""Simulated Kalshi: REST under /trade-api/v2 and WebSocket at /trade-api/ws/v2 (aiohttp).

Serves the 2026 fixed-point shapes (`*_dollars`, `*_fp`), verifies RSA-PSS auth on portfolio,
order book and WebSocket requests, and answers errors in Kalshi's shape
(`{"code","message","details","service"}`; 429 → `{"error":"too many requests"}`).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import logging
import time
from datetime import datetime, timezone

from aiohttp import web

from arbbot.sim.engine.matching import FULL, BookDelta, Exchange, FillEvent, SimReject, TradeEvent
from arbbot.sim.kalshi.auth import AuthFailure, KeyRegistry
from arbbot.sim.scenarios import Faults, PriceProcess, Scenario, make_markets
from arbbot.sim.wire import (
    LostAnswers, count_fp, dollars, injected_http_fault, keyset_page, micros_dollars, order_answer, parse_count,
    parse_dollars, refresh_crossed_books, serve_connection,
)

log = logging.getLogger("arbbot.sim.kalshi")
API = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"
ACCOUNT = web.RequestKey("account", str)
_CREATED = "2026-10-01T14:00:00Z"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _err(status: int, code: str, message: str, details: str = "") -> web.Response:
    return web.json_response({"code": code, "message": message, "details": details or message,
                              "service": "trade-api"}, status=status)


class _BadParams(ValueError):
    """A query parameter the venue refuses: answered 400 `invalid_parameters`."""


PAGE_MAX = 1000      # OpenAPI: LimitQuery / PositionsLimitQuery maximum (orders, fills, positions)
_ORDER_STATUSES = ("resting", "canceled", "executed")


def _cursor(kind: str, key) -> str:
    """Opaque cursor: the key (immutable) of the last item served, tagged with its list."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def _page_params(q, kind: str, key_type=int) -> tuple[int, object]:
    """(limit, key to resume after or None) from `limit` (1-1000, default 100) and `cursor`."""
    try:
        limit = int(q.get("limit") or "100")
    except ValueError:
        raise _BadParams("limit must be an integer") from None
    if not 1 <= limit <= PAGE_MAX:
        raise _BadParams(f"limit must be between 1 and {PAGE_MAX}")
    raw = q.get("cursor") or ""
    if not raw:
        return limit, None
    try:
        tag, _, key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition(":")
        if tag != kind:
            raise ValueError(tag)
        return limit, key_type(key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _BadParams("invalid cursor") from None


def _ts_param(q, name: str) -> int | None:
    """`min_ts` / `max_ts`: unix seconds (int64)."""
    if not q.get(name):
        return None
    try:
        return int(q[name])
    except ValueError:
        raise _BadParams(f"{name} must be a unix timestamp in seconds") from None


def _in_window(ts_s: int, lo: int | None, hi: int | None) -> bool:
    """Both bounds inclusive (unix seconds)."""
    return (lo is None or ts_s >= lo) and (hi is None or ts_s <= hi)


class KalshiSim:
    """One simulated Kalshi exchange. `starting_balance` µ$ for each registered account."""

    def __init__(self, scenario: Scenario, seed: int = 0, *, registry: KeyRegistry | None = None,
                 starting_balance: int = 10_000 * 1_000_000, clock_ms=lambda: int(time.time() * 1000),
                 step_interval: float | None = None) -> None:
        self.scenario = scenario
        self.faults: Faults = scenario.faults
        self.phantom: dict[str, tuple[str, int, int]] = {}   # crossed-book fault: ticker → (side, price, lots)
        self.clock_ms = clock_ms
        self.registry = registry or KeyRegistry(clock_ms=clock_ms)
        self.exchange = Exchange(clock_ms)
        make_markets(scenario, "kalshi", self.exchange)
        self.listings = {l.market_id: (e, q, l) for e, q, l in scenario.listings("kalshi")}
        self.process = PriceProcess(scenario, "kalshi", self.exchange, seed)
        self.process.seed_books()
        self.starting_balance = starting_balance
        self.step_interval = step_interval
        self._req_count = 0
        self._order_count = 0                   # orders received (order_reject_every counts these)
        self.lost_answers = LostAnswers()       # orders accepted (lost_order_response_every)
        self.connections: set["_WsConn"] = set()
        self.last_trade_lots: dict[str, int] = {}
        self.exchange.listeners.append(self._on_event)
        self.app = web.Application(middlewares=[self._middleware])
        r = self.app.router
        r.add_get(API + "/exchange/status", self.exchange_status)
        r.add_get(API + "/markets", self.get_markets)
        r.add_get(API + "/markets/{ticker}", self.get_market)
        r.add_get(API + "/markets/{ticker}/orderbook", self.get_orderbook)
        r.add_get(API + "/events", self.get_events)
        r.add_get(API + "/events/{event_ticker}", self.get_event)
        r.add_get(API + "/series/{series_ticker}", self.get_series)
        r.add_get(API + "/portfolio/balance", self.get_balance)
        r.add_get(API + "/portfolio/positions", self.get_positions)
        r.add_get(API + "/portfolio/orders", self.get_orders)
        r.add_post(API + "/portfolio/orders", self.create_order)
        r.add_post(API + "/portfolio/orders/batched", self.batch_create_orders)
        r.add_delete(API + "/portfolio/orders/batched", self.batch_cancel_orders)
        r.add_get(API + "/portfolio/orders/{order_id}", self.get_order)
        r.add_delete(API + "/portfolio/orders/{order_id}", self.cancel_order)
        r.add_get(API + "/portfolio/fills", self.get_fills)
        r.add_get(WS_PATH, self.ws_handler)
        self._runner: web.AppRunner | None = None
        self._stepper: asyncio.Task | None = None
        self.base_url = ""
        self.ws_url = ""

    # ---- lifecycle ----------------------------------------------------------------------
    def register_key(self, key_id: str, public_key_pem: bytes, account: str = "user") -> None:
        self.registry.register(key_id, public_key_pem, account)
        self.exchange.account(account, self.starting_balance)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sock = site._server.sockets[0]  # noqa: SLF001 (aiohttp exposes no public accessor)
        h, p = sock.getsockname()[:2]
        self.base_url = f"http://{h}:{p}{API}"
        self.ws_url = f"ws://{h}:{p}{WS_PATH}"
        self.refresh_book_faults()              # a scenario may start with bad books
        if self.step_interval:
            self._stepper = asyncio.create_task(self._step_loop())
        return self.base_url

    async def stop(self) -> None:
        if self._stepper:
            self._stepper.cancel()
        for c in list(self.connections):
            await c.ws.close()
        if self._runner:
            await self._runner.cleanup()

    def refresh_book_faults(self) -> None:
        """Apply `faults.crossed_books`: publish (REST and WS) a phantom YES bid that locks or
        crosses the best NO bid; remove it (a delta back) once the market is healthy again."""
        refresh_crossed_books(self)

    def book_levels(self, t: str, side: str) -> dict[int, int]:
        """The published levels: the engine's plus any crossed-book fault level."""
        lv = dict(self.exchange.markets[t].levels(side))
        ph = self.phantom.get(t)
        if ph and ph[0] == side:
            lv[ph[1]] = lv.get(ph[1], 0) + ph[2]
        return lv

    async def _step_loop(self) -> None:
        while True:
            await asyncio.sleep(self.step_interval)
            self.process.step()
            self.refresh_book_faults()          # faults may be switched at run time

    # ---- middleware: faults + auth ------------------------------------------------------
    _PUBLIC_PREFIXES = ("/markets", "/events", "/series", "/exchange")

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        if request.path == WS_PATH:
            return await handler(request)
        fault = injected_http_fault(self, {"error": "too many requests"},
                                    lambda: _err(503, "service_unavailable", "service temporarily unavailable"))
        if fault is not None:
            return fault
        rel = request.path[len(API):]
        needs_auth = not rel.startswith(self._PUBLIC_PREFIXES) or rel.endswith("/orderbook")
        if needs_auth:
            try:
                request[ACCOUNT] = self.registry.verify(request.headers, request.method, request.path)
            except AuthFailure as exc:
                return _err(401, exc.code, str(exc))
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except _BadParams as exc:
            return _err(400, "invalid_parameters", str(exc))
        except Exception:  # pragma: no cover - a simulator bug must not hang the client
            log.exception("kalshi sim handler failed")
            return _err(500, "internal_server_error", "internal error")

    # ---- representations ----------------------------------------------------------------
    def _market_json(self, ticker: str) -> dict:
        e, q, l = self.listings[ticker]
        m = self.exchange.markets[ticker]
        yes, no = m.levels("yes"), m.levels("no")
        by = max(yes) if yes else 0
        bn = max(no) if no else 0
        ya = FULL - bn if no else FULL
        na = FULL - by if yes else FULL
        return {
            "ticker": ticker, "event_ticker": l.event_id, "market_type": "binary",
            "title": l.title, "yes_sub_title": q.key, "no_sub_title": q.key,
            "created_time": _CREATED, "updated_time": _iso(self.clock_ms()),
            "open_time": _CREATED, "close_time": "2026-12-31T19:00:00Z",
            "expected_expiration_time": "2026-12-31T20:00:00Z",
            "latest_expiration_time": "2027-01-07T20:00:00Z", "settlement_timer_seconds": 3600,
            "status": "active" if m.open else "closed",
            "notional_value_dollars": "1.0000",
            "yes_bid_dollars": dollars(by), "yes_ask_dollars": dollars(ya),
            "no_bid_dollars": dollars(bn), "no_ask_dollars": dollars(na),
            "yes_bid_size_fp": count_fp(yes.get(by, 0)), "yes_ask_size_fp": count_fp(no.get(bn, 0)),
            "last_price_dollars": dollars(m.last_yes_price),
            "previous_yes_bid_dollars": dollars(by), "previous_yes_ask_dollars": dollars(ya),
            "previous_price_dollars": dollars(m.last_yes_price),
            "volume_fp": count_fp(m.volume), "volume_24h_fp": count_fp(m.volume),
            "liquidity_dollars": "0.0000", "open_interest_fp": count_fp(m.volume),
            "result": "", "can_close_early": True, "fractional_trading_enabled": m.lot < 100,
            "expiration_value": "", "rules_primary": f"If {l.title.rstrip('?')}, the market resolves to Yes.",
            "rules_secondary": "", "price_level_structure": "linear_cent",
            "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
            "strike_type": "custom", "custom_strike": {"outcome": q.key},
        }

    def _event_json(self, event_id: str, nested: bool) -> dict:
        tickers = [t for t, (e, q, l) in self.listings.items() if l.event_id == event_id]
        e = self.listings[tickers[0]][0]
        series = self.listings[tickers[0]][2].series
        out = {"event_ticker": event_id, "series_ticker": series, "sub_title": e.title, "title": e.title,
               "collateral_return_type": "MECNET" if e.exclusive else "",
               "mutually_exclusive": e.exclusive, "available_on_brokers": False,
               "product_metadata": {}, "strike_period": "", "category": "Economics"}
        if nested:
            out["markets"] = [self._market_json(t) for t in tickers]
        return out

    # ---- public REST --------------------------------------------------------------------
    async def exchange_status(self, request):
        return web.json_response({"exchange_active": True, "trading_active": True})

    async def get_markets(self, request: web.Request):
        qp = request.query
        tickers = list(self.listings)
        if qp.get("event_ticker"):
            evs = set(qp["event_ticker"].split(","))
            tickers = [t for t in tickers if self.listings[t][2].event_id in evs]
        if qp.get("series_ticker"):
            tickers = [t for t in tickers if self.listings[t][2].series == qp["series_ticker"]]
        if qp.get("tickers"):
            want = set(qp["tickers"].split(","))
            tickers = [t for t in tickers if t in want]
        try:
            limit = min(1000, max(1, int(qp.get("limit", "100"))))
            start = int(qp.get("cursor") or 0)
        except ValueError:
            return _err(400, "invalid_parameters", "limit and cursor must be integers")
        page = tickers[start:start + limit]
        nxt = str(start + limit) if start + limit < len(tickers) else ""
        return web.json_response({"markets": [self._market_json(t) for t in page], "cursor": nxt})

    async def get_market(self, request):
        t = request.match_info["ticker"]
        if t not in self.listings:
            return _err(404, "not_found", "market not found")
        return web.json_response({"market": self._market_json(t)})

    async def get_orderbook(self, request):
        t = request.match_info["ticker"]
        if t not in self.listings:
            return _err(404, "not_found", "market not found")
        try:
            depth = int(request.query.get("depth", "0"))
        except ValueError:
            return _err(400, "invalid_parameters", "depth must be an integer")
        book = {}
        for side in ("yes", "no"):
            lv = sorted(self.book_levels(t, side).items())  # ascending: best bid last (live behaviour)
            if depth:
                lv = lv[-depth:]
            book[f"{side}_dollars"] = [[dollars(p), count_fp(q)] for p, q in lv]
        return web.json_response({"orderbook_fp": book})

    async def get_events(self, request):
        seen: list[str] = []
        for _t, (e, q, l) in self.listings.items():
            if l.event_id not in seen:
                seen.append(l.event_id)
        if request.query.get("series_ticker"):
            seen = [s for s in seen if self._event_json(s, False)["series_ticker"] == request.query["series_ticker"]]
        nested = request.query.get("with_nested_markets") == "true"
        return web.json_response({"events": [self._event_json(s, nested) for s in seen], "cursor": ""})

    async def get_event(self, request):
        eid = request.match_info["event_ticker"]
        if not any(l.event_id == eid for _e, _q, l in self.listings.values()):
            return _err(404, "not_found", "event not found")
        ev = self._event_json(eid, False)
        markets = [self._market_json(t) for t, (_e, _q, l) in self.listings.items() if l.event_id == eid]
        return web.json_response({"event": ev, "markets": markets})

    async def get_series(self, request):
        s = request.match_info["series_ticker"]
        ls = [l for _e, _q, l in self.listings.values() if l.series == s]
        if not ls:
            return _err(404, "not_found", "series not found")
        l = ls[0]
        mult = json.loads(l.fee_multiplier)  # a JSON number on the wire (spec: double)
        return web.json_response({"series": {
            "ticker": s, "frequency": "custom", "title": s, "category": "Economics", "tags": [],
            "settlement_sources": [{"name": "Simulated source", "url": "https://example.invalid"}],
            "contract_url": "https://example.invalid/contract.pdf",
            "contract_terms_url": "https://example.invalid/terms.pdf",
            "fee_type": l.fee_type, "fee_multiplier": mult, "additional_prohibitions": [],
            "product_metadata": {}, "volume_fp": "0.00"}})

    # ---- portfolio ----------------------------------------------------------------------
    async def get_balance(self, request):
        a = self.exchange.account(request[ACCOUNT])
        cents = a.balance // 10_000
        return web.json_response({"balance": cents, "balance_dollars": micros_dollars(a.balance),
                                  "portfolio_value": 0, "updated_ts": self.clock_ms() // 1000})

    async def get_positions(self, request):
        """Market positions by ticker (ascending), keyset-paged on the ticker; filters `ticker`,
        `event_ticker` (one) and `count_filter` (`position` / `total_traded`: any non-zero)."""
        q = request.query
        a = self.exchange.account(request[ACCOUNT])
        limit, after = _page_params(q, "p", str)
        wanted = [c for c in (q.get("count_filter") or "").split(",") if c]
        if any(c not in ("position", "total_traded") for c in wanted):
            raise _BadParams("count_filter accepts position, total_traded")
        ev = q.get("event_ticker")
        if ev and "," in ev:
            raise _BadParams("only a single event ticker is supported")
        nonzero = {"position": a.positions, "total_traded": a.traded}
        tickers = [t for t in a.positions
                   if (not q.get("ticker") or t == q["ticker"])
                   and (not ev or (t in self.listings and self.listings[t][2].event_id == ev))
                   and (not wanted or any(nonzero[c].get(t, 0) for c in wanted))]
        page, last = keyset_page(tickers, lambda t: t, after, limit, descending=False)
        out = []
        for t in page:
            resting = sum(1 for o in self.exchange.orders.values()
                          if o.account == a.name and o.market == t and o.status == "resting")
            out.append({"ticker": t, "total_traded_dollars": micros_dollars(a.traded.get(t, 0)),
                        "position_fp": count_fp(a.positions[t]),
                        "market_exposure_dollars": micros_dollars(a.traded.get(t, 0)),
                        "realized_pnl_dollars": "0.0000", "resting_orders_count": resting,
                        "fees_paid_dollars": micros_dollars(a.fees_paid.get(t, 0)),
                        "last_updated_ts": _iso(self.clock_ms())})
        return web.json_response({"market_positions": out, "event_positions": [],
                                  "cursor": "" if last is None else _cursor("p", last)})

    def _order_json(self, o) -> dict:
        # `side`/`action` as submitted; prices in the submitted side's terms.
        sub_side = o.side if o.action == "buy" else ("no" if o.side == "yes" else "yes")
        yes_px = o.submitted_price if sub_side == "yes" else FULL - o.submitted_price
        return {"order_id": o.order_id, "user_id": o.account, "client_order_id": o.client_order_id,
                "ticker": o.market, "side": sub_side, "action": o.action, "type": "limit",
                "status": o.status, "yes_price_dollars": dollars(yes_px), "no_price_dollars": dollars(FULL - yes_px),
                "fill_count_fp": count_fp(o.filled), "remaining_count_fp": count_fp(o.remaining),
                "initial_count_fp": count_fp(o.initial),
                "taker_fees_dollars": micros_dollars(o.taker_fee), "maker_fees_dollars": micros_dollars(o.maker_fee),
                "taker_fill_cost_dollars": micros_dollars(o.taker_cost),
                "maker_fill_cost_dollars": micros_dollars(o.maker_cost),
                "created_time": _iso(o.created_ms), "last_update_time": _iso(o.updated_ms),
                "self_trade_prevention_type": "taker_at_cross"}

    async def get_orders(self, request):
        """The account's orders, newest first, keyset-paged on the order's sequence number;
        filters `ticker`, `event_ticker` (≤ 10, comma list), `min_ts`/`max_ts` (creation time,
        unix s, inclusive) and `status` (resting / canceled / executed)."""
        q = request.query
        acct = request[ACCOUNT]
        limit, after = _page_params(q, "o")
        st, tk = q.get("status"), q.get("ticker")
        if st and st not in _ORDER_STATUSES:
            raise _BadParams("status must be resting, canceled or executed")
        evs = {e for e in (q.get("event_ticker") or "").split(",") if e}
        if len(evs) > 10:
            raise _BadParams("at most 10 event tickers")
        lo, hi = _ts_param(q, "min_ts"), _ts_param(q, "max_ts")
        mine = [o for o in self.exchange.orders.values()
                if o.account == acct and (not st or o.status == st) and (not tk or o.market == tk)
                and (not evs or (o.market in self.listings and self.listings[o.market][2].event_id in evs))
                and _in_window(o.created_ms // 1000, lo, hi)]
        page, last = keyset_page(mine, lambda o: o.seq, after, limit, descending=True)
        return web.json_response({"orders": [self._order_json(o) for o in page],
                                  "cursor": "" if last is None else _cursor("o", last)})

    async def get_order(self, request):
        o = self.exchange.orders.get(request.match_info["order_id"])
        if o is None or o.account != request[ACCOUNT]:
            return _err(404, "not_found", "order not found")
        return web.json_response({"order": self._order_json(o)})

    async def create_order(self, request: web.Request):
        acct = request[ACCOUNT]
        try:
            body = await request.json()
        except Exception:
            return _err(400, "invalid_parameters", "body is not JSON")
        if not isinstance(body, dict):
            return _err(400, "invalid_parameters", "body must be an object")
        status, payload = await self._create_one(acct, body)
        lost = status == 201 and self.lost_answers.count(self.faults)
        resp = web.json_response({"order": payload} if status == 201 else payload, status=status)
        return await order_answer(request, resp, self.faults, lost)

    @staticmethod
    def _errbody(code: str, message: str) -> dict:
        return {"code": code, "message": message, "details": message, "service": "trade-api"}

    async def _create_one(self, acct: str, body: dict) -> tuple[int, dict]:
        """Validate and place one order: (201, Order json) or (HTTP status, ErrorResponse json).
        A `client_order_id` already used is refused as a duplicate before any fault applies (it
        is not a new order: `order_reject_every` does not count it)."""
        coid = body.get("client_order_id")
        if isinstance(coid, str) and coid and (acct, coid) in self.exchange.by_client_id:
            return 409, self._errbody("order_already_exists", "client_order_id already used")
        self._order_count += 1
        f = self.faults
        if f.order_ack_delay_s:
            await asyncio.sleep(f.order_ack_delay_s)
        if f.order_reject_every and self._order_count % f.order_reject_every == 0:
            return 400, self._errbody("order_rejected", "order rejected by the exchange (simulated)")
        try:
            ticker, side, action = body["ticker"], body["side"], body["action"]
            if "count_fp" in body:
                lots = parse_count(body["count_fp"])
                if "count" in body and parse_count(body["count"]) != lots:
                    raise ValueError("count and count_fp disagree")
            elif "count" in body:
                lots = parse_count(body["count"])
            else:
                raise ValueError("count or count_fp is required")
            prices = [k for k in ("yes_price", "no_price", "yes_price_dollars", "no_price_dollars") if k in body]
            if len(prices) != 1:
                raise ValueError("exactly one price field is required")
            k = prices[0]
            if k.endswith("_dollars"):
                px = parse_dollars(body[k])
            else:
                if isinstance(body[k], bool) or not isinstance(body[k], int) or not 1 <= body[k] <= 99:
                    raise ValueError("price in cents must be an integer 1-99")
                px = body[k] * 100
            px_side = k.split("_")[0]
            # price is expressed for `px_side`; convert to the order's own side
            own_px = px if px_side == side else FULL - px
            tif = {"fill_or_kill": "fok", "immediate_or_cancel": "ioc",
                   "good_till_canceled": "gtc", None: "gtc"}[body.get("time_in_force")]
            if ticker not in self.listings:
                return 404, self._errbody("market_not_found", "market not found")
        except (KeyError, ValueError, TypeError) as exc:
            return 400, self._errbody("invalid_parameters", f"invalid order: {exc}")
        try:
            cap = f.partial_fill_lots or None
            o, _fills = self.exchange.place(acct, ticker, side, action, own_px, lots, tif,
                                            body.get("client_order_id", ""), bool(body.get("post_only")),
                                            max_fill=cap)
        except SimReject as exc:
            status = 409 if exc.code == "order_already_exists" else 400
            return status, self._errbody(exc.code, str(exc))
        self._user_order(o)
        return 201, self._order_json(o)

    def _user_order(self, o) -> None:
        """Push a `user_order` frame (final state after matching / cancel) to subscribed connections."""
        for c in list(self.connections):
            c.user_order(o)

    BATCH_MAX = 20     # "At the moment of writing, the limit is 20 orders per batch."

    async def batch_create_orders(self, request: web.Request):
        """`POST /portfolio/orders/batched`: each order placed in turn; per-order `order` or `error`."""
        acct = request[ACCOUNT]
        try:
            body = await request.json()
        except Exception:
            return _err(400, "invalid_parameters", "body is not JSON")
        orders = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(orders, list) or not orders or not all(isinstance(o, dict) for o in orders):
            return _err(400, "invalid_parameters", "orders must be a non-empty array of orders")
        if len(orders) > self.BATCH_MAX:
            return _err(400, "invalid_parameters", f"at most {self.BATCH_MAX} orders per batch")
        out = []
        for ob in orders:
            status, payload = await self._create_one(acct, ob)
            # the absent member is omitted, not null: the spec's `allOf` + `nullable` members do not
            # validate a JSON null under OpenAPI 3.0 tooling (openapi-core), an omitted one does
            item = {"order": payload} if status == 201 else {"error": payload}
            if ob.get("client_order_id"):
                item["client_order_id"] = ob["client_order_id"]
            out.append(item)
        lost = self.lost_answers.count(self.faults, sum(1 for it in out if "order" in it))
        return await order_answer(request, web.json_response({"orders": out}, status=201), self.faults, lost)

    async def batch_cancel_orders(self, request: web.Request):
        """`DELETE /portfolio/orders/batched` with `{"orders":[{"order_id":…}]}` (or legacy `ids`)."""
        acct = request[ACCOUNT]
        try:
            body = await request.json()
        except Exception:
            return _err(400, "invalid_parameters", "body is not JSON")
        if not isinstance(body, dict):
            return _err(400, "invalid_parameters", "body must be an object")
        if isinstance(body.get("orders"), list):
            ids = [o.get("order_id") if isinstance(o, dict) else None for o in body["orders"]]
        elif isinstance(body.get("ids"), list):
            ids = body["ids"]
        else:
            return _err(400, "invalid_parameters", "orders (or ids) is required")
        if not ids or not all(isinstance(i, str) and i for i in ids):
            return _err(400, "invalid_parameters", "every order needs an order_id")
        if len(ids) > self.BATCH_MAX:
            return _err(400, "invalid_parameters", f"at most {self.BATCH_MAX} orders per batch")
        out = []
        for oid in ids:
            try:
                o, reduced = self.exchange.cancel(acct, oid)
                self._user_order(o)
                out.append({"order_id": oid, "order": self._order_json(o), "reduced_by_fp": count_fp(reduced)})
            except SimReject as exc:
                out.append({"order_id": oid, "reduced_by_fp": count_fp(0),
                            "error": self._errbody(exc.code, str(exc))})
        return web.json_response({"orders": out})

    async def cancel_order(self, request):
        try:
            o, reduced = self.exchange.cancel(request[ACCOUNT], request.match_info["order_id"])
        except SimReject as exc:
            return _err(404, exc.code, str(exc))
        self._user_order(o)
        return web.json_response({"order": self._order_json(o), "reduced_by_fp": count_fp(reduced)})

    async def get_fills(self, request):
        """The account's fills, newest first, keyset-paged on the fill's place in the account's
        append-only fill log; filters `ticker`, `order_id`, `min_ts`/`max_ts` (unix s, inclusive)."""
        q = request.query
        a = self.exchange.account(request[ACCOUNT])
        limit, after = _page_params(q, "f")
        lo, hi = _ts_param(q, "min_ts"), _ts_param(q, "max_ts")
        idx = [i for i, fe in enumerate(a.fills)
               if (not q.get("ticker") or q["ticker"] == fe.order.market)
               and (not q.get("order_id") or q["order_id"] == fe.order.order_id)
               and _in_window(fe.ts_ms // 1000, lo, hi)]
        page, last = keyset_page(idx, lambda i: i, after, limit, descending=True)
        out = []
        for fe in (a.fills[i] for i in page):
            o = fe.order
            yes_px = fe.price if o.side == "yes" else FULL - fe.price
            out.append({"fill_id": fe.fill_id, "trade_id": fe.trade_id, "order_id": o.order_id,
                        "ticker": o.market, "market_ticker": o.market, "side": o.side, "action": "buy",
                        "count_fp": count_fp(fe.lots), "yes_price_dollars": dollars(yes_px),
                        "no_price_dollars": dollars(FULL - yes_px), "is_taker": fe.is_taker,
                        "created_time": _iso(fe.ts_ms), "fee_cost": micros_dollars(fe.fee),
                        "ts": fe.ts_ms // 1000})
        return web.json_response({"fills": out, "cursor": "" if last is None else _cursor("f", last)})

    # ---- WebSocket ----------------------------------------------------------------------
    async def ws_handler(self, request: web.Request):
        try:
            account = self.registry.verify(request.headers, "GET", WS_PATH)
        except AuthFailure as exc:
            return _err(401, exc.code, str(exc))
        ws = web.WebSocketResponse(heartbeat=10.0)
        await ws.prepare(request)
        conn = _WsConn(self, ws, account)
        await serve_connection(self.connections, conn, ws, conn.on_command)
        return ws

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

    def _on_event(self, ev) -> None:
        if isinstance(ev, TradeEvent):
            self.last_trade_lots[ev.market] = ev.lots
        for c in list(self.connections):
            c.on_event(ev)


class _WsConn:
    """One client connection: subscriptions, per-sid sequence numbers, fault injection."""

    def __init__(self, sim: KalshiSim, ws: web.WebSocketResponse, account: str) -> None:
        self.sim, self.ws, self.account = sim, ws, account
        self.q: asyncio.Queue = asyncio.Queue()
        self.sids = itertools.count(1)
        self.subs: dict[int, dict] = {}       # sid → {"channel", "tickers", "seq", "use_yes_price"}
        self.frames = 0
        self.book_frames = 0
        self.held: str | None = None

    def send(self, obj: dict, *, book: bool = False) -> None:
        self.q.put_nowait((obj, book))

    async def writer(self) -> None:
        f = self.sim.faults
        while True:
            obj, book = await self.q.get()
            text = json.dumps(obj, separators=(",", ":"))
            if book:
                self.book_frames += 1
                n = self.book_frames
                if f.ws_malformed_every and n % f.ws_malformed_every == 0:
                    await self.ws.send_str('{"type":"orderbook_delta","sid":')   # truncated frame
                if f.ws_out_of_order_every and n % f.ws_out_of_order_every == 0 and self.held is None:
                    self.held = text
                    continue
                await self.ws.send_str(text)
                if f.ws_duplicate_every and n % f.ws_duplicate_every == 0:
                    await self.ws.send_str(text)
                if self.held is not None:
                    held, self.held = self.held, None
                    await self.ws.send_str(held)
            else:
                await self.ws.send_str(text)
            self.frames += 1
            if f.ws_disconnect_after and self.frames >= f.ws_disconnect_after:
                await self.ws.close()
                return

    def _next_seq(self, sid: int) -> int:
        s = self.subs[sid]
        s["seq"] += 1
        f = self.sim.faults
        if f.ws_seq_gap_every and s["seq"] > 1 and s["seq"] % f.ws_seq_gap_every == 0:
            s["seq"] += 1                                   # a frame "lost" upstream
        return s["seq"]

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

    def on_command(self, text: str) -> None:
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
                if ch not in ("orderbook_delta", "ticker", "trade", "fill", "user_orders", "market_positions"):
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
        """`user_order` (AsyncAPI userOrderPayload): `side` = the side the order buys, price as YES."""
        if o.account != self.account:
            return
        yes_px = o.price if o.side == "yes" else FULL - o.price
        msg = {"order_id": o.order_id, "user_id": o.account, "ticker": o.market, "status": o.status,
               "side": o.side, "is_yes": o.side == "yes", "yes_price_dollars": dollars(yes_px),
               "fill_count_fp": count_fp(o.filled), "remaining_count_fp": count_fp(o.remaining),
               "initial_count_fp": count_fp(o.initial),
               "taker_fill_cost_dollars": micros_dollars(o.taker_cost),
               "maker_fill_cost_dollars": micros_dollars(o.maker_cost),
               "client_order_id": o.client_order_id, "self_trade_prevention_type": "taker_at_cross",
               "created_time": _iso(o.created_ms), "last_update_time": _iso(o.updated_ms)}
        if o.taker_fee:
            msg["taker_fees_dollars"] = micros_dollars(o.taker_fee)
        if o.maker_fee:
            msg["maker_fees_dollars"] = micros_dollars(o.maker_fee)
        for sid, s in list(self.subs.items()):
            if s["channel"] == "user_orders" and (not s["tickers"] or o.market in s["tickers"]):
                self.send({"type": "user_order", "sid": sid, "msg": msg})

    def on_event(self, ev) -> None:
        now = self.sim.clock_ms()
        if isinstance(ev, FillEvent) and not ev.is_taker and ev.order.account == self.account:
            self.user_order(ev.order)               # a resting order of ours was (partly) filled
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
                       "side": ev.side, "ts": _iso(now), "ts_ms": now}
                if ev.client_order_id and ev.account == self.account:
                    msg["client_order_id"] = ev.client_order_id
                self.send({"type": "orderbook_delta", "sid": sid, "seq": self._next_seq(sid), "msg": msg}, book=True)
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
                yes_px = ev.price if o.side == "yes" else FULL - ev.price
                self.send({"type": "fill", "sid": sid, "msg": {
                    "trade_id": ev.trade_id, "order_id": o.order_id, "client_order_id": o.client_order_id,
                    "market_ticker": o.market, "is_taker": ev.is_taker, "side": o.side,
                    "yes_price_dollars": dollars(yes_px), "count_fp": count_fp(ev.lots),
                    "fee_cost": micros_dollars(ev.fee, 6), "action": "buy", "ts": ev.ts_ms // 1000,
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
        self.send({"type": "ticker", "sid": sid, "msg": {**msg, "ts": now // 1000, "ts_ms": now, "time": _iso(now)}})
