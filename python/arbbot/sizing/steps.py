"""The per-opportunity sizing chain: SIZING.md steps 1, 2, 3, 6, 7, 8, 4 (in that order).

`size_opportunity(inp, params)` runs the chain for one opportunity and returns every step's
quantity, cap, outcome and the inputs it used. Pure, deterministic (the Monte Carlo is seeded by
the opportunity id), integers for money / quantities / prices; doubles in the order written in
each function (the Swift twin's contract: exact integers, 1e-12 relative doubles).

Readings of SIZING.md (conservative where it is ambiguous):
- Re-pricing at q_in prices each leg as one taker order of q_in lots. The depth walk with
  max_qty = q_in returns q_in itself for every q_in ≤ q0, so the walk is run once, on q0, and an
  opportunity whose q0 the walk does not reproduce is an input error.
- Step 6 (liquidity_impact): `g ≤ 0` rejects even when there are no later legs.
- Step 6: `a_k` = (best ask − best bid) / 20000 dollars, best ask = the ladder's first level.
  A later leg's cap is NaN when g ≤ 0 (the base is negative: undefined; the step rejects) and +inf
  when the power overflows the doubles (no cap from that leg).
- Step 8: the three uniforms of a later batch are drawn even after the path unwound (fixed
  stream position). A re-quoted leg's price `p̄ + ΔP` is clamped to [0, 1] in the PnL as well.
  An unwind's PnL is exactly SIZING.md's formula (re-quote costs paid earlier on the path are not
  added, "and nothing else"). `e_j` and `g` include step 3's extras when fee_model is enabled.
- Step 8: mean ≤ 0 rejects; the cap (budget / CVaR) is still reported.
- Step 4: π = c f + (1 − c)/2 is clamped to ≤ 1 (rounding); L = 0 bounds by E in exact µ$
  (no double round trip); σ = c × sd(f) with sd(f)² = Σ_b (Π_{w≠b} f_w)² Var_b (delta method over
  independent Beta(fills + α, attempts − fills + β) posteriors, later batches in send order).
- A trade with zero capital (cost + fee = 0 at q_in) has nothing for Kelly to bound: step 4 keeps.
- Input limits beyond SIZING.md's ranges (the Swift twin's, arb_engine.h): latencies and times
  ≤ 10^6 s, price_vol and |drift| ≤ 10^6, paths ≤ 10^7, payout and fees at q0 below 2^62 µ$. They
  keep every double finite (no NaN PnL) and every µ$ amount inside int64.
- Disabled steps still compute their values (f, L_leg, VaR); a disabled fee_model drops extras
  and venue minimums from every re-pricing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from arbbot.engine.twin.evaluate import evaluate
from arbbot.engine.twin.validate import check_levels, check_schedule, check_venue, is_int
from arbbot.engine.types import INT64_MAX, INT64_MIN, MONEY_FEE_MAX, PRICE_MAX, EngineInputError, Status
from arbbot.sizing.montecarlo import simulate
from arbbot.sizing.pricing import (
    PAYOUT_MICROS_PER_LOT, Batch, batches, bound_micros, depth_at, dollar_bound, exact_fees, floor_lot, lot_of,
    reprice, walk_depth,
)
from arbbot.sizing.rng import seed_from_id
from arbbot.sizing.types import (
    MONEY_MAX, PATHS_MAX, PER_OPPORTUNITY, TIME_MAX_S, VENUE_COUNT, VOL_MAX, CapitalLockInputs, CapUnit,
    ExecutionModelInputs, FeeModelInputs, FillModelInputs, KellyInputs, LiquidityImpactInputs, MonteCarloInputs, MonteCarloResult, Outcome, Reason,
    SizingInput, SizingParams, SizingResult, Step, StepResult,
)


def fill_probability(fills: int, attempts: int, alpha: float, beta: float) -> float:
    """Step 2's Beta posterior mean: (fills + α) / (attempts + α + β)."""
    return (fills + alpha) / (attempts + alpha + beta)


def _beta_variance(fills: int, attempts: int, alpha: float, beta: float) -> float:
    a = fills + alpha
    b = (attempts - fills) + beta
    s = a + b
    return (a * b) / ((s * s) * (s + 1.0))


@dataclass(frozen=True, slots=True)
class _Context:
    inp: SizingInput
    params: SizingParams
    lot: int
    groups: tuple[Batch, ...]
    batch_fill: tuple[float, ...]     # f_v per later batch
    f: float


