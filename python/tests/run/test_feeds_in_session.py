"""The session's book feeds against the embedded simulator: a stalled consumer lets the feeds
coalesce (every update still sampled for sizing, the newest book decided on afterwards), a stale
book is re-snapshotted over REST and healthy again, and the feeds' figures reach the metrics."""
from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

import pytest

from arbbot.ops.metrics import SessionCollector
from arbbot.run.live import LiveSession, pack, simulated_venues
from arbbot.sim import serve
from tests.venues.conftest import wait_for


@pytest.fixture(scope="module")
def sim():
    handle = serve("all", 0, step_interval=None)        # the books move only when a test steps them
    yield handle
    handle.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


async def step(sim, n: int = 1) -> None:
    """`n` price-process steps of every simulated venue, on the simulator's loop."""
    async def steps():
        for _ in range(n):
            sim.kalshi.process.step()
            sim.polymarket.process.step()
    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(steps(), sim.loop))


def gate_streams(session: LiveSession) -> asyncio.Event:
    """Make each venue's consumer (the session's pump) wait on the returned event before it
    applies an update: cleared, the session stalls while the adapters keep reading."""
    gate = asyncio.Event()
    gate.set()
    for venue in session.venues.values():
        real = venue.stream_books

        async def gated(ids, real=real, **kw):
            async for update in real(ids, **kw):
                await gate.wait()
                yield update
        venue.stream_books = gated
    return gate


def test_stalled_session_coalesces_samples_every_update_and_decides_on_the_newest_books(sim):
    async def main():
        session = LiveSession(simulated_venues(sim), [], stale_after_s=60.0)
        await session.discover()
        sampled: Counter = Counter()
        session.book_sampler = lambda name, book: sampled.update((name,))
        gate = gate_streams(session)
        session.start_streams()
        kalshi, poly = session.venues["kalshi"], session.venues["polymarket"]
        await wait_for(lambda: kalshi.feed is not None and poly.feed is not None and session.healthy() == 36
                       and sum(f["updates"] for f in session.feed_stats().values()) >= 36, what="streams")
        gate.clear()                                      # the session stalls for 2 s
        applied = session.stats.book_updates
        for _ in range(20):
            await step(sim)
            await asyncio.sleep(0.1)
        stats = session.feed_stats()
        assert session.stats.book_updates == applied      # nothing applied while stalled ...
        assert all(st["queue_depth"] <= st["queue_capacity"] for st in stats.values())
        assert sum(st["coalesced"] for st in stats.values()) > 0
        assert kalshi.data.ws.connects == 1 and poly.data.ws.connects == 1
        # ... but every update was sampled for sizing as the readers received it
        assert sum(sampled.values()) == sum(st["updates"] for st in stats.values())
        gate.set()
        await wait_for(lambda: all(st["queue_depth"] == 0 for st in session.feed_stats().values()), what="drain")
        await asyncio.sleep(0.1)
        for m in session.markets:                        # the engine holds the adapters' newest books
            data = kalshi.data if m.venue.label == "kalshi" else poly.data
            assert session.books[str(m.id)] == pack(data.native(m.market_id)), m.id
        after = session.feed_stats()
        # every update was either applied or replaced in its queue by a newer one of its market
        assert session.stats.book_updates == sum(st["updates"] - st["coalesced"] for st in after.values())
        assert all(st["dropped"] == 0 for st in after.values())
        # the figures reach the Prometheus metrics, per venue
        families = {f.name: f for f in SessionCollector(session).collect()}
        coalesced = {s.labels["venue"]: s.value for s in families["arbbot_feed_coalesced"].samples
                     if s.name.endswith("_total")}
        assert coalesced == {v: st["coalesced"] for v, st in after.items()}
        depth = {s.labels["venue"]: s.value for s in families["arbbot_feed_queue_max_depth"].samples}
        assert depth == {v: st["queue_max_depth"] for v, st in after.items()} and depth["kalshi"] >= 1
        assert {s.labels["venue"]: s.value for s in families["arbbot_feed_polling"].samples} == \
            {"kalshi": 0.0, "polymarket": 0.0}
        await session.close()
    run(main())


def test_a_withheld_book_goes_quiet_not_stale_is_requoted_before_an_order_and_resnapshotted(sim):
    """The venue silently stops sending one market (`stale_books`) while its stream stays live:
    the book is quiet, not held out (real quiet books sit for minutes on a healthy stream); the
    order path no longer trusts it (a REST re-quote before any order); the session's re-snapshot
    restores it from the venue."""
    from arbbot.run.quotes import StreamedQuotes

    async def main():
        session = LiveSession(simulated_venues(sim), [], stale_after_s=1.0, resnapshot_after_s=4.0)
        await session.discover()
        ticker = "KXFEDDECISION-26DEC-H0"
        name = f"kalshi:{ticker}"
        session.start_streams()
        await wait_for(lambda: session.healthy() == 36, what="streams")
        kalshi = session.venues["kalshi"]
        order_path, sizing = StreamedQuotes(session, fresh_only=True), StreamedQuotes(session)
        before = session.books[name]
        faults = sim.kalshi.faults
        sim.kalshi.faults = dataclasses.replace(faults, stale_books=(ticker,))   # its frames are withheld
        try:
            for _ in range(30):                          # its book moves at the venue, unseen by the stream
                await step(sim)
                if pack(await kalshi.fetch_book(ticker)) != before:
                    break
            quiet_checks, states = 0, []
            for _ in range(200):                         # the rest of the venue keeps streaming
                await step(sim)
                states.append(pack(await kalshi.fetch_book(ticker)))     # the venue's book now
                await asyncio.sleep(0.05)
                if session.books[name] != before:
                    break                                # restored by the re-snapshot
                if not session.gate.is_fresh(name):
                    assert name not in session.held      # quiet, not stale: still in detection
                    assert order_path(name) is None and sizing(name) is not None
                    assert session.gate.quiet() >= 1
                    quiet_checks += 1
            assert quiet_checks >= 3
            assert kalshi.feed.resnapshots >= 1
            assert session.books[name] in states and session.books[name] != before   # the venue's, fetched
            assert session.gate.is_fresh(name) and order_path(name) is not None
            assert "stale" not in session.stats.held_out
        finally:
            sim.kalshi.faults = faults
        await session.close()
    run(main())


