"""SplitMix64 (Vigna, splitmix64.c), written out with explicit 64-bit masking.

Bit-for-bit the C reference: `state += 0x9E3779B97F4A7C15`, then the mix. A uniform double in
[0, 1) is `(next() >> 11) × 2^−53` (exact: 53 bits into a double). Swift: `&+`, `&*`, `>>` on
UInt64, `Double(x >> 11) * 0x1.0p-53`.
"""
from __future__ import annotations

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
_TWO_POW_M53 = 2.0 ** -53
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def seed_from_id(opportunity_id: str) -> int:
    """An opportunity id's 16 hex digits read as a big-endian unsigned 64-bit integer."""
    if not isinstance(opportunity_id, str) or len(opportunity_id) != 16 or not _HEX_DIGITS.issuperset(opportunity_id):
        raise ValueError(f"opportunity id {opportunity_id!r} is not 16 hex digits")
    return int(opportunity_id, 16)


class SplitMix64:
    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + GOLDEN_GAMMA) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self) -> float:
        return (self.next() >> 11) * _TWO_POW_M53
