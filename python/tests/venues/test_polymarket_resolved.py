"""Polymarket says on the market channel when a market is resolved (`market_resolved`, a custom
feature the subscription enables). The market never trades again and the CLOB has no book for its
tokens (404), so the stream sends nothing more for it. Its last book must not stay tradeable.

Units: prices in ticks ($0.0001), sizes in lots (0.01 share)."""
from __future__ import annotations

import asyncio
import json

import pytest

from arbbot.venues.common.errors import NotFound, ProtocolError
from arbbot.venues.polymarket.data import PolymarketDataClient
from arbbot.venues.polymarket.schemas.ws import ResolvedMsg, parse_frame
from tests.venues.test_polymarket_token_streams import INFO, M, N, Y, book


class Gone:
    """The CLOB once the market resolved: no order book for its tokens."""
    reads = 0

    async def clob_post(self, path, body, **_):
        self.reads += 1
        raise NotFound("polymarket POST /books: HTTP 404: No orderbook exists for the requested token id",
                       venue="polymarket")

    async def clob_get(self, path, params=None, **_):
        self.reads += 1
        raise NotFound("polymarket GET /book: HTTP 404: No orderbook exists for the requested token id",
                       venue="polymarket")


RESOLVED = {"event_type": "market_resolved", "id": "17", "market": M, "assets_ids": [Y, N],
            "winning_asset_id": Y, "winning_outcome": "Yes", "timestamp": "200"}


def test_market_resolved_is_parsed_with_its_market_and_tokens():
    assert parse_frame(json.dumps(RESOLVED)) == [ResolvedMsg(M, (Y, N), "200")]
    # an older push named one asset and no market: the asset is enough
    assert parse_frame(json.dumps({"event_type": "market_resolved", "asset_id": Y})) == [ResolvedMsg("", (Y,), "")]
    with pytest.raises(ProtocolError, match="names no market or asset"):
        parse_frame(json.dumps({"event_type": "market_resolved", "winning_outcome": "Yes"}))


@pytest.mark.parametrize("frame", [RESOLVED, {"event_type": "market_resolved", "asset_id": N}],
                         ids=["documented", "one asset"])
def test_a_resolved_market_is_held_for_good_and_never_read_again(frame):
    """Before: `market_resolved` was ignored, the last book (YES ask 50¢, NO ask 51¢) stayed
    tradeable until the listings were read again (10 minutes by default), and every re-snapshot
    asked the CLOB for a book it no longer has. Now the market is published held ("market
    resolved", its levels kept), a re-snapshot reads nothing, and it stays held whatever frame
    comes later."""
    async def main():
        http = Gone()
        c = PolymarketDataClient("ws://unused", [INFO], http)
        await c.on_frame(json.dumps([dict(book(Y, "100", [("0.48", "100")], [("0.50", "100")]), event_type="book"),
                                     dict(book(N, "100", [("0.49", "100")], [("0.51", "100")]), event_type="book")]), 1)
        before = c.native(M)
        await c.on_frame(json.dumps(frame), 2)
        published = c.feed.queue.get_nowait().book     # coalesced per market: the latest
        after = c.native(M)
        refreshed = await c.refresh_book(M)             # the session's re-snapshot of a quiet market
        c._resnapshot(Y, "periodic refresh", invalidate=False)
        await asyncio.sleep(0.05)
        await c.on_frame(json.dumps([dict(book(Y, "300", [("0.48", "100")], [("0.50", "100")]),
                                          event_type="book")]), 3)
        later = c.native(M)
        reads = http.reads
        await c.feed.close()
        return before, published, after, refreshed, later, reads
    before, published, after, refreshed, later, reads = asyncio.run(main())
    assert (before.tradeable, before.yes_asks, before.no_asks) == (True, ((5000, 10_000),), ((5100, 10_000),))
    assert (after.tradeable, after.reason) == (False, "market resolved")
    assert after.yes_asks == ((5000, 10_000),)          # the levels are kept, not traded on
    assert (published.tradeable, published.reason) == (False, "market resolved")
    assert (refreshed.tradeable, refreshed.reason) == (False, "market resolved")
    assert (later.tradeable, later.reason) == (False, "market resolved")
    assert reads == 0
