"""Parity of the Swift chain (arb_size / arb_size_batch) with the pure-Python twin.

Integers exact, doubles within 1e-12 relative (NaN = NaN), every step record and every input it
used; the same EngineInputError (status, leg index) on invalid input. In practice the doubles come
out identical; no lot-boundary tolerance was needed.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import replace
from enum import Enum

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from arbbot.engine.types import EngineInputError, Status
from arbbot.model import FeeSchedule, Venue
from arbbot.sizing import SizingParams, Step, VenueStats, size, size_batch, size_opportunity
from tests.sizing.scenarios import cross, parity, with_venue
from tests.sizing.strategies import opportunities, params, risky_opportunities, toggled_params

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.fixture(autouse=True)
def _swift(native):
    """Every test here needs the engine (fails, not skips, when it is missing)."""


def assert_same(a, b, path: str = "result") -> None:
    """Integers and enums exact, doubles 1e-12 relative (NaN only equals NaN), recursively."""
    if isinstance(a, Enum) or isinstance(b, Enum) or a is None or b is None or isinstance(a, bool):
        assert a is b or a == b and type(a) is type(b), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), f"{path}: {a!r} vs {b!r}"
        if math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), f"{path}: {a!r} != {b!r}"
        else:
            assert a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b)), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, int):
        assert type(b) is int and a == b, f"{path}: {a!r} != {b!r}"
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), f"{path}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert dataclasses.is_dataclass(a) and type(a) is type(b), f"{path}: {a!r} vs {b!r}"
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{path}.{field.name}")


def both(inp, p=SizingParams()):
    twin, swift = size(inp, p, engine="python"), size(inp, p, engine="swift")
    assert_same(twin, swift)
    return twin


def errors(inp, p=SizingParams()) -> tuple[EngineInputError, EngineInputError]:
    out = []
    for engine in ("python", "swift"):
        with pytest.raises(EngineInputError) as info:
            size(inp, p, engine=engine)
        out.append(info.value)
    return out[0], out[1]


# ---- random opportunities -------------------------------------------------------------------------

@SETTINGS
@given(opportunities(), params())
def test_random_opportunities_match(inp, p):
    both(inp, p)


@SETTINGS
@given(opportunities(), toggled_params())
def test_random_opportunities_with_steps_disabled_match(inp, p):
    both(inp, p)


@SETTINGS
@given(risky_opportunities(), toggled_params())
def test_risky_opportunities_match(inp, p):
    both(inp, p)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(opportunities(), min_size=0, max_size=6), toggled_params())
def test_batch_matches_one_by_one(inputs, p):
    twin = [size_opportunity(inp, p) for inp in inputs]
    swift = size_batch(inputs, p, engine="swift")
    assert len(swift) == len(twin)
    for a, b in zip(twin, swift):
        assert_same(a, b)


# ---- golden scenarios (tests/sizing/scenarios.py and the golden tests' variants) ------------------

def _no_bid_low_fill():
    legs = (cross().legs[0], replace(cross().legs[1], best_bid=0))
    return with_venue(replace(cross(), legs=legs), Venue.POLYMARKET, fills=80, attempts=100)


def _risky(fills=170, attempts=190, vol=0.05, **changes):
    inp = with_venue(cross(), Venue.POLYMARKET, fills=fills, attempts=attempts)
    return replace(inp, legs=(inp.legs[0], replace(inp.legs[1], price_vol=vol)), **changes)


def _thin_edge():
    """Kalshi pair at 0.45 + 0.45 with $1 fee rounding: $6 profit at 100 contracts, but step 1's decay
    (ρ = 84/s: 100 × exp(−4.2) = 1.4996 contracts) leaves one contract, where $2 of fees beat the $0.10 edge."""
    fees = FeeSchedule(taker_rate_ppm=70_000, rounding=1_000_000)
    legs = tuple(replace(parity().legs[0], fees=fees, ladder=((4500, 10_000),), best_bid=4400, depletion_rate=84.0)
                 for _ in range(2))
    return replace(parity(), legs=legs, qty=10_000)


P = SizingParams()
GOLDEN = {
    "cross": (cross(), P),
    "parity": (parity(), P),
    "fill_reject": (with_venue(cross(), Venue.POLYMARKET, fills=10, attempts=20), P),
    "fee_extras_reject": (replace(cross(), min_profit=800_000),
                          replace(P, min_per_order=(1_000_000, 0, 0), per_order_extra=(500_000, 0, 0))),
    "venue_minimum": (cross(), replace(P, min_order=(0, 30_000_000, 0))),
    "fee_disabled": (cross(), replace(P, fee_model=False, min_per_order=(1_000_000, 0, 0),
                                      min_order=(0, 30_000_000, 0))),
    "liquidity_binds": (_no_bid_low_fill(), P),
    "capital_far": (replace(parity(), days_to_close=400.0), P),
    "capital_closed": (replace(parity(), days_to_close=0.0), P),
    "capital_short": (replace(parity(), days_to_close=0.5), P),
    "mc_mean_reject": (_risky(0, 380), replace(P, fill_model=False, drift=0.1)),
    "mc_cap_binds": (_risky(loss_budget=1.0), P),
    "kelly_intra_like": (replace(parity(), confidence=1.0), P),
    "kelly_shrunk_zero": (replace(parity(), confidence=0.0), P),
    "kelly_posterior_sigma": (with_venue(cross(), Venue.POLYMARKET, fills=190, attempts=200), P),
    "counterexample_tight": (replace(_no_bid_low_fill(), days_to_close=100.0), replace(P, min_annual_return=0.085)),
    "counterexample_loose": (replace(_no_bid_low_fill(), days_to_close=100.0),
                             replace(P, min_annual_return=0.085, max_edge_share=1.0)),
    "loss_budget_small": (_risky(equity=30_000_000, loss_budget=0.35), P),
    "loss_budget_large": (_risky(equity=30_000_000, loss_budget=0.40), P),
    "edge_nonpositive": (_thin_edge(), replace(P, fee_model=False)),
    "pi_zero": (_thin_edge(), replace(P, fee_model=False, liquidity_impact=False, capital_lock=False,
                                      monte_carlo=False)),
    "all_disabled": (_risky(), replace(P, **{n: False for n in ("execution_model", "fill_model", "fee_model",
                                                                   "liquidity_impact", "capital_lock", "monte_carlo",
                                                                   "kelly")})),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_scenarios_match(name):
    inp, p = GOLDEN[name]
    both(inp, p)


def test_golden_values_from_the_engine():
    """Hand-checked numbers of test_golden.py, read from the Swift engine."""
    r = size(cross(), engine="swift")
    assert [s.qty for s in r.steps] == [4800] * 7 and r.bound_by is Step.EXECUTION_MODEL
    assert r.steps[0].cap == pytest.approx(48.76549560141663, rel=1e-12)
    assert r.steps[2].inputs.priced.profit == 1_380_000 and r.steps[2].inputs.exact_fee == (840_000, 0)
    assert r.steps[3].cap == pytest.approx(429_812.5, rel=1e-12)
    k = size(parity(), engine="swift").steps[6]
    assert k.qty == 4800 and k.cap == pytest.approx(44.9765, rel=1e-5)
    assert k.inputs.pi == pytest.approx(0.95, rel=1e-15) and k.inputs.loss == pytest.approx(0.9344, rel=1e-12)


def test_thin_edge_rejects_at_steps_6_and_4():
    r = size(_thin_edge(), replace(P, fee_model=False), engine="swift")
    assert r.steps[0].qty == 100 and r.steps[3].reason.label == "edge_nonpositive"
    r = size(_thin_edge(), GOLDEN["pi_zero"][1], engine="swift")
    assert r.rejected_by is Step.KELLY and r.steps[6].reason.label == "pi_zero"


def test_monte_carlo_regression_vector():
    """test_montecarlo.MC_GOLDEN (f = 0.9 forced by the stats: (170 + 19) / (190 + 20)) from the engine."""
    from tests.sizing.test_montecarlo import MC_GOLDEN
    r = size(_risky(vol=0.05), replace(P, execution_model=False), engine="swift")   # step 8 at q0 = 5000
    assert r.steps[5].qty_in == 5000
    mc = r.monte_carlo
    assert (mc.mean, mc.cvar, mc.var, mc.l_leg, mc.p_loss, mc.missed) == MC_GOLDEN


# ---- invalid input: same status, same leg index ---------------------------------------------------

def _leg(i, **changes):
    inp = cross()
    legs = list(inp.legs)
    legs[i] = replace(legs[i], **changes)
    return replace(inp, legs=tuple(legs))


INVALID = {
    "bad_id": (replace(cross(), id="xyz"), P, Status.ARGUMENT, -1),
    "short_id": (replace(cross(), id="0123"), P, Status.ARGUMENT, -1),
    "empty_legs": (replace(cross(), legs=()), P, Status.LENGTH, -1),
    "empty_legs_bad_id": (replace(cross(), legs=(), id="nothex"), P, Status.LENGTH, -1),
    "payout_zero": (replace(cross(), payout=0), P, Status.ARGUMENT, -1),
    "venue_code": (_leg(1, venue=7), P, Status.VENUE, 1),
    "lot": (_leg(0, lot=5), P, Status.LOT, 0),
    "rate": (_leg(1, fees=FeeSchedule(taker_rate_ppm=1_000_000)), P, Status.RATE, 1),
    "rounding": (_leg(0, fees=FeeSchedule(rounding=0)), P, Status.MONEY, 0),
    "price_high": (_leg(1, ladder=((5000, 3000), (10_001, 100))), P, Status.PRICE, 1),
    "level_qty_negative": (_leg(0, ladder=((4500, -1),)), P, Status.QTY, 0),
    "not_ascending": (_leg(1, ladder=((5100, 3000), (5000, 10000))), P, Status.LENGTH, 1),
    "empty_ladder": (_leg(0, ladder=()), P, Status.LENGTH, 0),
    "zero_size_level": (_leg(0, ladder=((4500, 0), (4600, 5000))), P, Status.LENGTH, 0),
    "bid_above_ask": (_leg(0, best_bid=4501), P, Status.PRICE, 0),
    "bid_negative": (_leg(1, best_bid=-1), P, Status.PRICE, 1),
    "depletion_nan": (_leg(0, depletion_rate=math.nan), P, Status.FLOAT, 0),
    "depletion_negative": (_leg(1, depletion_rate=-0.5), P, Status.FLOAT, 1),
    "vol_inf": (_leg(1, price_vol=math.inf), P, Status.FLOAT, 1),
    "vol_above_limit": (_leg(0, price_vol=2e6), P, Status.FLOAT, 0),
    "confidence_nan": (replace(cross(), confidence=math.nan), P, Status.FLOAT, -1),
    "confidence_above_one": (replace(cross(), confidence=1.5), P, Status.FLOAT, -1),
    "days_inf": (replace(cross(), days_to_close=math.inf), P, Status.FLOAT, -1),
    "budget_negative": (replace(cross(), loss_budget=-1.0), P, Status.FLOAT, -1),
    "min_profit_negative": (replace(cross(), min_profit=-1), P, Status.MONEY, -1),
    "equity_negative": (replace(cross(), equity=-5), P, Status.MONEY, -1),
    "fills_above_attempts": (with_venue(cross(), Venue.KALSHI, fills=5, attempts=4), P, Status.ARGUMENT, -1),
    "latency_nan": (with_venue(cross(), Venue.FORECASTEX, latency_s=math.nan), P, Status.FLOAT, -1),
    "latency_above_limit": (with_venue(cross(), Venue.FORECASTEX, latency_s=1e7), P, Status.FLOAT, -1),
    "venues_short": (replace(cross(), venues=(VenueStats(), VenueStats())), P, Status.LENGTH, -1),
    "qty_zero": (replace(cross(), qty=0), P, Status.QTY, -1),
    "qty_off_lot": (replace(cross(), qty=4950), P, Status.QTY, -1),
    "qty_beyond_depth": (replace(cross(), qty=20_000), P, Status.QTY, -1),
    "payout_overflow": (replace(cross(), payout=10**12), P, Status.OVERFLOW, -1),
    "paths_zero": (cross(), replace(P, paths=0), Status.ARGUMENT, -1),
    "paths_huge": (cross(), replace(P, paths=10**8), Status.ARGUMENT, -1),
    "min_samples_zero": (cross(), replace(P, min_samples=0), Status.ARGUMENT, -1),
    "sigma_zero": (cross(), replace(P, sigma=0.0), Status.FLOAT, -1),
    "alpha_nan": (cross(), replace(P, alpha=math.nan), Status.FLOAT, -1),
    "near_not_below_far": (cross(), replace(P, near_days=60.0), Status.FLOAT, -1),
    "cvar_level_one": (cross(), replace(P, cvar_level=1.0), Status.FLOAT, -1),
    "drift_inf": (cross(), replace(P, drift=math.inf), Status.FLOAT, -1),
    "latency_zero": (cross(), replace(P, leg_latency_s=0.0), Status.FLOAT, -1),
    "min_order_negative": (cross(), replace(P, min_order=(0, -1, 0)), Status.MONEY, -1),
    "extra_too_large": (cross(), replace(P, per_order_extra=(10**13, 0, 0)), Status.MONEY, -1),
    "max_requote_negative": (cross(), replace(P, max_requote=-1), Status.ARGUMENT, -1),
    "extras_short": (cross(), replace(P, min_per_order=(0, 0)), Status.LENGTH, -1),
    # integer fields the ABI cannot hold: refused first, as packing them refuses them (the twin
    # used to size a float quantity and return float money, and to count attempts past int64)
    "qty_float": (replace(cross(), qty=5000.0), P, Status.ARGUMENT, -1),
    "payout_float": (replace(cross(), payout=1.0), P, Status.ARGUMENT, -1),
    "equity_bool": (replace(cross(), equity=True), P, Status.ARGUMENT, -1),
    "min_profit_past_int64": (replace(cross(), min_profit=2**63), P, Status.MONEY, -1),
    "attempts_past_int64": (with_venue(cross(), Venue.KALSHI, fills=0, attempts=2**63), P, Status.ARGUMENT, -1),
    "attempts_bool": (with_venue(cross(), Venue.KALSHI, fills=0, attempts=True), P, Status.ARGUMENT, -1),
    "float_qty_and_no_legs": (replace(cross(), qty=5000.0, legs=()), P, Status.ARGUMENT, -1),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_input_same_error(name):
    inp, p, status, index = INVALID[name]
    twin, swift = errors(inp, p)
    assert (twin.status, twin.index) == (status, index), str(twin)
    assert (swift.status, swift.index) == (status, index), str(swift)


FIELDS = st.sampled_from(["confidence", "days_to_close", "loss_budget", "min_profit", "equity", "payout", "qty",
                          "best_bid", "depletion_rate", "price_vol", "lot", "venue", "ladder"])
ODD_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, -0.0, 0.0, 1.0, 2.0, 1e300])
ODD_INTS = st.sampled_from([-(2**63), -1, 0, 1, 3, 99, 100, 101, 10_000, 10_001, 2**62, 2**63 - 1])


@SETTINGS
@given(opportunities(), FIELDS, ODD_FLOATS, ODD_INTS, st.integers(0, 2))
def test_random_corruption_same_outcome(inp, field, odd_float, odd_int, leg):
    """One field set to an odd value: both engines raise the same (status, index) or agree."""
    leg = min(leg, len(inp.legs) - 1)
    if field in ("confidence", "days_to_close", "loss_budget"):
        inp = replace(inp, **{field: odd_float})
    elif field in ("min_profit", "equity", "payout", "qty"):
        inp = replace(inp, **{field: odd_int})
    else:
        legs = list(inp.legs)
        if field in ("depletion_rate", "price_vol"):
            legs[leg] = replace(legs[leg], **{field: odd_float})
        elif field == "ladder":
            legs[leg] = replace(legs[leg], ladder=legs[leg].ladder + ((odd_int % 10_002, odd_int % 1_000),))
        else:
            legs[leg] = replace(legs[leg], **{field: odd_int % 2**31})
        inp = replace(inp, legs=tuple(legs))
    outcome = []
    for engine in ("python", "swift"):
        try:
            outcome.append(size(inp, engine=engine))
        except EngineInputError as exc:
            outcome.append((exc.status, exc.index))
    if isinstance(outcome[0], tuple) or isinstance(outcome[1], tuple):
        assert outcome[0] == outcome[1]
    else:
        assert_same(outcome[0], outcome[1])


def test_batch_error_names_the_opportunity():
    good, bad = cross(), _leg(1, ladder=((5100, 3000), (5000, 10000)))
    for engine in ("python", "swift"):
        with pytest.raises(EngineInputError) as info:
            size_batch([good, parity(), bad, good], engine=engine)
        assert (info.value.status, info.value.index, info.value.opportunity) == (Status.LENGTH, 1, 2)
    assert size_batch([], engine="swift") == []
