"""Depth paper orders took is never filled twice: whichever side and action reaches the same
resting orders (Kalshi: a YES ask at p is the NO bid at 1 − p; Polymarket: a token's ask is the
other token's bid, the books mirror each other), and across book updates, until the venue's own
trading shows those orders gone (the level's published size falls below them, or the level disappears).

Units: prices in ticks ($0.0001), sizes in lots (0.01 contract), money in µ$ (ticks × lots)."""
from __future__ import annotations

import asyncio

from arbbot.execution.reconcile import rematch_paper_orders
from arbbot.model import Book, FeeSchedule, MarketId, MarketInfo, Side, Venue
from arbbot.paper import PaperVenue
from arbbot.paper.fills import published_bid, taken_bid
from arbbot.venues.common.model import Action, OrderStatus
from tests.paper.test_venue import INFO, K, DataOnly, _nap, buy, ledger  # noqa: F401 (ledger: the fixture)

BUY, SELL, YES, NO = Action.BUY, Action.SELL, Side.YES, Side.NO
P = MarketId(Venue.POLYMARKET, "K")
POLY_INFO = MarketInfo(Venue.POLYMARKET, "K", "K?", fees=FeeSchedule(taker_rate_ppm=20_000, rounding=10), lot_lots=1)


def trade(ledger, book: Book, orders, info: MarketInfo = INFO, *,
          first: tuple = ()) -> list[tuple[int, int, OrderStatus]]:
    """`orders` ((side, action, qty lots, limit ticks), …) one after the other on `book`:
    (filled lots, cost µ$, status) of each; the ledger's re-match agrees with every one. `first`:
    (book, orders) traded before (what a Polymarket account sells it must hold), not reported."""
    async def main():
        inner = DataOnly(info, info.venue.label)
        paper = PaperVenue(inner, ledger, latency_ms=0, sleep=_nap)
        await paper.discover_markets()
        done = []
        for k, (shown, placed) in enumerate((*first, (book, orders))):
            inner.rest_book = shown
            await paper.fetch_book("K")
            done = [await paper.place_order(buy(qty, price, f"t{k}-L{n}E0", side=side, action=action))
                    for n, (side, action, qty, price) in enumerate(placed)]
        return done
    done = asyncio.run(main())
    assert rematch_paper_orders(ledger.store.paper_orders(), ledger.store.paper_fills()) == []
    return [(o.filled_lots, o.cost_micros, o.status) for o in done]


def test_kalshi_buy_yes_and_sell_no_take_the_same_no_bid(ledger):
    # one NO bid, 1 contract at 60¢: the YES ask at 40¢ of a BUY YES, the bid a SELL NO hits
    book = Book(no_bids=((6_000, 100),), market=K)
    assert trade(ledger, book, [(YES, BUY, 100, 4_000), (NO, SELL, 100, 6_000)]) == [
        (100, 400_000, OrderStatus.FILLED), (0, 0, OrderStatus.CANCELED)]


def test_kalshi_sell_no_then_buy_yes_take_the_same_no_bid(ledger):
    book = Book(no_bids=((6_000, 100),), market=K)
    assert trade(ledger, book, [(NO, SELL, 100, 6_000), (YES, BUY, 100, 4_000)]) == [
        (100, 600_000, OrderStatus.FILLED), (0, 0, OrderStatus.CANCELED)]


def test_kalshi_intra_unwind_cannot_sell_into_the_yes_bids_leg_1_took(ledger):
    """Leg 0 buys 10 YES, leg 1 BUY NO takes all 6 contracts of YES bids (the NO asks at 45¢ are
    the YES bids at 55¢), the unwind of leg 0's excess 4 then sells YES into those same bids."""
    book = Book(yes_bids=((5_500, 600),), no_bids=((4_000, 1_000),), market=K)
    assert trade(ledger, book, [(YES, BUY, 1_000, 6_000), (NO, BUY, 1_000, 4_500), (YES, SELL, 400, 5_000)]) == [
        (1_000, 1_000 * 6_000, OrderStatus.FILLED), (600, 600 * 4_500, OrderStatus.CANCELED),
        (0, 0, OrderStatus.CANCELED)]
    taken = [r["terms"].get("taken") for r in ledger.store.paper_orders("kalshi")]
    assert taken == [None, None, [[5_500, 600]]]           # the unwind found the YES bid at 55¢ taken


