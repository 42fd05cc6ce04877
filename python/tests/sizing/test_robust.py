"""Step 5 `robust_inputs`: cleaning and statistics on hand-computed samples (SIZING.md step 5)."""
from __future__ import annotations

import math

import pytest

from arbbot.model import Side, Venue
from arbbot.sizing.robust import (
    History, RobustParams, clean, depletion_rate, depletion_sample, ewma, latency, mad_filter, median,
    price_volatility, quantile7, rms, volatility_samples, window, winsorize,
)


def test_type7_quartiles():
    # n = 4: Q1 at h = 0.75 → 1 + 0.75 × (2 − 1) = 1.75; Q3 at h = 2.25 → 3 + 0.25 × 1 = 3.25
    assert quantile7([4, 1, 3, 2], 0.25) == 1.75
    assert quantile7([4, 1, 3, 2], 0.75) == 3.25
    assert quantile7([7], 0.75) == 7


def test_mad_filter_drops_the_outlier():
    # median 3, |x − 3| = 2, 1, 0, 1, 97 → MAD 1; z(100) = 0.6745 × 97 = 65.4 > 3.5; z(1) = 1.349 kept
    assert mad_filter([1, 2, 3, 4, 100], 3.5) == [1, 2, 3, 4]
    # z(1) = 1.349 > 1.3 drops 1 as well; z(2) = z(4) = 0.6745 kept
    assert mad_filter([1, 2, 3, 4, 100], 1.3) == [2, 3, 4]


def test_mad_zero_keeps_everything_and_winsorize_clamps_to_the_quartiles():
    # median 5, MAD 0 → no MAD drop; Q1 = Q3 = 5, IQR 0 → every value clamped to [5, 5]
    assert mad_filter([5, 5, 5, 5, 9], 3.5) == [5, 5, 5, 5, 9]
    assert clean([5, 5, 5, 5, 9], 3.5, 1.5) == [5, 5, 5, 5, 5]


def test_winsorize_in_time_order():
    # Q1 (h = 1) = 2, Q3 (h = 3) = 4, IQR 2, k 0.5 → [1, 5]: 10 → 5, order kept
    assert winsorize([10, 1, 2, 3, 4], 0.5) == [5, 1, 2, 3, 4]
    # the MAD step keeps 10 (z = 0.6745 × 7 = 4.72 < 100), winsorizing clamps it
    assert clean([1, 2, 3, 4, 10], 100, 0.5) == [1, 2, 3, 4, 5]


def test_statistics():
    assert median([3, 1, 2]) == 2 and median([4, 1, 3, 2]) == 2.5
    assert ewma([1, 2, 4], 0.5) == 2.75            # 1 → 1.5 → 2.75
    assert rms([3, -4]) == math.sqrt(12.5)
    assert depletion_sample(30, 10, 200) == 0.2    # (traded + removed) / best-ask size
    # mids 0.50 @ 0 s, 0.52 @ 4 s, 0.51 @ 5 s, 0.51 @ 5 s (Δt 0 skipped): ΔP/√Δt = 0.01, −0.01
    samples = volatility_samples([(5, 0.51), (0, 0.50), (4, 0.52), (5, 0.51)])
    assert [t for t, _ in samples] == [4, 5]
    assert samples[0][1] == pytest.approx(0.01, abs=1e-15) and samples[1][1] == pytest.approx(-0.01, abs=1e-15)


def test_window_keeps_recent_samples_in_time_order():
    assert window([(100, 2.0), (40, 9.0), (60, 1.0)], now=100, window_s=50) == [1.0, 2.0]


P = RobustParams(min_samples=3, window_s=100)


def test_fewer_than_min_samples_is_the_prior():
    h = History(latency={Venue.KALSHI: ((1, 0.2), (2, 0.3))})
    est = latency(h, Venue.KALSHI, 10, P)
    assert (est.value, est.samples, est.prior) == (0.15, 2, True)
    # samples outside the window do not count
    h = History(latency={Venue.KALSHI: ((1, 0.2), (2, 0.3), (3, 0.4))})
    assert latency(h, Venue.KALSHI, 200, P).prior


def test_latency_median_after_cleaning():
    # 0.1, 0.2, 0.3, 9.0: median 0.25, MAD median(0.15, 0.05, 0.05, 8.75) = 0.1; z(9) = 59 → dropped
    h = History(latency={Venue.POLYMARKET: tuple(enumerate([0.1, 0.2, 0.3, 9.0]))})
    est = latency(h, Venue.POLYMARKET, 10, P)
    assert est.value == pytest.approx(0.2) and est.samples == 4 and not est.prior


def test_depletion_ewma_started_at_the_first_sample():
    # α 0.1 over 0.4, 0.6, 0.5 (no outlier, no clamp: Q1 0.45, Q3 0.55, k 1.5 → [0.3, 0.7])
    h = History(depletion={("kalshi:K", Side.NO): ((1, 0.4), (2, 0.6), (3, 0.5))})
    est = depletion_rate(h, "kalshi:K", Side.NO, 10, P)
    assert est.value == pytest.approx(0.1 * 0.5 + 0.9 * (0.1 * 0.6 + 0.9 * 0.4))   # 0.4 → 0.42 → 0.428
    assert depletion_rate(h, "kalshi:K", Side.YES, 10, P).value == 0.5            # another side: prior


def test_volatility_rms_of_mid_changes():
    # mids 0.50, 0.52, 0.51, 0.53 at 0, 1, 2, 3 s → ΔP/√Δt = 0.02, −0.01, 0.02: RMS = sqrt(0.0009/3)
    h = History(mids={"polymarket:P": ((0, 0.50), (1, 0.52), (2, 0.51), (3, 0.53))})
    est = price_volatility(h, "polymarket:P", 10, P)
    assert est.value == pytest.approx(math.sqrt(0.0009 / 3)) and est.samples == 3


def test_disabled_makes_every_estimate_its_prior():
    h = History(mids={"polymarket:P": ((0, 0.50), (1, 0.52), (2, 0.51), (3, 0.53))})
    est = price_volatility(h, "polymarket:P", 10, RobustParams(enabled=False, min_samples=3))
    assert (est.value, est.prior) == (0.01, True)
