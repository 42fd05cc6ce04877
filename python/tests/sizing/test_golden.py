"""Golden tests: a hand-computed worked example per step (SIZING.md steps 1, 2, 3, 6, 7, 8, 4).

Scenario A (scenarios.cross) at q0 = 5000 lots (50 contracts):
  leg 1 Kalshi YES 50 @ 0.45: cost 4500 × 5000 = 22,500,000 µ$;
      fee raw 70,000 × 5000 × 4500 × 5500 = 8.6625e15 → ceil(8.6625e15 / 1e14) = 87 × $0.01 = 870,000 µ$
  leg 2 Polymarket NO 30 @ 0.50 + 20 @ 0.51: 15,000,000 + 10,200,000 = 25,200,000 µ$, fee 0
  payout 50,000,000 → profit 50,000,000 − 47,700,000 − 870,000 = 1,430,000 µ$
  batches: Kalshi (leg 1) at t = 0.05 s; Polymarket (leg 2) at 0.05 + 0.15 = 0.20 s.
"""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from arbbot.model import Venue
from arbbot.sizing import (
    CapUnit, Outcome, Reason, SizingParams, Step, batches, reprice, simulate, size_opportunity,
)
from tests.sizing.scenarios import cross, parity, with_venue

P = SizingParams()


def step(result, which: Step):
    return next(s for s in result.steps if s.step is which)


def test_reprice_at_q0_matches_the_hand_arithmetic():
    priced = reprice(cross(), P, 5000)
    assert priced.leg_cost == (22_500_000, 25_200_000)
    assert priced.leg_fee == (870_000, 0)
    assert priced.worst == (4500, 5100)
    assert priced.profit == 1_430_000
    assert priced.g == pytest.approx(0.0286)        # 1.43 / 50
    assert priced.k == pytest.approx(0.9714)        # 48.57 / 50
    groups = batches(cross(), P)
    assert [(b.venue, b.legs) for b in groups] == [(Venue.KALSHI, (0,)), (Venue.POLYMARKET, (1,))]
    assert [b.time for b in groups] == [0.05, 0.05 + 0.15]


def test_step1_execution_model_caps_by_decayed_depth():
    # D_1 = 50 contracts at ≤ 0.45 → 50 × exp(−0.5 × 0.05) = 48.7654956
    # D_2 = 130 contracts at ≤ 0.51 → 130 × exp(−0.5 × 0.20) = 117.6290
    # cap = 48.765 → lot 1 contract (largest of 1 and 0.01) → floor(48.765 + 1e-9) = 48 → 4800 lots
    r = size_opportunity(cross(), P)
    s = step(r, Step.EXECUTION_MODEL)
    assert s.cap == pytest.approx(48.76549560141663, rel=1e-12)
    assert s.cap_unit is CapUnit.CONTRACTS
    assert (s.qty_in, s.qty, s.outcome) == (5000, 4800, Outcome.LOWERED)
    assert s.inputs.depth == (50.0, 130.0)
    assert s.inputs.left[1] == pytest.approx(130 * math.exp(-0.1))


def test_step2_fill_model_posterior_and_reject():
    # no history: f = (0 + 19) / (0 + 19 + 1) = 0.95 ≥ 0.80 → kept
    r = size_opportunity(cross(), P)
    assert step(r, Step.FILL_MODEL).inputs.f == 0.95
    assert step(r, Step.FILL_MODEL).outcome is Outcome.KEPT
    # 10 fills in 20 attempts on Polymarket: f = 29 / 40 = 0.725 < 0.80 → reject, the rest skipped
    r = size_opportunity(with_venue(cross(), Venue.POLYMARKET, fills=10, attempts=20), P)
    s = step(r, Step.FILL_MODEL)
    assert s.inputs.f == 0.725 and s.outcome is Outcome.REJECTED and s.reason is Reason.FILL_PROB_LOW
    assert r.qty == 0 and r.rejected_by is Step.FILL_MODEL and r.bound_by is Step.EXECUTION_MODEL
    assert [x.outcome for x in r.steps[2:]] == [Outcome.SKIPPED] * 5
    # one batch only (scenario B): f = 1
    assert size_opportunity(parity(), P).fill == 1.0


