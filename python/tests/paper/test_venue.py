"""`PaperVenue`: market data from the wrapped adapter, orders filled locally after the latency
against the book as it is then, the ledger answering every trading method; the wrapped
adapter's trading methods are never called."""
from __future__ import annotations

import asyncio

import pytest

from arbbot.execution.reconcile import rematch_paper_orders
from arbbot.execution.store import OrderStore
from arbbot.model import Book, FeeSchedule, MarketId, MarketInfo, Side, Venue
from arbbot.paper import PaperLedger, PaperVenue
from arbbot.run.live import pack
from arbbot.venues.common.errors import NotFound, OrderRejected
from arbbot.venues.common.model import Action, BookUpdate, OrderRequest, OrderStatus, PackedBookUpdate, TimeInForce
from tests.paper.test_fills import KALSHI_BOOK

START = 1_000_000_000                                       # µ$: $1,000 of paper cash
K = MarketId(Venue.KALSHI, "K")
INFO = MarketInfo(Venue.KALSHI, "K", "K?", fees=FeeSchedule(taker_rate_ppm=70_000, rounding=10_000), lot_lots=100)
# after the change: YES asks 4,200 × 100, 4,300 × 200
CHANGED = Book(no_bids=((5_800, 100), (5_700, 200)), market=K)


class DataOnly:
    """A venue adapter serving market data; its trading methods record the call and fail."""

    def __init__(self, info: MarketInfo = INFO, venue: str = "kalshi") -> None:
        self.venue, self.info = venue, info
        self.rest_book = Book(no_bids=((5_800, 1_000),), market=info.id)
        self.queue: asyncio.Queue = asyncio.Queue()
        self.fetches = 0
        self.trading_calls: list[str] = []
        self.closed = False

    async def discover_markets(self):
        return [self.info]

    async def discover_events(self):
        return []

    def listing_bodies(self):
        return [{"listing": self.info.market_id}]

    async def fetch_book(self, market_id):
        self.fetches += 1
        return self.rest_book

    async def stream_books(self, market_ids, *, on_update=None):
        while True:
            update = await self.queue.get()
            if on_update is not None:
                on_update(update)
            yield update

    async def close(self):
        self.closed = True


def _trading(name):
    async def call(self, *args, **kwargs):
        self.trading_calls.append(name)
        raise AssertionError(f"{name} reached the venue")
    return call


for _name in ("place_order", "cancel_order", "balance", "positions", "order", "orders", "fills"):
    setattr(DataOnly, _name, _trading(_name))


@pytest.fixture
def ledger(tmp_path):
    store = OrderStore(str(tmp_path / "paper.db"))
    store.claim_trading_mode("paper")
    yield PaperLedger(store, START)
    store.close()


def buy(qty: int, price: int, coid: str, tif=TimeInForce.IOC, side=Side.YES, action=Action.BUY) -> OrderRequest:
    return OrderRequest("K", side, price, qty, action=action, tif=tif, client_order_id=coid)


async def _nap(_seconds) -> None:
    return None


async def on_kalshi_book(ledger) -> tuple[DataOnly, PaperVenue]:
    """A paper venue with no latency over a data-only adapter, KALSHI_BOOK as market K's book."""
    inner = DataOnly()
    paper = PaperVenue(inner, ledger, latency_ms=0, sleep=_nap)
    await paper.discover_markets()
    paper.books["K"] = KALSHI_BOOK
    return inner, paper


async def _pump(paper: PaperVenue, seen: list, event: asyncio.Event) -> None:
    async for update in paper.stream_books(["K"]):
        seen.append(update.book)
        event.set()


