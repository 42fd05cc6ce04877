"""A sized trade as the `arbbot.sizing/1` record (SIZING.md "Explain"): the per-opportunity object
`arbbot explain --json` prints and the order store keeps with each execution.

Quantities are shortest decimal contracts, money 6 decimals, a contract cap the shortest decimal of
the double rounded to 6 places, a dollar cap X with 6 decimals (X rounded; the bound compared is
`floor(X × 10^6 + 1e-9)` µ$). `note` is free text built from the step's inputs.
"""
from __future__ import annotations

import math
from decimal import Decimal

from arbbot.sizing.pipeline import TradeSizing
from arbbot.sizing.portfolio_steps import (
    DrawdownInputs, ExposureInputs, LaneAllocatorInputs, LossCapInputs, PortfolioReason, RobustRecord,
)
from arbbot.sizing.types import (
    CapitalLockInputs, CapUnit, ExecutionModelInputs, FeeModelInputs, FillModelInputs, KellyInputs,
    LiquidityImpactInputs, MonteCarloInputs, Outcome, Reason, StepResult,
)
from arbbot.units import format_money, format_qty

FORMAT = "arbbot.sizing/1"


def shortest6(x: float) -> str:
    """The shortest decimal of `x` rounded to 6 places, no exponent, no trailing zeros ("48.77", "12")."""
    d = Decimal(repr(round(x, 6))).normalize()
    text = format(d, "f")
    return "0" if text in ("-0", "0") else text


def cap_text(step: StepResult) -> str | None:
    """The `cap` of a step, None when it has none (or it is NaN)."""
    if step.cap is None or step.cap_unit is CapUnit.NONE or math.isnan(step.cap):
        return None
    if step.cap_unit is CapUnit.DOLLARS:
        return f"{step.cap:.6f}"
    return shortest6(step.cap)


def _g(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if math.isinf(x) else shortest6(x))


def _inputs_text(inputs) -> str:
    """The inputs a step used, in a line a trader can read."""
    if isinstance(inputs, RobustRecord):
        lat = ", ".join(f"{v.label} {_g(e.value)} s{' (prior)' if e.prior else ''}" for v, e in inputs.latency)
        rho = ", ".join(f"{_g(e.value)}{' (prior)' if e.prior else ''}" for e in inputs.depletion)
        vol = ", ".join(f"{m} {_g(e.value)}{' (prior)' if e.prior else ''}" for m, e in inputs.volatility)
        fills = ", ".join(f"{v.label} {f}/{a}" for v, f, a in inputs.fills)
        return f"latency {lat}; rho per leg {rho} /s; vol {vol} $/sqrt(s); fills {fills}"
    if isinstance(inputs, ExecutionModelInputs):
        return "D x exp(-rho t) per leg: " + ", ".join(
            f"{_g(d)} x exp(-{_g(r)} x {_g(t)}) = {_g(x)}" for d, r, t, x in
            zip(inputs.depth, inputs.rate, inputs.time, inputs.left))
    if isinstance(inputs, FillModelInputs):
        return f"f = {_g(inputs.f)} over later batches [{', '.join(_g(f) for f in inputs.batch_fill)}]"
    if isinstance(inputs, FeeModelInputs):
        p = inputs.priced
        return (f"profit {format_money(p.profit)} after fees {format_money(p.fee)} (min_profit "
                f"{format_money(inputs.min_profit)}); leg costs {', '.join(format_money(c) for c in p.leg_cost)}")
    if isinstance(inputs, LiquidityImpactInputs):
        return (f"g {_g(inputs.g)}; later legs {[j + 1 for j in inputs.later_legs]}, half-spreads "
                f"{[_g(a) for a in inputs.half_spread]}, caps {[_g(c) for c in inputs.leg_cap]}")
    if isinstance(inputs, CapitalLockInputs):
        return (f"T {_g(inputs.days)} days, r {_g(inputs.regime)}, g {_g(inputs.g)}, K {_g(inputs.k)}, "
                f"annual return {_g(inputs.annual_return)}")
    if isinstance(inputs, MonteCarloInputs):
        r = inputs.result
        return (f"{r.paths} paths: mean {_g(r.mean)}, P(loss) {_g(r.p_loss)}, CVaR {_g(r.cvar)}, VaR {_g(r.var)}, "
                f"L_leg {_g(r.l_leg)}; budget {_g(inputs.budget)}")
    if isinstance(inputs, KellyInputs):
        return (f"c {_g(inputs.confidence)}, f {_g(inputs.fill)}, pi {_g(inputs.pi)}, L {_g(inputs.loss)}, "
                f"sigma {_g(inputs.sigma)}, kelly {_g(inputs.kelly)}, shrunk {_g(inputs.shrunk)}, "
                f"E {format_money(inputs.equity)}")
    if isinstance(inputs, LaneAllocatorInputs):
        return (f"lane {inputs.lane.label}: w {_g(inputs.weight)} of E {format_money(inputs.equity)} "
                f"(Sharpe {', '.join(f'{lane.label} {_g(s)}' for lane, s in inputs.sharpe)})")
    if isinstance(inputs, LossCapInputs):
        return (f"budget {_g(inputs.budget)} (left {_g(inputs.left)}), c {_g(inputs.confidence)}, "
                f"VaR {_g(inputs.var)}, K {_g(inputs.k)}, W {_g(inputs.w)}")
    if isinstance(inputs, ExposureInputs):
        return "room " + ", ".join(f"{r.scope} {r.name} {format_money(r.room)}" for r in inputs.rooms)
    if isinstance(inputs, DrawdownInputs):
        return (f"{inputs.tier}: drawdown {_g(inputs.drawdown_pct)}% of peak {format_money(inputs.peak)} "
                f"(E {format_money(inputs.equity)}), x {_g(inputs.multiplier)}")
    return ""


