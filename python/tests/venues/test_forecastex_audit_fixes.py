"""ForecastEx (IB) adapter audit fixes: the real `IBAsyncClient` (unchanged ib_async 2.1.0) against
the simulated TWS, with the executor, recovery and reconciliation where the defect showed there.

1. a fill / order / position of a conId not in the catalog is named from IB's own contract (right
   C = YES, P = NO), never "" / YES;
2. another API client's orders (same API order ids) are never taken for ours: the ids exposed are
   IB's permIds;
3. ib_async's `ValidationError` (a warning) is not an order state: 399 after a fill → FILLED,
   321 on an order TWS never acknowledged → REJECTED; the executor settles either way;
4. every IB call reconnects after the socket dropped; no read answers from the wiped cache;
5. TWS's 1100 / 2103 put the feed down at once (no frozen books), 1101 re-subscribes (and asks
   for orders, executions and account data again), 1102 / 2104 bring it back;
6. `fill_history_start_ms`: reconciliation across IB's day roll;
7. request errors raise (RaiseRequestErrors): a pacing refusal penalizes, the catalog is read per
   product and a missing product is asked for again after the penalty.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from arbbot.engine.types import Kind, Lane, Leg, Opportunity
from arbbot.engine.types import Side as ESide
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.execution.reconcile import reconcile, record_cash_baselines
from arbbot.execution.recovery import recover
from arbbot.sim.forecastex import TwsFaults, TwsSim, start_tws
from arbbot.sim.forecastex import tws_codec as wire
from arbbot.sim.forecastex.tws import _Refuse
from arbbot.sim.scenarios import build
from arbbot.venues.common import OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.common.errors import OutcomeUnknown, RateLimited, TransportError
from arbbot.venues.forecastex import ForecastExVenue, connect_forecastex_venue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient, Pacer
from tests.venues.sim_ib_client import ib_quote
from tests.sim.venue_envs import ManualClock, until
from tests.fx_day import SIM_START_MS, MID, LOW

YES, NO = 713900002, 713900003          # MID's contracts
LOW_YES, LOW_NO = 713900004, 713900005
IOC = TimeInForce.IOC
MS_H = 3_600_000


def run(coro, limit: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


def utc_ms(*a) -> int:
    return int(datetime(*a, tzinfo=timezone.utc).timestamp() * 1000)


class CatalogTws(TwsSim):
    """A TWS whose catalog answers change: `hidden` conIds are no longer listed by
    reqContractDetails (a question past its last trade date, payout pending), `refuse` names
    products whose next request gets IB's pacing error 162 (`refuse_all`: every request)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.hidden: set[int] = set()
        self.refuse: list[str] = []
        self.refuse_all = False
        self.asked: list[str] = []

    def _details(self, conn, f: list[str]) -> None:
        req_id, symbol = int(f[2]), f[4]
        self.asked.append(symbol or f[3])
        if self.refuse_all or symbol in self.refuse:
            if symbol in self.refuse:
                self.refuse.remove(symbol)
            raise _Refuse(req_id, 162, "Historical Market Data Service error message:API pacing violation")
        found = [c for c in self._match(f, 3) if c.con_id not in self.hidden]
        if not found:
            raise _Refuse(req_id, 200, "No security definition has been found for the request")
        for c in found:
            conn.send(wire.contract_details(req_id, c, self.clock_ms()))
        conn.send(wire.contract_details_end(req_id))

    _handlers = {**TwsSim._handlers, wire.REQ_CONTRACT_DETAILS: _details}


@contextlib.asynccontextmanager
async def catalog_tws(scenario="forecastex", seed: int = 1):
    sim = CatalogTws(build(scenario, seed) if isinstance(scenario, str) else scenario, seed, step_interval=None)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def opportunity(qty: int, legs) -> Opportunity:
    """A two-leg opportunity on ForecastEx (payout inflated so the edge check passes)."""
    ls = tuple(Leg(f"forecastex:{m}", ESide.YES if s == "YES" else ESide.NO, qty, p, p * qty, 0) for m, s, p in legs)
    cost = sum(leg.cost for leg in ls)
    pay = cost + 10_000_000
    return Opportunity("00000000000000aa", Lane.INTRA, Kind.YES_A_NO_B, qty, pay, cost, 0, pay - cost, ls)


