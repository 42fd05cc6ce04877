"""The `[sizing]` configuration model: SIZING.md's defaults and validation, naming the key."""
from __future__ import annotations

import math
import tomllib

import pytest

from arbbot.engine.types import MONEY_FEE_MAX
from arbbot.sizing import SizingConfigError, SizingParams, from_toml_dict, steps
from arbbot.model import Venue
from arbbot.units import config_micros
from arbbot.sizing.types import PATHS_MAX, TIME_MAX_S, VOL_MAX


def test_defaults_match_the_spec_table():
    c = from_toml_dict({})
    assert (c.leg_latency_s, c.round_trip_s, c.min_samples, c.unknown_days) == (0.05, 0.15, 20, 30)
    r = c.robust_inputs
    assert (r.window_s, r.mad_z, r.iqr_k, r.ewma_alpha, r.depletion_rate, r.price_vol) == (86400, 3.5, 1.5, 0.1, 0.5, 0.01)
    assert (c.fill_model.alpha, c.fill_model.beta, c.fill_model.min_fill_prob) == (19, 1, 0.80)
    assert c.fee_model.min_order("polymarket") == 1.0 and c.fee_model.min_order("kalshi") == 0.0
    assert (c.liquidity_impact.exponent, c.liquidity_impact.max_edge_share) == (0.5, 0.5)
    cl = c.capital_lock
    assert (cl.near_days, cl.far_days, cl.far_multiplier, cl.min_annual_return) == (14, 60, 0.75, 0.10)
    mc = c.monte_carlo
    assert (mc.paths, mc.drift, mc.max_requote, mc.cvar_level) == (2000, 0, 100, 0.95)
    assert (c.kelly.kelly_multiplier, c.kelly.sigma) == (0.5, 0.02)
    la = c.lane_allocator
    assert (la.lanes, la.window_days, la.min_days, la.sharpe_floor) == (["intra", "cross", "bucket", "parity", "tree"], 30, 7, 0.1)
    assert (c.loss_cap.loss_budget_usd, c.loss_cap.gamma, c.loss_cap.var_level) == (25, 2, 0.99)
    em = c.exposure_manager
    assert (em.max_venue_usd, em.max_event_usd, em.max_market_usd, em.max_category_usd) == (5000, 1000, 500, None)
    dm = c.drawdown_manager
    assert (dm.caution_pct, dm.halt_pct, dm.caution_multiplier, dm.reset) == (5, 10, 0.5, "ack")
    assert c.params() == SizingParams()


def test_a_toml_file_round_trips_into_params():
    text = """
    [sizing]
    min_samples = 5
    [sizing.fee_model]
    min_order_usd.polymarket = 2.5
    extras.kalshi = { per_order_usd = 0.29, min_per_order_usd = 0.01 }
    [sizing.kelly]
    enabled = false
    kelly_multiplier = 1
    [sizing.lane_allocator]
    lanes = ["intra", "cross"]
    """
    p = from_toml_dict(tomllib.loads(text)).params()
    assert p.min_samples == 5 and p.kelly is False and p.kelly_multiplier == 1.0
    assert p.min_order == (0, 2_500_000, 0)
    assert p.per_order_extra == (290_000, 0, 0) and p.min_per_order == (10_000, 0, 0)


