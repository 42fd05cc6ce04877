"""Paper trading in a live session against the simulator: whatever happens to each execution,
the order store agrees with the venue to the µ$ and nothing unhedged goes unflagged."""
from __future__ import annotations

import asyncio

from arbbot.run.live import LiveSession, default_session_mappings, simulated_venues
from arbbot.run.trader import attach_paper_trader
from arbbot.sim import serve

TERMINAL = {"complete", "aborted", "unwound", "naked"}


def test_session_trades_and_the_store_matches_the_venues(tmp_path):
    handle = serve("all", 0, step_interval=0.05)

    async def main():
        session = LiveSession(simulated_venues(handle), default_session_mappings(), cooldown_s=1.0)
        session.max_qty = 2_000                                   # per-trade cap: 20 contracts
        await session.discover()
        trader = await attach_paper_trader(session, str(tmp_path / "orders.db"))
        assert trader.recovery is not None and trader.store.safe_mode() is None
        session.start_streams()
        for _ in range(600):                                      # ≤ 30 s for a first execution to finish
            await asyncio.sleep(0.05)
            if sum(trader.stats.executions.values()) >= 1 and not trader.busy:
                break
        for task in session._tasks:
            task.cancel()
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
        await session.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        handle.stop()
