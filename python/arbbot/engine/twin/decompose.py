"""Quote decomposition: native book → effective ask ladders per side (spec "Books")."""
from __future__ import annotations

from arbbot.engine.types import PRICE_MAX, Decomposition, Level, Book, Quote, Venue
from arbbot.engine.twin.validate import check_book, check_venue


def _ladder(levels, complement: bool) -> tuple[Level, ...]:
    """Ascending ladder, equal prices summed, zero sizes dropped; bids become asks at 1 − p."""
    merged: dict[int, int] = {}
    for price, qty in levels:
        if qty:
            if complement:
                price = PRICE_MAX - price
            merged[price] = merged.get(price, 0) + qty
    return tuple(sorted(merged.items()))


def _best_bid(levels) -> int | None:
    return max((price for price, qty in levels if qty), default=None)


def half_even_mid(ask_yes: int, ask_no: int) -> int:
    """(askYES + (10,000 − askNO)) / 2 rounded half to even, in ticks."""
    half, odd = divmod(ask_yes + PRICE_MAX - ask_no, 2)
    return half + 1 if odd and half % 2 else half


def ladders(venue: Venue, book: Book) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """The two effective ask ladders (YES, NO) of a validated book."""
    if venue.bids_only:   # a NO bid at p is a YES ask at 1 − p, and vice versa
        return _ladder(book.no_bids, True), _ladder(book.yes_bids, True)
    return _ladder(book.yes_asks, False), _ladder(book.no_asks, False)   # Polymarket: own asks only


def is_crossed(venue: Venue, book: Book, yes: tuple[Level, ...], no: tuple[Level, ...]) -> bool:
    """Crossed or locked = our copy missed an update (spec "Crossed or locked books are stale")."""
    bid_yes, bid_no = _best_bid(book.yes_bids), _best_bid(book.no_bids)
    if venue.bids_only:
        return bid_yes is not None and bid_no is not None and bid_yes + bid_no >= PRICE_MAX
    return ((bid_yes is not None and bool(yes) and bid_yes >= yes[0][0])
            or (bid_no is not None and bool(no) and bid_no >= no[0][0]))


def decompose(venue: int, book: Book) -> Decomposition:
    venue = check_venue(venue)
    check_book(venue, book)
    yes, no = ladders(venue, book)
    ask_yes = yes[0][0] if yes else None
    ask_no = no[0][0] if no else None
    both = ask_yes is not None and ask_no is not None
    quote = Quote(
        best_bid_yes=_best_bid(book.yes_bids), best_ask_yes=ask_yes,
        best_bid_no=_best_bid(book.no_bids), best_ask_no=ask_no,
        mid=half_even_mid(ask_yes, ask_no) if both else None,
        overround=ask_yes + ask_no - PRICE_MAX if both else None,
        crossed=is_crossed(venue, book, yes, no),
    )
    return Decomposition(yes, no, quote)
