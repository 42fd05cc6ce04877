"""The TWS API server of the simulator against the real `IBAsyncClient` (unchanged `ib_async.IB`).

Every expected value comes from the simulator's own state (`TwsSim.backend`) or from the
in-process `SimIBClient` on the same scenario and seed; nothing of ib_async is mocked. The
message layouts are also checked directly through ib_async's `Decoder` (server → client) and
`Client.placeOrder` (client → server) at server version 178.
"""
from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from ib_async import Contract, LimitOrder, MarketOrder, TagValue
from ib_async.client import Client
from ib_async.decoder import Decoder

from arbbot.execution.recovery import recover
from arbbot.execution.store import OrderStore
from arbbot.sim.engine.matching import FULL, HOUSE
from arbbot.sim.forecastex import TwsSim, start_tws
from arbbot.sim.forecastex import tws_codec as wire
from arbbot.sim.forecastex.backend import ForecastExBackend
from arbbot.sim.scenarios import build
from arbbot.venues.common import Action, OrderRejected, OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.forecastex import ForecastExVenue, connect_forecastex_venue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient
from tests.venues.sim_ib_client import SimIBClient, ib_quote
from tests.sim.venue_envs import until
from tests.fx_day import FIRST, MID, LOW, EXPIRY

YES, NO = 713900002, 713900003
ALL_CONS = range(713900000, 713900006)