def test_polymarket_a_tokens_ask_is_the_other_tokens_bid(ledger):
    """The YES ask 42¢ × 500 and the NO bid 58¢ × 500 are the same resting orders published twice,
    as are the YES bid 41¢ × 3,000 and the NO ask 59¢ × 3,000. (The account first buys the 1,000
    YES and 500 NO tokens it sells, on a book whose levels are gone from the next one: a sale of
    tokens not held is refused, as on the CLOB.)"""
    book = Book(yes_bids=((4_100, 3_000),), yes_asks=((4_200, 500),), no_bids=((5_800, 500),),
                no_asks=((5_900, 3_000),), market=P)
    funding = Book(yes_bids=((4_000, 500),), yes_asks=((4_400, 1_000),), no_bids=((5_600, 1_000),),
                   no_asks=((6_000, 500),), market=P)
    assert trade(ledger, book, [(YES, BUY, 500, 4_200), (NO, SELL, 500, 5_800),
                                (YES, SELL, 1_000, 4_100), (NO, BUY, 3_000, 5_900)], POLY_INFO,
                 first=((funding, [(YES, BUY, 1_000, 4_400), (NO, BUY, 500, 6_000)]),)) == [
        (500, 500 * 4_200, OrderStatus.FILLED), (0, 0, OrderStatus.CANCELED),
        (1_000, 1_000 * 4_100, OrderStatus.FILLED), (2_000, 2_000 * 5_900, OrderStatus.CANCELED)]


def test_taken_depth_outlives_book_updates_until_the_venue_shows_it_gone(ledger):
    """BUY YES 10 at ≤ 40¢ against the NO bid 60¢ after each book; what it finds taken there."""
    async def main():
        inner = DataOnly()
        paper = PaperVenue(inner, ledger, latency_ms=0, sleep=_nap)
        await paper.discover_markets()
        out = []

        async def books_then_buy(*no_bids_60):
            """Each of `no_bids_60` a new Book (REST) with that many lots at 60¢ (None: a distrusted
            empty book), the 30¢ level changing too; then the order."""
            for lots in no_bids_60:
                levels = () if not lots else ((6_000, lots),)
                inner.rest_book = Book(no_bids=levels + ((3_000, 500 + 100 * len(out)),), market=K,
                                       tradeable=lots is not None)
                await paper.fetch_book("K")
            order = await paper.place_order(buy(1_000, 4_000, f"d-L{len(out)}E0"))
            out.append((order.filled_lots, order.cost_micros))
        await books_then_buy(1_000)               # takes all 1,000
        await books_then_buy(1_000)               # an update elsewhere (30¢): still all taken
        await books_then_buy(700)                 # the venue's trading took 300: 700 still ours
        await books_then_buy(400, 1_000)          # took 300 more, then 600 joined: 600 free
        await books_then_buy(None, 1_000)         # a distrusted empty book tells nothing: 1,000 taken
        await books_then_buy(0, 400)              # the level went away; 400 new
        return out
    assert asyncio.run(main()) == [(1_000, 4_000_000), (0, 0), (0, 0), (600, 2_400_000), (0, 0),
                                   (400, 1_600_000)]
    taken = [r["terms"].get("taken") for r in ledger.store.paper_orders("kalshi")]
    assert taken == [None, [[4_000, 1_000]], [[4_000, 700]], [[4_000, 400]], [[4_000, 1_000]], None]
    assert rematch_paper_orders(ledger.store.paper_orders(), ledger.store.paper_fills()) == []


def test_a_polymarket_bid_shown_by_one_token_only_counts_the_larger_copy():
    # the NO bid 58¢ is also the YES ask 42¢; the YES token's copy is behind by an update (300)
    book = Book(yes_asks=((4_200, 300),), no_bids=((5_800, 500),), market=P)
    assert published_bid(book, Venue.POLYMARKET, NO, 5_800) == 500
    assert published_bid(Book(yes_asks=((4_200, 300),)), Venue.POLYMARKET, NO, 5_800) == 300
    assert published_bid(Book(yes_asks=((4_200, 300),)), Venue.KALSHI, NO, 5_800) == 0   # bids only
    assert [taken_bid(YES, BUY, 4_200), taken_bid(NO, SELL, 5_800), taken_bid(NO, BUY, 5_900)] == [
        (NO, 5_800), (NO, 5_800), (YES, 4_100)]


def test_the_venues_trades_at_a_level_give_back_nothing_of_what_paper_took_first(ledger):
    """The NO bid 60¢ shows 10 contracts; paper buys 4 YES at ≤ 40¢ (the 4 first in the queue).
    Another trader sells 3 into it: the venue shows 7. Had paper's order been real, those 3 would
    have hit the orders behind paper's, leaving 10 − 4 − 3 = 3: a buy of 10 fills 3. Before, it
    filled 6 (the drop of 3 gave 3 of paper's 4 lots back)."""
    async def main():
        inner = DataOnly()
        paper = PaperVenue(inner, ledger, latency_ms=0, sleep=_nap)
        await paper.discover_markets()
        inner.rest_book = Book(no_bids=((6_000, 1_000),), market=K)
        await paper.fetch_book("K")
        first = await paper.place_order(buy(400, 4_000, "q-L0E0"))
        inner.rest_book = Book(no_bids=((6_000, 700),), market=K)
        shown = await paper.fetch_book("K")
        second = await paper.place_order(buy(1_000, 4_000, "q-L1E0"))
        return first.filled_lots, shown.no_bids, second.filled_lots
    assert asyncio.run(main()) == (400, ((6_000, 300),), 300)
