"""Portfolio steps 9-12, the loss budget, the fresh portfolio and the drawdown state machine, on
hand-computed numbers. Scenario B (tests/sizing/scenarios.py): two Kalshi markets, YES a at 0.40 and
YES b at 0.50, 7% × p(1 − p) fees rounded up to $0.01 per order, c = 0.9, q0 = 50 contracts."""
from __future__ import annotations

from dataclasses import replace

import pytest

from arbbot.engine.types import Lane
from arbbot.model import Venue
from arbbot.sizing.config import from_toml_dict
from arbbot.sizing.portfolio import (
    CAUTION, NORMAL, STOP, DrawdownState, drawdown_reaches, Exposure, Portfolio, advance, day_start_ms, fresh, tier, with_drawdown,
)
from arbbot.sizing.portfolio_steps import (
    PortfolioReason, drawdown_manager, exposure_manager, lane_allocator, lane_bankroll, loss_budget, loss_cap, sharpe,
)
from arbbot.sizing.pricing import reprice
from arbbot.sizing.types import CapUnit, Outcome, Reason, SizingParams
from tests.sizing.pipeline_cases import parity_trade, portfolio

P = SizingParams()
INP = parity_trade().input


def capital(q: int) -> int:
    priced = reprice(INP, P, q)
    return priced.cost + priced.fee


def leg_capital(q: int) -> tuple[int, ...]:
    priced = reprice(INP, P, q)
    return tuple(c + f for c, f in zip(priced.leg_cost, priced.leg_fee))


def test_capital_at_50_contracts():
    # 50 × (0.40 + 0.50) = $45; fees ceil(0.07 × 0.24 × 50 = 0.84) + ceil(0.07 × 0.25 × 50 = 0.875) = 0.84 + 0.88
    assert capital(5000) == 46_720_000


def test_fresh_portfolio_splits_the_bankroll_in_whole_micros():
    p = fresh(10_000_000_000, [Venue.POLYMARKET, Venue.KALSHI, Venue.FORECASTEX])
    assert p.cash == {Venue.POLYMARKET: 3_333_333_334, Venue.KALSHI: 3_333_333_333, Venue.FORECASTEX: 3_333_333_333}
    assert (p.equity, p.peak, p.drawdown_pct) == (10_000_000_000, 10_000_000_000, 0.0)


def test_sharpe():
    assert sharpe((1, 2, 3), 2, 0.1) == 2.0           # mean 2 / sample s.d. 1
    assert sharpe((1, 2, 3), 4, 0.1) == 0.1           # fewer than min_days
    assert sharpe((5, 5), 2, 0.1) == 0.1              # s.d. 0
    assert sharpe((-1, -2, -3), 2, 0.1) == 0.1        # negative → the floor


def test_lane_allocator_bounds_capital_by_the_lane_bankroll():
    # lanes parity (no history → 0.1) and cross (Sharpe 2): w = 0.1 / 2.1; E = $100 → B = $4.761904…
    # 5 contracts: 4.50 + ceil(0.084) + ceil(0.0875) = $4.68 ≤ B; 6 contracts: 5.40 + 0.11 + 0.11 = $5.62 > B
    cfg = from_toml_dict({"lane_allocator": {"lanes": ["parity", "cross"], "min_days": 2}})
    inputs = lane_bankroll(Lane.PARITY, portfolio(100, lane_pnl={Lane.CROSS: (1, 2, 3)}), cfg)
    assert inputs.weight == pytest.approx(0.1 / 2.1) and inputs.bankroll == pytest.approx(100 * 0.1 / 2.1)
    step = lane_allocator(5000, 100, capital, inputs, cfg)
    assert (step.qty, step.outcome, step.cap_unit) == (500, Outcome.LOWERED, CapUnit.DOLLARS)
    off = lane_bankroll(Lane.TREE, portfolio(100), cfg)
    step = lane_allocator(5000, 100, capital, off, cfg)
    assert (step.qty, step.outcome, step.reason) == (0, Outcome.REJECTED, PortfolioReason.LANE_OFF)
    disabled = from_toml_dict({"lane_allocator": {"lanes": ["cross"], "enabled": False}})
    assert lane_allocator(5000, 100, capital, off, disabled).outcome is Outcome.DISABLED


