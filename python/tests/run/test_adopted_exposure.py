"""An order adopted after its execution ended reaches the risk gates' exposure limits.

The limits (`ExposureLimits`) are seeded from the store once at start (`held_exposure`) and then
moved by the executions the trader runs. An order taken as never sent that the watch started after
a restart (`Executor.watch_absent_since_restart`) finds filled is recorded in the store, and the
executor tells the trader (`cash_changed`); before, that moved only the kept cash of executions this
process ran, so the gates never counted the adopted lots: a market holding $4.80 under a $5 cap let
another $4 through. Units: lots (100 a contract), ticks ($0.0001), µ$."""
from __future__ import annotations

import asyncio
import time

from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as ESide
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.risk.gates import RiskGates
from arbbot.risk.limits import ExposureLimits
from arbbot.run.live import LiveSession, connect_simulated_venues
from arbbot.run.trader import PaperTrader, attach_paper_trader, held_exposure
from arbbot.sim import serve
from tests.execution.test_absent_watch_restart import FAST, K1, lost_before_the_restart
from tests.execution.test_executor_review_fixes import K

CAP = 5_000_000                         # µ$ per market


def _four_dollars_more() -> Opportunity:
    """1,000 lots YES kalshi:K1 at 40¢ ($4.00) + NO polymarket:P1 at 50¢ ($5.00)."""
    legs = (Leg("kalshi:K1", ESide.YES, 1_000, 4_000, 4_000_000, 0),
            Leg("polymarket:P1", ESide.NO, 1_000, 5_000, 5_000_000, 0))
    return Opportunity("more", Lane.CROSS, Kind.YES_A_NO_B, 1_000, 10_000_000, 9_000_000, 0, 1_000_000, legs)


def test_an_order_the_restart_watch_adopts_is_in_the_gates_exposure(tmp_path):
    """The process before lost a 1,000-lot Kalshi NO order at 48¢ (taken as never sent); the venue
    runs it after the restart and the watch adopts it ($4.80 on K1). The gates' exposure on K1 is
    then the store's held cost, 4,800,000 µ$, and a new trade adding $4 on K1 is refused for its
    exposure."""
    kal, lost = lost_before_the_restart(tmp_path)
    store = OrderStore(str(tmp_path / "o.db"))
    ex = Executor(store, {"kalshi:K1": Route(kal, K, K1)}, config=ExecutorConfig(**FAST), book_source=lambda m: None,
                  clock=time.time)
    limits = ExposureLimits(per_market=CAP)
    held_exposure(store, limits, lambda m: m)         # as attach_paper_trader seeds it after recovery
    assert limits.market == {}                        # the order was taken as never sent: nothing held
    trader = PaperTrader(ex, RiskGates(exposure=limits), {"kalshi": kal}, store)   # wires on_cash_change
    trader.cash = {"kalshi": 100_000_000, "polymarket": 100_000_000}

    async def main():
        started = ex.watch_absent_since_restart()
        kal.execute(lost)                             # the venue's queue runs the lost order now
        await asyncio.sleep(1.0)                      # the watch finds and adopts it
        trader.offer(_four_dollars_more())
        return started
    assert asyncio.run(main()) == 1
    assert store.leg_net("x1") == {0: 1_000, 1: 0}
    in_store = ExposureLimits()
    held_exposure(store, in_store, lambda m: m)
    assert in_store.market == {"kalshi:K1": 4_800_000}
    assert limits.market == in_store.market and limits.venue == in_store.venue and limits.event == in_store.event
    assert dict(trader.stats.skipped) == {"exposure": 1} and trader._task is None
    assert limits.reason(_four_dollars_more().legs, lambda m: m) == \
        f"exposure on market kalshi:K1: 4800000 + 4000000 µ$ > {CAP} µ$"
    store.close()


def test_the_restart_watch_starts_after_the_trader_is_wired(tmp_path, monkeypatch):
    """`attach_paper_trader` starts the restart's watches once the trader listens to the
    executor (`on_cash_change` is its `cash_changed`): whatever a watch adopts reaches the kept
    cash and the exposure limits, however soon it is found."""
    listening = []

    def watch(executor) -> int:
        listening.append(executor.on_cash_change)
        return 0
    monkeypatch.setattr(Executor, "watch_absent_since_restart", watch)
    handle = serve("all", 0, step_interval=None)

    async def main():
        session = LiveSession(await connect_simulated_venues(handle), [], stale_after_s=60.0)
        try:
            await session.discover()
            return await attach_paper_trader(session, str(tmp_path / "orders.db"))
        finally:
            await session.close()
    try:
        trader = asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        handle.stop()
    assert listening == [trader.cash_changed]
    trader.store.close()


def test_an_execution_recovery_left_open_counts_in_the_exposure_but_the_running_one_does_not(tmp_path):
    """Crash recovery leaves an execution open (`executing`) while an order of its is still pending
    at its venue; an operator's ack lets the bot trade before it is decided when deciding it fails
    (`recover_left_open`). Before, the gates' exposure was seeded from ended executions only: its
    filled leg (1,000 lots YES kalshi:A at 42¢ + $0.04 fee) counted nowhere. The execution under way
    (`Executor.running`) is still left out: its trader adds it when it returns."""
    from tests.risk.trades import complete_profitable, fill, two_leg_opportunity
    store = OrderStore(str(tmp_path / "o.db"))
    complete_profitable(store, "c1")                  # A: $4.24, B: $5.05
    store.create_execution("open1", two_leg_opportunity("opp-open1"))
    fill(store, "open1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    seeded, running = ExposureLimits(), ExposureLimits()
    held_exposure(store, seeded, lambda m: m)
    held_exposure(store, running, lambda m: m, running="open1")
    assert seeded.market == {"kalshi:A": 8_480_000, "polymarket:B": 5_050_000}
    assert running.market == {"kalshi:A": 4_240_000, "polymarket:B": 5_050_000}
    store.close()
