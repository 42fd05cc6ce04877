"""ForecastEx (IB) review fixes, session 29, through the real `IBAsyncClient` (unchanged ib_async
2.1.0) against the simulated TWS, against a fake `ib_async.IB`, and through the in-process client:

1. concurrent `refresh_orders()` (a reconcile's `orders()` and an order lookup, or the resync
   after TWS's 1101) all return: one refresh at a time (ib_async files its open / completed
   orders requests under fixed names, a second one orphaned the first's answer), and an IB
   request never answered ends in TransportError after `request_timeout`, never a caller
   waiting forever;
2. a position IB reports without an exchange (as it often does for derivatives) counts when its
   symbol is a configured product or its conId qualifies to FORECASTX; another option does not;
3. a question past IB's last trade time is inactive and closes at that time; the catalog is read
   again (at most every `catalog_refresh_s`): new questions appear, unlisted ones go inactive; the
   simulator refuses an order past the last trade time (IB error 201);
4. a streaming request is read only once its own ticks came (ib_async shares one Ticker per
   contract with the snapshots): IB's refusal (101) is no longer hidden by a snapshot's values,
   and the one market without a line is polled alone while the others stream.

Scenario "forecastex", seed 1: MID's YES bid 0.37 / ask 0.41 (× 100), last trade on its expiry date
(`tests.fx_day.EXPIRY`) at 16:00 US/Central.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, time as dt_time, timedelta, timezone
from zoneinfo import ZoneInfo
from decimal import Decimal

import pytest
from ib_async import Contract, Position

from arbbot.sim.engine.matching import HOUSE
from arbbot.sim.forecastex import TwsSim, start_tws
from arbbot.sim.forecastex import tws as twsmod
from arbbot.sim.forecastex import tws_codec as wire
from arbbot.sim.forecastex.backend import FxContract
from arbbot.sim.scenarios import build
from arbbot.venues.common import OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.common.errors import RateLimited, TransportError
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient
from tests.sim.venue_envs import ManualClock, until
from tests.venues.sim_ib_client import SimIBClient
from tests.venues.test_forecastex_ib_async import FakeIB
from tests.fx_day import SIM_START_MS, FIRST, MID, LOW, EXPIRY

YES, NO = 713900002, 713900003           # MID's contracts
LOW_YES, LOW_NO = 713900004, 713900005
IOC, GTC = TimeInForce.IOC, TimeInForce.GTC


def run(coro, limit: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


# 16:00 US/Central on the questions' expiry date (tests.fx_day), and it in the venue's "closes_at" form
LAST_TRADE = datetime.combine(datetime.strptime(EXPIRY, "%Y%m%d").date(), dt_time(16), ZoneInfo("America/Chicago"))
LAST_TRADE_MS = int(LAST_TRADE.timestamp() * 1000)
LAST_TRADE_ISO = LAST_TRADE.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
NEXT_EXPIRY = (LAST_TRADE + timedelta(days=42)).strftime("%Y%m%d")      # a later question's


def summary(orders) -> list[tuple]:
    return sorted((o.client_order_id, o.market_id, o.side, o.status, o.qty_lots, o.filled_lots)
                  for o in orders)


# ---- 1. concurrent order refreshes ---------------------------------------------------------------
def test_two_concurrent_order_reads_both_return_with_the_order():
    """reconcile's venue.orders() and an order lookup at once: both return (before: one waited
    forever, its reqOpenOrders answer routed to the other), each listing the resting order."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=61)
            v = ForecastExVenue(cl, ["FF"])
            await v.discover_markets()
            o = await v.place_order(OrderRequest(MID, Side.NO, 3000, 200, tif=GTC, client_order_id="r1-L0E0"))
            assert o.status is OrderStatus.RESTING
            a = asyncio.create_task(v.orders())
            b = asyncio.create_task(v.order(o.order_id))
            done, pending = await asyncio.wait({a, b}, timeout=5)
            for t in pending:
                t.cancel()
            assert not pending, "a concurrent order read never returned"
            want = [("r1-L0E0", MID, Side.NO, OrderStatus.RESTING, 200, 0)]
            assert summary(a.result()) == want and summary([b.result()]) == want
            # three at once: one refresh runs, the second waits and runs its own (begun after both
            # later calls arrived), the third is answered by it
            before = cl._refresh_started
            await asyncio.wait_for(asyncio.gather(*(cl.refresh_orders() for _ in range(3))), 5)
            assert cl._refresh_started - before == 2
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_resync_after_1101_and_a_reconcile_at_once_both_return():
    """TWS's 1101 (data lost); the stream's next quote() resyncs (orders, positions, account) while
    the reconcile reads venue.orders(): both return, the quote live again."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=62)
            v = ForecastExVenue(cl, ["FF"])
            await v.discover_markets()
            await v.place_order(OrderRequest(MID, Side.YES, 4100, 100, tif=IOC, client_order_id="r2-L0E0"))
            await cl.quote(YES)
            sim.connectivity_lost()
            sim.connectivity_restored(data_lost=True)
            await until(lambda: cl._resync, what="1101 seen")
            st = asyncio.create_task(cl.quote(YES))
            await asyncio.sleep(0)                    # the stream's pass comes first
            rec = asyncio.create_task(v.orders())
            done, pending = await asyncio.wait({st, rec}, timeout=5)
            for t in pending:
                t.cancel()
            assert not pending, "the resync or the reconcile never returned"
            assert st.result().bid == Decimal("0.37") and st.result().ask == Decimal("0.41")
            assert summary(rec.result()) == [("r2-L0E0", MID, Side.YES, OrderStatus.FILLED, 100, 100)]
            assert not cl._resync
            assert await v.positions() and (await v.positions())[0].yes_lots == 100
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_an_ib_request_never_answered_is_a_transport_error_not_a_hang():
    """TWS never answers reqCompletedOrders: refresh_orders() raises TransportError after
    `request_timeout` (before: it waited forever); answered again, the next refresh works."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=63)
            cl.request_timeout = 0.5
            sim._handlers = dict(TwsSim._handlers)
            sim._handlers[wire.REQ_COMPLETED_ORDERS] = lambda self, conn, f: None     # never answered
            t0 = time.monotonic()
            with pytest.raises(TransportError, match="completed orders: no answer from TWS within 0.5s"):
                await asyncio.wait_for(cl.refresh_orders(), 5)
            assert 0.4 < time.monotonic() - t0 < 3
            sim._handlers[wire.REQ_COMPLETED_ORDERS] = TwsSim._handlers[wire.REQ_COMPLETED_ORDERS]
            await asyncio.wait_for(cl.refresh_orders(), 5)
            assert cl._refreshed == cl._refresh_started
            await cl.close()
        finally:
            await sim.stop()
    run(main())