def test_empty_lanes_reject_every_lane_at_step_9_and_never_divide_by_zero():
    # SIZING.md step 9: a lane not in `lanes` is rejected here; with none listed, every lane is
    cfg = from_toml_dict({"lane_allocator": {"lanes": []}})
    for lane in Lane:
        inputs = lane_bankroll(lane, portfolio(100, lane_pnl={Lane.CROSS: (1, 2, 3)}), cfg)
        assert (inputs.sharpe, inputs.weight, inputs.bankroll) == ((), 0.0, 0.0)
        step = lane_allocator(5000, 100, capital, inputs, cfg)
        assert (step.qty, step.outcome, step.reason, step.cap) == (0, Outcome.REJECTED, PortfolioReason.LANE_OFF, None)
    disabled = from_toml_dict({"lane_allocator": {"lanes": [], "enabled": False}})
    inputs = lane_bankroll(Lane.CROSS, portfolio(100), disabled)          # computed before the chain, step off
    step = lane_allocator(5000, 100, capital, inputs, disabled)
    assert (step.qty, step.outcome) == (5000, Outcome.DISABLED)


def test_loss_budget_is_the_smaller_of_the_scaled_budget_and_what_is_left():
    cfg = from_toml_dict({})
    # 25 × 0.9² = 20.25; left = 50 − 40 − 0 = 10
    assert loss_budget(0.9, portfolio(100, realised_loss_today=40_000_000), cfg, 50.0) == (10.0, 10.0)
    assert loss_budget(0.9, portfolio(100), cfg, 50.0) == (pytest.approx(20.25), 50.0)
    assert loss_budget(1.0, portfolio(100, realised_loss_today=45_000_000, inflight_budgets=6_000_000), cfg,
                       50.0) == (0.0, 0.0)


def test_loss_cap_is_an_exact_dollar_bound():
    # W(q) = 0.1 × K(q) + 0.9 × 0.2; 36 contracts: 0.1 × $33.64 + 0.18 × 36 = $9.844 ≤ $10;
    # 37 contracts: 0.1 × (33.30 + 0.63 + 0.65) + 0.18 × 37 = $10.118 > $10
    cfg = from_toml_dict({})
    step = loss_cap(5000, 100, capital, 0.9, 0.2, 10.0, 10.0, cfg)
    assert (step.qty, step.cap, step.inputs.w) == (3600, 10.0, pytest.approx(0.1 * 0.9344 + 0.18))
    assert loss_cap(5000, 100, capital, 0.9, 0.2, 0.0, 0.0, cfg).reason is PortfolioReason.BUDGET_ZERO
    # c = 1 and VaR ≤ 0: W = 0, nothing to bound
    step = loss_cap(5000, 100, capital, 1.0, -0.01, 10.0, 10.0, cfg)
    assert (step.qty, step.cap, step.reason) == (5000, None, PortfolioReason.NO_LOSS)


def test_exposure_manager_takes_the_smallest_room():
    cfg = from_toml_dict({})
    trade = parity_trade()
    # Kalshi cash $30: 32 contracts cost 28.80 + 0.54 + 0.56 = $29.90; 33 cost 29.70 + 0.56 + 0.58 = $30.84
    p = portfolio(100, venues=(Venue.KALSHI,))
    p = replace(p, cash={Venue.KALSHI: 30_000_000})
    step = exposure_manager(5000, 100, leg_capital, trade, p, cfg)
    assert (step.qty, step.cap) == (3200, 30.0)
    assert [(r.scope, r.name, r.room) for r in step.inputs.rooms] == [
        ("venue", "kalshi", 30_000_000), ("market", "kalshi:M0", 500_000_000), ("market", "kalshi:M1", 500_000_000),
        ("event", "E", 1_000_000_000)]
    # market M0 holds $490 (room $10): leg a at 23 contracts costs 9.20 + ceil(0.3864) = $9.59, at 24 $10.01
    p = replace(portfolio(100), markets={"kalshi:M0": Exposure(held=490_000_000)})
    step = exposure_manager(5000, 100, leg_capital, trade, p, cfg)
    assert (step.qty, step.cap) == (2300, 10.0)
    # in-flight orders use up the venue's cash: room ≤ 0 rejects
    p = replace(portfolio(100), venues={Venue.KALSHI: Exposure(inflight=100_000_000)})
    step = exposure_manager(5000, 100, leg_capital, trade, p, cfg)
    assert (step.qty, step.reason, step.cap) == (0, PortfolioReason.NO_ROOM, 0.0)


