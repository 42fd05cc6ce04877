"""Kalshi data client, review fixes.

1. A refused book `subscribe` (an `error` answering it: 27 too many requests, 18 command timeout,
   17 internal error…; or no `subscribed` within SUBSCRIBE_TIMEOUT_S). Before, only `errors` kept
   it: `sid` stayed None, `get_snapshot` was skipped silently, the feed never polled, and the
   lifecycle frames kept the venue looking live, so the session traded on old levels (is_fresh).
   Now every book is published untradeable and polled until a retried `subscribe` (backoff) is
   answered `subscribed`.
2. A market paused by `market_lifecycle_v2` `deactivated` was published tradeable again after a
   reconnect (no `activated` came: the venue re-sends no lifecycle state). Now the hold outlives the
   connection, and once the lifecycle channel is subscribed again the held markets' Market.status is
   read over REST (GET /markets?tickers=…): `active` releases, anything else keeps the hold.
"""
from __future__ import annotations

import asyncio
import json

from arbbot.model import Venue
from arbbot.venues.common.errors import TransportError
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import Book, MarketId
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.kalshi.data import KalshiDataClient
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import kalshi_env
from tests.venues.test_fallback import Consumer
from tests.venues.test_feed_audit_fixes import SUBSCRIBED, FakeKalshiWs, kalshi_frame

DEACTIVATED = "kalshi: trading in {} paused (market deactivated)"


class Ws(FakeKalshiWs):
    """The recording connection, closable (`KalshiDataClient.close`)."""

    async def close(self) -> None:
        pass


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def error(cid: int, code: int, text: str) -> str:
    return json.dumps({"type": "error", "id": cid, "msg": {"code": code, "msg": text}})


def subscribed(cid: int, channel: str, sid: int) -> str:
    return json.dumps({"type": "subscribed", "id": cid, "msg": {"channel": channel, "sid": sid}})


def lifecycle(seq: int, ticker: str, **msg) -> str:
    return json.dumps({"type": "market_lifecycle_v2", "sid": 7, "seq": seq, "msg": {"market_ticker": ticker, **msg}})


def subscribes(ws: FakeKalshiWs, channel: str) -> list[dict]:
    return [m for m in ws.sent if m["cmd"] == "subscribe" and m["params"]["channels"] == [channel]]


def latest_books(feed: BookFeed) -> dict[str, Book]:
    out = {}
    while not feed.queue.empty():
        u = feed.queue.get_nowait()
        out[u.book.market.id] = u.book
    return out


def kalshi_book(ticker: str, no_bid: int) -> Book:
    return Book(yes_bids=((4000, 10000),), no_bids=((no_bid, 2000),), market=MarketId(Venue.KALSHI, ticker))


# ---- 1. a refused book subscription ------------------------------------------------------------