def run(coro, limit: float = 20.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


@contextlib.asynccontextmanager
async def tws(seed: int = 1, scenario: str = "forecastex"):
    sim = await start_tws(scenario, seed, step_interval=None)
    try:
        yield sim
    finally:
        await sim.stop()


def expected_book(sim: TwsSim, mid: str):
    """The book the adapter must derive from the simulator's own L1 (YES/NO bids and asks)."""
    y, n = {FIRST: (713900000, 713900001), MID: (YES, NO), LOW: (713900004, 713900005)}[mid]
    qy, qn = ib_quote(sim.backend.quote(y)), ib_quote(sim.backend.quote(n))
    return ForecastExVenue._bids(qy, qn), ForecastExVenue._bids(qn, qy)


# ---- the wire layouts, through ib_async's own decoder / encoder ---------------------------------
class _Rec:
    """A wrapper that records every call the Decoder makes."""

    def __init__(self) -> None:
        self.got: list[tuple[str, tuple]] = []
        self.ib = SimpleNamespace(TimezoneTWS=None)
        self.defaultTimezone = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *a: self.got.append((name, a))


def _decode(fields: list, last: object | None = None):
    """Decode one server message with ib_async at v178; `last` replaces the final field (a
    sentinel: it must land in the last attribute the decoder reads)."""
    fields = [wire.fmt(f) for f in fields]
    if last is not None:
        fields[-1] = wire.fmt(last)
    rec = _Rec()
    import datetime as dt
    rec.defaultTimezone = dt.timezone.utc
    Decoder(rec, wire.SERVER_VERSION).interpret(fields)
    assert len(rec.got) == 1, rec.got
    return rec.got[0]


def test_server_messages_decode_field_for_field():
    b = ForecastExBackend(build("forecastex", 1), 1, clock_ms=lambda: 1_795_000_000_000, first_perm_id=77)
    o, code = b.place(YES, "BUY", 5, Decimal("0.41"), "IOC", order_ref="e9-L0E0", client_id=7, order_id=42)
    assert code == 0 and (o.status, o.filled) == ("Filled", 5)
    (x,) = b.executions()
    c = b.contract(YES)

    name, (oid, con, order, state) = _decode(wire.open_order(o, c), last="0.5")
    assert name == "openOrder" and oid == 42 and con.conId == YES and con.right == "C" and con.strike == 4.125
    assert (order.orderRef, order.permId, order.clientId, order.action, order.totalQuantity, order.lmtPrice,
            order.tif, order.orderType, order.account, order.whatIf, state.status, order.midOffsetAtHalf) == \
        ("e9-L0E0", 77, 7, "BUY", 5.0, 0.41, "IOC", "LMT", "DU000001", False, "Filled", 0.5)

    name, (con, order, state) = _decode(wire.completed_order(o, c, "Filled"), last="0.5")
    assert name == "completedOrder" and con.exchange == "FORECASTX" and con.lastTradeDateOrContractMonth == EXPIRY
    assert (order.orderRef, order.permId, order.filledQuantity, state.status, state.completedStatus,
            order.midOffsetAtHalf) == ("e9-L0E0", 77, 5.0, "Filled", "Filled", 0.5)

    name, (req, con, ex) = _decode(wire.exec_details(-1, x, c, "DU000001"), last="1")
    assert name == "execDetails" and req == -1 and con.conId == YES
    assert (ex.execId, ex.orderId, ex.permId, ex.clientId, ex.shares, ex.price, ex.cumQty, ex.avgPrice, ex.orderRef,
            ex.lastLiquidity, ex.side, ex.pendingPriceRevision) == \
        (x.exec_id, 42, 77, 7, 5.0, 0.41, 5.0, 0.41, "e9-L0E0", 2, "BOT", True)
    assert ex.time.timestamp() == 1_795_000_000

    name, (cr,) = _decode(wire.commission_report(x.exec_id))
    assert (name, cr.execId, cr.commission, cr.currency) == ("commissionReport", x.exec_id, 0.0, "USD")
    assert _decode(wire.order_status(o, x.avg_price, x.price)) == \
        ("orderStatus", (42, "Filled", 5.0, 0.0, 0.41, 77, 0, 0.41, 7, "", 0.0))
    name, (acct, con, pos, avg) = _decode(wire.position("DU000001", c, 5, Decimal("0.41")))
    assert (name, acct, con.conId, con.exchange, pos, avg) == ("position", "DU000001", YES, "FORECASTX", 5.0, 0.41)
    name, (req, cd) = _decode(wire.contract_details(4, c, 1_795_000_000_000), last="7")
    assert (name, req, cd.contract.conId, cd.contract.symbol, cd.contract.secType, cd.contract.right,
            cd.contract.lastTradeDateOrContractMonth, cd.contract.strike, cd.contract.exchange, cd.longName,
            cd.minTick, cd.suggestedSizeIncrement) == \
        ("contractDetails", 4, YES, "FF", "OPT", "C", EXPIRY, 4.125, "FORECASTX",
         "Fed funds above 4.125% after Dec 2026?", 0.01, 7.0)
    # the sim's default hours: around the clock on 7 days from the clock's date in US/Central
    # (1,795,000,000 s = 2026-11-18 11:06 UTC, 05:06 CST)
    assert cd.timeZoneId == "US/Central" and cd.tradingHours == cd.liquidHours
    assert cd.tradingHours.split(";")[:2] == ["20261118:0000-20261119:0000", "20261119:0000-20261120:0000"]
    assert len(cd.tradingHours.split(";")) == 7
    name, args = _decode(wire.portfolio_value(c, 5, Decimal("0.37"), Decimal("0.41"), "DU000001"))
    assert name == "updatePortfolio" and args[1:] == (5.0, 0.37, 1.85, 0.41, -0.2, 0.0, "DU000001")
    assert _decode(wire.tick_price(3, wire.BID, Decimal("0.37"), 100)) == ("priceSizeTick", (3, 1, 0.37, 100.0))
    assert _decode(wire.tick_price(3, wire.ASK, None, 0)) == ("priceSizeTick", (3, 2, -1.0, 0.0))
    assert _decode(wire.tick_size(3, wire.BID_SIZE, 50)) == ("tickSize", (3, 0, 50.0))
    assert _decode(wire.error(3, 201, "no")) == ("error", (3, 201, "no", ""))


def _client_fields(send) -> list[list[str]]:
    """What ib_async's Client writes for `send(client)`, at server version 178."""
    out: list[bytes] = []
    cl = Client(SimpleNamespace())
    cl.connState, cl._serverVersion = Client.CONNECTED, wire.SERVER_VERSION
    cl.conn.sendMsg = out.append
    send(cl)
    return [wire.split(m[4:]) for m in out]


@pytest.mark.parametrize("order,what_if", [
    (LimitOrder("BUY", 3, 0.44, tif="IOC", orderRef="a-L0E0"), False),
    (LimitOrder("BUY", 3, 0.44, tif="GTC", orderRef="a-L0E0", whatIf=True), True),
    (LimitOrder("BUY", 3, 0.44, tif="DAY", orderRef="a-L0E0", algoStrategy="Adaptive",
                algoParams=[TagValue("adaptivePriority", "Normal")], hedgeType="D", hedgeParam="0.5",
                deltaNeutralOrderType="LMT", scalePriceIncrement=0.01, whatIf=True), True),
])
def test_place_order_request_fields(order, what_if):
    con = Contract(secType="OPT", conId=YES, symbol="FF", lastTradeDateOrContractMonth=EXPIRY, strike=4.125,
                   right="C", exchange="FORECASTX", currency="USD")
    (f,) = _client_fields(lambda cl: cl.placeOrder(17, con, order))
    d = wire.parse_place_order(f)
    assert (d["order_id"], d["action"], d["quantity"], d["order_type"], d["limit"], d["tif"], d["order_ref"],
            d["what_if"]) == (17, "BUY", Decimal(3), "LMT", Decimal("0.44"), order.tif, "a-L0E0", what_if)


# ---- the real client over loopback ------------------------------------------------------
def test_connect_catalog_book_and_ioc_fill():
    async def main():
        async with tws() as sim:
            t0 = time.monotonic()
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=21)
            assert time.monotonic() - t0 < 1.0                          # every startup request answered
            assert cl.ib.client.serverVersion() == 178 and cl.ib.managedAccounts() == ["DU000001"]
            v = ForecastExVenue(cl, ["FF"])
            ms = {m.market_id: m for m in await v.discover_markets()}
            assert sorted(ms) == [FIRST, MID, LOW]
            assert (ms[MID].yes_token, ms[MID].no_token) == (str(YES), str(NO))
            assert ms[MID].title == "Fed funds above 4.125% after Dec 2026?"
            # books: identical to the in-process simulator on the same scenario/seed, exact lots
            ref = ForecastExVenue(SimIBClient(build("forecastex", 1), 1), ["FF"])
            await ref.discover_markets()
            for mid in ms:
                b = await v.fetch_book(mid)
                assert b == await ref.fetch_book(mid)
                assert (b.yes_bids, b.no_bids) == expected_book(sim, mid)
            b = await v.fetch_book(MID)
            assert b.yes_bids == ((3700, 10_000),) and b.no_bids == ((5900, 10_000),)
            for con in ALL_CONS:                                       # raw L1, ask = $1 − opposite bid
                assert await cl.quote(con) == ib_quote(sim.backend.quote(con))
            assert (await cl.quote(YES)).ask == Decimal("0.41") and (await cl.quote(YES)).ask_size == 100
            assert (await v.balance()).cash_micros == 10_000_000_000 == sim.backend.cash_micros()

            # IOC BUY 5 YES at the ask (1 − 0.59 = 0.41): fills 5 at 0.41 = $2.05
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=TimeInForce.IOC,
                                                 client_order_id="x1-L0E0"))
            assert (o.status, o.filled_lots, o.remaining_lots, o.price_ticks, o.client_order_id) == \
                (OrderStatus.FILLED, 500, 0, 4100, "x1-L0E0")
            (x,) = sim.backend.executions()
            (f,) = await v.fills()
            assert (f.fill_id, f.order_id, f.market_id, f.side, f.action, f.price_ticks, f.qty_lots, f.fee_micros,
                    f.is_taker) == (x.exec_id, o.order_id, MID, Side.YES, Action.BUY, 4100, 500, 0, True)
            (ibf,) = cl.ib.fills()
            assert ibf.commissionReport.commission == 0.0 and ibf.execution.orderRef == "x1-L0E0"
            await until(lambda: sim.backend.cash_micros() == 9_997_950_000)
            await until(lambda: _eq(v.balance(), lambda bal: bal.cash_micros == 9_997_950_000))
            assert [(p.market_id, p.yes_lots) for p in await v.positions()] == [(MID, 500)]
            assert await cl.positions() == sim.backend.positions() == {YES: 5}
            # the book moved: the house NO bid at 0.59 lost 5 contracts
            await until(lambda: _eq(v.fetch_book(MID), lambda bk: bk.no_bids == ((5900, 9_500),)))
            await v.close()
    run(main())