def _trade_while(ledger, change_during_latency: bool):
    """Stream KALSHI_BOOK, then buy 10 YES at ≤ 43¢ with a 50 ms latency, during which the book
    changes to CHANGED (or does not)."""
    inner = DataOnly()
    slept: list[float] = []

    async def main():
        seen, arrived = [], asyncio.Event()

        async def sleep(seconds):
            slept.append(seconds)
            if change_during_latency:
                arrived.clear()
                await inner.queue.put(BookUpdate(CHANGED))
                await arrived.wait()                     # the session's stream applied it meanwhile
        paper = PaperVenue(inner, ledger, latency_ms=50, sleep=sleep)
        await paper.discover_markets()
        pump = asyncio.create_task(_pump(paper, seen, arrived))
        await inner.queue.put(BookUpdate(KALSHI_BOOK))
        await arrived.wait()
        order = await paper.place_order(buy(1_000, 4_300, "x-L0E0"))
        pump.cancel()
        return paper, order, await paper.fills(order_id=order.order_id)
    paper, order, fills = asyncio.run(main())
    assert slept == [0.05] and inner.trading_calls == []
    return paper, order, fills


def test_the_order_matches_the_book_as_it_is_after_the_latency(ledger):
    _, order, fills = _trade_while(ledger, change_during_latency=False)
    assert (order.status, order.filled_lots, order.cost_micros, order.fees_micros) == (
        OrderStatus.FILLED, 1_000, 4_270_000, 180_000)
    assert [(f.price_ticks, f.qty_lots, f.fee_micros) for f in fills] == [(4_200, 300, 60_000), (4_300, 700, 120_000)]


def test_a_book_change_during_the_latency_changes_the_fill(ledger):
    _, order, fills = _trade_while(ledger, change_during_latency=True)
    # 70,000 × (100·4,200·5,800 + 200·4,300·5,700) = 5.1366e14 → $0.06; the first fill alone → $0.02
    assert (order.status, order.filled_lots, order.cost_micros, order.fees_micros) == (
        OrderStatus.CANCELED, 300, 420_000 + 860_000, 60_000)
    assert [(f.price_ticks, f.qty_lots, f.fee_micros) for f in fills] == [(4_200, 100, 20_000), (4_300, 200, 40_000)]
    row = ledger.store.paper_orders("kalshi")[0]
    assert row["book"] == [[], [], [[5_800, 100], [5_700, 200]], []] and row["latency_us"] == 50_000


def measured(ledger, ticks: list[float]) -> tuple[DataOnly, list[float], PaperVenue]:
    """A paper venue on the measured latency: its REST round trips timed by `ticks` (timer
    readings, in order), every wait it asks for recorded in `slept` instead of slept."""
    inner, slept, timer = DataOnly(), [], iter(ticks)

    async def sleep(seconds):
        slept.append(seconds)
    return inner, slept, PaperVenue(inner, ledger, sleep=sleep, timer=lambda: next(timer))


def test_the_measured_latency_is_the_median_rest_round_trip(ledger):
    inner, slept, paper = measured(ledger, [0.0, 0.010, 1.0, 1.030, 2.0, 2.020])   # round trips of 10, 30, 20 ms

    async def main():
        await paper.discover_markets()
        assert paper.latency_s() is None
        for _ in range(3):
            await paper.fetch_book("K")
        await paper.place_order(buy(100, 4_200, "m-L0E0"))
    asyncio.run(main())
    assert slept == [pytest.approx(0.020)] and inner.fetches == 3
    assert paper.summary()["latency_ms"] == {"p50": 20.0, "max": 20.0, "source": "measured"}


def test_until_three_round_trips_are_measured_an_order_waits_for_one(ledger):
    inner, slept, paper = measured(ledger, [5.0, 5.004])

    async def main():
        await paper.discover_markets()
        return await paper.place_order(buy(100, 4_200, "f-L0E0"))
    order = asyncio.run(main())
    assert inner.fetches == 1 and slept == []                              # the fetch was the wait
    assert ledger.store.paper_orders()[0]["latency_us"] == 4_000
    assert (order.filled_lots, order.cost_micros) == (100, 420_000)        # the REST book: YES asks 4,200 × 1,000


class CachedTicker(DataOnly):
    """IB's adapter: `fetch_book` of a streamed market reads its local ticker (no request: 0.1 ms
    on `now`), its `snapshot_book` asks TWS (the next of `delays`, seconds on `now`)."""

    def __init__(self, now: list[float], delays: list[float]) -> None:
        super().__init__()
        self.now, self.delays, self.snapshots = now, iter(delays), 0

    async def fetch_book(self, market_id):
        self.now[0] += 0.0001
        return await super().fetch_book(market_id)

    async def snapshot_book(self, market_id):
        self.snapshots += 1
        self.now[0] += next(self.delays)
        return self.rest_book


