"""Simulated Kalshi REST: the Trade API v2 endpoints under /trade-api/v2 (aiohttp handlers).

Serves the 2026 fixed-point shapes (`*_dollars`, `*_fp`) and answers errors in Kalshi's shape
(`{"code","message","details","service"}`). Lists are keyset-paged behind opaque cursors
(`limit` 1-1000). A settled market (`settle_market`) is `finalized` with its `result`,
`settlement_value_dollars` and `settlement_ts`; orders on it are refused 409 `market_closed`; each
holder's payout is listed by `GET /portfolio/settlements`. A voided market (`settle_market(t,
"void")`) is `finalized` with `result` "" (Market.result has no "void") and no settlement value;
each holder gets its cost basis back, listed with `market_result` "void". An archived market
(`archive_market`, `archive_settled_before`: settled before the historical cutoff) is gone from
`/markets`, `/markets/{ticker}` and the events' nested markets, and served by the public
`GET /historical/markets` and `/historical/markets/{ticker}`.

The account's fills and finished orders are partitioned at the historical cutoff
(`Faults.kalshi_history_cutoff_ms`; 0, the default: nothing is partitioned) as Kalshi's are
(docs getting_started/historical_data; OpenAPI GetHistoricalCutoffResponse): a fill created before
it is listed by `GET /historical/fills` only, an order canceled or executed (last updated) before
it by `GET /historical/orders` only; resting orders always stay in `/portfolio/orders`. The public
`GET /historical/cutoff` answers the cutoff as RFC 3339 `trades_created_ts`, `orders_updated_ts`
and `market_settled_ts` (markets are still archived explicitly: `archive_settled_before`).

Orders are written through Kalshi's V2 order API only (`POST /portfolio/events/orders`,
`DELETE /portfolio/events/orders/{order_id}`, `POST|DELETE /portfolio/events/orders/batched`:
the one YES book, `bid`/`ask` at the YES price; reads stay `GET /portfolio/orders[/{id}]` and
`/portfolio/fills`); the retired V1 writes answer 410 `deprecated_v1_order_endpoint`, so nothing
still sending them goes unnoticed. V2 refusals have the guide's nested body
(`{"error": {"code", "message", "details"}}`). `KalshiRest` is mixed into
`KalshiSim` (arbbot.sim.kalshi.server), which owns the state (`exchange`, `listings`, `faults`)
and the app wiring; every order change is pushed to the WebSocket side with `push_user_order`.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from decimal import Decimal

from aiohttp import web

from arbbot.model import utc_ms
from arbbot.sim.engine.matching import FULL, FeeModel, MarketSettled, SimReject
from arbbot.sim.faults import ack_delay, order_answer
from arbbot.sim.paging import keyset_page
from arbbot.sim.venue import BadRequest
from arbbot.sim.scenarios import close_ms
from arbbot.sim.wire import count_fp, dollars, iso_time, micros_dollars, parse_count, parse_dollars

API = "/trade-api/v2"
ACCOUNT = web.RequestKey("account", str)
_CREATED = "2026-10-01T14:00:00Z"


def _errbody(code: str, message: str, details: str = "") -> dict:
    """Kalshi's ErrorResponse."""
    return {"code": code, "message": message, "details": details or message, "service": "trade-api"}


def _err(status: int, code: str, message: str, details: str = "") -> web.Response:
    return web.json_response(_errbody(code, message, details), status=status)


def _errobj(code: str, message: str, details: str = "") -> dict:
    """The error object of Kalshi's V2 order endpoints (`details` only when there is something to
    add: docs.kalshi.com/getting_started/order_errors)."""
    return {"code": code, "message": message, **({"details": details} if details else {})}


def _err_v2(status: int, code: str, message: str, details: str = "") -> web.Response:
    """A V2 order endpoint's refusal: `{"error": {"code", "message", "details"}}` (the order-errors
    guide; a body the API cannot parse is the flat ErrorResponse instead)."""
    return web.json_response({"error": _errobj(code, message, details)}, status=status)


# CreateOrderV2Request `time_in_force` → the engine's
_TIF_V2 = {"fill_or_kill": "fok", "immediate_or_cancel": "ioc", "good_till_canceled": "gtc"}
# CreateOrderRequest (V1) fields that have no place in a V2 body
_V1_ONLY = ("action", "count_fp", "yes_price", "no_price", "yes_price_dollars", "no_price_dollars",
            "expiration_ts", "buy_max_cost", "sell_position_floor")


PAGE_MAX = 1000      # OpenAPI: LimitQuery / PositionsLimitQuery maximum (orders, fills, positions)
MARKETS_PAGE_MAX = 1000   # OpenAPI MarketLimitQuery: 0–1000, default 100 (0: omitted → the default)
EVENTS_PAGE_MAX = 200   # GET /events: `limit` ≤ 200, default 200
ORDERBOOKS_MAX = 100   # GET /markets/orderbooks: 1–100 tickers a request
_ORDER_STATUSES = ("resting", "canceled", "executed")
# GET /markets, /events `status` filter → the Market.status it selects (the simulator's markets are
# active, closed or finalized; none is initialized or inactive)
_STATUS_FILTER = {"unopened": "initialized", "open": "active", "paused": "inactive", "closed": "closed",
                  "settled": "finalized"}


def _status_filter(q) -> str | None:
    """The Market.status a `status` query selects (None: any); BadRequest for another value."""
    st = q.get("status")
    if not st:
        return None
    if st not in _STATUS_FILTER:
        raise BadRequest(f"status must be one of {', '.join(_STATUS_FILTER)}")
    return _STATUS_FILTER[st]


def _cursor(kind: str, key) -> str:
    """Opaque cursor: the key (immutable) of the last item served, tagged with its list."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def _page_params(q, kind: str, key_type=int, *, most: int = PAGE_MAX, default: int = 100) -> tuple[int, object]:
    """(limit, key to resume after or None) from `limit` (1-`most`, default `default`) and `cursor`."""
    try:
        limit = int(q.get("limit") or str(default))
    except ValueError:
        raise BadRequest("limit must be an integer") from None
    if not 1 <= limit <= most:
        raise BadRequest(f"limit must be between 1 and {most}")
    return limit, _after(q, kind, key_type)


def _after(q, kind: str, key_type=int):
    """The key to resume after from the `cursor` query (None: from the start); BadRequest if it
    is not one of ours for `kind`."""
    raw = q.get("cursor") or ""
    if not raw:
        return None
    try:
        tag, _, key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition(":")
        if tag != kind:
            raise ValueError(tag)
        return key_type(key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("invalid cursor") from None


def _ts_param(q, name: str) -> int | None:
    """`min_ts` / `max_ts`: unix seconds (int64)."""
    if not q.get(name):
        return None
    try:
        return int(q[name])
    except ValueError:
        raise BadRequest(f"{name} must be a unix timestamp in seconds") from None


def _in_window(ts_s: int, lo: int | None, hi: int | None) -> bool:
    """Both bounds inclusive (unix seconds)."""
    return (lo is None or ts_s >= lo) and (hi is None or ts_s <= hi)


async def _json_body(request: web.Request):
    """The request's JSON body; BadRequest (400 invalid_parameters) if it is not JSON."""
    try:
        return await request.json()
    except Exception:
        raise BadRequest("body is not JSON") from None


