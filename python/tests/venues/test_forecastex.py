"""ForecastEx adapter against the simulated IB client."""
from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from arbbot.model import FeeSchedule
from arbbot.sim.scenarios import build
from arbbot.snapshot import dump_snapshot
from arbbot.venues.common import Action, OrderRejected, OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.forecastex import ForecastExVenue
from tests.venues.sim_ib_client import SimIBClient
from tests.fx_day import FIRST, MID, LOW



def test_catalog_book_orders_positions():
    async def main():
        ib = SimIBClient(build("forecastex", 1), 1)
        v = ForecastExVenue(ib, ["FF"])
        ms = {m.market_id: m for m in await v.discover_markets()}
        assert sorted(ms) == [FIRST, MID, LOW]
        # ForecastEx's cent is inside its prices (the pair matches at $1.01), IB charges no commission:
        # no fee on top of the derived asks, which are IB's displayed ASKs (`_bids`)
        assert ms[MID].fees == FeeSchedule() and ms[MID].yes_token == "713900002"
        await v.discover_markets()
        assert ib.requests == 1                       # conIds cached
        b = await v.fetch_book(MID)
        # fair 39¢ ± 2¢, 100 contracts at the top
        assert b.yes_bids == ((3700, 10_000),) and b.no_bids == ((5900, 10_000),)
        yes_ask = await ib.quote(713900002)
        assert yes_ask.ask * 10_000 == 10_000 - b.no_bids[0][0]          # "BuyYesNow" = $1 − NO bid
        o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=TimeInForce.IOC))
        assert o.status is OrderStatus.FILLED and o.filled_lots == 500
        assert (o.cost_micros, o.fees_micros) == (2_050_000, 0)           # 5 × $0.41, from the executions
        r = await v.place_order(OrderRequest(MID, Side.NO, 3000, 200))
        assert r.status is OrderStatus.RESTING
        c = await v.cancel_order(r.order_id)
        assert c.status is OrderStatus.CANCELED
        assert [(p.market_id, p.yes_lots) for p in await v.positions()] == [(MID, 500)]
        # exit by buying the opposite side: IB nets the pair
        n = await v.place_order(OrderRequest(MID, Side.NO, 6300, 500, tif=TimeInForce.IOC))
        assert n.filled_lots == 500 and await v.positions() == []
        with pytest.raises(OrderRejected, match="buy-only"):
            await v.place_order(OrderRequest(MID, Side.YES, 4000, 100, action=Action.SELL))
        with pytest.raises(OrderRejected, match="whole contracts"):
            await v.place_order(OrderRequest(MID, Side.YES, 4000, 150))
        with pytest.raises(OrderRejected, match="0.02-0.99"):
            await v.place_order(OrderRequest(MID, Side.YES, 100, 100))
        snap = dump_snapshot([(ms[MID], b)])
        assert snap["markets"][0]["fees"] == {}
        from arbbot.snapshot import parse_snapshot
        parse_snapshot(snap)
    asyncio.run(main())


def test_sim_client_order_ref_and_all_trades():
    """`SimIBClient` carries the client_order_id as orderRef; `orders()` lists every order."""
    async def main():
        ib = SimIBClient(build("forecastex", 1), 1)
        v = ForecastExVenue(ib, ["FF"])
        await v.discover_markets()
        o = await v.place_order(OrderRequest(MID, Side.YES, 4100, 500, tif=TimeInForce.IOC, client_order_id="a-L0E0"))
        r = await v.place_order(OrderRequest(MID, Side.NO, 3000, 200, client_order_id="a-L1E0"))
        bad = await ib.place_limit(713900002, "BUY", 1, Decimal("0.415"), "DAY", order_ref="a-L1E1")
        assert bad.status == "Inactive" and bad.order_ref == "a-L1E1"
        got = {x.client_order_id: (x.order_id, x.status, x.filled_lots) for x in await v.orders()}
        assert got == {"a-L0E0": (o.order_id, OrderStatus.FILLED, 500), "a-L1E0": (r.order_id, OrderStatus.RESTING, 0),
                       "a-L1E1": (str(bad.order_id), OrderStatus.REJECTED, 0)}
        assert [t.order_ref for t in await ib.open_trades()] == ["a-L1E0"]
        (f,) = await v.fills()
        assert (f.fill_id, f.order_id, f.qty_lots, f.price_ticks, f.fee_micros) == \
            ("0000f0e0.00000001.01.01", o.order_id, 500, 4100, 0)
    asyncio.run(main())
