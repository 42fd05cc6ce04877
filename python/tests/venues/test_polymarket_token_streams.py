"""Polymarket streams each outcome token's book on its own: a market is two token books. A
connection that delivers books but never sends one token's (the asset missing from the feed)
must not let a REST copy of that token stand in for it: every update of the other token would
keep the market looking fresh while its other half stays frozen.

Units: prices in ticks ($0.0001), sizes in lots (0.01 share)."""
from __future__ import annotations

import asyncio
import json

from arbbot.venues.common.model import MarketInfo, Venue
from arbbot.venues.polymarket.book import summary_hash
from arbbot.venues.polymarket.data import PolymarketDataClient

M, Y, N = "0xmkt", "111", "222"
INFO = MarketInfo(Venue.POLYMARKET, M, "t", yes_token=Y, no_token=N)


def book(asset: str, ts: str, bids, asks) -> dict:
    """A whole token book as the market channel and POST /books write it, its hash correct."""
    d = {"market": M, "asset_id": asset, "timestamp": ts, "bids": [{"price": p, "size": s} for p, s in bids],
         "asks": [{"price": p, "size": s} for p, s in asks], "min_order_size": "5", "tick_size": "0.01",
         "neg_risk": False, "last_trade_price": "0.50"}
    d["hash"] = summary_hash(M, asset, ts, bids, asks, "5", "0.01", False, "0.50")
    return d


class Http:
    """POST /books: both tokens, as of venue time 150, then 400."""
    reads = 0

    async def clob_post(self, path, body, **_):
        self.reads += 1
        ts = "150" if self.reads == 1 else "400"
        return [book(Y, ts, [("0.48", "100")], [("0.50", "100")]),
                book(N, ts, [("0.50", "100")], [("0.52", "100")])]


def test_a_token_its_connection_never_streamed_holds_the_market_whatever_rest_says():
    """The subscription's answer carries the YES token's book only. Before: a REST read of both
    tokens made the market tradeable, and YES updates kept it fresh for good, the NO half frozen
    at its REST copy (a phantom YES + NO under $1 once YES moved). Now it stays held ("no token:
    its connection has not sent its book") until the stream sends NO's book; a reconnection
    starts over."""
    async def main():
        c = PolymarketDataClient("ws://unused", [INFO], Http())
        await c.on_frame(json.dumps([dict(book(Y, "100", [("0.48", "100")], [("0.50", "100")]),
                                          event_type="book")]), 1)
        first = c.native(M)
        await c.refresh_book(M)                        # what the session's re-snapshot of the market reads
        after_rest = c.native(M)
        await c.on_frame(json.dumps([dict(book(N, "200", [("0.49", "100")], [("0.51", "100")]),
                                          event_type="book")]), 2)
        streamed = c.native(M)
        await c._on_disconnect(0)
        await c.on_frame(json.dumps([dict(book(Y, "300", [("0.48", "100")], [("0.50", "100")]),
                                          event_type="book")]), 3)
        await c.refresh_book(M)
        again = c.native(M)
        await c.feed.close()
        return first, after_rest, streamed, again
    first, after_rest, streamed, again = asyncio.run(main())
    assert (first.tradeable, first.reason) == (False, "no token: no snapshot yet")
    assert (after_rest.tradeable, after_rest.reason) == (False, "no token: its connection has not sent its book")
    assert after_rest.no_asks == ((5200, 10_000),)     # the REST copy is there, not traded on
    assert (streamed.tradeable, streamed.no_asks) == (True, ((5100, 10_000),))
    assert (again.tradeable, again.reason) == (False, "no token: its connection has not sent its book")


class Omits:
    """POST /books answering the YES token's book only (`both`: False), then neither."""
    def __init__(self) -> None:
        self.reads = 0

    async def clob_post(self, path, body, **_):
        self.reads += 1
        return [book(Y, "400", [("0.47", "100")], [("0.49", "100")])] if self.reads == 1 else []


def test_a_batch_answer_without_a_token_is_a_failed_read_not_a_confirmation():
    """The CLOB's `POST /books` leaves out a token it serves no book for (a market closed or
    delisted without a `market_resolved` frame). Before: `refresh_book` returned the stream's last
    book, the feed published it as read and the session's gate stamped it fresh, every re-snapshot
    of the quiet book again: the bot traded a book the venue no longer served, and
    `BookFeed.failing` never counted. Now the read fails with the venue's word (NotFound): a
    token answered is applied, nothing is published, and the feed counts it against the market."""
    from arbbot.venues.common.errors import NotFound
    import pytest

    async def main():
        http = Omits()
        c = PolymarketDataClient("ws://unused", [INFO], http)
        await c.on_frame(json.dumps([dict(book(Y, "100", [("0.48", "100")], [("0.50", "100")]), event_type="book"),
                                     dict(book(N, "100", [("0.49", "100")], [("0.51", "100")]), event_type="book")]), 1)
        with pytest.raises(NotFound, match="no book for market 0xmkt's NO token"):
            await c.refresh_book(M)
        yes_applied = c.native(M).yes_asks
        with pytest.raises(NotFound, match="YES and NO tokens"):
            await c.refresh_book(M)
        published = c.feed.queue.stats()["puts"]
        c.feed.start()
        c.feed.resnapshot([M])
        for _ in range(100):
            await asyncio.sleep(0.01)
            if c.feed.failing(M):
                break
        stats = (c.feed.failing(M), c.feed.resnapshots, c.feed.queue.stats()["puts"] - published)
        await c.feed.close()
        return yes_applied, stats
    yes_applied, (failing, resnapshots, puts) = asyncio.run(main())
    assert yes_applied == ((4900, 10_000),)           # YES at 0.47/0.49 from the answer
    assert (failing, resnapshots, puts) == (1, 0, 0)
