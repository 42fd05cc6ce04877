"""The whole sizing pipeline (SIZING.md "Order"): 5 → 1, 2, 3, 6, 7, 8, 4 → 9 → 10 → 11 → 12, then
the final re-price.

    sizing = size_trade(trade, portfolio, cfg, now_s=time.time())
    sizing.qty            # lots to send (0 = do not trade)
    sizing.steps          # all twelve StepResults in computation order

Before the chain (they do not depend on q): the estimates (step 5), the lane bankroll (step 9) and
the loss budget (step 10), which the chain's Monte Carlo reads. The per-opportunity chain is a
parameter (`chain`, default the Python twin) so the Swift twin can be selected.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from arbbot.engine.types import Lane
from arbbot.model import Venue
from arbbot.sizing.config import SizingConfig
from arbbot.sizing.portfolio import Portfolio
from arbbot.sizing.portfolio_steps import (
    RobustRecord, drawdown_manager, exposure_manager, lane_allocator, lane_bankroll, loss_budget, loss_cap,
    robust_step, skipped,
)
from arbbot.sizing.pricing import lot_of, reprice
from arbbot.sizing.robust import History, RobustParams, depletion_rate, latency, price_volatility
from arbbot.sizing.steps import size_opportunity
from arbbot.sizing.trade import Trade
from arbbot.units import format_qty
from arbbot.sizing.types import (
    ORDER, Outcome, Priced, SizingInput, SizingParams, SizingResult, StepResult, VenueStats,
)

Chain = Callable[[SizingInput, SizingParams], SizingResult]
REPRICE = "re-price"
ENGINE = "engine"
MAX_STEP_DOWN = 1_000        # lots the final re-price may step down


@dataclass(frozen=True)
class TradeSizing:
    """The pipeline's answer for one trade. `qty` lots (0 = dropped / rejected); `profit` µ$ of the
    re-priced trade at `qty` (0 when dropped); `bound_by` the label of the last step that lowered
    the quantity, "engine" if none, "re-price" if the final re-price lowered or dropped it."""
    id: str
    lane: Lane
    engine_qty: int
    qty: int
    profit: int
    bound_by: str
    note: str
    steps: tuple[StepResult, ...]      # twelve, SIZING.md computation order
    priced: Priced | None              # the re-priced trade at `qty` (None when 0)
    loss_budget: float                 # step 10's budget, $ (what an in-flight trade reserves)


def with_estimates(trade: Trade, history: History, now_s: float, cfg: SizingConfig,
                   memo: dict | None = None) -> tuple[SizingInput, RobustRecord]:
    """Step 5: the trade's input with ρ per leg, s per leg (its market's), and venue stats
    (latency median — samples 0 when it is the prior, so `round_trip_s` is used — and raw fill
    counts); plus the record explain lists. `memo`: estimates already computed from this same
    `history` (a running bot keeps one per portfolio refresh, so each estimate is cleaned once
    per refresh, its window ending at the first opportunity sized after it)."""
    memo = {} if memo is None else memo

    def once(key, compute):
        found = memo.get(key)
        if found is None:
            found = memo[key] = compute()
        return found
    rp = once("params", lambda: RobustParams.from_config(cfg))
    legs, depletion, vol = [], [], {}
    for leg, meta in zip(trade.input.legs, trade.legs):
        rho = once(("rho", meta.market, meta.side),
                   lambda: depletion_rate(history, meta.market, meta.side, now_s, rp))
        if meta.market not in vol:
            vol[meta.market] = once(("vol", meta.market), lambda: price_volatility(history, meta.market, now_s, rp))
        legs.append(replace(leg, depletion_rate=rho.value, price_vol=vol[meta.market].value))
        depletion.append(rho)
    lat = {}
    venues = []
    for v in Venue:
        est = once(("latency", v), lambda: latency(history, v, now_s, rp))
        fills, attempts = history.fills.get(v, (0, 0))
        venues.append(VenueStats(fills, attempts, est.value, 0 if est.prior else est.samples))
        lat[v] = est
    used = tuple(dict.fromkeys(leg.venue for leg in trade.input.legs))
    record = RobustRecord(tuple((v, lat[v]) for v in used), tuple(depletion), tuple(vol.items()),
                          tuple((v, *history.fills.get(v, (0, 0))) for v in used))
    return replace(trade.input, legs=tuple(legs), venues=tuple(venues)), record


def _passes(inp: SizingInput, params: SizingParams, priced: Priced) -> bool:
    """The final re-price's test: profit ≥ min_profit and (fee_model on) every leg ≥ its venue minimum."""
    if priced.profit < inp.min_profit:
        return False
    return not params.fee_model or all(
        cost >= params.min_order[int(leg.venue)] for cost, leg in zip(priced.leg_cost, inp.legs))


