"""`PolymarketVenue`: discovery, books and account reads on Polymarket (Gamma + CLOB).

Orders: V2 orders signed by py-clob-client-v2 (`execution.py`). Fills from the CLOB's
`GET /data/trades` (L2 auth, cursor-paged); positions are the net of those fills per market
(the Data API's `/positions` lives on another host and is not used).

Matching-engine restarts (docs.polymarket.com/trading/matching-engine: weekly, ~90 s, and
unscheduled ones): every order-related endpoint answers HTTP 425 Too Early meanwhile ("back off and
retry"), and once 425s stop the engine stays in post-only mode for 2 minutes (cancels served,
orders without postOnly refused). Any 425 holds every book, streamed and fetched, so no new
execution is decided on Polymarket; an order endpoint is asked with backoff until it answers
without a 425 (the bot itself sends no order meanwhile, so nothing else would say when 425s
stop), and the books stay held RESTART_HOLD_S after that. The post-only mode's refusal (HTTP 503,
`code` "post_only_mode", docs.polymarket.com/resources/error-codes) is `VenueUnavailable` and
starts the same hold when no 425 was seen (the bot sent nothing while 425s lasted); any other
refusal during the hold is `VenueUnavailable` too.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import AsyncIterator, Callable

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import (
    NotFound, OrderRejected, ProtocolError, TransportError, VenueError, VenueUnavailable,
)
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import (
    Action, Balance, BookUpdate, EventInfo, Fill, MarketInfo, Book, Order, OrderRequest, OrderStatus, Position,
    Resolution, Settlement, Side, TimeInForce, Venue, held,
)
from arbbot.snapshot import dump_snapshot
from arbbot.units import TICKS_PER_DOLLAR, lots_held, price_ticks, share_micros
from arbbot.venues.polymarket.book import TokenBook, native_book
from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.data import PolymarketDataClient, rest_books
from arbbot.venues.polymarket.execution import PolymarketExecutionClient, signed_amounts
from arbbot.venues.polymarket.fees import raw_fee, rounded
from arbbot.venues.polymarket.http.client import PolymarketHttpClient
from arbbot.venues.polymarket.providers import FEE_ROUNDING_MICROS, PolymarketInstrumentProvider
from arbbot.venues.polymarket.resolution import resolution
from arbbot.venues.polymarket.schemas.gamma import parse_market
from arbbot.venues.polymarket.trades import fill_id, trade_id_of, trade_settlement


log = logging.getLogger("arbbot.venues.polymarket.venue")
RESOLUTION_BATCH = 50        # condition ids per Gamma `/markets` request (repeated `condition_ids`)
# A restart's hold (s): an order endpoint is asked every RESTART_PROBE_S, doubling up to
# RESTART_PROBE_CAP_S (the docs' advice: start at 1–2 s, back off), until it answers without a 425;
# the books stay held RESTART_HOLD_S after that answer: the documented 2-minute post-only mode,
# which began before it (when 425s stopped), and a margin for the delay between the venue and us
RESTART_PROBE_S = 1.0
RESTART_PROBE_CAP_S = 10.0
RESTART_HOLD_S = 120.0 + 10.0
RESTARTING = "polymarket: matching engine restarting (HTTP 425; held until its post-only mode is over)"


# an order's fills are read from this long before the latest match time seen when it was sent (the
# venue's clock: every trade seen then matched before the order was sent)
ORDER_FILLS_SLACK_S = 60


def taker_parts(trade: dict) -> list[tuple[int, str]]:
    """Our taker fill of `trade` as (price ticks, size) parts, one per maker order it matched: a
    trade's top-level `price` is the taker order's limit (the CLOB's Trade object), while each
    match executes at its maker's price: on our token, the maker's price; on the other token (a
    mint or merge match: both sides buying, or both selling), 1 − it. The parts' sizes (each
    maker's `matched_amount`, in shares of either token: a pair is one share of each) add up to
    the trade's `size`. A trade without maker orders, or whose makers do not add up to its size,
    is one part at the top-level price."""
    makers = [m for m in trade.get("maker_orders") or () if isinstance(m, dict)]
    total = share_micros(trade["size"])
    if not makers or sum(share_micros(m["matched_amount"]) for m in makers) != total:
        return [(price_ticks(trade["price"]), trade["size"])]
    own = trade["asset_id"]
    return [(price_ticks(m["price"]) if m.get("asset_id") == own else TICKS_PER_DOLLAR - price_ticks(m["price"]),
             m["matched_amount"]) for m in makers]


class PolymarketVenue:
    venue = "polymarket"
    buys_by_amount = True     # a FAK/FOK BUY spends its maker amount (VenueClient.buys_by_amount)
    # discovery reads Gamma's whole `closed=false` listing or raises: a known market absent from it
    # has closed (or can no longer be priced here) and the session holds it (LiveSession.refresh_listings)
    complete_listing = True
    # the CLOB stops serving a FAK/FOK order by id once it is done (`order`: read from its fills,
    # None when nothing filled): `settle` takes one no longer shown for FORGOTTEN_S as done unfilled
    forgets_finished_orders = True

    def __init__(self, config: PolymarketConfig, *, recorder=None) -> None:
        self.config = config
        self.http = PolymarketHttpClient(config, recorder=recorder)
        self.provider = PolymarketInstrumentProvider(self.http, page_limit=config.page_limit)
        self.recorder = recorder
        self.data: PolymarketDataClient | None = None
        self.feed: BookFeed | None = None         # the book feed, once `stream_books` runs
        self.exec = PolymarketExecutionClient(self.http, config, self.provider)
        # why the venue takes no orders now ("" = it does): RESTARTING from an HTTP 425 until
        # `_watch_restart` ends the hold (VenueClient's optional `outage`)
        self.outage = ""
        self._last_425 = 0.0                       # event-loop time (s) of the latest HTTP 425
        self._restart: asyncio.Task | None = None  # `_watch_restart`, while a hold lasts
        self.http.on_too_early = self._engine_restarting

    def _engine_restarting(self) -> None:
        """An HTTP 425, to any request: the matching engine is restarting. Every book is held until
        `_watch_restart` (started here if not running) says the restart is over."""
        loop = asyncio.get_running_loop()
        self._last_425 = loop.time()
        if self._restart is None:
            self._restart = loop.create_task(self._watch_restart(), name="polymarket-engine-restart")
        self._set_outage(RESTARTING)

    async def _watch_restart(self) -> None:
        """Hold the books through a restart: ask `GET /data/orders` (first page) with backoff until
        it answers without a 425 (`_engine_up`), then wait out the post-only mode (RESTART_HOLD_S);
        a 425 since that answer starts over. Releases the books at the end."""
        loop = asyncio.get_running_loop()
        delay = RESTART_PROBE_S
        while True:
            await asyncio.sleep(delay)
            if not await self._engine_up():
                delay = min(RESTART_PROBE_CAP_S, delay * 2)
                continue
            up = loop.time()
            await asyncio.sleep(RESTART_HOLD_S)
            if self._last_425 < up:              # invariant: no 425 for RESTART_HOLD_S since 425s stopped
                break
            delay = RESTART_PROBE_S              # another restart meanwhile
        self._restart = None
        self._set_outage("")

    async def _engine_up(self) -> bool:
        """Whether an order endpoint answers without a 425 now: any answer but a 425 (after the
        read's retries) says the engine is up; no answer says nothing (False)."""
        try:
            await self.http.clob_get("/data/orders", {"next_cursor": "MA=="}, auth=True)
        except TransportError:                   # a 425 still, a 5xx or no answer
            return False
        except VenueError:                       # another answer (refused, not found): the engine is up
            pass
        return True

    def _set_outage(self, reason: str) -> None:
        """Hold every book for `reason`, or release them (""): logged once each way."""
        if reason == self.outage:
            return
        self.outage = reason
        if reason:
            log.warning("%s: every book held", reason)
        else:
            log.info("polymarket: matching engine restart over (post-only mode done): books released")
        if self.data is not None:
            self.data.set_paused(reason, int(time.time() * 1000))

    async def discover_markets(self) -> list[MarketInfo]:
        return await self.provider.load()

    def listing_bodies(self) -> list:
        """The Gamma `/events` and `/markets` bodies of the last discovery."""
        return list(self.provider.bodies)

    async def discover_events(self) -> list[EventInfo]:
        if not self.provider.events:
            await self.provider.load()
        return list(self.provider.events.values())

    def relations(self) -> list[dict]:
        return self.provider.relations()

    async def _market(self, market_id: str) -> MarketInfo:
        if market_id not in self.provider.markets:
            await self.provider.load()
        return self.provider.markets[market_id]

    async def fetch_book(self, market_id: str) -> Book:
        """Both token books in one `POST /books`; each verified against its own hash."""
        m = await self._market(market_id)
        books = {t: TokenBook(t, market_id) for t in (m.yes_token, m.no_token)}
        for msg in await rest_books(self.http, m):
            if msg.asset_id in books:
                books[msg.asset_id].apply_snapshot(msg)
        book = native_book(market_id, books[m.yes_token], books[m.no_token])
        return held(book, self.outage) if self.outage else book

    async def resolutions(self, market_ids: list[str]) -> list[Resolution]:
        """Of `market_ids` (condition ids), those whose result is final (`resolution.resolution`:
        closed, UMA resolved, paying 1/0, 0/1 or 0.5/0.5), read from Gamma's public
        `/markets?condition_ids=…&closed=true`, RESOLUTION_BATCH ids a request. YES/NO follow the
        tokens discovered for the market (else Gamma's order: `clobTokenIds[0]` is YES). A
        market Gamma does not return, or cannot describe, is left out. VenueError subclasses as
        every read; ProtocolError if an answer is not a list."""
        ids = list(dict.fromkeys(market_ids))
        wanted, out = set(ids), []
        for i in range(0, len(ids), RESOLUTION_BATCH):
            batch = ids[i:i + RESOLUTION_BATCH]
            page = await self.http.gamma("/markets", {"condition_ids": batch, "closed": "true",
                                                      "limit": str(len(batch))})
            if not isinstance(page, list):
                raise ProtocolError("polymarket gamma /markets: expected a list", venue="polymarket")
            for raw in page:
                try:
                    gm = parse_market(raw if isinstance(raw, dict) else {})
                except ProtocolError as exc:            # this market only
                    log.warning("polymarket: market result unreadable: %s", exc)
                    continue
                if gm.condition_id not in wanted:
                    continue
                known = self.provider.info(gm.condition_id)
                r = resolution(gm, known.yes_token if known is not None else "")
                if r is not None:
                    wanted.discard(gm.condition_id)
                    out.append(r)
        return out

    def data_client(self, markets: list[MarketInfo],
                    on_update: Callable[[BookUpdate], None] | None = None) -> PolymarketDataClient:
        c = self.config
        return PolymarketDataClient(c.ws_url, markets, self.http, recorder=self.recorder,
                                    backoff=Backoff(base=c.reconnect_base_s, cap=c.reconnect_cap_s),
                                    ping_interval_s=c.ping_interval_s, resnapshot_interval_s=c.resnapshot_interval_s,
                                    on_update=on_update, on_tick_change=self._tick_changed)

    def _tick_changed(self, market_id: str, tick_ticks: int) -> None:
        """`tick_size_change` (or a whole book's `tick_size`): orders are checked and signed on the
        new grid from now on, also after a Gamma reload that still states the old one."""
        self.provider.clob_ticks[market_id] = tick_ticks
        m = self.provider.markets.get(market_id)
        if m is not None and m.tick_ticks != tick_ticks:
            log.info("polymarket: market %s tick %d → %d ticks", market_id, m.tick_ticks, tick_ticks)
            self.provider.markets[market_id] = replace(m, tick_ticks=tick_ticks)

    def market_info(self, market_id: str) -> MarketInfo | None:
        """The market's rules as known now (its tick follows `tick_size_change`); no I/O."""
        return self.provider.markets.get(market_id)

    async def stream_books(self, market_ids: list[str], *,
                           on_update: Callable[[BookUpdate], None] | None = None) -> AsyncIterator[BookUpdate]:
        """Market-channel books, coalesced per market (`BookFeed`); polled over REST (`POST
        /books`) while the WebSocket is down. `on_update` sees every update before coalescing.
        Started again, it replaces the previous stream."""
        await self.close_stream()
        markets = [await self._market(mid) for mid in market_ids]
        self.data = self.data_client(markets, on_update)
        self.feed = self.data.feed
        self.data.start()
        self.data.set_paused(self.outage, int(time.time() * 1000))
        while True:
            yield await self.feed.get()

    async def add_markets(self, market_ids: list[str]) -> list[str]:
        """Stream these markets too, on the running stream (`PolymarketDataClient.add_markets`);
        the ids that were new. Nothing while no stream runs."""
        if getattr(self, "data", None) is None:
            return []
        return self.data.add_markets([await self._market(mid) for mid in market_ids])

    async def prepare_orders(self) -> None:
        """Before trading: what the first order would otherwise load (`PolymarketExecutionClient.prepare`),
        in a worker thread."""
        await asyncio.to_thread(self.exec.prepare)

    def refusal(self, req: OrderRequest) -> str | None:
        """Why this adapter would refuse `req` before sending it (the market's grid and minimum
        size, a marketable order's $1 minimum and its amounts in the CLOB's precision), or None;
        no I/O. A market not discovered yet is not refused here (`place_order` discovers it)."""
        if req.market_id not in self.provider.markets:
            return None
        try:
            self.exec.check(req)
        except (OrderRejected, NotFound) as exc:
            return str(exc)
        return None

    def budget(self, req: OrderRequest) -> int:
        """µ$ a marketable BUY of `req` spends (the maker amount it is signed with: `signed_amounts`),
        0 for any other order or one refused; no I/O."""
        m = self.provider.markets.get(req.market_id)
        if m is None or req.action is not Action.BUY or req.tif not in (TimeInForce.IOC, TimeInForce.FOK):
            return 0
        try:
            return signed_amounts(req, m.tick_ticks, int(dict(m.extra).get("min_order_size_lots", "0")))[0]
        except OrderRejected:
            return 0

    async def place_order(self, req: OrderRequest) -> Order:
        """Place one order. HTTP 425 (the engine restarting) and the post-only mode's 503 are
        `VenueUnavailable` and hold the books; while they are held, any refusal the venue answers
        with an HTTP error status is `VenueUnavailable` too. Nothing was placed either way."""
        if req.market_id not in self.provider.markets:
            await self.provider.load()
        try:
            return await self.exec.place(req)
        except VenueUnavailable:
            raise
        except OrderRejected as exc:
            if not self.outage or exc.status is None:       # no restart, or refused in a 200 body
                raise
            # retry hint: at most the hold's length
            raise VenueUnavailable(f"{exc} (refused during the matching engine's restart: post-only mode)",
                                   venue="polymarket", status=exc.status, retry_after=RESTART_HOLD_S) from exc

    async def cancel_order(self, order_id: str) -> Order:
        return await self.exec.cancel(order_id)

    async def order(self, order_id: str) -> Order | None:
        """One order by id (its hash), open or finished; None if the venue shows neither it nor a
        fill of it. The CLOB's `GET /data/order/{id}` answers nothing for a FAK/FOK order once it
        has matched ("if the order was filled, it will be in get_trades": py-clob-client #217), so
        an order it does not serve is read from its fills (`_order_from_fills`). What its trades
        that FAILED matched is not filled (`exec.order`'s `failed_shares`)."""
        found = await self.exec.order(order_id, failed_shares=self._failed_shares)
        if found is not None:
            return found
        return await self._order_from_fills(order_id)

    def remember_order(self, order_id: str, market_id: str) -> None:
        """Order `order_id` was sent on `market_id` (by a process before a restart: recovery and the
        executor's restarted watches say so): reading it from its fills asks for that market's
        trades, not the account's whole history (our clock is not the venue's: no time floor)."""
        self.exec.remember(order_id, market_id)

    async def _order_from_fills(self, order_id: str) -> Order | None:
        """Order `order_id` as its fills (`GET /data/trades`, FAILED trades left out) show it:
        filled lots, cost (a BUY: Σ price × lots) and fees are theirs; its size is the one this
        process sent, else what filled; FILLED when all of it filled, else CANCELED (a FAK's rest
        was killed: the CLOB serves a live order itself). None without a fill."""
        fills = [f for f in await self.fills(order_id=order_id) if f.order_id == order_id]
        if not fills:
            return None
        first, filled = fills[0], sum(f.qty_lots for f in fills)
        sent = self.exec.placed.get(order_id)
        size = max(sent.qty_lots if sent is not None else 0, filled)
        cost = sum(f.price_ticks * f.qty_lots for f in fills) if first.action is Action.BUY else 0
        price = sent.price_ticks if sent is not None else max(f.price_ticks for f in fills)
        log.info("polymarket: order %s is not served by id; read from its %d fill(s)", order_id, len(fills))
        return Order(Venue.POLYMARKET, order_id, sent.client_order_id if sent is not None else "", first.market_id,
                     first.side, first.action, price, size, filled, 0,
                     OrderStatus.FILLED if filled >= size else OrderStatus.CANCELED,
                     fees_micros=sum(f.fee_micros for f in fills), cost_micros=cost)

    @property
    def on_order_id(self):
        """Callback(client_order_id, order_id) run when an order is signed, before it is sent."""
        return self.exec.on_order_id

    @on_order_id.setter
    def on_order_id(self, callback) -> None:
        self.exec.on_order_id = callback

    async def balance(self) -> Balance:
        """pUSD collateral (6 decimals on the wire = µ$) of the wallet orders draw on: the venue
        derives it from the signing key and `signature_type` (without it, the key's own address:
        0 for an account whose funds sit in a proxy wallet or Safe)."""
        body = await self.http.clob_get("/balance-allowance", {"asset_type": "COLLATERAL",
                                                               "signature_type": self.config.signature_type}, auth=True)
        try:
            return Balance(Venue.POLYMARKET, int(str(body["balance"])))
        except (KeyError, TypeError, ValueError):
            raise ProtocolError("polymarket /balance-allowance: bad balance", venue="polymarket") from None

    async def _pages(self, path: str, params: dict) -> AsyncIterator[dict]:
        """Every item of a CLOB list (L2): `next_cursor` from "MA==" until "LTE=". A cursor the
        venue already gave raises ProtocolError (following it would loop forever)."""
        cursor, seen = "MA==", {"MA=="}
        while cursor != "LTE=":
            body = await self.http.clob_get(path, {**params, "next_cursor": cursor}, auth=True)
            for item in body.get("data") or []:
                yield item
            cursor = body.get("next_cursor") or "LTE="
            if cursor in seen:
                raise ProtocolError(f"polymarket {path}: the venue repeated next_cursor {cursor!r}",
                                    venue="polymarket")
            seen.add(cursor)

    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]:
        """Open orders (`GET /data/orders`, every page; the CLOB lists open orders only).
        `ticker` (condition id) → the CLOB's `market` filter; `min_ts_ms` (created in or after
        that second, `created_at`) and `status` (an `OrderStatus` value: listed orders are all
        RESTING) are applied here, the CLOB having no such filters."""
        want = OrderStatus(status) if status is not None else None
        if not self.provider.markets:
            await self.provider.load()
        out: list[Order] = []
        async for o in self._pages("/data/orders", {"market": ticker} if ticker else {}):
            if min_ts_ms is not None and int(o.get("created_at") or min_ts_ms // 1000) < min_ts_ms // 1000:
                continue
            found = await self.provider.token(str(o.get("asset_id", "")), str(o.get("market") or ""))
            if found is None:
                raise ProtocolError(f"polymarket /data/orders: token {o.get('asset_id')!r} of order {o.get('id')} is "
                                    "not listed on Gamma: its side is unknown", venue="polymarket")
            mid, side = found
            size, matched = lots_held(share_micros(o["original_size"])), lots_held(share_micros(o["size_matched"]))
            out.append(Order(Venue.POLYMARKET, o["id"], "", mid, side,
                             Action.BUY if o.get("side") == "BUY" else Action.SELL,
                             price_ticks(o["price"]), size, matched, size - matched, OrderStatus.RESTING))
        return [o for o in out if want is None or o.status is want]

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        """Our fills from `GET /data/trades` (every page). As taker, the trade's top level is our
        order; as maker, our part is the `maker_orders` entry owned by our API key. Fee (takers
        only): size × rate × p(1−p) with the rate of the market's fee schedule (`MarketInfo.fees`,
        from Gamma's `feeSchedule`; the trade's own `fee_rate_bps` only for a market Gamma
        cannot price), rounded up to $0.00001 per order (ARBITRAGE.md
        "Fees"): an order's k-th fill carries fee(fills 1..k) − fee(fills 1..k−1), the venue's
        per-order accumulator, so an order's fills add up to its fee exactly (an order whose first
        fills fall before `min_ts_ms` starts its accumulator at the first one returned). Its lots
        likewise: a fill's size has up to 6 decimals, and the k-th fill carries the whole lots of
        fills 1..k less those of fills 1..k−1, so they add up to the order's filled lots. FAILED
        trades (settlement reverted on chain) are not fills; a fill is `final` once its trade is
        CONFIRMED (`trades.trade_settlement`). `ticker` → the CLOB's `market`,
        `min_ts_ms` → its `after` (a second early, then trimmed: fills in or after the second
        holding it); `order_id` is matched here (the CLOB filters trades by trade id only), and for an
        order this process sent its market, and `after` ORDER_FILLS_SLACK_S before the latest match
        time read when it was sent, go to the CLOB, which would list the account's whole history (30
        signed pages at 3,000 trades, after every order of every leg)."""
        return [f for f, state, _shares in await self._trade_fills(order_id, ticker, min_ts_ms)
                if state is not Settlement.FAILED]

    async def fill_settlement(self, fill_ids: list[str]) -> dict[str, Settlement]:
        """Where each of these fills (ids as `fills` gives them) stands: its trade's status
        (`trades.trade_settlement`), read by trade id (`GET /data/trades?id=`, one request a trade,
        as py-clob-client-v2 polls a posted order's trades). Ids whose trade the CLOB does not list
        are left out (VenueClient's optional `fill_settlement`)."""
        by_trade: dict[str, list[str]] = {}
        for fid in fill_ids:
            by_trade.setdefault(trade_id_of(fid), []).append(fid)
        out: dict[str, Settlement] = {}
        for tid, fids in by_trade.items():
            async for t in self._pages("/data/trades", {"id": tid}):
                if isinstance(t, dict) and t.get("id") == tid:
                    out.update(dict.fromkeys(fids, trade_settlement(t)))
        return out

    async def _failed_shares(self, order_id: str) -> int:
        """µshares of order `order_id` matched in trades that FAILED (the CLOB still counts them
        in the order's `size_matched`: `trades` module doc)."""
        return sum(shares for _f, state, shares in await self._trade_fills(order_id, None, None)
                   if state is Settlement.FAILED)

    async def _trade_fills(self, order_id: str | None, ticker: str | None,
                           min_ts_ms: int | None) -> list[tuple[Fill, Settlement, int]]:
        """(fill, its trade's settlement, its exact size in µshares) of each of our parts of the
        trades `fills` reads (its doc), FAILED ones included. An order's lots and fee accumulators
        run over its trades that did not fail and, apart, over those that did: the fills that
        count are what they would be without the failed ones."""
        if not self.provider.markets:
            await self.provider.load()
        params: dict = {}
        if ticker:
            params["market"] = ticker
        if min_ts_ms is not None:
            params["after"] = max(0, min_ts_ms // 1000 - 1)
        placed = self.exec.placed.get(order_id) if order_id is not None else None
        expected = self.exec.expected.get(order_id) if order_id is not None else None
        if placed is not None:              # an order sent by this process: its market, since it was sent
            params.setdefault("market", placed.market_id)
            seen = self.exec.sent_after_s.get(order_id)
            if seen is not None and min_ts_ms is None:
                params["after"] = max(0, seen - ORDER_FILLS_SLACK_S)
        elif expected is not None:          # signed, its answer lost, or sent before a restart (`remember_order`)
            params.setdefault("market", expected[0])
            if expected[1] is not None and min_ts_ms is None:
                params["after"] = max(0, expected[1] - ORDER_FILLS_SLACK_S)
        out: list[tuple[Fill, Settlement, int]] = []
        # (order id, its trades failed) → Σ raw fee of its fills so far (1e-14 µ$), Σ µshares so far
        taker_raw: dict[tuple[str, bool], int] = {}
        matched: dict[tuple[str, bool], int] = {}
        trades = [t async for t in self._pages("/data/trades", params)]
        # in one order, whatever order the venue lists them in: by `match_time`, then by trade id (a
        # second's trades: `match_time` is whole seconds, and no field says which came first). An
        # order's running totals (lots, fee) then give each fill the same lots and fee at every read
        # of the same trades, where a newest-first listing split them otherwise and a trade added
        # later moved its older fills' lots (reconciliation: a fill difference). A trade of the
        # same order listed later in the same second may still move them: rare (an order's trades
        # are its one match)
        trades.sort(key=_trade_order)
        latest = max((_match_time(t) for t in trades), default=0)
        if latest and latest > (self.exec.venue_now_s or 0):
            self.exec.venue_now_s = latest
        tok = await self._our_tokens(trades)
        try:
            for t in trades:
                state = trade_settlement(t)
                ts = int(t.get("match_time") or 0) * 1000
                if min_ts_ms is not None and ts and ts // 1000 < min_ts_ms // 1000:
                    continue
                if t.get("trader_side") == "MAKER":
                    parts = [(m.get("order_id", ""), m["asset_id"], m["side"], price_ticks(m["price"]),
                              m["matched_amount"], False)
                             for m in t.get("maker_orders", []) if m.get("owner") == self.config.api_key]
                else:
                    oid = t.get("taker_order_id", "")
                    parts = [(oid, t["asset_id"], t["side"], p, size, True) for p, size in taker_parts(t)]
                for i, (oid, asset, side, p, size, taker) in enumerate(parts):
                    if order_id is not None and oid != order_id:
                        continue
                    mid, outcome = tok[asset]
                    shares = share_micros(size)                     # a fill's size: up to 6 decimals
                    key = (oid, state is Settlement.FAILED)
                    fee = 0
                    if taker:
                        # on the exact size; the order's running total rounded up to the
                        # schedule's rounding ($0.00001)
                        ppm, rounding = self._taker_rate(mid, t)
                        before = taker_raw.get(key, 0)
                        taker_raw[key] = after = before + raw_fee(ppm, shares, p)
                        fee = rounded(after, rounding) - rounded(before, rounding)
                    # whole lots on the order's running total, as its `size_matched` is floored: an
                    # order's fills add up to its filled lots (10.123456 + 5.876544 shares: 1,012 +
                    # 588 lots, not 1,012 + 587)
                    before = matched.get(key, 0)
                    matched[key] = after = before + shares
                    lots = lots_held(after) - lots_held(before)
                    out.append((Fill(Venue.POLYMARKET, fill_id(t["id"], i, len(parts)), oid, mid, outcome,
                                     Action.BUY if side == "BUY" else Action.SELL, p, lots, fee, taker, ts,
                                     final=state is Settlement.FINAL), state, shares))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"polymarket /data/trades: bad trade ({exc})", venue="polymarket") from None
        return out

    async def _our_tokens(self, trades: list[dict]) -> dict[str, tuple[str, Side]]:
        """Token id → (condition id, YES|NO) of every token our parts of `trades` traded: from the
        markets known, else looked up on Gamma (`provider.token`). ProtocolError if one cannot be
        placed: a fill read on the wrong side (a NO read as YES) would be worse than none."""
        out: dict[str, tuple[str, Side]] = {}
        for t in trades:
            if t.get("trader_side") == "MAKER":
                assets = [m.get("asset_id") for m in t.get("maker_orders") or ()
                          if isinstance(m, dict) and m.get("owner") == self.config.api_key]
            else:
                assets = [t.get("asset_id")]
            for asset in assets:
                if isinstance(asset, str) and asset not in out:
                    cond = t.get("market")
                    found = await self.provider.token(asset, cond if isinstance(cond, str) else "")
                    if found is None:
                        raise ProtocolError(f"polymarket /data/trades: token {asset} of market {cond} is not listed "
                                            "on Gamma: its side is unknown", venue="polymarket")
                    out[asset] = found
        return out

    def _taker_rate(self, market_id: str, trade: dict) -> tuple[int, int]:
        """(taker rate ppm, rounding µ$) of a fill in `market_id`: the market's fee schedule as
        discovered; for a market not discovered, the trade's `fee_rate_bps` ($0.00001 rounding)."""
        fees = getattr(self.provider.info(market_id), "fees", None)
        if fees is not None:
            return fees.taker_rate_ppm, fees.rounding
        return int(trade.get("fee_rate_bps") or 0) * 100, FEE_ROUNDING_MICROS

    async def positions(self) -> list[Position]:
        """Net YES − NO shares per market from our fills (a SELL of a token reduces it)."""
        net: dict[str, int] = {}
        fees: dict[str, int] = {}
        for f in await self.fills():
            sign = 1 if f.action is Action.BUY else -1
            net[f.market_id] = net.get(f.market_id, 0) + sign * (f.qty_lots if f.side is Side.YES else -f.qty_lots)
            fees[f.market_id] = fees.get(f.market_id, 0) + f.fee_micros
        return [Position(Venue.POLYMARKET, mid, n, fees_paid_micros=fees[mid]) for mid, n in sorted(net.items()) if n]

    def snapshot(self, books: dict[str, Book] | None = None, **kw) -> dict:
        """`arbbot.snapshot/1` of the discovered markets, their books and neg-risk buckets."""
        books = books or {}
        if self.data is not None:
            books = {mid: self.data.native(mid) for mid in self.data.markets} | books
        return dump_snapshot([(m, books.get(m.market_id)) for m in self.provider.markets.values()],
                             relations=self.relations() or None, **kw)

    async def close_stream(self) -> None:
        """Stop streaming books (the market-data connection and its feed); orders, balances and
        the other reads keep working. Idempotent; `close` does it too."""
        if self.data is not None:
            await self.data.close()

    async def close(self) -> None:
        if self._restart is not None:
            self._restart.cancel()
        await self.close_stream()
        await self.http.close()


def _trade_order(trade) -> tuple[int, str]:
    """(match_time, id): the order an order's trades are accumulated in."""
    return _match_time(trade), str(trade.get("id", "")) if isinstance(trade, dict) else ""


def _match_time(trade) -> int:
    """A trade's `match_time` (unix s; 0 when absent or not a number, or not a trade object)."""
    if not isinstance(trade, dict):
        return 0
    try:
        return int(trade.get("match_time") or 0)
    except (TypeError, ValueError):
        return 0
