"""Step 10's loss budget is reserved from an execution's first commit (the one that writes it with
its first intent), not from the later write of its sizing record: a crash between the two left an
open execution reserving nothing, and the next sizing's `left` was that budget too large."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from arbbot.execution import Executor, OrderStore, Route
from arbbot.model import FeeSchedule
from arbbot.venues.common.model import MarketInfo, Venue
from tests.execution.fakes import Filling
from tests.execution.test_placeable import POLY, _opportunity, _polymarket


class Watching(Filling):
    """Fills every order; records the store's reserved budgets and stored records when each arrives."""

    def __init__(self, store, venue, *args, **kwargs) -> None:
        super().__init__(venue, *args, **kwargs)
        self.store, self.seen = store, []

    async def place_order(self, req):
        self.seen.append((self.store.inflight_loss_budgets(), self.store.sizing_records()))
        return await super().place_order(req)


def test_the_budget_is_reserved_when_the_first_order_goes_out(tmp_path):
    store = OrderStore(tmp_path / "o.db")
    kalshi = Watching(store, Venue.KALSHI)
    poly = Watching(store, Venue.POLYMARKET, _polymarket().refusal)
    kinfo = MarketInfo(Venue.KALSHI, "K", "k", event_id="EK", fees=FeeSchedule(), lot_lots=100)
    books = {"kalshi:K": SimpleNamespace(yes=(), no=((400, 10_000),)),
             f"polymarket:{POLY}": SimpleNamespace(yes=((9_530, 10_000),), no=())}
    ex = Executor(store, {"kalshi:K": Route(kalshi, "K", kinfo),
                          f"polymarket:{POLY}": Route(poly, POLY, _polymarket().provider.markets[POLY])},
                  book_source=books.get)
    record = {"id": "00000000000000f1", "final_qty": "7"}
    res = asyncio.run(ex.execute(_opportunity(700), execution_id="x", sizing=lambda: record, loss_budget=2_250_000))
    assert res.state == "complete"
    # the first order: the budget held, no record yet (it is formatted once that order is out)
    assert kalshi.seen == [(2_250_000, [])]
    # the second: the record in place of the reservation, the budget held once
    assert poly.seen == [(2_250_000, [("x", record)])]
    assert store.inflight_loss_budgets() == 0                  # complete: nothing in flight
    store.close()
