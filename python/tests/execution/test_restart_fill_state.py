"""An intent's state is judged against its own size, not the size of the order a venue shows.

After a restart the Polymarket adapter has no memory of the orders it sent; the CLOB serves a done
FAK by id no more, so `PolymarketVenue._order_from_fills` rebuilds it from its fills with size =
what filled: FILLED. The store wrote such an intent `filled` (400 of 1,000 lots), and sizing's
fill-probability counts (`fill_outcomes`: entry IOC intents, full fills / ended) took it as a full
fill. The same held in-session when an order's answer was lost and a lookup rebuilt it. Units:
lots, ticks, µ$."""
from __future__ import annotations

import asyncio

import pytest

from arbbot.execution import recover
from arbbot.execution.store import OrderStore
from arbbot.sim.scenarios import Faults
from arbbot.venues.common import OrderRequest, Side, TimeInForce
from arbbot.venues.common.model import Action, Order, OrderStatus, Venue
from tests.risk.trades import two_leg_opportunity
from tests.sim.venue_envs import polymarket
from tests.venues.test_polymarket_forgotten_orders import alv


def test_a_partial_fak_recovered_after_a_crash_is_partially_filled(tmp_path):
    """A 1,000-lot FAK fills 400 and the process dies before its answer is recorded. Recovery
    finds it by its id (recorded before sending), read from its fills: the intent is
    partially_filled 400/1,000, and polymarket's fill outcomes are 0 full fills of 1, as the live
    process records the same answer."""
    async def main():
        async with polymarket(faults=Faults(partial_fill_lots=400)) as (sim, v, _clock):
            await v.discover_markets()
            market = alv(sim)
            store = OrderStore(str(tmp_path / "o.db"))
            store.create_execution("x1", two_leg_opportunity("opp-x1"))
            v.on_order_id = store.set_intent_order_id
            coid = store.add_intent("x1", 1, "entry", 0, venue="polymarket", market="polymarket:B", market_id=market,
                                    side="yes", action="buy", qty=1_000, price=9_900, tif="ioc")
            await v.place_order(OrderRequest(market, Side.YES, 9_900, 1_000, tif=TimeInForce.IOC,
                                             client_order_id=coid, spend_micros=0))
            v.exec.placed.clear()              # the restart: the adapter remembers no order it sent
            v.exec.sent_after_s.clear()
            rebuilt = await v.order(store.intent(coid).order_id)
            await recover(store, {"polymarket": v}, absent_after_ms=0)
            return rebuilt, store.intent(coid), store.fill_outcomes()
    rebuilt, it, outcomes = asyncio.run(main())
    # the order as the adapter reads it now: its size is what filled
    assert (rebuilt.status, rebuilt.qty_lots, rebuilt.filled_lots) == (OrderStatus.FILLED, 400, 400)
    assert (it.state, it.filled_qty, it.qty) == ("partially_filled", 400, 1_000)
    assert outcomes == {"polymarket": (0, 1)}


def _order(status: OrderStatus, size: int, filled: int) -> Order:
    return Order(Venue.POLYMARKET, "o1", "", "B", Side.NO, Action.BUY, 5_000, size, filled,
                 size - filled if status is OrderStatus.RESTING else 0, status, 0, 5_000 * filled)


@pytest.mark.parametrize("status, size, filled, state", [
    (OrderStatus.FILLED, 400, 400, "partially_filled"),      # rebuilt from its fills: its size is what filled
    (OrderStatus.FILLED, 1_000, 1_000, "filled"),
    (OrderStatus.CANCELED, 1_000, 1_000, "filled"),          # all of it filled, whatever the venue calls it
    (OrderStatus.CANCELED, 1_000, 400, "partially_filled"),
    (OrderStatus.CANCELED, 1_000, 0, "canceled"),
    (OrderStatus.RESTING, 1_000, 400, "placed"),             # still live at the venue
    (OrderStatus.REJECTED, 1_000, 0, "rejected"),
])
def test_the_recorded_state_is_judged_against_the_intents_size(tmp_path, status, size, filled, state):
    """`record_order` on a 1,000-lot entry IOC intent (the executor's path after a lookup, and
    recovery's): `filled` only when 1,000 lots filled; sizing counts a full fill only then."""
    store = OrderStore(str(tmp_path / "o.db"))
    store.create_execution("x1", two_leg_opportunity("opp-x1"))
    coid = store.add_intent("x1", 1, "entry", 0, venue="polymarket", market="polymarket:B", market_id="B",
                            side="no", action="buy", qty=1_000, price=5_000, tif="ioc")
    assert store.record_order(coid, _order(status, size, filled)) == state
    assert store.intent(coid).state == state
    ended = state != "placed"
    assert store.fill_outcomes() == ({"polymarket": (int(state == "filled"), 1)} if ended else {})
    store.close()
