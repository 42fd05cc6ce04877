"""Kalshi's trading paused (its weekly maintenance window, a halt): the resting orders stay on the
books and every order is refused with 409 `trading_is_paused`. Before, the books stayed tradeable:
the lanes kept finding arbitrage there, and a Kalshi leg after another venue's filled leg was
refused, so that leg unwound at a loss (and the 409 was taken for a lost answer and looked up).
Now `GET /exchange/status` is read while books stream, and a paused exchange publishes every book
held until it trades again; an order refused so holds them at once. One market the exchange stops
trading (`market_lifecycle_v2`: deactivated, determined, settled) is held the same way."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from arbbot.sim.scenarios import Faults
from arbbot.venues.common.errors import OrderRejected, ProtocolError
from arbbot.venues.common.model import OrderRequest, Side, TimeInForce
from arbbot.venues.kalshi import KalshiVenue
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import kalshi_env
from tests.venues.test_fallback import Consumer

PAUSED = "kalshi: trading paused (GET /exchange/status, resumes 2026-12-03T10:00:00Z)"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def _streaming(cfg) -> tuple[KalshiVenue, list[str], Consumer]:
    """The adapter streaming every market's book, once each is tradeable."""
    v = KalshiVenue(cfg)
    tickers = [m.market_id for m in await v.discover_markets()]
    c = Consumer(v.stream_books(tickers))
    await wait_for(lambda: all(t in c.latest and c.latest[t].tradeable for t in tickers), what="books")
    return v, tickers, c


def test_a_paused_exchange_holds_every_book_until_it_trades_again(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys, exchange_status_s=0.05) as (sim, cfg):
            v, tickers, c = await _streaming(cfg)
            sim.faults = replace(sim.faults, kalshi_trading_paused=True)
            await wait_for(lambda: all(not c.latest[t].tradeable for t in tickers), what="held books")
            assert {c.latest[t].reason for t in tickers} == {PAUSED} and v.paused == PAUSED
            # the levels are still there (the resting orders stay), and a fetched book is held too
            assert all(c.latest[t].yes_bids or c.latest[t].no_bids for t in tickers)
            fetched = await v.fetch_book(tickers[0])
            assert (fetched.tradeable, fetched.reason) == (False, PAUSED)
            sim.faults = replace(sim.faults, kalshi_trading_paused=False)
            await wait_for(lambda: all(c.latest[t].tradeable for t in tickers), what="tradeable books again")
            assert v.paused == "" and (await v.fetch_book(tickers[0])).tradeable
            c.task.cancel()
            await v.close()
    run(main())


def test_an_order_refused_because_trading_is_paused_is_a_refusal_and_holds_the_books(rsa_keys):
    """The 409 is a refusal (nothing was placed: no lookup by client id), and the books are held
    at once, before the next status read (an hour away here). The venue reports the pause as its
    `outage`: an unwind there waits for trading to resume rather than spending its attempts on
    refusals (as during Polymarket's engine restart, `test_polymarket_engine_restart`)."""
    async def main():
        async with kalshi_env(rsa_keys, exchange_status_s=3_600) as (sim, cfg):
            v, tickers, c = await _streaming(cfg)
            assert v.outage == ""
            sim.faults = Faults(kalshi_trading_paused=True)
            req = OrderRequest(tickers[0], Side.YES, 9_900, 300, tif=TimeInForce.IOC, client_order_id="paused-1")
            with pytest.raises(OrderRejected) as refused:
                await v.place_order(req)
            assert refused.value.code == "trading_is_paused" and refused.value.status == 409
            assert ("user", "paused-1") not in sim.exchange.by_client_id
            await wait_for(lambda: all(not c.latest[t].tradeable for t in tickers), what="held books")
            assert {c.latest[t].reason for t in tickers} == {"kalshi: trading paused (an order was refused: "
                                                              "trading_is_paused)"}
            assert v.outage == "kalshi: trading paused (an order was refused: trading_is_paused)"
            c.task.cancel()
            await v.close()
    run(main())


def test_a_market_the_exchange_pauses_is_held_until_it_is_activated(rsa_keys):
    """`market_lifecycle_v2` `deactivated` (is_deactivated true) for one market: its book is held,
    the others trade; its orders are refused as such (400 market_not_active), which pauses nothing
    else. `activated`: it trades again. Before, the lifecycle frame was ignored."""
    async def main():
        async with kalshi_env(rsa_keys, exchange_status_s=3_600) as (sim, cfg):
            v, tickers, c = await _streaming(cfg)
            paused, others = tickers[0], tickers[1:]
            sim.pause_market(paused)
            await wait_for(lambda: not c.latest[paused].tradeable, what="the paused market held")
            assert c.latest[paused].reason == f"kalshi: trading in {paused} paused (market deactivated)"
            assert all(c.latest[t].tradeable for t in others)
            assert not (await v.fetch_book(paused)).tradeable and (await v.fetch_book(others[0])).tradeable
            with pytest.raises(OrderRejected) as refused:
                await v.place_order(OrderRequest(paused, Side.YES, 9_900, 300, tif=TimeInForce.IOC))
            assert refused.value.code == "market_not_active" and v.paused == ""
            sim.pause_market(paused, False)
            await wait_for(lambda: c.latest[paused].tradeable, what="the market tradeable again")
            c.task.cancel()
            await v.close()
    run(main())


def test_lifecycle_frames_that_stop_a_market_trading():
    from arbbot.venues.kalshi.schemas.ws import MarketTrading, parse_message

    def frame(**msg) -> str:
        return json.dumps({"type": "market_lifecycle_v2", "sid": 3, "seq": 9, "msg": {"market_ticker": "K-1", **msg}})
    assert parse_message(frame(event_type="deactivated", is_deactivated=True)) == \
        MarketTrading(3, 9, "K-1", "kalshi: trading in K-1 paused (market deactivated)")
    assert parse_message(frame(event_type="activated", is_deactivated=False)) == MarketTrading(3, 9, "K-1", "")
    assert parse_message(frame(event_type="determined", result="yes", settlement_value="1.0000")) == \
        MarketTrading(3, 9, "K-1", "kalshi: K-1 determined (result yes)", ended=True)
    assert parse_message(frame(event_type="settled", settled_ts=1)).ended
    assert not isinstance(parse_message(frame(event_type="close_date_updated", close_ts=1)), MarketTrading)
    with pytest.raises(ProtocolError):
        parse_message(frame(event_type="deactivated", is_deactivated="yes"))


def test_an_exchange_status_without_both_flags_changes_nothing(rsa_keys, monkeypatch):
    """Both flags are required (OpenAPI ExchangeStatus): an answer missing one is logged and the
    last state kept, neither pausing the books nor resuming them."""
    from aiohttp import web

    from arbbot.sim.kalshi import KalshiSim
    answers = {"body": {"exchange_active": True}}

    async def status(self, request):
        return web.json_response(answers["body"])
    monkeypatch.setattr(KalshiSim, "exchange_status", status)

    async def main():
        async with kalshi_env(rsa_keys, exchange_status_s=0.05) as (sim, cfg):
            v, tickers, c = await _streaming(cfg)
            await asyncio.sleep(0.3)
            assert v.paused == "" and all(c.latest[t].tradeable for t in tickers)
            answers["body"] = {"exchange_active": True, "trading_active": False}
            await wait_for(lambda: v.paused != "", what="paused")
            answers["body"] = {"trading_active": "yes"}
            await asyncio.sleep(0.3)
            assert v.paused.startswith("kalshi: trading paused") and not c.latest[tickers[0]].tradeable
            c.task.cancel()
            await v.close()
    run(main())