def test_refused_book_subscribe_publishes_the_books_untradeable_polls_them_and_retries_until_subscribed():
    """The audit's session: the book `subscribe` is refused (27) while the lifecycle channel is
    subscribed and keeps talking; the venue's NO bid then moves 0.55 → 0.40. Every book is
    published untradeable at once, the feed polls it (so the moved bid arrives from REST), the
    subscribe is sent again after a backoff (naming a market added meanwhile), and its
    `subscribed` ends the polling; the snapshot then restores the stream book."""
    async def main():
        venue = {"A": kalshi_book("A", 5500)}

        async def fetch(mid):
            return venue[mid]

        feed = BookFeed("kalshi", ["A"], fetch, 100.0, poll_interval_s=0.02)
        c = KalshiDataClient("ws://unused", None, ["A"], feed=feed, on_fee_update=lambda m: [])
        c.ws = Ws()
        feed.start()
        await c._subscribe()                              # id 1: orderbook_delta, id 2: lifecycle
        await c.on_frame(subscribed(2, "market_lifecycle_v2", 7), 0)
        await c.on_frame(error(1, 27, "Too many requests"), 5)
        c.add_tickers(["B"])                              # listed meanwhile: the retry names it (its backoff
        #                                                   is jittered from 0: added before it may fire)
        refused = latest_books(feed)["A"]
        assert (refused.tradeable, refused.reason) == (False, "kalshi: book subscription refused (error 27: Too many requests)")
        assert feed.polls("A") and not feed.streaming and c.refused == 1
        venue["A"] = kalshi_book("A", 4000)               # the venue's NO bid is taken
        for seq in range(1, 4):                           # the connection keeps talking
            await c.on_frame(lifecycle(seq, "X", event_type="metadata_updated"), 6)
        await wait_for(lambda: feed.polled >= 2, timeout=3, what="polls")
        polled = latest_books(feed)["A"]
        assert polled.tradeable and polled.no_bids == ((4000, 2000),)
        await wait_for(lambda: len(subscribes(c.ws, "orderbook_delta")) == 2, timeout=3, what="the retry")
        retry = subscribes(c.ws, "orderbook_delta")[1]
        assert retry["params"] == {"channels": ["orderbook_delta"], "market_tickers": ["A", "B"], "use_yes_price": False}
        assert feed.polls("A")                            # still polled until the venue answers
        await c.on_frame(subscribed(retry["id"], "orderbook_delta", 2), 7)
        assert not feed.polls("A") and feed.streaming and c.sid == 2
        await c.on_frame(kalshi_frame("orderbook_snapshot", 1, "A", yes_dollars_fp=[["0.4000", "100.00"]],
                                      no_dollars_fp=[["0.4000", "20.00"]]), 8)
        assert c.native("A").tradeable and c.native("A").no_bids == ((4000, 2000),)
        await feed.close()
        await c.close()
    run(main())


def test_unanswered_book_subscribe_times_out_is_retried_and_a_late_second_subscription_is_dropped():
    """No answer within the timeout counts as a refusal (polled, retried). When the first
    `subscribe` is answered late, after the retry's, that second subscription is unsubscribed
    and its frames ignored: each delta is applied once."""
    async def main():
        c = KalshiDataClient("ws://unused", None, ["A"])
        c.ws = Ws()
        c.subscribe_timeout_s = 0.05
        await c._subscribe()                              # id 1, never answered in time
        await wait_for(lambda: c.feed.polls("A"), timeout=3, what="the timeout")
        assert c.books["A"].reason == "kalshi: book subscription refused (not answered within 0.05 s)"
        await wait_for(lambda: len(subscribes(c.ws, "orderbook_delta")) == 2, timeout=3, what="the retry")
        retry_id = subscribes(c.ws, "orderbook_delta")[1]["id"]
        await c.on_frame(subscribed(retry_id, "orderbook_delta", 2), 0)
        await c.on_frame(kalshi_frame("orderbook_snapshot", 1, "A", yes_dollars_fp=[["0.4000", "100.00"]]), 0)
        await c.on_frame(subscribed(1, "orderbook_delta", 9), 0)         # the first one, late
        await asyncio.sleep(0)
        assert c.ws.sent[-1]["cmd"] == "unsubscribe" and c.ws.sent[-1]["params"] == {"sids": [9]}
        late = json.dumps({"type": "orderbook_delta", "sid": 9, "seq": 2, "msg": {
            "market_ticker": "A", "price_dollars": "0.4000", "delta_fp": "5.00", "side": "yes"}})
        await c.on_frame(late, 0)
        assert c.sid == 2 and c.native("A").yes_bids == ((4000, 10000),) and not c.feed.polls("A")
        await c.close()
    run(main())