# ---- 2. positions without an exchange ------------------------------------------------------------
def test_position_without_exchange_of_a_question_no_longer_listed_is_reported(monkeypatch):
    """After a restart IB sends the position with exchange "" and no longer lists its question:
    the position of a configured product is still reported (before: positions() was flat)."""
    orig = wire.position

    def position_no_exchange(account, c, pos, avg):
        f = orig(account, c, pos, avg)
        f[3 + 7] = ""                                # the contract's exchange
        return f

    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            v = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=64), ["FF"])
            await v.discover_markets()
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="p1"))
            assert o.filled_lots == 500 and sim.backend.positions() == {YES: 5}
            await v.close()
            monkeypatch.setattr(twsmod.wire, "position", position_no_exchange)
            match = sim._match
            sim._match = lambda f, i: [c for c in match(f, i) if c.con_id not in (YES, NO)] \
                if not int(f[i] or 0) else match(f, i)
            v2 = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=64), ["FF"])
            assert MID not in {m.market_id for m in await v2.discover_markets()}
            assert [(p.contract.conId, p.contract.exchange, p.position) for p in v2.client.ib.positions()] == \
                [(YES, "", 5.0)]
            assert await v2.client.positions() == {YES: 5}
            assert [(p.market_id, p.yes_lots) for p in await v2.positions()] == [(MID, 500)]
            await v2.close()
        finally:
            await sim.stop()
    run(main())


CPI_YES = 720000001


class PositionsIB(FakeIB):
    """FakeIB whose qualify-by-conId knows one ForecastEx contract of a product not configured."""

    known = {CPI_YES: Contract(secType="OPT", conId=CPI_YES, symbol="CPI", lastTradeDateOrContractMonth="20261231",
                               strike=3.5, right="C", exchange="FORECASTX", currency="USD", tradingClass="CPI",
                               localSymbol="CPI Dec31'26 3.5 YES")}

    async def qualifyContractsAsync(self, *contracts):
        self.calls.append(("qualifyContracts", tuple(c.conId for c in contracts)))
        return [self.known.get(c.conId) for c in contracts]