async def _json_object(request: web.Request) -> dict:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("body must be an object")
    return body


class KalshiRest:
    """The REST handlers of `KalshiSim` (a mixin: `self` is the simulator)."""

    def add_rest_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get(API + "/exchange/status", self.exchange_status)
        r.add_get(API + "/markets", self.get_markets)
        r.add_get(API + "/markets/orderbooks", self.get_orderbooks)     # (before /markets/{ticker})
        r.add_get(API + "/markets/{ticker}", self.get_market)
        r.add_get(API + "/markets/{ticker}/orderbook", self.get_orderbook)
        r.add_get(API + "/events", self.get_events)
        r.add_get(API + "/events/fee_changes", self.get_event_fee_changes)     # (before /events/{event_ticker})
        r.add_get(API + "/events/{event_ticker}", self.get_event)
        r.add_get(API + "/series", self.list_series)
        r.add_get(API + "/series/fee_changes", self.get_fee_changes)           # (before /series/{series_ticker})
        r.add_get(API + "/series/{series_ticker}", self.get_series)
        r.add_get(API + "/portfolio/balance", self.get_balance)
        r.add_get(API + "/portfolio/positions", self.get_positions)
        r.add_get(API + "/portfolio/orders", self.get_orders)
        r.add_get(API + "/portfolio/orders/{order_id}", self.get_order)
        # the V2 order writes; the legacy V1 ones answer 410 (`v1_order_write`)
        r.add_post(API + "/portfolio/events/orders", self.create_order_v2)
        r.add_post(API + "/portfolio/events/orders/batched", self.batch_create_orders_v2)
        r.add_delete(API + "/portfolio/events/orders/batched", self.batch_cancel_orders_v2)   # (before /{order_id})
        r.add_delete(API + "/portfolio/events/orders/{order_id}", self.cancel_order_v2)
        r.add_post(API + "/portfolio/orders", self.v1_order_write)
        r.add_post(API + "/portfolio/orders/batched", self.v1_order_write)
        r.add_delete(API + "/portfolio/orders/batched", self.v1_order_write)
        r.add_delete(API + "/portfolio/orders/{order_id}", self.v1_order_write)
        r.add_get(API + "/portfolio/fills", self.get_fills)
        r.add_get(API + "/portfolio/settlements", self.get_settlements)
        r.add_get(API + "/historical/markets", self.get_historical_markets)
        r.add_get(API + "/historical/markets/{ticker}", self.get_historical_market)
        r.add_get(API + "/historical/cutoff", self.get_historical_cutoff)
        # public, as the OpenAPI has them (no `security`: `_PUBLIC_PREFIXES`); the account's own
        # archived fills and orders are authenticated
        r.add_get(API + "/historical/fills", self.get_historical_fills)
        r.add_get(API + "/historical/orders", self.get_historical_orders)

    # ---- settlement, archive --------------------------------------------------------------
    def settle_market(self, market_id: str, result: str) -> MarketSettled:
        """As `HttpVenueSim.settle_market` (yes | no | half), and also "void": the market is
        `finalized` with result "", every resting order cancelled, and each holder credited the
        cost basis of the lots it holds (`Exchange.settle(refund_cost=True)`), listed by
        `/portfolio/settlements` with `market_result` "void" and `revenue` that refund in cents.
        ValueError on an unknown market, a market already settled or another result."""
        if result != "void":
            return super().settle_market(market_id, result)
        if market_id not in self.listings:
            raise ValueError(f"{self.venue} lists no market {market_id!r}")
        if self.exchange.markets[market_id].settled:
            raise ValueError(f"{self.venue} market {market_id} is already settled")
        return self.exchange.settle(market_id, refund_cost=True, pay=self.settle_pays)

    @functools.cached_property
    def archived(self) -> dict[str, int]:
        """Archived market tickers (moved past the historical cutoff), in archive order → the
        order's index (the /historical/markets cursor key)."""
        return {}

    def archive_market(self, ticker: str) -> None:
        """Move a settled market to the historical database: from now on `/markets`,
        `/markets/{ticker}` and nested event markets leave it out, `/historical/markets` serves
        it. Its settlements stay in `/portfolio/settlements`. Idempotent; ValueError if the
        market is not listed or not settled (only settled markets are archived)."""
        if ticker not in self.listings:
            raise ValueError(f"{self.venue} lists no market {ticker!r}")
        if not self.exchange.markets[ticker].settled:
            raise ValueError(f"{self.venue} market {ticker} is not settled: only settled markets are archived")
        self.archived.setdefault(ticker, len(self.archived))

    def archive_settled_before(self, cutoff_ms: int) -> list[str]:
        """Archive every market settled before `cutoff_ms` (the historical cutoff's
        `market_settled_ts`); the tickers newly archived, in listing order."""
        out = [t for t in self.listings
               if t not in self.archived and self._settled(t) and self.exchange.markets[t].settled_ms < cutoff_ms]
        for t in out:
            self.archive_market(t)
        return out

    def is_live(self, ticker: str) -> bool:
        """Listed and not archived: served by the live market endpoints."""
        return ticker in self.listings and ticker not in self.archived

    # ---- representations ----------------------------------------------------------------
    def market_status(self, ticker: str) -> str:
        """Market.status: `finalized` once settled, else `inactive` while its trading is paused
        (`pause_market`), `active` while open, else `closed`."""
        m = self.exchange.markets[ticker]
        if m.settled:
            return "finalized"
        if not m.open:
            return "closed"
        return "inactive" if ticker in self.paused_markets else "active"

    def _market_json(self, ticker: str) -> dict:
        e, q, l = self.listings[ticker]
        m = self.exchange.markets[ticker]
        closes = close_ms(e, self.started_ms)
        yes, no = m.levels("yes"), m.levels("no")
        by = max(yes) if yes else 0
        bn = max(no) if no else 0
        ya = FULL - bn if no else FULL
        na = FULL - by if yes else FULL
        out = {
            "ticker": ticker, "event_ticker": l.event_id, "market_type": "binary",
            "title": l.title, "yes_sub_title": q.key, "no_sub_title": q.key,
            "created_time": _CREATED, "updated_time": iso_time(self.clock_ms()),
            "open_time": _CREATED, "close_time": iso_time(closes),
            "expected_expiration_time": iso_time(closes + 3_600_000),
            "latest_expiration_time": iso_time(closes + 7 * 86_400_000), "settlement_timer_seconds": 3600,
            "status": self.market_status(ticker),
            "notional_value_dollars": "1.0000",
            "yes_bid_dollars": dollars(by), "yes_ask_dollars": dollars(ya),
            "no_bid_dollars": dollars(bn), "no_ask_dollars": dollars(na),
            "yes_bid_size_fp": count_fp(yes.get(by, 0)), "yes_ask_size_fp": count_fp(no.get(bn, 0)),
            "last_price_dollars": dollars(m.last_yes_price),
            "previous_yes_bid_dollars": dollars(by), "previous_yes_ask_dollars": dollars(ya),
            "previous_price_dollars": dollars(m.last_yes_price),
            "volume_fp": count_fp(m.volume), "volume_24h_fp": count_fp(m.volume),
            "liquidity_dollars": "0.0000", "open_interest_fp": count_fp(m.volume),
            # OpenAPI Market.result: yes | no | scalar | "" — a void shows "" (Settlement has "void")
            "result": "" if m.result == "void" else m.result, "can_close_early": True,
            "fractional_trading_enabled": m.lot < 100,
            "expiration_value": "", "rules_primary": f"If {l.title.rstrip('?')}, the market resolves to Yes.",
            "rules_secondary": "", "price_level_structure": "linear_cent",
            "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
            **_strike(l, q),
        }
        if m.settled:      # the YES payout per contract: µ$ per lot = ticks per contract (none for a void)
            if m.yes_value is not None:
                out["settlement_value_dollars"] = dollars(m.yes_value)
            out["settlement_ts"] = iso_time(m.settled_ms)
        return out

    @functools.cached_property
    def event_tickers(self) -> dict[str, list[str]]:
        """Event ticker → its market tickers, events and markets in listing order (static)."""
        out: dict[str, list[str]] = {}
        for t, (_e, _q, l) in self.listings.items():
            out.setdefault(l.event_id, []).append(t)
        return out

    def _event_json(self, event_id: str, nested: bool) -> dict:
        tickers = self.event_tickers[event_id]
        e = self.listings[tickers[0]][0]
        series = self.listings[tickers[0]][2].series
        out = {"event_ticker": event_id, "series_ticker": series, "sub_title": e.title, "title": e.title,
               "collateral_return_type": "MECNET" if e.exclusive else "",
               "mutually_exclusive": e.exclusive, "available_on_brokers": False,
               "product_metadata": {}, "strike_period": "", "category": "Economics"}
        out["fee_type_override"], out["fee_multiplier_override"] = self._event_override(event_id)
        if nested:         # archived markets are not nested (OpenAPI `with_nested_markets`)
            out["markets"] = [self._market_json(t) for t in tickers if t not in self.archived]
        return out

    # ---- public REST --------------------------------------------------------------------
    async def exchange_status(self, request):
        paused = self.faults.kalshi_trading_paused
        return web.json_response({"exchange_active": True, "trading_active": not paused,
                                  "exchange_estimated_resume_time": "2026-12-03T10:00:00Z" if paused else None})

    async def get_markets(self, request: web.Request):
        """Markets in listing order (offset cursor); filters `event_ticker`, `series_ticker`,
        `tickers` (comma list, or repeated) and `status` (unopened / open / paused / closed /
        settled)."""
        qp = request.query
        tickers = [t for t in self.listings if t not in self.archived]     # archived: /historical/markets
        if qp.get("event_ticker"):
            evs = set(qp["event_ticker"].split(","))
            tickers = [t for t in tickers if self.listings[t][2].event_id in evs]
        if qp.get("series_ticker"):
            tickers = [t for t in tickers if self.listings[t][2].series == qp["series_ticker"]]
        want = {t for value in qp.getall("tickers", []) for t in value.split(",") if t}
        if want:
            tickers = [t for t in tickers if t in want]
        status = _status_filter(qp)
        if status:
            tickers = [t for t in tickers if self.market_status(t) == status]
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
        if not self.is_live(t):
            return _err(404, "not_found", "market not found")
        return web.json_response({"market": self._market_json(t)})

    async def get_historical_markets(self, request: web.Request):
        """`GET /historical/markets` (public): the archived markets, in archive order, keyset-paged
        (`limit` 0–1000, 0 or none → 100; opaque `cursor`, "" at the end). Filters, mutually
        exclusive (400 if more than one): `tickers` (comma list, or repeated), `event_ticker`
        (one), `series_ticker`; `mve_filter` (exclude) changes nothing (no combos here).
        `GetMarketsResponse`."""
        q = request.query
        try:
            limit = int(q.get("limit") or "0") or 100
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        if not 1 <= limit <= MARKETS_PAGE_MAX:
            raise BadRequest(f"limit must be between 0 and {MARKETS_PAGE_MAX}")
        after = _after(q, "h")
        want = {t for value in q.getall("tickers", []) for t in value.split(",") if t}
        event, series = q.get("event_ticker"), q.get("series_ticker")
        if sum(map(bool, (want, event, series))) > 1:
            raise BadRequest("tickers, event_ticker and series_ticker are mutually exclusive")
        if event and "," in event:
            raise BadRequest("only a single event ticker is supported")
        if q.get("mve_filter") not in (None, "", "exclude"):
            raise BadRequest("mve_filter must be exclude")
        keyed = [(i, t) for t, i in self.archived.items()
                 if (not want or t in want) and (not event or self.listings[t][2].event_id == event)
                 and (not series or self.listings[t][2].series == series)]
        page, last = keyset_page(keyed, lambda x: x[0], after, limit, descending=False)
        return web.json_response({"markets": [self._market_json(t) for _i, t in page],
                                  "cursor": "" if last is None else _cursor("h", last)})

    async def get_historical_market(self, request):
        """`GET /historical/markets/{ticker}` (public): an archived market; 404 otherwise."""
        t = request.match_info["ticker"]
        if t not in self.archived:
            return _err(404, "not_found", "market not found")
        return web.json_response({"market": self._market_json(t)})

    def _orderbook_fp(self, ticker: str, depth: int = 0) -> dict:
        book = {}
        for side in ("yes", "no"):
            lv = sorted(self.book_levels(ticker, side).items())  # ascending: best bid last (live behaviour)
            if depth:
                lv = lv[-depth:]
            book[f"{side}_dollars"] = [[dollars(p), count_fp(q)] for p, q in lv]
        return book

    async def get_orderbook(self, request):
        t = request.match_info["ticker"]
        if t not in self.listings:
            return _err(404, "not_found", "market not found")
        try:
            depth = int(request.query.get("depth", "0"))
        except ValueError:
            return _err(400, "invalid_parameters", "depth must be an integer")
        return web.json_response({"orderbook_fp": self._orderbook_fp(t, depth)})

    async def get_orderbooks(self, request):
        """`GET /markets/orderbooks?tickers=…` (authenticated): 1–100 tickers, repeated or
        comma-separated; one `{"ticker", "orderbook_fp"}` per known ticker."""
        tickers = [t for value in request.query.getall("tickers", []) for t in value.split(",") if t]
        if not 1 <= len(tickers) <= ORDERBOOKS_MAX:
            return _err(400, "invalid_parameters", f"tickers: between 1 and {ORDERBOOKS_MAX} market tickers")
        return web.json_response({"orderbooks": [{"ticker": t, "orderbook_fp": self._orderbook_fp(t)}
                                                 for t in dict.fromkeys(tickers) if t in self.listings]})

    async def get_events(self, request):
        """Events in listing order, keyset-paged on that order (`limit` ≤ 200, default 200;
        opaque `cursor`, "" at the end); filters `series_ticker` and `status` (an event is open
        while one of its markets is, settled once all are; nested markets: all of the event's);
        `with_nested_markets`."""
        limit, after = _page_params(request.query, "e", most=EVENTS_PAGE_MAX, default=EVENTS_PAGE_MAX)
        series = request.query.get("series_ticker")
        status = _status_filter(request.query)
        keyed = [(i, s) for i, (s, ts) in enumerate(self.event_tickers.items())
                 if (not series or self.listings[ts[0]][2].series == series)
                 and (not status or self._event_status(ts) == status)]
        page, last = keyset_page(keyed, lambda x: x[0], after, limit, descending=False)
        nested = request.query.get("with_nested_markets") == "true"
        return web.json_response({"events": [self._event_json(s, nested) for _i, s in page],
                                  "cursor": "" if last is None else _cursor("e", last)})

    def _event_status(self, tickers: list[str]) -> str:
        """An event's status in Market.status terms: active while one of its markets is,
        finalized once all are, else closed."""
        st = {self.market_status(t) for t in tickers}
        return "active" if "active" in st else "finalized" if st == {"finalized"} else "closed"

    async def get_event(self, request):
        eid = request.match_info["event_ticker"]
        if eid not in self.event_tickers:
            return _err(404, "not_found", "event not found")
        ev = self._event_json(eid, False)
        markets = [self._market_json(t) for t in self.event_tickers[eid] if t not in self.archived]
        return web.json_response({"event": ev, "markets": markets})

    def _series_listing(self) -> dict:
        """Series ticker → the first listing of that series (its fee terms), in listing order."""
        out: dict = {}
        for _e, _q, l in self.listings.values():
            out.setdefault(l.series, l)
        return out

    def _series_json(self, ticker: str, l) -> dict:
        """A `Series`, its fee terms as in force now: the listing's, or the latest change
        scheduled for it (`fee_changes`) that has come due."""
        fee_type, mult = l.fee_type, json.loads(l.fee_multiplier)   # a JSON number on the wire (spec: double)
        due = [c for c in self.fee_changes if c["series_ticker"] == ticker and self._fee_change_ms(c) <= self.clock_ms()]
        if due:
            latest = max(due, key=self._fee_change_ms)
            fee_type, mult = latest["fee_type"], latest["fee_multiplier"]
        return {"ticker": ticker, "frequency": "custom", "title": ticker, "category": "Economics", "tags": [],
                "settlement_sources": [{"name": "Simulated source", "url": "https://example.invalid"}],
                "contract_url": "https://example.invalid/contract.pdf",
                "contract_terms_url": "https://example.invalid/terms.pdf",
                "fee_type": fee_type, "fee_multiplier": mult, "additional_prohibitions": [],
                "product_metadata": {}, "volume_fp": "0.00"}

    def fees_in_force(self, ticker: str) -> FeeModel:
        """What the exchange charges on `ticker` now, as the venue does: its series' terms (the
        listing's, or the latest scheduled change come due), under its event's override
        (`_event_override`: a None term leaves the series' own). Taker 0.07 × multiplier and
        maker 0.0175 × multiplier (maker-fee types only) per p(1−p), rounded up to $0.01 an order."""
        _e, _q, l = self.listings[ticker]
        series = self._series_json(l.series, l)
        fee_type, mult = series["fee_type"], series["fee_multiplier"]
        over_type, over_mult = self._event_override(l.event_id)
        fee_type = fee_type if over_type is None else over_type
        mult = Decimal(str(mult if over_mult is None else over_mult))
        taker = math.ceil(70_000 * mult)
        maker = math.ceil(17_500 * mult) if fee_type in ("quadratic_with_maker_fees", "quadratic_with_combo_maker_fees") else 0
        return FeeModel.kalshi(taker, maker)

    def event_fee_override(self, event_ticker: str, fee_type: str | None, multiplier: int | float | None) -> None:
        """The venue overrides `event_ticker`'s fee terms from now on (None clearing a term): a
        change in force now joins `event_fee_changes`, the exchange charges it, its event shows it
        (`GET /events`), and the WebSocket connections subscribed now are told (`event_fee_update`;
        a client whose connection was down learns it from a REST read)."""
        self.event_fee_changes.append({
            "id": f"efc-{len(self.event_fee_changes) + 1}", "event_ticker": event_ticker,
            "series_ticker": self.listings[self.event_tickers[event_ticker][0]][2].series,
            "fee_type_override": fee_type, "fee_multiplier_override": multiplier,
            "scheduled_ts": iso_time(self.clock_ms())})
        self.push_event_fee_update(event_ticker, fee_type, multiplier)

    def _event_override(self, event_ticker: str) -> tuple[str | None, int | float | None]:
        """`event_ticker`'s override terms in force now: those of its latest change come due in
        `event_fee_changes` (later in the list wins a tie), (None, None) if none."""
        now = self.clock_ms()
        due = [(self._fee_change_ms(c), i, c) for i, c in enumerate(self.event_fee_changes)
               if c["event_ticker"] == event_ticker and self._fee_change_ms(c) <= now]
        if not due:
            return None, None
        latest = max(due, key=lambda d: d[:2])[2]
        return latest["fee_type_override"], latest["fee_multiplier_override"]

    async def get_event_fee_changes(self, request):
        """`GET /events/fee_changes` (API 3.20+): every event override change, those in force and
        those scheduled (`EventFeeChange`: id, event_ticker, series_ticker, fee_type_override,
        fee_multiplier_override, scheduled_ts), in the order they were made; `event_ticker`
        filters; `limit` 1-1000 (default 100), opaque `cursor` ("" at the end)."""
        limit, after = _page_params(request.query, "f", most=1000, default=100)
        event = request.query.get("event_ticker")
        keyed = [(i, c) for i, c in enumerate(self.event_fee_changes) if not event or c["event_ticker"] == event]
        page, last = keyset_page(keyed, lambda x: x[0], after, limit, descending=False)
        return web.json_response({"event_fee_changes": [c for _i, c in page],
                                  "cursor": "" if last is None else _cursor("f", last)})

    @staticmethod
    def _fee_change_ms(change: dict) -> int:
        return utc_ms(change["scheduled_ts"])

    async def get_fee_changes(self, request):
        """`GET /series/fee_changes`: the changes scheduled (`fee_changes`, `SeriesFeeChange`
        objects), upcoming only unless `show_historical=true`; `series_ticker` filters. From its
        time a change is the series' terms and what orders are charged (`fees_in_force`)."""
        q = request.query
        now = self.clock_ms()
        out = [c for c in self.fee_changes
               if (q.get("show_historical") == "true" or self._fee_change_ms(c) > now)
               and q.get("series_ticker", c["series_ticker"]) == c["series_ticker"]]
        return web.json_response({"series_fee_change_arr": out})

    async def get_series(self, request):
        s = request.match_info["series_ticker"]
        l = self._series_listing().get(s)
        if l is None:
            return _err(404, "not_found", "series not found")
        return web.json_response({"series": self._series_json(s, l)})

    async def list_series(self, request):
        """`GET /series`: every series in one answer (Kalshi does not page it), `category` filters."""
        category = request.query.get("category")
        series = [self._series_json(t, l) for t, l in self._series_listing().items() if t]
        return web.json_response({"series": [s for s in series if category is None or s["category"] == category]})

    # ---- portfolio ----------------------------------------------------------------------
    async def get_balance(self, request):
        """`balance`: what the member may trade with (OpenAPI: "available balance"), the cash less
        what its resting orders reserve (`Account.held`)."""
        a = self.exchange.account(request[ACCOUNT])
        available = a.balance - a.held
        cents = available // 10_000
        return web.json_response({"balance": cents, "balance_dollars": micros_dollars(available),
                                  "portfolio_value": 0, "updated_ts": self.clock_ms() // 1000})

    async def get_positions(self, request):
        """Market positions by ticker (ascending), keyset-paged on the ticker; filters `ticker`,
        `event_ticker` (one) and `count_filter` (`position` / `total_traded`: any non-zero)."""
        q = request.query
        a = self.exchange.account(request[ACCOUNT])
        limit, after = _page_params(q, "p", str)
        wanted = [c for c in (q.get("count_filter") or "").split(",") if c]
        if any(c not in ("position", "total_traded") for c in wanted):
            raise BadRequest("count_filter accepts position, total_traded")
        ev = q.get("event_ticker")
        if ev and "," in ev:
            raise BadRequest("only a single event ticker is supported")
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
                        "market_exposure_dollars": micros_dollars(
                            0 if self._settled(t) else a.traded.get(t, 0)),
                        "realized_pnl_dollars": "0.0000", "resting_orders_count": resting,
                        "fees_paid_dollars": micros_dollars(a.fees_paid.get(t, 0)),
                        "last_updated_ts": iso_time(self.clock_ms())})
        return web.json_response({"market_positions": out, "event_positions": [],
                                  "cursor": "" if last is None else _cursor("p", last)})

    def _settled(self, ticker: str) -> bool:
        m = self.exchange.markets.get(ticker)
        return m is not None and m.settled

    async def get_settlements(self, request):
        """`GET /portfolio/settlements`: the account's settlements, newest first, keyset-paged on
        their place in its append-only settlement log; filters `ticker`, `event_ticker` (one),
        `min_ts`/`max_ts` (settlement time, unix s, inclusive). Money: `revenue` in cents
        (µ$ // 10,000), `value` cents per YES contract, costs and fees in dollars."""
        q = request.query
        a = self.exchange.account(request[ACCOUNT])
        limit, after = _page_params(q, "s")
        lo, hi = _ts_param(q, "min_ts"), _ts_param(q, "max_ts")
        ev = q.get("event_ticker")
        idx = [i for i, r in enumerate(a.settlements)
               if (not q.get("ticker") or q["ticker"] == r.market)
               and (not ev or self.listings[r.market][2].event_id == ev)
               and _in_window(r.settled_ms // 1000, lo, hi)]
        page, last = keyset_page(idx, lambda i: i, after, limit, descending=True)
        return web.json_response({"settlements": [self._settlement_json(a.settlements[i]) for i in page],
                                  "cursor": "" if last is None else _cursor("s", last)})

    def _settlement_json(self, r) -> dict:
        """OpenAPI `Settlement` of one `SettlementRecord`."""
        return {"ticker": r.market, "event_ticker": self.listings[r.market][2].event_id,
                "market_result": r.result, "yes_count_fp": count_fp(r.yes_lots),
                "yes_total_cost_dollars": micros_dollars(r.yes_cost, 6), "no_count_fp": count_fp(r.no_lots),
                "no_total_cost_dollars": micros_dollars(r.no_cost, 6), "revenue": r.revenue // 10_000,
                "settled_time": iso_time(r.settled_ms), "fee_cost": micros_dollars(r.fees, 6),
                # µ$ per lot ÷ 100 = cents per contract; a void pays no value (nullable)
                "value": None if r.yes_value is None else r.yes_value // 100}

    def _order_json(self, o) -> dict:
        # `side`/`action` as submitted (a V2 order: see `_create_v2`); `outcome_side` the side it
        # buys, `book_side` bid for YES, ask for NO (OpenAPI 3.20 Order); prices in the submitted
        # side's terms.
        sub_side = o.submitted_side
        yes_px = o.submitted_price if sub_side == "yes" else FULL - o.submitted_price
        return {"order_id": o.order_id, "user_id": o.account, "client_order_id": o.client_order_id,
                "ticker": o.market, "side": sub_side, "action": o.action, "outcome_side": o.side,
                "book_side": "bid" if o.side == "yes" else "ask", "type": "limit",
                "status": o.status, "yes_price_dollars": dollars(yes_px), "no_price_dollars": dollars(FULL - yes_px),
                "fill_count_fp": count_fp(o.filled), "remaining_count_fp": count_fp(o.remaining),
                "initial_count_fp": count_fp(o.initial),
                "taker_fees_dollars": micros_dollars(o.taker_fee), "maker_fees_dollars": micros_dollars(o.maker_fee),
                "taker_fill_cost_dollars": micros_dollars(o.taker_cost),
                "maker_fill_cost_dollars": micros_dollars(o.maker_cost),
                "created_time": iso_time(o.created_ms), "last_update_time": iso_time(o.updated_ms),
                "self_trade_prevention_type": o.stp}

    # ---- the historical cutoff ------------------------------------------------------------
    def history_cutoff_ms(self) -> int:
        """The historical cutoff now (unix ms; 0: none): `Faults.kalshi_history_cutoff_ms` down to
        its whole second (what `/historical/cutoff` can say, RFC 3339 to the second here)."""
        return max(0, int(self.faults.kalshi_history_cutoff_ms or 0)) // 1000 * 1000

    def _archived_order(self, o) -> bool:
        """Canceled or executed before the cutoff: served by `/historical/orders` only."""
        return o.status != "resting" and o.updated_ms < self.history_cutoff_ms()

    async def get_historical_cutoff(self, request):
        """`GET /historical/cutoff` (public): GetHistoricalCutoffResponse, the three cutoffs as
        RFC 3339 date-times (here all one: `history_cutoff_ms`, the epoch when there is none)."""
        at = iso_time(self.history_cutoff_ms())
        return web.json_response({"market_settled_ts": at, "trades_created_ts": at, "orders_updated_ts": at})

    async def get_historical_orders(self, request):
        """`GET /historical/orders`: the account's orders canceled or executed before the
        cutoff, as `get_orders` lists them (same filters and paging)."""
        return self._list_orders(request, archived=True)

    async def get_historical_fills(self, request):
        """`GET /historical/fills`: the account's fills created before the cutoff, as
        `get_fills` lists them (same filters and paging)."""
        return self._list_fills(request, archived=True)

    async def get_orders(self, request):
        """The account's orders, newest first, keyset-paged on the order's sequence number;
        filters `ticker`, `event_ticker` (≤ 10, comma list), `min_ts`/`max_ts` (creation time,
        unix s, inclusive) and `status` (resting / canceled / executed). Orders finished before
        the historical cutoff are left out (`/historical/orders`)."""
        return self._list_orders(request, archived=False)

    def _list_orders(self, request, *, archived: bool):
        q = request.query
        acct = request[ACCOUNT]
        limit, after = _page_params(q, "o")
        st, tk = q.get("status"), q.get("ticker")
        if st and st not in _ORDER_STATUSES:
            raise BadRequest("status must be resting, canceled or executed")
        evs = {e for e in (q.get("event_ticker") or "").split(",") if e}
        if len(evs) > 10:
            raise BadRequest("at most 10 event tickers")
        lo, hi = _ts_param(q, "min_ts"), _ts_param(q, "max_ts")
        mine = [o for o in self.exchange.orders.values()
                if o.account == acct and (not st or o.status == st) and (not tk or o.market == tk)
                and (not evs or (o.market in self.listings and self.listings[o.market][2].event_id in evs))
                and _in_window(o.created_ms // 1000, lo, hi) and self._archived_order(o) == archived]
        page, last = keyset_page(mine, lambda o: o.seq, after, limit, descending=True)
        return web.json_response({"orders": [self._order_json(o) for o in page],
                                  "cursor": "" if last is None else _cursor("o", last)})

    async def get_order(self, request):
        o = self.exchange.orders.get(request.match_info["order_id"])
        if o is None or o.account != request[ACCOUNT]:
            return _err(404, "not_found", "order not found")
        return web.json_response({"order": self._order_json(o)})

    # ---- order writes: the V2 API ---------------------------------------------------------
    async def v1_order_write(self, request: web.Request):
        """The legacy order writes (`POST /portfolio/orders`, `DELETE /portfolio/orders/{id}`,
        `POST|DELETE /portfolio/orders/batched`): retired. Kalshi answers them 410 with this body
        (as quoted from the live API in DarriEy/Auramaur#186; `410 deprecated_v1_order_endpoint` in
        several public clients' notes): nothing is placed or cancelled."""
        return web.json_response({"error": {"code": "deprecated_v1_order_endpoint",
                                            "message": "Please switch to the V2 endpoints",
                                            "details": "https://docs.kalshi.com/api-reference/orders/create-order-v2"}},
                                 status=410)

    async def create_order_v2(self, request: web.Request):
        """`POST /portfolio/events/orders`: 201 CreateOrderV2Response, or an error (`_create_v2`);
        the answer subject to the lost / late answer faults."""
        acct = request[ACCOUNT]
        try:
            body = await request.json()
        except Exception:
            return _err(400, "bad_request", "bad request", "body is not JSON")   # Kalshi: flat, top level
        if not isinstance(body, dict):
            return _err(400, "bad_request", "bad request", "body must be an object")
        status, payload = await self._create_v2(acct, body)
        lost = status == 201 and self.order_faults.lose_answer(self.faults)
        resp = web.json_response(payload if status == 201 else {"error": payload}, status=status)
        return await order_answer(request, resp, self.faults, lost)

    async def _create_v2(self, acct: str, body: dict) -> tuple[int, dict]:
        """Validate and place one CreateOrderV2Request: (201, CreateOrderV2Response) or (HTTP
        status, the error object: code, message, details).

        The one book is YES's: `bid` at p buys YES at p, `ask` at p buys NO at 1 − p (= sells YES
        at p); `outcome_side` / `book_side` say so on every read. The deprecated `side` / `action`
        a V2 order reads back with are not documented: here a reduce-only order is the sale of the
        side it reduces (ask: sell YES at p; bid: sell NO at 1 − p), any other a purchase (bid: buy
        YES; ask: buy NO). Rules, in order:
        - a `client_order_id` already used is refused 409 `order_already_exists` before any fault
          applies (not a new order: `order_reject_every` does not count it); it is required here
          (docs.kalshi.com create-order-v2 marks it required; OpenAPI 3.20 lists it optional);
        - trading paused (409 `trading_is_paused`), the reject fault (400 `order_rejected`), the
          ack delay;
        - the body: a missing `ticker` is 400 `missing_parameters`, a missing or invalid `side`,
          `count`, `price`, `time_in_force` or `self_trade_prevention_type` 400 `invalid_order`
          (Kalshi's order-errors guide), and so is a V1 field (`action`, `yes_price_dollars`,
          `count_fp`…: this simulator's strictness, so a V1 body sent here is caught);
        - `reduce_only` only with `immediate_or_cancel` (factsheet §1.6.2), `expiration_time`
          never with it (OpenAPI), and not simulated otherwise;
        - unknown market 404 `market_not_found`, paused market 400 `market_not_active`;
        - `reduce_only`: the count is capped by the position the order reduces (OpenAPI: "the order
          place count should be capped by the member's current position"): an ask by the YES
          lots held, a bid by the NO lots held; nothing to reduce is refused 400 `invalid_order`,
          so a reduce-only order never opens or grows a position;
        - then the engine (off-grid price, balance, post-only cross…: 400 with its code; a closed
          market 409 `market_closed`)."""
        coid = body.get("client_order_id")
        if isinstance(coid, str) and coid and (acct, coid) in self.exchange.by_client_id:
            return 409, _errobj("order_already_exists", "order already exists",
                                "client_order_id already used")
        f = self.faults
        if f.kalshi_trading_paused:
            return 409, _errobj("trading_is_paused", "trading is paused")
        refuse = self.order_faults.refuse(f)
        await ack_delay(f)
        if refuse:
            return 400, _errobj("order_rejected", "order rejected by the exchange (simulated)")
        ticker = body.get("ticker")
        if not isinstance(ticker, str) or not ticker:
            return 400, _errobj("missing_parameters", "missing parameters", "ticker is required")
        try:
            v1 = sorted(k for k in _V1_ONLY if k in body)
            if v1:
                raise ValueError(f"V1 field(s) {', '.join(v1)} on the V2 endpoint (side bid|ask, count, price)")
            if not isinstance(coid, str) or not coid:
                raise ValueError("client_order_id is required")
            book = body.get("side")
            if book not in ("bid", "ask"):
                raise ValueError("side must be bid or ask")
            if not isinstance(body.get("count"), str) or not isinstance(body.get("price"), str):
                raise ValueError("count and price are required fixed-point strings")
            lots, px = parse_count(body["count"]), parse_dollars(body["price"])
            tif = _TIF_V2.get(body.get("time_in_force"))
            if tif is None:
                raise ValueError(f"time_in_force must be one of {', '.join(_TIF_V2)}")
            stp = body.get("self_trade_prevention_type")
            if stp not in ("taker_at_cross", "maker"):
                raise ValueError("self_trade_prevention_type must be taker_at_cross or maker")
            flags = {k: body.get(k, False) for k in ("post_only", "reduce_only", "cancel_order_on_pause")}
            if not all(isinstance(x, bool) for x in flags.values()):
                raise ValueError("post_only, reduce_only and cancel_order_on_pause are booleans")
            if flags["reduce_only"] and tif != "ioc":
                raise ValueError("reduce_only is only allowed with immediate_or_cancel")
            if body.get("expiration_time") is not None:
                raise ValueError("expiration_time cannot be combined with immediate_or_cancel" if tif == "ioc"
                                 else "expiration_time is not simulated")
            if body.get("subaccount", 0) != 0 or body.get("exchange_index", 0) != 0:
                raise ValueError("only subaccount 0 and exchange_index 0 are simulated")
        except ValueError as exc:
            return 400, _errobj("invalid_order", "invalid order", str(exc))
        if ticker not in self.listings:
            return 404, _errobj("market_not_found", "market not found")
        if ticker in self.paused_markets:
            return 400, _errobj("market_not_active", "market is not active: trading is paused")
        m = self.exchange.markets[ticker]
        if flags["reduce_only"]:
            held = self.exchange.account(acct).positions.get(ticker, 0)
            reducible = max(held if book == "ask" else -held, 0) // m.lot * m.lot
            if reducible == 0:
                return 400, _errobj("invalid_order", "invalid order",
                                    "reduce only: no position for this order to reduce")
            lots = min(lots, reducible)
        m.fees = self.fees_in_force(ticker)
        # The same book order either way; the legacy `side` / `action` it reads back with (Kalshi
        # still reports them, deprecated; how it fills them for a V2 order is not documented): a
        # reduce-only order sells the side it reduces (ask: YES, bid: NO), any other buys (bid:
        # YES, ask: NO at 1 − p).
        if flags["reduce_only"]:
            side, action, own = ("yes", "sell", px) if book == "ask" else ("no", "sell", FULL - px)
        else:
            side, action, own = ("yes", "buy", px) if book == "bid" else ("no", "buy", FULL - px)
        try:
            o, fills = self.exchange.place(acct, ticker, side, action, own, lots, tif, coid, flags["post_only"],
                                           stp=stp, leave=f.partial_fill_lots or None)
        except SimReject as exc:
            if exc.code == "market_closed":          # as Kalshi answers an order on a closed market
                return 409, _errobj("market_closed", "market closed", str(exc))
            return (409 if exc.code == "order_already_exists" else 400), _errobj(exc.code, str(exc))
        self.push_user_order(o)
        return 201, self._ack_json(o, fills)

    def _ack_json(self, o, fills) -> dict:
        """CreateOrderV2Response of order `o` just placed (`fills`: the engine's fill events of the
        placement): counts; `average_fill_price` (the volume-weighted YES price: the book's) and
        `average_fee_paid` (per contract) only when something filled, to 6 decimals."""
        out = {"order_id": o.order_id, "client_order_id": o.client_order_id, "fill_count": count_fp(o.filled),
               "remaining_count": count_fp(o.remaining)}
        mine = [fe for fe in fills if fe.order is o]
        lots = sum(fe.lots for fe in mine)
        if lots:
            yes = sum((fe.price if o.side == "yes" else FULL - fe.price) * fe.lots for fe in mine)
            six = Decimal("0.000001")
            out["average_fill_price"] = str((Decimal(yes) / Decimal(lots * FULL)).quantize(six))
            out["average_fee_paid"] = str((Decimal(sum(fe.fee for fe in mine)) * 100
                                           / Decimal(lots * 1_000_000)).quantize(six))
        out["ts_ms"] = self.clock_ms()
        return out

    BATCH_MAX = 20     # orders a batched request (V2: "scales with your tier's write budget"; 20 here)

    async def batch_create_orders_v2(self, request: web.Request):
        """`POST /portfolio/events/orders/batched`: each order placed in turn (`_create_v2`); per
        order its CreateOrderV2Response or `{client_order_id, error}` (an ErrorResponse whose
        `details` is always there, "" when nothing to add, as Kalshi's batch errors)."""
        acct = request[ACCOUNT]
        body = await _json_body(request)
        orders = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(orders, list) or not orders or not all(isinstance(o, dict) for o in orders):
            return _err_v2(400, "invalid_parameters", "orders must be a non-empty array of orders")
        if len(orders) > self.BATCH_MAX:
            return _err_v2(400, "invalid_parameters", f"at most {self.BATCH_MAX} orders per batch")
        out = []
        for ob in orders:
            status, payload = await self._create_v2(acct, ob)
            if status == 201:
                out.append(payload)
            else:
                item = {"error": {**payload, "details": payload.get("details", "")}}
                if isinstance(ob.get("client_order_id"), str):
                    item["client_order_id"] = ob["client_order_id"]
                out.append(item)
        lost = self.order_faults.lose_answer(self.faults, sum(1 for it in out if "order_id" in it))
        return await order_answer(request, web.json_response({"orders": out}, status=201), self.faults, lost)

    def _cancel_params(self, request: web.Request) -> None:
        """`subaccount` and `exchange_index` (query, optional, default 0): only 0 is simulated."""
        for name in ("subaccount", "exchange_index"):
            if request.query.get(name, "0") != "0":
                raise BadRequest(f"only {name} 0 is simulated")

    async def cancel_order_v2(self, request: web.Request):
        """`DELETE /portfolio/events/orders/{order_id}`: 200 CancelOrderV2Response
        `{order_id, client_order_id, reduced_by, ts_ms}`; 404 `not_found` when the account has no
        resting order of that id."""
        self._cancel_params(request)
        try:
            o, reduced = self.exchange.cancel(request[ACCOUNT], request.match_info["order_id"])
        except SimReject as exc:
            return _err_v2(404, exc.code, str(exc))
        self.push_user_order(o)
        return web.json_response({"order_id": o.order_id, "client_order_id": o.client_order_id,
                                  "reduced_by": count_fp(reduced), "ts_ms": self.clock_ms()})

    async def batch_cancel_orders_v2(self, request: web.Request):
        """`DELETE /portfolio/events/orders/batched` with `{"orders":[{"order_id":…}]}`: per order
        `{order_id, client_order_id, reduced_by, ts_ms}`, or `{order_id, reduced_by: "0.00", error}`."""
        acct = request[ACCOUNT]
        body = await _json_object(request)
        orders = body.get("orders")
        if not isinstance(orders, list) or not orders or not all(isinstance(o, dict) for o in orders):
            return _err_v2(400, "invalid_parameters", "orders must be a non-empty array of {order_id}")
        ids = [o.get("order_id") for o in orders]
        if not all(isinstance(i, str) and i for i in ids):
            return _err_v2(400, "invalid_parameters", "every order needs an order_id")
        if any(o.get("subaccount", 0) != 0 or o.get("exchange_index", 0) != 0 for o in orders):
            return _err_v2(400, "invalid_parameters", "only subaccount 0 and exchange_index 0 are simulated")
        if len(ids) > self.BATCH_MAX:
            return _err_v2(400, "invalid_parameters", f"at most {self.BATCH_MAX} orders per batch")
        out = []
        for oid in ids:
            try:
                o, reduced = self.exchange.cancel(acct, oid)
            except SimReject as exc:
                out.append({"order_id": oid, "reduced_by": count_fp(0),
                            "error": {**_errobj(exc.code, str(exc)), "details": ""}})
                continue
            self.push_user_order(o)
            out.append({"order_id": oid, "client_order_id": o.client_order_id, "reduced_by": count_fp(reduced),
                        "ts_ms": self.clock_ms()})
        return web.json_response({"orders": out})

    async def get_fills(self, request):
        """The account's fills, newest first, keyset-paged on the fill's place in the account's
        append-only fill log; filters `ticker`, `order_id`, `min_ts`/`max_ts` (unix s, inclusive).
        Fills created before the historical cutoff are left out (`/historical/fills`)."""
        return self._list_fills(request, archived=False)

    def _list_fills(self, request, *, archived: bool):
        q = request.query
        cutoff = self.history_cutoff_ms()
        a = self.exchange.account(request[ACCOUNT])
        limit, after = _page_params(q, "f")
        lo, hi = _ts_param(q, "min_ts"), _ts_param(q, "max_ts")
        idx = [i for i, fe in enumerate(a.fills)
               if (not q.get("ticker") or q["ticker"] == fe.order.market)
               and (not q.get("order_id") or q["order_id"] == fe.order.order_id)
               and _in_window(fe.ts_ms // 1000, lo, hi) and (fe.ts_ms < cutoff) == archived]
        page, last = keyset_page(idx, lambda i: i, after, limit, descending=True)
        out = []
        for fe in (a.fills[i] for i in page):
            o = fe.order
            yes_px = fe.price if o.side == "yes" else FULL - fe.price    # fe.price: of the side bought
            # OpenAPI Fill: `side` and `action` of the order as submitted (a sell of YES is side yes);
            # `outcome_side` / `book_side` the direction it adds (3.34: the canonical ones)
            out.append({"fill_id": fe.fill_id, "trade_id": fe.trade_id, "order_id": o.order_id,
                        "ticker": o.market, "market_ticker": o.market, "side": o.submitted_side, "action": o.action,
                        "outcome_side": o.side, "book_side": "bid" if o.side == "yes" else "ask",
                        "count_fp": count_fp(fe.lots), "yes_price_dollars": dollars(yes_px),
                        "no_price_dollars": dollars(FULL - yes_px), "is_taker": fe.is_taker,
                        "created_time": iso_time(fe.ts_ms), "fee_cost": micros_dollars(fe.fee),
                        "ts": fe.ts_ms // 1000})
        return web.json_response({"fills": out, "cursor": "" if last is None else _cursor("f", last)})


def _strike(listing, question) -> dict:
    """Kalshi's strike fields: a threshold market ("above X") is `greater` with `floor_strike`;
    any other is `custom` naming its outcome."""
    if listing.strike:
        return {"strike_type": "greater", "floor_strike": float(listing.strike)}
    return {"strike_type": "custom", "custom_strike": {"outcome": question.key}}
