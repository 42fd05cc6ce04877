"""Evaluation: expected value, Kelly and Baker–McHale shrunk Kelly (spec "Evaluation").

The one floating-point computation; the operations run in exactly the spec's order so the
Swift engine and this twin agree (parity within 1e-12 relative, in practice identical).
"""
from __future__ import annotations

import math

from arbbot.engine.twin.validate import is_int
from arbbot.engine.types import INT64_MAX, INT64_MIN, EngineInputError, Evaluation, Status


def _unit(x: float, what: str) -> float:
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x) or not 0.0 <= x <= 1.0:
        raise EngineInputError(Status.FLOAT, f"{what} {x!r} must be a finite number in [0, 1]")
    return float(x)


def _nonnegative(x: float, what: str) -> float:
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x) or x < 0.0:
        raise EngineInputError(Status.FLOAT, f"{what} {x!r} must be a finite number ≥ 0")
    return float(x)


def check_inputs(qty: int, profit: int, cost: int, fee: int, confidence: float, fill_prob: float,
                 loss: float, sigma: float) -> tuple[float, float, float, float]:
    """The engine's checks, in its order: the amounts are int64 ints (ARGUMENT), qty > 0 and
    cost + fee > 0 (ARGUMENT), then the doubles (FLOAT). Returns (c, f, loss, sigma) as floats."""
    if not all(is_int(x) and INT64_MIN <= x <= INT64_MAX for x in (qty, profit, cost, fee)):
        raise EngineInputError(Status.ARGUMENT, "qty, profit, cost and fee must be ints in int64")
    if qty <= 0 or cost + fee <= 0:
        raise EngineInputError(Status.ARGUMENT, "evaluation needs qty > 0 and cost + fee > 0")
    return (_unit(confidence, "confidence"), _unit(fill_prob, "fill probability"), _nonnegative(loss, "loss"),
            _nonnegative(sigma, "sigma"))


def evaluate(qty: int, profit: int, cost: int, fee: int, confidence: float, fill_prob: float,
             loss: float, sigma: float) -> Evaluation:
    """qty in lots, profit/cost/fee in µ$; confidence c and fill probability f in [0, 1];
    loss L ≥ 0 in $ per contract if the hedge fails; sigma ≥ 0 the std. dev. of the estimate of
    the success probability π = c·f."""
    c, f, loss, sigma = check_inputs(qty, profit, cost, fee, confidence, fill_prob, loss, sigma)
    n = qty / 100                       # contracts
    g = profit / n / 1e6                # $ won per contract on success
    k = (cost + fee) / n / 1e6          # $ of capital per contract
    pi = c * f                          # success probability
    ev = pi * g - (1 - pi) * loss
    if g <= 0 or pi == 0:
        return Evaluation(ev, 0.0, 0.0)
    if loss == 0:
        return Evaluation(ev, 1.0, 1.0)     # nothing to lose: capital is the bound
    a = loss / k                        # fraction lost per dollar on failure
    b = g / k                           # fraction won per dollar on success
    if a == 0:                          # loss underflows against capital: the L = 0 limit
        return Evaluation(ev, 1.0, 1.0)
    if b == 0:                          # gain underflows: nothing to win
        return Evaluation(ev, 0.0, 0.0)
    k_raw = pi / a - (1 - pi) / b
    if not k_raw > 0:                   # also NaN
        return Evaluation(ev, 0.0, 0.0)
    if k_raw == math.inf:               # loss negligible against capital: the L = 0 limit
        return Evaluation(ev, 1.0, 1.0)
    kelly = min(k_raw, 1.0)
    inv = 1 / a + 1 / b
    if sigma == 0:
        shrink = 1.0                        # no estimation error: k²/k², exactly
    else:
        shrink = (k_raw * k_raw) / (k_raw * k_raw + (sigma * sigma) * (inv * inv))   # Baker & McHale (2013)
        if shrink != shrink:                # inf/inf from overflow: no confident estimate, bet nothing
            shrink = 0.0
    shrunk = min(max(shrink * k_raw, 0.0), 1.0)
    return Evaluation(ev, kelly, shrunk)
