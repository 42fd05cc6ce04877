"""Order prices sit on each market's own grid: Kalshi linear cent / tapered deci-cent / deci-cent,
Polymarket ticks of 0.01 and 0.001, ForecastEx cents within 0.02–0.99."""
from __future__ import annotations

from hypothesis import given, strategies as st

from arbbot.venues.common.model import TAPERED, MarketInfo, Venue, floor_price, on_grid, price_bounds

LINEAR = MarketInfo(Venue.KALSHI, "K-LIN", "linear", tick_ticks=100)
TAPER = MarketInfo(Venue.KALSHI, "K-TAP", "tapered", tick_ticks=10, price_grid=TAPERED)
DECI = MarketInfo(Venue.KALSHI, "K-DECI", "deci", tick_ticks=10)
POLY = MarketInfo(Venue.POLYMARKET, "0xabc", "poly", lot_lots=1, tick_ticks=10)
FX = MarketInfo(Venue.FORECASTEX, "FF-1", "fx", tick_ticks=100, min_price_ticks=200, max_price_ticks=9_900)
ALL = [LINEAR, TAPER, DECI, POLY, FX]


def test_golden_floors():
    # tapered: $0.001 steps up to $0.10 and from $0.90, $0.01 between
    assert [floor_price(TAPER, p) for p in (55, 995, 1000, 1055, 5599, 8999, 9000, 9055, 9999)] == \
        [50, 990, 1000, 1000, 5500, 8900, 9000, 9050, 9990]
    assert [floor_price(LINEAR, p) for p in (-500, 0, 150, 5599, 9999, 20_000)] == [100, 100, 100, 5500, 9900, 9900]
    assert [floor_price(DECI, p) for p in (5, 5599, 9999)] == [10, 5590, 9990]
    assert [floor_price(FX, p) for p in (0, 150, 250, 9950, 10_000)] == [200, 200, 200, 9900, 9900]
    assert price_bounds(TAPER) == (10, 9990) and price_bounds(FX) == (200, 9900)
    assert not on_grid(TAPER, 1005) and on_grid(TAPER, 905) is False and on_grid(TAPER, 9005) is False
    assert on_grid(TAPER, 9050) and on_grid(TAPER, 950) and not on_grid(FX, 100)


@given(st.sampled_from(ALL), st.integers(-20_000, 30_000))
def test_floor_is_the_highest_valid_price_not_above(m, price):
    f = floor_price(m, price)
    lo, hi = price_bounds(m)
    assert on_grid(m, f)
    if price >= lo:
        assert f <= price
        assert not any(on_grid(m, q) for q in range(f + 1, min(price, hi) + 1))
    else:
        assert f == lo