def routes(v) -> dict:
    return {f"forecastex:{m}": Route(v, m) for m in (MID, LOW)}


def new_execution(store: OrderStore, xid: str) -> None:
    legs = [SimpleNamespace(market=f"forecastex:{m}", side=SimpleNamespace(label=s), qty=500, worst_price=0,
                            cost=0, fee=0) for m, s in ((MID, "yes"), (LOW, "no"))]
    store.create_execution(xid, SimpleNamespace(id="opp1", lane=0, kind=0, qty=500, payout=0, cost=0, fee=0,
                                                profit=0, legs=legs))


# ---- 1. a conId not in the catalog -------------------------------------------------------------
@pytest.mark.parametrize("catalog", ["delisted", "refused"])
def test_fills_of_a_conid_not_in_the_catalog_keep_their_market_and_side(tmp_path, catalog):
    """The bot crashes after two fills (YES MID, NO LOW); at restart LOW is no longer listed
    (`delisted`) or the whole catalog is refused (`refused`, IB pacing). Recovery adopts the NO
    fill as NO in LOW (from the execution's contract, right P): the store's cash flow is what
    the venue's cash moved, and positions name LOW too."""
    async def main():
        async with catalog_tws() as sim:
            store = OrderStore(str(tmp_path / "o.sqlite"))
            new_execution(store, "ex1")
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=31)
            await v.discover_markets()
            cash0 = sim.backend.cash_micros()
            for leg, (mid, side, px) in enumerate(((MID, Side.YES, 4100), (LOW, Side.NO, 9300))):
                coid = store.add_intent("ex1", leg, "entry", 0, venue="forecastex", market=f"forecastex:{mid}",
                                        market_id=mid, side=side.label, action="buy", qty=500, price=px, tif="ioc")
                await v.place_order(OrderRequest(mid, side, px, 500, tif=IOC, client_order_id=coid))
            v.client.ib.client.conn.transport.abort()                  # crash: nothing recorded
            moved = sim.backend.cash_micros() - cash0
            assert moved == -(5 * 410_000 + 5 * 930_000) == -6_700_000
            if catalog == "delisted":
                sim.hidden |= {LOW_YES, LOW_NO}
            else:
                sim.refuse_all = True
            v2 = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=31)
            rep = await recover(store, {"forecastex": v2})
            assert rep.executions == {"ex1": "complete"} and rep.safe_mode is None
            assert sorted((f.market_id, f.side, f.qty, f.price) for f in store.fills()) == \
                [(MID, "yes", 500, 4100), (LOW, "no", 500, 9300)]
            assert store.cash_flow("ex1") == moved
            assert sorted((p.market_id, p.yes_lots) for p in await v2.positions()) == [(MID, 500), (LOW, -500)]
            assert {(f.market_id, f.side) for f in await v2.fills()} == {(MID, Side.YES), (LOW, Side.NO)}
            await v2.close()
            store.close()
    run(main())


# ---- 2. another API client on the same account --------------------------------------------------
def test_another_clients_orders_with_the_same_api_ids_are_never_ours(tmp_path):
    async def main():
        async with catalog_tws() as sim:
            other = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=12)
            await other.discover_markets()
            for k in range(10):                   # API ids 1.. of client 12, NO LOW one contract each
                await other.place_order(OrderRequest(LOW, Side.NO, 9300, 100, tif=IOC, client_order_id=f"other-{k}"))
            bot = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)   # sees every execution
            await bot.discover_markets()
            store = OrderStore(str(tmp_path / "o.sqlite"))
            ex = Executor(store, routes(bot), config=ExecutorConfig(order_timeout_s=3.0))
            res = await ex.execute(opportunity(100, ((MID, "YES", 4100), (LOW, "NO", 9300))), execution_id="x1")
            assert (res.state, res.filled) == ("complete", {0: 100, 1: 100})
            mine = {o.order_ref: o for o in sim.backend.orders.values() if o.client_id == 11}
            theirs = {(o.client_id, o.order_id) for o in sim.backend.orders.values() if o.client_id == 12}
            assert {(11, o.order_id) for o in mine.values()} and \
                {(12, o.order_id) for o in mine.values()} <= theirs          # the same API ids exist at client 12
            for it in store.intents():
                o = mine[it.client_order_id]
                assert (it.order_id, it.filled_qty) == (str(o.perm_id), 100)
                got = [(f.qty, f.price, f.order_id) for f in store.fills(it.client_order_id)]
                assert got == [(100, 4100 if it.leg == 0 else 9300, str(o.perm_id))]
                assert [(f.qty_lots, f.order_id) for f in await bot.fills(order_id=it.order_id)] == \
                    [(100, str(o.perm_id))]
            assert store.cash_flow("x1") == -(410_000 + 930_000)
            store.close()
            await bot.close()
            await other.close()
    run(main())


