"""Step 8's legging-risk simulation, per contract (SIZING.md step 8), reproducible bit-for-bit.

Floating-point order (the Swift twin follows it literally; `fee(p) = (r × p) × (1 − p) + c` with
r = ppm / 1e6 and c = µ$ / 1e6, both divided once up front):
- per later batch b (send order, batch 1 excluded): `f_b`, `t_b`, `s_b` = the largest `price_vol`
  among its legs, `drift_t = drift × t_b`, `vol_t = s_b × sqrt(t_b)`;
  threshold = `max_requote × 0.0001`; TWO_PI = `2.0 × π`;
- per leg: `p̄ = cost / n / 1e6`, `e = fee / n / 1e6` (fee with step 3's extras when enabled),
  `bid = best_bid / 10000`;
- per path (outer loop), `pnl = g`; per later batch: `u`, `u1`, `u2` = three uniforms, drawn even
  after the path has unwound (a fixed 3 × batches draws per path), then
  `z = sqrt(−2 × log(1 − u1)) × cos(TWO_PI × u2)`, `ΔP = drift_t + vol_t × z`;
  `u < f_b` → the batch fills as quoted; else the path missed, and if `ΔP ≤ threshold` each leg j
  of the batch (leg order) fills at `x = min(max(p̄_j + ΔP, 0), 1)`: `d += (x + fee_j(x)) − (p̄_j +
  e_j)` from d = 0, then `pnl = pnl − d`; else the path unwinds: `pnl = Σ` over every leg filled so
  far, in leg order, from 0, of `((x_j − fee_j(x_j)) − p̄_j) − e_j` with `x_j = max(bid_j − ΔP, 0)`,
  and no later batch of the path trades;
- mean = Σ pnl (path order) / N; P(loss) = #(pnl < 0) / N; pnls sorted ascending (stable);
  `k = max(1, floor(N × (1 − level) + 1e-9))`; CVaR = −(Σ of the first k, ascending order) / k;
  VaR = −sorted[k − 1]; L_leg = Σ max(0, −pnl) over missed paths (path order) / their count.
"""
from __future__ import annotations

import math

from arbbot.sizing.pricing import EPS, Batch
from arbbot.sizing.rng import SplitMix64
from arbbot.sizing.types import MonteCarloResult, Priced, SizingInput, SizingParams

TWO_PI = 2.0 * math.pi
REQUOTE_TICK = 0.0001


def tail_count(paths: int, level: float) -> int:
    return max(1, math.floor(paths * (1.0 - level) + EPS))


def simulate(inp: SizingInput, params: SizingParams, priced: Priced, groups: tuple[Batch, ...],
             fill_by_batch: tuple[float, ...], seed: int) -> MonteCarloResult:
    """`priced` at step 8's q_in; `groups` all batches (send order); `fill_by_batch[b]` = f of the
    venue of later batch b (groups[b + 1])."""
    n = priced.qty / 100
    g = priced.profit / n / 1e6
    avg = [c / n / 1e6 for c in priced.leg_cost]
    efee = [f / n / 1e6 for f in priced.leg_fee]
    bid = [leg.best_bid / 10000 for leg in inp.legs]
    rate = [leg.fees.taker_rate_ppm / 1e6 for leg in inp.legs]
    comm = [leg.fees.per_contract / 1e6 for leg in inp.legs]
    later = groups[1:]
    drift_t = [params.drift * b.time for b in later]
    vol_t = [max(inp.legs[j].price_vol for j in b.legs) * math.sqrt(b.time) for b in later]
    threshold = params.max_requote * REQUOTE_TICK
    first = groups[0].legs
    rng = SplitMix64(seed)
    pnls: list[float] = []
    missed_losses: list[float] = []
    for _ in range(params.paths):
        pnl = g
        filled = list(first)
        unwound = missed = False
        for b, batch in enumerate(later):
            u = rng.uniform()
            u1 = rng.uniform()
            u2 = rng.uniform()
            if unwound:
                continue
            z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(TWO_PI * u2)
            dp = drift_t[b] + vol_t[b] * z
            if u < fill_by_batch[b]:
                filled.extend(batch.legs)
                continue
            missed = True
            if dp <= threshold:
                d = 0.0
                for j in batch.legs:
                    x = min(max(avg[j] + dp, 0.0), 1.0)
                    d += (x + (rate[j] * x * (1.0 - x) + comm[j])) - (avg[j] + efee[j])
                pnl = pnl - d
                filled.extend(batch.legs)
            else:
                total = 0.0
                for j in sorted(filled):
                    x = max(bid[j] - dp, 0.0)
                    total += ((x - (rate[j] * x * (1.0 - x) + comm[j])) - avg[j]) - efee[j]
                pnl = total
                unwound = True
        pnls.append(pnl)
        if missed:
            missed_losses.append(max(0.0, -pnl))
    count = len(pnls)
    mean = _sum(pnls) / count
    p_loss = sum(1 for p in pnls if p < 0.0) / count
    ordered = sorted(pnls)
    k_c = tail_count(count, params.cvar_level)
    cvar = -(_sum(ordered[:k_c]) / k_c)
    var = -ordered[tail_count(count, params.var_level) - 1]
    l_leg = _sum(missed_losses) / len(missed_losses) if missed_losses else 0.0
    return MonteCarloResult(count, seed, mean, p_loss, cvar, var, l_leg, len(missed_losses))


def _sum(values) -> float:
    """Left-to-right double sum (not math.fsum: the Swift twin adds in order)."""
    total = 0.0
    for v in values:
        total += v
    return total