def _finite(x: float, what: str, low: float | None = 0.0, high: float | None = None, open_low: bool = False,
            open_high: bool = False) -> None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or (
            low is not None and (x <= low if open_low else x < low)) or (
            high is not None and (x >= high if open_high else x > high)):
        lo, hi = "(" if open_low else "[", ")" if open_high else "]"
        rng = f" in {lo}{low}, {high}{hi}" if high is not None else (
            f" {'>' if open_low else '≥'} {low}" if low is not None else "")
        raise EngineInputError(Status.FLOAT, f"{what} {x!r} must be a finite number{rng}")


def _count(x: int, what: str, low: int, high: int | None = None) -> None:
    if isinstance(x, bool) or not isinstance(x, int) or x < low or (high is not None and x > high):
        raise EngineInputError(Status.ARGUMENT, f"{what} {x!r} must be an integer ≥ {low}"
                               + (f" and ≤ {high}" if high is not None else ""))


def check_input(inp: SizingInput) -> None:
    """Input checks (EngineInputError with the ABI's codes; `index` = the leg when it is one)."""
    # what the ABI's integer fields cannot hold is refused first, as packing them refuses it
    # (ARGUMENT): a float quantity or money never reaches the chain, nor a venue count past int64
    # (an amount past int64 gets its field's own code below: QTY, OVERFLOW, MONEY)
    for name in ("payout", "qty", "min_profit", "equity"):
        if not is_int(getattr(inp, name)):
            raise EngineInputError(Status.ARGUMENT, f"{name} {getattr(inp, name)!r} must be an integer")
    for v, st in enumerate(inp.venues):
        for name in ("fills", "attempts", "latency_samples"):
            x = getattr(st, name)
            if not (is_int(x) and INT64_MIN <= x <= INT64_MAX):
                raise EngineInputError(Status.ARGUMENT, f"venue {v} {name} {x!r} must be an integer within int64")
    if not inp.legs:
        raise EngineInputError(Status.LENGTH, "an opportunity needs at least one leg")
    try:
        seed_from_id(inp.id)
    except ValueError as exc:
        raise EngineInputError(Status.ARGUMENT, str(exc)) from None
    if inp.payout < 1:
        raise EngineInputError(Status.ARGUMENT, f"payout {inp.payout} $/contract must be ≥ 1")
    for i, leg in enumerate(inp.legs):
        try:
            check_venue(leg.venue)
            if leg.lot not in (100, 1):
                raise EngineInputError(Status.LOT, f"lot {leg.lot} must be 100 or 1 lots")
            check_schedule(leg.fees)
            check_levels(leg.ladder)
            if not leg.ladder or any(q <= 0 for _, q in leg.ladder) or any(
                    a[0] >= b[0] for a, b in zip(leg.ladder, leg.ladder[1:])):
                raise EngineInputError(Status.LENGTH, "ladder must be non-empty, ascending, sizes > 0")
            if not 0 <= leg.best_bid <= leg.ladder[0][0] <= PRICE_MAX:
                raise EngineInputError(Status.PRICE, f"best bid {leg.best_bid} is outside 0…best ask")
            _finite(leg.depletion_rate, "depletion rate")
            _finite(leg.price_vol, "price volatility", 0.0, VOL_MAX)
        except EngineInputError as exc:
            raise EngineInputError(exc.status, f"leg {i}: {exc}", i) from None
    _finite(inp.confidence, "confidence", 0.0, 1.0)
    _finite(inp.days_to_close, "days to close", None)
    _finite(inp.loss_budget, "loss budget")
    if not (0 <= inp.min_profit <= INT64_MAX and 0 <= inp.equity <= INT64_MAX):
        raise EngineInputError(Status.MONEY, "min_profit and equity must be µ$ in 0…int64")
    if len(inp.venues) != VENUE_COUNT:
        raise EngineInputError(Status.LENGTH, f"venues must have {VENUE_COUNT} entries")
    for v, st in enumerate(inp.venues):
        if not 0 <= st.fills <= st.attempts or st.latency_samples < 0:
            raise EngineInputError(Status.ARGUMENT, f"venue {v}: need 0 ≤ fills ≤ attempts, samples ≥ 0")
        _finite(st.latency_s, f"venue {v} latency", 0.0, TIME_MAX_S)
    lot = lot_of(inp)
    if inp.qty <= 0 or inp.qty % lot:
        raise EngineInputError(Status.QTY, f"engine quantity {inp.qty} lots must be a positive multiple of {lot}")
    if walk_depth(inp, inp.qty) != inp.qty:
        raise EngineInputError(Status.QTY, f"engine quantity {inp.qty} lots exceeds the books' positive-edge depth")
    # Fees and costs never grow as q shrinks and Σ costs ≤ payout on the positive-edge walk, so these
    # two bounds keep every µ$ amount of the chain (extras included) inside int64.
    if (inp.payout * inp.qty * PAYOUT_MICROS_PER_LOT >= MONEY_MAX
            or sum(exact_fees(inp, inp.qty)) + len(inp.legs) * 2 * MONEY_FEE_MAX >= MONEY_MAX):
        raise EngineInputError(Status.OVERFLOW, "payout or fees at the engine quantity exceed 2^62 µ$")