# ---- 3. ValidationError ------------------------------------------------------------------------
def test_order_message_warning_after_the_fill_is_filled_and_the_executor_settles(tmp_path):
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None,
                              tws_faults=TwsFaults(order_message_after_fill=True))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="w-1"))
            assert [t.orderStatus.status for t in v.client.ib.trades()] == ["ValidationError"]   # ib_async's view
            assert (o.status, o.filled_lots, o.remaining_lots, o.cost_micros) == (OrderStatus.FILLED, 500, 0, 2_050_000)
            assert [(x.client_order_id, x.status) for x in await v.orders()] == [("w-1", OrderStatus.FILLED)]
            store = OrderStore(str(tmp_path / "o.sqlite"))
            ex = Executor(store, routes(v), config=ExecutorConfig(order_timeout_s=3.0))
            res = await asyncio.wait_for(ex.execute(opportunity(500, ((MID, "YES", 4200), (LOW, "NO", 9300))),
                                                    execution_id="x1"), 15)
            assert (res.state, res.filled) == ("complete", {0: 500, 1: 500})
            assert [(i.state, i.filled_qty) for i in store.intents()] == [("filled", 500), ("filled", 500)]
            assert store.safe_mode() is None
            store.close()
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_read_only_api_321_is_a_rejection_and_the_executor_aborts(tmp_path):
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, tws_faults=TwsFaults(read_only=True))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            t0 = time.monotonic()
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="ro-1"))
            assert (o.status, o.filled_lots, o.remaining_lots) == (OrderStatus.REJECTED, 0, 0)
            assert time.monotonic() - t0 < 1.0                       # answered, not waited out
            assert [(x.client_order_id, x.status) for x in await v.orders()] == [("ro-1", OrderStatus.REJECTED)]
            store = OrderStore(str(tmp_path / "o.sqlite"))
            ex = Executor(store, routes(v), config=ExecutorConfig(order_timeout_s=3.0))
            res = await asyncio.wait_for(ex.execute(opportunity(500, ((MID, "YES", 4100), (LOW, "NO", 9300))),
                                                    execution_id="x1"), 15)
            assert (res.state, res.filled) == ("aborted", {0: 0, 1: 0})
            assert [(i.client_order_id, i.state) for i in store.intents()] == [("x1-L0E0", "rejected")]
            assert sim.backend.orders == {} and store.safe_mode() is None
            store.close()
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_an_order_refused_by_a_code_the_adapter_does_not_list_is_rejected_once_tws_lists_nothing_of_it(tmp_path):
    """TWS's precautionary size limit answers a placeOrder with 383 alone: no order status, no
    permId. ib_async marks the trade Cancelled, which the adapter must not believe for an unknown
    code (10349 leaves the order working); once a refresh of open and completed orders begun after
    the error lists nothing of it, it is REJECTED. Before, it stayed PendingSubmit for good: every
    lookup PENDING, the execution waiting on it forever (leg 0 already filled, naked)."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, tws_faults=TwsFaults(order_size_limit=7))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            with pytest.raises(OutcomeUnknown):          # at first: not acknowledged, may be at IB
                await v.place_order(OrderRequest(MID, Side.YES, 4100, 800, tif=IOC, client_order_id="big-1"))
            assert [e.errorCode for e in v.client.ib.trades()[0].log if e.errorCode] == [383]
            assert [(x.client_order_id, x.status, x.filled_lots) for x in await v.orders()] == \
                [("big-1", OrderStatus.REJECTED, 0)]
            ok = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="ok-1"))
            assert (ok.status, ok.filled_lots) == (OrderStatus.FILLED, 500)      # within the limit: placed
            store = OrderStore(str(tmp_path / "o.sqlite"))       # 8 contracts: refused, and decided
            ex = Executor(store, routes(v), config=ExecutorConfig(order_timeout_s=3.0, unwind_pause_s=0.05,
                                                                  unwind_pause_cap_s=0.05))
            res = await asyncio.wait_for(ex.execute(opportunity(800, ((LOW, "NO", 9300), (MID, "YES", 4100))),
                                                    execution_id="x1"), 30)
            assert (res.state, res.filled) == ("aborted", {0: 0, 1: 0}) and store.safe_mode() is None
            assert [(i.client_order_id, i.state) for i in store.intents()] == [("x1-L0E0", "rejected")]
            store.close()
            await v.close()
        finally:
            await sim.stop()
    run(main())


# ---- 4. reconnect on every IB call ---------------------------------------------------------------
def test_every_read_reconnects_after_the_socket_drops_and_fails_loudly_when_tws_is_gone():
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
        try:
            await v.discover_markets()
            o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="a-1"))
            r = await v.place_order(OrderRequest(MID, Side.NO, 3000, 200, client_order_id="a-2"))      # rests
            cash = sim.backend.cash_micros()
            assert cash == 10_000_000_000 - 2_050_000
            reads = {"positions": lambda: v.positions(), "fills": lambda: v.fills(), "balance": lambda: v.balance(),
                     "orders": lambda: v.orders(), "order": lambda: v.order(o.order_id)}
            for name, read in reads.items():                 # each read alone after a drop: it reconnects
                v.client.ib.client.conn.transport.abort()
                await until(lambda: not v.client.ib.isConnected(), what="disconnect seen")
                got = await read()
                if name == "positions":
                    assert [(p.market_id, p.yes_lots) for p in got] == [(MID, 500)]
                elif name == "fills":
                    assert [(f.order_id, f.market_id, f.side, f.qty_lots, f.price_ticks) for f in got] == \
                        [(o.order_id, MID, Side.YES, 500, 4100)]
                elif name == "balance":
                    assert got.cash_micros == cash
                elif name == "orders":
                    assert {(x.client_order_id, x.status) for x in got} == \
                        {("a-1", OrderStatus.FILLED), ("a-2", OrderStatus.RESTING)}
                else:
                    assert (got.order_id, got.status, got.filled_lots) == (o.order_id, OrderStatus.FILLED, 500)
            assert v.client.reconnects == len(reads)
            v.client.ib.client.conn.transport.abort()
            await until(lambda: not v.client.ib.isConnected(), what="disconnect seen")
            c = await v.cancel_order(r.order_id)                  # cancel after a drop: reconnects too
            assert (c.order_id, c.status) == (r.order_id, OrderStatus.CANCELED)
            assert sim.backend.orders[int(r.order_id)].status == "Cancelled"
        finally:
            await sim.stop()                                      # TWS is gone for good
        await until(lambda: not v.client.ib.isConnected(), what="disconnect seen")
        for read in (v.positions, v.fills, v.balance, v.orders, lambda: v.order("1")):
            with pytest.raises(TransportError):
                await read()
        from arbbot.venues.common.errors import NotSent
        with pytest.raises(NotSent):                              # nothing was written: safe to send again
            await v.place_order(OrderRequest(MID, Side.YES, 4100, 100, tif=IOC, client_order_id="a-3"))
        await v.close()
    run(main())


def test_executor_finds_the_order_whose_answer_died_with_the_socket(tmp_path):
    """TWS takes leg 0's order and the API socket dies before any answer: the executor looks it
    up by orderRef (the adapter reconnects) and completes; nothing streams to trigger it."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, tws_faults=TwsFaults(drop_after_place=1))
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await v.discover_markets()
            store = OrderStore(str(tmp_path / "o.sqlite"))
            ex = Executor(store, routes(v), config=ExecutorConfig(order_timeout_s=3.0))
            res = await asyncio.wait_for(ex.execute(opportunity(500, ((MID, "YES", 4100), (LOW, "NO", 9300))),
                                                    execution_id="x1"), 30)
            assert (res.state, res.errored, res.filled) == ("complete", False, {0: 500, 1: 500})
            assert [(i.client_order_id, i.state, i.filled_qty) for i in store.intents()] == \
                [("x1-L0E0", "filled", 500), ("x1-L1E0", "filled", 500)]
            assert store.cash_flow("x1") == -6_700_000 and store.safe_mode() is None
            assert sim.backend.positions() == {YES: 5, LOW_NO: 5} and v.client.reconnects == 1
            store.close()
            await v.close()
        finally:
            await sim.stop()
    run(main())


