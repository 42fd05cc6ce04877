"""The live book path's audit fixes, adapter side: a REST book read before a newer stream update
never replaces it (Polymarket shadow books, the feed's polls and re-snapshots for Kalshi); a REST
answer for another asset is not applied; a silent Polymarket connection is dropped (its books
polled); Kalshi commands the venue refuses (error 27) are retried, the markets of a refused
`add_markets` polled meanwhile."""
from __future__ import annotations

import asyncio
import json

import websockets

from arbbot.model import MarketInfo, Venue
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import Book, MarketId
from arbbot.venues.kalshi.data import KalshiDataClient
from arbbot.venues.polymarket.book import TokenBook, summary_hash
from arbbot.venues.polymarket.data import PolymarketDataClient
from arbbot.venues.polymarket.schemas.ws import parse_book
from tests.venues.conftest import wait_for

M, Y, N = "0xmkt", "111", "222"
INFO = MarketInfo(Venue.POLYMARKET, M, "t", yes_token=Y, no_token=N)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def poly_book(asset: str, ts: str, bids, asks) -> dict:
    """A Polymarket book summary (REST `/book` or WS `book`) with its true hash."""
    d = {"market": M, "asset_id": asset, "timestamp": ts, "hash": "",
         "bids": [{"price": p, "size": s} for p, s in bids], "asks": [{"price": p, "size": s} for p, s in asks],
         "min_order_size": "5", "tick_size": "0.01", "neg_risk": False, "last_trade_price": "0.50"}
    d["hash"] = summary_hash(M, asset, ts, bids, asks, "5", "0.01", False, "0.50")
    return d


def ws_books(*books: dict) -> str:
    return json.dumps([dict(b, event_type="book") for b in books])


def price_change(c: PolymarketDataClient, asset: str, ts: str, side: str, price: str, size: str) -> str:
    """The venue's `price_change` frame for one level, hashed as the venue's book is after it."""
    after = TokenBook(asset, M)
    after.__dict__.update({k: dict(v) if isinstance(v, dict) else v for k, v in c.books[asset].__dict__.items()})
    after.apply_change(side, price, size)
    return json.dumps({"event_type": "price_change", "market": M, "timestamp": ts, "price_changes": [
        {"asset_id": asset, "price": price, "size": size, "side": side, "hash": after.hash_at(ts)}]})


YES_100 = poly_book(Y, "100", [("0.40", "50")], [("0.46", "30"), ("0.45", "100")])
NO_100 = poly_book(N, "100", [("0.53", "50")], [("0.60", "40")])


