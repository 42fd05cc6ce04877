"""`decompose_packed`: the session's packed book decomposes exactly as the Book it came from."""
from hypothesis import given, strategies as st

from arbbot.engine import Book, decompose, decompose_packed
from arbbot.engine.types import Venue
from arbbot.run.live import pack

side = st.lists(st.tuples(st.integers(1, 9_999), st.integers(1, 10**8)), max_size=8, unique_by=lambda lv: lv[0])


@given(venue=st.sampled_from([Venue.KALSHI, Venue.POLYMARKET, Venue.FORECASTEX]),
       yes_bids=side, yes_asks=side, no_bids=side, no_asks=side)
def test_packed_and_book_decompose_the_same_on_both_engines(venue, yes_bids, yes_asks, no_bids, no_asks):
    ordered = lambda levels, desc: tuple(sorted(levels, reverse=desc))   # noqa: E731  bids high→low, asks low→high
    book = Book(ordered(yes_bids, True), ordered(yes_asks, False), ordered(no_bids, True), ordered(no_asks, False))
    if venue is not Venue.POLYMARKET:         # bids-only venues publish no asks
        book = Book(book.yes_bids, (), book.no_bids, ())
    packed = pack(book)
    for engine in ("swift", "python"):
        assert decompose_packed(int(venue), packed, engine=engine) == decompose(int(venue), book, engine=engine)
    assert decompose_packed(int(venue), packed, engine="swift") == decompose_packed(int(venue), packed, engine="python")


def test_a_known_kalshi_book():
    book = Book(((4_000, 1_000), (3_900, 500)), (), ((5_500, 200),), ())
    d = decompose_packed(int(Venue.KALSHI), pack(book))
    assert d.yes[0] == (4_500, 200)          # YES ask = $1 − best NO bid, at that bid's size
    assert d.no[:2] == ((6_000, 1_000), (6_100, 500))
    assert d.quote.best_bid_yes == 4_000 and d.quote.best_bid_no == 5_500
