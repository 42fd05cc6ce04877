"""Step 5's estimates in the Swift library (`arb_robust_estimate`): `latency`, `depletion_rate` and
`price_volatility` with `robust.py`'s signatures and answers (the twin; the same doubles, checked
by tests/sizing/test_robust_native.py). A running session's samples are `SampleRing`s: their own
float64 buffer is read in place (`SampleRing.raw`), no pair is copied into Python objects; any
other sequence of (t, x) pairs is packed first.

Cost: the twin cleans a full 512-sample ring in ≈ 1 ms of Python per estimate (four sorts, list
building); here it is a few µs plus the call (benchmarks/RESULTS.md, "Step 5 in Swift").
"""
from __future__ import annotations

import struct
from array import array
from itertools import chain

from arbbot.engine.select import native_module
from arbbot.engine.types import EngineInputError, Status
from arbbot.model import Side, Venue
from arbbot.sizing.robust import Estimate, History, RobustParams, check_min_samples

PARAMS = struct.Struct("<ii5d")          # arb_robust_params
LATENCY, DEPLETION, VOLATILITY = 0, 1, 2  # ARB_ESTIMATE_*
_packed: dict[tuple[RobustParams, int], bytes] = {}


def _params(p: RobustParams, kind: int) -> bytes:
    found = _packed.get((p, kind))
    if found is None:
        if PARAMS.size != native_module().ROBUST_PARAMS_SIZE:
            raise RuntimeError(f"arbbot._native arb_robust_params of {native_module().ROBUST_PARAMS_SIZE} bytes, "
                               f"robust_native.py packs {PARAMS.size}: rebuild the engine (pip install -e .)")
        prior = (p.latency_prior, p.depletion_prior, p.volatility_prior)[kind]
        try:
            found = PARAMS.pack(int(p.enabled), p.min_samples, p.window_s, p.mad_z, p.iqr_k, p.ewma_alpha, prior)
        except struct.error as exc:
            raise EngineInputError(Status.ARGUMENT, f"a robust_inputs setting does not fit: {exc}") from None
        _packed[(p, kind)] = found
    return found


def _estimate(kind: int, samples, now: float, p: RobustParams) -> Estimate:
    check_min_samples(p)     # the twin's check, before its shortcut below
    if not samples:      # no sample (a market first seen): the prior whatever the settings, no native call
        return Estimate((p.latency_prior, p.depletion_prior, p.volatility_prior)[kind], 0, True)
    raw = getattr(samples, "raw", None)
    if raw is not None:
        buffer, start = raw()
    else:
        buffer, start = array("d", chain.from_iterable(samples)), 0
    value, count, prior = native_module().robust_estimate(kind, buffer, start, now, _params(p, kind))
    return Estimate(value, count, prior)


def latency(history: History, venue: Venue, now: float, p: RobustParams) -> Estimate:
    """Median order latency of `venue` (s)."""
    return _estimate(LATENCY, history.latency.get(venue, ()), now, p)


def depletion_rate(history: History, market: str, side: Side, now: float, p: RobustParams) -> Estimate:
    """ρ of (market, side), per second."""
    return _estimate(DEPLETION, history.depletion.get((market, side), ()), now, p)


def price_volatility(history: History, market: str, now: float, p: RobustParams) -> Estimate:
    """s of `market`, $/√s."""
    return _estimate(VOLATILITY, history.mids.get(market, ()), now, p)
