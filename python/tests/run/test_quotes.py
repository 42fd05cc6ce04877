"""`StreamedQuotes`: the order path's and sizing's view of the session's streamed books."""
from types import SimpleNamespace

from arbbot.engine import Book, decompose
from arbbot.engine.types import Venue
from arbbot.run.live import pack
from arbbot.run.quotes import StreamedQuotes

KALSHI_BOOK = Book(((4_000, 1_000), (3_900, 500)), (), ((5_500, 200),), ())
POLY_BOOK = Book(((4_100, 7),), ((4_300, 9),), ((5_600, 3),), ((5_800, 4),))


def test_healthy_books_decompose_as_the_book_they_came_from_and_held_ones_are_none():
    session = SimpleNamespace(books={"kalshi:A": pack(KALSHI_BOOK), "polymarket:B": pack(POLY_BOOK),
                                     "kalshi:C": pack(KALSHI_BOOK)},
                              held={"kalshi:C": "stale"})
    for engine in ("swift", "python"):
        quotes = StreamedQuotes(session, engine)
        assert quotes("kalshi:A") == decompose(int(Venue.KALSHI), KALSHI_BOOK)
        assert quotes("polymarket:B") == decompose(int(Venue.POLYMARKET), POLY_BOOK)
        assert quotes("kalshi:A").yes[0] == (4_500, 200)      # $1 − best NO bid
        assert quotes("kalshi:C") is None                     # held out: stale
        assert quotes("kalshi:missing") is None
    session.held.pop("kalshi:C")
    assert StreamedQuotes(session)("kalshi:C") == decompose(int(Venue.KALSHI), KALSHI_BOOK)


def test_the_order_path_reads_a_polled_book_again_whatever_its_age():
    """While a venue's stream is down its books come from REST polls: one read 1 s ago may have
    changed since (a streamed book's silence says it did not). The order path gets None (the
    executor then reads the venue), sizing still gets the book; back on the stream, the same
    book is the order path's again."""
    import asyncio

    from arbbot.run.live import LiveSession, simulated_venues
    from arbbot.venues.common.feed import BookFeed
    from arbbot.venues.common.model import BookUpdate
    from tests.execution.harness import A, start_sim

    h = start_sim()

    async def main():
        now = [1000.0]
        session = LiveSession(simulated_venues(h), [], clock=lambda: now[0])
        await session.discover()
        kalshi = session.venues["kalshi"]
        kalshi.feed = feed = BookFeed("kalshi", [m.market_id for m in session.markets if m.venue.label == "kalshi"])
        name = f"kalshi:{A}"
        book = await kalshi.fetch_book(A)
        feed.stream_down("kalshi ws disconnected")          # every Kalshi book is polled now
        session.on_book(BookUpdate(book))
        now[0] += 1.0
        assert session.gate.is_fresh(name) and session.book_polled(name)
        order_path, sizing = StreamedQuotes(session, fresh_only=True), StreamedQuotes(session)
        assert order_path(name) is None
        assert sizing(name) == decompose(int(Venue.KALSHI), book)
        feed.stream_up()
        session.on_book(BookUpdate(book))
        assert not session.book_polled(name) and order_path(name) == decompose(int(Venue.KALSHI), book)
        await session.close()
    try:
        asyncio.run(main())
    finally:
        h.stop()