def check_params(p: SizingParams) -> None:
    """The settings' checks (after `check_input`; EngineInputError, index -1): SIZING.md's ranges
    plus the engine's limits (times ≤ TIME_MAX_S, |drift| ≤ VOL_MAX, paths ≤ PATHS_MAX, per-venue
    µ$ ≤ MONEY_FEE_MAX). The config loader refuses most of these earlier, naming the key."""
    _finite(p.leg_latency_s, "leg_latency_s", 0.0, TIME_MAX_S, open_low=True)
    _finite(p.round_trip_s, "round_trip_s", 0.0, TIME_MAX_S, open_low=True)
    _count(p.min_samples, "min_samples", 1)
    _finite(p.alpha, "alpha", 0.0, open_low=True)
    _finite(p.beta, "beta", 0.0, open_low=True)
    _finite(p.min_fill_prob, "min_fill_prob", 0.0, 1.0)
    for name in ("per_order_extra", "min_per_order", "min_order"):
        values = getattr(p, name)
        if len(values) != VENUE_COUNT:
            raise EngineInputError(Status.LENGTH, f"{name} must have {VENUE_COUNT} entries")
        if any(isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= MONEY_FEE_MAX for x in values):
            raise EngineInputError(Status.MONEY, f"{name} {values!r} must be µ$ in 0…{MONEY_FEE_MAX}")
    _finite(p.exponent, "exponent", 0.0, open_low=True)
    _finite(p.max_edge_share, "max_edge_share", 0.0, 1.0, open_low=True)
    _finite(p.near_days, "near_days")
    _finite(p.far_days, "far_days", p.near_days, open_low=True)
    _finite(p.far_multiplier, "far_multiplier", 0.0, 1.0, open_low=True)
    _finite(p.min_annual_return, "min_annual_return")
    _count(p.paths, "paths", 1, PATHS_MAX)
    _finite(p.drift, "drift", -VOL_MAX, VOL_MAX)
    _count(p.max_requote, "max_requote", 0)
    _finite(p.cvar_level, "cvar_level", 0.0, 1.0, open_low=True, open_high=True)
    _finite(p.var_level, "var_level", 0.0, 1.0, open_low=True, open_high=True)
    _finite(p.kelly_multiplier, "kelly_multiplier", 0.0, 1.0, open_low=True)
    _finite(p.sigma, "sigma", 0.0, open_low=True)


# ---- steps ----------------------------------------------------------------------------------------

def _capped(step: Step, ctx: _Context, q_in: int, cap: float | None, inputs, reason: Reason = Reason.NONE,
            reject: Reason = Reason.NONE, unit: CapUnit = CapUnit.CONTRACTS) -> StepResult:
    """Apply a quantity cap in contracts (None / +inf = no cap; NaN or < 0 rejects), or a reject."""
    if cap is not None and cap == math.inf:
        cap = None
    enabled = ctx.params.enabled(step)
    if not enabled:
        return StepResult(step, q_in, q_in, Outcome.DISABLED, None, CapUnit.NONE, reason, inputs)
    shown_unit = CapUnit.NONE if cap is None else unit
    if reject is not Reason.NONE:
        return StepResult(step, q_in, 0, Outcome.REJECTED, cap, shown_unit, reject, inputs)
    if cap is None:
        return StepResult(step, q_in, q_in, Outcome.KEPT, None, CapUnit.NONE, reason, inputs)
    if cap != cap or cap < 0:
        return StepResult(step, q_in, 0, Outcome.REJECTED, cap, unit, Reason.CAP_INVALID, inputs)
    q = floor_lot(cap, q_in, ctx.lot)
    if q == 0:
        return StepResult(step, q_in, 0, Outcome.REJECTED, cap, unit, Reason.CAP_BELOW_LOT, inputs)
    return StepResult(step, q_in, q, Outcome.LOWERED if q < q_in else Outcome.KEPT, cap, unit, reason, inputs)


