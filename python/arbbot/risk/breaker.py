"""Circuit breaker on consecutive execution failures: CLOSED → OPEN → HALF_OPEN → CLOSED/OPEN."""
from __future__ import annotations

import enum
import time
from typing import Callable


class BreakerState(str, enum.Enum):
    CLOSED = "closed"          # trading
    OPEN = "open"              # blocked until the cooldown passes
    HALF_OPEN = "half_open"    # one trial execution allowed


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after `cooldown_s` lets `trials` executions
    through (HALF_OPEN); a success closes it, a failure re-opens it for another cooldown."""

    def __init__(self, threshold: int = 3, cooldown_s: float = 60.0, *, trials: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if threshold < 1 or cooldown_s < 0 or trials < 1:
            raise ValueError("threshold ≥ 1, cooldown_s ≥ 0, trials ≥ 1")
        self.threshold, self.cooldown_s, self.trials, self.clock = threshold, cooldown_s, trials, clock
        self._state = BreakerState.CLOSED
        self.failures = 0
        self._opened_at = 0.0
        self._in_trial = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self.clock() - self._opened_at >= self.cooldown_s:
            self._state, self._in_trial = BreakerState.HALF_OPEN, 0
        return self._state

    def allow(self) -> bool:
        """May an execution start now? In HALF_OPEN this consumes a trial slot."""
        st = self.state
        if st is BreakerState.CLOSED:
            return True
        if st is BreakerState.HALF_OPEN and self._in_trial < self.trials:
            self._in_trial += 1
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self._state = BreakerState.CLOSED

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.threshold:
            self._state, self._opened_at = BreakerState.OPEN, self.clock()
