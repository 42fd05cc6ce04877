"""Fees, decomposition and evaluation: spec examples and edge cases, on both engines."""
from __future__ import annotations

import math

import pytest

from arbbot.engine import (
    EngineInputError, FeeSchedule, Book, Status, Venue, decompose, evaluate, order_fee,
)

KALSHI = FeeSchedule(taker_rate_ppm=70_000, rounding=10_000)   # 0.07, $0.01 per order


@pytest.mark.parametrize("contracts, price, fee", [
    (1, 5_000, 20_000),          # 1 at 50¢ → 2¢
    (100, 5_000, 1_750_000),     # 100 at 50¢ → $1.75
    (10, 5_000, 180_000),        # 10 at 50¢ → 18¢ (rounding per order, not per contract)
    (100, 4_000, 1_680_000),     # 100 at 40¢ → $1.68
    (1, 100, 10_000),            # 1 at 1¢ → 1¢
    (25, 6_200, 420_000),        # 25 at 62¢ → 42¢
])
def test_spec_kalshi_fee_examples(engine, contracts, price, fee):
    assert order_fee(KALSHI, [(price, contracts * 100)], engine=engine) == fee


def test_fee_is_per_order_over_all_levels(engine):
    # 250 @ 0.32 on Polymarket 0.03, R = $0.00001: 0.03 × 250 × 0.2176 = $1.632 exactly.
    poly = FeeSchedule(taker_rate_ppm=30_000, rounding=10)
    assert order_fee(poly, [(3_200, 25_000)], engine=engine) == 1_632_000
    # Two levels, one order: 0.07 × (10×0.2464 + 5×0.2484) = 0.25942 → one ceil → $0.26
    # (two separate orders would round to 0.18 + 0.09 = $0.27).
    assert order_fee(KALSHI, [(4_400, 1_000), (5_400, 500)], engine=engine) == 260_000
    # Rate and commission together: 0.07 × 1 × 0.25 = 0.0175 → $0.02, + $0.01 × 1.
    both = FeeSchedule(taker_rate_ppm=70_000, per_contract=10_000, rounding=10_000)
    assert order_fee(both, [(5_000, 100)], engine=engine) == 30_000
    assert order_fee(KALSHI, [], engine=engine) == 0
    assert order_fee(KALSHI, [(0, 100), (10_000, 100)], engine=engine) == 0   # p(1−p) = 0


@pytest.mark.parametrize("schedule, fills, status", [
    (FeeSchedule(taker_rate_ppm=1_000_000), [(5_000, 100)], Status.RATE),
    (FeeSchedule(taker_rate_ppm=-1), [(5_000, 100)], Status.RATE),
    (FeeSchedule(rounding=0), [(5_000, 100)], Status.MONEY),
    (FeeSchedule(per_contract=-5), [(5_000, 100)], Status.MONEY),
    (KALSHI, [(10_001, 100)], Status.PRICE),
    (KALSHI, [(-1, 100)], Status.PRICE),
    (KALSHI, [(5_000, -1)], Status.QTY),
    (KALSHI, [(5_000, 100_000_001)], Status.QTY),
])
def test_fee_rejects_bad_input(engine, schedule, fills, status):
    with pytest.raises(EngineInputError) as info:
        order_fee(schedule, fills, engine=engine)
    assert info.value.status == status


def test_kalshi_decomposition_complements_the_other_sides_bids(engine):
    book = Book(yes_bids=((4_200, 15_000), (4_100, 30_000), (4_200, 500), (3_000, 0)),
                      no_bids=((5_500, 2_000),))
    d = decompose(Venue.KALSHI, book, engine=engine)
    assert d.yes == ((4_500, 2_000),)                     # NO bid 0.55 → YES ask 0.45
    assert d.no == ((5_800, 15_500), (5_900, 30_000))     # YES bids → NO asks, equal prices summed
    q = d.quote
    assert (q.best_bid_yes, q.best_ask_yes, q.best_bid_no, q.best_ask_no) == (4_200, 4_500, 5_500, 5_800)
    assert q.mid == 4_350 and q.overround == 300 and not q.crossed


def test_mid_rounds_half_to_even(engine):
    # asks YES 0.4201, NO 0.5800: (4201 + 4200) / 2 = 4200.5 → 4200; YES 0.4203: 4201.5 → 4202.
    for ask_yes, mid in ((4_201, 4_200), (4_203, 4_202)):
        book = Book(yes_asks=((ask_yes, 1),), no_asks=((5_800, 1),))
        assert decompose(Venue.POLYMARKET, book, engine=engine).quote.mid == mid