def test_refused_lifecycle_subscribe_is_retried_and_the_books_keep_streaming():
    """The lifecycle channel's `subscribe` refused (18 command timeout): sent again after a
    backoff; the books, subscribed, are neither held nor polled for it."""
    async def main():
        c = KalshiDataClient("ws://unused", None, ["A"], on_fee_update=lambda m: [])
        c.ws = Ws()
        await c._subscribe()
        await c.on_frame(SUBSCRIBED, 0)
        await c.on_frame(kalshi_frame("orderbook_snapshot", 1, "A", yes_dollars_fp=[["0.4000", "100.00"]]), 0)
        await c.on_frame(error(2, 18, "Command timeout"), 0)
        assert c.refused == 1 and c.feed.streaming and c.native("A").tradeable
        await wait_for(lambda: len(subscribes(c.ws, "market_lifecycle_v2")) == 2, timeout=3, what="the retry")
        await c.on_frame(subscribed(subscribes(c.ws, "market_lifecycle_v2")[1]["id"], "market_lifecycle_v2", 7), 0)
        assert c.lifecycle_sid == 7 and len(subscribes(c.ws, "orderbook_delta")) == 1
        await c.close()
    run(main())


# ---- 2. market holds across a reconnect -----------------------------------------------------------

async def _held_then_reconnected(c: KalshiDataClient, tickers: list[str], ended: str | None = None) -> None:
    """Subscribed, every book snapshotted, each of `tickers` deactivated (`ended`: determined);
    then the connection is lost and made again, books snapshotted (lifecycle not subscribed yet)."""
    await c._subscribe()
    await c.on_frame(SUBSCRIBED, 0)
    await c.on_frame(subscribed(2, "market_lifecycle_v2", 7), 0)
    for seq, t in enumerate(c.tickers, 1):
        await c.on_frame(kalshi_frame("orderbook_snapshot", seq, t, yes_dollars_fp=[["0.4000", "100.00"]],
                                      no_dollars_fp=[["0.5500", "20.00"]]), 0)
    for seq, t in enumerate(tickers, 1):
        await c.on_frame(lifecycle(seq, t, event_type="deactivated", is_deactivated=True), 0)
    if ended:
        await c.on_frame(lifecycle(len(tickers) + 1, ended, event_type="determined", result="yes"), 0)
    await c._on_disconnect()
    await c._subscribe()                                  # reconnect: books id n, lifecycle id n+1
    await c.on_frame(subscribed(c.ws.sent[-2]["id"], "orderbook_delta", 3), 0)
    for seq, t in enumerate(c.tickers, 1):
        await c.on_frame(json.dumps({"type": "orderbook_snapshot", "sid": 3, "seq": seq, "msg": {
            "market_ticker": t, "yes_dollars_fp": [["0.4000", "100.00"]], "no_dollars_fp": [["0.5500", "20.00"]]}}), 0)


def test_a_paused_market_stays_held_after_a_reconnect_without_activated():
    """The audit's script: A deactivated, the connection lost and made again, A's snapshot
    arrives, no `activated` ever: A is still held (before: published tradeable, reason '')."""
    async def main():
        c = KalshiDataClient("ws://unused", None, ["A"], on_fee_update=lambda m: [])
        c.ws = Ws()
        await _held_then_reconnected(c, ["A"])
        book = c.native("A")
        assert (book.tradeable, book.reason) == (False, DEACTIVATED.format("A"))
        await c.close()
    run(main())


def test_held_markets_state_is_read_over_rest_after_the_lifecycle_resubscribes():
    """A and B paused, C determined; while disconnected the venue activated A. Once the lifecycle
    channel is subscribed again, A and B (not C: it never trades again) are read: A `active` is
    released and published tradeable, B `inactive` and C stay held."""
    async def main():
        asked: list[list[str]] = []

        async def market_status(tickers):
            asked.append(list(tickers))
            return {"A": "active", "B": "inactive", "C": "active"}

        c = KalshiDataClient("ws://unused", None, ["A", "B", "C"], on_fee_update=lambda m: [],
                             market_status=market_status)
        c.ws = Ws()
        await _held_then_reconnected(c, ["A", "B"], ended="C")
        assert [c.native(t).tradeable for t in "ABC"] == [False, False, False] and asked == []
        latest_books(c.feed)
        await c.on_frame(subscribed(c.ws.sent[-1]["id"], "market_lifecycle_v2", 8), 0)
        await wait_for(lambda: c.hold_rereads == 1, timeout=3, what="the REST read")
        assert asked == [["A", "B"]]
        assert c.native("A").tradeable and latest_books(c.feed)["A"].tradeable
        assert (c.native("B").tradeable, c.native("B").reason) == (False, DEACTIVATED.format("B"))
        assert (c.native("C").tradeable, c.native("C").reason) == (False, "kalshi: C determined (result yes)")
        await c.close()
    run(main())