async def _eq(coro, check) -> bool:
    return check(await coro)


def test_rejections_resting_cancel_and_maker_fill():
    async def main():
        async with tws() as sim:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=22)
            v = ForecastExVenue(cl, ["FF"])
            await v.discover_markets()
            # the adapter refuses before the wire
            with pytest.raises(OrderRejected, match="buy-only"):
                await v.place_order(OrderRequest(MID, Side.YES, 4000, 100, action=Action.SELL))
            with pytest.raises(OrderRejected, match="0.02-0.99"):
                await v.place_order(OrderRequest(MID, Side.YES, 4050, 100))
            # the server refuses what slips past (raw ib_async orders): error, then Inactive
            c = cl.contracts[YES]
            errors: list[tuple[int, int]] = []
            cl.ib.errorEvent += lambda req, code, msg, con: errors.append((req, code))
            bad = [cl.ib.placeOrder(c, o) for o in (LimitOrder("BUY", 1, 0.415), LimitOrder("SELL", 1, 0.40),
                                                    MarketOrder("BUY", 1), LimitOrder("BUY", 1, 0.40, tif="FOK"))]
            await until(lambda: [t.orderStatus.status for t in bad] == ["Inactive"] * 4)
            assert errors == [(bad[0].order.orderId, 110)] + [(t.order.orderId, 201) for t in bad[1:]]
            # a server-side refusal through the adapter: more than the account can pay → REJECTED
            r = await v.place_order(OrderRequest(MID, Side.YES, 9900, 2_000_000, client_order_id="big"))
            assert r.status is OrderStatus.REJECTED and r.filled_lots == 0
            assert sim.backend.cash_micros() == 10_000_000_000 and sim.backend.positions() == {}

            # a resting GTC NO bid at 0.30, listed with its client_order_id, then cancelled
            g = await v.place_order(OrderRequest(MID, Side.NO, 3000, 200, client_order_id="x2-L1E0"))
            assert (g.status, g.remaining_lots) == (OrderStatus.RESTING, 200)
            listed = {x.client_order_id: x for x in await v.orders()}
            assert listed["x2-L1E0"].order_id == g.order_id and listed["x2-L1E0"].status is OrderStatus.RESTING
            assert listed["big"].status is OrderStatus.REJECTED
            # re-sending the same order id (an IB modification) is refused; the order stays live
            t = cl.trades[sim.backend.orders[int(g.order_id)].order_id]     # the venue's id is IB's permId
            t.order.lmtPrice = 0.31
            cl.ib.placeOrder(t.contract, t.order)
            await until(lambda: 105 in [e.errorCode for e in t.log] and t.orderStatus.status == "Submitted")
            assert {x.order_id: x.status for x in await v.orders()}[g.order_id] is OrderStatus.RESTING
            cx = await v.cancel_order(g.order_id)
            assert cx.status is OrderStatus.CANCELED
            assert sim.backend.orders[int(g.order_id)].status == "Cancelled"

            # a resting YES bid at 0.38 (inside the spread) is hit by another trader: a maker fill is pushed
            m = await v.place_order(OrderRequest(MID, Side.YES, 3800, 300, client_order_id="x3-L0E0"))
            assert m.status is OrderStatus.RESTING
            await until(lambda: _eq(v.fetch_book(MID), lambda bk: bk.yes_bids == ((3800, 300),)))
            sim.backend.exchange.place(HOUSE, MID, "no", "buy", FULL - 3800, 300, "ioc")
            await until(lambda: _eq(v.fills(), lambda fs: len(fs) == 1))
            (f,) = await v.fills()
            assert (f.order_id, f.price_ticks, f.qty_lots, f.is_taker, f.fee_micros) == \
                (m.order_id, 3800, 300, False, 0)
            assert f.fill_id == sim.backend.executions()[0].exec_id
            await until(lambda: _eq(v.orders(), lambda os: {x.client_order_id: x.status for x in os}["x3-L0E0"]
                                    is OrderStatus.FILLED))
            await until(lambda: _eq(v.positions(), lambda ps: [(p.market_id, p.yes_lots) for p in ps] == [(MID, 300)]))
            await until(lambda: _eq(v.balance(), lambda bal: bal.cash_micros == 10_000_000_000 - 3 * 380_000))
            await v.close()
    run(main())


