"""Polymarket `price_change` checks beyond the hash (a review of the market-data path):
- the venue's `best_bid` / `best_ask` after each change are compared with the shadow book: a real
  WS `book` carries no metadata, so until a REST book supplies it no change's hash can be checked,
  and a lost frame left a phantom level tradeable for as long as the market stayed active;
- a change stamped before the whole book applied last (in flight when a REST book was read) is not
  applied: that book has it, and applied again it undid a later change of its level (then failed
  its hash, distrusting a good book after every REST read of a busy market).
Units: prices in ticks ($0.0001), sizes in lots (0.01 share)."""
from __future__ import annotations

import asyncio
import json

from arbbot.venues.polymarket.data import PolymarketDataClient
from tests.venues.test_polymarket_token_streams import INFO, M, N, Y, book


def ws_book(asset: str, ts: str, bids, asks) -> dict:
    """A WS `book` event as the market channel sends it: no min_order_size/tick_size/neg_risk."""
    return {"event_type": "book", "market": M, "asset_id": asset, "timestamp": ts, "hash": "0xabc",
            "bids": [{"price": p, "size": s} for p, s in bids], "asks": [{"price": p, "size": s} for p, s in asks]}


def change(ts: str, *entries) -> str:
    return json.dumps({"event_type": "price_change", "market": M, "timestamp": ts, "price_changes": [
        {"asset_id": a, "price": p, "size": s, "side": side, "hash": h, "best_bid": bb, "best_ask": ba}
        for a, p, s, side, h, bb, ba in entries]})


def test_a_change_whose_stated_best_ask_the_book_lacks_distrusts_it_without_a_hash():
    async def main():
        c = PolymarketDataClient("ws://unused", [INFO], None)      # no REST: the metadata never arrives
        await c.on_frame(json.dumps([ws_book(Y, "100", [("0.48", "100")], [("0.55", "100"), ("0.50", "100")]),
                                     ws_book(N, "100", [("0.45", "100"), ("0.50", "100")], [("0.52", "100")])]), 1)
        # agreeing: NO's best bid and ask after the change are the book's (an empty side says 0 / 1)
        await c.on_frame(change("200", (N, "0.44", "10", "BUY", "x", "0.50", "0.52")), 2)
        agreed = c.native(M)
        # lost: the frame removing YES's 0.50 ask; the next change states the best ask 0.55
        await c.on_frame(change("300", (Y, "0.47", "50", "BUY", "x", "0.48", "0.55")), 3)
        return agreed, c.native(M), (c.unverified_changes, c.best_mismatches, c.hash_mismatches)
    agreed, after, counts = asyncio.run(main())
    assert agreed.tradeable and agreed.yes_asks == ((5_000, 10_000), (5_500, 10_000))
    assert (after.tradeable, after.reason) == (False, "yes token: best price mismatch")
    assert counts == (2, 1, 0)


def test_an_empty_side_stated_as_0_or_1_is_not_a_mismatch():
    async def main():
        c = PolymarketDataClient("ws://unused", [INFO], None)
        await c.on_frame(json.dumps([ws_book(Y, "100", [], [("0.50", "100")]),
                                     ws_book(N, "100", [("0.50", "100")], [])]), 1)
        await c.on_frame(change("200", (Y, "0.51", "10", "SELL", "x", "0", "0.50"),
                                (N, "0.49", "10", "BUY", "x", "0.50", "1")), 2)
        return c.native(M), c.best_mismatches
    book_, mismatches = asyncio.run(main())
    assert (book_.tradeable, mismatches) == (True, 0)


class Rest:
    """POST /books: the books at venue time 400 (YES's 0.47 bid down to 50 shares at 380)."""
    async def clob_post(self, path, body, **_):
        return [book(Y, "400", [("0.47", "50"), ("0.48", "100")], [("0.50", "100")]),
                book(N, "400", [("0.50", "100")], [("0.52", "100")])]


def test_a_change_older_than_the_rest_book_is_not_applied_again():
    async def main():
        c = PolymarketDataClient("ws://unused", [INFO], Rest())
        await c.on_frame(json.dumps([dict(book(Y, "100", [("0.48", "100")], [("0.50", "100")]), event_type="book"),
                                     dict(book(N, "100", [("0.50", "100")], [("0.52", "100")]), event_type="book")]), 1)
        await c.refresh_book(M)
        # stamped 350 (0.47 bid at 80 shares), in the socket's buffer while the REST book was read
        await c.on_frame(change("350", (Y, "0.47", "80", "BUY", "h350", "0.48", "0.50")), 2)
        older = c.native(M)
        await c.on_frame(change("450", (Y, "0.46", "10", "BUY", "", "0.48", "0.50")), 3)
        return older, c.native(M), (c.predating_changes, c.hash_mismatches)
    older, newer, counts = asyncio.run(main())
    assert (older.tradeable, older.yes_bids) == (True, ((4_800, 10_000), (4_700, 5_000)))
    assert (newer.tradeable, newer.yes_bids) == (True, ((4_800, 10_000), (4_700, 5_000), (4_600, 1_000)))
    assert counts == (1, 0)


def test_a_malformed_frame_distrusts_only_its_connections_books():
    """A connection carries its own markets' books only: a frame it could not parse (the server's
    "INVALID OPERATION" text, a cut JSON) puts those in doubt, not every market of every
    connection (before: up to 1,000 books re-read, nothing traded meanwhile)."""
    from arbbot.venues.common.model import MarketInfo, Venue
    from arbbot.venues.polymarket.data import ASSETS_PER_CONNECTION
    per = ASSETS_PER_CONNECTION // 2
    infos = [MarketInfo(Venue.POLYMARKET, f"0xm{i}", "t", yes_token=f"{i}1", no_token=f"{i}2") for i in range(per + 1)]
    first, last = infos[0], infos[-1]                  # on connections 0 and 1

    async def main():
        c = PolymarketDataClient("ws://unused", infos, None)
        assert len(c.groups) == 2
        for m in (first, last):
            await c.on_frame(json.dumps([ws_book(m.yes_token, "100", [("0.48", "100")], [("0.50", "100")]),
                                         ws_book(m.no_token, "100", [("0.50", "100")], [("0.52", "100")])]), 1)
        await c.sockets[1].on_frame("INVALID OPERATION", 2)
        return c.native(first.market_id), c.native(last.market_id), c.malformed
    kept, doubted, malformed = asyncio.run(main())
    assert kept.tradeable and malformed == 1
    assert (doubted.tradeable, doubted.reason) == (False, "yes token: malformed frame")


def test_a_side_the_venue_states_empty_must_be_empty_here():
    """The frame removing YES's only bid is lost; the next change states `best_bid` "0" (no bid):
    the 0.48 bid left in the shadow book is a phantom (before: an empty side stated was not
    compared at all)."""
    async def main():
        c = PolymarketDataClient("ws://unused", [INFO], None)
        await c.on_frame(json.dumps([ws_book(Y, "100", [("0.48", "100")], [("0.50", "100")]),
                                     ws_book(N, "100", [("0.50", "100")], [("0.52", "100")])]), 1)
        await c.on_frame(change("300", (Y, "0.55", "10", "SELL", "x", "0", "0.50")), 2)
        return c.native(M), c.best_mismatches
    after, mismatches = asyncio.run(main())
    assert (after.tradeable, after.reason, mismatches) == (False, "yes token: best price mismatch", 1)
