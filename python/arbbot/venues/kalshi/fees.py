"""Kalshi fee terms (a series' `fee_type` + `fee_multiplier`, or an event's override) → the
`FeeSchedule` the engine prices with (VENUES.md "Fees", ARBITRAGE.md "Fees").

Taker fee per order = roundup(multiplier × 0.07 × C × P × (1 − P)) to $0.01. The engine holds the
rate as whole ppm (int32), so 0.07 × multiplier (e.g. 0.07 × 0.333333 = 23,333.31 ppm) is not
always representable: it is rounded **up** to the next ppm (23,334). Fees are monotone in the
rate and the engine rounds each order's fee up to $0.01 as the venue does, so the modelled fee is
never below the venue's (above it by less than $0.00000025 per contract before that rounding,
and only when the rate was not a whole ppm).

Fee types priced: `quadratic`, `quadratic_with_maker_fees`, `quadratic_with_combo_maker_fees`
(the same quadratic taker fee; makers pay nothing in any lane, so the maker rate, 0.0175 ×
multiplier, is informational). `flat` (the "Specific Trading Fees Table", amounts unconfirmed:
factsheet §1.9) and any other type cannot be modelled: `UnmodelledFees`, and such markets are not
traded.
"""
from __future__ import annotations

from decimal import Decimal

from arbbot.engine.types import RATE_MAX_PPM
from arbbot.model import FeeSchedule
from arbbot.venues.kalshi.common.enums import FEE_MAKER_BASE_PPM, FEE_ROUNDING_MICROS, FEE_TAKER_BASE_PPM

QUADRATIC = "quadratic"
# fee type → whether makers pay (0.0175 × multiplier; informational: makers pay nothing here)
PRICED_TYPES = {QUADRATIC: False, "quadratic_with_maker_fees": True, "quadratic_with_combo_maker_fees": True}


class UnmodelledFees(ValueError):
    """Fee terms the engine cannot price safely; the message says why."""


def rate_up_ppm(base_ppm: int, multiplier: Decimal) -> int:
    """ceil(base_ppm × multiplier), exactly (the multiplier is a finite decimal ≥ 0)."""
    num, den = multiplier.as_integer_ratio()
    return -(-(base_ppm * num) // den)


def fee_schedule(fee_type: str, multiplier: Decimal) -> FeeSchedule:
    """The FeeSchedule of `fee_type` at `multiplier` (exact decimal ≥ 0); UnmodelledFees if the
    type is not a quadratic one or the rate is not a fee rate (≥ 1)."""
    if fee_type not in PRICED_TYPES:
        raise UnmodelledFees(f"fee_type {fee_type!r} cannot be priced (only quadratic types are modelled)")
    taker = rate_up_ppm(FEE_TAKER_BASE_PPM, multiplier)
    if taker > RATE_MAX_PPM:
        raise UnmodelledFees(f"fee_multiplier {multiplier}: taker rate {taker} ppm is not a fee rate")
    maker = rate_up_ppm(FEE_MAKER_BASE_PPM, multiplier) if PRICED_TYPES[fee_type] else 0
    return FeeSchedule(taker_rate_ppm=taker, rounding=FEE_ROUNDING_MICROS, maker_rate_ppm=maker)
