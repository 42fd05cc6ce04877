"""Circuit breaker on consecutive execution failures: CLOSED → OPEN → HALF_OPEN → CLOSED/OPEN.

Optionally persisted (`persistence=` an `OrderStore`, or anything with `breaker_state(name)` and
`save_breaker_state(name, state, failures, opened_at_ms, cooldown_ms)`): every change is written
with the wall-clock time it opened, and the state is loaded at construction, so a restarted bot
keeps an open breaker open for the rest of its cooldown and `arbbot status` sees it from another
process.
"""
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
    through (HALF_OPEN); a success closes it, a failure re-opens it for another cooldown.

    `clock` (seconds, monotonic) times the cooldown; `wall` (Unix seconds) dates the opening for
    persistence. A restored OPEN breaker keeps the cooldown it had left (wall-clock time elapsed
    since it opened is subtracted); a restored HALF_OPEN one allows a fresh trial."""

    def __init__(self, threshold: int = 3, cooldown_s: float = 60.0, *, trials: int = 1,
                 clock: Callable[[], float] = time.monotonic, persistence=None, name: str = "executions",
                 wall: Callable[[], float] = time.time) -> None:
        if threshold < 1 or cooldown_s < 0 or trials < 1:
            raise ValueError("threshold ≥ 1, cooldown_s ≥ 0, trials ≥ 1")
        self.threshold, self.cooldown_s, self.trials, self.clock = threshold, cooldown_s, trials, clock
        self.persistence, self.name, self.wall = persistence, name, wall
        self._state = BreakerState.CLOSED
        self.failures = 0
        self._opened_at = 0.0              # clock() when it last opened
        self._opened_wall_ms = 0           # wall ms when it last opened (persisted; 0 = never)
        self._in_trial = 0
        if persistence is not None:
            self._restore(persistence.breaker_state(name))

    def _restore(self, row) -> None:
        if row is None:
            return
        self.failures, self._opened_wall_ms = row.failures, row.opened_at_ms
        self._state = BreakerState(row.state)
        if self._state is BreakerState.OPEN:
            elapsed = max(0.0, self.wall() - row.opened_at_ms / 1000)
            self._opened_at = self.clock() - elapsed

    def _save(self) -> None:
        if self.persistence is not None:
            self.persistence.save_breaker_state(self.name, self._state.value, self.failures, self._opened_wall_ms,
                                                int(round(self.cooldown_s * 1000)))

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self.clock() - self._opened_at >= self.cooldown_s:
            self._state, self._in_trial = BreakerState.HALF_OPEN, 0
            self._save()
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
        changed = self.failures != 0 or self._state is not BreakerState.CLOSED
        self.failures = 0
        self._state = BreakerState.CLOSED
        if changed:
            self._save()

    def release_trial(self) -> None:
        """A trial allowed in HALF_OPEN that traded nothing (refused, or aborted before its first
        order filled for a reason that is not the venue's): its slot is free again, and nothing
        is recorded."""
        if self._state is BreakerState.HALF_OPEN and self._in_trial > 0:
            self._in_trial -= 1

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.threshold:
            self._state, self._opened_at = BreakerState.OPEN, self.clock()
            self._opened_wall_ms = int(self.wall() * 1000)
        self._save()
