"""A cash difference in `arbbot.reconcile/1`: money in JSON is dollars with 6 decimals or an
integer µ$ in a `*_micros` field (DESIGN.md), so the difference's "venue" / "store" are dollar
strings while `cash_moved_micros` keeps the integers."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from arbbot.execution.reconcile import reconcile_venue
from arbbot.execution.store import OrderStore
from arbbot.model import Side, Venue
from arbbot.venues.common.model import Action, Balance, Fill, Order, OrderStatus, Position

BASELINE = 1_000_000_000                     # µ$: $1,000 when the store first met the venue
# the store's one order: BUY NO 1.5 contracts (150 lots) at 4,000 ticks in two fills, fees 3 + 4 µ$
FILLS = [Fill(Venue.KALSHI, "f0", "o0", "A", Side.NO, Action.BUY, 4_000, 37, 3, True, 1),
         Fill(Venue.KALSHI, "f1", "o0", "A", Side.NO, Action.BUY, 4_000, 113, 4, True, 1)]
STORE_CASH = -(4_000 * 150 + 3 + 4)          # µ$: −600,007
VENUE_CASH = STORE_CASH - 1                  # the venue's balance is 1 µ$ lower: −600,008


class OneOrderVenue:
    """Kalshi as it answers after the order: its fills and position, a balance 1 µ$ off."""

    async def positions(self):
        return [Position(Venue.KALSHI, "A", -150)]

    async def orders(self, **_):
        return []

    async def fills(self, **_):
        return FILLS

    async def balance(self):
        return Balance(Venue.KALSHI, BASELINE + VENUE_CASH)


def test_a_cash_difference_is_dollars_with_6_decimals(tmp_path):
    store = OrderStore(str(tmp_path / "o.db"), clock_ms=lambda: 0)
    leg = SimpleNamespace(market="kalshi:A", side=Side.NO, qty=150, worst_price=4_000, cost=600_000, fee=7)
    opp = SimpleNamespace(id="opp", lane=1, kind=1, qty=150, payout=1_500_000, cost=600_000, fee=7, profit=0,
                          legs=[leg])
    coid = store.add_intent("x1", 0, "entry", 0, venue="kalshi", market="kalshi:A", market_id="A", side="no",
                            action="buy", qty=150, price=4_000, tif="ioc", new_execution=opp)
    store.record_order(coid, Order(Venue.KALSHI, "o0", coid, "A", Side.NO, Action.BUY, 4_000, 150, 150, 0,
                                   OrderStatus.FILLED, fees_micros=7, cost_micros=600_000), FILLS)
    store.set_cash_baseline("kalshi", BASELINE)
    report = asyncio.run(reconcile_venue(store, "kalshi", OneOrderVenue(), markets=[]))
    store.close()
    assert report["cash_moved_micros"] == {"venue": -600_008, "store": -600_007}
    assert report["differences"] == [{"what": "cash", "id": "kalshi", "venue": "-0.600008", "store": "-0.600007"}]
    assert json.loads(json.dumps(report)) == report            # what `arbbot reconcile --json` prints
