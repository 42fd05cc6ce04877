"""Token bucket rate limiter (Kalshi tiers: read/write tokens per second, cost per request)."""
from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """`rate` tokens per second, holding at most `capacity`. `acquire(cost)` waits for tokens.

    `penalize(seconds)` empties the bucket and blocks for that long (used after a 429).
    """

    def __init__(self, rate: float, capacity: float, *, clock=time.monotonic) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be > 0")
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._clock = clock
        self._stamp = clock()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_acquire(self, cost: float = 1.0) -> float:
        """Take `cost` tokens if available and return 0, else return seconds to wait."""
        self._refill()
        now = self._clock()
        if now < self._blocked_until:
            return self._blocked_until - now
        if self._tokens >= cost:
            self._tokens -= cost
            return 0.0
        return (cost - self._tokens) / self.rate

    async def acquire(self, cost: float = 1.0) -> None:
        async with self._lock:
            while True:
                wait = self.try_acquire(cost)
                if wait <= 0:
                    return
                await asyncio.sleep(wait)

    def penalize(self, seconds: float) -> None:
        self._refill()
        self._tokens = 0.0
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)


# Kalshi tiers, tokens per second (read, write); default request cost 10 (VENUES.md).
KALSHI_TIERS = {
    "basic": (200, 100),
    "advanced": (300, 300),
    "premier": (1000, 1000),
    "paragon": (2000, 2000),
    "prime": (4000, 4000),
}