def _execution_model(ctx: _Context, q_in: int) -> StepResult:
    """Step 1: cap = min_k D_k × exp(−(ρ_k × t_k)) contracts (min left to right)."""
    priced = reprice(ctx.inp, ctx.params, q_in)
    time_of = {j: b.time for b in ctx.groups for j in b.legs}
    depth, rate, time, left = [], [], [], []
    for j, leg in enumerate(ctx.inp.legs):
        d = depth_at(leg.ladder, priced.worst[j])
        t = time_of[j]
        depth.append(d)
        rate.append(leg.depletion_rate)
        time.append(t)
        left.append(d * math.exp(-(leg.depletion_rate * t)))
    cap = left[0]
    for x in left[1:]:
        cap = x if x < cap else cap
    inputs = ExecutionModelInputs(tuple(depth), tuple(rate), tuple(time), tuple(left))
    return _capped(Step.EXECUTION_MODEL, ctx, q_in, cap, inputs)


def _fill_model(ctx: _Context, q_in: int) -> StepResult:
    """Step 2: a test, reject if f < min_fill_prob."""
    inputs = FillModelInputs(tuple(b.venue for b in ctx.groups[1:]), ctx.batch_fill, ctx.f)
    reject = Reason.FILL_PROB_LOW if ctx.f < ctx.params.min_fill_prob else Reason.NONE
    return _capped(Step.FILL_MODEL, ctx, q_in, None, inputs, reject=reject)


def _fee_model(ctx: _Context, q_in: int) -> StepResult:
    """Step 3: a test at q_in with extras: profit ≥ min_profit and every leg cost ≥ its venue minimum."""
    priced = reprice(ctx.inp, ctx.params, q_in)
    minimums = tuple(ctx.params.min_order[int(leg.venue)] for leg in ctx.inp.legs)
    inputs = FeeModelInputs(priced, exact_fees(ctx.inp, q_in), minimums, ctx.inp.min_profit)
    reject = Reason.NONE
    if priced.profit < ctx.inp.min_profit:
        reject = Reason.PROFIT_LOW
    elif any(cost < minimum for cost, minimum in zip(priced.leg_cost, minimums)):
        reject = Reason.VENUE_MINIMUM
    return _capped(Step.FEE_MODEL, ctx, q_in, None, inputs, reject=reject)


def _liquidity_impact(ctx: _Context, q_in: int) -> StepResult:
    """Step 6: cap = min_k D_k × ((max_edge_share × g) / ((m × (1 − f_k)) × a_k)) ** (1.0 / exponent)."""
    p = ctx.params
    priced = reprice(ctx.inp, p, q_in)
    g = priced.g
    later = tuple(j for b in ctx.groups[1:] for j in b.legs)
    fill_of = {j: f for b, f in zip(ctx.groups[1:], ctx.batch_fill) for j in b.legs}
    m = len(later)
    depth, half, fills, caps = [], [], [], []
    for j in later:
        leg = ctx.inp.legs[j]
        d = depth_at(leg.ladder, priced.worst[j])
        a = (leg.ladder[0][0] - leg.best_bid) / 20000
        f = fill_of[j]
        depth.append(d)
        half.append(a)
        fills.append(f)
        if f == 1.0 or a == 0.0:
            caps.append(math.inf)
        elif not g > 0.0:
            caps.append(math.nan)          # undefined (a negative base); the step rejects
        else:
            try:
                caps.append(d * ((p.max_edge_share * g) / ((m * (1.0 - f)) * a)) ** (1.0 / p.exponent))
            except OverflowError:          # the power exceeds the doubles: no cap from this leg
                caps.append(math.inf)
    inputs = LiquidityImpactInputs(g, later, tuple(depth), tuple(half), tuple(fills), tuple(caps))
    if not g > 0.0:
        return _capped(Step.LIQUIDITY_IMPACT, ctx, q_in, None, inputs, reject=Reason.EDGE_NONPOSITIVE)
    if m == 0:
        return _capped(Step.LIQUIDITY_IMPACT, ctx, q_in, None, inputs, reason=Reason.NO_LATER_LEGS)
    cap = math.inf
    for c in caps:
        cap = c if c < cap else cap
    reason = Reason.NO_IMPACT if cap == math.inf else Reason.NONE
    return _capped(Step.LIQUIDITY_IMPACT, ctx, q_in, cap, inputs, reason=reason)


