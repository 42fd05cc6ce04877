"""A found opportunity sized whole on the Swift engine's own books: the per-opportunity chain,
steps 9–12 and the final re-price in one native call (`Engine.size_legs` with the portfolio's
limits: `arb_engine_sizing_legs`, then `arb_size_portfolio`). No leg's book is decomposed in
Python and no ladder crosses the boundary.

What changes only with the portfolio — step 5's estimates, the lane's bankroll (step 9), step
10's budget, the exposure rooms (step 11), the drawdown tier (step 12), the packed limits — is
computed once per opportunity per portfolio refresh (`Plan`, kept in the sizer's memo); what
never changes — the legs' market indices, venues, events, categories, close times and exposure
scopes — once per leg set (`LegSet`, kept by the sizer across refreshes). The twelve step
records are built only when read (`TradeSizing.steps`), from the engine's records and the plan.
Twin: `pipeline.size_trade` with the Python chain input and portfolio steps; every
step record, the decision and the re-priced trade are equal (tests/run/test_sizer_engine.py).
"""
from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass
from itertools import chain
from typing import Callable

from arbbot.engine.select import native_module
from arbbot.engine.types import EngineInputError, Lane, Opportunity, Status
from arbbot.model import Venue
from arbbot.sizing import native
from arbbot.sizing.clock import latest_close
from arbbot.sizing.config import SizingConfig
from arbbot.sizing.pipeline import TradeSizing, finish, leg_estimates, memo_budget
from arbbot.sizing.portfolio import CAUTION, STOP, Portfolio
from arbbot.sizing.portfolio_steps import (
    DrawdownInputs, ExposureInputs, LaneAllocatorInputs, LossCapInputs, PortfolioReason, RobustRecord, Room,
    drawdown_inputs, lane_bankroll, robust_step, scope_groups, scope_limits, scope_rooms,
)
from arbbot.sizing.trade import TradeLeg
from arbbot.sizing.types import (
    CapUnit, Outcome, Priced, Reason, SizingInput, SizingParams, Step, StepResult,
)

LEGS_MAX = 64                 # ARB_PORTFOLIO_LEGS_MAX: a scope's legs are a 64-bit mask
LIMITS = struct.Struct("<Iiddd" + "q" + "QQ")                    # arb_portfolio_limits
RESULT = struct.Struct("<" + native.STEP_FORMAT * 4 + "dd" + "q" * 6)   # arb_portfolio_result
_STEPS = (Step.LANE_ALLOCATOR, Step.LOSS_CAP, Step.EXPOSURE_MANAGER, Step.DRAWDOWN_MANAGER)
_TIERS = {CAUTION: 1, STOP: 2}            # ARB_DRAWDOWN_*; normal = 0
_OUTCOMES, _UNITS = tuple(Outcome), tuple(CapUnit)
_SKIPPED = int(Outcome.SKIPPED)
# the arb_sizing_input fields a sizing writes into its plan's record (native.INPUT "<QqqQqQqdd…":
# seed, then payout and qty; days_to_close and min_profit after first_leg, n_legs, the two level
# fields and c)
_PAYOUT_AT, _PAYOUT_QTY = struct.calcsize(native.INPUT.format[:2]), struct.Struct("<qq")
_DAYS_AT, _DAYS_MIN_PROFIT = struct.calcsize(native.INPUT.format[:9]), struct.Struct("<dq")
_checked = False


def _check_layout() -> None:
    global _checked
    mod = native_module()
    for packer, size in ((LIMITS, mod.PORTFOLIO_LIMITS_SIZE), (RESULT, mod.PORTFOLIO_RESULT_SIZE)):
        if packer.size != size:
            raise RuntimeError(f"arbbot._native portfolio record of {size} bytes, on_engine.py packs {packer.size}: "
                               "rebuild the engine (pip install -e .)")
    _checked = True


@dataclass(frozen=True, slots=True)
class LegSet:
    """What a plan reads of an opportunity's legs that never changes (the sizer keeps it across
    portfolio refreshes, per opportunity id)."""
    pairs: array                          # int32: (market index, side) per leg, send order
    trade_legs: tuple[TradeLeg, ...]
    closes: tuple                         # per leg: closes_at stamp or None
    venues: tuple[Venue, ...]             # per leg
    groups: tuple                         # every exposure scope of the legs (`scope_groups`)
    latest_close: tuple                   # `clock.latest_close(closes)`: (unix second | None, valid)