# ---- 5. TWS connectivity messages ----------------------------------------------------------------
class StreamedMid:
    """MID's books streamed by the real adapter from the TWS simulator; `truth()` is the book the
    simulator's quotes imply now."""

    def __init__(self, sim, v) -> None:
        self.sim, self.v, self.seen = sim, v, []
        self.task: asyncio.Task | None = None

    @classmethod
    async def start(cls, sim) -> "StreamedMid":
        v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11, poll_s=0.05)
        await v.discover_markets()
        s = cls(sim, v)

        async def consume():
            async for u in v.stream_books([MID]):
                s.seen.append(u.book)
        s.task = asyncio.create_task(consume())
        await s.until_true("streamed book")
        return s

    def truth(self):
        qy, qn = ib_quote(self.sim.backend.quote(YES)), ib_quote(self.sim.backend.quote(NO))
        return ForecastExVenue._bids(qy, qn), ForecastExVenue._bids(qn, qy)

    def last_is_true(self) -> bool:
        return bool(self.seen) and (self.seen[-1].yes_bids, self.seen[-1].no_bids) == self.truth()

    async def until_true(self, what: str, timeout: float = 5.0) -> None:
        await until(lambda: self.last_is_true() and self.v.feed.streaming, timeout=timeout, what=what)

    def steps(self, n: int = 40) -> None:
        for _ in range(n):
            self.sim.step()

    async def close(self) -> None:
        self.task.cancel()
        await self.v.close()


