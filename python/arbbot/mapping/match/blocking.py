"""Candidate pairs between two venues' listings without comparing every pair.

Two sources, unioned per left listing:
- an inverted index of blocking keys (content tokens, names, dates, thresholds): each right
  listing sharing keys scores the sum of the keys' IDF weights (ln(N / df)); keys in more than
  `MAX_DF_SHARE` of the right listings (or `MIN_MAX_DF` when that is larger) are not indexed —
  they block nothing. The `TOP_KEYS` best-scoring right listings are kept;
- the `TOP_EMBED` nearest right listings by embedding cosine (one matrix product).
Cost: O(Σ postings) for the index and O(L × R × 256) flops for the cosines.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from arbbot.mapping.match.features import Features

TOP_KEYS = 12
TOP_EMBED = 6
MAX_DF_SHARE = 0.05
MIN_MAX_DF = 40


def keys(f: Features) -> set[str]:
    out = {f"t:{t}" for t in f.tokens if len(t) > 1 or t.isdigit()}
    out |= {f"n:{n}" for n in f.names}
    out |= {f"d:{y}-{m}" for y, m, _ in f.dates if m}
    out |= {f"v:{v}" for _, v in f.values}
    return out


def candidates(left: list[Features], right: list[Features], left_vecs: np.ndarray,
               right_vecs: np.ndarray) -> list[tuple[int, int]]:
    """(left index, right index) pairs worth scoring, each once, left-major order."""
    postings: dict[str, list[int]] = defaultdict(list)
    for j, f in enumerate(right):
        for k in keys(f):
            postings[k].append(j)
    max_df = max(MIN_MAX_DF, int(MAX_DF_SHARE * len(right)))
    n = max(len(right), 1)
    weight = {k: math.log(n / len(js)) + 1e-3 for k, js in postings.items() if len(js) <= max_df}
    out: list[tuple[int, int]] = []
    sims = left_vecs @ right_vecs.T if len(left) and len(right) else np.zeros((len(left), len(right)))
    k_embed = min(TOP_EMBED, len(right))
    for i, f in enumerate(left):
        acc: dict[int, float] = defaultdict(float)
        for k in keys(f):
            w = weight.get(k)
            if w is not None:
                for j in postings[k]:
                    acc[j] += w
        chosen = set(sorted(acc, key=acc.__getitem__, reverse=True)[:TOP_KEYS])
        if k_embed:
            chosen.update(int(j) for j in np.argpartition(-sims[i], k_embed - 1)[:k_embed])
        out.extend((i, j) for j in sorted(chosen))
    return out