def test_an_ib_order_waits_for_a_snapshot_round_trip_not_a_ticker_read(ledger):
    """Before, paper on ForecastEx timed IB's `fetch_book`, a local ticker read (0.1 ms measured in
    a run, against 7 ms for Kalshi over the same loopback): every ForecastEx leg filled at the very
    quote it was decided on, and the sizer learnt a latency of nothing. Now ticker reads are not
    round trips; an order's first waits are snapshots (a request to TWS), timed."""
    now, slept = [0.0], []
    inner = CachedTicker(now, [0.040, 0.050, 0.060])

    async def sleep(seconds):
        slept.append(seconds)
    paper = PaperVenue(inner, ledger, sleep=sleep, timer=lambda: now[0])

    async def main():
        await paper.discover_markets()
        for _ in range(3):
            await paper.fetch_book("K")
        assert paper.latency_s() is None                                  # ticker reads are no samples
        for k in range(4):
            await paper.place_order(buy(100, 4_200, f"ib{k}-L0E0"))
    asyncio.run(main())
    assert (inner.fetches, inner.snapshots) == (3, 3)
    assert slept == [pytest.approx(0.050)]                                # the 4th order: the median
    assert [o["latency_us"] for o in ledger.store.paper_orders()] == [40_000, 50_000, 60_000, 50_000]


def test_the_ledger_answers_every_trading_method_and_outlives_the_process(ledger):
    async def main():
        inner, paper = await on_kalshi_book(ledger)
        bought = await paper.place_order(buy(1_000, 4_300, "a-L0E0"))
        sold = await paper.place_order(buy(500, 4_000, "a-L0U0", action=Action.SELL))
        return inner, paper, bought, sold
    inner, paper, bought, sold = asyncio.run(main())
    # bought 10 YES for $4.27 + $0.18, sold 5 at 40¢ for $2.00 − fee (70,000 × 500·4,000·6,000 → $0.09)
    assert (sold.status, sold.filled_lots, sold.cost_micros, sold.fees_micros) == (OrderStatus.FILLED, 500, 2_000_000,
                                                                                   90_000)

    async def read(venue):
        return (await venue.balance(), await venue.positions(), await venue.orders(ticker="K"),
                await venue.orders(status="resting"), await venue.order(bought.order_id), await venue.fills())
    for venue in (paper, PaperVenue(DataOnly(), PaperLedger(ledger.store, 1))):      # a restart: same ledger
        balance, positions, orders, resting, one, fills = asyncio.run(read(venue))
        assert balance.cash_micros == START - 4_270_000 - 180_000 + 2_000_000 - 90_000
        assert [(p.market_id, p.yes_lots, p.fees_paid_micros) for p in positions] == [("K", 500, 270_000)]
        assert [o.client_order_id for o in orders] == ["a-L0E0", "a-L0U0"] and resting == []
        assert one == bought and len(fills) == 3
    assert inner.trading_calls == []
    assert rematch_paper_orders(ledger.store.paper_orders(), ledger.store.paper_fills()) == []
    tampered = [dict(f, fee=f["fee"] + 1) if f["fill_id"].endswith("-1") else f for f in ledger.store.paper_fills()]
    diffs = rematch_paper_orders(ledger.store.paper_orders(), tampered)
    assert [(d["what"], d["id"]) for d in diffs] == [("fill engine", bought.order_id)]