def test_drawdown_manager_tiers():
    cfg = from_toml_dict({})
    caution = replace(portfolio(100), equity=93_000_000)                  # 7%: × 0.5
    step = drawdown_manager(5000, 100, caution, cfg)
    assert (step.qty, step.cap, step.inputs.tier) == (2500, 25.0, CAUTION)
    stop = replace(portfolio(100), equity=90_000_000)                     # 10%: stop
    assert drawdown_manager(5000, 100, stop, cfg).reason is PortfolioReason.DRAWDOWN_STOP
    latched = replace(portfolio(100), drawdown_stopped=True)
    assert drawdown_manager(5000, 100, latched, cfg).qty == 0
    assert drawdown_manager(5000, 100, portfolio(100), cfg).inputs.tier == NORMAL
    # a caution multiplier that leaves less than a lot rejects
    zero = from_toml_dict({"drawdown_manager": {"caution_multiplier": 0.0}})
    assert drawdown_manager(5000, 100, caution, zero).reason is Reason.CAP_BELOW_LOT


DAY = 86_400_000
T0 = 1_795_000_000_000 - 1_795_000_000_000 % DAY     # a UTC midnight


def test_drawdown_state_latches_and_resets():
    s = advance(DrawdownState(), 100, T0 + 1, halt_pct=10, reset="ack")
    assert s == DrawdownState(100, 0)
    s = advance(s, 95, T0 + 2, halt_pct=10, reset="ack")                   # 5%: no stop, peak kept
    assert s == DrawdownState(100, 0)
    s = advance(s, 90, T0 + 3, halt_pct=10, reset="ack")                   # 10%: stop latched
    assert s == DrawdownState(100, T0 + 3)
    assert advance(s, 100, T0 + 2 * DAY, halt_pct=10, reset="ack").stopped  # ack only
    assert advance(s, 90, T0 + DAY, halt_pct=10, reset="day") == DrawdownState(90, 0)   # day start: peak = E
    assert advance(s, 100, T0 + DAY - 1, halt_pct=10, reset="day").stopped
    assert day_start_ms(T0 + 3_600_000, "06:30") == T0 - DAY + 6 * 3_600_000 + 30 * 60_000
    assert tier(1000, 951, False, 5, 10) == NORMAL and tier(1000, 950, False, 5, 10) == CAUTION
    assert tier(1000, 1000, True, 5, 10) == STOP and tier(0, 0, False, 5, 10) == NORMAL
    p = with_drawdown(portfolio(100), DrawdownState(200_000_000, T0))
    assert (p.peak, p.drawdown_stopped, p.drawdown_pct) == (200_000_000, True, 50.0)


def test_portfolio_drawdown_percent():
    assert Portfolio(cash={}, equity=0, peak=0).drawdown_pct == 0.0


def test_drawdown_thresholds_are_decided_exactly():
    """A drawdown of exactly halt_pct stops (SIZING step 12: "at or above halt_pct"): peak $100,
    equity $71 is 29 %, which the float (100 − 71) / 100 × 100 = 28.999999999999996 missed; so
    were 57 % and 58 %. The percentage is the decimal written (7.3 % of $1,000 is $73.00)."""
    M = 1_000_000
    for pct in (29, 57, 58, 29.0, 57.0):
        equity = (100 - int(pct)) * M
        assert tier(100 * M, equity, False, 5, pct) == STOP
        assert advance(DrawdownState(100 * M, 0), equity, T0, halt_pct=pct, reset="ack").stopped
        assert tier(100 * M, equity + 1, False, 5, pct) == CAUTION        # 1 µ$ less: not yet
    assert drawdown_reaches(1000 * M, 927 * M, 7.3) and not drawdown_reaches(1000 * M, 927 * M + 1, 7.3)
    assert drawdown_reaches(0, -5, 0) and not drawdown_reaches(0, -5, 0.1)   # no peak: drawdown 0
