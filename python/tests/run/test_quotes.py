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
