"""Per-order taker fees (spec "Fees"): rate part rounded up to R per order + commission."""
from __future__ import annotations

from arbbot.engine.types import INT64_MAX, PRICE_MAX, EngineInputError, FeeSchedule, Status
from arbbot.engine.twin.validate import check_levels, check_schedule

RAW_PER_MICRO = 10**10   # raw fees are in 1e-16 $ = 1e-10 µ$


def fee_from_raw(raw: int, qty: int, schedule: FeeSchedule) -> int:
    """ceil(raw / (R·10^10))·R + ceil(c·q / 100), µ$. raw = Σ r·q_i·p_i·(10,000 − p_i)."""
    rounding = schedule.rounding
    rate_part = -(-raw // (rounding * RAW_PER_MICRO)) * rounding
    return rate_part + -(-(schedule.per_contract * qty) // 100)


def fills_fee(schedule: FeeSchedule, fills) -> int:
    """`order_fee` of inputs already known valid (a schedule and fills the engine produced): no
    checks, for the order path."""
    rate = schedule.taker_rate_ppm
    return fee_from_raw(sum(rate * q * p * (PRICE_MAX - p) for p, q in fills), sum(q for _, q in fills), schedule)


def order_fee(schedule: FeeSchedule, fills) -> int:
    """Fee in µ$ of one taker order filling `fills` = [(price ticks, qty lots), …]."""
    check_schedule(schedule)
    check_levels(fills)
    fee = fills_fee(schedule, fills)
    if fee > INT64_MAX:
        raise EngineInputError(Status.OVERFLOW, "fee does not fit in int64 µ$")
    return fee
