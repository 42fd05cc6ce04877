"""The local fill engine against hand-computed books and fees (spec/ARBITRAGE.md "Fees").

Golden numbers are worked out in the comments: prices in ticks ($0.0001), sizes in lots (0.01
contract), money in µ$. Fee = ceil(Σ r·q·p·(10,000 − p) / (R·10^10))·R + ceil(c·q / 100)."""
from __future__ import annotations

import pytest

from arbbot.model import Book, FeeSchedule, MarketId, Side, Venue
from arbbot.paper.fills import Terms, book_from_json, book_to_json, match
from arbbot.venues.common.model import Action, OrderStatus, TimeInForce

IOC, FOK = TimeInForce.IOC, TimeInForce.FOK
BUY, SELL = Action.BUY, Action.SELL
KALSHI = Terms(Venue.KALSHI, FeeSchedule(taker_rate_ppm=70_000, rounding=10_000), lot=100)     # 7%, $0.01 per order
POLY = Terms(Venue.POLYMARKET, FeeSchedule(taker_rate_ppm=20_000, rounding=10), lot=1)         # 2%, $0.00001
FORECASTEX = Terms(Venue.FORECASTEX, FeeSchedule(per_contract=10_000), lot=100)                # $0.01 per contract

# Kalshi publishes bids only: a YES ask at p is a NO bid at 10,000 − p, so the YES asks are
# 4,200 × 300, 4,300 × 1,000, 4,500 × 2,000 (cheapest first).
KALSHI_BOOK = Book(yes_bids=((4_000, 500), (3_900, 1_000)),
                   no_bids=((5_800, 300), (5_700, 1_000), (5_500, 2_000)), market=MarketId(Venue.KALSHI, "K"))


def test_a_buy_walks_the_ask_ladder_level_by_level_with_the_order_fee_split_per_fill():
    m = match(KALSHI_BOOK, KALSHI, Side.YES, BUY, 4_300, 1_000, IOC)
    assert m.fills == ((4_200, 300), (4_300, 700))
    assert m.status is OrderStatus.FILLED and m.filled == 1_000
    assert m.cost == 4_200 * 300 + 4_300 * 700 == 4_270_000                 # $4.27
    # raw = 70,000 × (300·4,200·5,800 + 700·4,300·5,700) = 1.71255e15 → $0.171255 → up to $0.18;
    # the first fill alone: 70,000 × 300·4,200·5,800 = 5.1156e14 → $0.051156 → $0.06
    assert m.fees == (60_000, 120_000) and m.fee == 180_000


def test_the_limit_price_stops_the_walk_ioc_keeps_the_partial_fill_fok_takes_nothing():
    m = match(KALSHI_BOOK, KALSHI, Side.YES, BUY, 4_300, 3_000, IOC)
    assert m.fills == ((4_200, 300), (4_300, 1_000))                         # 4,500 is above the limit
    assert m.status is OrderStatus.CANCELED and m.filled == 1_300 and m.cost == 5_560_000
    assert m.fee == 230_000          # 70,000 × (7.308e9 + 2.451e10) = 2.22726e15 → $0.222726 → $0.23
    fok = match(KALSHI_BOOK, KALSHI, Side.YES, BUY, 4_300, 3_000, FOK)
    assert fok.fills == () and fok.fees == () and fok.status is OrderStatus.CANCELED and fok.cost == 0
    whole = match(KALSHI_BOOK, KALSHI, Side.YES, BUY, 4_300, 1_300, FOK)
    assert whole.status is OrderStatus.FILLED and whole.fills == m.fills and whole.fee == 230_000
    assert match(KALSHI_BOOK, KALSHI, Side.YES, BUY, 4_100, 1_000, IOC).fills == ()   # below the best ask


def test_a_sell_walks_the_sides_own_bids_highest_first():
    m = match(KALSHI_BOOK, KALSHI, Side.YES, SELL, 3_900, 1_000, IOC)
    assert m.fills == ((4_000, 500), (3_900, 500)) and m.status is OrderStatus.FILLED
    assert m.cost == 3_950_000                                                # proceeds, $3.95
    # 70,000 × 500·4,000·6,000 = 8.4e14 → $0.09; the order: 70,000 × (1.2e10 + 1.1895e10) → $0.17
    assert m.fees == (90_000, 80_000)
    assert match(KALSHI_BOOK, KALSHI, Side.YES, SELL, 4_050, 1_000, IOC).fills == ()


def test_fills_are_whole_lots():
    thin = Book(no_bids=((5_800, 150),))                                      # 1.5 contracts at 42¢
    m = match(thin, KALSHI, Side.YES, BUY, 4_200, 1_000, IOC)
    assert m.fills == ((4_200, 100),) and m.fee == 20_000                     # $0.017052 → up to $0.02
    with pytest.raises(ValueError, match="not a positive multiple of the lot"):
        match(thin, KALSHI, Side.YES, BUY, 4_200, 150, IOC)