def test_books_of_a_silent_venue_are_stale_and_restored_by_resnapshots(sim):
    """A venue that sends nothing for `stale_after_s` (its books do not move): its books are held
    out as stale, then restored by the re-snapshots."""
    async def main():
        session = LiveSession(simulated_venues(sim), [], stale_after_s=1.0, resnapshot_after_s=1.5)
        await session.discover()
        session.start_streams()
        await wait_for(lambda: session.healthy() == 36, what="streams")
        await wait_for(lambda: set(session.held.values()) == {"stale"} and session.healthy() == 0,
                       timeout=10, what="stale")
        assert sum(f["resnapshots"] for f in session.feed_stats().values()) == 0
        # (Kalshi also asks its stream for the snapshots of the books it re-fetches)
        await wait_for(lambda: session.healthy() == 36, timeout=10, what="re-snapshots")
        assert sum(f["resnapshots"] for f in session.feed_stats().values()) >= 18
        await session.close()
    run(main())


def test_snapshot_start_bootstraps_from_subscription_snapshots_in_batches_rest_only_for_the_missing(
        sim, monkeypatch):
    import arbbot.venues.kalshi.data as kalshi_data
    from arbbot.run.live import AWAITING
    monkeypatch.setattr(kalshi_data, "SUBSCRIBE_BATCH", 3)       # subscribe 3, then add_markets 3 by 3

    async def main():
        session = LiveSession(simulated_venues(sim), [], stale_after_s=60.0, snapshot_start=True,
                              bootstrap_wait_s=0.5)
        fetched: Counter = Counter()
        for name, venue in session.venues.items():
            real = venue.fetch_book

            async def counting(mid, real=real, name=name):
                fetched[f"{name}:{mid}"] += 1
                return await real(mid)
            venue.fetch_book = counting
        await session.discover()
        assert not fetched and session.healthy() == 0 and set(session.held.values()) == {AWAITING}
        assert session.time_to_healthy_s is None
        kalshi_ids = [m.market_id for m in session.markets if m.venue.label == "kalshi"]
        assert len(kalshi_ids) > 3 * 2                  # more than two batches
        missing = kalshi_ids[-1]                        # its snapshot never comes: REST fallback
        faults = sim.kalshi.faults
        sim.kalshi.faults = dataclasses.replace(faults, stale_books=(missing,))
        try:
            session.start_streams()
            await wait_for(lambda: len(session.held) == 1, what="snapshots")
            assert session.held == {f"kalshi:{missing}": AWAITING} and not fetched
            await wait_for(lambda: session.healthy() == 36, what="REST fallback")
            assert fetched == {f"kalshi:{missing}": 1}
            assert session.books[f"kalshi:{missing}"] == pack(await session.venues["kalshi"].fetch_book(missing))
        finally:
            sim.kalshi.faults = faults
        assert 0 < session.time_to_healthy_s < 10
        kalshi = session.venues["kalshi"]
        assert kalshi.data.ws.connects == 1 and kalshi.data.gaps == 0
        await session.close()
    run(main())


def test_a_stream_that_fails_is_started_again_and_the_other_venues_never_stop(sim):
    from arbbot.venues.common.errors import TransportError

    async def main():
        session = LiveSession(simulated_venues(sim), [], stale_after_s=60.0)
        await session.discover()
        kalshi, poly = session.venues["kalshi"], session.venues["polymarket"]
        real, calls, first = kalshi.stream_books, [], []

        async def breaks_once(ids, **kw):            # the first stream raises after three updates
            calls.append(len(calls))
            n = 0
            async for u in real(ids, **kw):
                yield u
                n += 1
                if len(calls) == 1 and n == 1:
                    first.append(kalshi.data)
                if len(calls) == 1 and n == 3:
                    raise TransportError("kalshi: the stream broke", venue="kalshi")
        kalshi.stream_books = breaks_once
        session.start_streams()
        await wait_for(lambda: session.errors, what="the failure")
        assert session.errors == ["kalshi: TransportError: kalshi: the stream broke"]
        poly_updates = poly.feed.queue.puts
        await step(sim, 3)                               # Polymarket streams on meanwhile
        await wait_for(lambda: poly.feed.queue.puts > poly_updates, what="polymarket updates")
        # (the second stream replaces the data client after closing the old one: both awaited)
        await wait_for(lambda: len(calls) == 2 and kalshi.data is not first[0], timeout=5,
                       what="the stream started again")
        assert first[0].ws.closed                                        # the old connection closed
        await wait_for(lambda: kalshi.data.ws.connects == 1 and session.healthy() == 36, what="healthy again")
        await step(sim, 3)
        await wait_for(lambda: all(session.books[str(m.id)] == pack(kalshi.data.native(m.market_id))
                                   for m in session.markets if m.venue.label == "kalshi"), what="kalshi books")
        assert len(session.errors) == 1
        await session.close()
    run(main())