def test_orders_a_venue_would_refuse_are_refused(ledger):
    forecastex = MarketInfo(Venue.FORECASTEX, "F", "F?", fees=FeeSchedule(per_contract=10_000), lot_lots=100)

    async def nap(_seconds):
        return None

    async def main():
        paper = PaperVenue(DataOnly(), ledger, latency_ms=0, sleep=nap)
        await paper.discover_markets()
        paper.books["K"] = KALSHI_BOOK
        out = []
        for req in (buy(100, 4_300, "g", tif=TimeInForce.GTC), buy(100, 4_250, "t"), buy(150, 4_300, "l"),
                    buy(100, 4_300, "dup"), buy(100, 4_300, "dup"), buy(3_000_000, 4_300, "cash"),
                    OrderRequest("NOPE", Side.YES, 4_300, 100, tif=TimeInForce.IOC, client_order_id="n")):
            try:
                await paper.place_order(req)
                out.append("ok")
            except OrderRejected as exc:
                out.append(str(exc))
        with pytest.raises(NotFound):
            await paper.cancel_order("paper-dup")
        fx = PaperVenue(DataOnly(forecastex, "forecastex"), ledger, latency_ms=0, sleep=nap)
        await fx.discover_markets()
        with pytest.raises(OrderRejected, match="buy-only"):
            await fx.place_order(OrderRequest("F", Side.YES, 3_000, 100, action=Action.SELL, tif=TimeInForce.IOC))
        return out, paper
    out, paper = asyncio.run(main())
    assert out == ["paper kalshi: gtc orders are not simulated (IOC and FOK only)",
                   "paper kalshi: price 4250 ticks is off the market's grid or bounds",
                   "paper kalshi: quantity 150 lots is not a positive multiple of the lot (100)",
                   "ok", "paper kalshi: client order id dup already used",
                   # $1,000 − (1 YES at 42¢ + $0.02 fee); 30,000 × 43¢ + 7% × 30,000 × 0.43 × 0.57 = $514.71
                   "paper kalshi: insufficient balance: $999.56, the order may need $13414.71",
                   "paper kalshi: market NOPE not found"]
    assert paper.summary()["orders"] == 1 and paper.summary()["refused"] == 6


def test_a_distrusted_book_fills_nothing(ledger):
    async def nap(_seconds):
        return None

    async def main():
        paper = PaperVenue(DataOnly(), ledger, latency_ms=0, sleep=nap)
        await paper.discover_markets()
        paper.books["K"] = Book(KALSHI_BOOK.yes_bids, (), KALSHI_BOOK.no_bids, (), market=K, tradeable=False,
                                reason="sequence gap")
        return await paper.place_order(buy(100, 4_300, "d-L0E0"))
    order = asyncio.run(main())
    assert (order.status, order.filled_lots) == (OrderStatus.CANCELED, 0)
    assert ledger.store.paper_orders()[0]["reason"] == "book not trusted: sequence gap"


def test_the_book_is_remembered_as_received_before_the_feed_coalesces_it(ledger):
    """A feed hands the session only the newest book of a market it is slow to read; the paper
    venue remembers each book as the adapter receives it (the `on_update` tap), so an order
    matches what the venue shows now, not what the session has read so far."""
    class Coalescing(DataOnly):
        async def stream_books(self, market_ids, *, on_update=None):
            first = await self.queue.get()
            on_update(first)
            yield first
            while True:                      # later books are tapped, then wait in the coalescing queue
                on_update(await self.queue.get())

    sampled = []

    async def nap(_seconds):
        return None

    async def main():
        inner = Coalescing()
        paper = PaperVenue(inner, ledger, latency_ms=0, sleep=nap)
        await paper.discover_markets()
        stream = paper.stream_books(["K"], on_update=lambda u: sampled.append(u.book))
        await inner.queue.put(BookUpdate(KALSHI_BOOK))
        assert (await stream.__anext__()).book == KALSHI_BOOK
        pending = asyncio.create_task(stream.__anext__())       # the reader: nothing more is yielded
        await inner.queue.put(BookUpdate(CHANGED))
        while len(sampled) < 2:
            await asyncio.sleep(0)
        order = await paper.place_order(buy(1_000, 4_300, "c-L0E0"))
        pending.cancel()
        return order
    order = asyncio.run(main())
    assert sampled == [KALSHI_BOOK, CHANGED]                  # the session's samples still see every book
    assert (order.filled_lots, order.cost_micros) == (300, 420_000 + 860_000)   # CHANGED's depth


