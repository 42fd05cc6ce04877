"""Step 5 `robust_inputs` (SIZING.md): estimates from history, cleaned of outliers.

Each statistic reads the samples of the last `window_s` seconds (`t ≥ now − window_s`), keeps time
order, drops samples whose MAD z-score `0.6745 × |x − median| / MAD` exceeds `mad_z` (no drop when
MAD = 0), then winsorizes the survivors to `[Q1 − iqr_k × IQR, Q3 + iqr_k × IQR]` with R type-7
quartiles of the survivors. Fewer than `min_samples` raw samples in the window, or none left by the
MAD filter → the prior. A sample with a non-finite value is ignored. Twin of the Swift
`arb_robust_estimate` (`robust_native`), which gives the same doubles.

- order latency per venue (seconds) = median of the cleaned samples (prior: `round_trip_s`,
  which `pricing.batches` uses when `samples < min_samples`);
- depletion rate ρ per (market, side) (per second) = EWMA with weight `ewma_alpha`, started at the
  first cleaned sample, of per-second samples (size traded + size removed at the best ask) /
  best-ask size (`depletion_sample`);
- price volatility s per market ($/√s) = RMS of `ΔP / √Δt` over consecutive mid observations
  (`volatility_samples`: one sample per pair of consecutive mids with Δt > 0).

Fill outcomes are raw counts (step 2) and pass through uncleaned. Times are seconds (floats, any
epoch), prices dollars. Pure functions; no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from arbbot.engine.types import INT32_MAX, EngineInputError, Status
from arbbot.model import Side, Venue

MAD_SCALE = 0.6745        # the MAD z-score's consistency constant

Sample = tuple[float, float]   # (time s, value)


# ---- cleaning -------------------------------------------------------------------------------------

def median(xs: Sequence[float]) -> float:
    """The median (mean of the two middle values for an even count); xs non-empty."""
    s = sorted(xs)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def quantile7(xs: Sequence[float], p: float) -> float:
    """R type-7 quantile: h = (n − 1) p, x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋ + 1] − x[⌊h⌋]) on sorted xs."""
    s = sorted(xs)
    h = (len(s) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def mad_filter(xs: Sequence[float], mad_z: float) -> list[float]:
    """Drop values whose 0.6745 × |x − median| / MAD exceeds `mad_z`; MAD = 0 keeps all. Order kept."""
    if not xs:
        return []
    m = median(xs)
    mad = median([abs(x - m) for x in xs])
    if mad == 0.0:
        return list(xs)
    return [x for x in xs if MAD_SCALE * abs(x - m) / mad <= mad_z]


def winsorize(xs: Sequence[float], iqr_k: float) -> list[float]:
    """Clamp each value to [Q1 − k·IQR, Q3 + k·IQR] (type-7 quartiles of xs). Order kept."""
    if not xs:
        return []
    q1, q3 = quantile7(xs, 0.25), quantile7(xs, 0.75)
    iqr = q3 - q1
    low, high = q1 - iqr_k * iqr, q3 + iqr_k * iqr
    return [min(max(x, low), high) for x in xs]


def clean(xs: Sequence[float], mad_z: float, iqr_k: float) -> list[float]:
    """MAD filter, then winsorize the survivors (time order kept, for the EWMA)."""
    return winsorize(mad_filter(xs, mad_z), iqr_k)


def window(samples: Iterable[Sample], now: float, window_s: float) -> list[float]:
    """Values of the samples with `now − window_s ≤ t ≤ now`, in time order (stable); a sample
    with a non-finite value is ignored (a NaN t is outside any window)."""
    return [x for _, x in _windowed(samples, now, window_s)]


def _windowed(samples: Iterable[Sample], now: float, window_s: float) -> list[Sample]:
    low = now - window_s
    return sorted(((t, x) for t, x in samples if low <= t <= now and math.isfinite(x)), key=lambda s: s[0])


# ---- statistics -----------------------------------------------------------------------------------

def ewma(xs: Sequence[float], alpha: float) -> float:
    """e_1 = x_1; e_i = α x_i + (1 − α) e_{i−1}; xs non-empty, in time order."""
    e = xs[0]
    for x in xs[1:]:
        e = alpha * x + (1.0 - alpha) * e
    return e


def rms(xs: Sequence[float]) -> float:
    """sqrt(Σ x² / n); xs non-empty."""
    total = 0.0
    for x in xs:
        total += x * x
    return math.sqrt(total / len(xs))


def depletion_sample(traded: float, removed: float, best_ask_size: float) -> float:
    """One per-second depletion sample: (size traded + size removed at the best ask) / best-ask size
    (contracts; best_ask_size > 0)."""
    return (traded + removed) / best_ask_size


def volatility_samples(mids: Iterable[Sample]) -> list[Sample]:
    """(t, ΔP / √Δt) for each pair of consecutive mid observations (t s, P $) with Δt > 0, dated at
    the later one; mids are taken in time order."""
    ordered = sorted(mids, key=lambda s: s[0])
    out = []
    for (t0, p0), (t1, p1) in zip(ordered, ordered[1:]):
        if t1 > t0:
            out.append((t1, (p1 - p0) / math.sqrt(t1 - t0)))
    return out


# ---- estimates ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Estimate:
    """One estimate: `value` (its unit depends on the statistic), the raw samples in the window,
    and whether it is the prior (fewer than min_samples raw samples, or step 5 disabled)."""
    value: float
    samples: int
    prior: bool


@dataclass(frozen=True)
class History:
    """Raw samples for the estimates. `latency[venue]`: (t, seconds); `depletion[(market, side)]`:
    (t, per-second depletion sample); `mids[market]`: (t, mid $); `fills[venue]`: (fills, attempts)
    IOC outcomes, all recorded (no window, never cleaned). Market names are `venue:id`."""
    latency: dict[Venue, tuple[Sample, ...]] = field(default_factory=dict)
    depletion: dict[tuple[str, Side], tuple[Sample, ...]] = field(default_factory=dict)
    mids: dict[str, tuple[Sample, ...]] = field(default_factory=dict)
    fills: dict[Venue, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RobustParams:
    """What step 5 reads (from `[sizing]` and `[sizing.robust_inputs]`)."""
    enabled: bool = True
    window_s: float = 86_400.0
    mad_z: float = 3.5
    iqr_k: float = 1.5
    ewma_alpha: float = 0.1
    min_samples: int = 20
    depletion_prior: float = 0.5      # per s
    volatility_prior: float = 0.01    # $/√s
    latency_prior: float = 0.15       # s (round_trip_s)

    @classmethod
    def from_config(cls, cfg) -> "RobustParams":
        """From a `SizingConfig`."""
        r = cfg.robust_inputs
        return cls(r.enabled, r.window_s, r.mad_z, r.iqr_k, r.ewma_alpha, cfg.min_samples, r.depletion_rate,
                   r.price_vol, cfg.round_trip_s)


def check_min_samples(p: RobustParams) -> None:
    """`min_samples` as arb_robust_params holds it: an int in 0…2^31 − 1, else EngineInputError
    ARGUMENT (the Swift estimate's code for a negative one), on both estimators."""
    m = p.min_samples
    if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m <= INT32_MAX:
        raise EngineInputError(Status.ARGUMENT, f"min_samples {m!r} must be an int in 0…{INT32_MAX}")


def _estimate(raw: list[float], p: RobustParams, prior: float, statistic) -> Estimate:
    """The prior with fewer than `min_samples` raw samples, step 5 off, or none left by the MAD
    filter (a `mad_z` below 0.6745 can drop them all); else the statistic of the cleaned ones."""
    check_min_samples(p)
    if not p.enabled or len(raw) < p.min_samples:
        return Estimate(prior, len(raw), True)
    cleaned = clean(raw, p.mad_z, p.iqr_k)
    if not cleaned:
        return Estimate(prior, len(raw), True)
    return Estimate(statistic(cleaned), len(raw), False)


def latency(history: History, venue: Venue, now: float, p: RobustParams) -> Estimate:
    """Median order latency of `venue` (s)."""
    return _estimate(window(history.latency.get(venue, ()), now, p.window_s), p, p.latency_prior, median)


def depletion_rate(history: History, market: str, side: Side, now: float, p: RobustParams) -> Estimate:
    """ρ of (market, side), per second."""
    raw = window(history.depletion.get((market, side), ()), now, p.window_s)
    return _estimate(raw, p, p.depletion_prior, lambda xs: ewma(xs, p.ewma_alpha))


def price_volatility(history: History, market: str, now: float, p: RobustParams) -> Estimate:
    """s of `market`, $/√s: consecutive mids inside the window, then their ΔP/√Δt samples."""
    raw = [x for _, x in volatility_samples(_windowed(history.mids.get(market, ()), now, p.window_s))]
    return _estimate(raw, p, p.volatility_prior, rms)
