"""`ForecastExVenue`: catalog by conId (cached), L1 bids as the native book, buy-only orders."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from decimal import ROUND_FLOOR, Decimal
from typing import AsyncIterator, Callable

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import NotFound, OrderRejected, OutcomeUnknown, RateLimited, TransportError, VenueError
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import (
    Action, Balance, Book, BookUpdate, EventInfo, FeeSchedule, Fill, MarketId, MarketInfo, Order, OrderRequest,
    OrderStatus, Position, Side, TimeInForce, Venue,
)
from arbbot.units import TICKS_PER_DOLLAR, price_ticks
from arbbot.venues.forecastex.client import (IBClient, IBContract, IBFill, IBQuote, IBTrade, NoMarketDataLine,
                                             NoStreamAnswer)
from arbbot.venues.forecastex.costs import Executions, fee_micros, order_cost
from arbbot.venues.forecastex.hours import TradingHours

# ForecastEx's one cent per pair is inside its prices, not charged on top: a YES and a NO bid
# match once they add up to $1.01 (ForecastEx launch release, 2024-07-31: "executed when the sum of
# the 'Yes' and 'No' bids reach $1.01", the fee "built into the $1.01 aggregate pair bid";
# forecastex.com FAQ: "The fee is included in the price of the contract"), and IB charges no
# commission. `_bids` makes each derived ask IB's displayed ASK (what a buy pays), so the fee on
# top is 0. (VENUES.md's "$0.01 per contract until confirmed" counted the cent twice: confirmed.)
FEES = FeeSchedule()
_STATUS = {"Filled": OrderStatus.FILLED, "Cancelled": OrderStatus.CANCELED, "ApiCancelled": OrderStatus.CANCELED,
           "Inactive": OrderStatus.REJECTED, "Submitted": OrderStatus.RESTING, "PreSubmitted": OrderStatus.RESTING,
           "PendingCancel": OrderStatus.RESTING, "PendingSubmit": OrderStatus.PENDING, "ApiPending": OrderStatus.PENDING}
_DONE = ("Filled", "Cancelled", "ApiCancelled", "Inactive")
DISCOVERY_RETRY_S = 5.0        # a product whose catalog request failed (not pacing) is asked again after this
# a product's catalog is read again at most this often (new weekly questions, questions no longer
# listed): IB paces catalog requests, and a violation costs a ~10-minute penalty
CATALOG_REFRESH_S = 600.0
# a market whose streaming request IB refused for lack of lines (101) is polled; its streaming is
# tried again after this (lines may have been freed by TWS or another API client)
LINE_RETRY_S = 30.0
# book snapshots per second the feed may request: IB takes ~50 API messages/s in all and a book's
# snapshot is two requests, so 20 books/s is 40 messages/s; orders and account requests (a few a
# second at most) keep the other 10
SNAPSHOTS_PER_S = 20.0
log = logging.getLogger("arbbot.venues.forecastex")


def market_id(c: IBContract) -> str:
    return f"{c.symbol}-{c.expiry}-{c.strike}"


def _named(c: IBContract | None) -> tuple[str, Side] | None:
    """(market id, side) of a contract IB described fully enough (right C = YES / P = NO, symbol,
    YYYYMMDD expiry, strike); None otherwise — a side is never guessed."""
    if c is None or c.right not in ("C", "P") or not c.symbol or not c.strike \
            or len(c.expiry) != 8 or not c.expiry.isdigit():
        return None
    return market_id(c), Side.YES if c.right == "C" else Side.NO


def closes_at(expiry: str, last_trade_ms: int = 0) -> str:
    """The close as `YYYY-MM-DDTHH:MM:SSZ` (UTC): IB's last trade time (`last_trade_ms`, epoch ms)
    when its contract details gave one; else from `lastTradeDateOrContractMonth` (YYYYMMDD) the
    end of that day in UTC, the latest it can trade (a later close only lengthens the capital
    lock, SIZING.md step 7); "" when neither is known."""
    from datetime import datetime, timezone
    if last_trade_ms > 0:
        return datetime.fromtimestamp(last_trade_ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        day = datetime.strptime(expiry[:8], "%Y%m%d")
    except ValueError:
        return ""
    return day.strftime("%Y-%m-%dT23:59:59Z")


def close_ms(expiry: str, last_trade_ms: int = 0) -> int:
    """`closes_at` as UTC epoch ms (the first ms trading is over); 0 when unknown."""
    from datetime import datetime, timezone
    if last_trade_ms > 0:
        return last_trade_ms
    try:
        day = datetime.strptime(expiry[:8], "%Y%m%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return 0
    return int(day.timestamp() * 1000) + 86_400_000


def contract_records(contracts: list[IBContract]) -> list[dict]:
    """IB contract details in the `arbbot.forecastex-contracts/1` format: a JSON list, one object
    per contract (a question's YES "C" and NO "P" contracts are two elements), IB's field names."""
    return [{"conId": c.con_id, "symbol": c.symbol, "lastTradeDateOrContractMonth": c.expiry,
             "strike": c.strike, "right": c.right, "exchange": c.exchange, "secType": c.sec_type,
             "longName": c.long_name} for c in contracts]


class ForecastExVenue:
    venue = "forecastex"
    reports_fees = True     # an execution's fee is IB's commission report (VenueClient.reports_fees)
    # orders carry our client_order_id as IB `orderRef`: nothing to record before sending
    on_order_id = None
    # Order / fill ids: IB's permId (unique in the account: API order ids are each client's own, so
    # two clients' orders share them). An order TWS has not acknowledged has no permId yet: it is
    # "<clientId>:<orderId>" until then (and `order()` finds it by either). Without a client id
    # (the in-process test client) the order id as given.

    def __init__(self, client: IBClient, symbols: list[str], *, poll_s: float = 1.0,
                 catalog_refresh_s: float = CATALOG_REFRESH_S, line_retry_s: float = LINE_RETRY_S,
                 wall_ms: Callable[[], int] | None = None) -> None:
        self.client = client
        self.poll_s = poll_s
        self.symbols = symbols
        self.catalog_refresh_s = catalog_refresh_s
        self.line_retry_s = line_retry_s
        # "now" for a question's last trade time: the client's clock (IB's) when it has one
        clock = wall_ms or getattr(client, "wall_ms", None)
        self.wall_ms: Callable[[], int] = clock if callable(clock) else (lambda: int(time.time() * 1000))
        products = getattr(client, "products", None)    # (positions IB reports without an exchange)
        if isinstance(products, set):
            products.update(symbols)
        self.markets: dict[str, MarketInfo] = {}
        self.con: dict[str, tuple[int, int]] = {}       # market id → (YES conId, NO conId); cached
        self.contracts: list[IBContract] = []           # every FORECASTX contract of the latest discovery
        self._listing: dict[str, list[IBContract]] = {} # product → its contracts as last read
        self._product_markets: dict[str, set[str]] = {} # product → every market it ever listed
        self._close_ms: dict[str, int] = {}             # market id → when its trading is over (UTC ms; 0 unknown)
        self._hours: dict[str, TradingHours] = {}       # market id → IB's trading hours (absent: not listed)
        self._unlisted: set[str] = set()                # markets the latest read of their product no longer lists
        self.feed: BookFeed | None = None               # the book feed, once `stream_books` runs
        self.stream_errors = 0                          # failed passes over the streaming tickers
        self._streamer: asyncio.Task | None = None
        self._streaming_ids: list[str] = []             # the markets read from streaming tickers
        self._books: dict[str, Book] = {}               # market id → the last book given to the feed
        self._discovered: dict[str, float] = {}         # product → monotonic s its catalog was read
        self._retry_at: dict[str, float] = {}           # product → monotonic s before which it is not asked
        self._named: dict[int, tuple[str, Side]] = {}   # conId → (market id, side)
        self._no_line: dict[str, float] = {}            # market → monotonic s to try streaming it again (101)
        listeners = getattr(client, "data_listeners", None)
        if isinstance(listeners, list):
            listeners.append(self._on_data_state)

    async def discover_markets(self) -> list[MarketInfo]:
        """Every market of the products `symbols`, one catalog request per product, cached and
        read again at most every `catalog_refresh_s` (IB pacing is costly): a question listed since
        appears, one no longer listed stays known (orders, positions) but inactive. A question
        past its last trade time (IB's contract details; else the end of its last trade date,
        UTC) is inactive (`MarketInfo.active`), judged at every call. A product whose request
        failed is asked for again by a later call, after IB's pacing penalty
        (`RateLimited.retry_after`) or `DISCOVERY_RETRY_S`; meanwhile the markets of the others
        (and its own as last read) are returned. Raises (RateLimited, TransportError) when no
        product could be read at all: never an empty catalog for one IB would not give."""
        now = time.monotonic()
        error: VenueError | None = None
        due = [s for s in self.symbols if s not in self._discovered
               or now - self._discovered[s] >= self.catalog_refresh_s]
        for sym in due:
            if self._retry_at.get(sym, 0.0) > now:
                continue
            try:
                got = await self.client.contract_details(sym)
            except RateLimited as exc:              # every catalog request waits out the penalty
                error = exc
                until = now + (exc.retry_after or DISCOVERY_RETRY_S)
                for s in due:
                    self._retry_at[s] = max(self._retry_at.get(s, 0.0), until)
                break
            except VenueError as exc:
                error = exc
                self._retry_at[sym] = now + DISCOVERY_RETRY_S
                continue
            self._catalog_product(sym, got)
            self._discovered[sym] = now
            self._retry_at.pop(sym, None)
        self._judge_active()
        missing = [s for s in self.symbols if s not in self._discovered]
        if error is not None and not missing:       # a refresh failed: the catalog as last read stands
            log.warning("forecastex: catalog not read again (%s: %s); the markets as last read are used",
                        type(error).__name__, error)
        if missing:
            left = max(0.0, min(self._retry_at.get(s, now) for s in missing) - now)
            why = f"{type(error).__name__}: {error}" if error is not None else f"asked again in {left:.0f}s"
            if not self._discovered:
                if isinstance(error, RateLimited) or error is None:
                    raise RateLimited(f"forecastex: no catalog yet ({why})", venue="forecastex",
                                      retry_after=left or None)
                raise error
            if error is not None:                   # (said once per failed request, not per call)
                log.warning("forecastex: catalog of %s not read (%s); the other products' markets are used",
                            ", ".join(missing), why)
        return list(self.markets.values())

    def _catalog_product(self, symbol: str, contracts: list[IBContract]) -> None:
        """Product `symbol`'s catalog as IB listed it now: its markets (re)built; one it listed
        before and lists no more is kept (named, inactive)."""
        listed = [c for c in contracts if c.exchange == "FORECASTX" and c.sec_type == "OPT"]
        self._listing[symbol] = listed
        self.contracts = [c for s in self.symbols for c in self._listing.get(s, [])]
        pairs: dict[str, dict[str, IBContract]] = {}
        for c in listed:
            pairs.setdefault(market_id(c), {})[c.right] = c
        mids = self._product_markets.setdefault(symbol, set())
        now_listed: set[str] = set()
        for mid, p in sorted(pairs.items()):
            if "C" in p and "P" in p:
                yes, no = p["C"], p["P"]
                last_trade = min((x for x in (yes.last_trade_ms, no.last_trade_ms) if x > 0), default=0)
                self.con[mid] = (yes.con_id, no.con_id)
                self._named[yes.con_id], self._named[no.con_id] = (mid, Side.YES), (mid, Side.NO)
                self._close_ms[mid] = close_ms(yes.expiry, last_trade)
                hours = yes.hours or no.hours
                if hours is not None:
                    self._hours[mid] = hours
                self.markets[mid] = MarketInfo(Venue.FORECASTEX, mid, yes.long_name or mid,
                                               event_id=f"{yes.symbol}-{yes.expiry}", fees=FEES,
                                               lot_lots=100, tick_ticks=100, min_price_ticks=200,
                                               max_price_ticks=9_900, yes_token=str(yes.con_id),
                                               no_token=str(no.con_id),
                                               closes_at=closes_at(yes.expiry, last_trade))
                now_listed.add(mid)
        self._unlisted -= now_listed
        self._unlisted |= mids - now_listed
        mids |= now_listed

    def _judge_active(self) -> None:
        """Every market is active unless its trading is over by `wall_ms` (its last trade time has
        passed) or its product's latest catalog no longer lists it."""
        now_ms = self.wall_ms()
        for mid, m in list(self.markets.items()):
            end = self._close_ms.get(mid, 0)
            active = mid not in self._unlisted and not (end and now_ms >= end)
            if m.active != active:
                self.markets[mid] = dataclasses.replace(m, active=active)

    def trading_closed(self, mid: str) -> str | None:
        """Why market `mid` takes no orders now: outside the sessions of IB's `tradingHours` on a
        day IB listed (an order there is not worked: a leg that cannot fill, the legs before it
        unwound); None otherwise, also when IB listed no hours for it."""
        hours = self._hours.get(mid)
        return None if hours is None else hours.closed(self.wall_ms())

    def fill_history_start_ms(self) -> int | None:
        """The wall ms (UTC epoch) from which `fills()` lists every execution of the account;
        before it `fills()` may list some or none (IB's reqExecutions gives the current day's
        only: see `IBAsyncClient.fill_history_start_ms`). None: `fills()` lists them all."""
        start = getattr(self.client, "fill_history_start_ms", None)
        return start() if callable(start) else None

    def _cons(self, mid: str) -> tuple[int, int]:
        if mid not in self.con:
            raise NotFound(f"forecastex: unknown market {mid}; call discover_markets first", venue="forecastex")
        return self.con[mid]

    def listing_bodies(self) -> list:
        """The discovered contracts as one `arbbot.forecastex-contracts/1` list (IB's contract
        details field names; arbbot.mapping.listings reads it, `arbbot rules`/`map --forecastex`)."""
        return [contract_records(self.contracts)]

    async def discover_events(self) -> list[EventInfo]:
        """One event per product expiry (its strikes are nested thresholds, not exclusive)."""
        groups: dict[str, list[str]] = {}
        for m in await self.discover_markets():
            groups.setdefault(m.event_id, []).append(m.market_id)
        return [EventInfo(Venue.FORECASTEX, e, e, tuple(ms)) for e, ms in sorted(groups.items())]

    @staticmethod
    def _bids(own: IBQuote, opp: IBQuote) -> tuple[tuple[int, int], ...]:
        """One side's bids from its contract's BID, capped so that 1 − bid reproduces the
        opposite contract's displayed ASK ("BuyYesNow"): if IB prices the pair at $1.01 the
        derived ask is IB's ask, never a cent better. No displayed opposite ASK → nothing to buy
        against → no level."""
        if own.bid is None or own.bid_size <= 0 or opp.ask is None:
            return ()
        px, size = price_ticks(own.bid), own.bid_size
        implied = TICKS_PER_DOLLAR - price_ticks(opp.ask)
        if implied < px:
            px, size = implied, opp.ask_size or size
        return ((px, size * 100),) if px > 0 else ()

    def _book(self, mid: str, qy: IBQuote, qn: IBQuote) -> Book:
        return Book(yes_bids=self._bids(qy, qn), no_bids=self._bids(qn, qy), market=MarketId(Venue.FORECASTEX, mid))

    async def fetch_book(self, mid: str) -> Book:
        """Top of book: the YES contract's BID and the NO contract's BID: from IB L1 streaming data
        for a market this venue streams, else from one-off snapshots (`snapshot_book`), so that a
        fetch never takes one of the account's market data lines for good."""
        if mid not in self._streaming_ids or self._data_down() or (self.feed is not None and self.feed.polls(mid)):
            return await self.snapshot_book(mid)       # never a frozen ticker's book
        try:
            return await self._streamed_book(mid)
        except (NoMarketDataLine, NoStreamAnswer):     # no line for it (yet), or no answer: a snapshot answers
            return await self.snapshot_book(mid)

    def _data_down(self) -> str | None:
        """Why IB's streamed quotes cannot be trusted now (TWS says so), or None."""
        down = getattr(self.client, "market_data_down", None)
        return down() if callable(down) else None

    def _on_data_state(self, reason: str | None) -> None:
        """The client's word that market data went down (TWS 1100, a broken farm, a competing
        session, the API socket lost): every streamed book is published untradeable at once
        (`_hold`). While TWS says its data is down the feed polls instead of publishing frozen
        tickers; a lost socket is connected again by the stream's next pass (which puts the feed
        down if it cannot). The next whole pass (or a poll answered) publishes tradeable books."""
        if not reason or self.feed is None or self._streamer is None or self._streamer.done():
            return
        self._hold(self.feed, f"IB: {reason}")
        if self._data_down():
            self.feed.stream_down(f"IB: {reason}")

    def _hold(self, feed: BookFeed, reason: str, market_ids: list[str] | None = None) -> None:
        """Publish every streamed market's (or `market_ids`') last book untradeable for `reason`
        (its levels kept), as the other venues do on a disconnect: the session must not trade a
        frozen quote while it still counts as fresh. A book already untradeable is not published
        again."""
        now_ms = int(time.time() * 1000)
        for mid in list(self._streaming_ids if market_ids is None else market_ids):
            b = self._books.get(mid)
            if b is not None and b.tradeable:
                b = self._books[mid] = dataclasses.replace(b, tradeable=False, reason=reason)
                feed.publish(BookUpdate(b, now_ms))

    async def _polled_book(self, mid: str) -> Book:
        """`snapshot_book` as the feed polls and re-snapshots it: the book is remembered (`_hold`)."""
        b = self._books[mid] = await self.snapshot_book(mid)
        return b

    async def _streamed_book(self, mid: str) -> Book:
        yes_c, no_c = self._cons(mid)
        return self._book(mid, await self.client.quote(yes_c), await self.client.quote(no_c))

    async def snapshot_book(self, mid: str) -> Book:
        """`fetch_book` from one-off snapshot requests: what the feed polls while streaming fails."""
        yes_c, no_c = self._cons(mid)
        yes_q, no_q = await asyncio.gather(self.client.snapshot_quote(yes_c), self.client.snapshot_quote(no_c))
        return self._book(mid, yes_q, no_q)

    async def stream_books(self, market_ids: list[str], *,
                           on_update: Callable[[BookUpdate], None] | None = None) -> AsyncIterator[BookUpdate]:
        """IB L1 streaming tickers (no sequence numbers) read every `poll_s`, a book published when
        it changed, coalesced per market (`BookFeed`). While a read fails the feed polls snapshots
        (`snapshot_book`, rate limited); `on_update` sees every update before coalescing. Started
        again, it replaces the previous stream."""
        await self.close_stream()
        self._books = {}
        self._no_line = {}
        self.feed = BookFeed("forecastex", market_ids, self._polled_book, SNAPSHOTS_PER_S,
                             on_update=on_update)
        self.feed.start()
        self._streaming_ids = list(market_ids)
        self._streamer = asyncio.create_task(self._stream(self.feed, self._streaming_ids), name="forecastex-stream")
        while True:
            yield await self.feed.get()

    async def add_markets(self, market_ids: list[str]) -> list[str]:
        """Stream these markets too: read from the next pass of the running stream on; the ids
        that were new. Nothing while no stream runs."""
        if self._streamer is None:
            return []
        if any(mid not in self.con for mid in market_ids):
            try:
                await self.discover_markets()
            except VenueError as exc:             # streamed once a later discovery reads them
                log.warning("forecastex: catalog not read for new markets (%s: %s)", type(exc).__name__, exc)
        added = [mid for mid in dict.fromkeys(market_ids) if mid in self.con and mid not in self._streaming_ids]
        self.feed.add_markets(added)          # (a polled market is known to the feed already)
        self._streaming_ids += added
        return added

    async def _stream(self, feed: BookFeed, market_ids: list[str]) -> None:
        """Read the streaming tickers every `poll_s`. A failed pass (a TWS error, a lost
        connection: the client reconnects on the next read) publishes every streamed book
        untradeable (`_hold`), puts the feed in poll mode and is retried with backoff; the first
        whole pass that succeeds again brings the feed back to streaming, and then every book is
        published afresh. A market whose streaming IB refuses for lack of lines (101) is polled
        alone (`_no_line_for`); the others stream on."""
        last: dict[str, Book] = {}
        backoff = Backoff(base=self.poll_s, cap=30.0)
        epoch = getattr(self.client, "data_epoch", 0)
        while True:
            try:
                down = self._data_down()
                if down:
                    raise TransportError(f"forecastex: IB market data down: {down}", venue="forecastex")
                now = getattr(self.client, "data_epoch", 0)
                if now != epoch:                  # quotes were lost since the last pass: publish all afresh
                    epoch = now
                    last.clear()
                for mid in list(market_ids):      # (grows when markets are added mid-session)
                    if self._no_line.get(mid, 0.0) > time.monotonic():
                        continue                  # polled (no line): its streaming is tried again later
                    try:
                        b = await self._streamed_book(mid)
                    except (NoMarketDataLine, NoStreamAnswer) as exc:   # this market alone: polled
                        last.pop(mid, None)
                        self._no_line_for(feed, mid, f"{type(exc).__name__}: {exc}")
                        continue
                    if self._no_line.pop(mid, None) is not None:
                        feed.stream_up(f"lines:{mid}")   # it streams again: no longer polled
                    if last.get(mid) != b or not self._books.get(mid, b).tradeable:   # (or it was held)
                        last[mid] = self._books[mid] = b
                        feed.publish(BookUpdate(b, int(time.time() * 1000)))
                down = self._data_down()
                if down:                          # it went down during the pass: not back yet
                    raise TransportError(f"forecastex: IB market data down: {down}", venue="forecastex")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stream_errors += 1
                last.clear()
                why = f"{type(exc).__name__}: {exc}"
                if feed.streaming:                # it just went down: no frozen ticker's book stays tradeable
                    self._hold(feed, why)
                feed.stream_down(why)
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            feed.stream_up()
            await asyncio.sleep(self.poll_s)

    def _no_line_for(self, feed: BookFeed, mid: str, why: str) -> None:
        """IB refused a streaming request of market `mid` for lack of lines: that market alone is
        polled (feed source "lines:<mid>"), its streamed book published untradeable once, the line
        its other contract may hold freed (a polled market streams neither); its streaming is
        tried again after `line_retry_s`."""
        first = mid not in self._no_line
        self._no_line[mid] = time.monotonic() + self.line_retry_s
        unsubscribe = getattr(self.client, "unsubscribe", None)
        if callable(unsubscribe):
            for con in self._cons(mid):
                unsubscribe(con)
        if first:
            self._hold(feed, why, [mid])
            feed.stream_down(why, source=f"lines:{mid}", market_ids=[mid])

    async def place_order(self, req: OrderRequest) -> Order:
        if req.action is not Action.BUY:
            raise OrderRejected("forecastex is buy-only: to exit, buy the opposite side", venue="forecastex")
        if req.qty_lots % 100:
            raise OrderRejected("forecastex trades whole contracts only", venue="forecastex")
        if not 200 <= req.price_ticks <= 9_900 or req.price_ticks % 100:
            raise OrderRejected("forecastex prices are $0.01 steps within 0.02-0.99", venue="forecastex")
        yes_c, no_c = self._cons(req.market_id)
        tif = {TimeInForce.IOC: "IOC", TimeInForce.GTC: "GTC"}.get(req.tif, "DAY")
        if req.tif is TimeInForce.FOK:
            raise OrderRejected("forecastex supports DAY, GTC and IOC only", venue="forecastex")
        t = await self.client.place_limit(yes_c if req.side is Side.YES else no_c, "BUY", req.qty_lots // 100,
                                          Decimal(req.price_ticks) / TICKS_PER_DOLLAR, tif, order_ref=req.client_order_id)
        if t.status in ("", "PendingSubmit", "ApiPending"):
            # sent, but TWS never acknowledged it: it may be working (and fill) at IB
            raise OutcomeUnknown(f"forecastex: order {req.client_order_id} not acknowledged; it may be at IB",
                                 venue="forecastex")
        return self._order(req.market_id, req.side, t, await self._executions(t))

    async def _executions(self, t: IBTrade) -> Executions | None:
        """IB's executions, for an order answer that filled something (None: it filled nothing)."""
        return Executions(await self.client.fills()) if t.filled else None

    @staticmethod
    def _oid(t: IBTrade | IBFill) -> str:
        """The order id we expose (see the class note)."""
        if t.perm_id:
            return str(t.perm_id)
        return f"{t.client_id}:{t.order_id}" if t.client_id else str(t.order_id)

    @classmethod
    def _aliases(cls, t: IBTrade | IBFill) -> set[str]:
        """Every id the order of `t` was or is exposed under."""
        out = {cls._oid(t)}
        if t.client_id and t.order_id > 0:
            out.add(f"{t.client_id}:{t.order_id}")
        return out

    def _order(self, mid: str, side: Side, t: IBTrade, execs: Executions | None) -> Order:
        """An `IBTrade` as an `Order`; IB's `orderRef` carries our client_order_id. Cost (µ$) and
        fees (µ$) come from the order's executions among `execs` (`costs.order_cost`)."""
        cost, fees, unpriced = order_cost(t, execs.of(t) if execs is not None else [])
        if unpriced:
            log.warning("forecastex: order %s filled %d lots whose executions IB has not reported; its cost "
                        "counts them at the limit (an upper bound)", self._oid(t), unpriced)
        return Order(Venue.FORECASTEX, self._oid(t), t.order_ref, mid, side, Action.BUY, price_ticks(t.limit),
                     t.quantity * 100, t.filled * 100, 0 if t.status in _DONE else (t.quantity - t.filled) * 100,
                     _STATUS.get(t.status, OrderStatus.PENDING), fees_micros=fees, cost_micros=cost)

    async def _name(self, con_id: int, contract: IBContract | None = None) -> tuple[str, Side]:
        """(market id, side) of a conId: from the catalog, else from the contract IB reported
        with the order / execution / position (right C = YES, P = NO), else from the client's
        description of the conId (qualified). NotFound when none names it: never a guess."""
        got = self._named.get(con_id) or _named(contract)
        if got is None:
            describe = getattr(self.client, "contract_of", None)
            got = _named(await describe(con_id)) if describe is not None else None
        if got is None:
            raise NotFound(f"forecastex: conId {con_id} is not in the catalog and IB did not describe it "
                           "(right, symbol, expiry, strike): its market and side are unknown", venue="forecastex")
        self._named[con_id] = got
        return got

    async def _catalog(self) -> None:
        """Names come from the catalog when it is there; a restarted process may read orders and
        fills before discovering markets (and a product may be unavailable: names then come from
        IB's contracts), so a failed discovery is no reason to fail the read."""
        now = time.monotonic()
        if any(s not in self._discovered and self._retry_at.get(s, 0.0) <= now for s in self.symbols):
            try:
                await self.discover_markets()
            except VenueError as exc:
                log.warning("forecastex: catalog not read (%s: %s); markets named from IB's contracts",
                            type(exc).__name__, exc)

    async def _listed(self) -> list[tuple[IBTrade, Order]]:
        """Every order of the account IB reports, each with its `Order` (IB asked again first)."""
        await self._catalog()
        await self.client.refresh_orders()            # ask IB, not a cache that may have missed answers
        trades = await self.client.all_trades()
        execs = Executions(await self.client.fills())
        return [(t, self._order(*await self._name(t.con_id, t.contract), t, execs)) for t in trades]

    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]:
        """Every order of the account IB reports (open and completed, this session or found on
        connect), each with its client_order_id from `orderRef`: what crash recovery reads.
        `ticker` keeps one market's orders; IB reports no creation time or status filter here,
        so `min_ts_ms` and `status` are accepted for the common signature and not applied."""
        out = [o for _t, o in await self._listed()]
        # an order whose answers were lost stays PendingSubmit in ib_async's cache while TWS reports
        # it again as a completed order: one order, two records. Keep the settled record.
        settled = {o.client_order_id for o in out if o.client_order_id and o.status is not OrderStatus.PENDING}
        out = [o for o in out if not (o.status is OrderStatus.PENDING and o.client_order_id in settled)]
        return [o for o in out if ticker is None or o.market_id == ticker]

    async def order(self, order_id: str) -> Order | None:
        """One order by the id we exposed for it (permId, or "<clientId>:<orderId>" before TWS
        acknowledged it), open or completed; of its records (IB may list the live order and its
        completed record apart) the settled, most filled one. None if IB does not report it."""
        listed = await self._listed()
        hits = [(t, o) for t, o in listed if order_id in self._aliases(t)]
        perms = {t.perm_id for t, _o in hits if t.perm_id}
        coids = {o.client_order_id for _t, o in hits if o.client_order_id}
        records = [o for t, o in listed if order_id in self._aliases(t) or (t.perm_id and t.perm_id in perms)
                   or (o.client_order_id and o.client_order_id in coids)]
        return max(records, key=lambda o: (o.status not in (OrderStatus.PENDING, OrderStatus.RESTING), o.filled_lots),
                   default=None)

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        """Executions (every API client's: the account's) with IB's commission per execution as
        the fill's fee (rounded up to 1 µ$); filtered by order id (the id we exposed for the
        order: permId, or "<clientId>:<orderId>"), market and execution time (ms) when given.
        Complete from `fill_history_start_ms()` on."""
        await self._catalog()
        out = []
        for f in await self.client.fills():
            if (order_id is not None and order_id not in self._aliases(f)) or \
                    (min_ts_ms is not None and f.ts_ms < min_ts_ms):
                continue
            mid, side = await self._name(f.con_id, f.contract)
            if ticker is not None and mid != ticker:
                continue
            out.append(Fill(Venue.FORECASTEX, f.exec_id, self._oid(f), mid, side, Action.BUY,
                            price_ticks(f.price), f.shares * 100, fee_micros(f.commission), f.is_taker, f.ts_ms))
        return out

    async def balance(self) -> Balance:
        cash = await self.client.cash()
        return Balance(Venue.FORECASTEX, int((cash * 1_000_000).to_integral_value(rounding=ROUND_FLOOR)))

    async def close_stream(self) -> None:
        """Stop streaming books (the market-data connection and its feed); orders, balances and
        the other reads keep working. Idempotent; `close` does it too."""
        if self._streamer is not None:
            self._streamer.cancel()
            await asyncio.gather(self._streamer, return_exceptions=True)
        if self.feed is not None:
            await self.feed.close()

    async def close(self) -> None:
        await self.close_stream()
        await self.client.close()

    async def cancel_order(self, order_id: str) -> Order:
        """Cancel the order we exposed as `order_id` (this client's: IB cancels no other's)."""
        trades = [t for t in await self.client.all_trades() if order_id in self._aliases(t)]
        live = [t for t in trades if t.status not in _DONE]
        if not trades:
            raise NotFound(f"forecastex: unknown order {order_id}", venue="forecastex")
        # a done order has nothing to cancel: its record as IB reports it (after a reconnect IB
        # lists it as a completed order, which has no API order id to cancel by)
        t = await self.client.cancel(live[0].order_id) if live else max(trades, key=lambda x: x.filled)
        return self._order(*await self._name(t.con_id, t.contract), t, await self._executions(t))

    async def positions(self) -> list[Position]:
        """Net YES − NO per market (IB nets the pair); a contract not in the catalog (a product
        not read, a question no longer listed) is named from IB's contract."""
        await self._catalog()
        net: dict[str, int] = {}
        for con, n in (await self.client.positions()).items():
            if n:
                mid, side = await self._name(con)
                net[mid] = net.get(mid, 0) + (n if side is Side.YES else -n)
        return [Position(Venue.FORECASTEX, mid, lots * 100) for mid, lots in sorted(net.items()) if lots]
