"""Step 5 in Swift (`arb_robust_estimate`, `arbbot.sizing.robust_native`) against its twin
(`arbbot.sizing.robust`): the same Estimate — value to the bit, raw count, prior flag — on random
rings (wrapped, out of time order, tied times, outliers, non-finite values, every window edge),
hand-computed values, and the boundary's errors. The session's sizing uses these through
`pipeline.leg_estimates` (`memo["estimator"]`, chosen by ARB_ENGINE_EVAL)."""
from __future__ import annotations

import dataclasses
import math
from array import array

import pytest
from hypothesis import given, settings, strategies as st

from arbbot.engine.select import native_module
from arbbot.model import Side, Venue
from arbbot.run.samples import SampleRing
from arbbot.sizing import robust, robust_native
from arbbot.sizing.robust import History, RobustParams

pytestmark = pytest.mark.skipif(native_module() is None, reason="arbbot._native not built")
FUNCTIONS = ("latency", "depletion_rate", "price_volatility")


def _both(name: str, history: History, now: float, p: RobustParams):
    key = {"latency": (Venue.KALSHI,), "depletion_rate": ("m", Side.YES), "price_volatility": ("m",)}[name]
    return (getattr(robust, name)(history, *key, now, p), getattr(robust_native, name)(history, *key, now, p))


def _history(samples) -> History:
    return History({Venue.KALSHI: samples}, {("m", Side.YES): samples}, {"m": samples}, {})


def _same(a, b) -> bool:
    return (a.value == b.value or (math.isnan(a.value) and math.isnan(b.value))) and \
        a.samples == b.samples and a.prior == b.prior


values = st.one_of(st.floats(-5, 5, allow_nan=False), st.sampled_from([0.0, 1.0, 1e4, -1e4]),
                   st.sampled_from([math.nan, math.inf, -math.inf]))
times = st.one_of(st.integers(0, 40).map(float), st.floats(0, 40, allow_nan=False), st.just(math.nan))
params = st.builds(RobustParams, enabled=st.booleans(), window_s=st.sampled_from([0.0, 5.0, 12.5, 30.0, 1e9]),
                   mad_z=st.sampled_from([0.3, 0.6745, 1.0, 3.5, 100.0]), iqr_k=st.sampled_from([0.0, 0.5, 1.5]),
                   ewma_alpha=st.sampled_from([0.1, 0.5, 1.0]), min_samples=st.integers(1, 12))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(times, values), max_size=60), st.integers(1, 64), params,
       st.floats(0, 45, allow_nan=False))
def test_swift_estimates_equal_the_twin_on_random_rings(pairs, maxlen, p, now):
    ring = SampleRing(pairs, maxlen=maxlen)           # wraps when pairs outnumber maxlen: start ≠ 0
    for name in FUNCTIONS:
        a, b = _both(name, _history(ring), now, p)
        assert _same(a, b), (name, a, b)
        c, d = _both(name, _history(tuple(ring)), now, p)   # a plain sequence is packed, same answer
        assert _same(c, a) and _same(d, a), (name, c, d)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.001, 2.0), min_size=21, max_size=512), st.floats(0.01, 1.0))
def test_full_rings_in_time_order_as_a_session_keeps_them(xs, alpha):
    """A running session's shape: one sample a second, up to a full 512-sample ring, the defaults
    (21 samples at least: 20 volatility samples from 21 mids)."""
    ring = SampleRing(((1000.0 + i, x) for i, x in enumerate(xs)), maxlen=512)
    p = dataclasses.replace(RobustParams(), ewma_alpha=alpha)
    for name in FUNCTIONS:
        a, b = _both(name, _history(ring), 1000.0 + len(xs), p)
        assert not a.prior and _same(a, b), (name, a, b)


def test_hand_computed_depletion_and_the_empty_filter():
    # median 0.25, MAD 0.1; z(10) = 65.8 > 3.5 dropped; survivors not clamped; EWMA 0.1 → 0.11 → 0.129
    h = _history(((1.0, 0.1), (2.0, 0.2), (3.0, 0.3), (4.0, 10.0)))
    p = RobustParams(min_samples=3)
    for est in _both("depletion_rate", h, 10.0, p):
        assert est.value == pytest.approx(0.129, rel=1e-12) and est.samples == 4 and not est.prior
    # 0, 1, 0, 1 with mad_z 0.5: every z is 0.6745 → nothing survives → the prior (the twin raised
    # IndexError here before: a positive mad_z below 0.6745 was accepted by the config)
    h = _history(((1.0, 0.0), (2.0, 1.0), (3.0, 0.0), (4.0, 1.0)))
    p = RobustParams(min_samples=3, mad_z=0.5)
    for name, prior in (("latency", p.latency_prior), ("depletion_rate", p.depletion_prior)):
        for est in _both(name, h, 10.0, p):
            assert est.prior and est.value == prior and est.samples == 4
    # as mids: ΔP/√Δt = 1, −1, 1 → median 1, MAD 0 → nothing dropped; fences [−1.5, 2.5] → RMS 1
    for est in _both("price_volatility", h, 10.0, p):
        assert not est.prior and est.value == 1.0 and est.samples == 3