def test_1100_puts_the_feed_down_and_1101_resubscribes_and_resyncs():
    async def main():
        sim = await start_tws("forecastex", 3, step_interval=None)
        try:
            s = await StreamedMid.start(sim)
            v = s.v
            sim.connectivity_lost()                                    # 1100
            await until(lambda: not v.feed.streaming, timeout=1.0, what="feed down")
            assert "1100" in v.client.market_data_down()
            with pytest.raises(TransportError, match="1100"):
                await v.fetch_book(MID)                                # never the frozen ticker
            frozen = len(s.seen)
            s.steps()
            await asyncio.sleep(0.3)
            assert len(s.seen) == frozen                               # nothing published while down
            sim.connectivity_restored(data_lost=True)                  # 1101: subscriptions gone at TWS
            await s.until_true("books streamed again")
            assert v.client.market_data_down() is None and len(s.seen) > frozen
            (conn,) = sim.conns
            assert len(conn.tickers) == 2 and conn.account and conn.positions   # re-subscribed, account too
            s.steps()                                                  # and they follow the book again
            await until(s.last_is_true, what="books follow")
            assert (await v.fetch_book(MID)).yes_bids == s.truth()[0]
            await s.close()
        finally:
            await sim.stop()
    run(main())


def test_broken_market_data_farm_2103_down_until_2104():
    async def main():
        sim = await start_tws("forecastex", 3, step_interval=None)
        try:
            s = await StreamedMid.start(sim)
            v = s.v
            sim.farm_broken("usfarm")
            await until(lambda: not v.feed.streaming, timeout=1.0, what="feed down")
            assert v.client.market_data_down() == "IB 2103: Market data farm connection is broken:usfarm"
            sim.hmds_ok()                                             # another farm's OK changes nothing
            await asyncio.sleep(0.2)
            assert not v.feed.streaming
            s.steps()
            sim.farm_ok("usfarm")                                     # 2104: kept subscriptions flow again
            await s.until_true("books after 2104")
            assert v.client.market_data_down() is None
            await s.close()
        finally:
            await sim.stop()
    run(main())


