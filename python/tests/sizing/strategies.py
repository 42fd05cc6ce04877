"""Hypothesis strategies: random opportunities the engine would report, and portfolio values."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, strategies as st

from arbbot.model import FeeSchedule, Venue
from arbbot.sizing import SizingInput, SizingLeg, SizingParams, VenueStats
from arbbot.sizing.pricing import reprice, walk_depth

FEES = {Venue.KALSHI: FeeSchedule(taker_rate_ppm=70_000, rounding=10_000),
        Venue.POLYMARKET: FeeSchedule(taker_rate_ppm=20_000, rounding=10),
        Venue.FORECASTEX: FeeSchedule(per_contract=10_000)}


@st.composite
def legs(draw, count: int):
    out = []
    for _ in range(count):
        venue = draw(st.sampled_from(list(Venue)))
        lot = 1 if venue is Venue.POLYMARKET and draw(st.booleans()) else 100
        top = draw(st.integers(100, 9000 // count))
        prices = sorted({top, *draw(st.lists(st.integers(top, 9900), max_size=2))})
        ladder = tuple((p, draw(st.integers(1, 200)) * 100) for p in prices)
        out.append(SizingLeg(venue, lot, FEES[venue], ladder, draw(st.integers(0, top)),
                             draw(st.floats(0, 2)), draw(st.floats(0, 0.1))))
    return tuple(out)


@st.composite
def opportunities(draw):
    ls = draw(legs(draw(st.integers(1, 3))))
    venues = []
    for _ in range(3):
        attempts = draw(st.integers(0, 60))
        venues.append(VenueStats(draw(st.integers(0, attempts)), attempts, draw(st.floats(0.01, 1.0)),
                                 draw(st.integers(0, 40))))
    hex_id = "%016x" % draw(st.integers(0, 2**64 - 1))
    inp = SizingInput(hex_id, 1, 1, ls, draw(st.one_of(st.floats(0, 1), st.floats(0.8, 1))), draw(st.one_of(st.floats(-1, 400), st.floats(0.1, 30))),
                      draw(st.integers(0, 50_000)), draw(st.integers(0, 5_000_000_000)),
                      draw(st.floats(0, 100)), tuple(venues))
    cap = draw(st.integers(1, 200)) * 100
    q0 = walk_depth(inp, cap)
    assume(q0 > 0)
    inp = replace(inp, qty=q0)
    assume(reprice(inp, SizingParams(fee_model=False), q0).profit >= inp.min_profit)   # the engine reported it
    return inp


@st.composite
def params(draw):
    near = draw(st.floats(0, 100))
    return SizingParams(
        leg_latency_s=draw(st.floats(0.001, 1)), round_trip_s=draw(st.floats(0.001, 1)),
        min_samples=draw(st.integers(1, 30)),
        alpha=draw(st.floats(0.1, 40)), beta=draw(st.floats(0.1, 10)), min_fill_prob=draw(st.floats(0, 0.9)),
        per_order_extra=tuple(draw(st.lists(st.integers(0, 50_000), min_size=3, max_size=3))),
        min_per_order=tuple(draw(st.lists(st.integers(0, 500_000), min_size=3, max_size=3))),
        min_order=tuple(draw(st.lists(st.integers(0, 500_000), min_size=3, max_size=3))),
        exponent=draw(st.floats(0.1, 3)), max_edge_share=draw(st.floats(0.01, 1)),
        near_days=near, far_days=near + draw(st.floats(1, 100)), far_multiplier=draw(st.floats(0.01, 1)),
        min_annual_return=draw(st.floats(0, 0.5)), paths=draw(st.integers(1, 120)),
        drift=draw(st.floats(-0.05, 0.05)), max_requote=draw(st.integers(0, 300)),
        cvar_level=draw(st.floats(0.5, 0.99)), var_level=draw(st.floats(0.5, 0.999)),
        kelly_multiplier=draw(st.floats(0.01, 1)), sigma=draw(st.floats(0.001, 0.2)))


STEP_FLAGS = ("execution_model", "fill_model", "fee_model", "liquidity_impact", "capital_lock", "monte_carlo", "kelly")


@st.composite
def toggled_params(draw):
    """params() with every per-opportunity step independently enabled or disabled."""
    p = draw(params())
    return replace(p, **{name: draw(st.booleans()) for name in STEP_FLAGS})


@st.composite
def risky_opportunities(draw):
    """opportunities() with thin fill histories, volatile prices, wide spreads and small budgets, so
    the liquidity-impact, Monte Carlo and Kelly caps bind (and reject) more often."""
    inp = draw(opportunities())
    venues = []
    for _ in range(3):
        attempts = draw(st.integers(20, 400))
        venues.append(VenueStats(draw(st.integers(attempts // 2, attempts)), attempts, draw(st.floats(0.01, 2.0)),
                                 draw(st.integers(0, 40))))
    legs = tuple(replace(leg, price_vol=draw(st.floats(0, 0.3)), best_bid=draw(st.integers(0, leg.ladder[0][0])))
                 for leg in inp.legs)
    return replace(inp, legs=legs, venues=tuple(venues), loss_budget=draw(st.floats(0, 5)),
                   equity=draw(st.integers(0, 200_000_000)))