def leg_set(legs, index: dict[str, int], infos: dict, shared: dict | None = None) -> LegSet:
    """The LegSet of `legs`, (market name, Side) pairs in send order. `shared`: a dict kept with
    the LegSets, through which their equal parts (a market side's TradeLeg, the venues, closes
    and scope tuples) are one object: a 20,000-market session keeps tens of thousands of LegSets.
    KeyError for a market the session does not know."""
    share = {} if shared is None else shared
    pairs, trade_legs, closes, venues = array("i"), [], [], []
    for market, side in legs:
        info = infos[market]
        pairs.append(index[market])
        pairs.append(int(side))
        leg = share.get((market, side))
        if leg is None:
            leg = share[(market, side)] = TradeLeg(market, side, info.event_id or None, info.category or None)
        trade_legs.append(leg)
        closes.append(info.closes_at or None)
        venues.append(info.venue)
    venues_t, closes_t = tuple(venues), tuple(closes)
    groups = tuple([share.setdefault(g, g) for g in scope_groups(venues, trade_legs)])
    latest = latest_close(closes_t)
    return LegSet(pairs, tuple(trade_legs), share.setdefault(closes_t, closes_t), share.setdefault(venues_t, venues_t),
                  groups, share.setdefault(latest, latest))


@dataclass(frozen=True, slots=True)
class Plan:
    """One opportunity's sizing inputs that change only with the portfolio (or never: `legs`)."""
    legs: LegSet
    estimates: array                      # float64: (ρ, s) per leg (step 5)
    robust: Callable[..., RobustRecord]   # step 5's record from the legs' venues
    lane_inputs: LaneAllocatorInputs      # step 9
    budget: float                         # step 10's budget, $
    left: float                           # $ left of the daily loss cap
    drawdown: DrawdownInputs              # step 12
    scopes: tuple[tuple[str, str, int], ...]   # step 11: (scope, name, room µ$)
    limits: bytes                         # arb_portfolio_limits (scope pointers filled by the glue)
    rooms: array                          # int64 per scope
    masks: array                          # int64 per scope: the legs in it, bit j = leg j
    head: bytes                           # arb_sizing_input: E, the budget, the venues' stats; payout, qty,
                                          # T and min_profit written per sizing


def plan(opp: Opportunity, legs: LegSet, confidence: float, portfolio: Portfolio, cfg: SizingConfig, *,
         now_s: float, daily_loss_cap_usd: float, memo: dict) -> Plan:
    """`opp`'s plan (its legs: `legs`) against `portfolio` (`memo`: the refresh's estimates, shared
    with the Python path)."""
    values, venue_stats, robust = leg_estimates(legs.trade_legs, portfolio.history, now_s, cfg, memo)
    budget, left = memo_budget(confidence, portfolio, cfg, daily_loss_cap_usd, memo)
    lane, drawdown, head = _limits_of(opp.lane, portfolio, cfg, memo)
    maxima = memo.get("scope_limits")
    if maxima is None:
        maxima = memo["scope_limits"] = scope_limits(cfg)
    scopes = scope_rooms(legs.groups, portfolio, cfg, maxima)
    limits = LIMITS.pack(*head, len(scopes), 0, 0)
    inp = native.pack_head(SizingInput(opp.id, 0, 0, (), confidence, 0.0, 0, portfolio.equity, budget, venue_stats),
                           len(legs.venues))
    return Plan(legs, array("d", chain.from_iterable(values)), robust, lane, budget, left,
                drawdown, tuple([(s, n, r) for s, n, r, _, _ in scopes]), limits,
                array("q", [r for _, _, r, _, _ in scopes]), array("q", [m for *_, m in scopes]), inp)


def prime(memo: dict, portfolio: Portfolio, cfg: SizingConfig, *, now_s: float, confidences,
          daily_loss_cap_usd: float) -> None:
    """Fill `memo` (a refresh's, empty) with what every plan reads of `portfolio` and nothing of
    an opportunity: the venues' latency estimates and stats (step 5), every lane's bankroll and
    limits (steps 9 and 12), step 11's maximum per scope kind, and step 10's budget for each
    confidence in `confidences` (those of the opportunities seen so far). A refresh runs after an
    execution, not in the frame that finds an opportunity, so that frame no longer computes them
    (cold, ≈ 140 µs of a plan in a 20-second `arbbot run`); the values are the ones the first plan
    would compute (the latency samples change only when the trader flushes them, just before a
    refresh)."""
    leg_estimates((), portfolio.history, now_s, cfg, memo)
    memo["scope_limits"] = scope_limits(cfg)
    for lane in Lane:
        _limits_of(lane, portfolio, cfg, memo)
    for confidence in confidences:
        memo_budget(confidence, portfolio, cfg, daily_loss_cap_usd, memo)


def _limits_of(lane: Lane, portfolio: Portfolio, cfg: SizingConfig, memo: dict
               ) -> tuple[LaneAllocatorInputs, DrawdownInputs, tuple]:
    """`_lane_limits`, memoised."""
    found = memo.get(("limits", lane))
    if found is None:
        found = memo[("limits", lane)] = _lane_limits(lane, portfolio, cfg, memo)
    return found


