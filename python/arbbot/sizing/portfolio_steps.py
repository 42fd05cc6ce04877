"""The portfolio steps of SIZING.md: 5 `robust_inputs` (its record), 9 `lane_allocator`, 10
`loss_cap`, 11 `exposure_manager`, 12 `drawdown_manager`, and the values computed before the chain
(the lane weights, the loss budget).

Each step returns a `StepResult` of the per-opportunity chain's shape; `reason` is a `Reason` or a
`PortfolioReason` (codes ≥ 100), `inputs` one of the dataclasses below. Dollar bounds are exact:
`pricing.dollar_bound` over lots, comparing µ$ against `floor(X × 10^6 + 1e-9)`. A disabled step
computes its record and keeps q.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable

from arbbot.engine.types import Lane
from arbbot.model import Labelled, Venue
from arbbot.sizing.config import SizingConfig
from arbbot.sizing.portfolio import CAUTION, STOP, Exposure, Portfolio, tier
from arbbot.sizing.pricing import bound_micros, dollar_bound, floor_lot
from arbbot.sizing.robust import Estimate
from arbbot.sizing.trade import Trade
from arbbot.sizing.types import CapUnit, Outcome, Reason, Step, StepResult

Amount = Callable[[int], float]     # lots → µ$ (non-decreasing in q)


class PortfolioReason(Labelled):
    """Why a portfolio step rejected, or has no cap (codes apart from `Reason`'s)."""
    ESTIMATES = 100          # step 5: never changes q
    LANE_OFF = 101           # step 9: the lane is not in `lanes`
    BUDGET_ZERO = 102        # step 10: nothing left of the daily loss cap
    NO_LOSS = 103            # step 10: W = 0, nothing to bound
    NO_ROOM = 104            # step 11: room ≤ 0
    NO_LIMIT = 105           # step 11: no scope has a limit
    NORMAL = 106             # step 12: drawdown below caution_pct
    CAUTION = 107            # step 12: caution multiplier
    DRAWDOWN_STOP = 108      # step 12: a drawdown stop


# ---- inputs (the explain output's "inputs it used") -----------------------------------------------

@dataclass(frozen=True, slots=True)
class RobustRecord:
    latency: tuple[tuple[Venue, Estimate], ...]             # per venue of the trade, s
    depletion: tuple[Estimate, ...]                         # per leg, ρ per s
    volatility: tuple[tuple[str, Estimate], ...]            # per market of the trade, $/√s
    fills: tuple[tuple[Venue, int, int], ...]               # (venue, fills, attempts), uncleaned


@dataclass(frozen=True, slots=True)
class LaneAllocatorInputs:
    lane: Lane
    sharpe: tuple[tuple[Lane, float], ...]                  # max(Sharpe, sharpe_floor) per enabled lane
    weight: float                                           # w_l (0 when the lane is off)
    equity: int                                             # E, µ$
    bankroll: float                                         # B_l = w_l × E, $


@dataclass(frozen=True, slots=True)
class LossCapInputs:
    confidence: float
    left: float                                             # $ left of the daily loss cap
    budget: float                                           # $
    var: float                                              # $ per contract (Monte Carlo, at var_level)
    k: float                                                # K at q_in, $ per contract
    w: float                                                # W(q_in), $ per contract


@dataclass(frozen=True, slots=True)
class Room:
    scope: str                                              # venue | market | event | category
    name: str
    room: int                                               # µ$
    qty: int                                                # lots: the bound it gives


@dataclass(frozen=True, slots=True)
class ExposureInputs:
    rooms: tuple[Room, ...]                                 # venues, markets, events, categories


@dataclass(frozen=True, slots=True)
class DrawdownInputs:
    peak: int                                               # µ$
    equity: int                                             # µ$
    drawdown_pct: float
    tier: str                                               # normal | caution | stop
    multiplier: float


# ---- helpers ----------------------------------------------------------------------------------------

def _result(step: Step, q_in: int, q: int, enabled: bool, cap: float | None, unit: CapUnit, reason, inputs,
            reject=None) -> StepResult:
    """A step's record: disabled keeps q (no cap); a reject reason, or q = 0, rejects."""
    if not enabled:
        return StepResult(step, q_in, q_in, Outcome.DISABLED, None, CapUnit.NONE, reason, inputs)
    if reject is not None:
        return StepResult(step, q_in, 0, Outcome.REJECTED, cap, unit if cap is not None else CapUnit.NONE,
                          reject, inputs)
    if q == 0:
        return StepResult(step, q_in, 0, Outcome.REJECTED, cap, unit, Reason.BOUND_BELOW_LOT, inputs)
    outcome = Outcome.LOWERED if q < q_in else Outcome.KEPT
    return StepResult(step, q_in, q, outcome, cap, unit if cap is not None else CapUnit.NONE, reason, inputs)


def robust_step(q_in: int, record: RobustRecord, enabled: bool) -> StepResult:
    """Step 5: lists the estimates; never changes q."""
    outcome = Outcome.KEPT if enabled else Outcome.DISABLED
    return StepResult(Step.ROBUST_INPUTS, q_in, q_in, outcome, None, CapUnit.NONE, PortfolioReason.ESTIMATES, record)


# ---- step 9 -----------------------------------------------------------------------------------------

def sharpe(daily_pnl: tuple[int, ...], min_days: int, floor: float) -> float:
    """max(mean / sample s.d., floor) of daily PnL (µ$); fewer than `min_days` days or s.d. 0 → floor."""
    if len(daily_pnl) < min_days:
        return floor
    sd = statistics.stdev(daily_pnl)
    if sd == 0:
        return floor
    return max(statistics.fmean(daily_pnl) / sd, floor)


def lane_bankroll(lane: Lane, portfolio: Portfolio, cfg: SizingConfig) -> LaneAllocatorInputs:
    """B_l = w_l × E, w_l ∝ max(Sharpe_l, sharpe_floor) over the enabled lanes (in `lanes` order).
    A lane not in `lanes` — every lane when `lanes` is empty — has w_l = 0 (step 9 rejects it)."""
    la = cfg.lane_allocator
    scores = []
    for name in dict.fromkeys(la.lanes):
        other = Lane.parse(name)
        window = portfolio.lane_pnl.get(other, ())[-la.window_days:]
        scores.append((other, sharpe(window, la.min_days, la.sharpe_floor)))
    total = sum(s for _, s in scores)          # > 0 unless `lanes` is empty (sharpe_floor > 0)
    share = next((s for other, s in scores if other is lane), 0.0)
    weight = share / total if share > 0.0 else 0.0
    return LaneAllocatorInputs(lane, tuple(scores), weight, portfolio.equity, weight * (portfolio.equity / 1e6))


def lane_allocator(q_in: int, lot: int, capital: Amount, inputs: LaneAllocatorInputs, cfg: SizingConfig) -> StepResult:
    """Step 9: dollar bound B_l on the trade's capital n × K; a lane not in `lanes` rejects."""
    enabled = cfg.lane_allocator.enabled
    if inputs.weight == 0.0:
        return _result(Step.LANE_ALLOCATOR, q_in, 0, enabled, None, CapUnit.NONE, PortfolioReason.LANE_OFF, inputs,
                       reject=PortfolioReason.LANE_OFF)
    q = dollar_bound(q_in, lot, bound_micros(inputs.bankroll), capital) if enabled else q_in
    return _result(Step.LANE_ALLOCATOR, q_in, q, enabled, inputs.bankroll, CapUnit.DOLLARS, Reason.NONE, inputs)


# ---- step 10 ----------------------------------------------------------------------------------------

def loss_budget(confidence: float, portfolio: Portfolio, cfg: SizingConfig, daily_loss_cap_usd: float
                ) -> tuple[float, float]:
    """(budget, left) in $: budget = min(loss_budget_usd × c^gamma, left), left = the daily loss cap −
    today's realised loss − the budgets in flight, floored at 0 (exact µ$, then one division)."""
    lc = cfg.loss_cap
    left_micros = bound_micros(daily_loss_cap_usd) - portfolio.realised_loss_today - portfolio.inflight_budgets
    left = max(left_micros, 0) / 1e6
    return min(lc.loss_budget_usd * confidence ** lc.gamma, left), left


def loss_cap(q_in: int, lot: int, capital: Amount, confidence: float, var: float, budget: float, left: float,
             cfg: SizingConfig) -> StepResult:
    """Step 10: the largest q with n × W(q) ≤ budget, W(q) = (1 − c) × K(q) + c × max(VaR, 0);
    in µ$: (1 − c) × capital(q) + c × max(VaR, 0) × q × 10^4 (q lots = q / 100 contracts)."""
    enabled = cfg.loss_cap.enabled
    tail = confidence * max(var, 0.0)

    def amount(q: int) -> float:
        return (1.0 - confidence) * capital(q) + tail * (q * 10_000)

    k = capital(q_in) / (q_in / 100) / 1e6
    w = (1.0 - confidence) * k + tail
    inputs = LossCapInputs(confidence, left, budget, var, k, w)
    if not budget > 0.0:
        return _result(Step.LOSS_CAP, q_in, 0, enabled, budget, CapUnit.DOLLARS, Reason.NONE, inputs,
                       reject=PortfolioReason.BUDGET_ZERO)
    if w == 0.0:
        return _result(Step.LOSS_CAP, q_in, q_in, enabled, None, CapUnit.NONE, PortfolioReason.NO_LOSS, inputs)
    q = dollar_bound(q_in, lot, bound_micros(budget), amount) if enabled else q_in
    return _result(Step.LOSS_CAP, q_in, q, enabled, budget, CapUnit.DOLLARS, Reason.NONE, inputs)


# ---- step 11 ----------------------------------------------------------------------------------------

def _limit(usd: float | None) -> int | None:
    return None if usd is None else bound_micros(usd)


def exposure_scopes(venues: list[Venue], trade_legs, portfolio: Portfolio, cfg: SizingConfig
                    ) -> list[tuple[str, str, int, tuple[int, ...]]]:
    """Step 11's scopes for legs on `venues` with `trade_legs` (market, event, category): (scope,
    name, room µ$, the leg indices in it), venues, markets, events, categories in order of first
    appearance; a scope with no limit (and, for a venue, no cash) is left out."""
    return [(scope, key, room, members)
            for scope, key, room, members, _ in scope_rooms(scope_groups(venues, trade_legs), portfolio, cfg)]


def scope_groups(venues, trade_legs) -> tuple[tuple[str, object, tuple[int, ...], int], ...]:
    """Every scope the legs fall in, whatever the limits: (scope, key, the leg indices in it, their
    int64 mask: bit j = leg j), venues, then markets, events, categories, each in order of first
    appearance (a leg without an event / category is in no such scope). Fixed for a leg set: the
    sizer keeps it across portfolio refreshes."""
    groups = [("venue", v, members) for v, members in _groups(venues).items()]
    for scope in ("market", "event", "category"):
        keys = [getattr(leg, scope) for leg in trade_legs]
        groups.extend((scope, key, members) for key, members in _groups(keys).items())
    return tuple((scope, key, members, sum(1 << j for j in members) - (1 << 64 if 63 in members else 0))
                 for scope, key, members in groups)


def scope_limits(cfg: SizingConfig) -> dict[str, int | None]:
    """Step 11's maximum per scope kind, µ$ (None: no maximum)."""
    em = cfg.exposure_manager
    return {"venue": _limit(em.max_venue_usd), "market": _limit(em.max_market_usd), "event": _limit(em.max_event_usd),
            "category": _limit(em.max_category_usd)}


def scope_rooms(groups, portfolio: Portfolio, cfg: SizingConfig, limits: dict[str, int | None] | None = None
                ) -> list[tuple[str, str, int, tuple[int, ...], int]]:
    """Step 11's scopes of `groups` (`scope_groups`) with their room in µ$: (scope, name, room,
    members, mask). Per venue min(cash − inflight, max_venue − held − inflight); per market, event,
    category max − held − inflight, the scopes of a kind with no maximum left out. `limits`:
    `scope_limits(cfg)`, when the caller keeps it. (Run for a plan of a newly found opportunity,
    cold: written without closures or generators.)"""
    if limits is None:
        limits = scope_limits(cfg)
    venue_limit = limits["venue"]
    tables = {"market": portfolio.markets, "event": portfolio.events, "category": portfolio.categories}
    scopes = []
    for scope, key, members, mask in groups:
        if scope == "venue":
            exposure = portfolio.venues.get(key, _NONE)
            room = portfolio.cash.get(key, 0) - exposure.inflight
            if venue_limit is not None:
                room = min(venue_limit - exposure.held - exposure.inflight, room)
            scopes.append((scope, key.label, room, members, mask))
            continue
        limit = limits[scope]
        if limit is not None:
            exposure = tables[scope].get(key, _NONE)
            scopes.append((scope, key, limit - exposure.held - exposure.inflight, members, mask))
    return scopes


_NONE = Exposure()                   # nothing held or in flight


def _groups(keys) -> dict:
    """key → the indices where it occurs (a tuple), keys in order of first appearance; None left out."""
    found: dict = {}
    for j, key in enumerate(keys):
        if key is not None:
            if key in found:
                found[key] += (j,)
            else:
                found[key] = (j,)
    return found


def exposure_manager(q_in: int, lot: int, leg_capital: Callable[[int], tuple[int, ...]], trade: Trade,
                     portfolio: Portfolio, cfg: SizingConfig) -> StepResult:
    """Step 11: per venue room = min(cash − inflight, max_venue − held − inflight); per market,
    event, category room = max − held − inflight (a market without an event / category is not
    limited there; an absent maximum is no limit). Each room is a dollar bound on the capital of the
    trade's legs in that scope; the smallest q wins (ties: the smaller room is shown); room ≤ 0
    rejects. `leg_capital(q)` gives each leg's cost + fee in µ$ at q lots."""
    em = cfg.exposure_manager
    scopes = exposure_scopes([leg.venue for leg in trade.input.legs], trade.legs, portfolio, cfg)
    rooms = []
    for scope, name, room, members in scopes:
        if room <= 0:
            q = 0
        else:
            q = dollar_bound(q_in, lot, room, lambda x, members=members: sum(leg_capital(x)[j] for j in members))
        rooms.append(Room(scope, name, room, q))
    inputs = ExposureInputs(tuple(rooms))
    if not rooms:
        return _result(Step.EXPOSURE_MANAGER, q_in, q_in, em.enabled, None, CapUnit.NONE, PortfolioReason.NO_LIMIT,
                       inputs)
    binding = min(rooms, key=lambda r: (r.qty, r.room))
    cap = binding.room / 1e6
    if binding.room <= 0:
        return _result(Step.EXPOSURE_MANAGER, q_in, 0, em.enabled, cap, CapUnit.DOLLARS, Reason.NONE, inputs,
                       reject=PortfolioReason.NO_ROOM)
    return _result(Step.EXPOSURE_MANAGER, q_in, binding.qty, em.enabled, cap, CapUnit.DOLLARS, Reason.NONE, inputs)


# ---- step 12 ----------------------------------------------------------------------------------------

def drawdown_inputs(portfolio: Portfolio, cfg: SizingConfig) -> DrawdownInputs:
    """Step 12's tier and multiplier for `portfolio` (normal × 1, caution × caution_multiplier,
    stop × 0)."""
    dm = cfg.drawdown_manager
    pct = portfolio.drawdown_pct
    level = tier(portfolio.peak, portfolio.equity, portfolio.drawdown_stopped, dm.caution_pct, dm.halt_pct)
    multiplier = {CAUTION: dm.caution_multiplier, STOP: 0.0}.get(level, 1.0)
    return DrawdownInputs(portfolio.peak, portfolio.equity, pct, level, multiplier)


def drawdown_manager(q_in: int, lot: int, portfolio: Portfolio, cfg: SizingConfig) -> StepResult:
    """Step 12: normal × 1 (no cap); caution: q = floor_lot(q_in × caution_multiplier) (cap in
    contracts); stop (drawdown ≥ halt_pct or a latched stop): reject."""
    dm = cfg.drawdown_manager
    inputs = drawdown_inputs(portfolio, cfg)
    level, multiplier = inputs.tier, inputs.multiplier
    if level == STOP:
        return _result(Step.DRAWDOWN_MANAGER, q_in, 0, dm.enabled, None, CapUnit.NONE, PortfolioReason.DRAWDOWN_STOP,
                       inputs, reject=PortfolioReason.DRAWDOWN_STOP)
    if level == CAUTION:
        cap = (q_in / 100) * multiplier
        q = floor_lot(cap, q_in, lot)
        reject = Reason.CAP_BELOW_LOT if q == 0 else None
        return _result(Step.DRAWDOWN_MANAGER, q_in, q, dm.enabled, cap, CapUnit.CONTRACTS, PortfolioReason.CAUTION,
                       inputs, reject=reject)
    return _result(Step.DRAWDOWN_MANAGER, q_in, q_in, dm.enabled, None, CapUnit.NONE, PortfolioReason.NORMAL, inputs)


def skipped(step: Step) -> StepResult:
    """A step after a reject: qty 0, nothing computed."""
    return StepResult(step, 0, 0, Outcome.SKIPPED, None, CapUnit.NONE, Reason.REJECTED_EARLIER, None)