def final_reprice(inp: SizingInput, params: SizingParams, qty: int) -> Priced | None:
    """The largest q ≤ qty, stepping down one lot at a time (at most 1,000 lots), whose re-priced
    trade passes `_passes`; None when there is none."""
    lot = lot_of(inp)
    for k in range(MAX_STEP_DOWN + 1):
        q = qty - k * lot
        if q <= 0:
            return None
        priced = reprice(inp, params, q)
        if _passes(inp, params, priced):
            return priced
    return None


def size_trade(trade: Trade, portfolio: Portfolio, cfg: SizingConfig, *, now_s: float,
               daily_loss_cap_usd: float = 50.0, chain: Chain = size_opportunity,
               params: SizingParams | None = None, memo: dict | None = None) -> TradeSizing:
    """Size one trade against `portfolio` (SIZING.md). `now_s`: the decision time in the samples'
    clock (seconds), for step 5's window; T is already in `trade.input`. `params`: `cfg.params()`,
    when the caller keeps it; `memo`: step 5's estimates of this portfolio's history
    (`with_estimates`). Raises EngineInputError on an input the chain refuses."""
    params = cfg.params() if params is None else params
    inp, record = with_estimates(trade, portfolio.history, now_s, cfg, memo)
    budget, left = loss_budget(inp.confidence, portfolio, cfg, daily_loss_cap_usd)
    if memo is None:
        lane = lane_bankroll(trade.lane, portfolio, cfg)
    else:                                    # the same for every trade of a lane until the portfolio changes
        lane = memo.get(("lane", trade.lane))
        if lane is None:
            lane = memo[("lane", trade.lane)] = lane_bankroll(trade.lane, portfolio, cfg)
    inp = replace(inp, equity=portfolio.equity, loss_budget=budget)
    steps: list[StepResult] = [robust_step(inp.qty, record, cfg.robust_inputs.enabled)]
    result = chain(inp, params)
    steps.extend(result.steps)
    q = result.qty
    if result.rejected_by is None:
        lot = lot_of(inp)

        repriced: dict[int, Priced] = {}     # q lots → the trade re-priced at q (steps 9–11 share them)

        def priced_at(x: int) -> Priced:
            found = repriced.get(x)
            if found is None:
                found = repriced[x] = reprice(inp, params, x)
            return found

        def capital(x: int) -> int:
            priced = priced_at(x)
            return priced.cost + priced.fee

        def leg_capital(x: int) -> tuple[int, ...]:
            priced = priced_at(x)
            return tuple(c + f for c, f in zip(priced.leg_cost, priced.leg_fee))

        portfolio_steps = (
            lambda q_in: lane_allocator(q_in, lot, capital, lane, cfg),
            lambda q_in: loss_cap(q_in, lot, capital, inp.confidence, result.monte_carlo.var, budget, left, cfg),
            lambda q_in: exposure_manager(q_in, lot, leg_capital, trade, portfolio, cfg),
            lambda q_in: drawdown_manager(q_in, lot, portfolio, cfg),
        )
        for run in portfolio_steps:
            if q == 0:
                steps.append(skipped(ORDER[len(steps)]))
                continue
            step = run(q)
            steps.append(step)
            q = step.qty
    else:
        steps.extend(skipped(s) for s in ORDER[len(steps):])
    return _finish(trade, inp, params, steps, q, budget)


def _finish(trade: Trade, inp: SizingInput, params: SizingParams, steps: list[StepResult], q: int,
            budget: float) -> TradeSizing:
    """The final re-price, bound_by and the note (empty unless a step rejected or the re-price acted)."""
    lowered = [s.step for s in steps if s.outcome in (Outcome.LOWERED, Outcome.REJECTED)]
    bound_by = lowered[-1].label if lowered else ENGINE
    rejected = next((s.step for s in steps if s.outcome is Outcome.REJECTED), None)
    if rejected is not None:
        return TradeSizing(inp.id, trade.lane, inp.qty, 0, 0, bound_by, f"rejected by {rejected.label}",
                           tuple(steps), None, budget)
    priced = final_reprice(inp, params, q)
    if priced is None:
        note = (f"re-price: no quantity from {format_qty(q)} contracts down by up to {MAX_STEP_DOWN:,} lots passes "
                f"min_profit and the venue minimums; dropped")
        return TradeSizing(inp.id, trade.lane, inp.qty, 0, 0, REPRICE, note, tuple(steps), None, budget)
    if priced.qty < q:
        note = f"re-price stepped down from {format_qty(q)} to {format_qty(priced.qty)} contracts"
        return TradeSizing(inp.id, trade.lane, inp.qty, priced.qty, priced.profit, REPRICE, note, tuple(steps),
                           priced, budget)
    return TradeSizing(inp.id, trade.lane, inp.qty, priced.qty, priced.profit, bound_by, "", tuple(steps), priced,
                       budget)


__all__ = ["Chain", "TradeSizing", "final_reprice", "size_trade", "with_estimates"]
