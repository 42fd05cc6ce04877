"""Polymarket's fractional shares in cash reconciliation.

A marketable BUY on Polymarket spends its whole dollar amount and receives shares with 6 decimals
(py-clob-client-v2 #89; factsheet §2.4): $3.31 at 0.33 buys 10.030303 shares. The store keeps
whole lots (0.01 share): 10.03 shares at 0.33, $3.3099 — $0.0001 under what the venue's cash moved.
Before, every reconciliation after such an order found that cash difference, and a running bot
entered safe mode at the first one. Now a difference within one lot at each BUY order's highest
fill price is the rounding (≤ 1¢ per order), and once the market resolves, a payout up to one lot
at $1 beyond the store's lots (the fraction of a share it holds); anything else — more spent, or
any surplus before a resolution — is still a difference.

Units: lots (0.01 share), ticks ($0.0001), µ$."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from arbbot.execution.reconcile import reconcile_venue, sub_lot_slack
from arbbot.execution.store import FillRow, OrderStore
from arbbot.model import Side, Venue
from arbbot.venues.common.model import Action, Balance, Fill, Order, OrderStatus, Position

BASELINE = 1_000_000_000
TOKEN = "0xabc"
# the FAK BUY of $3.31 at 0.33: two maker fills at 0.33, 1,003 lots in all (10.030303 shares bought)
FILLS = [Fill(Venue.POLYMARKET, "t1", "0xorder", TOKEN, Side.YES, Action.BUY, 3_300, 600, 53_064, True, 1),
         Fill(Venue.POLYMARKET, "t2", "0xorder", TOKEN, Side.YES, Action.BUY, 3_300, 403, 35_646, True, 1)]
FEES = 53_064 + 35_646
SPENT = 3_310_000                            # µ$: the order's maker amount, all of it spent


class PolymarketAfterTheBuy:
    buys_by_amount = True

    def __init__(self, spent_beyond: int = 0) -> None:
        self.spent_beyond = spent_beyond

    async def positions(self):
        return [Position(Venue.POLYMARKET, TOKEN, 1_003)]

    async def orders(self, **_):
        return []

    async def fills(self, **_):
        return FILLS

    async def balance(self):
        return Balance(Venue.POLYMARKET, BASELINE - SPENT - FEES - self.spent_beyond)


def _store(tmp_path) -> OrderStore:
    store = OrderStore(str(tmp_path / "o.db"), clock_ms=lambda: 0)
    leg = SimpleNamespace(market=f"polymarket:{TOKEN}", side=Side.YES, qty=1_003, worst_price=3_300,
                          cost=3_309_900, fee=FEES)
    opp = SimpleNamespace(id="opp", lane=1, kind=1, qty=1_003, payout=10_030_000, cost=3_309_900, fee=FEES,
                          profit=0, legs=[leg])
    coid = store.add_intent("x1", 0, "entry", 0, venue="polymarket", market=f"polymarket:{TOKEN}",
                            market_id=TOKEN, side="yes", action="buy", qty=1_003, price=3_300, tif="ioc",
                            new_execution=opp)
    store.record_order(coid, Order(Venue.POLYMARKET, "0xorder", coid, TOKEN, Side.YES, Action.BUY, 3_300, 1_003,
                                   1_003, 0, OrderStatus.FILLED, fees_micros=FEES, cost_micros=SPENT), FILLS)
    store.set_cash_baseline("polymarket", BASELINE)
    return store


def test_the_sub_lot_money_of_a_buy_by_amount_is_no_cash_difference(tmp_path):
    store = _store(tmp_path)
    report = asyncio.run(reconcile_venue(store, "polymarket", PolymarketAfterTheBuy(), markets=[]))
    store.close()
    assert report["cash_moved_micros"] == {"venue": -SPENT - FEES, "store": -3_309_900 - FEES}
    assert report["differences"] == []


@pytest.mark.parametrize("beyond", [3_201, 10_000])
def test_more_than_a_lot_per_order_is_still_a_difference(tmp_path, beyond):
    """One lot at 0.33 is 3,300 µ$: the 100 µ$ of rounding and 3,201 more is 3,301, beyond it."""
    store = _store(tmp_path)
    report = asyncio.run(reconcile_venue(store, "polymarket", PolymarketAfterTheBuy(beyond), markets=[]))
    store.close()
    assert [d["what"] for d in report["differences"]] == ["cash"]


def test_a_venue_that_buys_by_count_gets_no_allowance(tmp_path):
    class Counted(PolymarketAfterTheBuy):
        buys_by_amount = False
    store = _store(tmp_path)
    report = asyncio.run(reconcile_venue(store, "polymarket", Counted(), markets=[]))
    store.close()
    assert [d["what"] for d in report["differences"]] == ["cash"]


def test_a_surplus_before_any_resolution_is_a_difference(tmp_path):
    """The rounding only ever leaves the venue with less cash than the store's fills say: 100 µ$
    more than they explain (a sale's fill missing, a refund) is reported, however small."""
    store = _store(tmp_path)
    report = asyncio.run(reconcile_venue(store, "polymarket", PolymarketAfterTheBuy(-100 - 100), markets=[]))
    store.close()
    assert [d["what"] for d in report["differences"]] == ["cash"]


def test_a_redemption_paying_the_fraction_of_a_share_too_is_found(tmp_path):
    """The market resolves YES; the venue redeems the 10.030303 shares held ($10.030303), where the
    store knows 1,003 lots ($10.03). Before, the redemption was not recognised (the payouts must
    match exactly) and the whole payout was a cash difference."""
    from tests.execution.test_resolutions import resolution
    store = _store(tmp_path)
    store.record_resolution(resolution(TOKEN, "yes", 10_000, venue=Venue.POLYMARKET, paid=False))

    class Redeemed(PolymarketAfterTheBuy):
        async def positions(self):
            return [Position(Venue.POLYMARKET, TOKEN, 1_003)]

        async def balance(self):
            return Balance(Venue.POLYMARKET, BASELINE - SPENT - FEES + 10_030_303)
    report = asyncio.run(reconcile_venue(store, "polymarket", Redeemed(), markets=[]))
    store.close()
    assert report["differences"] == [] and report["redeemed"] == [TOKEN]
    assert report["resolved_micros"]["redeemed"] == 10_030_000


def test_the_slack_is_a_lot_at_each_buy_orders_highest_price_and_a_lot_at_a_dollar_once_resolved():
    def row(fid, coid, market, action, price):
        return FillRow("polymarket", fid, coid, "o", market, "yes", action, 100, price, 0, True)
    fills = [row("a", "c1", "t1", "buy", 3_300), row("b", "c1", "t1", "buy", 3_500),
             row("c", "c2", "t2", "buy", 9_900), row("d", "c3", "t2", "sell", 9_000)]
    assert sub_lot_slack(fills) == (3_500 + 9_900, 0)
    assert sub_lot_slack(fills, {"t2"}) == (3_500 + 9_900, 10_000)
    assert sub_lot_slack([]) == (0, 0)
