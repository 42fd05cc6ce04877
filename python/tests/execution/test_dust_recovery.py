"""Dust survives a restart. The executor holds an excess under the venue's minimum order (as a
sale and as a purchase: Polymarket's 5 shares) at cost instead of unwinding it; a restart's
recovery knows no venue minimums, so an execution that died, or erred, after that decision was
called naked: safe mode, and its whole outflow booked as a realised loss (here $9.13, eating the
daily loss cap), although the venues held exactly what the executor would have ended with. The
decision is written when made (`OrderStore.hold_dust`) and recovery's `hedged_sets` holds it.

Leg 0: Kalshi NO 1,000 lots (lot 100) fills; leg 1: Polymarket YES (lot 1, minimum 500 lots)
fills 950 of 1,000. 900 sets are kept (leg 0's excess must be whole contracts): leg 1's 50 lots
are dust, and leg 0 sells 100 lots at 42¢ (the NO bid, 47¢, less 5¢ of slippage) that cost 48¢:
a loss of 100 × 6¢ = $0.06."""
from __future__ import annotations

import asyncio

import pytest

from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.execution.recovery import recover
from arbbot.model import MarketInfo, Venue
from tests.execution.test_executor_review_fixes import K, P, FakeVenue, quote


class Crash(BaseException):
    """kill -9 stand-in: escapes every `except Exception` in the executor."""


LEGS = (Leg("kalshi:K1", Side.NO, 1_000, 4800, 4_800_000, 0), Leg("polymarket:P1", Side.YES, 1_000, 5000, 5_000_000, 0))
OPPORTUNITY = Opportunity("00000000000000aa", Lane.CROSS, Kind(0), 1_000, 10_000_000, 9_800_000, 0, 200_000, LEGS)
UNWIND_LOSS = 60_000          # µ$: leg 0's 100 lots sold 6¢ under their 48¢ cost; the 50 dust lots held at cost


def run(tmp_path, fail_at: str | None = None, error: type[BaseException] = Crash) -> dict:
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100))
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1,
                                                  extra=(("min_order_size_lots", "500"),)), min_lots=500, cap=950)
    books = {"polymarket:P1": quote(5000, 5000), "kalshi:K1": quote(5200, 5300)}
    routes = {"kalshi:K1": Route(kal, K, kal.info), "polymarket:P1": Route(poly, P, poly.info)}
    store = OrderStore(str(tmp_path / "o.db"))

    def on_step(name: str) -> None:
        if name == fail_at:
            raise error(name)
    ex = Executor(store, routes, config=ExecutorConfig(unwind_pause_s=0.01, unwind_pause_cap_s=0.01),
                  book_source=lambda m: books[m], on_step=on_step)
    try:
        asyncio.run(ex.execute(OPPORTUNITY, execution_id="x1"))
    except Crash:
        store.close()
        store = OrderStore(str(tmp_path / "o.db"))               # the restarted process
        asyncio.run(recover(store, {"kalshi": kal, "polymarket": poly}, absent_after_ms=0))
    out = {"state": store.execution("x1").state, "net": store.leg_net("x1"), "safe": store.safe_mode(),
           "loss": store.realised_loss("x1"), "dust": store.held_dust("x1"), "venues": {**kal.net, **poly.net}}
    store.close()
    return out


@pytest.mark.parametrize("fail_at, error", [(None, Crash), ("unwind_placed:L0", Crash),
                                            ("unwind_placed:L0", RuntimeError)],
                         ids=["no failure", "killed after the unwind", "an error after the unwind"])
def test_dust_is_held_whether_or_not_the_process_survives(tmp_path, fail_at, error):
    out = run(tmp_path, fail_at, error)
    assert out["net"] == {0: 900, 1: 950} and out["venues"] == {K: -900, P: 950}
    assert out["dust"] == {1: 50}
    assert (out["state"], out["safe"]) == ("complete", None)          # before (failures): naked, safe mode
    assert out["loss"] == UNWIND_LOSS                                 # before: 9,130,000 µ$ (the whole outflow)


def test_an_excess_beyond_the_dust_is_still_unhedged(tmp_path):
    """Recovery holds only the dust recorded: a leg holding more than the sets plus it is naked."""
    out = run(tmp_path, "unwind_placed:L0")
    store = OrderStore(str(tmp_path / "o.db"))
    store.hold_dust("x1", 1, 20)                                      # a later decision: 20 lots only
    assert store.held_dust("x1") == {1: 20} and store.hedged_sets("x1") is None
    store.hold_dust("x1", 1, 50)
    assert store.hedged_sets("x1") == 900 and out["state"] == "complete"
    store.close()
