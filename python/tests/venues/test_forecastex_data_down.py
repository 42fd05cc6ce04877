"""ForecastEx: when IB's market data goes down, every streamed book is published untradeable at once
(with the reason), as Kalshi and Polymarket do on a disconnect; when data flows again the next
quotes publish tradeable books. Through the real `IBAsyncClient` (unchanged ib_async) against the
simulated TWS, for each kind of down: TWS lost IB (1100, back with 1101 data lost or 1102 data
kept), TWS lost its servers (2110), a broken market data farm (2103 / 2104), a competing session
(10197, its end unannounced) and the API socket dropped (the client reconnects).

Before, the adapter only put the feed in poll mode; polls fail while data is down, so the last
streamed books stayed tradeable and counted as fresh until `stale_after_s` (30 s): orders went
through on frozen quotes.
"""
from __future__ import annotations

import asyncio
import time

import pytest

from arbbot.sim.forecastex import start_tws
from arbbot.venues.forecastex import ForecastExVenue, connect_forecastex_venue
from tests.sim.venue_envs import until
from tests.venues.sim_ib_client import ib_quote
from tests.fx_day import MID, LOW

CONS = {MID: (713900002, 713900003), LOW: (713900004, 713900005)}      # (YES, NO) conIds
HELD_WITHIN_S = 1.0            # ≪ stale_after_s (30 s): how soon a down must reach the session


def run(coro, limit: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


def drop_socket(sim) -> None:
    (conn,) = sim.conns
    conn.writer.transport.abort()               # TWS's side of the API socket dies


# kind → (how data goes down, how it comes back (None: by itself), what the held book's reason says)
DOWNS = {
    "1100-1101": (lambda sim: sim.connectivity_lost(),
                  lambda sim: sim.connectivity_restored(data_lost=True), "1100"),
    "1100-1102": (lambda sim: sim.connectivity_lost(),
                  lambda sim: sim.connectivity_restored(data_lost=False), "1100"),
    "2110": (lambda sim: sim.server_link_broken(), lambda sim: sim.connectivity_restored(data_lost=False), "2110"),
    "2103": (lambda sim: sim.farm_broken("usfarm"), lambda sim: sim.farm_ok("usfarm"), "2103"),
    "10197": (lambda sim: sim.competing_session(), lambda sim: sim.competing_session_ended(), "10197"),
    "socket": (drop_socket, None, "connection lost"),
}


class Streamed:
    """MID's and LOW's books streamed by the real adapter from the TWS simulator, each with the
    monotonic time it was published."""

    def __init__(self, sim, v: ForecastExVenue) -> None:
        self.sim, self.v = sim, v
        self.seen: list[tuple[float, object]] = []
        self.task: asyncio.Task | None = None

    @classmethod
    async def start(cls, sim) -> "Streamed":
        v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=11, poll_s=0.05)
        await v.discover_markets()
        s = cls(sim, v)

        async def consume():
            async for u in v.stream_books([MID, LOW]):
                s.seen.append((time.monotonic(), u.book))
        s.task = asyncio.create_task(consume())
        await until(s.all_true, what="streamed books")
        return s

    def last(self, mid: str, since: int = 0):
        return next((b for _t, b in reversed(self.seen[since:]) if b.market.id == mid), None)

    def truth(self, mid: str):
        qy, qn = (ib_quote(self.sim.backend.quote(c)) for c in CONS[mid])
        return ForecastExVenue._bids(qy, qn), ForecastExVenue._bids(qn, qy)

    def all_true(self) -> bool:
        """Every market's last book is tradeable and what the simulator's quotes imply, streamed."""
        books = [self.last(mid) for mid in CONS]
        return self.v.feed is not None and self.v.feed.streaming and all(
            b is not None and b.tradeable and (b.yes_bids, b.no_bids) == self.truth(b.market.id) for b in books)

    async def close(self) -> None:
        self.task.cancel()
        await self.v.close()


@pytest.mark.parametrize("kind", list(DOWNS))
def test_streamed_books_are_published_untradeable_at_once_when_market_data_goes_down(kind):
    """Both streamed books are published untradeable (the reason names IB's message) within
    `HELD_WITHIN_S` of the down, and stay so while it lasts (the market moves meanwhile, polls
    fail); once data flows again both are published tradeable, following the market."""
    down, up, said = DOWNS[kind]

    async def main():
        sim = await start_tws("forecastex", 3, step_interval=None)
        try:
            s = await Streamed.start(sim)
            n0, t0 = len(s.seen), time.monotonic()
            down(sim)
            held = {}                                                    # market → (time, its first untradeable book)
            await until(lambda: [held.setdefault(b.market.id, (t, b)) for t, b in s.seen[n0:] if not b.tradeable]
                        and sorted(held) == sorted(CONS), timeout=HELD_WITHIN_S, what="every streamed book held")
            for t, b in held.values():
                assert t - t0 < HELD_WITHIN_S and said in b.reason and b.yes_bids + b.no_bids
            if up is not None:
                for _ in range(40):
                    sim.step()                                           # the market moves meanwhile
                await asyncio.sleep(0.5)
                assert not s.v.feed.streaming
                assert all(not b.tradeable for _t, b in s.seen[n0:])     # no frozen book made tradeable again
                up(sim)
            await until(s.all_true, timeout=10.0, what="tradeable books again")
            for _ in range(40):
                sim.step()
            await until(s.all_true, what="books follow the market")
            await s.close()
        finally:
            await sim.stop()
    run(main())