def test_a_failed_status_read_is_retried_and_a_lifecycle_frame_during_the_read_wins():
    """The first REST read fails (retried after a backoff); the second is served `active` for A,
    but a `deactivated` frame about A arrives while it is under way (A was paused again after the
    read was served): that frame is newer, A stays held."""
    async def main():
        calls = 0
        answer = asyncio.Event()

        async def market_status(tickers):
            nonlocal calls
            calls += 1
            if calls == 1:
                raise TransportError("kalshi GET /markets: connection reset", venue="kalshi")
            served = {"A": "active"}
            await answer.wait()
            return served

        c = KalshiDataClient("ws://unused", None, ["A"], on_fee_update=lambda m: [], market_status=market_status)
        c.ws = Ws()
        await _held_then_reconnected(c, ["A"])
        await c.on_frame(subscribed(c.ws.sent[-1]["id"], "market_lifecycle_v2", 8), 0)
        await wait_for(lambda: calls == 2, timeout=3, what="the second read")
        await c.on_frame(json.dumps({"type": "market_lifecycle_v2", "sid": 8, "seq": 1, "msg": {
            "market_ticker": "A", "event_type": "deactivated", "is_deactivated": True}}), 0)
        answer.set()
        await wait_for(lambda: c.hold_rereads == 1, timeout=3, what="the answer")
        assert (c.native("A").tradeable, c.native("A").reason) == (False, DEACTIVATED.format("A"))
        await c.close()
    run(main())


def test_market_statuses_reads_get_markets_by_ticker(rsa_keys):
    """`KalshiVenue.market_statuses` against the simulator: Market.status of each ticker asked
    (`active`, `finalized` once settled); a ticker the venue does not return is left out."""
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            tickers = [m.market_id for m in await v.discover_markets()][:3]
            sim.settle_market(tickers[2], "yes")
            assert await v.market_statuses([*tickers, "NOPE-1"]) == {
                tickers[0]: "active", tickers[1]: "active", tickers[2]: "finalized"}
            await v.close()
    run(main())


def test_a_market_activated_while_disconnected_is_released_after_the_reconnect(rsa_keys):
    """End to end against the simulator: a market paused (held), then activated while no frame
    reaches us (the simulator's pause lifted silently, as in an outage); the connection is lost and
    made again: the REST read after the lifecycle resubscription releases it."""
    async def main():
        async with kalshi_env(rsa_keys, exchange_status_s=3_600, reconnect_base_s=0.05,
                              reconnect_cap_s=0.2) as (sim, cfg):
            v = KalshiVenue(cfg)
            tickers = [m.market_id for m in await v.discover_markets()]
            c = Consumer(v.stream_books(tickers))
            await wait_for(lambda: all(t in c.latest and c.latest[t].tradeable for t in tickers), what="books")
            paused = tickers[0]
            sim.pause_market(paused)
            await wait_for(lambda: not c.latest[paused].tradeable, what="the paused market held")
            sim.paused_markets.discard(paused)               # activated: the frame is lost
            connects = v.data.ws.connects
            for conn in list(sim.connections):
                await conn.ws.close()
            await wait_for(lambda: v.data.ws.connects > connects, what="the reconnect")
            await wait_for(lambda: v.data.hold_rereads == 1, what="the REST read")
            await wait_for(lambda: c.latest[paused].tradeable, what="the market released")
            assert paused not in v.data.market_holds
            c.task.cancel()
            await v.close()
    run(main())