def test_step3_fee_model_extras_and_minimums():
    # at q_in = 4800: leg 1 21,600,000 µ$, fee ceil(70,000 × 4800 × 4500 × 5500 / 1e14 = 83.16) = 84 → 840,000;
    # leg 2 3000 @ 0.50 + 1800 @ 0.51 = 24,180,000; profit 48,000,000 − 45,780,000 − 840,000 = 1,380,000
    r = size_opportunity(cross(), P)
    s = step(r, Step.FEE_MODEL)
    assert s.inputs.priced.profit == 1_380_000 and s.inputs.exact_fee == (840_000, 0)
    assert s.inputs.min_order == (0, 1_000_000) and s.outcome is Outcome.KEPT
    # Kalshi extras: min $1.00 per order, + $0.50 per order → max(840,000, 1,000,000) + 500,000 = 1,500,000
    # profit 1,380,000 − 660,000 = 720,000 < min_profit 800,000 → reject
    extras = replace(P, min_per_order=(1_000_000, 0, 0), per_order_extra=(500_000, 0, 0))
    s = step(size_opportunity(replace(cross(), min_profit=800_000), extras), Step.FEE_MODEL)
    assert s.inputs.priced.leg_fee == (1_500_000, 0) and s.inputs.priced.profit == 720_000
    assert s.reason is Reason.PROFIT_LOW and s.qty == 0
    # Polymarket minimum $30 > leg 2 cost $24.18 → reject
    s = step(size_opportunity(cross(), replace(P, min_order=(0, 30_000_000, 0))), Step.FEE_MODEL)
    assert s.reason is Reason.VENUE_MINIMUM
    # disabled: no extras anywhere, no reject
    s = step(size_opportunity(cross(), replace(extras, fee_model=False, min_order=(0, 30_000_000, 0))),
             Step.FEE_MODEL)
    assert s.outcome is Outcome.DISABLED and s.inputs.priced.leg_fee == (840_000, 0)


def test_step6_liquidity_impact():
    # defaults at 4800: g = 1.38 / 48 = 0.02875; later leg 2: D = 130, a = (0.50 − 0.49)/2 = 0.005,
    # f = 0.95, m = 1: cap = 130 × (0.5 × 0.02875 / (1 × 0.05 × 0.005))^(1/0.5) = 130 × 57.5² = 429,812.5
    s = step(size_opportunity(cross(), P), Step.LIQUIDITY_IMPACT)
    assert s.cap == pytest.approx(429_812.5, rel=1e-12) and s.outcome is Outcome.KEPT
    # no Polymarket bid (a = 0.25) and 80 fills / 100 attempts (f = 99/120 = 0.825):
    # cap = 130 × (0.014375 / (0.175 × 0.25))² = 130 × 0.328571² = 14.0347 → 14 contracts
    legs = (cross().legs[0], replace(cross().legs[1], best_bid=0))
    inp = with_venue(replace(cross(), legs=legs), Venue.POLYMARKET, fills=80, attempts=100)
    s = step(size_opportunity(inp, P), Step.LIQUIDITY_IMPACT)
    assert s.inputs.half_spread == (0.25,) and s.inputs.fill == (0.825,)
    assert s.cap == pytest.approx(130 * (0.014375 / (0.175 * 0.25)) ** 2, rel=1e-12)
    assert s.cap == pytest.approx(14.0347, rel=1e-5) and s.qty == 1400
    # one venue: no later legs, no cap
    s = step(size_opportunity(parity(), P), Step.LIQUIDITY_IMPACT)
    assert s.cap is None and s.reason is Reason.NO_LATER_LEGS


def test_step7_capital_lock():
    # B at 5000: leg a 20,000,000 + fee ceil(70,000·5000·4000·6000/1e14 = 84) → 840,000;
    # leg b 25,000,000 + fee ceil(87.5) = 88 → 880,000; profit 50,000,000 − 45,000,000 − 1,720,000 = 3,280,000
    # g = 0.0656, K = 0.9344, g/K = 0.0702055
    # T = 20: r = 1 + (0.75 − 1) × (20 − 14)/(60 − 14) = 0.9673913; 0.9673913 × 0.0702055 × 365 / 20 = 1.23947
    s = step(size_opportunity(parity(), P), Step.CAPITAL_LOCK)
    assert s.inputs.regime == pytest.approx(0.9673913043, rel=1e-9)
    assert s.inputs.annual_return == pytest.approx(0.9673913043 * (0.0656 / 0.9344) * 365 / 20, rel=1e-9)
    assert s.outcome is Outcome.KEPT
    # T = 400: r = 0.75 → 0.75 × 0.0702055 × 365 / 400 = 0.048047 < 0.10 → reject
    s = step(size_opportunity(replace(parity(), days_to_close=400.0), P), Step.CAPITAL_LOCK)
    assert s.inputs.annual_return == pytest.approx(0.0480472, rel=1e-5) and s.reason is Reason.RETURN_LOW
    # T = 0.5: r = 1, divided by max(T, 1) = 1 → 25.6 ≥ 0.10; T = 0 → closed
    s = step(size_opportunity(replace(parity(), days_to_close=0.5), P), Step.CAPITAL_LOCK)
    assert s.inputs.annual_return == pytest.approx(0.0656 / 0.9344 * 365, rel=1e-12)
    s = step(size_opportunity(replace(parity(), days_to_close=0.0), P), Step.CAPITAL_LOCK)
    assert s.reason is Reason.CLOSED and s.qty == 0


