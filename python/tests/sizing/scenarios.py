"""Hand-checkable opportunities shared by the sizing tests (arithmetic in test_golden.py)."""
from __future__ import annotations

from dataclasses import replace

from arbbot.model import FeeSchedule, Venue
from arbbot.sizing import SizingInput, SizingLeg, VenueStats

KALSHI_FEES = FeeSchedule(taker_rate_ppm=70_000, rounding=10_000)   # 7% × p(1−p), rounded up to $0.01
POLY_FEES = FeeSchedule(taker_rate_ppm=0, rounding=10)              # no fee


def cross() -> SizingInput:
    """A: cross-venue twin, c = 0.95, q0 = 50 contracts (engine max_qty 50; the books hold 100).
    Leg 1 Kalshi YES: asks 0.45 × 50, 0.46 × 50; best bid 0.44. Leg 2 Polymarket NO: asks
    0.50 × 30, 0.51 × 100; best bid 0.49. ρ = 0.5/s, s = 0.01 $/√s (the priors)."""
    legs = (SizingLeg(Venue.KALSHI, 100, KALSHI_FEES, ((4500, 5000), (4600, 5000)), 4400, 0.5, 0.01),
            SizingLeg(Venue.POLYMARKET, 1, POLY_FEES, ((5000, 3000), (5100, 10000)), 4900, 0.5, 0.01))
    return SizingInput(id="0123456789abcdef", payout=1, qty=5000, legs=legs, confidence=0.95,
                       days_to_close=20.0, min_profit=1, equity=10_000_000_000, loss_budget=25.0)


def parity() -> SizingInput:
    """B: one-venue complement pair on Kalshi, c = 0.9, q0 = 50 contracts. YES a: 0.40 × 100
    (bid 0.39); YES b: 0.50 × 100 (bid 0.49). One batch: nothing is legged across venues."""
    legs = (SizingLeg(Venue.KALSHI, 100, KALSHI_FEES, ((4000, 10000),), 3900, 0.5, 0.01),
            SizingLeg(Venue.KALSHI, 100, KALSHI_FEES, ((5000, 10000),), 4900, 0.5, 0.01))
    return SizingInput(id="00000000000000ff", payout=1, qty=5000, legs=legs, confidence=0.9,
                       days_to_close=20.0, min_profit=1, equity=1_000_000_000, loss_budget=25.0)


def with_venue(inp: SizingInput, venue: Venue, **stats) -> SizingInput:
    venues = list(inp.venues)
    venues[venue] = VenueStats(**stats)
    return replace(inp, venues=tuple(venues))