def test_streamed_ticker_follows_price_process():
    async def main():
        async with tws(seed=3) as sim:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=23)
            v = ForecastExVenue(cl, ["FF"])
            mids = [m.market_id for m in await v.discover_markets()]
            v._streaming_ids = list(mids)                               # the venue streams all three
            for mid in mids:
                await v.fetch_book(mid)                                 # subscribes all six tickers
            before = {con: sim.backend.quote(con) for con in ALL_CONS}
            n_md = len(cl.tickers)
            for _ in range(50):
                sim.step()
                if any(sim.backend.quote(con) != before[con] for con in ALL_CONS):
                    break
            else:
                raise AssertionError("the price process never moved")

            async def synced() -> bool:
                return [await cl.quote(con) for con in ALL_CONS] == \
                    [ib_quote(sim.backend.quote(con)) for con in ALL_CONS]
            await until(synced)                                         # pushed ticks, no new requests
            assert len(cl.tickers) == n_md == 6
            for mid in mids:
                b = await v.fetch_book(mid)
                assert (b.yes_bids, b.no_bids) == expected_book(sim, mid)
            # a snapshot request sees the same L1; its tickSnapshotEnd comes late as at IB (~11 s
            # by default), which ib_async's reqTickersAsync waits for
            sim.snapshot_end_s = 0.3
            t0 = time.monotonic()
            (tk,) = await asyncio.wait_for(cl.ib.reqTickersAsync(cl.contracts[NO]), 2)
            assert time.monotonic() - t0 >= 0.3
            q = sim.backend.quote(NO)
            assert (Decimal(str(tk.bid)), tk.bidSize, Decimal(str(tk.ask)), tk.askSize) == \
                (q.bid, q.bid_size, q.ask, q.ask_size)
            await v.close()
    run(main())


