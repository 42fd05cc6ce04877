"""The live book path's audit fixes, session side: stream liveness is judged from stream frames
only (REST answers do not keep a silent stream live); a held-out book whose updates keep coming
distrusted is fetched again; sizing samples leave out distrusted books and never add the other
token's bids to a Polymarket ask; hold-out reasons are counted by category."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from arbbot.engine import ScanResult
from arbbot.model import MarketInfo, Side, Venue
from arbbot.quality.gate import BookGate, reason_category
from arbbot.run.live import LiveSession
from arbbot.run.samples import StreamSamples
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import Book, BookUpdate, MarketId
from arbbot.venues.kalshi.book import KalshiBook, checked
from arbbot.venues.kalshi.data import KalshiDataClient
from tests.venues.conftest import wait_for
from tests.venues.test_feed_audit_fixes import FakeKalshiWs, kalshi_frame, SUBSCRIBED


class NoOpportunities:
    """An engine that finds nothing (these tests are about which books reach it)."""

    def update_packed(self, market, packed):
        return ScanResult((), ())


def bare_session(venue: str, feed: BookFeed, ids: list[str], now: list[float], **kw) -> LiveSession:
    """A session over one venue whose books arrive through `feed`, on the clock `now[0]`."""
    session = LiveSession({venue: SimpleNamespace(venue=venue, feed=feed)}, [], clock=lambda: now[0], **kw)
    session.markets = [MarketInfo(Venue.parse(venue), mid, mid) for mid in ids]
    session.index = {f"{venue}:{mid}": i for i, mid in enumerate(ids)}
    session.engine = NoOpportunities()
    return session


def drain(session: LiveSession, feed: BookFeed) -> None:
    while not feed.queue.empty():
        session.on_book(feed.queue.get_nowait())


def poly(mid: str) -> Book:
    return Book(yes_asks=((4500, 100),), no_asks=((5600, 100),), market=MarketId(Venue.POLYMARKET, mid))


def test_rest_answers_do_not_keep_a_silent_stream_live():
    """The stream sends P1's changes until t=40 s, then falls silent; P1 is still re-fetched over
    REST every 10 s, P2 (quiet) is not. While the stream delivers, P2 is quiet, not stale; 30 s
    after its last frame the stream is no longer live, so P2 (no update for 80 s) is held out as
    stale: P1's REST answers say nothing about the stream."""
    async def main():
        now = [0.0]

        async def fetch(mid):
            return poly(mid)

        feed = BookFeed("polymarket", ["P1", "P2"], fetch, 100.0)
        session = bare_session("polymarket", feed, ["P1", "P2"], now, stale_after_s=30.0, resnapshot_after_s=100.0)
        feed.start()
        feed.publish(BookUpdate(poly("P1")))
        feed.publish(BookUpdate(poly("P2")))
        for t in (0, 10, 20, 30, 40):                   # the stream sends P1's changes
            now[0] = float(t)
            feed.publish(BookUpdate(poly("P1")))
            drain(session, feed)
            assert session.check_staleness() == []
        assert session.gate.quiet() == 1 and "polymarket:P2" not in session.held     # quiet, not stale
        for t in (50, 60, 70, 80):                      # silent stream; P1 re-fetched over REST
            now[0] = float(t)
            done = feed.resnapshots
            feed.resnapshot(["P1"])
            await wait_for(lambda: feed.resnapshots > done, what="P1's REST answer")
            drain(session, feed)
            newly = session.check_staleness()
            assert newly == ([] if t < 80 else ["polymarket:P2"]), t
        assert session.held == {"polymarket:P2": "stale"}
        await feed.close()
    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_book_whose_updates_keep_coming_distrusted_is_fetched_again():
    """After a gap whose `get_snapshot` is never answered, the market's deltas keep arriving (each
    publishing the distrusted book): once it had no trusted update for `resnapshot_after_s`, the
    session asks its feed for it again (REST, and the stream's own snapshot), and that snapshot
    restores it."""
    async def main():
        now = [0.0]
        venue_book = Book(yes_bids=((4000, 10000),), no_bids=((5500, 2000),), market=MarketId(Venue.KALSHI, "A"))

        async def fetch(mid):
            return venue_book

        feed = BookFeed("kalshi", ["A"], fetch, 100.0)
        c = KalshiDataClient("ws://unused", None, ["A"], feed=feed)
        c.ws = FakeKalshiWs()
        session = bare_session("kalshi", feed, ["A"], now, stale_after_s=30.0, resnapshot_after_s=15.0)
        feed.start()
        frame = lambda kind, seq, **msg: c.on_frame(kalshi_frame(kind, seq, "A", **msg), 0)   # noqa: E731
        await c.on_frame(SUBSCRIBED, 0)
        await frame("orderbook_snapshot", 1, yes_dollars_fp=[["0.4000", "100.00"]], no_dollars_fp=[["0.5500", "20.00"]])
        drain(session, feed)
        seq = 3                                          # seq 2 is lost: a gap
        for t in range(1, 21):                           # one delta a second, ignored while distrusted
            now[0] = float(t)
            await frame("orderbook_delta", seq, price_dollars="0.4000", delta_fp="1.00", side="yes")
            seq += 1
            drain(session, feed)
            session.check_staleness()
            if t == 16:                                  # no trusted update for 16 s: asked for again
                await wait_for(lambda: feed.resnapshots == 1, timeout=3, what="the session's re-snapshot")
            await asyncio.sleep(0.01)                    # (the get_snapshot command's task)
            drain(session, feed)
        asked = [m["params"]["market_tickers"] for m in c.ws.commands("get_snapshot")]
        assert asked == [["A"], ["A"]]                   # the gap's, then the session's at t = 16 s
        assert feed.resnapshots == 1
        assert session.held == {"kalshi:A": "seq gap on sid 2"}       # the deltas after the REST answer
        await frame("orderbook_snapshot", seq, yes_dollars_fp=[["0.4000", "120.00"]], no_dollars_fp=[["0.5500", "20.00"]])
        drain(session, feed)
        assert session.held == {} and c.native("A").yes_bids == ((4000, 12000),)
        await feed.close()
    asyncio.run(asyncio.wait_for(main(), 30))


