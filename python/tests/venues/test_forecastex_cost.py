"""What a ForecastEx order cost: `Order.cost_micros` = Σ over IB's executions of the order of
price × quantity (ticks × lots = µ$ exactly), `fees_micros` = Σ of IB's commission per execution
(what `fills()` reports as each fill's fee), on place answers, cancels and order lookups.

Against the in-process simulator client, the real `IBAsyncClient` over the simulator's TWS wire
(ib_async decoding the simulator's execDetails / commissionReport / completedOrder messages), and
ib_async objects for orderings the simulator does not produce (the order status before its
executions). The seeded book of MID (scenario "forecastex", seed 1) offers YES at 0.41 × 100,
0.42 × 200 and 0.43 × 300 contracts (the NO bids 0.59 / 0.58 / 0.57).
"""
from __future__ import annotations

import asyncio

from arbbot.sim.engine.matching import FULL, HOUSE
from arbbot.sim.forecastex import start_tws
from arbbot.sim.scenarios import build
from arbbot.venues.common import OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient, Pacer
from tests.venues.sim_ib_client import SimIBClient
from tests.venues.test_forecastex_ib_async import FakeClock, FakeIB
from tests.fx_day import MID

IOC = TimeInForce.IOC


def paid(fills) -> int:
    """µ$ paid for `fills`: Σ price (ticks) × quantity (lots)."""
    return sum(f.price_ticks * f.qty_lots for f in fills)


def run(coro, limit: float = 20.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


def test_cost_and_fees_from_executions_sim_client():
    async def main():
        ib = SimIBClient(build("forecastex", 1), 1)
        v = ForecastExVenue(ib, ["FF"])
        await v.discover_markets()
        # 5 contracts at 0.41: $2.05
        o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="c1"))
        assert (o.status, o.filled_lots, o.cost_micros, o.fees_micros) == (OrderStatus.FILLED, 500, 2_050_000, 0)
        # IOC for 500 at ≤ 0.42 across two levels: 95 left at 0.41 ($38.95) + 200 at 0.42 ($84.00) =
        # $122.95 for 295 contracts (the limit × filled would say $123.90); the rest cancelled
        p = await v.place_order(OrderRequest(MID, Side.YES, 4200, 50_000, tif=IOC, client_order_id="c2"))
        assert (p.status, p.filled_lots, p.remaining_lots) == (OrderStatus.CANCELED, 29_500, 0)
        assert (p.cost_micros, p.fees_micros) == (122_950_000, 0)
        fp = await v.fills(order_id=p.order_id)
        assert [(f.price_ticks, f.qty_lots) for f in fp] == [(4100, 9_500), (4200, 20_000)]
        assert paid(fp) == p.cost_micros
        # the same from the lookups recovery and the executor use
        got = {x.client_order_id: (x.filled_lots, x.cost_micros, x.fees_micros) for x in await v.orders()}
        assert got == {"c1": (500, 2_050_000, 0), "c2": (29_500, 122_950_000, 0)}
        assert (await v.order(p.order_id)).cost_micros == 122_950_000
        # a resting NO bid at 0.60 (the best) for 3, hit for 1 by another trader, then cancelled: $0.60
        r = await v.place_order(OrderRequest(MID, Side.NO, 6000, 300, client_order_id="c3"))
        assert (r.status, r.cost_micros) == (OrderStatus.RESTING, 0)
        ib.exchange.place(HOUSE, MID, "yes", "buy", FULL - 6000, 100, "ioc")
        assert (await v.order(r.order_id)).cost_micros == 600_000
        c = await v.cancel_order(r.order_id)
        assert (c.status, c.filled_lots, c.cost_micros, c.fees_micros) == (OrderStatus.CANCELED, 100, 600_000, 0)
    run(main())