def test_positions_without_exchange_are_ours_by_product_or_qualified_conid_only():
    def opt(con_id, symbol, right, local, exchange=""):
        return Contract(secType="OPT", conId=con_id, symbol=symbol, lastTradeDateOrContractMonth=EXPIRY,
                        strike=4.125, right=right, exchange=exchange, currency="USD", localSymbol=local)

    async def main():
        ib = PositionsIB()
        cl = IBAsyncClient(ib)
        ForecastExVenue(cl, ["FF"])                  # the venue names its products to the client
        ib._positions = [
            Position("DU1", opt(YES, "FF", "C", "FF Dec16'26 4.125 YES"), 3.0, 0.41),       # ours: product FF
            Position("DU1", opt(555, "FF", "C", "FF    261218C00005000"), 7.0, 1.2),         # FutureFuel's option
            Position("DU1", opt(CPI_YES, "CPI", "C", "CPI Dec31'26 3.5 YES"), 2.0, 0.5),     # qualifies to FORECASTX
            Position("DU1", opt(777, "SPY", "P", "", exchange="SMART"), 1.0, 2.0),           # another exchange's
        ]
        assert await cl.positions() == {YES: 3, CPI_YES: 2}
        assert [c for c in ib.calls if c[0] == "qualifyContracts"] == \
            [("qualifyContracts", (555,)), ("qualifyContracts", (CPI_YES,))]
        assert await cl.positions() == {YES: 3, CPI_YES: 2}      # each conId asked about once
        assert len([c for c in ib.calls if c[0] == "qualifyContracts"]) == 2
        assert cl.catalog[CPI_YES].symbol == "CPI" and 555 not in cl.contracts and cl.products == {"FF"}
    run(main())


# ---- 3. last trade time, catalog refresh ---------------------------------------------------------
def test_a_question_past_its_last_trade_time_is_inactive_and_closes_then():
    ib = SimIBClient(build("forecastex", 1), 1)
    ib.exchange.clock_ms = lambda: LAST_TRADE_MS - 1
    v = ForecastExVenue(ib, ["FF"])
    ms = {m.market_id: m for m in asyncio.run(v.discover_markets())}
    assert (ms[MID].active, ms[MID].closes_at) == (True, LAST_TRADE_ISO)
    ib.exchange.clock_ms = lambda: LAST_TRADE_MS
    ms = {m.market_id: m for m in asyncio.run(v.discover_markets())}
    assert [(mid, m.active) for mid, m in sorted(ms.items())] == [(FIRST, False), (MID, False), (LOW, False)]
    assert ib.requests == 1                           # judged again without a catalog request
    o = asyncio.run(v.place_order(OrderRequest(MID, Side.YES, 4100, 100, tif=IOC)))
    assert (o.status, o.filled_lots) == (OrderStatus.REJECTED, 0)       # the simulator refuses it


def test_the_catalog_is_read_again_after_the_refresh_interval_only():
    """New questions appear and questions no longer listed go inactive at the first discovery
    after `catalog_refresh_s`; before it every call answers from the cache."""
    async def main():
        ib = SimIBClient(build("forecastex", 1), 1)
        v = ForecastExVenue(ib, ["FF"])
        v.catalog_refresh_s = 0.3                     # (default CATALOG_REFRESH_S, 10 minutes)
        first = {m.market_id for m in await v.discover_markets()}
        assert first == {FIRST, MID, LOW}
        contracts = ib.backend.contracts
        for con, right, side in ((713900010, "C", "yes"), (713900011, "P", "no")):    # next month's question
            contracts[con] = (FxContract(con, "FF", NEXT_EXPIRY, "4.125", right, long_name="Fed funds, a later meeting"),
                              MID, side)
        gone = {con: contracts.pop(con) for con in (LOW_YES, LOW_NO)}                   # LOW no longer listed
        for _ in range(3):
            assert {m.market_id for m in await v.discover_markets()} == first
        assert ib.requests == 1
        await asyncio.sleep(0.35)
        ms = {m.market_id: m for m in await v.discover_markets()}
        assert ib.requests == 2
        assert {mid: m.active for mid, m in ms.items()} == \
            {FIRST: True, MID: True, LOW: False, f"FF-{NEXT_EXPIRY}-4.125": True}
        assert ms[f"FF-{NEXT_EXPIRY}-4.125"].yes_token == "713900010"
        assert v._cons(LOW) == (LOW_YES, LOW_NO)      # still named (orders, positions)
        assert {c.con_id for c in v.contracts} == {713900000, 713900001, YES, NO, 713900010, 713900011}
        contracts.update(gone)                        # listed again: active again
        await asyncio.sleep(0.35)
        assert (await v.discover_markets()) and v.markets[LOW].active and ib.requests == 3
    run(main())


