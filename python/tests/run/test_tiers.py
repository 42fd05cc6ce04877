"""Subscription tiers: the plan (which markets stream, in which order, within caps) and a session
that streams the interesting markets, polls the rest slowly (healthy, the venue's books) and
promotes a polled market to the stream when a relation names it."""
from __future__ import annotations

import asyncio

from arbbot.mapping.table import MappingRow
from arbbot.run.live import LiveSession, connect_simulated_venues, pack
from arbbot.run.tiers import interesting, plan
from arbbot.sim import serve
from tests.mapping.twins import sim_twins
from tests.venues.conftest import wait_for

NAMES = ["kalshi:A", "kalshi:B", "kalshi:C", "polymarket:P", "polymarket:Q", "forecastex:F1", "forecastex:F2",
         "forecastex:F3"]
RELATIONS = [["kalshi:B", "kalshi:C"], ["kalshi:A", "polymarket:Q"], ["forecastex:F1", "forecastex:F2", "forecastex:F3"]]


def test_plan_streams_related_and_intra_venue_markets_polls_the_rest():
    tiers = plan(NAMES, [["kalshi:B", "polymarket:Q"]], by_interest=True)
    assert interesting(NAMES, [["kalshi:B", "polymarket:Q"]]) == {"kalshi:B", "polymarket:P", "polymarket:Q"}
    assert tiers.streamed == {"kalshi": ["B"], "polymarket": ["Q", "P"]}   # related first, then the rest
    assert tiers.polled == {"kalshi": ["A", "C"], "forecastex": ["F1", "F2", "F3"]}
    assert tiers.counts()["kalshi"] == {"streamed": 1, "polled": 2}


def test_plan_orders_buckets_by_priority_and_caps_a_venue():
    tiers = plan(NAMES, RELATIONS, by_interest=True, bucket_order=[["forecastex:F3", "forecastex:F2"], ["kalshi:C"]],
                 caps={"forecastex": 2})
    assert tiers.streamed["forecastex"] == ["F3", "F2"] and tiers.polled["forecastex"] == ["F1"]
    assert tiers.streamed["kalshi"] == ["C", "A", "B"]       # bucket rank first, then discovery order
    everything = plan(NAMES, [], by_interest=False, caps={"forecastex": 1})
    assert everything.streamed == {"kalshi": ["A", "B", "C"], "polymarket": ["P", "Q"], "forecastex": ["F1"]}
    assert everything.polled == {"forecastex": ["F2", "F3"]}


def test_session_polls_uninteresting_markets_and_promotes_one_a_relation_names():
    handle = serve("all", 0, step_interval=None)

    async def main():
        session = LiveSession(await connect_simulated_venues(handle), [], tiers=True, slow_poll_s=1.0,
                              stream_caps={"forecastex": 2}, stale_after_s=1.5)
        try:
            await session.discover()
            session.start_streams()
            polled = dict(session.tiers.polled)
            assert polled["kalshi"] and len(session.tiers.streamed["forecastex"]) == 2 and polled["forecastex"]
            kalshi = session.venues["kalshi"]
            await wait_for(lambda: kalshi.data is not None and kalshi.data.sid is not None, what="kalshi stream")
            await wait_for(lambda: session.healthy() == len(session.markets), timeout=20, what="every book")
            assert not set(polled["kalshi"]) & set(kalshi.data.tickers)        # not subscribed
            for mid in polled["kalshi"]:                                       # but read, and current
                assert session.books[f"kalshi:{mid}"] == pack(await kalshi.fetch_book(mid))
            await asyncio.sleep(3.5)                  # > 2 stale_after_s: polled books stay healthy
            assert session.healthy() == len(session.markets) and "stale" not in session.stats.held_out
            twin = next(r for r in sim_twins() if r.ids[0] in polled["kalshi"])
            session.apply_generated([MappingRow(twin.ids, twin.relation, 1_000_000)])
            await wait_for(lambda: twin.ids[0] in kalshi.data.tickers, what="promotion")
            assert session.promoted == 1 and twin.ids[0] in session.tiers.streamed["kalshi"]
            assert twin.ids[0] not in session.tiers.polled["kalshi"]
            books_before = kalshi.feed.stats()["updates"]
            await wait_for(lambda: kalshi.feed.stats()["updates"] > books_before, what="its stream snapshot")
            return session
        finally:
            await session.close()
    try:
        session = asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        handle.stop()
    assert session.errors == []


def test_slow_tier_polls_are_rest_answers_not_stream_liveness():
    """A polled market's book is a REST read: it reaches the session through the venue's feed,
    but must not count as a frame of the stream, or a silent stream stays "live" as long as the
    slow tier keeps reading (the session judges liveness from `BookFeed.frames`)."""
    from types import SimpleNamespace
    from arbbot.model import Book, MarketId, Venue
    from arbbot.run.tiers import SessionTiers
    from arbbot.venues.common.feed import BookFeed

    async def main():
        async def read(mid):
            return Book(market=MarketId(Venue.KALSHI, mid))
        feed = BookFeed("kalshi", [], read, reads_per_s=1_000)
        venue = SimpleNamespace(feed=feed, fetch_book=read)
        session = SimpleNamespace(venues={"kalshi": venue}, clock=lambda: 0.0)
        tiers = SessionTiers(session, by_interest=True, slow_poll_s=0.01)
        tiers.slow = {"kalshi:A": "kalshi", "kalshi:B": "kalshi"}
        task = asyncio.create_task(tiers._poll("kalshi", ["A", "B"]))
        await asyncio.sleep(0.2)
        task.cancel()
        return feed
    feed = asyncio.run(main())
    assert len(feed.queue) == 2 and feed.frames == 0