def test_non_finite_values_are_ignored_by_both():
    h = _history(((1.0, 0.2), (2.0, math.nan), (3.0, 0.4), (4.0, math.inf), (5.0, 0.6)))
    p = RobustParams(min_samples=3)
    a, b = _both("latency", h, 10.0, p)
    assert a == b and a.value == 0.4 and a.samples == 3


def test_the_boundary_refuses_bad_arguments_with_a_code():
    mod = native_module()
    good = robust_native._params(RobustParams(), 0)
    ring = array("d", [1.0, 0.5, 2.0, 0.7])
    with pytest.raises(mod.NativeError) as info:
        mod.robust_estimate(9, ring, 0, 5.0, good)
    assert info.value.args[0] == 5                                    # ARB_E_KIND
    with pytest.raises(mod.NativeError) as info:
        mod.robust_estimate(0, ring, 2, 5.0, good)
    assert info.value.args[0] == 6                                    # ARB_E_LENGTH: start past the last pair
    with pytest.raises(mod.NativeError) as info:
        mod.robust_estimate(0, ring, 0, math.nan, good)
    assert info.value.args[0] == 13                                   # ARB_E_FLOAT
    bad = robust_native.PARAMS.pack(1, 20, 100.0, 0.0, 1.5, 0.1, 0.5)     # mad_z 0
    with pytest.raises(mod.NativeError) as info:
        mod.robust_estimate(0, ring, 0, 5.0, bad)
    assert info.value.args[0] == 13
    with pytest.raises(mod.NativeError) as info:
        mod.robust_estimate(0, ring, 0, 5.0, good[:-8])
    assert info.value.args[0] == 6                                    # params record of the wrong length
    with pytest.raises(TypeError):
        mod.robust_estimate(0, array("d", [1.0, 0.5, 2.0]), 0, 5.0, good)   # not whole pairs
    with pytest.raises(TypeError):
        mod.robust_estimate(0, array("q", [1, 5]), 0, 5.0, good)             # not float64


@pytest.mark.parametrize("estimator", [robust, robust_native])
@pytest.mark.parametrize("enabled", [True, False])
def test_leg_estimates_give_a_key_without_samples_what_the_estimator_gives(estimator, enabled):
    """A (market, side) or market with no sample is its prior with 0 samples (`robust_native`
    answers it without the native call): through `pipeline.leg_estimates`, the same Estimate either
    estimator returns, step 5 on or off; a key with samples is estimated from them."""
    from arbbot.sizing.config import SizingConfig
    from arbbot.sizing.pipeline import leg_estimates
    from arbbot.sizing.trade import TradeLeg
    cfg = SizingConfig.model_validate({"robust_inputs": {"enabled": enabled, "depletion_rate": 0.7,
                                                         "price_vol": 0.03}, "min_samples": 2})
    p = RobustParams.from_config(cfg)
    full = SampleRing([(float(t), 0.2 + 0.01 * t) for t in range(5)])
    history = History({}, {("k:A", Side.YES): full, ("k:B", Side.NO): SampleRing()}, {"k:A": full}, {})
    legs = (TradeLeg("k:A", Side.YES, None, None), TradeLeg("k:B", Side.NO, None, None),
            TradeLeg("k:C", Side.YES, None, None))
    memo = {"params": p, "estimator": estimator}
    values, _, record = leg_estimates(legs, history, 10.0, cfg, memo)
    for leg in legs:
        want_rho = estimator.depletion_rate(history, leg.market, leg.side, 10.0, p)
        want_s = estimator.price_volatility(history, leg.market, 10.0, p)
        assert _same(memo[("rho", leg.market, leg.side)], want_rho)
        assert _same(memo[("vol", leg.market)], want_s)
    assert values[2] == (0.7, 0.03) and values[1] == (0.7, 0.03)       # no sample, or an empty ring: the priors
    assert values[0] != (0.7, 0.03) if enabled else values[0] == (0.7, 0.03)
