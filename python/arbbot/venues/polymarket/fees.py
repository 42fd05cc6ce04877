"""Polymarket taker fees from the market's fee schedule (VENUES.md "Fees"): a fill of C shares at
p pays C × rate × p(1 − p); an order's running total is rounded **up** to the schedule's
`rounding` µ$ ($0.00001) once per order, so an order's k-th fill carries fee(1..k) − fee(1..k−1)
and its fills add up to the order's fee. Makers pay nothing.

Raw fees are integers in 10⁻¹⁴ µ$: micro-shares × ppm × ticks × ticks (10⁻⁶ × 10⁻⁶ × 10⁻⁴ ×
10⁻⁴ $ = 10⁻²⁰ $).
"""
from __future__ import annotations

from arbbot.units import TICKS_PER_DOLLAR

RAW_PER_MICRO = 10**14          # raw fee units in one µ$


def raw_fee(rate_ppm: int, share_micros: int, price: int) -> int:
    """Unrounded taker fee of `share_micros` (10⁻⁶ share) at `price` ticks, in 10⁻¹⁴ µ$."""
    return share_micros * rate_ppm * price * (TICKS_PER_DOLLAR - price)


def rounded(raw: int, rounding: int) -> int:
    """A running raw total as charged: rounded up to `rounding` µ$ (at least 1)."""
    unit = max(1, rounding) * RAW_PER_MICRO
    return -(-raw // unit) * max(1, rounding)


def order_fee(fees, share_micros: int, money_micros: int) -> int:
    """The taker fee of an order that matched `share_micros` for `money_micros` (its amounts as
    the venue answers them: what a BUY paid, what a SELL received), from the market's schedule
    `fees` (`FeeSchedule`; None: no fee). Exact when everything matched at one price, the fills'
    own sum; across several prices only the totals are known and this is the largest fee they
    allow (p(1 − p) is concave: Σ sᵢpᵢ(1 − pᵢ) ≤ S·p̄(1 − p̄)), never less than the fills' sum."""
    rate = getattr(fees, "taker_rate_ppm", 0) if fees is not None else 0
    if not rate or share_micros <= 0 or money_micros <= 0:
        return 0
    x = money_micros * TICKS_PER_DOLLAR          # Σ sᵢ·pᵢ in micro-shares × ticks
    # Σ sᵢ pᵢ (10⁴ − pᵢ) ≤ 10⁴·X − X²/S, rounded up
    bound = -(-(TICKS_PER_DOLLAR * x * share_micros - x * x) // share_micros)
    return rounded(rate * max(0, bound), fees.rounding)


def fee_at(fees, share_micros: int, price: int) -> int:
    """The taker fee of `share_micros` matched at `price` ticks, rounded once (one order)."""
    rate = getattr(fees, "taker_rate_ppm", 0) if fees is not None else 0
    if not rate or share_micros <= 0:
        return 0
    return rounded(raw_fee(rate, share_micros, price), fees.rounding)