def test_polymarket_uses_own_asks_and_flags_crossed_tokens(engine):
    book = Book(yes_bids=((4_300, 90_050),), yes_asks=((4_500, 12_000), (4_400, 1)),
                      no_bids=((5_400, 8_000),), no_asks=((5_700, 6_000),))
    d = decompose(Venue.POLYMARKET, book, engine=engine)
    assert d.yes == ((4_400, 1), (4_500, 12_000)) and d.no == ((5_700, 6_000),)
    assert not d.quote.crossed
    locked = Book(no_bids=((5_700, 1),), no_asks=((5_700, 6_000),))
    assert decompose(Venue.POLYMARKET, locked, engine=engine).quote.crossed
    one_sided = Book(yes_bids=((9_900, 1),))   # a side with no asks crosses nothing
    q = decompose(Venue.POLYMARKET, one_sided, engine=engine).quote
    assert not q.crossed and q.mid is None and q.overround is None and q.best_ask_yes is None


def test_bids_only_locked_at_one_dollar_is_crossed(engine):
    book = Book(yes_bids=((5_600, 100),), no_bids=((4_400, 100),))
    assert decompose(Venue.FORECASTEX, book, engine=engine).quote.crossed
    book = Book(yes_bids=((5_600, 100),), no_bids=((4_399, 100),))
    assert not decompose(Venue.FORECASTEX, book, engine=engine).quote.crossed


@pytest.mark.parametrize("venue, book, status", [
    (Venue.KALSHI, Book(yes_asks=((5_000, 1),)), Status.BIDS_ONLY),
    (Venue.FORECASTEX, Book(no_asks=((5_000, 0),)), Status.BIDS_ONLY),
    (Venue.KALSHI, Book(yes_bids=((10_001, 1),)), Status.PRICE),
    (Venue.POLYMARKET, Book(no_asks=((5_000, 100_000_001),)), Status.QTY),
    (7, Book(), Status.VENUE),
    (-1, Book(), Status.VENUE),
])
def test_decompose_rejects_bad_books(engine, venue, book, status):
    with pytest.raises(EngineInputError) as info:
        decompose(venue, book, engine=engine)
    assert info.value.status == status


SPEC_VECTORS = [   # (c, f, L, σ) → (ev, kelly, shrunk) for q=10,000, cost 95e6, fee 3e6, profit 2e6
    ((1, 1, 0, 0), (0.02, 1, 1)),
    ((0.99, 0.95, 0.30, 0), (0.00096, 0.1568, 0.1568)),
    ((0.99, 0.95, 0.30, 0.02), (0.00096, 0.1568, 0.003450366748)),
    ((1, 0.99, 0.05, 0.005), (0.0193, 1, 1)),
]


@pytest.mark.parametrize("inputs, expected", SPEC_VECTORS)
def test_spec_evaluation_vectors(engine, inputs, expected):
    e = evaluate(10_000, 2_000_000, 95_000_000, 3_000_000, *inputs, engine=engine)
    for got, want in zip((e.ev, e.kelly, e.shrunk), expected):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-15), (got, want)


def test_negative_ev_gives_zero_kelly(engine):
    e = evaluate(500, 150_000, 4_700_000, 150_000, 0.9, 0.9, 0.5, 0.05, engine=engine)
    assert math.isclose(e.ev, -0.0707, rel_tol=1e-9) and e.kelly == 0 and e.shrunk == 0


def test_textbook_single_contract_kelly(engine):
    # One YES at p = 0.40 believed to win with q = 0.5: Kelly (q − p)/(1 − p) = 1/6.
    # Encode as an opportunity: capital 0.40, win g = 0.60, lose L = 0.40 per contract.
    e = evaluate(100, 600_000, 400_000, 0, 1.0, 0.5, 0.40, 0.0, engine=engine)
    assert math.isclose(e.kelly, 1 / 6, rel_tol=1e-12)


@pytest.mark.parametrize("args, status", [
    ((0, 1, 1, 1, 1, 1, 0, 0), Status.ARGUMENT),
    ((100, 1, 0, 0, 1, 1, 0, 0), Status.ARGUMENT),
    ((100, 1, 1, 1, math.nan, 1, 0, 0), Status.FLOAT),
    ((100, 1, 1, 1, 1, 1.5, 0, 0), Status.FLOAT),
    ((100, 1, 1, 1, 1, 1, math.inf, 0), Status.FLOAT),
    ((100, 1, 1, 1, 1, 1, 0, -0.1), Status.FLOAT),
])
def test_evaluate_rejects_bad_input(engine, args, status):
    with pytest.raises(EngineInputError) as info:
        evaluate(*args, engine=engine)
    assert info.value.status == status
