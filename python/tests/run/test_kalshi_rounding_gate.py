"""The trader asks an opportunity's planned profit to cover the minimum profit plus what Kalshi's
2026 rounding may charge beyond ARBITRAGE.md's fee model, per Kalshi leg
(`ROUNDING_ALLOWANCE_MICROS`, $0.011: 1¢ for an order of up to 99 fills on whole-cent amounts,
$0.0001 a fill for 10 fills on sub-cent ones). Kalshi debits each fill in whole cents: three
one-contract fills at 5¢ pay 2¢ of fees where the model's order pays 1¢ (tests/sim/
test_kalshi_fee_rounding.py); a 3-contract arb planned at +$0.005 loses $0.005. Units: µ$."""
from __future__ import annotations

import dataclasses

import pytest

from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.risk.gates import RiskGates
from arbbot.run.trader import PaperTrader
from arbbot.venues.kalshi.fees import ROUNDING_ALLOWANCE_MICROS, fill_fees
from tests.risk.trades import two_leg_opportunity

MIN_PROFIT = 10_000


def offered(tmp_path, profit: int, legs_on_kalshi: int) -> dict:
    """What the trader skipped for `tests.risk.trades.two_leg_opportunity` planned at `profit`
    with `legs_on_kalshi` of its two legs on Kalshi; the venues hold no cash, so one that passes
    the rounding check is skipped for its balance instead."""
    opp = two_leg_opportunity("o1")
    if legs_on_kalshi == 2:
        opp = dataclasses.replace(opp, legs=(opp.legs[0], dataclasses.replace(opp.legs[1], market="kalshi:B")))
    elif legs_on_kalshi == 0:
        opp = dataclasses.replace(opp, legs=(dataclasses.replace(opp.legs[0], market="polymarket:A"), opp.legs[1]))
    opp = dataclasses.replace(opp, profit=profit)
    store = OrderStore(tmp_path / "o.db")
    routes = {leg.market: Route(None, leg.market.split(":")[1]) for leg in opp.legs}
    trader = PaperTrader(Executor(store, routes, config=ExecutorConfig(min_profit=MIN_PROFIT)), RiskGates(), {}, store)
    trader.cash = {"kalshi": 0, "polymarket": 0}
    trader.offer(opp)
    store.close()
    return dict(trader.stats.skipped)


def test_the_allowance_covers_the_venues_worst_case_of_three_fills():
    modelled = 10_000                                    # ceil(3 × $0.003325) to the cent
    assert sum(fill_fees(70_000, [(500, 100)] * 3)) - modelled == 10_000 <= ROUNDING_ALLOWANCE_MICROS == 11_000


@pytest.mark.parametrize("kalshi,profit,skipped", [
    (1, MIN_PROFIT + 10_999, "fee rounding"),            # one Kalshi leg: $0.011 more than the minimum needed
    (1, MIN_PROFIT + 11_000, "balance"),
    (2, MIN_PROFIT + 21_999, "fee rounding"),            # two: $0.022
    (2, MIN_PROFIT + 22_000, "balance"),
    (0, MIN_PROFIT, "balance"),                          # no Kalshi leg: the minimum alone
])
def test_a_planned_profit_short_of_the_minimum_plus_kalshis_rounding_is_skipped(tmp_path, kalshi, profit, skipped):
    assert offered(tmp_path, profit, kalshi) == {skipped: 1}