def test_ib_last_trade_time_from_contract_details_and_the_sim_refuses_orders_after_it():
    """Through TWS: the contract details carry "<EXPIRY> 16:00:00 US/Central"; an order one
    second before fills, one at the last trade time is refused (IB error 201), and the market is
    inactive at the next discovery."""
    async def main():
        clock = ManualClock(LAST_TRADE_MS - 1000)
        sim = await start_tws("forecastex", 1, step_interval=None, start_ms=SIM_START_MS, clock_ms=clock)
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=65, wall_ms=clock)
            v = ForecastExVenue(cl, ["FF"])
            ms = {m.market_id: m for m in await v.discover_markets()}
            assert cl.catalog[YES].last_trade_ms == cl.catalog[NO].last_trade_ms == LAST_TRADE_MS
            assert (ms[MID].active, ms[MID].closes_at) == (True, LAST_TRADE_ISO)
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 100, tif=IOC, client_order_id="t1"))
            assert (o.status, o.filled_lots) == (OrderStatus.FILLED, 100)
            clock.ms = LAST_TRADE_MS
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 100, tif=IOC, client_order_id="t2"))
            assert (o.status, o.filled_lots) == (OrderStatus.REJECTED, 0)
            (t,) = [t for t in cl.ib.trades() if t.order.orderRef == "t2"]
            assert [(e.errorCode, e.message.split(": ", 1)[1]) for e in t.log if e.errorCode] == \
                [(201, "Order rejected - reason:the contract is past its last trade time and no longer trades")]
            assert v.markets[MID].active                  # as judged at the last discovery
            assert {m.market_id: m.active for m in await v.discover_markets()}[MID] is False
            await v.close()
        finally:
            await sim.stop()
    run(main())


# ---- 4. market data lines ------------------------------------------------------------------------
def test_a_stream_refused_after_a_snapshot_is_refused_not_the_snapshots_old_quote():
    """The account's one line is in use; a snapshot of YES filled ib_async's shared Ticker, then
    the book moved: the streaming request IB refuses (101) is a RateLimited, not the snapshot's
    old 0.37 as a live quote; with a line free the stream's own fresh 0.39 is read."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, snapshot_end_s=0.2)
        try:
            sim.market_data_lines = 1
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=66)
            await cl.quote(LOW_YES)                  # the account's only line
            assert (await cl.snapshot_quote(YES)).bid == Decimal("0.37")
            await asyncio.sleep(0.3)                  # the snapshot is over
            sim.backend.exchange.place(HOUSE, MID, "yes", "buy", 3900, 5000, "gtc")
            sim._flush()
            with pytest.raises(RateLimited, match="conId 713900002 .IB error 101: Max number of tickers"):
                await cl.quote(YES)
            assert YES not in cl.tickers and not cl.refused
            sim.market_data_lines = 2
            q = await cl.quote(YES)
            assert (q.bid, q.bid_size, q.ask) == (Decimal("0.39"), 50, Decimal("0.41"))
            await cl.close()
        finally:
            await sim.stop()
    run(main())


def test_an_accepted_stream_after_a_snapshot_reads_its_own_fresh_ticks():
    """A line free: the stream's first read waits for its own ticks (0.39 after the book moved),
    not the values an earlier snapshot left on the shared Ticker (0.37)."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, snapshot_end_s=0.2)
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=67)
            assert (await cl.snapshot_quote(YES)).bid == Decimal("0.37")
            await asyncio.sleep(0.3)
            sim.backend.exchange.place(HOUSE, MID, "yes", "buy", 3900, 5000, "gtc")
            q = await cl.quote(YES)
            assert (q.bid, q.bid_size) == (Decimal("0.39"), 50)
            await cl.close()
        finally:
            await sim.stop()
    run(main())


def test_the_market_without_a_line_is_polled_alone_while_the_others_stream():
    """5 lines for 3 markets (6 contracts): two markets stream, the third (its NO refused) is
    polled alone, its YES line freed, no failed pass; lines freed, it streams again."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=0.2)
        try:
            sim.market_data_lines = 5
            v = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=68), ["FF"], poll_s=0.1)
            v.line_retry_s = 0.5                      # (default LINE_RETRY_S, 30 s)
            mids = [m.market_id for m in await v.discover_markets()]
            assert mids == [FIRST, MID, LOW]
            books: dict[str, list] = {}

            async def consume():
                async for u in v.stream_books(mids):
                    books.setdefault(u.book.market.id, []).append(u.book.tradeable)
            task = asyncio.create_task(consume())
            await until(lambda: v.feed is not None and v.feed.polls(LOW), what="LOW polled")
            await asyncio.sleep(1.0)
            assert v.stream_errors == 0
            assert [v.feed.polls(m) for m in mids] == [False, False, True]
            assert sorted(v.client.tickers) == [713900000, 713900001, YES, NO]    # LOW's YES line freed
            assert sorted(len(c.tickers) for c in sim.conns) == [4]
            assert all(books[m][-1] for m in mids)    # every market's latest book tradeable
            assert (await v.fetch_book(LOW)).tradeable
            sim.market_data_lines = 6                 # a line freed elsewhere
            await until(lambda: not v.feed.polls(LOW), timeout=5, what="LOW streamed again")
            assert v.feed.streaming and sorted(v.client.tickers) == [713900000, 713900001, YES, NO, LOW_YES, LOW_NO]
            assert v.stream_errors == 0
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await v.close()
        finally:
            await sim.stop()
    run(main())
