"""Depth-walk sizing of one candidate (spec "Sizing a taker opportunity").

Per-lot marginal edge of a segment, in 1e-16 $ per lot:
    P·10^14 − Σ_j (p_j·10^10 + r_j·p_j·(10,000 − p_j) + c_j·10^8)
It never increases from one segment to the next, so segments are taken while it is > 0.
"""
from __future__ import annotations

from arbbot.engine.types import INT64_MAX, PRICE_MAX, EngineInputError, FeeSchedule, Level, Status
from arbbot.engine.twin.candidates import Candidate
from arbbot.engine.twin.fees import fee_from_raw

PAYOUT_PER_LOT = 10**14     # $1 per contract, per lot, in 1e-16 $
PRICE_PER_LOT = 10**10      # 1 tick per contract, per lot, in 1e-16 $
COMMISSION_PER_LOT = 10**8  # 1 µ$ per contract, per lot, in 1e-16 $
PAYOUT_MICROS_PER_LOT = 10**4


def level_cost(price: int, schedule: FeeSchedule) -> int:
    """Per-lot cost of buying at `price` including the unrounded fee, 1e-16 $."""
    return (price * PRICE_PER_LOT + schedule.taker_rate_ppm * price * (PRICE_MAX - price)
            + schedule.per_contract * COMMISSION_PER_LOT)


def _fits(value: int, what: str) -> int:
    if value > INT64_MAX or value < -INT64_MAX - 1:
        raise EngineInputError(Status.OVERFLOW, f"{what} does not fit in int64 µ$")
    return value


def total_depth_qty(ladders: list[tuple[Level, ...]], schedules: list[FeeSchedule], payout: int,
                    cap: int | None) -> int:
    """Quantity (lots) over which every leg's marginal edge stays strictly positive."""
    idx = [0] * len(ladders)
    remaining = [ladder[0][1] for ladder in ladders]
    target = payout * PAYOUT_PER_LOT
    taken = 0
    while True:
        edge = target - sum(level_cost(ladder[i][0], s) for ladder, i, s in zip(ladders, idx, schedules))
        if edge <= 0:
            return taken
        segment = min(remaining)
        taken += segment
        if cap is not None and taken >= cap:
            return taken
        for j, ladder in enumerate(ladders):
            remaining[j] -= segment
            if remaining[j] == 0:
                idx[j] += 1
                if idx[j] == len(ladder):
                    return taken
                remaining[j] = ladder[idx[j]][1]


def take(ladder: tuple[Level, ...], qty: int, schedule: FeeSchedule) -> tuple[int, int, int]:
    """One order of `qty` lots walking `ladder` from the best level: (worst price, cost, fee)."""
    need, cost, raw, worst = qty, 0, 0, 0
    rate = schedule.taker_rate_ppm
    for price, size in ladder:
        fill = size if size < need else need
        cost += price * fill
        raw += rate * fill * price * (PRICE_MAX - price)
        worst = price
        need -= fill
        if need == 0:
            break
    return worst, cost, fee_from_raw(raw, qty, schedule)


def size(candidate: Candidate, ladders: list[tuple[Level, ...]], schedules: list[FeeSchedule],
         lot: int, max_qty: int | None, min_profit: int):
    """(qty, payout, cost, fee, profit, legs[(worst, cost, fee)]) or None when nothing to report.

    `ladders`/`schedules` are the legs' (in leg order), all non-empty; `lot` the largest lot."""
    qty = total_depth_qty(ladders, schedules, candidate.payout, max_qty)
    if max_qty is not None and qty > max_qty:
        qty = max_qty
    qty -= qty % lot
    if qty == 0:
        return None
    legs = [take(ladder, qty, s) for ladder, s in zip(ladders, schedules)]
    payout = _fits(candidate.payout * qty * PAYOUT_MICROS_PER_LOT, "payout")
    for _, leg_cost, leg_fee in legs:
        _fits(leg_cost, "leg cost")
        _fits(leg_fee, "leg fee")
    cost = _fits(sum(leg[1] for leg in legs), "cost")
    fee = _fits(sum(leg[2] for leg in legs), "fee")
    profit = _fits(payout - cost - fee, "profit")
    if profit < min_profit:
        return None
    return qty, payout, cost, fee, profit, legs
