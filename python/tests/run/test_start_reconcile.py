"""The bot reconciles with the venues before its first trade. Recovery sees only the orders of
executions still open, by their ids; what it cannot see (an order beyond a venue's listing window,
such as IB's executions of a past day; a position an operator changed by hand) was found only at
the first periodic reconciliation, `reconcile_interval_s` (60 s) into trading. Now a difference
at the start enters safe mode before any trade."""
from __future__ import annotations

import asyncio

from arbbot.run.live import FORECASTEX_CLIENT_ID, connect_simulated_venues
from arbbot.venues.common import OrderRequest, Side, TimeInForce
from tests.run.botproc import SimProcess, run_bot


def buy_behind_the_bots_back(handle) -> str:
    """One Kalshi YES contract bought through the real adapter, outside the bot's store."""
    async def main() -> str:
        venues = await connect_simulated_venues(handle, forecastex_client_id=FORECASTEX_CLIENT_ID + 2)
        try:
            kalshi = venues["kalshi"]
            market = next(m for m in await kalshi.discover_markets() if m.active)
            book = await kalshi.fetch_book(market.market_id)
            # Kalshi publishes bids: YES is bought at 1 − the best NO bid
            ask = 10_000 - max(p for p, _q in book.no_bids) if book.no_bids else 9_900
            order = await kalshi.place_order(OrderRequest(market.market_id, Side.YES, ask, 100, tif=TimeInForce.IOC,
                                                          client_order_id="by-hand-1"))
            assert order.filled_lots == 100, order
            return market.market_id
        finally:
            for venue in venues.values():
                await venue.close()
    return asyncio.run(asyncio.wait_for(main(), 60))


def test_a_position_the_store_does_not_know_stops_trading_before_the_first_trade(tmp_path):
    sim = SimProcess(tmp_path, seed=1, step=0.2)
    try:
        market = buy_behind_the_bots_back(sim.handle)
        run = run_bot(sim, tmp_path / "orders.db", "--duration", "6", "--cooldown", "0.1", name="bot")
        assert run.returncode == 0, run.stderr[-2000:]
        trading = run.summary["trading"]
        assert trading["safe_mode"] is not None and "reconciliation found" in trading["safe_mode"]
        assert market in trading["safe_mode"] or trading["reconcile_differences"] >= 1
        assert sum(trading["executions"].values()) == 0, trading["executions"]    # stopped before any trade
        assert [e for e in run.events if e["event"].startswith("order.")] == []           # no order sent
        assert any(k.startswith("safe mode") for k in trading["skipped"]), trading["skipped"]
    finally:
        sim.stop()
