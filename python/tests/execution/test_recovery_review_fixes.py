"""Crash recovery on defects a review reproduced: a kill -9 between an execution written naked and
the safe-mode flag written after it (two commits) left the bot trading beside an unhedged leg
nobody acknowledged; the restart's recovery reads only executions still executing, so it never
looked again. Units: lots (100 a contract), ticks ($0.0001), µ$."""
from __future__ import annotations

import asyncio

from arbbot.execution import recover
from arbbot.execution.store import OrderStore
from tests.risk.trades import two_leg_opportunity
from tests.fx_day import MID


def naked_store(path) -> OrderStore:
    store = OrderStore(str(path))
    store.create_execution("x1", two_leg_opportunity("opp-x1"))
    return store


def test_a_naked_state_carries_its_safe_mode_flag_in_the_same_commit(tmp_path):
    """Writing an execution naked writes the safe-mode flag with it: a process killed right after
    (before its caller's `enter_safe_mode`) leaves the store in safe mode, with the reason."""
    store = naked_store(tmp_path / "o.db")
    store.set_execution_state("x1", "naked", "leg 1 refused; unwind incomplete")
    store.close()
    reopened = OrderStore(str(tmp_path / "o.db"))          # what the restarted process reads
    assert reopened.safe_mode() == "execution x1 is naked: leg 1 refused; unwind incomplete"
    reopened.close()


def test_recovery_enters_safe_mode_for_a_naked_execution_nobody_acknowledged(tmp_path):
    """A store whose naked execution has no safe-mode flag (written before the flag came with the
    state, or cleared by hand without `arbbot ack`): recovery enters safe mode, naming it. Once
    acknowledged, recovery leaves the store out of safe mode."""
    store = naked_store(tmp_path / "o.db")
    store.set_execution_state("x1", "naked", "leg 1 refused")
    with store.tx() as db:                                 # the flag lost, the execution not acknowledged
        db.execute("UPDATE flags SET value='0' WHERE name='safe_mode'")
    assert store.safe_mode() is None and store.unacknowledged_naked() == ["x1"]
    rep = asyncio.run(recover(store, {}))
    assert rep.safe_mode == "naked executions ['x1'] were never acknowledged (arbbot ack)"
    assert store.acknowledge("test") == ["x1"]
    rep = asyncio.run(recover(store, {}))
    assert (rep.safe_mode, store.unacknowledged_naked()) == (None, [])
    store.close()


def test_an_order_sent_before_the_venues_listed_history_leaves_its_execution_naked(tmp_path):
    """ForecastEx: TWS lists the current trading day's orders and executions only. A leg-0 IOC
    that filled 500 lots, its answer lost before a kill -9 in the evening, is invisible to a
    restart after TWS's midnight. Before, recovery took it as never sent: aborted (flat), no safe
    mode, while IB held the 5 contracts. Now an order sent before the venue's listed history
    (`fill_history_start_ms`) leaves its execution naked, in safe mode, for an operator to check."""
    from arbbot.sim.scenarios import build
    from arbbot.venues.common import OrderRequest, Side, TimeInForce
    from arbbot.venues.forecastex.venue import ForecastExVenue
    from tests.venues.sim_ib_client import SimIBClient

    market = MID

    class NextDay(SimIBClient):
        """After `roll()`: what came before is no longer listed, as TWS the next day."""
        hidden: set = set()
        start_ms: int | None = None

        def roll(self, at_ms: int) -> None:
            self.hidden = {o.perm_id for o in self.backend.all_orders()}
            self.start_ms = at_ms

        def fill_history_start_ms(self):
            return self.start_ms

        async def all_trades(self):
            return [t for t in await super().all_trades() if t.order_id not in self.hidden]

        async def fills(self):
            return [f for f in await super().fills() if f.order_id not in self.hidden]

    async def main():
        ib = NextDay(build("forecastex", 1), 1)
        venue = ForecastExVenue(ib, ["FF"])
        await venue.discover_markets()
        store = OrderStore(str(tmp_path / "o.db"))
        store.create_execution("x1", two_leg_opportunity("opp-x1", qty=500))
        coid = store.add_intent("x1", 0, "entry", 0, venue="forecastex", market=f"forecastex:{market}",
                                market_id=market, side="yes", action="buy", qty=500, price=4100, tif="ioc")
        order = await venue.place_order(OrderRequest(market, Side.YES, 4100, 500, tif=TimeInForce.IOC,
                                                     client_order_id=coid))
        ib.roll(store.now_ms() + 1)                        # the restart comes after TWS's midnight
        rep = await recover(store, {"forecastex": venue}, absent_after_ms=0)
        held = [(p.market_id, p.yes_lots) for p in await venue.positions()]
        return order, rep, store, held
    order, rep, store, held = asyncio.run(main())
    assert order.filled_lots == 500 and held == [(market, 500)]
    assert rep.missing == [] and rep.executions == {"x1": "naked"} and rep.naked == ["x1"]
    assert store.safe_mode() is not None and "x1" in store.safe_mode()
    assert store.intent("x1-L0E0").error.startswith("recovery: sent before the venue's listed history")
    store.close()