def _two_paths(vol: float):
    inp = with_venue(cross(), Venue.POLYMARKET, fills=0, attempts=380)   # f = 19 / 400 = 0.0475
    inp = replace(inp, legs=(inp.legs[0], replace(inp.legs[1], price_vol=vol)))
    params = replace(P, paths=2)
    groups = batches(inp, params)
    return simulate(inp, params, reprice(inp, params, 5000), groups, (0.0475,), seed=0)


def test_step8_monte_carlo_two_hand_paths():
    # seed 0 → SplitMix64 uniforms 0.8833108, 0.4315280, 0.0264338 | 0.9708820, 0.1063467, 0.3273258
    # path 1: u = 0.883 ≥ f = 0.0475 → missed; z = sqrt(−2 ln(1 − 0.4315280)) cos(2π 0.0264338) = 1.0482039
    # path 2: u = 0.971 → missed;          z = sqrt(−2 ln(1 − 0.1063467)) cos(2π 0.3273258) = 0.4742096 × −0.4669620 = −0.2214379
    # batch 2 at t = 0.2: ΔP = s × sqrt(0.2) × z; threshold 100 × $0.0001 = $0.01
    # leg 2: p̄ = 25.2 / 50 = 0.504, e = 0, fee rate 0; leg 1: p̄ = 0.45, e = 0.87/50 = 0.0174, bid 0.44, r = 0.07
    z1 = math.sqrt(-2 * math.log(1 - 0.43152799704850997)) * math.cos(2 * math.pi * 0.026433771592597743)
    z2 = math.sqrt(-2 * math.log(1 - 0.10634669156721244)) * math.cos(2 * math.pi * 0.32732576421812576)
    assert z1 == pytest.approx(1.0482039, rel=1e-7) and z2 == pytest.approx(-0.2214379, rel=1e-6)
    g = 0.0286
    # s = 0.01: ΔP1 = 0.0046877, ΔP2 = −0.0009903, both re-quoted: pnl = g − ΔP (fee 0 on Polymarket)
    dp1, dp2 = 0.01 * math.sqrt(0.2) * z1, 0.01 * math.sqrt(0.2) * z2
    r = _two_paths(0.01)
    assert r.mean == pytest.approx(((g - dp1) + (g - dp2)) / 2, rel=1e-12)
    assert r.mean == pytest.approx((0.0239123 + 0.0295903) / 2, rel=1e-5)
    assert (r.p_loss, r.missed, r.l_leg) == (0.0, 2, 0.0)
    # s = 0.05: ΔP1 = 0.0234385 > 0.01 → unwind leg 1 at x = 0.44 − 0.0234385 = 0.4165615:
    #   pnl1 = x − 0.07 x (1 − x) − 0.45 − 0.0174 = 0.4165614 − 0.0170127 − 0.4674 = −0.0678512
    #   ΔP2 = −0.0049515 → re-quoted: pnl2 = 0.0286 + 0.0049515 = 0.0335515
    #   mean = −0.0171499; P(loss) = 1/2; k = max(1, floor(2 × 0.05)) = 1 → CVaR = VaR = 0.0678512;
    #   L_leg = (0.0678512 + 0) / 2 = 0.0339256
    x = 0.44 - 0.05 * math.sqrt(0.2) * z1
    pnl1 = ((x - 0.07 * x * (1 - x)) - 0.45) - 0.0174
    pnl2 = g - 0.05 * math.sqrt(0.2) * z2
    r = _two_paths(0.05)
    assert pnl1 == pytest.approx(-0.0678512, rel=1e-5) and pnl2 == pytest.approx(0.0335515, rel=1e-5)
    assert r.mean == pytest.approx((pnl1 + pnl2) / 2, rel=1e-12)
    assert r.cvar == pytest.approx(-pnl1, rel=1e-12) and r.var == pytest.approx(-pnl1, rel=1e-12)
    assert r.l_leg == pytest.approx(-pnl1 / 2, rel=1e-12) and r.p_loss == 0.5
    assert r.mean == pytest.approx(-0.0171499, rel=1e-5) and r.l_leg == pytest.approx(0.0339256, rel=1e-5)


