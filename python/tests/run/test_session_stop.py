"""A session stopping (`LiveSession.stop_tasks`, at the end of `arbbot run` before it drains and
reconciles) closes its book streams at once and quietly, against the embedded simulator streaming
over real loopback sockets: no frame is parsed once a connection is closing, a deliberate close is
not a lost stream (no book marked down, no feed falling back to polling), and the order path
stops reading the frozen books (it re-quotes over REST) while sizing still can."""
from __future__ import annotations

import asyncio

import pytest

from arbbot.run.live import LiveSession, simulated_venues
from arbbot.run.quotes import StreamedQuotes
from arbbot.sim import serve
from arbbot.venues.polymarket import data as polymarket_data
from tests.mapping.twins import sim_twins
from tests.venues.conftest import wait_for


@pytest.fixture(scope="module")
def sim():
    handle = serve("all", 0, step_interval=0.02)       # books move every 20 ms: frames are in flight
    yield handle
    handle.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


def _count_frames_while_closing(ws, seen: dict) -> None:
    """Wrap `ws.on_frame`: count the frames it parses, and those parsed once `ws` was closing."""
    parse = ws.on_frame

    async def counted(frame, recv_ts):
        seen["parsed"] += 1
        if ws.closed:
            seen["while_closing"] += 1
        await parse(frame, recv_ts)
    ws.on_frame = counted


def test_stopping_closes_every_book_stream_without_parsing_or_falling_back(sim, monkeypatch):
    monkeypatch.setattr(polymarket_data, "ASSETS_PER_CONNECTION", 8)     # 4 markets a connection: several

    async def main():
        session = LiveSession(simulated_venues(sim), sim_twins())
        await session.discover()
        session.start_streams()
        await wait_for(lambda: session.healthy() == len(session.markets) and session.stats.book_updates >= 100,
                       timeout=30, what="every book streamed")
        kalshi, polymarket = session.venues["kalshi"], session.venues["polymarket"]
        sockets = [kalshi.data.ws, *polymarket.data.sockets]
        assert len(polymarket.data.sockets) >= 3 and all(ws._ws is not None for ws in sockets)
        seen = {"parsed": 0, "while_closing": 0}
        for ws in sockets:
            _count_frames_while_closing(ws, seen)
        await wait_for(lambda: seen["parsed"] >= 20, what="frames parsed through the wrappers")
        order_path, sizing = StreamedQuotes(session, fresh_only=True), StreamedQuotes(session)
        name = next(str(m.id) for m in session.markets if m.venue.label == "polymarket")
        streamed = sizing(name)
        assert streamed is not None and order_path(name) == streamed

        def untradeable() -> tuple[set, set]:
            return ({t for t, b in kalshi.data.books.items() if not b.tradeable},
                    {m for m in polymarket.data.markets if not polymarket.data.native(m).tradeable})
        before = untradeable()           # a loaded machine may have lost a stream on its own: not the close
        await session.stop_tasks()

        assert not session.books_live
        assert order_path(name) is None                 # an execution draining re-quotes over REST
        assert sizing(name) == streamed                 # the frozen book, as it was
        for ws in sockets:
            assert ws.closed and ws._ws is None and ws._task.done()
        assert seen["while_closing"] == 0 and seen["parsed"] >= 20
        # a deliberate close is not a lost stream: no fallback to polling, no book marked down
        assert kalshi.feed.fallbacks == 0 and polymarket.feed.fallbacks == 0
        after = untradeable()
        assert after[0] <= before[0] and after[1] <= before[1], (before, after)
        connects = [ws.connects for ws in sockets]
        await asyncio.sleep(0.3)
        assert [ws.connects for ws in sockets] == connects          # and nothing reconnects
        await session.close()
    run(main())


class _Venue:
    """A venue whose book stream stops, or fails to (`error`)."""

    def __init__(self, venue: str, error: Exception | None = None) -> None:
        self.venue, self.error, self.stopped = venue, error, False

    async def close_stream(self) -> None:
        self.stopped = True
        if self.error is not None:
            raise self.error


def test_a_stream_that_fails_to_stop_is_reported_and_the_others_still_stop():
    good, bad = _Venue("kalshi"), _Venue("polymarket", OSError("connection reset"))
    session = LiveSession({"kalshi": good, "polymarket": bad}, [])
    asyncio.run(session.stop_tasks())               # returns: the drain and reconciliation still run
    assert good.stopped and bad.stopped and not session.books_live
    assert session.errors == ["stop polymarket stream: connection reset"]