@pytest.mark.parametrize("data, key", [
    ({"fill_model": {"min_fill_prob": 1.5}}, "sizing.fill_model.min_fill_prob"),
    ({"fill_model": {"alpha": -1.0}}, "sizing.fill_model.alpha"),
    ({"fill_model": {"beta": 0}}, "sizing.fill_model.beta"),
    ({"kelly": {"sigma": math.nan}}, "sizing.kelly.sigma"),
    ({"kelly": {"kelly_multiplier": 0}}, "sizing.kelly.kelly_multiplier"),
    ({"monte_carlo": {"drift": math.inf}}, "sizing.monte_carlo.drift"),
    ({"monte_carlo": {"paths": 0}}, "sizing.monte_carlo.paths"),
    ({"monte_carlo": {"paths": 2000.0}}, "sizing.monte_carlo.paths"),
    ({"monte_carlo": {"cvar_level": 1.0}}, "sizing.monte_carlo.cvar_level"),
    ({"monte_carlo": {"max_requote": -1}}, "sizing.monte_carlo.max_requote"),
    ({"loss_cap": {"var_level": 0.0}}, "sizing.loss_cap.var_level"),
    ({"loss_cap": {"loss_budget_usd": -5}}, "sizing.loss_cap.loss_budget_usd"),
    ({"lane_allocator": {"min_days": 1}}, "sizing.lane_allocator.min_days"),
    ({"lane_allocator": {"lanes": ["intra", "hedge"]}}, "sizing.lane_allocator.lanes"),
    ({"lane_allocator": {"lanes": ["tree", "tree"]}}, "sizing.lane_allocator.lanes"),
    ({"lane_allocator": {"lanes": "intra"}}, "sizing.lane_allocator.lanes"),
    ({"liquidity_impact": {"max_edge_share": 1.2}}, "sizing.liquidity_impact.max_edge_share"),
    ({"robust_inputs": {"ewma_alpha": 1}}, "sizing.robust_inputs.ewma_alpha"),
    ({"exposure_manager": {"max_category_usd": -1}}, "sizing.exposure_manager.max_category_usd"),
    ({"drawdown_manager": {"reset": "never"}}, "sizing.drawdown_manager.reset"),
    ({"drawdown_manager": {"caution_pct": 10, "halt_pct": 10}}, "caution_pct"),
    ({"capital_lock": {"near_days": 60}}, "near_days"),
    ({"min_samples": 0}, "sizing.min_samples"),
    ({"leg_latency_s": "0.05"}, "sizing.leg_latency_s"),
    ({"enabled": False}, "sizing.enabled"),
    ({"monte_carlo": {"enabled": 1}}, "sizing.monte_carlo.enabled"),
    ({"monte_karlo": {}}, "sizing.monte_karlo"),
    ({"kelly": {"kely_multiplier": 0.3}}, "sizing.kelly.kely_multiplier"),
    ({"fee_model": {"extras": {"nyse": {"per_order_usd": 1}}}}, "sizing.fee_model.extras.nyse"),
    ({"fee_model": {"extras": {"kalshi": {"per_order_usd": -0.01}}}}, "sizing.fee_model.extras.kalshi.per_order_usd"),
    ({"fee_model": {"min_order_usd": {"polymarket": math.nan}}}, "sizing.fee_model.min_order_usd.polymarket"),
])
def test_bad_values_are_refused_naming_the_key(data, key):
    with pytest.raises(SizingConfigError, match=key.replace(".", r"\.")):
        from_toml_dict(data)


def test_every_step_has_an_enable_flag():
    steps = ["robust_inputs", "execution_model", "fill_model", "fee_model", "liquidity_impact", "capital_lock",
             "monte_carlo", "kelly", "lane_allocator", "loss_cap", "exposure_manager", "drawdown_manager"]
    c = from_toml_dict({name: {"enabled": False} for name in steps})
    assert all(getattr(c, name).enabled is False for name in steps)
    p = c.params()
    assert not any(getattr(p, name) for name in ("execution_model", "fill_model", "fee_model", "liquidity_impact",
                                                  "capital_lock", "monte_carlo", "kelly"))


def test_config_dollars_become_micro_dollars_through_a_floor_of_the_decimal_written():
    # SIZING.md: every double that becomes an integer does so through a floor; read from the
    # shortest decimal text, so no binary-float error moves an amount across a µ$ (0.29 × 10⁶ in
    # binary is 289,999.99999999994)
    assert config_micros(0.29) == 290_000 and config_micros(0.57) == 570_000 and config_micros(4.35) == 4_350_000
    assert config_micros(1e-7) == 0 and config_micros(0.0000005) == 0 and config_micros(0.0000015) == 1
    assert config_micros(1.0000001) == 1_000_000
    c = from_toml_dict({"fee_model": {"extras": {"kalshi": {"per_order_usd": 0.0000005, "min_per_order_usd": 0.0100009}},
                                      "min_order_usd": {"polymarket": 1.0000001}}})
    p, kalshi, polymarket = c.params(), Venue.KALSHI.value, Venue.POLYMARKET.value     # indexed by venue code
    assert (p.per_order_extra[kalshi], p.min_per_order[kalshi], p.min_order[polymarket]) == (0, 10_000, 1_000_000)


def test_lanes_may_be_empty_but_not_repeat_a_lane():
    # an empty `lanes` is allowed (step 9 then rejects every opportunity); a repeated lane would
    # silently count once, so it is refused naming the key, like an unknown lane
    assert from_toml_dict({"lane_allocator": {"lanes": []}}).lane_allocator.lanes == []
    with pytest.raises(SizingConfigError, match=r"sizing\.lane_allocator\.lanes: .*'cross' more than once"):
        from_toml_dict({"lane_allocator": {"lanes": ["intra", "cross", "cross"]}})
    with pytest.raises(SizingConfigError, match=r"sizing\.lane_allocator\.lanes\.1: "):
        from_toml_dict({"lane_allocator": {"lanes": ["intra", "hedge"]}})