def test_crash_restart_recovers_orders_and_fills(tmp_path):
    async def main():
        async with tws() as sim:
            store = OrderStore(str(tmp_path / "orders.sqlite"))
            legs = [SimpleNamespace(market=f"forecastex:{m}", side=SimpleNamespace(label=s), qty=500, worst_price=0,
                                    cost=0, fee=0) for m, s in ((MID, "yes"), (LOW, "no"))]
            store.create_execution("ex1", SimpleNamespace(id="opp1", lane=0, kind=0, qty=500, payout=0, cost=0, fee=0,
                                                          profit=0, legs=legs))

            def intent(leg, attempt, mid, side, price, tif):
                return store.add_intent("ex1", leg, "entry", attempt, venue="forecastex", market=f"forecastex:{mid}",
                                        market_id=mid, side=side, action="buy", qty=500, price=price, tif=tif)

            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=31)
            await v.discover_markets()
            coid0 = intent(0, 0, MID, "yes", 4100, "ioc")
            o0 = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=TimeInForce.IOC, client_order_id=coid0))
            coid1 = intent(1, 0, LOW, "no", 3000, "gtc")                # rests (NO bid at 0.30 < ask 0.93)
            o1 = await v.place_order(OrderRequest(LOW, Side.NO, 3000, 500, tif=TimeInForce.GTC, client_order_id=coid1))
            coid2 = intent(1, 1, LOW, "no", 9300, "ioc")                # NO ask = 1 − YES bid 0.07
            o2 = await v.place_order(OrderRequest(LOW, Side.NO, 9300, 500, tif=TimeInForce.IOC, client_order_id=coid2))
            coid3 = intent(1, 2, LOW, "no", 2000, "ioc")                # IOC below the ask: cancelled unfilled
            o3 = await v.place_order(OrderRequest(LOW, Side.NO, 2000, 500, tif=TimeInForce.IOC, client_order_id=coid3))
            assert [o.status for o in (o0, o1, o2, o3)] == \
                [OrderStatus.FILLED, OrderStatus.RESTING, OrderStatus.FILLED, OrderStatus.CANCELED]
            coid4 = intent(1, 3, LOW, "no", 9300, "ioc")                # written, never sent
            fills_before = sorted((f.fill_id, f.order_id, f.price_ticks, f.qty_lots) for f in await v.fills())
            assert len(fills_before) == 2
            # SIGKILL: the socket dies with no goodbye; nothing was recorded in the store
            v.client.ib.client.conn.transport.abort()

            v2 = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=31)   # the restarted bot
            got = {o.client_order_id: o for o in await v2.orders()}
            assert set(got) == {coid0, coid1, coid2, coid3}
            assert [(got[c].order_id, got[c].status, got[c].filled_lots, got[c].market_id, got[c].side) for c in
                    (coid0, coid1, coid2)] == [(o0.order_id, OrderStatus.FILLED, 500, MID, Side.YES),
                                               (o1.order_id, OrderStatus.RESTING, 0, LOW, Side.NO),
                                               (o2.order_id, OrderStatus.FILLED, 500, LOW, Side.NO)]
            # a completed order without executions (IB reports no API id for it): known by its permId,
            # the id the venue gave it when it was placed
            perm3 = sim.by_api[(31, sim.backend.orders[int(o3.order_id)].order_id)].perm_id
            assert (got[coid3].order_id, got[coid3].status) == (str(perm3), OrderStatus.CANCELED) == \
                (o3.order_id, OrderStatus.CANCELED)
            assert sorted((f.fill_id, f.order_id, f.price_ticks, f.qty_lots) for f in await v2.fills()) == fills_before

            rep = await recover(store, {"forecastex": v2})
            assert sorted(rep.adopted) == sorted([coid0, coid1, coid2, coid3]) and rep.missing == [coid4]
            assert rep.fills_added == 2 and rep.executions == {"ex1": "complete"} and rep.safe_mode is None
            assert sim.backend.orders[int(o1.order_id)].status == "Cancelled"    # recovery cancelled the resting one
            assert store.intent(coid1).state == "canceled" and store.intent(coid0).state == "filled"
            # a new order after the restart gets a fresh API id
            o5 = await v2.place_order(OrderRequest(MID, Side.YES, 3000, 100, client_order_id="after"))
            api_id = {o.order_id: sim.backend.orders[int(o.order_id)].order_id for o in (o0, o1, o2, o3, o5)}
            assert api_id[o5.order_id] > max(api_id[o.order_id] for o in (o0, o1, o2, o3))
            await v2.close()
            store.close()
    run(main())


