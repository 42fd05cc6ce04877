"""The simulator's calendar follows its start: whatever the day, it lists questions that still
trade, weeks to months out, as the real venues do. (Before, the ForecastEx questions were fixed to
expire on 2026-12-16: from then on every simulated ForecastEx market was past its last trade time,
inactive, and refused every order.)"""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone

from arbbot.sim.forecastex import start_tws
from arbbot.sim.forecastex.backend import last_trade_ms
from arbbot.sim.scenarios import FX_CLOSES_IN_DAYS, build, close_ms, forecastex_ids
from arbbot.venues.common import OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient
from tests.sim.venue_envs import ManualClock


def ms(*a) -> int:
    return int(datetime(*a, tzinfo=timezone.utc).timestamp() * 1000)


def test_forecastex_ids_carry_the_expiry_counted_from_the_start_day():
    # 18 days after the UTC day of the start, whatever its hour
    assert FX_CLOSES_IN_DAYS == 18
    for start, expiry in ((ms(2026, 11, 28, 0, 0), "20261216"), (ms(2026, 11, 28, 23, 59), "20261216"),
                          (ms(2027, 2, 20, 12), "20270310"), (ms(2030, 12, 31, 23), "20310118")):
        s = build("forecastex", 0, start_ms=start)
        assert forecastex_ids(s) == {k: f"FF-{expiry}-{k}" for k in ("3.875", "4.125", "4.375")}
        (event,) = s.events
        assert event.event_id == f"FF-{expiry}"
        assert {l.expiry for _e, _q, l in s.listings("forecastex")} == {expiry}
        # the Kalshi twins close on the same day, 19:00 UTC (before ForecastEx's 16:00 Chicago)
        closes = datetime.fromtimestamp(close_ms(event, start) / 1000, timezone.utc)
        assert closes.strftime("%Y%m%d %H:%M") == f"{expiry} 19:00"


def test_every_scenario_lists_open_questions_whatever_the_start():
    for start in (ms(2026, 12, 17), ms(2028, 7, 4, 18), ms(2035, 1, 1)):
        for name in ("all", "universe"):
            s = build(name, 3, markets=500 if name == "universe" else None, start_ms=start)
            fx = [l for _e, _q, l in s.listings("forecastex")]
            assert fx, name
            for l in fx:
                expires = date(int(l.expiry[:4]), int(l.expiry[4:6]), int(l.expiry[6:8]))
                assert l.market_id.split("-")[1] == l.expiry
                assert (expires - datetime.fromtimestamp(start / 1000, timezone.utc).date()).days >= 7, l.market_id
            assert min(close_ms(e, start) for e in s.events) > start


def test_the_same_start_day_lists_the_same_catalog():
    a = build("universe", 5, markets=500, start_ms=ms(2027, 3, 1, 0, 1))
    b = build("universe", 5, markets=500, start_ms=ms(2027, 3, 1, 23, 59))
    c = build("universe", 5, markets=500, start_ms=ms(2027, 3, 2, 0, 1))
    ids = lambda s: [l.market_id for e in s.events for q in e.questions for l in q.listings]  # noqa: E731
    assert ids(a) == ids(b) != ids(c)
    assert len(ids(a)) == len(ids(c))       # a day later: the same structures, dated a day later


def test_a_simulator_started_after_2026_12_16_trades_forecastex():
    """Through TWS, on a clock in 2027: the questions are listed, active and fill; each trades until
    16:00 Chicago on its expiry day, 18 days out."""
    async def main():
        clock = ManualClock(ms(2027, 6, 1, 15))
        sim = await start_tws("forecastex", 1, step_interval=None, clock_ms=clock)
        try:
            cl = await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=71, wall_ms=clock)
            v = ForecastExVenue(cl, ["FF"])
            markets = {m.market_id: m for m in await v.discover_markets()}
            mid = "FF-20270619-4.125"
            assert sorted(markets) == ["FF-20270619-3.875", mid, "FF-20270619-4.375"]
            assert all(m.active for m in markets.values())
            assert markets[mid].closes_at == "2027-06-19T21:00:00Z"          # 16:00 CDT
            assert {last_trade_ms(c) for c, _m, _s in sim.backend.contracts.values()} == {ms(2027, 6, 19, 21)}
            o = await v.place_order(OrderRequest(mid, Side.YES, 4100, 100, tif=TimeInForce.IOC, client_order_id="d1"))
            assert (o.status, o.filled_lots) == (OrderStatus.FILLED, 100)
            await v.close()
        finally:
            await sim.stop()
    asyncio.run(asyncio.wait_for(main(), 30))
