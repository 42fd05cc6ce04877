"""Paper trading in a live session against the simulator: whatever happens to each execution,
the order store agrees with the venue to the µ$ and nothing unhedged goes unflagged."""
from __future__ import annotations

import asyncio

from arbbot.config import Settings
from arbbot.run.live import LiveSession, simulated_venues
from arbbot.run.trader import attach_paper_trader
from arbbot.sim import serve
from tests.mapping.twins import sim_twins

TERMINAL = {"complete", "aborted", "unwound", "naked"}


def test_session_trades_and_the_store_matches_the_venues(tmp_path):
    handle = serve("all", 0, step_interval=0.05)

    async def main():
        session = LiveSession(simulated_venues(handle), sim_twins(), cooldown_s=1.0,
                              max_qty=2_000)                      # per-trade cap: 20 contracts
        await session.discover()
        # the circuit breaker out of the way: on books this fast (a step every 50 ms) three unwinds in
        # a row happen (about one run in six; every other run with thin levels), and its cooldown
        # would leave no completed execution within the 60 s; what is checked here holds whatever
        # happened to each execution
        trader = await attach_paper_trader(session, str(tmp_path / "orders.db"),
                                           Settings(kill_file="", breaker_failures=1_000))
        assert trader.recovery is not None and trader.store.safe_mode() is None
        before = {name: (await venue.balance()).cash_micros for name, venue in session.venues.items()}
        session.start_streams()
        for _ in range(1_200):                                    # ≤ 60 s for a completed execution (seconds
            # when the machine is free; an overloaded one aborts more executions before their last leg)
            await asyncio.sleep(0.05)
            if trader.stats.executions["complete"] >= 1 and not trader.busy:
                break
        await session.stop_tasks()
        await trader.drain()
        store = trader.store
        executions = store.executions()
        assert executions and sum(trader.stats.executions.values()) == len(executions)
        assert all(x.state in TERMINAL for x in executions), [x.state for x in executions]
        assert all(o.qty <= 2_000 for o in session.current_opportunities())
        # Every order the store knows was sent matches the venue's own record, fill by fill.
        for name, venue in session.venues.items():
            venue_fills = {f.fill_id: f for f in await venue.fills()}
            for row in store.fills():
                if row.venue == name:
                    f = venue_fills[row.fill_id]
                    assert (row.qty, row.price, row.fee) == (f.qty_lots, f.price_ticks, f.fee_micros)
        if any(x.state == "naked" for x in executions):
            assert store.safe_mode() is not None               # an unhedged position stops trading
        # Money to the µ$: every venue's balance moved by exactly the cash flow of the fills the
        # store recorded for it (a Kalshi unwind "sell YES at p" is reported as "buy NO at 1 − p"
        # and the pair nets into $1, so prices are taken on the intent's own side), and locked-in
        # PnL is the payout of the filled lots plus the execution's cash flow.
        assert trader.stats.executions["complete"] >= 1
        by_venue = {name: 0 for name in session.venues}
        locked = 0
        for x in executions:
            cash = 0
            for intent in store.intents(x.id):
                for f in store.fills(intent.client_order_id):
                    own = f.price if f.side == intent.side else 10_000 - f.price
                    amount = (own * f.qty if intent.action == "sell" else -own * f.qty) - f.fee
                    by_venue[intent.venue] += amount
                    cash += amount
            assert cash == store.cash_flow(x.id)
            if x.state == "complete":
                gained = min(store.leg_net(x.id).values()) * 10_000 * (x.payout // (x.qty * 10_000)) + cash \
                    + store.held_cost(x.id)          # paid for lots held beyond the sets: a position
                # a profit, unless its last legs were bought after their edge went (losing less than unwinding)
                assert gained > 0 or "completed at the books" in x.reason, (x.id, gained, x.reason)
                locked += gained
        assert locked == trader.stats.locked_in
        for name, venue in session.venues.items():
            now = (await venue.balance()).cash_micros
            assert now - before[name] == by_venue[name], name
            # the order path asks no venue for cash: it is kept from each execution's fills, which
            # can only understate it (a YES and a NO bought by two executions net into $1 later)
            assert trader.cash[name] <= now and (now - trader.cash[name]) % 10_000 == 0, name
        # every execution that sent an order timed decision → first order
        sent = [x for x in executions if store.intents(x.id)]
        assert len(trader.executor.first_order_ns) == len(sent)
        assert all(0 < ns < 10**9 for ns in trader.executor.first_order_ns)
        await session.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        handle.stop()