# The native engine's input limits (arb_engine.h ARB_SIZING_*, ARB_MONEY_FEE_MAX): a value the
# engine would refuse is refused at load, naming the key and the allowed range.
ENGINE_LIMITS = [
    ({"monte_carlo": {"paths": PATHS_MAX + 1}}, "sizing.monte_carlo.paths", "[1, 10000000]"),
    ({"leg_latency_s": TIME_MAX_S * 2}, "sizing.leg_latency_s", "(0, 1000000]"),
    ({"round_trip_s": 1e300}, "sizing.round_trip_s", "(0, 1000000]"),
    ({"monte_carlo": {"drift": VOL_MAX * 2}}, "sizing.monte_carlo.drift", "[-1000000, 1000000]"),
    ({"monte_carlo": {"drift": -VOL_MAX * 2}}, "sizing.monte_carlo.drift", "[-1000000, 1000000]"),
    ({"robust_inputs": {"price_vol": 2e6}}, "sizing.robust_inputs.price_vol", "(0, 1000000]"),
    ({"fee_model": {"extras": {"kalshi": {"per_order_usd": 1e12}}}}, "sizing.fee_model.extras.kalshi.per_order_usd",
     "[0, 1000000]"),
    ({"fee_model": {"extras": {"forecastex": {"min_per_order_usd": 1_000_000.01}}}},
     "sizing.fee_model.extras.forecastex.min_per_order_usd", "[0, 1000000]"),
    ({"fee_model": {"min_order_usd": {"polymarket": 2e6}}}, "sizing.fee_model.min_order_usd.polymarket",
     "[0, 1000000]"),
    # an int64 in the engine: beyond it the python engine sized and the swift one refused, naming no key
    ({"monte_carlo": {"max_requote": 2**63}}, "sizing.monte_carlo.max_requote", "9223372036854775807"),
]


@pytest.mark.parametrize("data, key, allowed", ENGINE_LIMITS, ids=[k for _, k, _ in ENGINE_LIMITS])
def test_values_beyond_the_engine_limits_are_refused_naming_the_key_and_range(data, key, allowed):
    with pytest.raises(SizingConfigError) as info:
        from_toml_dict(data)
    message = str(info.value)
    assert message.startswith(f"{key}: ") and allowed in message, message


def test_the_engine_limits_themselves_are_accepted_and_reach_the_params():
    c = from_toml_dict({"leg_latency_s": TIME_MAX_S, "round_trip_s": TIME_MAX_S,
                        "robust_inputs": {"price_vol": VOL_MAX},
                        "monte_carlo": {"paths": PATHS_MAX, "drift": -VOL_MAX},
                        "fee_model": {"extras": {"kalshi": {"per_order_usd": 1e6, "min_per_order_usd": 1e6}},
                                      "min_order_usd": {"polymarket": 1e6}}})
    p = c.params()
    assert (p.leg_latency_s, p.round_trip_s, p.paths, p.drift) == (1e6, 1e6, 10_000_000, -1e6)
    assert c.robust_inputs.price_vol == 1e6
    assert p.per_order_extra[0] == p.min_per_order[0] == p.min_order[1] == MONEY_FEE_MAX == 10**12
    steps.check_params(p)                          # the twin's (and the engine's) own checks pass


def test_min_order_usd_shows_every_venue_default():
    # SIZING.md: min_order_usd.<venue> (polymarket 1.0, others 0) — the model holds all three
    assert from_toml_dict({}).fee_model.min_order_usd == {"kalshi": 0.0, "polymarket": 1.0, "forecastex": 0.0}
    fee = from_toml_dict({"fee_model": {"min_order_usd": {"kalshi": 0.5}}}).fee_model
    assert fee.min_order_usd == {"kalshi": 0.5, "polymarket": 1.0, "forecastex": 0.0}
    assert [fee.min_order(v) for v in ("kalshi", "polymarket", "forecastex")] == [0.5, 1.0, 0.0]
    dumped = from_toml_dict({}).model_dump()                 # what the dashboard re-validates
    assert from_toml_dict(dumped).params() == SizingParams()
