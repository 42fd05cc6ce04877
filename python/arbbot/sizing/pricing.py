"""Shared mechanics of the per-opportunity steps (SIZING.md "Mechanics"): batches and their
send times, re-pricing at a quantity (the ARBITRAGE.md depth walk, exact integers, plus step 3's
extras), lots, caps and exact dollar bounds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from arbbot.engine.twin.sizing import take, total_depth_qty
from arbbot.sizing.types import Priced, SizingInput, SizingParams

EPS = 1e-9                 # every double that becomes an integer: floor(v + 1e-9)
PAYOUT_MICROS_PER_LOT = 10**4
_NO_BIND = float(2**62)    # floor_lot arguments at or above this never bind (no int64 overflow in Swift)


@dataclass(frozen=True, slots=True)
class Batch:
    """Legs on one venue, sent together at `time` seconds; batch 0 is SIZING.md's batch 1."""
    venue: int
    legs: tuple[int, ...]     # leg indices in leg order
    time: float


def batches(inp: SizingInput, params: SizingParams) -> tuple[Batch, ...]:
    """Group legs by venue in order of first appearance; t_1 = leg_latency_s, t_b = t_{b−1} + rt(b)
    with rt(b) the venue's p50 latency once it has `min_samples` samples, else `round_trip_s`."""
    order: list[int] = []
    members: dict[int, list[int]] = {}
    for j, leg in enumerate(inp.legs):
        v = int(leg.venue)
        if v not in members:
            order.append(v)
            members[v] = []
        members[v].append(j)
    out: list[Batch] = []
    t = params.leg_latency_s
    for b, v in enumerate(order):
        if b > 0:
            stats = inp.venues[v]
            t = t + (stats.latency_s if stats.latency_samples >= params.min_samples else params.round_trip_s)
        out.append(Batch(v, tuple(members[v]), t))
    return tuple(out)


def lot_of(inp: SizingInput) -> int:
    """The largest lot among the legs' markets."""
    return max(leg.lot for leg in inp.legs)


def reprice(inp: SizingInput, params: SizingParams, qty: int) -> Priced:
    """The trade at `qty` lots (≤ the walk's depth, checked once on q0): each leg one taker order;
    with fee_model enabled a leg's fee becomes max(fee, min_per_order) + per_order (µ$)."""
    worst, costs, fees = [], [], []
    for leg in inp.legs:
        w, c, f = take(leg.ladder, qty, leg.fees)
        if params.fee_model:
            v = int(leg.venue)
            f = max(f, params.min_per_order[v]) + params.per_order_extra[v]
        worst.append(w)
        costs.append(c)
        fees.append(f)
    payout = inp.payout * qty * PAYOUT_MICROS_PER_LOT
    cost, fee = sum(costs), sum(fees)
    return Priced(qty, tuple(worst), tuple(costs), tuple(fees), payout, cost, fee, payout - cost - fee)


def exact_fees(inp: SizingInput, qty: int) -> tuple[int, ...]:
    """Per leg, the ARBITRAGE.md fee of one order of `qty` lots (no extras), µ$."""
    return tuple(take(leg.ladder, qty, leg.fees)[2] for leg in inp.legs)


def walk_depth(inp: SizingInput, cap: int) -> int:
    """The depth walk's quantity with max_qty = cap, floored to the lot (ARBITRAGE.md)."""
    lot = lot_of(inp)
    schedules = [leg.fees for leg in inp.legs]
    q = min(total_depth_qty([leg.ladder for leg in inp.legs], schedules, inp.payout, cap), cap)
    return q - q % lot


def depth_at(ladder, worst: int) -> float:
    """D: contracts on the ladder at prices ≤ `worst` ticks (exact lots, then one division)."""
    return sum(q for p, q in ladder if p <= worst) / 100


def floor_lot(contracts: float, qty_in: int, lot: int) -> int:
    """min(q_in, lot × floor(x × 100 / lot + 1e-9)) lots for a finite x ≥ 0 (order: x × 100, / lot,
    + 1e-9). Values that reach q_in / lot do not bind (no huge integer conversion)."""
    v = contracts * 100.0 / lot + EPS
    if v >= qty_in // lot or v >= _NO_BIND:
        return qty_in
    return lot * math.floor(v)


def bound_micros(dollars: float) -> int:
    """A dollar bound X as exact µ$: floor(X × 10^6 + 1e-9) (X finite, ≥ 0)."""
    v = dollars * 1e6 + EPS
    return math.floor(v) if v < _NO_BIND else 2**62


def dollar_bound(qty_in: int, lot: int, limit_micros: int, amount) -> int:
    """The largest multiple of `lot` q ≤ q_in with amount(q) ≤ limit (µ$), by bisection over lots;
    `amount` is non-decreasing in q. 0 when not even one lot fits."""
    lo, hi = 0, qty_in // lot          # invariant: lo fits (0 always), every k > hi does not
    if amount(hi * lot) <= limit_micros:
        return hi * lot
    hi -= 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if amount(mid * lot) <= limit_micros:
            lo = mid
        else:
            hi = mid - 1
    return lo * lot