def test_distrusted_for_counts_from_the_last_trusted_update_and_leaves_fee_holds_out():
    now = [0.0]
    gate = BookGate(30.0, lambda: now[0])
    gate.admit("k:A", True)
    gate.admit("k:B", True)
    gate.admit("k:C", True)
    for t in range(1, 21):                               # A distrusted, B held for fees, C healthy
        now[0] = float(t)
        gate.admit("k:A", False, "seq gap on sid 2")
        gate.admit("k:B", False, "fee override on EV: taker rate 70000 ppm above the 35000 ppm it is priced with")
        gate.admit("k:C", True)
    assert gate.older_than(15.0) == []                   # every book was updated just now
    assert gate.distrusted_for(15.0) == ["k:A"] and gate.distrusted_for(25.0) == []


def test_samples_leave_out_distrusted_books_and_use_polymarket_own_asks():
    s = StreamSamples(persist=False)
    crossed = Book(yes_bids=((6000, 100),), no_bids=((4500, 100),), market=MarketId(Venue.KALSHI, "K"),
                   tradeable=False, reason="crossed book: YES bid 6000 + NO bid 4500 >= $1")
    s.on_book("kalshi:K", crossed, 1000.0)
    assert s._ask == {} and s.mids == {}
    # the NO token's 0.55 bid mirrors the YES token's 0.45 ask: one 10,000-lot level, not 20,000
    pm = Book(yes_bids=((4400, 3000),), yes_asks=((4500, 10000),), no_bids=((5500, 10000),),
              no_asks=((5600, 3000),), market=MarketId(Venue.POLYMARKET, "P"))
    s.on_book("polymarket:P", pm, 1000.0)
    yes, no = s._ask[("polymarket:P", Side.YES)], s._ask[("polymarket:P", Side.NO)]
    assert (yes.price, yes.size, no.price, no.size) == (4500, 10000, 5600, 3000)
    # the other token's bid leaving is no depletion of the YES ask
    s.on_book("polymarket:P", Book(yes_bids=((4400, 3000),), yes_asks=((4500, 10000),), no_asks=((5600, 3000),),
                                   market=MarketId(Venue.POLYMARKET, "P")), 1000.5)
    s.on_book("polymarket:P", pm, 1001.0)
    assert list(s.depletion[("polymarket:P", Side.YES)]) == [(1000.0, 0.0)]
    assert list(s.mids["polymarket:P"]) == [(1000.0, 0.445)]
    # Kalshi (bids only): a YES ask is $1 − the NO bid, as before
    s.on_book("kalshi:K", Book(yes_bids=((4000, 100),), no_bids=((5500, 200),), market=MarketId(Venue.KALSHI, "K")),
              1000.0)
    assert (s._ask[("kalshi:K", Side.YES)].price, s._ask[("kalshi:K", Side.YES)].size) == (4500, 200)