def _lane_limits(lane: Lane, portfolio: Portfolio, cfg: SizingConfig, memo: dict
                 ) -> tuple[LaneAllocatorInputs, DrawdownInputs, tuple]:
    """The lane's step 9 inputs, step 12's, and arb_portfolio_limits' fields before the scopes
    (the same for every opportunity of the lane until the portfolio changes)."""
    lane_inputs = memo.get(("lane", lane))              # shared with `size_trade`
    if lane_inputs is None:
        lane_inputs = memo[("lane", lane)] = lane_bankroll(lane, portfolio, cfg)
    drawdown = drawdown_inputs(portfolio, cfg)
    enabled = 0
    for step, on in ((Step.LANE_ALLOCATOR, cfg.lane_allocator.enabled), (Step.LOSS_CAP, cfg.loss_cap.enabled),
                     (Step.EXPOSURE_MANAGER, cfg.exposure_manager.enabled),
                     (Step.DRAWDOWN_MANAGER, cfg.drawdown_manager.enabled)):
        if on:
            enabled |= 1 << int(step)
    head = (enabled, _TIERS.get(drawdown.tier, 0), lane_inputs.weight, lane_inputs.bankroll, drawdown.multiplier)
    return lane_inputs, drawdown, head


def size(engine, opp: Opportunity, p: Plan, *, confidence: float, days: float, min_profit: int,
         params: SizingParams, robust_enabled: bool) -> TradeSizing:
    """`opp` sized on `engine`'s books (a Swift `arbbot.engine.Engine` that reported it) by the
    chain, steps 9–12 and the final re-price; the same TradeSizing as `pipeline.size_trade`.
    EngineInputError on an input the engine refuses (an empty ladder: LENGTH with the leg).

    A found frame runs this cold, where each Python object built costs several µs: the input
    record is the plan's with four fields written in place, and the chain's record is decoded
    only for its seven outcomes until the steps are read."""
    if not _checked:
        _check_layout()
    payout = opp.payout // (opp.qty * 10_000)          # $ per contract: µ$ / (lots × 10^4)
    head = bytearray(p.head)
    try:
        _PAYOUT_QTY.pack_into(head, _PAYOUT_AT, payout, opp.qty)
        _DAYS_MIN_PROFIT.pack_into(head, _DAYS_AT, days, min_profit)
    except (struct.error, OverflowError) as exc:
        raise EngineInputError(Status.ARGUMENT, f"a sizing input does not fit the engine's types: {exc}") from None
    try:
        rec, legs_out, port, scope_qty, leg_prices = engine.size_legs(
            p.legs.pairs, head, p.estimates, native.pack_params(params), p.limits, p.rooms, p.masks)
    except native_module().NativeError as exc:
        code, message, index = exc.args[:3]
        raise EngineInputError(Status(code), f"opportunity 0: {message}", index) from None
    r = RESULT.unpack(port)
    chain_outcomes = native.CHAIN_OUTCOMES.unpack_from(rec)
    outcomes = (Outcome.KEPT if robust_enabled else Outcome.DISABLED, *[_OUTCOMES[k] for k in chain_outcomes],
                _OUTCOMES[r[1]], _OUTCOMES[r[8]], _OUTCOMES[r[15]], _OUTCOMES[r[22]])
    qty, final_qty = r[30], r[31]
    priced = None
    if final_qty:
        prices = struct.unpack(f"<{3 * len(p.legs.venues)}q", leg_prices)
        priced = Priced(final_qty, prices[0::3], prices[1::3], prices[2::3], *r[32:36])

    def steps() -> list[StepResult]:
        result = native.LazyResult(rec, legs_out)
        bounds = struct.unpack(f"<{len(p.scopes)}q", scope_qty)
        inputs = (p.lane_inputs,
                  LossCapInputs(confidence, p.left, p.budget, result.monte_carlo.var if result.monte_carlo else 0.0,
                                r[28], r[29]),
                  ExposureInputs(tuple(Room(s, n, room, q) for (s, n, room), q in zip(p.scopes, bounds))),
                  p.drawdown)
        tail = [_step(r[7 * i:7 * i + 7], inputs[i]) for i in range(4)]
        return [robust_step(opp.qty, p.robust(p.legs.venues), robust_enabled), *result.steps, *tail]
    return finish(opp.lane, opp.id, opp.qty, steps, outcomes, qty, p.budget, lambda q: priced)


def _step(fields: tuple, inputs) -> StepResult:
    """One portfolio step's record from arb_sizing_step's fields (a SKIPPED one: no inputs)."""
    step, outcome, qty_in, qty, cap, unit, reason = fields
    why = Reason(reason) if reason < 100 else PortfolioReason(reason)
    return StepResult(Step(step), qty_in, qty, _OUTCOMES[outcome], None if unit == 0 else cap, _UNITS[unit], why,
                      None if outcome == _SKIPPED else inputs)
