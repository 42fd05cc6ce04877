"""Calibration and accuracy on the labelled set (python/tests/mapping/data/labelled.jsonl):
the shipped calibration is the fit on its tune split, and on both splits — the held-out one
never tuned on — pairs at confidence ≥ 0.9 are right at least 90% of the time."""
from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from arbbot.mapping.match import calibration
from arbbot.mapping.match.command import DEFAULT_MIN_CONFIDENCE
from arbbot.mapping.match.evaluate import bands, end_to_end, load, refit, run

LABELLED = Path(__file__).parent / "data" / "labelled.jsonl"
TRAPS = {"date", "threshold", "unit", "comparator", "subset", "source", "orientation", "subject"}


@lru_cache(maxsize=1)
def pairs():
    return load(LABELLED)


def split(name: str):
    return [p for p in pairs() if p.split == name]


def test_fit_is_isotonic_and_laplace_smoothed() -> None:
    steps = calibration.fit([0.1, 0.2, 0.3, 0.4], [False, True, False, True])
    assert steps == [(0.1, 0.3333), (0.2, 0.5), (0.4, 0.6667)]
    assert calibration.apply(steps, 0.05) == 0.0
    assert calibration.apply(steps, 0.35) == 0.5
    assert calibration.apply(steps, 0.99) == 0.6667


def test_shipped_calibration_is_the_tune_split_fit() -> None:
    assert refit(pairs()) == calibration.shipped()


def test_labelled_set_covers_every_trap_and_both_splits() -> None:
    assert {p.trap for p in pairs() if p.trap} == TRAPS
    counts = Counter(p.split for p in pairs())
    assert counts["holdout"] >= 30 and counts["tune"] >= 80
    assert {p.label for p in split("holdout")} == {"same", "inverse", "different"}


@pytest.mark.parametrize("name, min_handled", [("tune", 1.0), ("holdout", 0.9)])
def test_settlement_check_on_labelled_traps(name: str, min_handled: float) -> None:
    traps = [o for o in run(split(name)) if o.pair.trap]
    assert sum(o.right for o in traps) / len(traps) >= min_handled


@pytest.mark.parametrize("name", ["tune", "holdout"])
def test_precision_and_recall_goals(name: str) -> None:
    at_default, scored = end_to_end(split(name), DEFAULT_MIN_CONFIDENCE)
    assert at_default.precision >= 0.9 and at_default.recall >= 0.6
    at_90, _ = end_to_end(split(name), 0.9)
    assert at_90.precision >= 0.9
    lo, hi, n, right, mean = bands(scored)[0]
    assert (lo, hi) == (0.9, 1.0) and n >= 10 and right / n >= 0.9