# ---- 6. IB's execution day ----------------------------------------------------------------------
def test_fill_history_start_is_the_latest_candidate_midnight():
    async def main():
        clock = ManualClock(utc_ms(2026, 12, 1, 7, 0))                      # 01:00 in Chicago, 02:00 in New York
        sim = await start_tws("forecastex", 1, step_interval=None, start_ms=SIM_START_MS, clock_ms=clock, tz_offset_min=-360)
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, 11, wall_ms=clock)
            v = ForecastExVenue(cl, ["FF"])
            assert cl.tws_offset_min == -360                           # from the handshake clock
            assert v.fill_history_start_ms() == utc_ms(2026, 12, 1, 6, 0)    # Chicago's midnight, the latest
            clock.ms = utc_ms(2026, 12, 1, 5, 30)                      # 23:30 Chicago, 00:30 New York
            assert v.fill_history_start_ms() == utc_ms(2026, 12, 1, 5, 0)    # New York's
            clock.ms = utc_ms(2026, 12, 1, 2, 0)                       # 20:00 Chicago, 21:00 New York
            assert v.fill_history_start_ms() == utc_ms(2026, 12, 1, 0, 0)    # UTC's
            cl.tws_offset_min = None                                   # TWS's zone unknown: UTC / New York
            clock.ms = utc_ms(2026, 12, 1, 7, 0)
            assert v.fill_history_start_ms() == utc_ms(2026, 12, 1, 5, 0)
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_reconcile_after_ibs_day_roll_compares_only_the_current_days_fills(tmp_path):
    """TWS lists the current day's executions only (sim: `day_roll`). The TWS clock and the
    adapter's wall clock run together (now, then a day later: ib_async stamps a live fill with
    its real arrival time); after the roll the store's fills of yesterday are not compared."""
    async def main():
        now = int(time.time() * 1000)
        clock = ManualClock(now)
        sim = await start_tws("forecastex", 1, step_interval=None, start_ms=SIM_START_MS, clock_ms=clock, tws_faults=TwsFaults(day_roll=True))
        try:
            v = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, 11, wall_ms=clock), ["FF"])
            await v.discover_markets()
            assert v.fill_history_start_ms() <= now
            store = OrderStore(str(tmp_path / "o.sqlite"))
            await record_cash_baselines(store, {"forecastex": v})
            ex = Executor(store, routes(v), config=ExecutorConfig(order_timeout_s=3.0))
            res = await ex.execute(opportunity(500, ((MID, "YES", 4100), (LOW, "NO", 9300))), execution_id="x1")
            assert res.state == "complete" and len(store.fills()) == 2
            assert (await reconcile(store, {"forecastex": v}))["differences"] == 0
            clock.ms = now + 24 * MS_H                                 # a day later; TWS restarted overnight
            v.client.ib.client.conn.transport.abort()
            await until(lambda: not v.client.ib.isConnected(), what="disconnect seen")
            assert await v.fills() == []                               # IB lists today's executions only
            start = v.fill_history_start_ms()
            assert max(f.ts_ms for f in store.fills()) < start <= clock.ms
            assert start >= utc_ms(*datetime.fromtimestamp(clock.ms / 1000, timezone.utc).timetuple()[:3])
            rep = await reconcile(store, {"forecastex": v})
            assert rep["differences"] == 0, rep["venues"]["forecastex"]["differences"]
            assert rep["venues"]["forecastex"]["cash_moved_micros"] == {"venue": -6_700_000, "store": -6_700_000}
            # a fill of today is compared as ever: one the store lacks is a difference
            o = await v.place_order(OrderRequest(MID, Side.YES, 4200, 100, tif=IOC, client_order_id="manual"))
            assert o.filled_lots == 100
            diffs = (await reconcile(store, {"forecastex": v}))["venues"]["forecastex"]["differences"]
            assert [(d["what"], d["store"]) for d in diffs if d["what"] == "fill"] == [("fill", None)]
            store.close()
            await v.close()
        finally:
            await sim.stop()
    run(main())


