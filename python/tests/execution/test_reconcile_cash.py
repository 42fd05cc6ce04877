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


def _store_with_the_order(tmp_path, fills) -> tuple[OrderStore, str]:
    """A store holding the one order (150 lots filled), with `fills` of it recorded."""
    store = OrderStore(str(tmp_path / "o.db"), clock_ms=lambda: 0)
    leg = SimpleNamespace(market="kalshi:A", side=Side.NO, qty=150, worst_price=4_000, cost=600_000, fee=7)
    opp = SimpleNamespace(id="opp", lane=1, kind=1, qty=150, payout=1_500_000, cost=600_000, fee=7, profit=0,
                          legs=[leg])
    coid = store.add_intent("x1", 0, "entry", 0, venue="kalshi", market="kalshi:A", market_id="A", side="no",
                            action="buy", qty=150, price=4_000, tif="ioc", new_execution=opp)
    store.record_order(coid, Order(Venue.KALSHI, "o0", coid, "A", Side.NO, Action.BUY, 4_000, 150, 150, 0,
                                   OrderStatus.FILLED, fees_micros=7, cost_micros=600_000), fills)
    store.set_cash_baseline("kalshi", BASELINE)
    return store, coid


def test_a_cash_difference_is_dollars_with_6_decimals(tmp_path):
    store, _ = _store_with_the_order(tmp_path, FILLS)
    report = asyncio.run(reconcile_venue(store, "kalshi", OneOrderVenue(), markets=[]))
    store.close()
    assert report["cash_moved_micros"] == {"venue": -600_008, "store": -600_007}
    assert report["differences"] == [{"what": "cash", "id": "kalshi", "venue": "-0.600008", "store": "-0.600007"}]
    assert json.loads(json.dumps(report)) == report            # what `arbbot reconcile --json` prints


class LateListingVenue(OneOrderVenue):
    """The same order, its second fill listed only now; and a fill of an order not ours."""

    async def fills(self, **_):
        return FILLS + [Fill(Venue.KALSHI, "fx", "o-other", "A", Side.NO, Action.BUY, 4_000, 5, 0, True, 1)]

    async def positions(self):
        return [Position(Venue.KALSHI, "A", -155)]

    async def balance(self):
        return Balance(Venue.KALSHI, BASELINE + STORE_CASH - 4_000 * 5)


def test_a_running_bot_records_the_fills_a_venue_listed_late_of_its_own_orders(tmp_path):
    """The order filled 150 lots, but the store holds its first fill only (the second was listed
    after the executor's fetch gave up, or the process stopped). `arbbot reconcile` reports it; the
    running bot's reconciliation records it first (its order's filled lots owe it) and agrees, but
    for the fill of an order the store never sent, which stays a difference (and its position and
    cash). Before, every reconciliation found the late fill again: safe mode at each one."""
    from arbbot.execution.reconcile import adopt_late_fills
    store, coid = _store_with_the_order(tmp_path, FILLS[:1])
    read_only = asyncio.run(reconcile_venue(store, "kalshi", LateListingVenue(), markets=[]))
    assert {(d["what"], d["id"]) for d in read_only["differences"]} >= {("fill", "f1"), ("fill", "fx")}
    assert [f.fill_id for f in store.fills(coid)] == ["f0"]
    report = asyncio.run(reconcile_venue(store, "kalshi", LateListingVenue(), markets=[], adopt_late=True))
    assert [f.fill_id for f in store.fills(coid)] == ["f0", "f1"] and store.cash_flow("x1") == STORE_CASH
    assert [(d["what"], d["id"]) for d in report["differences"]] == [("position", "A"), ("fill", "fx"), ("cash", "kalshi")]
    # fills that would add up past the order's filled lots are not the order's to adopt
    too_many = [Fill(Venue.KALSHI, "f9", "o0", "A", Side.NO, Action.BUY, 4_000, 1, 0, True, 1)]
    assert adopt_late_fills(store, "kalshi", store.fills(), store.intents(), too_many) == 0
    store.close()
