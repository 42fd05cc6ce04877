"""`KalshiVenue`: the unified `VenueClient` for Kalshi."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable

from arbbot import logs
from arbbot.venues.common.model import (
    Balance, Book, BookUpdate, EventInfo, Fill, MarketId, MarketInfo, Order, OrderRequest, Position, Resolution,
    Trade, Venue, held,
)
from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import AuthError, NotFound, OrderRejected, ProtocolError, VenueError
from arbbot.venues.common.feed import BOOK_READ_SHARE, BookFeed
from arbbot.venues.common.ratelimit import KALSHI_TIERS
from arbbot.venues.kalshi.book import checked
from arbbot.venues.kalshi.config import KalshiConfig
from arbbot.venues.kalshi.data import KalshiDataClient
from arbbot.venues.kalshi.execution import KalshiExecutionClient
from arbbot.venues.kalshi.http.client import REFUSED_WHILE_PAUSED, KalshiHttpClient
from arbbot.venues.kalshi.market import KalshiMarketClient
from arbbot.venues.kalshi.providers import KalshiInstrumentProvider
from arbbot.venues.kalshi.schemas.rest import (
    is_final, parse_orderbook, parse_resolution, parse_settlement_resolution,
)
from arbbot.venues.kalshi.schemas.ws import TickerQuote
from arbbot.venues.kalshi.user import KalshiUserClient


ORDERBOOKS_PER_REQUEST = 100      # GET /markets/orderbooks: 1–100 tickers a request
RESOLUTION_TICKERS = 100          # GET /markets, /historical/markets ?tickers=: tickers a request (comma list)
STATUS_TICKERS = RESOLUTION_TICKERS   # GET /markets?tickers= of `market_statuses`: tickers a request
FEE_CLOCK_MAX_S = 60.0            # the fee clock's longest sleep (s)

log = logs.get("kalshi")


def _book(market_id: str, body: dict) -> Book:
    """A market's book from an orderbook answer (`orderbook_fp`, or the legacy `orderbook`):
    levels of one price merged, best first, checked (locked/crossed → untradeable)."""
    yes, no = parse_orderbook(body)
    agg: dict[str, dict[int, int]] = {"yes": {}, "no": {}}
    for side, levels in (("yes", yes), ("no", no)):
        for p, q in levels:
            if q > 0:
                agg[side][p] = agg[side].get(p, 0) + q
    srt = lambda d: tuple(sorted(d.items(), key=lambda x: -x[0]))  # noqa: E731
    return checked(Book(yes_bids=srt(agg["yes"]), no_bids=srt(agg["no"]), market=MarketId(Venue.KALSHI, market_id)))


class KalshiVenue:
    venue = "kalshi"

    # orders carry our client_order_id: nothing to record before sending (VenueClient.on_order_id)
    on_order_id = None
    # an order's fees are what the exchange charged (`taker_fees_dollars`, fills' `fee_cost`): the
    # executor checks them against the market's schedule (VenueClient.reports_fees)
    reports_fees = True

    def __init__(self, config: KalshiConfig, *, recorder=None) -> None:
        self.config = config
        self.http = KalshiHttpClient(config, recorder=recorder)
        self.provider = KalshiInstrumentProvider(self.http)
        self.exec = KalshiExecutionClient(self.http)
        self.recorder = recorder
        self.data: KalshiDataClient | None = None
        self.feed: BookFeed | None = None         # the book feed, once `stream_books` runs
        self._fee_task: asyncio.Task | None = None  # `_fee_clock`, while books stream
        self._status_task: asyncio.Task | None = None  # `_exchange_clock`, while books stream
        self.paused = ""                           # why the exchange trades nothing now ("" = it trades)
        self.user: KalshiUserClient | None = None
        self.market: KalshiMarketClient | None = None

    async def discover_markets(self) -> list[MarketInfo]:
        """The open markets, priced with the series' terms as the venue shows them now; markets
        handed out before under cheaper terms are held (`provider.fee_holds`)."""
        before = dict(self.provider.fee_holds)
        markets = await self.provider.load()
        self._republish_holds(before)
        return markets

    def repriced(self, markets: list[MarketInfo]) -> None:
        """The session prices these markets with their schedules as discovered now (it re-priced
        them): a market held while the terms were dearer than it was priced with is released, and
        its streamed book published again."""
        before = dict(self.provider.fee_holds)
        for m in markets:
            self.provider.event_fees.repriced(m.market_id, m.fees)
        self._republish_holds(before)

    def _republish_holds(self, before: dict[str, str]) -> None:
        """Publish again the streamed books whose fee hold changed since `before`."""
        holds = self.provider.fee_holds
        changed = [t for t in {**before, **holds} if before.get(t) != holds.get(t)]
        if changed and self.data is not None:
            self.data.republish(changed, self.provider.clock_ms())

    async def _fee_clock(self) -> None:
        """Hold the markets a scheduled fee change makes dearer the moment it comes due
        (`GET /series/fee_changes`, read with every discovery); until cancelled. Wakes at least
        every FEE_CLOCK_MAX_S to see changes a later discovery read."""
        provider = self.provider
        while True:
            due = provider.next_fee_change_ms()
            wait = FEE_CLOCK_MAX_S if due is None else (due - provider.clock_ms()) / 1000
            await asyncio.sleep(min(max(wait, 0.0), FEE_CLOCK_MAX_S))
            before = dict(provider.fee_holds)
            provider.fee_change_due()
            self._republish_holds(before)

    async def _exchange_clock(self) -> None:
        """Read `GET /exchange/status` every `exchange_status_s` while books stream, until
        cancelled: while it says trading is not active (the weekly maintenance window, a halt) every
        book is published held, since the resting orders stay on the book and no order is taken
        (a leg sent there is refused: `trading_is_paused`, and the legs before it unwind). A read
        that fails, or an answer without both flags, keeps what the last one said."""
        while True:
            try:
                body = await self.http.get("/exchange/status")
            except VenueError as exc:
                log.warning("kalshi.exchange_status_failed", error=str(exc))
            else:
                flags = (body.get("trading_active"), body.get("exchange_active")) if isinstance(body, dict) else ()
                if len(flags) != 2 or not all(isinstance(f, bool) for f in flags):
                    log.warning("kalshi.exchange_status_unreadable", body=str(body)[:200])
                else:
                    resume = body.get("exchange_estimated_resume_time")
                    self._set_paused("" if all(flags) else "kalshi: trading paused (GET /exchange/status"
                                     + (f", resumes {resume}" if resume else "") + ")")
            await asyncio.sleep(self.config.exchange_status_s)

    @property
    def outage(self) -> str:
        """VenueClient's optional `outage`: trading paused (the weekly maintenance window, a halt):
        the executor's unwinds wait for it to end instead of spending their attempts on refusals."""
        return self.paused

    def _set_paused(self, reason: str) -> None:
        if reason == self.paused:
            return
        self.paused = reason
        if reason:
            log.warning("kalshi.trading_paused", reason=reason)
        else:
            log.info("kalshi.trading_resumed")
        if self.data is not None:
            self.data.set_paused(reason, self.provider.clock_ms())

    def listing_bodies(self) -> list:
        """The `GET /events?with_nested_markets=true` pages of the last discovery."""
        return list(self.provider.bodies)

    async def discover_events(self) -> list[EventInfo]:
        if not self.provider.events:
            await self.provider.load()
        return list(self.provider.events.values())

    def _held(self, book: Book) -> Book:
        """`book` untradeable while the exchange's trading is paused, while the venue does not trade
        its market (lifecycle: paused, determined), or while it is held for a fee override
        (`provider.fee_holds`)."""
        if self.data is not None:                      # streaming: the stream's own rule
            return self.data.held_book(book)
        reason = self.paused or self.provider.fee_holds.get(book.market.id)
        return held(book, reason) if reason else book

    async def fetch_book(self, market_id: str) -> Book:
        body = await self.http.get(f"/markets/{market_id}/orderbook", auth=True)
        return self._held(_book(market_id, body))

    async def fetch_books(self, market_ids: list[str]) -> dict[str, Book]:
        """Many books in `GET /markets/orderbooks` requests of at most ORDERBOOKS_PER_REQUEST
        tickers (one read each): market id → book, for the tickers the venue answered."""
        out: dict[str, Book] = {}
        ids = list(dict.fromkeys(market_ids))
        for i in range(0, len(ids), ORDERBOOKS_PER_REQUEST):
            body = await self.http.get("/markets/orderbooks", {"tickers": ids[i:i + ORDERBOOKS_PER_REQUEST]}, auth=True)
            books = body.get("orderbooks") if isinstance(body, dict) else None
            if not isinstance(books, list):
                raise ProtocolError("kalshi /markets/orderbooks: no orderbooks list", venue="kalshi")
            for entry in books:
                ticker = entry.get("ticker") if isinstance(entry, dict) else None
                if ticker in ids:
                    out[ticker] = self._held(_book(ticker, entry))
        return out

    async def resolutions(self, market_ids: list[str]) -> list[Resolution]:
        """Of `market_ids`, those whose result is final (`parse_resolution`: status `finalized` /
        `settled`), once each, in three steps:

        1. the public `GET /markets?tickers=A,B,…`, in requests of at most RESOLUTION_TICKERS
           tickers (each followed through its cursor);
        2. the tickers it did not return (unknown, or archived past the historical cutoff) from
           the public `GET /historical/markets?tickers=…`, batched the same way (a 404 counts as
           none there);
        3. a final market whose `result` does not say how it settled ("": the OpenAPI
           Market.result has no "void"; or a result not known) from this account's
           `GET /portfolio/settlements?ticker=` (authenticated; skipped without credentials, or
           when the venue refuses them): its `market_result` void → a void `Resolution`, yes /
           no / scalar (`value`) as read (`parse_settlement_resolution`). Without a settlement
           there (we held none), it is left out.

        Left out as well: markets not final yet, and a final market whose value cannot be read
        (with a warning). VenueError subclasses as every read: NotFound (from /markets),
        RateLimited, TransportError, ProtocolError (no markets list, a cursor given twice)."""
        ids = list(dict.fromkeys(market_ids))
        wanted, out = set(ids), []
        returned: set[str] = set()                 # tickers a market endpoint answered for
        unsaid: list[str] = []                     # final, but the result does not say how

        def take(raw) -> None:
            ticker = raw.get("ticker") if isinstance(raw, dict) else None
            if ticker not in wanted:
                return
            returned.add(ticker)
            try:
                r = parse_resolution(raw)
            except ProtocolError as exc:           # this market only: left out, said why
                log.warning("kalshi.resolution_unreadable", error=str(exc))
                return
            if r is not None:
                wanted.discard(ticker)             # once each, whatever the venue repeats
                out.append(r)
            elif is_final(raw) and ticker not in unsaid:
                unsaid.append(ticker)

        for path in ("/markets", "/historical/markets"):
            ask = ids if path == "/markets" else [t for t in ids if t not in returned]
            for i in range(0, len(ask), RESOLUTION_TICKERS):
                batch = ask[i:i + RESOLUTION_TICKERS]
                params = {"tickers": ",".join(batch), "limit": str(RESOLUTION_TICKERS)}
                try:
                    async for markets in self._pages(path, params, "markets"):
                        for raw in markets:
                            take(raw)
                except NotFound:
                    if path == "/markets":
                        raise
                    continue                       # the historical database knows none of them
        if unsaid:
            out += await self._settled_by_account([t for t in unsaid if t in wanted])
        return out

    async def market_statuses(self, market_ids: list[str]) -> dict[str, str]:
        """Market id → its `Market.status` now (`active` while it trades; `inactive` while the
        exchange pauses it; `closed`, `determined`, `finalized`, …) from the public
        `GET /markets?tickers=A,B,…`, in requests of at most STATUS_TICKERS tickers (each followed
        through its cursor). A market not returned, or without a status string, is left out.
        VenueError subclasses as every read. How the data client checks its paused markets'
        holds after a reconnect (`KalshiDataClient._read_holds`)."""
        ids = list(dict.fromkeys(market_ids))
        out: dict[str, str] = {}
        for i in range(0, len(ids), STATUS_TICKERS):
            batch = ids[i:i + STATUS_TICKERS]
            wanted = set(batch)
            params = {"tickers": ",".join(batch), "limit": str(STATUS_TICKERS)}
            async for markets in self._pages("/markets", params, "markets"):
                for raw in markets:
                    if isinstance(raw, dict) and raw.get("ticker") in wanted and isinstance(raw.get("status"), str):
                        out[raw["ticker"]] = raw["status"]
        return out

    async def _settled_by_account(self, tickers: list[str]) -> list[Resolution]:
        """The results of these final markets as this account's `GET /portfolio/settlements?ticker=`
        lists them (`parse_settlement_resolution`); none without credentials or when the venue
        refuses them (with a warning), and none for a market the account did not hold."""
        if self.http.signer is None:               # paper trading without credentials: not ours to ask
            return []
        out = []
        for ticker in tickers:
            found = None
            try:
                async for page in self._pages("/portfolio/settlements", {"ticker": ticker, "limit": "100"},
                                              "settlements", auth=True):
                    for raw in page:
                        if found is None and isinstance(raw, dict) and raw.get("ticker") == ticker:
                            try:
                                found = parse_settlement_resolution(raw)
                            except ProtocolError as exc:
                                log.warning("kalshi.settlement_unreadable", error=str(exc))
            except AuthError as exc:
                log.warning("kalshi.settlements_refused", error=str(exc))
                return out
            except NotFound:
                continue
            if found is not None:
                out.append(found)
        return out

    async def _pages(self, path: str, params: dict, key: str, *, auth: bool = False) -> AsyncIterator[list]:
        """The `key` list of each page of `GET path?params`, followed through its cursor;
        ProtocolError if a page has no such list or the venue gives a cursor twice."""
        cursor, seen = "", set()
        while True:
            body = await self.http.get(path, {**params, "cursor": cursor} if cursor else dict(params), auth=auth)
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise ProtocolError(f"kalshi {path}: no {key} list", venue="kalshi")
            yield items
            cursor = body.get("cursor") or ""
            if not cursor:
                return
            if cursor in seen:
                raise ProtocolError(f"kalshi {path}: the venue repeated cursor {cursor!r}", venue="kalshi")
            seen.add(cursor)

    def book_reads_per_s(self) -> float:
        """Book fetches per second the feed may make: its share of the tier's read budget
        (basic: 200 tokens/s at 10 a request = 20 reads/s → 10)."""
        return KALSHI_TIERS[self.config.tier][0] / self.config.request_cost * BOOK_READ_SHARE

    async def stream_books(self, market_ids: list[str], *,
                           on_update: Callable[[BookUpdate], None] | None = None) -> AsyncIterator[BookUpdate]:
        """`orderbook_delta` books, coalesced per market (`BookFeed`); polled over REST while the
        WebSocket is down. `on_update` sees every update before coalescing. Started again, it
        replaces the previous stream."""
        await self.close_stream()
        self.feed = BookFeed("kalshi", market_ids, self.fetch_book, self.book_reads_per_s(), on_update=on_update,
                             fetch_many=self.fetch_books, batch=ORDERBOOKS_PER_REQUEST)
        self.data = KalshiDataClient(self.config.ws_url, self.http.signer, market_ids, recorder=self.recorder,
                                     backoff=self._backoff(), feed=self.feed,
                                     on_fee_update=self.provider.apply_fee_update, holds=self.provider.fee_holds,
                                     on_price_structure=self.provider.apply_price_structure,
                                     market_status=self.market_statuses)
        self.data.start()
        self.feed.start()
        self.data.set_paused(self.paused, self.provider.clock_ms())
        self._fee_task = asyncio.create_task(self._fee_clock(), name="kalshi-fee-clock")
        self._status_task = asyncio.create_task(self._exchange_clock(), name="kalshi-exchange-status")
        while True:
            yield await self.feed.get()

    async def add_markets(self, market_ids: list[str]) -> list[str]:
        """Stream these markets too, on the running subscription (`KalshiDataClient.add_tickers`);
        the ids that were new. Nothing while no stream runs."""
        if getattr(self, "data", None) is None:
            return []
        return self.data.add_tickers(market_ids)

    async def stream_market(self, market_ids: list[str] | None = None) -> AsyncIterator[TickerQuote | Trade]:
        """Public `ticker` quotes and `trade` prints (all markets when `market_ids` is empty)."""
        self.market = KalshiMarketClient(self.config.ws_url, self.http.signer, market_ids, backoff=self._backoff())
        self.market.start()
        while True:
            yield await self.market.updates.get()

    def _backoff(self) -> Backoff:
        """WebSocket reconnect delays from the configuration (`reconnect_base_s` … `reconnect_cap_s`)."""
        return Backoff(base=self.config.reconnect_base_s, cap=self.config.reconnect_cap_s)

    def market_info(self, market_id: str) -> MarketInfo | None:
        """The market's rules as known now (its grid follows `price_level_structure_updated`); no I/O."""
        return self.provider.markets.get(market_id)

    async def place_order(self, req: OrderRequest) -> Order:
        """Place one order. Refused because trading is paused (`trading_is_paused`): every book is
        held at once, until `GET /exchange/status` says trading is active again."""
        try:
            return await self.exec.place(req)
        except OrderRejected as exc:
            if exc.code in REFUSED_WHILE_PAUSED:
                self._set_paused(f"kalshi: trading paused (an order was refused: {exc.code})")
            raise

    async def cancel_order(self, order_id: str) -> Order:
        return await self.exec.cancel(order_id)

    async def order(self, order_id: str) -> Order | None:
        """One order by its venue id (`GET /portfolio/orders/{order_id}`, in the direction it was
        sent: `KalshiExecutionClient.read_order`); None if unknown."""
        try:
            return await self.exec.read_order(order_id)
        except NotFound:
            return None

    async def stream_user(self, market_ids: list[str] | None = None) -> AsyncIterator[Order | Position | Fill]:
        """Own order, position and fill updates (`user_orders` + `market_positions` + `fill`); the
        orders and fills of orders this adapter sent in the direction it sent them (a V2 ask is
        reported as a YES sale whether it bought NO or sold YES: `KalshiExecutionClient.as_sent`)."""
        self.user = KalshiUserClient(self.config.ws_url, self.http.signer, market_ids, backoff=self._backoff(),
                                     channels=KalshiUserClient.ALL_CHANNELS)
        self.user.start()
        while True:
            x = await self.user.updates.get()
            if isinstance(x, (Fill, Order)):
                x = self.exec.as_sent(x)
            yield x

    async def place_orders(self, reqs: list[OrderRequest]) -> list[Order | VenueError]:
        """Batch create (per-order result: the `Order` or the error for that order)."""
        return await self.exec.place_batch(reqs)

    async def cancel_orders(self, order_ids: list[str]) -> list[Order | VenueError]:
        """Batch cancel (per-order result)."""
        return await self.exec.cancel_batch(order_ids)

    async def balance(self) -> Balance:
        return await self.exec.balance()

    async def positions(self) -> list[Position]:
        """Every market position (all pages)."""
        return await self.exec.positions()

    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]:
        """Every order of the account (all pages), filtered (`KalshiExecutionClient.orders`)."""
        return await self.exec.orders(ticker=ticker, min_ts_ms=min_ts_ms, status=status)

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        """Every fill of the account newer than Kalshi's historical cutoff (all pages), filtered
        (`KalshiExecutionClient.fills`); unfiltered, it reads the cutoff after the listing
        (`fill_history_start_ms`)."""
        return await self.exec.fills(order_id=order_id, ticker=ticker, min_ts_ms=min_ts_ms)

    def fill_history_start_ms(self) -> int | None:
        """The wall ms (UTC epoch) from which `fills()` lists every fill of the account and
        `orders()` every order: Kalshi's historical cutoff (`GET /historical/cutoff`, the later of
        `trades_created_ts` and `orders_updated_ts`; older fills are served by
        `/historical/fills` only, orders finished before it by `/historical/orders` only). Read
        after every unfiltered `fills()` — the listing reconciliation and recovery compare — so it
        is never older than the cutoff that listing was served under; a failed read keeps the last
        value. None until a read succeeds: as if `fills()` listed them all."""
        return self.exec.history_start_ms

    async def close_stream(self) -> None:
        """Stop streaming books (the market-data connection and its feed); orders, balances and
        the other reads keep working. Idempotent; `close` does it too."""
        for task in (self._fee_task, self._status_task):
            if task is not None:
                task.cancel()
        self._fee_task = self._status_task = None
        if self.feed is not None:
            await self.feed.close()
        if self.data is not None:
            await self.data.close()

    async def close(self) -> None:
        await self.close_stream()
        if self.user is not None:
            await self.user.close()
        if self.market is not None:
            await self.market.close()
        await self.http.close()