def test_paper_orders_consume_the_book_they_take_from_across_book_updates(ledger):
    """Two paper buys on one book never take the same level twice; a new book showing the same
    levels (the venue never saw the paper orders) gives nothing back; the re-match of every order
    (what `arbbot reconcile` does) agrees."""
    async def main():
        _, paper = await on_kalshi_book(ledger)          # YES asks 4,200 × 300, 4,300 × 1,000, 4,500 × 2,000
        first = await paper.place_order(buy(1_000, 4_300, "c-L0E0"))
        second = await paper.place_order(buy(1_000, 4_300, "c-L1E0"))
        sold = await paper.place_order(buy(500, 4_000, "c-L1U0", action=Action.SELL))   # bids: not taken by buys
        third = await paper.place_order(buy(100, 4_300, "c-L2E0"))
        paper.books["K"] = KALSHI_BOOK.__class__(*KALSHI_BOOK.sides(), market=K)        # a new book (equal)
        fourth = await paper.place_order(buy(400, 4_200, "c-L3E0"))
        return first, second, sold, third, fourth
    first, second, sold, third, fourth = asyncio.run(main())
    assert [(f.filled_lots, f.cost_micros) for f in (first, second)] == [
        (1_000, 300 * 4_200 + 700 * 4_300), (300, 300 * 4_300)]      # what the first left at ≤ 43¢
    assert second.status is OrderStatus.CANCELED and sold.filled_lots == 500
    assert (third.filled_lots, third.status) == (0, OrderStatus.CANCELED)       # nothing left at ≤ 43¢
    assert (fourth.filled_lots, fourth.status) == (0, OrderStatus.CANCELED)     # 42¢ still taken
    rows = ledger.store.paper_orders("kalshi")
    assert [r["terms"].get("taken") for r in rows] == [None, [[4_200, 300], [4_300, 700]], None,
                                                        [[4_200, 300], [4_300, 1_000]],
                                                        [[4_200, 300], [4_300, 1_000]]]
    assert rematch_paper_orders(rows, ledger.store.paper_fills("kalshi")) == []


# ---- a replay's packed updates ----------------------------------------------------------------

def _packed(book: Book, at_ms: int = 0) -> PackedBookUpdate:
    return PackedBookUpdate(book.market, str(book.market), pack(book), book.tradeable, book.reason, at_ms)


def test_a_packed_update_is_its_book_built_once_when_read():
    update = _packed(KALSHI_BOOK, 7)
    assert update._book is None                                      # nothing built yet
    assert update.book == KALSHI_BOOK and update.book is update.book
    assert (update.name, update.recv_ts_ms, list(update.packed[:4])) == ("kalshi:K", 7, [2, 0, 3, 0])
    distrusted = Book(yes_asks=((100, 1),), no_asks=((9_900, 2), (9_950, 3)), market=K, tradeable=False,
                      reason="sequence gap")
    assert _packed(distrusted).book == distrusted
    assert _packed(Book(market=K)).book == Book(market=K)


def test_packed_updates_fill_and_are_consumed_as_books_are(ledger):
    """Streamed packed: the paper venue keeps the update (no Book built) until an order reads it;
    orders on one update consume its levels, a new update (equal) gives nothing back: the fills of
    `test_paper_orders_consume_the_book_they_take_from_across_book_updates`."""
    async def main():
        inner = DataOnly()
        paper = PaperVenue(inner, ledger, latency_ms=0, sleep=_nap)
        await paper.discover_markets()
        seen, arrived = [], asyncio.Event()

        async def pump():
            async for update in paper.stream_books(["K"]):
                seen.append(update)
                arrived.set()
        task = asyncio.create_task(pump())
        first_update = _packed(KALSHI_BOOK)
        await inner.queue.put(first_update)
        await arrived.wait()
        kept_lazily = paper.books["K"] is first_update and first_update._book is None
        first = await paper.place_order(buy(1_000, 4_300, "p-L0E0"))
        second = await paper.place_order(buy(1_000, 4_300, "p-L1E0"))
        arrived.clear()
        await inner.queue.put(_packed(KALSHI_BOOK))
        await arrived.wait()
        third = await paper.place_order(buy(400, 4_200, "p-L2E0"))
        task.cancel()
        return kept_lazily, first, second, third
    kept_lazily, first, second, third = asyncio.run(main())
    assert kept_lazily
    assert [(o.filled_lots, o.cost_micros) for o in (first, second, third)] == [
        (1_000, 300 * 4_200 + 700 * 4_300), (300, 300 * 4_300), (0, 0)]


