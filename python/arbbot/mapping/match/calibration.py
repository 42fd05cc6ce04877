"""Raw score → calibrated confidence (the chance the pair really settles as its relation says).

An isotonic (pool-adjacent-violators) fit of "the proposed relation is right" on the raw score
over the tuning part of the labelled set; each pooled block's rate is Laplace-smoothed
((right + 1) / (n + 2)), so a small block never claims certainty. The fitted steps ship as
`calibration.json` beside this module: `points` is a list of `[raw_lower_bound, confidence]`,
raw ascending; a raw score takes the confidence of the last bound at or below it (0 below the
first). `python -m arbbot.mapping.match.evaluate LABELLED --fit` rewrites the file.
"""
from __future__ import annotations

import json
from bisect import bisect_right
from functools import lru_cache
from importlib import resources
from pathlib import Path

FILE = "calibration.json"


def fit(raws: list[float], right: list[bool]) -> list[tuple[float, float]]:
    """Steps [(raw lower bound, confidence)] from the pairs' raw scores and correctness."""
    order = sorted(range(len(raws)), key=lambda i: raws[i])
    blocks: list[list[float]] = []            # [lowest raw, right count, n]
    for i in order:
        blocks.append([raws[i], float(right[i]), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            lo, r, n = blocks.pop()
            blocks[-1][1] += r
            blocks[-1][2] += n
    return [(round(lo, 4), round((r + 1) / (n + 2), 4)) for lo, r, n in blocks]


def apply(points: list[tuple[float, float]], raw: float) -> float:
    k = bisect_right([p[0] for p in points], raw)
    return points[k - 1][1] if k else 0.0


@lru_cache(maxsize=1)
def shipped() -> list[tuple[float, float]]:
    doc = json.loads(resources.files("arbbot.mapping.match").joinpath(FILE).read_text(encoding="utf-8"))
    return [(float(lo), float(c)) for lo, c in doc["points"]]


def confidence(raw: float) -> float:
    return apply(shipped(), raw)


def write(points: list[tuple[float, float]], fitted_on: str, path: Path | None = None) -> Path:
    target = path or Path(__file__).with_name(FILE)
    target.write_text(json.dumps({"fitted_on": fitted_on, "points": [list(p) for p in points]}, indent=1) + "\n",
                      encoding="utf-8")
    shipped.cache_clear()
    return target