def test_step8_cap_is_budget_over_cvar_and_mean_rejects():
    # default scenario A: 2000 paths, f = 0.95; no path loses enough: CVaR ≤ 0 → no cap
    s = step(size_opportunity(cross(), P), Step.MONTE_CARLO)
    assert s.cap is None and s.reason is Reason.CVAR_NONPOSITIVE and s.outcome is Outcome.KEPT
    # f = 0.0475, s = 0.05 and a drift of $0.10/s (ΔP ≈ $0.02 at t = 0.2 s: most misses unwind):
    # mean < 0 → reject (the cap budget / CVaR is still shown)
    inp = with_venue(cross(), Venue.POLYMARKET, fills=0, attempts=380)
    inp = replace(inp, legs=(inp.legs[0], replace(inp.legs[1], price_vol=0.05)))
    s = step(size_opportunity(inp, replace(P, fill_model=False, drift=0.1)), Step.MONTE_CARLO)
    mc = s.inputs.result
    assert mc.mean < 0 and s.reason is Reason.MEAN_NONPOSITIVE and s.qty == 0
    assert s.cap == pytest.approx(25.0 / mc.cvar, rel=1e-15)
    # a binding cap: f = 0.9 (170 fills / 190 attempts... (170+19)/(190+20) = 0.9), s = 0.05, budget $1
    inp = with_venue(cross(), Venue.POLYMARKET, fills=170, attempts=190)
    inp = replace(inp, loss_budget=1.0, legs=(inp.legs[0], replace(inp.legs[1], price_vol=0.05)))
    s = step(size_opportunity(inp, P), Step.MONTE_CARLO)
    mc = s.inputs.result
    assert mc.mean > 0 and mc.cvar > 0
    assert s.cap == pytest.approx(1.0 / mc.cvar, rel=1e-15)
    assert s.qty == min(s.qty_in, 100 * math.floor(s.cap + 1e-9))


def test_step4_kelly_worked_example():
    # B: c = 0.9, one batch (f = 1, L_leg = 0): π = 0.9 × 1 + 0.1 / 2 = 0.95;
    # L = (0.9 × 0 × 0 + 0.05 × K) / (1 − 0.95) = K = 0.9344 → a = L/K = 1, b = g/K = 0.0702055
    # k_raw = 0.95 / 1 − 0.05 / 0.0702055 = 0.95 − 0.7121951 = 0.2378049
    # shrink = k² / (k² + 0.02² × (1 + 1/b)²) = 0.0565512 / (0.0565512 + 0.0004 × 15.2439024²) = 0.0565512 / 0.1495018 = 0.378264
    # shrunk = 0.378264 × 0.2378049 = 0.0899531; X = 0.0899531 × 0.5 × $1000 = $44.9765
    # capital at 48 contracts: 43,200,000 + ceil(80.64)·10⁴ + ceil(84)·10⁴ = 44,850,000 ≤ X;
    # at 49: 44,100,000 + 830,000 + 860,000 = 45,790,000 > X → 4800 lots
    r = size_opportunity(parity(), P)
    s = step(r, Step.KELLY)
    assert s.inputs.pi == pytest.approx(0.95, rel=1e-15)
    assert s.inputs.loss == pytest.approx(0.9344, rel=1e-12)
    assert s.inputs.sigma == 0.02 and not s.inputs.sigma_from_posterior
    assert s.inputs.shrunk == pytest.approx(0.0899531, rel=1e-5)
    assert s.cap == pytest.approx(44.9765, rel=1e-5) and s.cap_unit is CapUnit.DOLLARS
    assert s.inputs.bound == math.floor(s.cap * 1e6 + 1e-9)
    assert (s.qty, r.qty, r.bound_by) == (4800, 4800, Step.KELLY)
    # c = 1 (intra-like): π = 1 → L = 0 → the bound is the equity itself, $1000: nothing binds
    s = step(size_opportunity(replace(parity(), confidence=1.0), P), Step.KELLY)
    assert s.reason is Reason.CAPITAL_ONLY and s.cap == 1000.0 and s.qty == 5000
    # c = 0: π = 0.5, L = K: k_raw = 0.5 − 0.5/0.0702 < 0 → shrunk 0 → reject
    s = step(size_opportunity(replace(parity(), confidence=0.0), P), Step.KELLY)
    assert s.reason is Reason.SHRUNK_ZERO and s.qty == 0


def test_step4_sigma_from_posteriors():
    # A with 200 attempts / 190 fills on Polymarket (≥ min_samples 20): f = 209/220 = 0.95;
    # Beta(209, 11): var = 209 × 11 / (220² × 221) = 2299 / 10,696,400 = 2.14932e-4; sd = 0.0146606
    # σ = c × sd = 0.95 × 0.0146606 = 0.0139276
    inp = with_venue(cross(), Venue.POLYMARKET, fills=190, attempts=200)
    s = step(size_opportunity(inp, P), Step.KELLY)
    assert s.inputs.sigma_from_posterior
    assert s.inputs.sigma == pytest.approx(0.95 * math.sqrt(209 * 11 / (220**2 * 221)), rel=1e-12)
    assert s.inputs.sigma == pytest.approx(0.0139276, rel=1e-5)


def test_scenario_a_whole_chain():
    r = size_opportunity(cross(), P)
    assert [s.qty for s in r.steps] == [4800] * 7
    assert r.qty == 4800 and r.bound_by is Step.EXECUTION_MODEL and r.rejected_by is None
