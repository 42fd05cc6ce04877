"""ForecastEx (IB) review fixes, through the real `IBAsyncClient` (unchanged ib_async 2.1.0) against
the simulated TWS and against ib_async's own objects:

1. an execution IB corrects (execId "….02" for "….01") counts once, as the correction: filled
   lots, cost µ$ and fills are the order's, never doubled, and never more than the order's size;
2. a "Cancelled" that ib_async makes up from an error code that is no rejection (10349 "Order TIF
   was set to DAY based on order preset") is not final: the order's real outcome is awaited, or
   looked up (outcome unknown), while real rejections (201) stay rejections;
3. TWS's 10197 ("No market data during competing live session") puts market data down (no book
   served from the frozen tickers, the feed polls) until a market data request is answered again;
4. a snapshot quote returns as soon as its BID and ASK arrived, not at tickSnapshotEnd (sent
   ~11 s later by IB).

The seeded book of MID (scenario "forecastex", seed 1) offers YES at 0.41 × 100 contracts.
"""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from ib_async import CommissionReport, Execution, Fill, LimitOrder, OrderStatus as IBOrderStatus, Trade, TradeLogEntry

from arbbot.execution import Executor, ExecutorConfig, OrderStore
from arbbot.sim.engine.matching import HOUSE
from arbbot.sim.faults import Faults
from arbbot.sim.forecastex import TwsFaults, start_tws
from arbbot.sim.scenarios import build
from arbbot.venues.common import OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.common.errors import OutcomeUnknown, TransportError
from arbbot.venues.forecastex import connect_forecastex_venue
from arbbot.venues.forecastex.client import IBFill, IBTrade
from arbbot.venues.forecastex.costs import Executions, corrected, correction_key, order_cost
from arbbot.venues.forecastex.ib_async_client import COMPETING_PROBE_S, IBAsyncClient
from tests.sim.venue_envs import until
from tests.venues.sim_ib_client import ib_quote
from tests.venues.test_forecastex_audit_fixes import StreamedMid, opportunity, routes
from tests.venues.test_forecastex_ib_async import T0, FakeIB, opt
from tests.fx_day import MID, LOW

YES, NO = 713900002, 713900003          # MID's contracts
IOC = TimeInForce.IOC


