"""A venue level above what the engines take (LEVEL_QTY_MAX lots = 1,000,000 contracts, e.g. a
Polymarket wall at 0.1¢ / 99.9¢) is taken at that maximum wherever a venue's book reaches an
engine — the stream, the discovery, a rebuild, the order path's re-quote — instead of the engine
refusing the update: the gate called the market healthy while the engine kept the previous book,
the venue's whole stream restarted in a loop, and a re-quote raised mid-execution."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from arbbot.engine import decompose
from arbbot.engine.types import LEVEL_QTY_MAX, within_engine
from arbbot.model import Book
from arbbot.run.live import cap_packed, gated_book, pack, rebuilt_universe
from arbbot.venues.common.model import BookUpdate
from tests.run.test_listing_holds import BOOKS, P, Stub, opportunity_markets, started

WALL = 150_000_000                      # 1.5 M shares at one price


def _walled(book: Book) -> Book:
    return dataclasses.replace(book, yes_asks=((book.yes_asks[0][0], WALL),) + book.yes_asks[1:],
                               no_bids=book.no_bids + ((100, WALL),))


def test_within_engine_caps_only_the_quantities_above_the_maximum():
    book = _walled(BOOKS["0xP1"])
    capped = within_engine(book)
    assert capped.yes_asks == ((4700, LEVEL_QTY_MAX),) and capped.no_bids == ((4800, 10_000), (100, LEVEL_QTY_MAX))
    assert (capped.yes_bids, capped.no_asks, capped.market) == (book.yes_bids, book.no_asks, book.market)
    assert within_engine(BOOKS["0xP1"]) is BOOKS["0xP1"]
    packed = pack(book)
    assert cap_packed(packed) and list(packed) == list(pack(capped)) and not cap_packed(packed)
    assert list(pack(BOOKS["0xP1"])) == [1, 1, 1, 1, 4400, 10_000, 4700, 10_000, 4800, 10_000, 5000, 10_000]


def test_a_wall_in_the_stream_reaches_the_engine_at_the_maximum():
    async def go():
        session = await started(Stub("polymarket", [P]))
        session.on_book(BookUpdate(_walled(BOOKS["0xP1"])))       # refused by the engine: EngineInputError
        assert session.gate.healthy("polymarket:0xP1")
        held = gated_book(session, "polymarket:0xP1")
        assert held.yes_asks == ((4700, LEVEL_QTY_MAX),)
        assert rebuilt_universe(session).markets[session.index["polymarket:0xP1"]].book.yes_asks == ((4700, LEVEL_QTY_MAX),)
        session._rebuild_engine()                                  # a rebuild takes the held book too
        assert opportunity_markets(session) == {"kalshi:K1", "polymarket:0xP1"}
        await session.close()
    asyncio.run(go())


def test_a_walled_book_quotes_as_the_capped_one():
    book = _walled(BOOKS["0xP1"])
    with pytest.raises(Exception, match="quantity"):
        decompose(int(book.venue), book)                          # what the order path's re-quote did
    assert decompose(int(book.venue), within_engine(book)) == decompose(int(book.venue), dataclasses.replace(
        book, yes_asks=((4700, LEVEL_QTY_MAX),), no_bids=((4800, 10_000), (100, LEVEL_QTY_MAX))))
