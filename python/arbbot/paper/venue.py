"""`PaperVenue`: a real venue adapter for market data, the local fill engine for orders.

Discovery, listings and books go to the wrapped adapter (the real venue, or a simulator with
`--connect`); every trading method is answered locally and the wrapped adapter's trading methods
are never called, so no order ever leaves the process. The wrapper remembers the latest book of
each market as the adapter receives it: every update of `stream_books`, before the feed
coalesces it (the adapter's `on_update` tap), and every `fetch_book`.

An order is matched after a latency, against the book as it is at that moment (the session's
stream keeps running meanwhile, so a book that changes during the latency changes the fill):
- setting `paper_latency_ms` unset (default): the measured latency of the venue's data round trip,
  the median of the last `ROUND_TRIPS` REST book fetches made through this wrapper (IB: its
  one-off snapshot requests to TWS, as its `fetch_book` of a streamed market reads a local
  ticker); until `MIN_ROUND_TRIPS` are measured, the order's wait IS one: a fetch (IB: a
  snapshot) of the order's market, timed (a sample) and remembered as the book;
- `paper_latency_ms` set: that many milliseconds, on every venue.
A REST round trip to the venue's API stands for an order's round trip there (same host, same
network path; the venue's matching time is not included).

Orders: IOC and FOK only (what the executor sends; GTC/DAY and post-only need a queue model and
are refused), on the market's price grid, in whole lots; a buy must be covered by the paper cash
(limit × qty + its fee), and on Kalshi a sale beyond the side's net lots held too ((1 − limit) ×
the lots it opens of the other side + its fee). ForecastEx is buy-only, as at the venue. A book the adapter distrusts
(sequence gap, disconnect) or none at all fills nothing. Liquidity consumed: the venue never sees
paper orders, so its book keeps showing the resting orders they took; those lots are gone for
every later paper order that would take the same resting orders, whatever its side and action (on
Kalshi a BUY YES at p and a SELL NO at 1 − p both take the NO bid at 1 − p; `fills.taken_bid`),
across book updates (`TakenDepth`, `Terms.taken`). They come back only when the level's published
size falls below them (the venue's trades there would have taken the orders behind them), or all
of them when the level is gone. Every
book the wrapper passes on (the stream's updates, `fetch_book` and `snapshot_book` answers) shows
those lots gone, as the venue's own book would after a real order (`fills.without_taken`; the
wrapper remembers, and `TakenDepth` reads, the venue's books as sent), and right after a fill the
market's book goes through the adapter's feed again (`Republished`), so the session never trades
the same lots twice. At start, the depth every earlier paper order took is taken again
(`rebuild_taken`), whatever its age: a level the venue still shows is held taken as within a run. Each order, its fills, the book and the terms it was matched with go to the
ledger (`arbbot.paper.ledger`) in one transaction before the answer is returned. Polymarket sells
tokens held only. Results the venue pays at settlement (Kalshi, ForecastEx), whoever recorded
them, are paid into the ledger before it answers a balance or positions
(`LedgerAccount.settle_recorded`). Units: ticks, lots, µ$.
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import statistics
import time
from collections import deque
from typing import AsyncIterator

from arbbot.engine import order_fee
from arbbot.model import Book, MarketInfo, Side, Venue, on_grid, utc_ms
from arbbot.paper.fills import (MATCHED_TIFS, PaperBook, Terms, book_from_json, book_to_json, ladder, match,
                                published_bid, taken_bid, without_taken)
from arbbot.paper.ledger import LedgerAccount, PaperLedger
from arbbot.units import TICKS_PER_DOLLAR
from arbbot.venues.common.errors import NotFound, OrderRejected
from arbbot.venues.common.model import Action, Balance, BookUpdate, Fill, Order, OrderRequest, PackedBookUpdate, Position

ROUND_TRIPS = 64          # REST book fetches whose median is the measured latency
MIN_ROUND_TRIPS = 3       # fewer measured: an order waits for a fetch of its market (and measures it)


class Republished(BookUpdate):
    """A paper venue's own update: the market's book as it holds it (the venue's), put through the
    adapter's feed again right after a paper fill, so the session reads it less what the fill took
    (`PaperVenue._passed`) without waiting for the venue's next update. Not the venue's: neither
    remembered as its book nor given to the session's samples."""


class TakenDepth:
    """The resting orders of one market that paper orders took and the venue still shows. `levels`:
    (bid side, bid price ticks) (`fills.taken_bid`) → [lots taken, lots the venue showed there
    when last seen (`fills.published_bid`)]. Invariant: 0 < taken ≤ shown.

    Each trusted book seen keeps min(taken, shown) of a level, and forgets a level gone from the
    book; on a top-of-book venue (ForecastEx) a level below the bid shown is hidden, not gone, and
    kept as last seen. The orders a paper order took stood first in the level's queue: the venue's own trades
    there take them first at the venue, but would have taken the orders behind them had the paper
    order been real, so a drop gives nothing back while the level still shows the lots taken
    (a drop of 3 of 10 shown after paper took 4 leaves 3 to take, not 6); a level that grew keeps
    all it had taken (the new orders queue behind the ones taken). Cancels cannot be told from
    trades in a book; counting them so never shows more depth than there may be."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.levels: dict[tuple[Side, int], list[int]] = {}

    def see(self, book: Book) -> None:
        for key, level in list(self.levels.items()):
            shown = published_bid(book, self.venue, *key)
            if not shown and self.venue.top_of_book_only and _hidden(book, *key):
                continue                 # below a better bid: not shown, not gone (kept as last seen)
            taken = min(level[0], shown)
            if taken > 0:
                level[:] = taken, shown
            else:
                del self.levels[key]

    def on_ladder(self, side: Side, action: Action) -> tuple[tuple[int, int], ...]:
        """What an order of `side`/`action` finds taken: (price ticks of its ladder, lots), by price."""
        found = []
        for (bid_side, bid_price), (taken, _shown) in self.levels.items():
            walked, price = taken_bid(side, action, bid_price)      # its own inverse on the price
            if walked is bid_side:
                found.append((price, taken))
        return tuple(sorted(found))

    def took(self, book: Book, side: Side, action: Action, fills) -> None:
        """Record an order's fills ((price ticks of its ladder, lots)), matched against `book`."""
        for price, lots in fills:
            key = taken_bid(side, action, price)
            level = self.levels.setdefault(key, [0, published_bid(book, self.venue, *key)])
            level[0] += lots

    def cut(self, book: Book) -> PaperBook:
        """`book` (the venue's) less the lots taken here (`fills.without_taken`)."""
        return without_taken(book, self.venue, ((key, level[0]) for key, level in self.levels.items()))


def _hidden(book: Book, side: Side, price: int) -> bool:
    """On a top-of-book venue: `side`'s bid at `price` may rest below the bid `book` shows."""
    bids = book.yes_bids if side is Side.YES else book.no_bids
    return bool(bids) and bids[0][0] > price


def rebuild_taken(venue: Venue, orders) -> dict[str, TakenDepth]:
    """Market id → the depth `orders` took ((a `paper_orders` row, its fills as (price ticks, lots)),
    oldest first: `LedgerAccount.recent`), each order's book seen before its fills were taken, as
    when they were matched; an order on no book or a distrusted one saw and took nothing."""
    taken: dict[str, TakenDepth] = {}
    for row, fills in orders:
        if row["reason"]:
            continue
        book = book_from_json(row["book"])
        depth = taken.setdefault(row["market_id"], TakenDepth(venue))
        depth.see(book)
        depth.took(book, Side.parse(row["side"]), Action(row["action"]), fills)
    return {market_id: depth for market_id, depth in taken.items() if depth.levels}


class PaperVenue:
    """`VenueClient` over `inner` (market data) and `ledger` (orders, fills, cash)."""

    def __init__(self, inner, ledger: PaperLedger, *, latency_ms: float | None = None, clock=time.time,
                 sleep=asyncio.sleep, timer=time.perf_counter) -> None:
        self.inner = inner
        self.venue: str = inner.venue
        # every order (`rebuild_taken`): the depth one took 10 minutes or a day before a restart is held
        # taken while the venue shows it, as within a run (forgotten, a quiet market's arb was
        # taken again, its profit counted twice, after each restart)
        self.account: LedgerAccount = ledger.account(self.venue, recent_since_ms=0)
        self.on_order_id = None                    # paper orders carry our client order id: never called
        self.fixed_latency_s = None if latency_ms is None else latency_ms / 1000
        self.clock, self.sleep, self.timer = clock, sleep, timer
        # venue market id → latest book seen: a Book, or a PackedBookUpdate (a replay's) whose Book
        # is built when an order needs it (`book`)
        self.books: dict[str, Book | PackedBookUpdate] = {}
        self.markets: dict[str, MarketInfo] = {}
        self.round_trips: deque = deque(maxlen=ROUND_TRIPS)   # seconds per REST book fetch
        self.applied_latency_s: deque = deque(maxlen=2_000)   # latency waited per order, seconds
        self.orders_matched = 0
        self.orders_refused = 0
        self._seq = itertools.count(1)            # ids of orders without a client order id
        # market id → the resting orders paper orders took there that its book still shows (those
        # of the orders just before a restart too: the venue may show them still); only markets
        # where some are (an emptied one is dropped), so a market absent passes its books on as sent
        self._taken: dict[str, TakenDepth] = rebuild_taken(Venue.parse(self.venue), self.account.recent)
        self.account.recent = []                   # read once: freed
        if callable(getattr(inner, "resolutions", None)):
            # market results are public data: the wrapped adapter's (an optional method, so the
            # wrapper has it only when the adapter does)
            self.resolutions = self._resolutions
        # the adapter's order rules that depend on the quantity (Polymarket's amounts and minimums):
        # paper refuses the same orders, so it trades the quantities a live run would (an optional
        # method, so the wrapper has it only when the adapter does: the executor asks none else)
        self._inner_refusal = getattr(inner, "refusal", None)
        if callable(self._inner_refusal):
            self.refusal = self._inner_refusal
        # the market's trading hours (ForecastEx): paper trades when a live order would be worked
        closed = getattr(inner, "trading_closed", None)
        if callable(closed):
            self.trading_closed = closed
        # a venue whose marketable BUY spends a dollar amount (Polymarket): paper spends the amount
        # its adapter would sign (`budget`), so it fills the lots a live order would
        self._inner_budget = getattr(inner, "budget", None)
        if getattr(inner, "buys_by_amount", False) and callable(self._inner_budget):
            self.buys_by_amount = True

    # ---- market data: the wrapped adapter's ------------------------------------------------------
    async def discover_markets(self) -> list[MarketInfo]:
        found = await self.inner.discover_markets()
        self.markets.update((m.market_id, m) for m in found)
        return found

    async def discover_events(self):
        return await self.inner.discover_events()

    def repriced(self, markets: list[MarketInfo]) -> None:
        """The session re-priced these markets (their schedules as discovered now): the ledger
        charges them so, and the wrapped adapter is told (`repriced`, where it has it)."""
        self.markets.update((m.market_id, m) for m in markets if m.venue.label == self.venue)
        inner = getattr(self.inner, "repriced", None)
        if inner is not None:
            inner(markets)

    async def _resolutions(self, market_ids: list[str]):
        """`resolutions` of the wrapped adapter (set in `__init__` when it has one). The ledger
        plays the venue: on a venue that pays out at settlement (Kalshi) a result pays the paper
        account (`LedgerAccount.settle`), whatever its `paid` says of the real account; Polymarket's
        tokens stay held."""
        out = await self.inner.resolutions(market_ids)
        for r in out:
            self.account.settle(r)
        return out

    def listing_bodies(self) -> list:
        bodies = getattr(self.inner, "listing_bodies", None)
        return bodies() if bodies is not None else []

    async def fetch_book(self, market_id: str) -> Book:
        """The adapter's book, remembered as it is; answered less what paper orders took (`_cut`).
        Timed as a round trip only on an adapter without one-off snapshots: IB's `fetch_book` of
        a streamed market reads its local ticker (no request: 0.1 ms), its `snapshot_book` asks TWS."""
        started = self.timer()
        book = await self.inner.fetch_book(market_id)
        if not self._snapshots:
            self.round_trips.append(self.timer() - started)
        self._remember(market_id, book)
        return self._cut(market_id, book)

    @property
    def _snapshots(self) -> bool:
        return getattr(self.inner, "snapshot_book", None) is not None

    async def snapshot_book(self, market_id: str) -> Book:
        """The adapter's one-off snapshot where it has one (IB: timed, a request to the venue), else
        its `fetch_book`; as `fetch_book`."""
        if not self._snapshots:
            return await self.fetch_book(market_id)
        started = self.timer()
        book = await self.inner.snapshot_book(market_id)
        self.round_trips.append(self.timer() - started)
        self._remember(market_id, book)
        return self._cut(market_id, book)

    def _cut(self, market_id: str, book: Book) -> Book:
        """`book` (the venue's) as the session and the executor are given it: less the resting orders
        paper orders took that it still shows (a `PaperBook`), as the venue's own book would show
        them gone; the same object where they took nothing."""
        taken = self._taken.get(market_id)
        return book if taken is None else taken.cut(book)

    def book(self, market_id: str) -> Book | None:
        """The latest book seen of `market_id` (None: none yet)."""
        held = self.books.get(market_id)
        return held.book if held.__class__ is PackedBookUpdate else held

    def _remember(self, market_id: str, held: Book | PackedBookUpdate) -> None:
        """`held` is the market's latest book; what paper orders took there gives back what the
        venue's own trading took meanwhile (`TakenDepth.see`; a distrusted book tells nothing)."""
        self.books[market_id] = held
        taken = self._taken.get(market_id)
        if taken is not None:                       # else a packed update stays packed
            book = held.book if held.__class__ is PackedBookUpdate else held
            if book.tradeable:
                taken.see(book)
                if not taken.levels:
                    del self._taken[market_id]

    def _seen(self, update: BookUpdate | PackedBookUpdate) -> None:
        """Remember the venue's book `update` carries, once (the tap and the stream both see it). A
        book of this wrapper's own making (`Republished`, a `PaperBook` published back through the
        feed) is not the venue's: its book was remembered when it was read (`TakenDepth.see` must
        never read a cut book: the cut would look like the venue's trading and give the lots back)."""
        books = self.books
        if update.packed is not None:               # kept packed until an order reads it
            if books.get(update.market.id) is not update:
                self._remember(update.market.id, update)
            return
        book = update.book
        if (book.market is not None and update.__class__ is not Republished and book.__class__ is not PaperBook
                and books.get(book.market.id) is not book):
            self._remember(book.market.id, book)

    def _passed(self, update: BookUpdate | PackedBookUpdate) -> BookUpdate | PackedBookUpdate:
        """`update` as the session is given it: the venue's book less what paper orders took there
        (`_cut`; a packed update is unpacked only then); the same object where they took nothing."""
        if update.packed is not None:
            taken = self._taken.get(update.market.id)
            if taken is None:
                return update
            return BookUpdate(taken.cut(update.book), update.recv_ts_ms)
        book = update.book
        if book.market is None:
            return update
        raw = book.raw if book.__class__ is PaperBook else book     # a cut book back through the feed: cut anew
        cut = self._cut(book.market.id, raw)
        return update if cut is book else BookUpdate(cut, update.recv_ts_ms)

    def _republish(self, market_id: str) -> None:
        """Right after a paper fill: the market's book as held, through the adapter's feed again
        (`Republished`; a REST answer to the feed: no sign of stream liveness), so the session sees
        the fill's lots gone at once, not at the venue's next update (a quiet market may not update
        for minutes). Only into a feed that streams the market: an unknown one would take a slot of
        its queue."""
        feed = self.feed
        held = self.book(market_id)
        if feed is not None and held is not None and market_id in feed.market_ids:
            feed.publish(Republished(held, int(self.clock() * 1000)), fetched=True)

    async def add_markets(self, market_ids: list[str]) -> list[str]:
        """The adapter's: stream these markets too (mid-session); the ids that were new."""
        add = getattr(self.inner, "add_markets", None)
        return await add(market_ids) if add is not None else []

    async def stream_books(self, market_ids: list[str], *, on_update=None) -> AsyncIterator[BookUpdate]:
        """The adapter's stream; every update (before coalescing) is remembered, then given to
        `on_update` (the session's samples: the venue's books as sent); each update yielded is the
        venue's book less what paper orders took there (`_passed`)."""
        def tap(update: BookUpdate) -> None:
            self._seen(update)
            if on_update is not None and update.__class__ is not Republished:
                if update.packed is None and update.book.__class__ is PaperBook:
                    update = BookUpdate(update.book.raw, update.recv_ts_ms)
                on_update(update)
        taken = self._taken
        async for update in self.inner.stream_books(market_ids, on_update=tap):
            self._seen(update)          # also without a tap (an adapter that does not coalesce)
            yield self._passed(update) if taken else update

    @property
    def feed(self):
        """The adapter's book feed (re-snapshots, queue figures), if it has one."""
        return getattr(self.inner, "feed", None)

    async def close_stream(self) -> None:
        close_stream = getattr(self.inner, "close_stream", None)
        if close_stream is not None:
            await close_stream()

    async def close(self) -> None:
        await self.inner.close()

    # ---- latency ----------------------------------------------------------------------------------
    def latency_s(self) -> float | None:
        """Seconds an order waits before it is matched (None: fewer than MIN_ROUND_TRIPS measured)."""
        if self.fixed_latency_s is not None:
            return self.fixed_latency_s
        return statistics.median(self.round_trips) if len(self.round_trips) >= MIN_ROUND_TRIPS else None

    # ---- trading: local --------------------------------------------------------------------------
    def market_info(self, market_id: str) -> MarketInfo | None:
        """The wrapped adapter's current rules for the market (Polymarket: after a tick change),
        else the ones discovered."""
        current = getattr(self.inner, "market_info", None)
        info = current(market_id) if current is not None else None
        return info if info is not None else self.markets.get(market_id)

    async def _info(self, market_id: str) -> MarketInfo:
        current = getattr(self.inner, "market_info", None)
        if current is not None and market_id in self.markets and current(market_id) is None:
            # the adapter no longer lists it (a listing refresh dropped it: closed): as its own
            # place_order, the listing is read again, and a market still absent is refused (its
            # rules as last discovered filled it, minimums unchecked)
            await self.discover_markets()
            if current(market_id) is None:
                raise self._refuse(f"market {market_id} is no longer listed by the venue")
        info = self.market_info(market_id)
        if info is not None:
            return info
        if market_id not in self.markets:
            await self.discover_markets()
        info = self.markets.get(market_id)
        if info is None:
            raise self._refuse(f"market {market_id} not found")
        return info

    def _refuse(self, why: str) -> OrderRejected:
        self.orders_refused += 1
        return OrderRejected(f"paper {self.venue}: {why}", venue=self.venue)

    async def _check(self, req: OrderRequest, info: MarketInfo) -> Terms:
        why = self._inner_refusal(req) if callable(self._inner_refusal) else None
        if why is not None:
            raise self._refuse(why)
        if req.tif not in MATCHED_TIFS:
            raise self._refuse(f"{req.tif.value} orders are not simulated (IOC and FOK only)")
        if req.post_only:
            raise self._refuse("post-only orders are not simulated")
        if info.venue is Venue.FORECASTEX and req.action is Action.SELL:
            raise self._refuse("ForecastEx contracts are buy-only")
        if info.venue.closes_at_ends_trading and info.closes_at and self.clock() * 1000 >= utc_ms(info.closes_at):
            # the venue refuses it; its book may still show orders, and the session learns of the
            # close only at its next listing refresh
            raise self._refuse(f"market {req.market_id} closed at {info.closes_at}")
        if not on_grid(info, req.price_ticks):
            raise self._refuse(f"price {req.price_ticks} ticks is off the market's grid or bounds")
        if req.qty_lots <= 0 or req.qty_lots % info.lot_lots:
            raise self._refuse(f"quantity {req.qty_lots} lots is not a positive multiple of the lot ({info.lot_lots})")
        if req.client_order_id and self.account.knows_client_id(req.client_order_id):
            raise self._refuse(f"client order id {req.client_order_id} already used")
        if (req.action is Action.SELL and not self.account.nets
                and req.qty_lots > self.account.tokens(req.market_id, req.side)):
            # Polymarket sells outcome tokens held (the CLOB's answer for more than the balance)
            raise self._refuse("not enough balance / allowance")
        budget = self._inner_budget(req) if getattr(self, "buys_by_amount", False) else 0
        if req.action is Action.BUY:
            if budget:
                # it spends at most itself, at prices down to the lowest ask now: its fee is at most
                # the schedule's for every lot that buys there, at ½ (where p(1 − p) is largest)
                book = self.book(req.market_id)
                asks = ladder(book, info.venue, req.side, Action.BUY, True) if book is not None else ()
                most = budget // max(1, min([p for p, _ in asks[:1]] + [req.price_ticks]))
                worst = budget + order_fee(info.fees, [(TICKS_PER_DOLLAR // 2, most)]) if most else budget
            else:
                worst = req.price_ticks * req.qty_lots + order_fee(info.fees, [(req.price_ticks, req.qty_lots)])
        elif self.account.nets:
            # a netting venue (Kalshi) sells what the account holds of the side, and a sale beyond it
            # opens the other side: its collateral is 1 − p a lot (the venue refuses it past the cash)
            net = self.account.net_lots(req.market_id) * (1 if req.side is Side.YES else -1)
            opened = req.qty_lots - min(req.qty_lots, max(0, net))
            # (a sale of lots held pays its fee out of what it is paid)
            worst = opened * (TICKS_PER_DOLLAR - req.price_ticks) + order_fee(info.fees, [(req.price_ticks, req.qty_lots)]) \
                if opened else 0
        else:
            worst = 0
        cash = self.account.cash
        if worst > cash:
            raise self._refuse(f"insufficient balance: ${cash / 1e6:.2f}, the order may need ${worst / 1e6:.2f}")
        return Terms(info.venue, info.fees, info.lot_lots, budget=budget, mirrored=not info.venue.bids_only)

    async def place_order(self, req: OrderRequest) -> Order:
        info = await self._info(req.market_id)
        terms = await self._check(req, info)
        sent_ms = int(self.clock() * 1000)
        latency = self.latency_s()
        if latency is None:                 # too few measured: the wait is one round trip, measured
            await self.snapshot_book(req.market_id)
            latency = self.round_trips[-1]
        else:
            await self.sleep(latency)
        self.applied_latency_s.append(latency)
        book = self.book(req.market_id)
        reason = ""
        if book is None or not book.tradeable:
            reason = "no book" if book is None else f"book not trusted: {book.reason or 'distrusted'}"
            book = None
        if book is not None:
            taken = self._taken.get(req.market_id) or TakenDepth(info.venue)   # `book` seen (`_remember`)
            terms = dataclasses.replace(terms, taken=taken.on_ladder(req.side, req.action))
        m = match(book, terms, req.side, req.action, req.price_ticks, req.qty_lots, req.tif)
        if m.fills:                                 # (a book to fill from)
            taken.took(book, req.side, req.action, m.fills)
            self._taken[req.market_id] = taken
        matched_ms = int(self.clock() * 1000)
        order_id = (f"paper-{req.client_order_id}" if req.client_order_id
                    else f"paper-{self.venue}-{sent_ms}-{next(self._seq)}")
        self.account.add_order(
            {"venue": self.venue, "order_id": order_id, "client_order_id": req.client_order_id,
             "market_id": req.market_id, "side": req.side.label, "action": req.action.value,
             "price": req.price_ticks, "qty": req.qty_lots, "tif": req.tif.value, "status": m.status.value,
             "filled": m.filled, "cost": m.cost, "fee": m.fee, "reason": reason,
             "latency_us": int(round(latency * 1e6)), "terms": terms.to_json(),
             "book": book_to_json(book) if book is not None else [[], [], [], []],
             "sent_ms": sent_ms, "matched_ms": matched_ms},
            [{"venue": self.venue, "fill_id": f"{order_id}-{k}", "order_id": order_id,
              "client_order_id": req.client_order_id, "market_id": req.market_id, "side": req.side.label,
              "action": req.action.value, "qty": q, "price": p, "fee": fee, "ts_ms": matched_ms}
             for k, ((p, q), fee) in enumerate(zip(m.fills, m.fees))])
        self.orders_matched += 1
        if m.fills:
            self._republish(req.market_id)
        return Order(info.venue, order_id, req.client_order_id, req.market_id, req.side, req.action, req.price_ticks,
                     req.qty_lots, m.filled, 0, m.status, fees_micros=m.fee, cost_micros=m.cost)

    async def cancel_order(self, order_id: str) -> Order:
        """Paper orders never rest: nothing to cancel (NotFound, as a venue answers for a done order)."""
        raise NotFound(f"paper {self.venue}: order {order_id} is not resting", venue=self.venue)

    async def balance(self) -> Balance:
        """The paper cash, after every result recorded since was paid (`LedgerAccount.settle_recorded`)."""
        self.account.settle_recorded()
        return await self.account.balance()

    async def positions(self) -> list[Position]:
        """The paper positions, after every result recorded since was paid (as `balance`)."""
        self.account.settle_recorded()
        return await self.account.positions()

    async def order(self, order_id: str) -> Order | None:
        return await self.account.order(order_id)

    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]:
        return await self.account.orders(ticker=ticker, min_ts_ms=min_ts_ms, status=status)

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        return await self.account.fills(order_id=order_id, ticker=ticker, min_ts_ms=min_ts_ms)

    # ---- what the run summary shows ----------------------------------------------------------------
    def summary(self) -> dict:
        """Orders matched / refused here, and the latency applied (ms: p50, max)."""
        applied = sorted(self.applied_latency_s)
        return {"orders": self.orders_matched, "refused": self.orders_refused,
                "latency_ms": None if not applied else {"p50": round(applied[len(applied) // 2] * 1e3, 3),
                                                        "max": round(applied[-1] * 1e3, 3),
                                                        "source": "setting" if self.fixed_latency_s is not None
                                                        else "measured"}}


def paper_venues(venues: dict, ledger: PaperLedger, *, latency_ms: float | None = None) -> dict[str, PaperVenue]:
    """Every venue of `venues` (name → adapter) behind a `PaperVenue` on `ledger`."""
    return {name: PaperVenue(v, ledger, latency_ms=latency_ms) for name, v in venues.items()}