def test_paper_over_polymarket_spends_what_the_adapter_signs_and_fills_what_it_buys(ledger):
    """A paper venue over the Polymarket adapter (a market on a 0.01 tick, no fee, its YES asks 500
    lots at 0.45 and 1,000 at 0.48) buys like the CLOB: a FAK BUY of 1,000 lots at 0.48 spends the
    maker amount the adapter signs. Priced on the book ($4.65), 1,000 lots; with no `spend_micros`
    ($4.80), 1,031 lots (filled, 31 beyond its size); the rematch of the ledger agrees."""
    from arbbot.venues.polymarket.config import PolymarketConfig
    from arbbot.venues.polymarket.venue import PolymarketVenue

    poly = PolymarketVenue(PolymarketConfig(private_key="0x" + "3c" * 32))
    infos = [MarketInfo(Venue.POLYMARKET, m, m, fees=FeeSchedule(), lot_lots=1, tick_ticks=100, yes_token=m + "1",
                        no_token=m + "2") for m in ("P", "Q")]
    poly.provider.markets.update((i.market_id, i) for i in infos)

    async def discover():
        return infos
    poly.discover_markets = discover

    async def main():
        paper = PaperVenue(poly, ledger, latency_ms=0, sleep=_nap)
        await paper.discover_markets()
        got = []
        for market, spend in (("P", 500 * 4_500 + 500 * 4_800), ("Q", 0)):     # a market each: the same book
            paper.books[market] = Book(yes_asks=((4_500, 500), (4_800, 1_000)), no_bids=((5_500, 500), (5_200, 1_000)),
                                       market=MarketId(Venue.POLYMARKET, market))
            got.append(await paper.place_order(OrderRequest(market, Side.YES, 4_800, 1_000, tif=TimeInForce.IOC,
                                                            client_order_id=market, spend_micros=spend)))
        return paper, got
    paper, (priced, limit) = asyncio.run(main())
    assert paper.buys_by_amount is True
    assert (priced.status, priced.filled_lots, priced.cost_micros) == (OrderStatus.FILLED, 1_000, 4_650_000)
    assert (limit.status, limit.filled_lots, limit.cost_micros) == (OrderStatus.FILLED, 1_031, 4_798_800)
    store = ledger.store
    assert rematch_paper_orders(store.paper_orders("polymarket"), store.paper_fills("polymarket")) == []


def test_a_kalshi_sale_beyond_the_lots_held_needs_the_other_sides_collateral(ledger):
    """On Kalshi a sale of YES lots not held opens NO lots: (1 − p) a lot of cash, which the venue
    refuses past the balance; a sale of the lots held needs none (it pays its fee from what it is
    paid)."""
    async def main():
        inner, paper = await on_kalshi_book(ledger)
        out = []
        for req in (buy(1_000, 4_300, "b"),                              # 10 YES held
                    buy(3_000_000, 3_900, "s1", action=Action.SELL),     # opens 29,990 NO at 61¢
                    buy(500, 4_000, "s2", action=Action.SELL),           # 5 of the 10 held
                    buy(1_000, 3_900, "s3", action=Action.SELL)):        # 5 held, 5 opened (61¢ each)
            try:
                order = await paper.place_order(req)
                out.append((order.status, order.filled_lots))
            except OrderRejected as exc:
                out.append(str(exc))
        return out
    out = asyncio.run(main())
    # $1,000 − $4.27 − $0.18 fee; 2,999,000 lots × 61¢ + 7% × 30,000 × 0.39 × 0.61 ($499.59) = $18,793.49
    assert out == [(OrderStatus.FILLED, 1_000),
                   "paper kalshi: insufficient balance: $995.55, the order may need $18793.49",
                   (OrderStatus.FILLED, 500), (OrderStatus.FILLED, 1_000)]
