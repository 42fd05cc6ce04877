"""`IBAsyncClient` (the real ForecastEx client) against a fake `ib_async.IB`.

The fake records every call and answers with ib-async's own objects (`Contract`,
`ContractDetails`, `Ticker`, `Trade`, `OrderStatus`, `Fill`, `Execution`, `CommissionReport`,
`Position`, `AccountValue`), so the client is exercised on the library's real data classes.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from ib_async import (
    AccountValue, CommissionReport, Contract, ContractDetails, Execution, Fill, LimitOrder, OrderStatus,
    Position, RequestError, Ticker, Trade,
)

from arbbot.venues.common import (
    Action, OrderRejected, OrderRequest, OrderStatus as OS, RateLimited, Side, TimeInForce, VenueClient,
)
from arbbot.engine import order_fee
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient, Pacer, dollars
from tests.fx_day import MID, LOW, EXPIRY

STRIKES = {4.125: (713900002, 713900003), 4.375: (713900004, 713900005)}
T0 = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.timezone.utc)


def opt(con_id: int, strike: float, right: str) -> Contract:
    return Contract(secType="OPT", conId=con_id, symbol="FF", lastTradeDateOrContractMonth=EXPIRY,
                    strike=strike, right=right, exchange="FORECASTX", currency="USD", tradingClass="FF",
                    localSymbol=f"FF Dec16'26 {strike} {'YES' if right == 'C' else 'NO'}")


class FakeIB:
    """An `ib_async.IB`-shaped object: the methods IBAsyncClient calls, recording each call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.pacing_errors = 0
        self.all = {c: opt(c, k, r) for k, cs in STRIKES.items() for c, r in zip(cs, "CP")}
        self.quotes = {  # conId → (bid, bidSize, ask, askSize); YES/NO priced at $1.01 the pair
            713900002: (0.37, 100.0, 0.44, 80.0), 713900003: (0.57, 80.0, 0.64, 100.0),
            713900004: (0.20, 50.0, 0.79, 10.0), 713900005: (0.21, 10.0, 0.80, 50.0)}
        self.tickers: dict[int, Ticker] = {}
        self._trades: list[Trade] = []
        self._fills: list[Fill] = []
        self._positions: list[Position] = []
        self.next_id = 100
        self.connected = True

    async def reqContractDetailsAsync(self, contract: Contract) -> list[ContractDetails]:
        self.calls.append(("reqContractDetails", contract))
        if self.pacing_errors:
            self.pacing_errors -= 1
            raise RequestError(7, 162, "Historical Market Data Service error message:API pacing violation")
        return [ContractDetails(contract=opt(c.conId, c.strike, c.right), longName=f"Fed funds above {c.strike}%",
                                minTick=0.01) for c in self.all.values() if c.symbol == contract.symbol]

    async def qualifyContractsAsync(self, *contracts: Contract) -> list:
        self.calls.append(("qualifyContracts", contracts))
        out = []
        for q in contracts:
            m = [c for c in self.all.values() if c.conId == q.conId or
                 (q.conId == 0 and (c.symbol, c.strike, c.right, c.lastTradeDateOrContractMonth)
                  == (q.symbol, q.strike, q.right, q.lastTradeDateOrContractMonth))]
            out.append(opt(m[0].conId, m[0].strike, m[0].right) if len(m) == 1 else None)
        return out

    def reqMktData(self, contract, genericTickList="", snapshot=False, regulatorySnapshot=False, mktDataOptions=()):
        self.calls.append(("reqMktData", contract.conId, genericTickList, snapshot, regulatorySnapshot))
        b, bs, a, asz = self.quotes[contract.conId]
        t = Ticker(contract=contract)            # created empty, like ib-async's wrapper does
        t.bid, t.bidSize, t.ask, t.askSize = b, bs, a, asz   # ... then filled by the first ticks
        self.tickers[contract.conId] = t
        return t

    def cancelMktData(self, contract):
        self.calls.append(("cancelMktData", contract.conId))
        return True

    def placeOrder(self, contract, order):
        self.calls.append(("placeOrder", contract, order))
        self.next_id += 1
        order.orderId = self.next_id
        yes_no = self.quotes[contract.conId]
        ask = yes_no[2]
        fill_qty = order.totalQuantity if order.lmtPrice >= ask - 1e-9 else 0.0
        status = "Filled" if fill_qty == order.totalQuantity else ("Cancelled" if order.tif == "IOC" else "Submitted")
        t = Trade(contract=contract, order=order,
                  orderStatus=OrderStatus(orderId=order.orderId, status=status, filled=fill_qty,
                                          remaining=order.totalQuantity - fill_qty, avgFillPrice=ask if fill_qty else 0.0))
        if fill_qty:
            ex = Execution(execId=f"0000e0d5.{order.orderId}.01", time=T0, acctNumber="DU1", exchange="FORECASTX",
                           side="BOT", shares=fill_qty, price=ask, orderId=order.orderId, cumQty=fill_qty,
                           avgPrice=ask, lastLiquidity=2)
            f = Fill(contract, ex, CommissionReport(execId=ex.execId, commission=0.03, currency="USD"), T0)
            t.fills.append(f)
            self._fills.append(f)
            self._positions = [Position("DU1", contract, fill_qty, ask)]
        self._trades.append(t)
        return t

    def cancelOrder(self, order, manualCancelOrderTime=""):
        self.calls.append(("cancelOrder", order.orderId))
        t = next(t for t in self._trades if t.order.orderId == order.orderId)
        t.orderStatus.status = "Cancelled"
        return t

    async def reqExecutionsAsync(self, execFilter=None):
        self.calls.append(("reqExecutions",))
        return list(self._fills)

    async def reqOpenOrdersAsync(self):
        self.calls.append(("reqOpenOrders",))
        return [t for t in self._trades if not t.isDone()]

    async def reqCompletedOrdersAsync(self, apiOnly):
        self.calls.append(("reqCompletedOrders", apiOnly))
        return [t for t in self._trades if t.isDone()]

    def trades(self):
        return list(self._trades)

    def openTrades(self):
        return [t for t in self._trades if not t.isDone()]

    def fills(self):
        return list(self._fills)

    def positions(self, account=""):
        return list(self._positions)

    def accountValues(self, account=""):
        return [AccountValue("DU1", "TotalCashValue", "9876.54", "USD", ""),
                AccountValue("DU1", "TotalCashValue", "1.00", "BASE", "")]

    def isConnected(self):
        return self.connected

    def disconnect(self):
        self.calls.append(("disconnect",))
        self.connected = False


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, s: float) -> None:
        self.now += s