def test_cost_over_the_tws_wire_counts_only_the_orders_own_executions():
    """Real ib_async decoding: per-execution prices from execDetails. Two API clients number
    their orders from 1 alike and IB reports every client's executions and completed orders:
    an order's executions are found by IB's permId, not by the (shared) order id."""
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            a = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=61), ["FF"])
            await a.discover_markets()
            o = await a.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=IOC, client_order_id="a1"))
            assert (o.status, o.filled_lots, o.cost_micros, o.fees_micros) == (OrderStatus.FILLED, 500, 2_050_000, 0)
            p = await a.place_order(OrderRequest(MID, Side.YES, 4200, 50_000, tif=IOC, client_order_id="a2"))
            assert (p.status, p.filled_lots, p.cost_micros, p.fees_micros) == \
                (OrderStatus.CANCELED, 29_500, 122_950_000, 0)                  # 95 × 0.41 + 200 × 0.42
            assert paid(await a.fills(order_id=p.order_id)) == 122_950_000

            b = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=62), ["FF"])
            await b.discover_markets()
            q = await b.place_order(OrderRequest(MID, Side.YES, 4300, 200, tif=IOC, client_order_id="b1"))
            # each client's API ids run alike (the same API id, two orders): the ids the venue
            # exposes are IB's permIds, unique in the account
            assert sim.backend.orders[int(q.order_id)].order_id == sim.backend.orders[int(o.order_id)].order_id
            assert q.order_id != o.order_id
            assert (q.status, q.filled_lots, q.cost_micros) == (OrderStatus.FILLED, 200, 860_000)   # 2 × 0.43
            got = {x.client_order_id: (x.filled_lots, x.cost_micros) for x in await b.orders()}
            assert got == {"a1": (500, 2_050_000), "a2": (29_500, 122_950_000), "b1": (200, 860_000)}
            got = {x.client_order_id: (x.filled_lots, x.cost_micros) for x in await a.orders()}
            assert got == {"a1": (500, 2_050_000), "a2": (29_500, 122_950_000), "b1": (200, 860_000)}
            await a.close()
            await b.close()
        finally:
            await sim.stop()
    run(main())


class LateExecutionsIB(FakeIB):
    """IB sending the order status (Filled) before the executions: they arrive `delay` s later,
    or never (None) until asked for again (`reqExecutions`)."""

    def __init__(self, delay: float | None) -> None:
        super().__init__()
        self.delay = delay
        self.held = []

    def placeOrder(self, contract, order):
        t = super().placeOrder(contract, order)
        late = list(t.fills)
        t.fills.clear()
        for f in late:
            self._fills.remove(f)
        self.held += [(t, f) for f in late]
        if self.delay is not None:
            asyncio.get_running_loop().call_later(self.delay, self.deliver)
        return t

    def deliver(self) -> None:
        for t, f in self.held:
            t.fills.append(f)
            self._fills.append(f)
        self.held = []

    async def reqExecutionsAsync(self, execFilter=None):
        self.deliver()
        return await super().reqExecutionsAsync(execFilter)


def _venue(ib: FakeIB, ack_timeout: float) -> ForecastExVenue:
    clock = FakeClock()
    cl = IBAsyncClient(ib, pacer=Pacer(clock=clock, sleep=clock.sleep), quote_timeout=0.1, ack_timeout=ack_timeout)
    return ForecastExVenue(cl, ["FF"])


def test_executions_after_the_order_status_are_waited_for():
    async def main():
        v = _venue(LateExecutionsIB(delay=0.1), ack_timeout=2.0)
        await v.discover_markets()
        # FakeIB fills at the YES ask 0.44 with a $0.03 commission report for the 3 contracts
        o = await v.place_order(OrderRequest(MID, Side.YES, 4500, 300, tif=IOC, client_order_id="w1"))
        assert (o.status, o.filled_lots, o.cost_micros, o.fees_micros) == (OrderStatus.FILLED, 300, 1_320_000, 30_000)
    run(main())


def test_fill_without_its_executions_is_priced_at_the_limit_until_they_come():
    """No execution of a filled order yet: what it cost is not known; its filled contracts are
    counted at the limit (a BUY never pays more) so held exposure is never understated, and a
    lookup (which asks IB for the executions again) gives the exact amount."""
    async def main():
        v = _venue(LateExecutionsIB(delay=None), ack_timeout=0.1)
        await v.discover_markets()
        o = await v.place_order(OrderRequest(MID, Side.YES, 4500, 300, tif=IOC, client_order_id="n1"))
        assert (o.status, o.filled_lots, o.cost_micros, o.fees_micros) == (OrderStatus.FILLED, 300, 1_350_000, 0)
        (x,) = await v.orders()
        assert (x.client_order_id, x.cost_micros, x.fees_micros) == ("n1", 1_320_000, 30_000)   # 3 × 0.44
    run(main())
