"""A ForecastEx contract whose streaming request IB never answers (no tick, no refusal it
follows: e.g. a market-data permission error) had the whole venue's stream fail every pass
(every market held and polled, since 2705272); now that market alone is polled (`NoStreamAnswer`,
as a refused line), the others stream on."""
import asyncio

from arbbot.sim.forecastex import start_tws
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.forecastex.ib_async_client import IBAsyncClient
from tests.venues.test_forecastex_review_fixes_s29 import FIRST, LOW, LOW_YES, MID, run


def test_a_contract_whose_stream_is_never_answered_is_polled_alone():
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=0.2)
        try:
            real = sim._ticks

            def ticks(conn, req_id, t):
                if t.con_id == LOW_YES:
                    return                          # IB sends this request nothing (e.g. error 10089)
                return real(conn, req_id, t)
            sim._ticks = ticks
            v = ForecastExVenue(await IBAsyncClient.connect("127.0.0.1", sim.port, client_id=81), ["FF"], poll_s=0.1)
            mids = [m.market_id for m in await v.discover_markets()]
            assert mids == [FIRST, MID, LOW]

            async def consume():
                async for _u in v.stream_books(mids):
                    pass
            task = asyncio.create_task(consume())
            await asyncio.sleep(8.0)
            state = (v.stream_errors, v.feed.streaming, [v.feed.polls(m) for m in mids])
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await v.close()
            return state
        finally:
            await sim.stop()
    errors, _streaming, polls = run(main())
    # no failed pass (before: one every 2 s, every market held and polled); LOW alone is polled
    assert (errors, polls) == (0, [False, False, True])
