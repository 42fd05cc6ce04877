"""Order statistics of measured samples (latencies): one definition of a quantile."""
from __future__ import annotations


def quantile(samples, q: float) -> int:
    """The `q` quantile (nearest rank, lower) of non-empty integer samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