# ---- raw sockets: bad input never takes the server down ---------------------------------------
async def _raw(port: int, client_id: int | None):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"API\0" + struct.pack(">I", 9) + b"v157..178")
    ver = await _recv(r)
    assert ver[0] == "178"
    if client_id is not None:
        w.write(wire.frame([71, 2, client_id, ""]))
        got = [await _recv(r), await _recv(r)]
        assert sorted(m[0] for m in got) == ["15", "9"]
    return r, w


async def _recv(r: asyncio.StreamReader) -> list[str]:
    n = struct.unpack(">I", await asyncio.wait_for(r.readexactly(4), 2))[0]
    return wire.split(await r.readexactly(n))


def test_malformed_and_unknown_messages_get_errors():
    async def main():
        async with tws() as sim:
            r, w = await _raw(sim.port, 41)
            w.write(wire.frame([999, 1, 5]))                                    # unknown message id
            assert (await _recv(r))[:4] == ["4", "2", "-1", "505"]
            w.write(wire.frame([20, 7, 8, 9]))                                  # a request we don't serve
            assert (await _recv(r))[:4] == ["4", "2", "7", "505"]
            w.write(wire.frame(["abc", 1]))                                     # not a message id
            assert (await _recv(r))[3] == "320"
            w.write(wire.frame([3, 5, YES]))                                    # truncated placeOrder
            assert (await _recv(r))[3] == "320"
            w.write(wire.frame([9, 8, 77] + [""] * 12))                         # details for nothing
            assert (await _recv(r))[2:4] == ["77", "200"]
            w.write(wire.frame([4, 1, 12345, ""]))                              # cancel an unknown order
            assert (await _recv(r))[2:4] == ["12345", "135"]
            w.write(struct.pack(">I", 0))                                       # empty message
            assert (await _recv(r))[3] in ("320", "505")
            w.write(wire.frame([49, 1]))                                        # still serving this socket
            assert (await _recv(r))[0] == "49"
            # a second socket claiming the same client id is refused (TWS: error 326)
            r2, w2 = await _raw(sim.port, None)
            w2.write(wire.frame([71, 2, 41, ""]))
            assert (await _recv(r2))[3] == "326"
            # garbage instead of a handshake: that socket is dropped, nothing else
            r3, w3 = await asyncio.open_connection("127.0.0.1", sim.port)
            w3.write(b"GET / HTTP/1.1\r\n\r\n")
            assert await asyncio.wait_for(r3.read(), 2) == b""
            # an oversized frame closes only its own connection
            r4, w4 = await _raw(sim.port, 42)
            w4.write(struct.pack(">I", wire.MAX_MSG + 1))
            assert (await _recv(r4))[3] == "320"
            # other clients are unaffected
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=43)
            assert len(await cl.contract_details("FF")) == 6
            w.write(wire.frame([49, 1]))
            assert (await _recv(r))[0] == "49"
            await cl.close()
            for wr in (w, w2, w3, w4):
                wr.close()
    run(main())


