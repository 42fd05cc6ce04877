"""`ForecastExVenue`: catalog by conId (cached), L1 bids as the native book, buy-only orders."""
from __future__ import annotations

import asyncio
import logging
import time
from decimal import ROUND_FLOOR, Decimal
from typing import AsyncIterator, Callable

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import NotFound, OrderRejected, OutcomeUnknown
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import (
    Action, Balance, Book, BookUpdate, EventInfo, FeeSchedule, Fill, MarketId, MarketInfo, Order, OrderRequest,
    OrderStatus, Position, Side, TimeInForce, Venue,
)
from arbbot.units import MICROS_PER_DOLLAR, TICKS_PER_DOLLAR, price_ticks
from arbbot.venues.forecastex.client import IBClient, IBContract, IBQuote, IBTrade
from arbbot.venues.forecastex.costs import Executions, fee_micros, order_cost

FEES = FeeSchedule(per_contract=MICROS_PER_DOLLAR // 100)    # $0.01 per contract, conservative (VENUES.md)
_STATUS = {"Filled": OrderStatus.FILLED, "Cancelled": OrderStatus.CANCELED, "ApiCancelled": OrderStatus.CANCELED,
           "Inactive": OrderStatus.REJECTED, "Submitted": OrderStatus.RESTING, "PreSubmitted": OrderStatus.RESTING,
           "PendingSubmit": OrderStatus.PENDING}
# book snapshots per second the feed may request: IB takes ~50 API messages/s in all and a book's
# snapshot is two requests, so 20 books/s is 40 messages/s; orders and account requests (a few a
# second at most) keep the other 10
SNAPSHOTS_PER_S = 20.0
log = logging.getLogger("arbbot.venues.forecastex")


def market_id(c: IBContract) -> str:
    return f"{c.symbol}-{c.expiry}-{c.strike}"


def closes_at(expiry: str) -> str:
    """`lastTradeDateOrContractMonth` (YYYYMMDD; IB gives no time for ForecastEx) → the close as
    `YYYY-MM-DDT23:59:59Z`: the end of that day in UTC, the latest it can trade (a later close
    only lengthens the capital lock, SIZING.md step 7); "" when it is not a date."""
    from datetime import datetime
    try:
        day = datetime.strptime(expiry[:8], "%Y%m%d")
    except ValueError:
        return ""
    return day.strftime("%Y-%m-%dT23:59:59Z")


def contract_records(contracts: list[IBContract]) -> list[dict]:
    """IB contract details in the `arbbot.forecastex-contracts/1` format: a JSON list, one object
    per contract (a question's YES "C" and NO "P" contracts are two elements), IB's field names."""
    return [{"conId": c.con_id, "symbol": c.symbol, "lastTradeDateOrContractMonth": c.expiry,
             "strike": c.strike, "right": c.right, "exchange": c.exchange, "secType": c.sec_type,
             "longName": c.long_name} for c in contracts]


class ForecastExVenue:
    venue = "forecastex"
    # orders carry our client_order_id as IB `orderRef`: nothing to record before sending
    on_order_id = None

    def __init__(self, client: IBClient, symbols: list[str], *, poll_s: float = 1.0) -> None:
        self.client = client
        self.poll_s = poll_s
        self.symbols = symbols
        self.markets: dict[str, MarketInfo] = {}
        self.con: dict[str, tuple[int, int]] = {}       # market id → (YES conId, NO conId); cached
        self.contracts: list[IBContract] = []           # every FORECASTX contract of the discovery
        self.feed: BookFeed | None = None               # the book feed, once `stream_books` runs
        self.stream_errors = 0                          # failed passes over the streaming tickers
        self._streamer: asyncio.Task | None = None
        self._streaming_ids: list[str] = []             # the markets read from streaming tickers

    async def discover_markets(self) -> list[MarketInfo]:
        if self.markets:
            return list(self.markets.values())             # conIds are cached: IB pacing is costly
        for sym in self.symbols:
            pairs: dict[str, dict[str, IBContract]] = {}
            for c in await self.client.contract_details(sym):
                if c.exchange == "FORECASTX" and c.sec_type == "OPT":
                    self.contracts.append(c)
                    pairs.setdefault(market_id(c), {})[c.right] = c
            for mid, p in sorted(pairs.items()):
                if "C" in p and "P" in p:
                    self.con[mid] = (p["C"].con_id, p["P"].con_id)
                    self.markets[mid] = MarketInfo(Venue.FORECASTEX, mid, p["C"].long_name or mid,
                                                   event_id=f"{p['C'].symbol}-{p['C'].expiry}", fees=FEES,
                                                   lot_lots=100, tick_ticks=100, min_price_ticks=200,
                                                   max_price_ticks=9_900, yes_token=str(p["C"].con_id),
                                                   no_token=str(p["P"].con_id),
                                                   closes_at=closes_at(p["C"].expiry))
        return list(self.markets.values())

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
        if mid not in self._streaming_ids:
            return await self.snapshot_book(mid)
        return await self._streamed_book(mid)

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
        self.feed = BookFeed("forecastex", market_ids, self.snapshot_book, SNAPSHOTS_PER_S,
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
            await self.discover_markets()
        added = [mid for mid in dict.fromkeys(market_ids) if mid in self.con and mid not in self._streaming_ids]
        self.feed.add_markets(added)          # (a polled market is known to the feed already)
        self._streaming_ids += added
        return added

    async def _stream(self, feed: BookFeed, market_ids: list[str]) -> None:
        """Read the streaming tickers every `poll_s`. A failed pass (a TWS error, a lost
        connection: the client reconnects on the next read) puts the feed in poll mode and is
        retried with backoff; the first whole pass that succeeds again brings the feed back to
        streaming, and then every book is published afresh."""
        last: dict[str, Book] = {}
        backoff = Backoff(base=self.poll_s, cap=30.0)
        while True:
            try:
                for mid in list(market_ids):      # (grows when markets are added mid-session)
                    b = await self._streamed_book(mid)
                    if last.get(mid) != b:
                        last[mid] = b
                        feed.publish(BookUpdate(b, int(time.time() * 1000)))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stream_errors += 1
                last.clear()
                feed.stream_down(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            feed.stream_up()
            await asyncio.sleep(self.poll_s)

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

    def _order(self, mid: str, side: Side, t: IBTrade, execs: Executions | None) -> Order:
        """An `IBTrade` as an `Order`; IB's `orderRef` carries our client_order_id. Cost (µ$) and
        fees (µ$) come from the order's executions among `execs` (`costs.order_cost`)."""
        cost, fees, unpriced = order_cost(t, execs.of(t) if execs is not None else [])
        if unpriced:
            log.warning("forecastex: order %s filled %d lots whose executions IB has not reported; its cost "
                        "counts them at the limit (an upper bound)", t.order_id, unpriced)
        return Order(Venue.FORECASTEX, str(t.order_id), t.order_ref, mid, side, Action.BUY, price_ticks(t.limit),
                     t.quantity * 100, t.filled * 100, 0 if t.status in ("Filled", "Cancelled", "ApiCancelled",
                                                                         "Inactive") else (t.quantity - t.filled) * 100,
                     _STATUS.get(t.status, OrderStatus.PENDING), fees_micros=fees, cost_micros=cost)

    def _market_of(self, con_id: int) -> tuple[str, Side]:
        for m, (y, n) in self.con.items():
            if con_id in (y, n):
                return m, Side.YES if con_id == y else Side.NO
        return "", Side.YES

    async def _catalog(self) -> None:
        """A restarted process may read orders/fills before discovering markets: map conIds."""
        if not self.con:
            await self.discover_markets()

    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]:
        """Every order of the account IB reports (open and completed, this session or found on
        connect), each with its client_order_id from `orderRef`: what crash recovery reads.
        `ticker` keeps one market's orders; IB reports no creation time or status filter here,
        so `min_ts_ms` and `status` are accepted for the common signature and not applied."""
        await self._catalog()
        await self.client.refresh_orders()            # ask IB, not a cache that may have missed answers
        trades = await self.client.all_trades()
        execs = Executions(await self.client.fills())
        out = [self._order(*self._market_of(t.con_id), t, execs) for t in trades]
        # an order whose answers were lost stays PendingSubmit in ib_async's cache while TWS reports
        # it again as a completed order: one order, two records. Keep the settled record.
        settled = {o.client_order_id for o in out if o.client_order_id and o.status is not OrderStatus.PENDING}
        out = [o for o in out if not (o.status is OrderStatus.PENDING and o.client_order_id in settled)]
        return [o for o in out if ticker is None or o.market_id == ticker]

    async def order(self, order_id: str) -> Order | None:
        """One order by its IB order id, open or completed; None if IB does not report it."""
        return next((o for o in await self.orders() if o.order_id == order_id), None)

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        """Executions with IB's commission per execution as the fill's fee (rounded up to 1 µ$);
        filtered by order id, market and execution time (ms) when given."""
        await self._catalog()
        out = []
        for f in await self.client.fills():
            if (order_id is not None and str(f.order_id) != order_id) or \
                    (min_ts_ms is not None and f.ts_ms < min_ts_ms):
                continue
            mid, side = self._market_of(f.con_id)
            if ticker is not None and mid != ticker:
                continue
            out.append(Fill(Venue.FORECASTEX, f.exec_id, str(f.order_id), mid, side, Action.BUY,
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
        t = await self.client.cancel(int(order_id))
        mid = next((m for m, (y, n) in self.con.items() if t.con_id in (y, n)), "")
        return self._order(mid, Side.YES if self.con.get(mid, (0, 0))[0] == t.con_id else Side.NO, t,
                           await self._executions(t))

    async def positions(self) -> list[Position]:
        """Net YES − NO per market (IB nets the pair)."""
        await self._catalog()
        held = await self.client.positions()
        out = []
        for mid, (y, n) in self.con.items():
            net = held.get(y, 0) - held.get(n, 0)
            if held.get(y) or held.get(n):
                out.append(Position(Venue.FORECASTEX, mid, net * 100))
        return out