# ---- 7. request errors raise; per-product catalog --------------------------------------------------
def test_catalog_pacing_refusal_penalizes_and_a_missing_product_is_asked_again_after_it():
    async def main():
        async with catalog_tws(build("universe", 1, markets=800)) as sim:
            products = sorted({c.symbol for c, _m, _s in sim.backend.contracts.values()})
            assert products == ["GDP", "YLD"]
            per = {p: len(sim.backend.contracts_for(p)) // 2 for p in products}
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, 11, pacer=Pacer(penalty_s=0.6))
            assert cl.ib.RaiseRequestErrors is True
            v = ForecastExVenue(cl, products)
            sim.refuse = ["YLD"]
            sim.asked.clear()
            first = [m.market_id for m in await v.discover_markets()]
            assert sim.asked == ["GDP", "YLD"] and len(first) == per["GDP"]
            assert {m.split("-")[0] for m in first} == {"GDP"}
            assert 0.3 < cl.pacer.penalty_left() <= 0.6                # the refusal was seen: penalty
            # order lookups are not held up by the catalog's penalty
            t0 = time.monotonic()
            assert await asyncio.wait_for(v.orders(), 2) == [] and time.monotonic() - t0 < 0.5
            again = [m.market_id for m in await v.discover_markets()]  # during the penalty: not asked
            assert again == first and sim.asked == ["GDP", "YLD"]
            await asyncio.sleep(cl.pacer.penalty_left() + 0.05)
            every = [m.market_id for m in await v.discover_markets()]  # after it: the missing product only
            assert sim.asked == ["GDP", "YLD", "YLD"] and len(every) == per["GDP"] + per["YLD"]
            assert await v.discover_markets() == list(v.markets.values()) and len(sim.asked) == 3   # cached
            await v.close()
    run(main())


def test_a_refused_catalog_is_an_error_not_an_empty_one():
    async def main():
        async with catalog_tws() as sim:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, 11, pacer=Pacer(penalty_s=30))
            v = ForecastExVenue(cl, ["FF"])
            sim.refuse = ["FF"]
            with pytest.raises(RateLimited) as first:
                await v.discover_markets()
            assert first.value.retry_after == 30 and v.markets == {}
            with pytest.raises(RateLimited) as second:                 # not asked again during the penalty
                await v.discover_markets()
            assert 0 < second.value.retry_after <= 30 and sim.asked == ["FF"]
            # a product IB does not list (200) is an empty product, not an error
            assert await ForecastExVenue(cl, ["ZZZ"]).discover_markets() == []
            await v.close()
    run(main())


def test_an_observer_beside_the_bot_sees_the_bots_open_orders():
    """`arbbot reconcile` connects as another API client than the running bot's; IB's
    reqOpenOrders lists the requesting client's open orders only, so the observer asks for every
    client's (reqAllOpenOrders): the bot's resting order is there, where it listed nothing."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            bot = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11)
            await bot.discover_markets()
            o = await bot.place_order(OrderRequest(MID, Side.NO, 3000, 200, tif=TimeInForce.GTC,
                                                   client_order_id="x-L0E0"))
            assert o.status is OrderStatus.RESTING
            blind = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=12)
            seen = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=13, every_client=True)
            for v in (blind, seen):
                await v.discover_markets()
            assert await blind.orders(status="resting") == []            # IB's per-client answer
            assert [(x.client_order_id, x.order_id, x.qty_lots) for x in await seen.orders(status="resting")] == \
                [("x-L0E0", o.order_id, 200)]
            await seen.client.refresh_orders()                            # and on every refresh
            assert [x.client_order_id for x in await seen.orders(status="resting")] == ["x-L0E0"]
            for v in (blind, seen, bot):
                await v.close()
        finally:
            await sim.stop()
    run(main())