class PolyHttp:
    """The CLOB's REST answers, handed out in order, each once `release` is set (a read in flight)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.release = asyncio.Event()
        self.reads = 0

    async def _answer(self):
        self.reads += 1
        await self.release.wait()
        return self.answers.pop(0)

    async def clob_get(self, path, params):
        return await self._answer()

    async def clob_post(self, path, body):
        return await self._answer()


def published(c: PolymarketDataClient) -> Book:
    """The market's book waiting in the feed's queue (the newest published)."""
    return c.feed.queue._items[M].book


def test_polymarket_rest_book_read_before_a_stream_change_is_asked_again_not_applied():
    """A re-snapshot's read is under way (venue time 150) when the stream removes the 0.45 ask
    (time 200): that answer would bring the removed ask back. It is not applied; the book is read
    again (time 250: the venue's book after the change) and that answer is."""
    async def main():
        yes_250 = poly_book(Y, "250", [("0.40", "50")], [("0.46", "30")])
        http = PolyHttp(poly_book(Y, "150", [("0.40", "50")], [("0.46", "30"), ("0.45", "100")]), yes_250)
        c = PolymarketDataClient("ws://unused", [INFO], http)
        await c.on_frame(ws_books(YES_100, NO_100), 1)
        c._resnapshot(Y, "periodic refresh", invalidate=False)
        await wait_for(lambda: http.reads == 1, what="the REST read")
        await c.on_frame(price_change(c, Y, "200", "SELL", "0.45", "0"), 2)
        assert published(c).yes_asks == ((4600, 3000),) and c.hash_mismatches == 0
        http.release.set()
        await wait_for(lambda: Y not in c._pending, what="the re-snapshot")
        book = published(c)
        assert book.yes_asks == ((4600, 3000),) and book.tradeable
        assert (c.stale_rest, c.resnapshots, http.reads) == (1, 1, 2) and c.books[Y].ts_ms == 250
    run(main())


def test_polymarket_poll_answered_after_the_stream_came_back_leaves_the_shadow_books_alone():
    """A poll (stream down) reads both tokens at time 150; the stream comes back meanwhile with
    their books at time 300 (the 0.45 ask gone). The poll's books must not enter the shadow books:
    a later change on the NO token publishes the market with the stream's YES book."""
    async def main():
        http = PolyHttp([poly_book(Y, "150", [("0.40", "50")], [("0.46", "30"), ("0.45", "100")]),
                         poly_book(N, "150", [("0.53", "50")], [("0.60", "40")])])
        c = PolymarketDataClient("ws://unused", [INFO], http)
        await c.on_frame(ws_books(YES_100, NO_100), 1)
        await c._on_disconnect(0)
        poll = asyncio.ensure_future(c.refresh_book(M))
        await wait_for(lambda: http.reads == 1, what="the poll's read")
        await c.on_frame(ws_books(poly_book(Y, "300", [("0.40", "50")], [("0.46", "30")]),
                                  poly_book(N, "300", [("0.53", "50")], [("0.60", "40")])), 3)
        assert c.feed.streaming
        http.release.set()
        await poll
        await c.on_frame(price_change(c, N, "400", "BUY", "0.52", "10"), 4)
        book = published(c)
        assert book.yes_asks == ((4600, 3000),) and book.no_bids == ((5300, 5000), (5200, 1000))
        assert book.tradeable and c.hash_mismatches == 0 and c.stale_rest == 2
    run(main())


def test_polymarket_rest_answer_for_another_asset_is_rejected_and_asked_again():
    """`GET /book?token_id=111` answered with asset 222's book (a misrouted answer): not applied to
    111; the next read, for 111, is."""
    async def main():
        wrong = poly_book(N, "2", [("0.20", "50")], [("0.30", "900")])
        right = poly_book(Y, "3", [("0.41", "50")], [("0.44", "70")])
        http = PolyHttp(wrong, right)
        http.release.set()
        c = PolymarketDataClient("ws://unused", [INFO], http)
        await c.on_frame(ws_books(poly_book(Y, "1", [("0.40", "50")], [("0.45", "100")]),
                                  poly_book(N, "1", [("0.54", "50")], [("0.60", "40")])), 1)
        c._resnapshot(Y, "hash mismatch")
        await wait_for(lambda: Y not in c._pending, what="the re-snapshot")
        book = published(c)
        assert book.yes_asks == ((4400, 7000),) and book.yes_bids == ((4100, 5000),)
        assert book.no_asks == ((6000, 4000),) and book.tradeable
        assert (c.misdirected, c.resnapshots, http.reads) == (1, 1, 2)
    run(main())


def test_a_rest_book_is_current_only_if_it_misses_nothing_the_stream_delivered():
    """(REST timestamp, stream messages taken during the read) → applied? The book's newest
    stream message is stamped 200 (ms)."""
    def current(rest_ts: str, arrived: int, stream_ts: str = "200") -> bool:
        book = TokenBook(Y, M)
        book.note(stream_ts)
        began = book.version
        for _ in range(arrived):
            book.note(stream_ts)
        return book.is_current(parse_book(poly_book(Y, rest_ts, [], [])), began)
    assert [current("200", 0), current("250", 0), current("150", 0)] == [True, True, False]
    assert [current("200", 1), current("201", 1), current("150", 1)] == [False, True, False]
    assert [current("", 0, ""), current("", 1, ""), current("300", 1, "")] == [True, False, False]


class FakeKalshiWs:
    """The connection as the data client uses it: commands recorded, ids counted."""

    class _Up:
        def is_set(self) -> bool:
            return True

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.connected = self._Up()
        self._id = 0

    def next_id(self) -> int:
        self._id += 1
        return self._id

    async def send(self, obj) -> None:
        self.sent.append(obj)

    def commands(self, action: str) -> list[dict]:
        return [m for m in self.sent if m.get("params", {}).get("action") == action]


def kalshi_frame(kind: str, seq: int, ticker: str, **msg) -> str:
    return json.dumps({"type": kind, "sid": 2, "seq": seq, "msg": {"market_ticker": ticker, "market_id": "u", **msg}})


SUBSCRIBED = json.dumps({"type": "subscribed", "id": 1, "msg": {"channel": "orderbook_delta", "sid": 2}})


def refused(cid: int) -> str:
    return json.dumps({"type": "error", "id": cid, "msg": {"code": 27, "msg": "Too many requests"}})


def test_kalshi_rest_resnapshot_raced_by_a_delta_is_discarded_the_stream_book_stays():
    """Re-snapshots of A and B are read (one batch) while a delta removes A's NO bid: A's answer
    (which still has it) is discarded, B's (nothing streamed meanwhile) is published; a later
    re-snapshot of A, not raced, is published too."""
    async def main():
        release = asyncio.Event()
        venue = {"A": Book(yes_bids=((4000, 10000),), no_bids=((5500, 2000),), market=MarketId(Venue.KALSHI, "A")),
                 "B": Book(yes_bids=((3000, 500),), market=MarketId(Venue.KALSHI, "B"))}

        async def fetch_many(ids):
            books = {mid: venue[mid] for mid in ids}       # the venue's books when the read is served
            await release.wait()
            return books

        async def fetch(mid):
            return (await fetch_many([mid]))[mid]

        feed = BookFeed("kalshi", ["A", "B"], fetch, 100.0, fetch_many=fetch_many, batch=2)
        c = KalshiDataClient("ws://unused", None, ["A", "B"], feed=feed)
        c.ws = FakeKalshiWs()
        await c.on_frame(SUBSCRIBED, 1)
        await c.on_frame(kalshi_frame("orderbook_snapshot", 1, "A", yes_dollars_fp=[["0.4000", "100.00"]],
                                      no_dollars_fp=[["0.5500", "20.00"]]), 1)
        await c.on_frame(kalshi_frame("orderbook_snapshot", 2, "B", yes_dollars_fp=[["0.3000", "5.00"]]), 1)
        while not feed.queue.empty():
            feed.queue.get_nowait()
        feed.start()
        feed.resnapshot(["A", "B"])
        await asyncio.sleep(0.05)                           # the read is in flight
        await c.on_frame(kalshi_frame("orderbook_delta", 3, "A", price_dollars="0.5500", delta_fp="-20.00",
                                      side="no"), 2)
        venue["A"] = c.native("A")
        release.set()
        await wait_for(lambda: feed.resnapshots >= 1, what="the answers")    # (one batch: both at once)
        latest = {}
        while not feed.queue.empty():
            u = feed.queue.get_nowait()
            latest[u.book.market.id] = u.book
        assert latest["A"].no_bids == () and latest["A"].yes_bids == ((4000, 10000),)
        assert latest["B"].yes_bids == ((3000, 500),)
        assert (feed.superseded, feed.resnapshots) == (1, 1)
        feed.resnapshot(["A"])                              # nothing streamed during this read
        await wait_for(lambda: feed.resnapshots == 2, what="the second re-snapshot")
        assert feed.queue.get_nowait().book.no_bids == () and feed.superseded == 1
        await feed.close()
    run(main())


def test_kalshi_refused_add_markets_batch_is_polled_and_retried_until_accepted():
    """1,000 tickers: the second batch's `add_markets` is refused (27 too many requests). Its
    markets are polled (not live) meanwhile, the command is sent again after a backoff, and once
    the venue accepts it (`ok`) they stream."""
    async def main():
        tickers = [f"T{i}" for i in range(1000)]
        c = KalshiDataClient("ws://unused", None, tickers)
        c.ws = FakeKalshiWs()
        await c._subscribe()
        await c.on_frame(SUBSCRIBED, 0)
        first = c.ws.commands("add_markets")
        assert len(first) == 1 and first[0]["params"]["market_tickers"] == tickers[500:]
        await c.on_frame(refused(first[0]["id"]), 0)
        assert c.feed.polls("T999") and not c.feed.polls("T0") and c.refused == 1
        await wait_for(lambda: len(c.ws.commands("add_markets")) == 2, timeout=3, what="the retry")
        retry = c.ws.commands("add_markets")[1]
        assert retry["params"]["market_tickers"] == tickers[500:] and retry["id"] != first[0]["id"]
        assert c.feed.polls("T999")
        await c.on_frame(json.dumps({"id": retry["id"], "sid": 2, "seq": 2, "type": "ok",
                                     "msg": {"market_tickers": tickers}}), 0)
        assert not c.feed.polls("T999") and c.feed.streaming
    run(main())


def test_kalshi_refused_get_snapshot_after_a_gap_is_retried_and_restores_the_book():
    """A gap asks for a snapshot; the venue refuses (27). The command is sent again after a
    backoff, and its snapshot restores the book."""
    async def main():
        c = KalshiDataClient("ws://unused", None, ["A"])
        c.ws = FakeKalshiWs()
        await c.on_frame(SUBSCRIBED, 0)
        await c.on_frame(kalshi_frame("orderbook_snapshot", 1, "A", yes_dollars_fp=[["0.4000", "100.00"]]), 0)
        await c.on_frame(kalshi_frame("orderbook_delta", 3, "A", price_dollars="0.4000", delta_fp="1.00",
                                      side="yes"), 0)      # seq 2 lost
        asked = c.ws.commands("get_snapshot")
        assert len(asked) == 1 and not c.books["A"].tradeable
        await c.on_frame(refused(asked[0]["id"]), 0)
        await wait_for(lambda: len(c.ws.commands("get_snapshot")) == 2, timeout=3, what="the retry")
        assert c.ws.commands("get_snapshot")[1]["params"]["market_tickers"] == ["A"]
        await c.on_frame(kalshi_frame("orderbook_snapshot", 4, "A", yes_dollars_fp=[["0.4100", "7.00"]]), 0)
        assert c.native("A").tradeable and c.native("A").yes_bids == ((4100, 700),)
    run(main())


def test_polymarket_connection_silent_after_a_ping_is_dropped_and_its_books_polled():
    """A venue that accepts the subscription and then never answers (no PONG, no book): the
    connection is dropped within two ping intervals, its books marked down and polled. A venue
    that answers PONG keeps the connection."""
    async def main():
        async def silent(ws):
            async for _ in ws:
                pass

        async def answering(ws):
            async for frame in ws:
                if frame == "PING":
                    await ws.send("PONG")

        for handler, dropped in ((silent, True), (answering, False)):
            server = await websockets.serve(handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            c = PolymarketDataClient(f"ws://127.0.0.1:{port}", [INFO], ping_interval_s=0.25)
            c.start()
            await wait_for(lambda: c.ws.connects == 1, what="connected")
            await asyncio.sleep(1.5)                     # six ping intervals
            assert c.feed.polls(M) is dropped, handler.__name__
            assert (c.books[Y].reason == "disconnected") is dropped
            if not dropped:
                assert c.ws.connects == 1 and c.feed.frames >= 3      # the PONGs
            await c.close()
            server.close()
            await server.wait_closed()
    run(main())