def run(coro):
    return asyncio.run(coro)


def test_catalog_book_orders_fills_over_ib_async_objects():
    async def main():
        ib = FakeIB()
        clock = FakeClock()
        cl = IBAsyncClient(ib, pacer=Pacer(clock=clock, sleep=clock.sleep), quote_timeout=0.1, ack_timeout=0.1)
        v = ForecastExVenue(cl, ["FF"])
        assert isinstance(v, VenueClient)
        ms = {m.market_id: m for m in await v.discover_markets()}
        assert sorted(ms) == [MID, LOW]
        assert (ms[MID].yes_token, ms[MID].no_token) == ("713900002", "713900003")
        assert ms[MID].title == "Fed funds above 4.125%"
        await v.discover_markets()
        probe = [c for c in ib.calls if c[0] == "reqContractDetails"]
        assert len(probe) == 1                                           # conIds cached
        p = probe[0][1]
        assert (p.secType, p.symbol, p.exchange, p.currency, p.conId) == ("OPT", "FF", "FORECASTX", "USD", 0)

        v._streaming_ids = [MID, LOW]      # streamed markets: fetched from live tickers
        b = await v.fetch_book(MID)
        # YES BID 0.37 but NO ASK shown 0.64 (pair at $1.01): the YES bid becomes 0.36 so the
        # derived NO ask (1 − 0.36) is IB's displayed 0.64; likewise NO bid 0.56 → YES ask 0.44.
        assert b.yes_bids == ((3600, 10_000),) and b.no_bids == ((5600, 8_000),)
        assert 10_000 - b.no_bids[0][0] == 4400 and 10_000 - b.yes_bids[0][0] == 6400
        # ... and that displayed ASK is all a buy pays (the pair's cent is inside it, IB charges no
        # commission): the engine's fee on 3 contracts at it is 0, so the modelled cost is IB's
        fees = ms[MID].fees
        assert order_fee(fees, [(4400, 300)]) == 0 and order_fee(fees, [(6400, 300)]) == 0
        await v.fetch_book(MID)
        md = [c for c in ib.calls if c[0] == "reqMktData"]
        assert md == [("reqMktData", 713900002, "", False, False), ("reqMktData", 713900003, "", False, False)]
        # a consistent quote (ASK = 1 − opposite BID) passes through untouched
        ib.quotes[713900004] = (0.20, 50.0, 0.79, 10.0)
        b2 = await v.fetch_book(LOW)
        assert b2.yes_bids == ((2000, 5_000),) and b2.no_bids == ((2100, 1_000),)
        # a live tick update is read from the same Ticker without a new request
        ib.tickers[713900002].bid = 0.35
        assert (await v.fetch_book(MID)).yes_bids == ((3500, 10_000),)

        o = await v.place_order(OrderRequest(MID, Side.YES, 4400, 300, tif=TimeInForce.IOC))
        kind, c, order = ib.calls[-1]
        assert kind == "placeOrder" and c.conId == 713900002 and c.exchange == "FORECASTX"
        assert type(order) is LimitOrder
        assert (order.action, order.totalQuantity, order.lmtPrice, order.tif, order.orderType) == \
            ("BUY", 3, 0.44, "IOC", "LMT")
        assert (o.status, o.filled_lots, o.remaining_lots, o.price_ticks) == (OS.FILLED, 300, 0, 4400)
        assert (o.cost_micros, o.fees_micros) == (1_320_000, 30_000)     # 3 × $0.44; IB's $0.03 commission

        r = await v.place_order(OrderRequest(MID, Side.NO, 3000, 200, client_order_id="x1-L1E0"))  # GTC: rests
        _k, c, order = ib.calls[-1]
        assert (c.conId, order.action, order.totalQuantity, order.lmtPrice, order.tif) == (713900003, "BUY", 2, 0.30, "GTC")
        assert order.orderRef == "x1-L1E0" and r.client_order_id == "x1-L1E0"   # the client_order_id rides orderRef
        assert r.status is OS.RESTING and r.remaining_lots == 200
        # orders(): every order of the session (open and done), for recovery by client_order_id
        assert [(x.order_id, x.client_order_id, x.market_id, x.side, x.status) for x in await v.orders()] == \
            [(o.order_id, "", MID, Side.YES, OS.FILLED), (r.order_id, "x1-L1E0", MID, Side.NO, OS.RESTING)]
        assert [t.order_id for t in await cl.open_trades()] == [int(r.order_id)]
        cx = await v.cancel_order(r.order_id)
        assert ib.calls[-1] == ("cancelOrder", int(r.order_id)) and cx.status is OS.CANCELED
        assert await cl.open_trades() == []
        assert {x.order_id: x.status for x in await v.orders()} == {o.order_id: OS.FILLED, r.order_id: OS.CANCELED}

        fills = await v.fills()
        assert len(fills) == 1
        f = fills[0]
        assert (f.fill_id, f.order_id, f.market_id, f.side, f.action, f.price_ticks, f.qty_lots, f.fee_micros,
                f.is_taker, f.ts_ms) == ("0000e0d5.101.01", o.order_id, MID, Side.YES, Action.BUY, 4400, 300,
                                         30_000, True, int(T0.timestamp() * 1000))
        assert [(x.market_id, x.yes_lots) for x in await v.positions()] == [(MID, 300)]
        assert (await v.balance()).cash_micros == 9_876_540_000

        n_calls = len(ib.calls)
        with pytest.raises(OrderRejected, match="buy-only"):
            await v.place_order(OrderRequest(MID, Side.YES, 4000, 100, action=Action.SELL))
        with pytest.raises(OrderRejected, match="whole contracts"):
            await v.place_order(OrderRequest(MID, Side.YES, 4000, 150))
        with pytest.raises(OrderRejected, match="0.02-0.99"):
            await v.place_order(OrderRequest(MID, Side.YES, 4050, 100))
        with pytest.raises(OrderRejected, match="buy-only"):
            await cl.place_limit(713900002, "SELL", 1, Decimal("0.40"), "DAY")
        assert len(ib.calls) == n_calls                                      # nothing reached IB

        await v.close()
        assert ("cancelMktData", 713900002) in ib.calls and ib.calls[-1] == ("disconnect",)
    run(main())


