"""Kalshi fee terms (a series' `fee_type` + `fee_multiplier`, or an event's override) → the
`FeeSchedule` the engine prices with (VENUES.md "Fees", ARBITRAGE.md "Fees").

Taker fee per order = roundup(multiplier × 0.07 × C × P × (1 − P)) to $0.01 (ARBITRAGE.md's
model). The engine holds the rate as whole ppm (int32), so 0.07 × multiplier (e.g. 0.07 ×
0.333333 = 23,333.31 ppm) is not always representable: it is rounded **up** to the next ppm
(23,334): above the venue's rate by less than $0.00000025 per contract.

The venue's own rounding since 2026 is per fill (`fill_fees`, docs.kalshi.com "Fee Rounding"):
each fill's trade fee rounded up to $0.0001, the balance change floored to the cent (the
difference charged as a rounding fee), a per-order accumulator refunding $0.01 once it exceeds
$0.01. An order that fills against one resting order pays what the model says; one that fills
against several can pay up to $0.01 more (and $0.0001 a fill more on sub-cent amounts): three
one-contract fills at 5¢ pay 2¢, the model's order 1¢. `ROUNDING_ALLOWANCE_MICROS` is what the
trader asks an opportunity's planned profit to cover per Kalshi leg beyond the minimum profit.

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


FILL_FEE_MICROS = 100             # each fill's trade fee is rounded up to $0.0001
BALANCE_MICROS = 10_000           # a (non-direct) member's balance precision: $0.01
# what a Kalshi order may pay beyond ARBITRAGE.md's per-order model: the venue debits a whole
# number of cents within $0.01 of cost + Σ trade fees (each rounded up to $0.0001), so on whole-cent
# amounts at most 1¢ more than cost + the fees rounded up once, for up to 99 fills (an order's
# fills are the resting orders it meets); on sub-cent amounts $0.0001 more a fill: 10 are covered
ROUNDING_ALLOWANCE_MICROS = BALANCE_MICROS + 10 * FILL_FEE_MICROS


def fill_fees(rate_ppm: int, fills, *, sale: bool = False) -> list[int]:
    """µ$ net fee of each fill of one Kalshi order, (price ticks, lots) in the order they fill,
    under the venue's 2026 rounding: trade fee = rate × q × p(1 − p) rounded up to $0.0001; the
    balance change (sale: +p × q, purchase: −p × q, less the trade fee) floored to the cent, the
    difference a rounding fee; the order's accumulator of rounding fees refunds $0.01 on the fill
    that takes it above $0.01, so that the order's fees converge to one fill's (the page also says
    a fill's net fee is never negative; a sub-cent fill's fee under $0.01 meeting a refund would
    be: the refund is the rule kept, every fill's cost plus net fee still whole cents)."""
    unit, out, accrued = FILL_FEE_MICROS * 10**10, [], 0
    for price, lots in fills:
        trade = -(-rate_ppm * lots * price * (10_000 - price) // unit) * FILL_FEE_MICROS
        change = (price * lots if sale else -price * lots) - trade
        rounding = change % BALANCE_MICROS
        accrued += rounding
        fee = trade + rounding
        if accrued > BALANCE_MICROS:
            accrued -= BALANCE_MICROS
            fee -= BALANCE_MICROS
        out.append(fee)
    return out