def test_polymarket_buys_take_the_tokens_own_asks_and_sells_its_bids():
    book = Book(yes_bids=((4_100, 3_000), (4_000, 5_000)), yes_asks=((4_150, 12_345), (4_200, 50_000)),
                no_bids=((5_700, 9_999),), no_asks=((5_900, 1_000),))
    m = match(book, POLY, Side.YES, BUY, 4_200, 20_000, IOC)
    assert m.fills == ((4_150, 12_345), (4_200, 7_655)) and m.cost == 51_231_750 + 32_151_000
    # raw 20,000 × (12,345·4,150·5,850 + 7,655·4,200·5,800) = 9.72363075e15 → 97,236.3 × $0.00001 → up:
    # $0.97237; the first fill: 20,000 × 2.997057375e11 = 5.99411475e15 → $0.59942
    assert m.fees == (599_420, 372_950) and m.fee == 972_370
    assert match(book, POLY, Side.NO, BUY, 5_900, 1_500, IOC).fills == ((5_900, 1_000),)   # NO asks, not YES bids
    sale = match(book, POLY, Side.YES, SELL, 4_050, 4_000, IOC)
    assert sale.fills == ((4_100, 3_000),) and sale.status is OrderStatus.CANCELED
    assert sale.fee == 145_140        # 20,000 × 3,000·4,100·5,900 = 1.4514e15 → $0.14514
    assert match(Book(no_bids=((5_700, 1_000),)), POLY, Side.YES, BUY, 9_000, 100, IOC).fills == ()


def test_forecastex_pays_its_commission_per_contract():
    book = Book(yes_bids=((3_000, 2_000),), no_bids=((6_500, 400), (6_400, 1_000)))
    m = match(book, FORECASTEX, Side.YES, BUY, 3_600, 700, IOC)
    assert m.fills == ((3_500, 400), (3_600, 300)) and m.cost == 2_480_000
    assert m.fees == (40_000, 30_000)                                         # $0.01 × 4, then × 3


def test_no_book_fills_nothing_and_resting_orders_are_not_simulated():
    assert match(None, KALSHI, Side.YES, BUY, 9_900, 100, IOC).status is OrderStatus.CANCELED
    with pytest.raises(ValueError, match="IOC and FOK orders only"):
        match(KALSHI_BOOK, KALSHI, Side.YES, BUY, 4_300, 100, TimeInForce.GTC)


def test_terms_and_books_round_trip_through_json():
    assert Terms.from_json(POLY.to_json()) == POLY
    again = book_from_json(book_to_json(KALSHI_BOOK))
    assert again.sides() == KALSHI_BOOK.sides()


def test_polymarket_fills_only_what_both_token_books_show():
    """The two token books mirror each other (a token's ask at p is the other's bid at $1 − p) and
    stream apart. The YES book is current (bid 40¢, ask 42¢), the NO book stale (bid 50¢, ask 55¢):
    the engine sees YES 42¢ + NO 55¢ = 97¢, but the venue's NO ask is 1 − 0.40 = 60¢. Before, paper
    bought 100 NO at 55¢; now the NO ask there fills nothing, and where the copies agree all fills.
    A ledger's order written before (no `mirrored` in its terms) re-matches as it was."""
    book = Book(yes_bids=((4_000, 10_000),), yes_asks=((4_200, 10_000),),
                no_bids=((5_000, 10_000),), no_asks=((5_500, 10_000),))
    terms = Terms(Venue.POLYMARKET, FeeSchedule(), 1, mirrored=True)
    no = match(book, terms, Side.NO, Action.BUY, 5_500, 10_000, TimeInForce.IOC)
    assert (no.filled, no.status) == (0, OrderStatus.CANCELED)
    agreed = Book(yes_bids=((4_000, 10_000),), yes_asks=((4_200, 10_000),),
                  no_bids=((5_800, 6_000),), no_asks=((6_000, 10_000),))          # YES ask 42¢ × 60 both ways
    yes = match(agreed, terms, Side.YES, Action.BUY, 4_200, 10_000, TimeInForce.IOC)
    assert yes.fills == ((4_200, 6_000),)
    sale = match(agreed, terms, Side.YES, Action.SELL, 4_000, 10_000, TimeInForce.IOC)
    assert sale.fills == ((4_000, 10_000),)                                     # NO ask 60¢ × 100 mirrors it
    assert Terms.from_json(terms.to_json()) == terms
    old = Terms.from_json({k: v for k, v in terms.to_json().items() if k != "mirrored"})
    assert match(book, old, Side.NO, Action.BUY, 5_500, 10_000, TimeInForce.IOC).filled == 10_000
    # Kalshi has one copy (bids only): unchanged
    kalshi = Terms(Venue.KALSHI, FeeSchedule(), 100, mirrored=True)
    assert match(Book(no_bids=((5_800, 1_000),)), kalshi, Side.YES, Action.BUY, 4_200, 1_000,
                 TimeInForce.IOC).filled == 1_000


def test_kalshi_rounds_each_fill_as_the_venue_does_since_2026():
    """YES asks 3¢ × 1 and 6¢ × 2 (NO bids 97¢, 94¢). The model rounds the order's fee up once:
    70,000 × (100·300·9,700 + 200·600·9,400) = 9.933e13 → $0.009933 → $0.01. Kalshi, per fill
    (docs.kalshi.com "Fee Rounding"): fill 1's trade fee $0.002037 → $0.0021, its balance change
    −$0.0321 floored to −$0.04 (rounding fee $0.0079): $0.01; fill 2's $0.007896 → $0.0079,
    −$0.1279 → −$0.13 (rounding $0.0021): the accumulator reaches $0.0100, not above it, so no
    rebate: $0.01. Paper charged the model's $0.01 before; it charges the venue's $0.02."""
    book = Book(no_bids=((9_700, 100), (9_400, 200)), market=MarketId(Venue.KALSHI, "K"))
    m = match(book, KALSHI, Side.YES, BUY, 600, 300, IOC)
    assert m.fills == ((300, 100), (600, 200)) and m.fees == (10_000, 10_000)
    # a sale is rounded on its proceeds: YES bids 40¢ × 5, 39¢ × 5 (the sell test above)
    sale = match(KALSHI_BOOK, KALSHI, Side.YES, SELL, 3_900, 1_000, IOC)
    assert sale.fees == (90_000, 80_000)