def regime_multiplier(days: float, near: float, far: float, far_multiplier: float) -> float:
    """Step 7's r: 1 up to `near`, `far_multiplier` from `far`, 1 + (m − 1) × ((T − near) / (far − near)) between."""
    if days <= near:
        return 1.0
    if days >= far:
        return far_multiplier
    return 1.0 + (far_multiplier - 1.0) * ((days - near) / (far - near))


def _capital_lock(ctx: _Context, q_in: int) -> StepResult:
    """Step 7: reject unless ((r × (g / K)) × 365) / max(T, 1) ≥ min_annual_return; T ≤ 0 rejects."""
    p = ctx.params
    priced = reprice(ctx.inp, p, q_in)
    g, k, days = priced.g, priced.k, ctx.inp.days_to_close
    if days <= 0.0:
        inputs = CapitalLockInputs(days, math.nan, g, k, math.nan)
        return _capped(Step.CAPITAL_LOCK, ctx, q_in, None, inputs, reject=Reason.CLOSED)
    r = regime_multiplier(days, p.near_days, p.far_days, p.far_multiplier)
    ratio = g / k if k > 0.0 else math.inf
    annual = ((r * ratio) * 365.0) / max(days, 1.0)
    inputs = CapitalLockInputs(days, r, g, k, annual)
    reject = Reason.NONE if annual >= p.min_annual_return else Reason.RETURN_LOW
    return _capped(Step.CAPITAL_LOCK, ctx, q_in, None, inputs, reject=reject)


def _monte_carlo(ctx: _Context, q_in: int) -> tuple[StepResult, MonteCarloResult]:
    """Step 8: the simulation at q_in; cap = budget / CVaR contracts (none when CVaR ≤ 0); mean ≤ 0 rejects."""
    priced = reprice(ctx.inp, ctx.params, q_in)
    result = simulate(ctx.inp, ctx.params, priced, ctx.groups, ctx.batch_fill, seed_from_id(ctx.inp.id))
    budget = ctx.inp.loss_budget
    cap = budget / result.cvar if result.cvar > 0.0 else None
    reason = Reason.CVAR_NONPOSITIVE if cap is None else Reason.NONE
    reject = Reason.MEAN_NONPOSITIVE if not result.mean > 0.0 else Reason.NONE
    step = _capped(Step.MONTE_CARLO, ctx, q_in, cap, MonteCarloInputs(result, budget), reason=reason, reject=reject)
    return step, result


def _posterior_sigma(ctx: _Context) -> float | None:
    """sd(f) by the delta method when there is a later batch and every later venue has min_samples
    attempts, else None. sd² = Σ_b (Π_{w≠b} f_w)² Var_b, in send order."""
    p = ctx.params
    later = ctx.groups[1:]
    if not later or any(ctx.inp.venues[b.venue].attempts < p.min_samples for b in later):
        return None
    total = 0.0
    for b, batch in enumerate(later):
        others = 1.0
        for w, f_w in enumerate(ctx.batch_fill):
            if w != b:
                others *= f_w
        st = ctx.inp.venues[batch.venue]
        total += (others * others) * _beta_variance(st.fills, st.attempts, p.alpha, p.beta)
    return math.sqrt(total)