def run(coro, limit: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


# ---- 1. execution corrections ------------------------------------------------------------------
def ib_fill(exec_id: str, shares: int, price: str, commission: str = "0") -> IBFill:
    return IBFill(exec_id, order_id=7, con_id=YES, shares=shares, price=Decimal(price),
                  commission=Decimal(commission), perm_id=900_000_001, client_id=11)


def test_a_correction_replaces_the_execution_it_corrects_in_the_cost():
    """10 contracts at $0.40, executed once and corrected once: filled 10, $4.00 (not 20, $8.00)."""
    assert correction_key("0000e0d5.65a1b2c3.01.02") == ("0000e0d5.65a1b2c3.01", 2)
    assert correction_key("no-suffix") == ("no-suffix", 0)
    t = IBTrade(7, YES, "Filled", quantity=10, filled=10, limit=Decimal("0.40"), perm_id=900_000_001, client_id=11)
    execs = [ib_fill("0000e0d5.65a1b2c3.01.01", 10, "0.40", "0.10"),
             ib_fill("0000e0d5.65a1b2c3.01.02", 10, "0.40", "0.05")]
    assert order_cost(t, Executions(execs).of(t)) == (4_000_000, 50_000, 0)      # the correction's fee
    # the correction stands for the execution, under the first version's id (stored fills keep theirs)
    assert [(f.exec_id, f.shares, f.commission) for f in corrected(execs)] == \
        [("0000e0d5.65a1b2c3.01.01", 10, Decimal("0.05"))]
    # a correction of the price: its price, whatever order the versions came in
    fixed = [ib_fill("0000e0d5.65a1b2c3.01.02", 10, "0.39"), ib_fill("0000e0d5.65a1b2c3.01.01", 10, "0.40")]
    assert order_cost(t, Executions(fixed).of(t)) == (3_900_000, 0, 0)
    # two executions (their ids differ before the final period) are both counted: 4 + 6 contracts
    t2 = IBTrade(7, YES, "Filled", quantity=10, filled=10, limit=Decimal("0.41"), perm_id=900_000_001, client_id=11)
    two = [ib_fill("0000e0d5.65a1b2c3.01.01", 4, "0.40"), ib_fill("0000e0d5.65a1b2c4.01.01", 6, "0.41")]
    assert order_cost(t2, Executions(two).of(t2)) == (4 * 400_000 + 6 * 410_000, 0, 0)


def ib_async_fill(contract, order_id: int, exec_id: str, shares: float, price: float) -> Fill:
    ex = Execution(execId=exec_id, time=T0, acctNumber="DU1", exchange="FORECASTX", side="BOT", shares=shares,
                   price=price, permId=900_000_001, clientId=11, orderId=order_id, cumQty=shares, avgPrice=price,
                   lastLiquidity=2)
    return Fill(contract, ex, CommissionReport(execId=exec_id, commission=0.0, currency="USD"), T0)


def test_ib_async_trade_with_a_correction_is_filled_once_and_never_beyond_its_size():
    async def main():
        ib = FakeIB()
        cl = IBAsyncClient(ib, quote_timeout=0.1, ack_timeout=0.1)
        c = opt(YES, 4.125, "C")
        cl.contracts[YES] = c
        order = LimitOrder("BUY", 10, 0.40, orderId=7, clientId=11, permId=900_000_001, orderRef="x1-L0E0")
        t = Trade(contract=c, order=order, orderStatus=IBOrderStatus(orderId=7, status="Filled", filled=10.0,
                                                                     remaining=0.0, permId=900_000_001))
        t.fills += [ib_async_fill(c, 7, "0000e0d5.65a1b2c3.01.01", 10, 0.40),
                    ib_async_fill(c, 7, "0000e0d5.65a1b2c3.01.02", 10, 0.40)]
        ib._trades.append(t)
        ib._fills += t.fills
        assert t.filled() == 20                                  # what ib_async itself counts
        assert cl._status(t).filled == 10
        assert [(f.exec_id, f.shares, f.price) for f in await cl.fills()] == \
            [("0000e0d5.65a1b2c3.01.01", 10, Decimal("0.40"))]
        # two distinct executions adding up past the order's 10 contracts (IB reporting one twice
        # under another id): never more filled than the order's size
        t.fills.append(ib_async_fill(c, 7, "0000e0d5.65a1b2c4.01.01", 10, 0.40))
        assert cl._status(t).filled == 10
    run(main())


def test_a_corrected_execution_through_the_adapter_counts_once():
    """TWS corrects the execution of a 10-contract IOC at $0.41: ib_async holds two fills of 10;
    the order is filled 10 for $4.10, and `fills()` lists one fill, live and after a reconnect
    (reqExecutions lists the original and its correction)."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, tws_faults=TwsFaults(correct_executions=1))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 1_000, tif=IOC, client_order_id="c-1"))
            (x,) = sim.backend.executions()
            assert sim.corrections[x.exec_id].exec_id == x.exec_id[:-3] + ".02" and x.shares == 10
            assert sorted(f.execution.execId for f in v.client.ib.fills()) == [x.exec_id, x.exec_id[:-3] + ".02"]
            assert (o.status, o.filled_lots, o.remaining_lots, o.cost_micros) == \
                (OrderStatus.FILLED, 1_000, 0, 4_100_000)
            assert [(f.fill_id, f.qty_lots, f.price_ticks) for f in await v.fills()] == [(x.exec_id, 1_000, 4100)]
            got = await v.order(o.order_id)
            assert (got.filled_lots, got.cost_micros) == (1_000, 4_100_000)
            v.client.ib.client.conn.transport.abort()              # reconnect: reqExecutions lists both
            await until(lambda: not v.client.ib.isConnected(), what="disconnect seen")
            assert [(f.fill_id, f.qty_lots) for f in await v.fills()] == [(x.exec_id, 1_000)]
            assert len(v.client.ib.fills()) == 2
            assert [(y.client_order_id, y.filled_lots, y.cost_micros) for y in await v.orders()] == \
                [("c-1", 1_000, 4_100_000)]
            await v.close()
        finally:
            await sim.stop()
    run(main())


# ---- 2. a Cancelled ib_async made up from an error code -----------------------------------------
def logged(ib_trade: Trade, *entries: tuple[str, int]) -> Trade:
    """`ib_trade` with these (status, error code) trade log entries, the last one its status."""
    for status, code in entries:
        ib_trade.log.append(TradeLogEntry(T0, status, f"Error {code}" if code else "", code))
        ib_trade.orderStatus.status = status
    return ib_trade


def test_made_up_cancel_is_not_final_and_real_rejections_and_cancels_stay():
    def trade(perm: int = 0) -> Trade:
        order = LimitOrder("BUY", 10, 0.41, orderId=7, clientId=11, permId=perm, orderRef="x1-L0E0")
        return Trade(contract=opt(YES, 4.125, "C"), order=order,
                     orderStatus=IBOrderStatus(orderId=7, status="PendingSubmit", permId=perm))

    cl = IBAsyncClient(FakeIB())
    # 10349 before TWS acknowledged the order: ib_async says Cancelled; not known yet
    t = logged(trade(), ("PendingSubmit", 0), ("Cancelled", 10349))
    assert (cl._status(t).status, cl._status(t).filled) == ("PendingSubmit", 0)
    # ... then TWS's own answers: the order works, then fills
    logged(t, ("Submitted", 0))
    assert cl._status(t).status == "Submitted"
    t.orderStatus.filled = 10.0
    logged(t, ("Filled", 0))
    assert (cl._status(t).status, cl._status(t).filled) == ("Filled", 10)
    # 10349 on an acknowledged order: it works on (TWS said Submitted last)
    t = logged(trade(900_000_001), ("PendingSubmit", 0), ("Submitted", 0), ("Cancelled", 10349))
    assert cl._status(t).status == "Submitted"
    # ... unless TWS's completed-order record (asked for since) says it ended
    cl.completed[900_000_001] = "Cancelled"
    assert cl._status(t).status == "Cancelled"
    # real rejections and cancels stay what they are
    assert cl._status(logged(trade(), ("PendingSubmit", 0), ("Cancelled", 201))).status == "Inactive"
    # TWS's cancel notice (202) alone: the order ends, but what it filled is not reported yet
    t = logged(trade(900_000_002), ("PendingSubmit", 0), ("Submitted", 0), ("Cancelled", 202))
    assert cl._status(t).status == "PendingCancel"
    assert cl._status(logged(t, ("Cancelled", 0))).status == "Cancelled"      # ... then TWS's orderStatus
    t = logged(trade(900_000_003), ("PendingSubmit", 0), ("Cancelled", 202))
    cl.completed[900_000_003] = "Cancelled"                                    # ... or its completed record
    assert cl._status(t).status == "Cancelled"
    assert cl._status(logged(trade(), ("PendingSubmit", 0), ("Cancelled", 10349), ("Cancelled", 0))).status == \
        "Cancelled"


def test_10349_on_a_new_order_then_its_real_answers_is_filled_or_resting_not_canceled():
    """TWS answers each placeOrder at once with 10349 (its order preset) and the order's own
    answers 0.5 s later: the IOC filled, the DAY order rests; neither is CANCELED with 0 filled."""
    async def main():
        sim = await start_tws(build("forecastex", 1, Faults(order_response_delay_s=0.5)), 1, step_interval=None,
                              tws_faults=TwsFaults(tif_preset_message=True))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 1_000, tif=IOC, client_order_id="p-1"))
            assert (o.status, o.filled_lots, o.remaining_lots, o.cost_micros) == \
                (OrderStatus.FILLED, 1_000, 0, 4_100_000)
            r = await v.place_order(OrderRequest(MID, Side.NO, 3000, 200, client_order_id="p-2"))
            assert (r.status, r.filled_lots, r.remaining_lots) == (OrderStatus.RESTING, 0, 200)
            assert [(x.order_ref, x.status, x.filled) for x in sim.backend.orders.values()] == \
                [("p-1", "Filled", 10), ("p-2", "Submitted", 0)]
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_10349_with_answers_later_than_the_ack_wait_is_an_unknown_outcome_the_executor_resolves(tmp_path):
    """The order's answers come after the adapter's 2 s wait: its outcome is unknown (not
    CANCELED); the executor looks it up by orderRef and finds it filled."""
    async def main():
        sim = await start_tws(build("forecastex", 1, Faults(order_response_delay_s=2.5)), 1, step_interval=None,
                              tws_faults=TwsFaults(tif_preset_message=True))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            with pytest.raises(OutcomeUnknown):
                await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="u-1"))
            assert [(x.client_order_id, x.status, x.filled_lots) for x in await v.orders()] == \
                [("u-1", OrderStatus.FILLED, 500)]                   # TWS's completed-order record
            store = OrderStore(str(tmp_path / "o.sqlite"))
            ex = Executor(store, routes(v), config=ExecutorConfig(order_timeout_s=5.0))
            res = await asyncio.wait_for(ex.execute(opportunity(500, ((MID, "YES", 4200), (LOW, "NO", 9300))),
                                                    execution_id="x1"), 30)
            assert (res.state, res.filled, ex.outcome_unknown) == ("complete", {0: 500, 1: 500}, 2)
            assert [(i.client_order_id, i.state, i.filled_qty) for i in store.intents()] == \
                [("x1-L0E0", "filled", 500), ("x1-L1E0", "filled", 500)]
            store.close()
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_a_real_rejection_after_10349_is_still_rejected():
    async def main():
        sim = await start_tws(build("forecastex", 1, Faults(order_reject_every=1)), 1, step_interval=None,
                              tws_faults=TwsFaults(tif_preset_message=True))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            t0 = time.monotonic()
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="r-1"))
            assert (o.status, o.filled_lots, o.remaining_lots) == (OrderStatus.REJECTED, 0, 0)
            assert time.monotonic() - t0 < 1.0
            await v.close()
        finally:
            await sim.stop()
    run(main())


# ---- 3. 10197: a competing session has the user's market data -----------------------------------
def test_10197_competing_session_puts_market_data_down_until_data_flows_again():
    """The user logs in to IBKR Mobile: TWS says 10197 on each subscription and streamed quotes
    freeze. The feed goes down at once, no book is served (the snapshot is refused 10197 too),
    a farm's OK (2104/2106) changes nothing; once the other session ends (unannounced) a polled
    snapshot is answered, and the books stream again, re-subscribed, following the market."""
    async def main():
        sim = await start_tws("forecastex", 3, step_interval=None)
        try:
            s = await StreamedMid.start(sim)
            v = s.v
            sim.competing_session()
            await until(lambda: not v.feed.streaming, timeout=1.0, what="feed down")
            assert v.client.market_data_down() == "IB 10197: No market data during competing live session"
            assert v.client.tickers == {}                            # frozen tickers dropped
            await asyncio.sleep(COMPETING_PROBE_S)                    # (one snapshot probe a second)
            with pytest.raises(TransportError, match="10197"):
                await v.fetch_book(MID)                              # never the frozen ticker's book
            frozen = len(s.seen)
            s.steps()
            sim.farm_ok("usfarm")
            sim.hmds_ok()                                            # no sign the other session ended
            await asyncio.sleep(0.3)
            assert len(s.seen) == frozen and not v.feed.streaming
            assert "10197" in v.client.market_data_down()
            sim.competing_session_ended()
            # the feed's next poll is the probe that finds data flowing: after the failed ones it
            # backs off (1 s, 2 s, 4 s …), so this may take several seconds
            await s.until_true("books streamed again", timeout=20.0)
            assert v.client.market_data_down() is None and len(s.seen) > frozen
            (conn,) = sim.conns                                      # subscribed again
            await until(lambda: sorted(t.con_id for t in conn.tickers.values()) == [YES, NO], what="subscribed")
            s.steps()
            await until(s.last_is_true, what="books follow")
            await s.close()
        finally:
            await sim.stop()
    run(main())


# ---- 4. snapshot quotes ----------------------------------------------------------------------------
def test_snapshot_quote_returns_with_its_bid_and_ask_not_at_the_late_tick_snapshot_end():
    """TWS sends a snapshot's ticks at once and its tickSnapshotEnd 11 s later (as IB): the
    adapter's snapshot quotes (2 s timeout) come within a fraction of a second, right; an empty
    side (price −1) counts as arrived."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, snapshot_end_s=11.0)
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            t0 = time.monotonic()
            got = [await v.client.snapshot_quote(con) for con in (YES, NO)]
            assert time.monotonic() - t0 < 1.0
            assert got == [ib_quote(sim.backend.quote(YES)), ib_quote(sim.backend.quote(NO))]
            assert got[0].bid == Decimal("0.37") and got[0].ask == Decimal("0.41")
            b = await v.snapshot_book(MID)
            assert (b.yes_bids, b.no_bids) == (((3700, 10_000),), ((5900, 10_000),))
            # a side without any order: IB's empty price (−1) answers it
            for px, lots in list(sim.backend.exchange.markets[MID].levels("yes").items()):
                sim.backend.exchange.place(HOUSE, MID, "no", "buy", 10_000 - px, lots, "ioc")
            assert sim.backend.quote(YES).bid is None
            t0 = time.monotonic()
            q = await v.client.snapshot_quote(YES)
            assert time.monotonic() - t0 < 1.0 and (q.bid, q.bid_size, q.ask) == (None, 0, Decimal("0.41"))
            assert v.client.ib.wrapper._futures                       # (the ends are still due)
            await v.close()
        finally:
            await sim.stop()
    run(main())


@pytest.mark.parametrize("lag_s", [0.3, 3.0])
def test_an_ioc_whose_cancel_notice_comes_before_its_fill_holds_the_fill(tmp_path, lag_s):
    """IB sets no order between an IOC's cancel notice (202 "Order Canceled") and the orderStatus
    and executions of what it filled; ib_async marks the order Cancelled with nothing filled on the
    notice. Leg 0 (5 YES contracts, 2 left in the book after another trader) fills 2, and the
    notice arrives first (`TwsFaults.cancel_notice_first`: the rest 0.3 s later, or 3 s, after the
    adapter's wait). Before: leg 0 was recorded canceled with nothing filled, the execution aborted,
    no safe mode, while IB held 2 unhedged contracts. Now the 2 contracts are the leg's, and the
    execution completes with 2 on each leg, as without the fault."""
    async def main():
        sim = await start_tws(build("forecastex", 1, Faults(partial_fill_lots=200)), 1, step_interval=None,
                              tws_faults=TwsFaults(cancel_notice_first=lag_s))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            store = OrderStore(str(tmp_path / "o.sqlite"))
            ex = Executor(store, routes(v), config=ExecutorConfig(order_timeout_s=5.0))
            res = await asyncio.wait_for(ex.execute(opportunity(500, ((MID, "YES", 4100), (LOW, "NO", 9300))),
                                                    execution_id="x1"), 60)
            assert (res.state, res.filled, store.safe_mode()) == ("complete", {0: 200, 1: 200}, None)
            assert [(i.client_order_id, i.state, i.filled_qty) for i in store.intents()][0] == \
                ("x1-L0E0", "partially_filled", 200)
            assert sorted(sim.backend.positions().values()) == [2, 2]     # IB holds what the store holds
            store.close()
            await v.close()
        finally:
            await sim.stop()
    run(main())