def step_note(step: StepResult, rejected_by: str | None) -> str:
    """The free-text note: exactly "disabled" or "skipped: rejected by <step>" (SIZING.md), else the
    outcome, the reason, and the inputs used."""
    if step.outcome is Outcome.SKIPPED:
        return f"skipped: rejected by {rejected_by}"
    if step.outcome is Outcome.DISABLED:
        return "disabled"
    head = {Outcome.REJECTED: "rejected", Outcome.LOWERED: "lowered", Outcome.KEPT: "kept"}[step.outcome]
    if step.reason not in (Reason.NONE, PortfolioReason.ESTIMATES, PortfolioReason.NORMAL, PortfolioReason.CAUTION):
        head += f" ({step.reason.label.replace('_', ' ')})"
    text = _inputs_text(step.inputs)
    return f"{head}: {text}" if text else head


def trade_record(sizing: TradeSizing) -> dict:
    """The per-opportunity `arbbot.sizing/1` object (keys in the spec's order)."""
    rejected_by = next((s.step.label for s in sizing.steps if s.outcome is Outcome.REJECTED), None)
    steps = []
    for s in sizing.steps:
        entry = {"step": s.step.label, "qty": format_qty(s.qty)}
        cap = None if s.outcome in (Outcome.SKIPPED, Outcome.DISABLED) else cap_text(s)
        if cap is not None:
            entry["cap"] = cap
        entry["note"] = step_note(s, rejected_by)
        steps.append(entry)
    out = {"id": sizing.id, "lane": sizing.lane.label, "engine_qty": format_qty(sizing.engine_qty),
           "final_qty": format_qty(sizing.qty), "profit": format_money(sizing.profit), "bound_by": sizing.bound_by}
    if sizing.note:
        out["note"] = sizing.note
    out["steps"] = steps
    return out


def document(records: list[dict]) -> dict:
    return {"format": FORMAT, "opportunities": records}