def test_hold_out_reasons_are_counted_by_category():
    """400 distinct crossed states of one market are one category; the market's own reason (with
    its prices) is kept for the view and the log."""
    gate = BookGate(30.0, lambda: 0.0)
    for y in range(5000, 5400):
        kb = KalshiBook("K")
        kb.apply_snapshot([(y, 100)], [(10_000 - y + 50, 100)])
        b = checked(kb.native())
        gate.admit("kalshi:K", b.tradeable, b.reason)
    assert dict(gate.held_out) == {"crossed book": 400}
    assert gate.held["kalshi:K"] == "crossed book: YES bid 5399 + NO bid 4651 >= $1"
    assert [reason_category(r) for r in (
        "seq gap on sid 7", "negative size at no 4100", "locked book: YES bid 5000 + NO bid 5000 >= $1",
        "yes token: snapshot hash mismatch", "no token book crossed", "yes token: disconnected", "ws error 25",
        "no snapshot yet", "awaiting snapshot", "stale", "fee override on EV: multiplier unknown", "",
    )] == ["seq gap", "negative size", "crossed book", "hash mismatch", "crossed book", "disconnected", "ws error",
           "awaiting snapshot", "awaiting snapshot", "stale", "fee hold", "other"]



def test_a_quiet_book_its_venue_no_longer_serves_is_held_stale_while_the_stream_lives():
    """P1 keeps streaming; P2 goes quiet and its re-snapshots fail (the venue closed or resolved the
    market without a word on the stream: REST answers 404). Before (feed review, session 33), P2's
    last book stayed in detection as "quiet" as long as the stream lived (pongs and P1 kept it
    live). Now, after FAILED_READS_STALE reads failed in a row, P2's stream no longer counts for it:
    held stale; a good read brings it back."""
    from arbbot.venues.common.errors import NotFound
    from arbbot.venues.common.feed import FAILED_READS_STALE

    async def main():
        now = [0.0]
        gone = {"P2"}

        async def fetch(mid):
            if mid in gone:
                raise NotFound(f"polymarket GET /book {mid}: HTTP 404: No orderbook exists", venue="polymarket")
            return poly(mid)

        feed = BookFeed("polymarket", ["P1", "P2"], fetch, 100.0)
        session = bare_session("polymarket", feed, ["P1", "P2"], now, stale_after_s=30.0, resnapshot_after_s=100.0)
        feed.start()
        feed.publish(BookUpdate(poly("P1")))
        feed.publish(BookUpdate(poly("P2")))
        drain(session, feed)
        now[0] = 40.0                                   # P2 quiet for 40 s, the stream live (P1)
        feed.publish(BookUpdate(poly("P1")))
        drain(session, feed)
        assert session.check_staleness() == [] and session.gate.quiet() == 1
        for _ in range(FAILED_READS_STALE):
            errors = feed.fetch_errors
            feed.resnapshot(["P2"])
            await wait_for(lambda: feed.fetch_errors > errors, what="P2's failed read", timeout=10)
        assert feed.failing("P2") >= FAILED_READS_STALE
        assert session.check_staleness() == ["polymarket:P2"] and session.held == {"polymarket:P2": "stale"}
        gone.clear()                                     # the venue serves it again
        await wait_for(lambda: feed.failing("P2") == 0, what="P2 read again", timeout=10)
        drain(session, feed)
        assert "polymarket:P2" not in session.held
        await feed.close()
    asyncio.run(asyncio.wait_for(main(), 40))


def test_reads_that_fail_for_the_network_or_a_rate_limit_say_nothing_of_the_market():
    """Only the venue's word that it has no such book counts towards `failing`: a batch of quiet
    books whose read times out or is rate limited (429) stays confirmed by its live stream.
    (Before the review of the first version, any failure counted: three transient batch failures
    could take hundreds of live books out of detection at once.)"""
    from arbbot.venues.common.errors import RateLimited, TransportError

    async def main():
        errors = iter([TransportError("timed out", venue="kalshi"), RateLimited("429", venue="kalshi")] * 3)

        async def fetch(mid):
            raise next(errors)

        feed = BookFeed("kalshi", ["K1"], fetch, 100.0)
        feed.start()
        for n in range(1, 7):
            feed.resnapshot(["K1"])
            await wait_for(lambda: feed.fetch_errors >= n, what=f"failed read {n}", timeout=20)
        failing = feed.failing("K1")
        await feed.close()
        return failing
    assert asyncio.run(asyncio.wait_for(main(), 40)) == 0