def _kelly(ctx: _Context, q_in: int, mc: MonteCarloResult) -> StepResult:
    """Step 4: π = c f + (1 − c)/2, L = ((c × (1 − f)) × L_leg + ((1 − c) / 2) × K) / (1 − π);
    ARBITRAGE.md evaluation with c = 1, f = π; dollar bound E (L = 0) or (shrunk × multiplier) × E."""
    p, inp = ctx.params, ctx.inp
    priced = reprice(inp, p, q_in)
    c, f = inp.confidence, ctx.f
    pi = min(c * f + (1.0 - c) / 2.0, 1.0)
    k = priced.k
    loss = 0.0 if pi == 1.0 else ((c * (1.0 - f)) * mc.l_leg + ((1.0 - c) / 2.0) * k) / (1.0 - pi)
    sd = _posterior_sigma(ctx)
    sigma = p.sigma if sd is None else c * sd
    capital = lambda q: (lambda pr: pr.cost + pr.fee)(reprice(inp, p, q))  # noqa: E731
    if priced.cost + priced.fee == 0:
        inputs = KellyInputs(c, f, pi, loss, mc.l_leg, sigma, sd is not None, math.nan, 1.0, 1.0, inp.equity, -1)
        return _capped(Step.KELLY, ctx, q_in, None, inputs, reason=Reason.CAPITAL_ONLY)
    ev = evaluate(q_in, priced.profit, priced.cost, priced.fee, 1.0, pi, loss, sigma)
    if priced.profit <= 0 or pi == 0.0:
        inputs = KellyInputs(c, f, pi, loss, mc.l_leg, sigma, sd is not None, ev.ev, ev.kelly, ev.shrunk, inp.equity, -1)
        return _capped(Step.KELLY, ctx, q_in, None, inputs, reject=Reason.PI_ZERO)
    if loss == 0.0:
        limit, dollars, reason = inp.equity, inp.equity / 1e6, Reason.CAPITAL_ONLY
    else:
        dollars = (ev.shrunk * p.kelly_multiplier) * (inp.equity / 1e6)
        limit, reason = bound_micros(dollars), Reason.NONE
    inputs = KellyInputs(c, f, pi, loss, mc.l_leg, sigma, sd is not None, ev.ev, ev.kelly, ev.shrunk, inp.equity,
                         limit)
    if loss != 0.0 and ev.shrunk == 0.0:
        return _capped(Step.KELLY, ctx, q_in, dollars, inputs, reject=Reason.SHRUNK_ZERO, unit=CapUnit.DOLLARS)
    if not p.kelly:
        return _capped(Step.KELLY, ctx, q_in, None, inputs, reason=reason)
    q = dollar_bound(q_in, ctx.lot, limit, capital)
    if q == 0:
        return StepResult(Step.KELLY, q_in, 0, Outcome.REJECTED, dollars, CapUnit.DOLLARS, Reason.BOUND_BELOW_LOT,
                          inputs)
    return StepResult(Step.KELLY, q_in, q, Outcome.LOWERED if q < q_in else Outcome.KEPT, dollars, CapUnit.DOLLARS,
                      reason, inputs)


# ---- the chain ------------------------------------------------------------------------------------

def size_opportunity(inp: SizingInput, params: SizingParams = SizingParams()) -> SizingResult:
    """Run steps 1, 2, 3, 6, 7, 8, 4 on one opportunity (SIZING.md order); see the module docstring."""
    check_input(inp)
    check_params(params)
    groups = batches(inp, params)
    batch_fill = tuple(fill_probability(inp.venues[b.venue].fills, inp.venues[b.venue].attempts,
                                        params.alpha, params.beta) for b in groups[1:])
    f = 1.0
    for fb in batch_fill:
        f *= fb
    ctx = _Context(inp, params, lot_of(inp), groups, batch_fill, f)
    q = inp.qty
    steps: list[StepResult] = []
    rejected_by = bound_by = None
    mc: MonteCarloResult | None = None
    for step in PER_OPPORTUNITY:
        if rejected_by is not None:
            steps.append(StepResult(step, 0, 0, Outcome.SKIPPED, None, CapUnit.NONE, Reason.REJECTED_EARLIER, None))
            continue
        if step is Step.EXECUTION_MODEL:
            result = _execution_model(ctx, q)
        elif step is Step.FILL_MODEL:
            result = _fill_model(ctx, q)
        elif step is Step.FEE_MODEL:
            result = _fee_model(ctx, q)
        elif step is Step.LIQUIDITY_IMPACT:
            result = _liquidity_impact(ctx, q)
        elif step is Step.CAPITAL_LOCK:
            result = _capital_lock(ctx, q)
        elif step is Step.MONTE_CARLO:
            result, mc = _monte_carlo(ctx, q)
        else:
            result = _kelly(ctx, q, mc)
        steps.append(result)
        if result.outcome is Outcome.REJECTED:
            rejected_by = step
        elif result.outcome is Outcome.LOWERED:
            bound_by = step
        q = result.qty
    return SizingResult(inp.qty, q, rejected_by, bound_by, tuple(steps), f, mc)