def test_qualify_pair_cached_by_conid():
    async def main():
        ib = FakeIB()
        cl = IBAsyncClient(ib)
        yes, no = await cl.qualify("FF", EXPIRY, "4.375")
        assert (yes.con_id, yes.right, no.con_id, no.right) == (713900004, "C", 713900005, "P")
        (kind, sent), = ib.calls
        assert kind == "qualifyContracts" and [(c.secType, c.exchange, c.symbol, c.lastTradeDateOrContractMonth,
                                               c.strike, c.right) for c in sent] == \
            [("OPT", "FORECASTX", "FF", EXPIRY, 4.375, "C"), ("OPT", "FORECASTX", "FF", EXPIRY, 4.375, "P")]
        assert await cl.qualify("FF", EXPIRY, "4.375") == (yes, no) and len(ib.calls) == 1
        # an order on a conId not yet in the cache qualifies it by conId once
        await cl.place_limit(713900002, "BUY", 1, Decimal("0.44"), "DAY")
        assert ib.calls[1][0] == "qualifyContracts" and ib.calls[1][1][0].conId == 713900002
        await cl.place_limit(713900002, "BUY", 1, Decimal("0.44"), "DAY")
        assert [c[0] for c in ib.calls] == ["qualifyContracts", "qualifyContracts", "placeOrder", "placeOrder"]
    run(main())


def test_pacing_limiter_and_ten_minute_backoff():
    async def main():
        ib = FakeIB()
        clock = FakeClock()
        pacer = Pacer(rate=5.0, burst=5, clock=clock, sleep=clock.sleep)
        cl = IBAsyncClient(ib, pacer=pacer)
        for _ in range(7):                      # burst of 5, then 0.2 s per request at 5/s
            await cl.contract_details("FF")
        assert pacer.waited == pytest.approx(0.4)
        ib.pacing_errors = 1
        with pytest.raises(RateLimited) as ei:
            await cl.contract_details("FF")
        assert ei.value.retry_after == 600 and pacer.penalty_left() == pytest.approx(600)
        t = clock.now
        got = await cl.contract_details("FF")   # waits out the penalty, then succeeds
        assert clock.now - t == pytest.approx(600) and len(got) == 4
    run(main())


def test_price_grid():
    assert dollars(0.57) == Decimal("0.57") and dollars(0.1 + 0.2) == Decimal("0.30")
    with pytest.raises(ValueError):
        dollars(0.575)