def test_order_faults_reject_every_and_partial_fills():
    async def main():
        from arbbot.sim.scenarios import Faults
        sim = await start_tws("forecastex", 1, step_interval=None,
                              faults=Faults(order_reject_every=2, partial_fill_lots=200))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=51)
            await v.discover_markets()
            a = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=TimeInForce.IOC, client_order_id="f1"))
            assert (a.status, a.filled_lots) == (OrderStatus.CANCELED, 200)       # capped at 2 contracts
            b = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=TimeInForce.IOC, client_order_id="f2"))
            assert (b.status, b.filled_lots) == (OrderStatus.REJECTED, 0)          # every 2nd order refused
            assert {x.client_order_id: x.status for x in await v.orders()} == \
                {"f1": OrderStatus.CANCELED, "f2": OrderStatus.REJECTED}
            assert [(f.order_id, f.qty_lots) for f in await v.fills()] == [(a.order_id, 200)]
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_streaming_market_data_beyond_the_accounts_lines_is_refused_and_fetches_use_snapshots():
    """IB refuses a streaming request beyond the account's market data lines (error 101, over
    every client); the client raises RateLimited at once instead of serving an empty book, frees
    nothing it did not get, and a ForecastEx fetch of a market it does not stream uses one-off
    snapshots, which take no line."""
    from arbbot.venues.common.errors import RateLimited

    async def main():
        async with tws() as sim:
            sim.market_data_lines = 3
            other = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=41, quote_timeout=5.0)
            await other.quote(713900000)                       # another client holds one line
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=42)
            await v.discover_markets()
            v._streaming_ids = [MID]                           # this venue streams MID (two lines)
            streamed = await v.fetch_book(MID)
            assert (streamed.yes_bids, streamed.no_bids) == expected_book(sim, MID)
            assert sum(len(c.tickers) for c in sim.conns) == 3
            started = time.monotonic()
            with pytest.raises(RateLimited, match=r"conId 713900004 \(IB error 101: Max number of tickers"):
                await v._streamed_book(LOW)                    # a third market would need two more
            assert time.monotonic() - started < 1.0            # refused at once, not after quote_timeout
            assert 713900004 not in v.client.tickers
            polled = await v.fetch_book(LOW)                   # not streamed: snapshots, no line taken
            assert (polled.yes_bids, polled.no_bids) == expected_book(sim, LOW)
            assert sum(len(c.tickers) for c in sim.conns) == 3
            await v.close()
            await other.close()
    run(main())
