"""ForecastEx (IB): the cash `balance()` reports is what is free to spend. A resting buy reserves
its cost in AvailableFunds, not in TotalCashValue; the trader checks a leg against the balance,
so a leg sized on the cash alone was refused by IB (error 201) — a second leg refused leaves the
first naked. Through the real `IBAsyncClient` against the simulated TWS (scenario "forecastex",
seed 1; MID's NO bid 0.59 × 100 on the book, $10,000 in the account). Units: µ$."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from arbbot.sim.forecastex import start_tws
from arbbot.venues.common import OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient
from tests.fx_day import MID
from tests.sim.venue_envs import until


def test_a_resting_buy_leaves_its_cost_out_of_the_balance():
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=62)
            v = ForecastExVenue(cl, ["FF"])
            await v.discover_markets()
            before = (await v.balance()).cash_micros
            # 1,000 NO at 3¢, far below the book: it rests, reserving $30
            o = await v.place_order(OrderRequest(MID, Side.NO, 300, 100_000, tif=TimeInForce.GTC,
                                                 client_order_id="r1-L0E0"))
            assert o.status is OrderStatus.RESTING
            await until(lambda: any(x.tag == "AvailableFunds" and float(x.value) < before / 1e6
                                    for x in cl.ib.accountValues()), what="AvailableFunds after the order")
            during = (await v.balance()).cash_micros
            await v.cancel_order(o.order_id)
            await until(lambda: any(x.tag == "AvailableFunds" and float(x.value) == before / 1e6
                                    for x in cl.ib.accountValues()), what="AvailableFunds after the cancel")
            after = (await v.balance()).cash_micros
            await v.close()
            return before, during, after
        finally:
            await sim.stop()
    before, during, after = asyncio.run(asyncio.wait_for(main(), 60))
    assert (before, during, after) == (10_000_000_000, 9_970_000_000, 10_000_000_000)


def test_a_margin_accounts_loan_value_is_not_cash():
    """AvailableFunds above the cash (loan value of other holdings) does not raise the balance."""
    class IB:
        def accountValues(self, account=""):
            return [SimpleNamespace(tag="AvailableFunds", value="25000.00", currency="USD"),
                    SimpleNamespace(tag="TotalCashValue", value="1234.56", currency="USD"),
                    SimpleNamespace(tag="AvailableFunds", value="1.00", currency="EUR")]

        def isConnected(self):
            return True
    cl = IBAsyncClient(IB())

    async def cash():
        return await cl.cash()
    assert str(asyncio.run(cash())) == "1234.56"
