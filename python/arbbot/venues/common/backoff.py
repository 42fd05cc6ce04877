"""Exponential backoff with full jitter, for reconnects and retries."""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    """delay(n) = uniform(0, min(cap, base × 2**n)) ("full jitter"), never below `floor`."""
    base: float = 0.25
    cap: float = 30.0
    floor: float = 0.01
    rng: random.Random | None = None
    attempt: int = 0

    def next_delay(self) -> float:
        rng = self.rng or random
        top = min(self.cap, self.base * (2 ** self.attempt))
        self.attempt += 1
        return max(self.floor, rng.uniform(0, top))

    def reset(self) -> None:
        self.attempt = 0
