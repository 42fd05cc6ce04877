"""All gates together: `check` before an execution, `on_execution` after it."""
from __future__ import annotations

from typing import Callable

from arbbot.risk.breaker import CircuitBreaker
from arbbot.risk.killswitch import KillSwitch
from arbbot.risk.limits import DailyLossCap, ExposureLimits


class RiskGates:
    def __init__(self, kill: KillSwitch | None = None, loss: DailyLossCap | None = None,
                 exposure: ExposureLimits | None = None, breaker: CircuitBreaker | None = None) -> None:
        self.kill, self.loss, self.exposure, self.breaker = kill, loss, exposure, breaker

    def stops(self) -> list[str]:
        """The reasons that stop every trade whatever its size (kill switch, daily loss cap),
        checked before an opportunity is sized; `check` repeats them with the rest."""
        return [r for r in (self.kill.reason() if self.kill else None,
                            self.loss.reason() if self.loss else None) if r]

    def check(self, opp, event_of: Callable[[str], str] = lambda m: m) -> list[str]:
        """Reasons not to trade `opp` ([] = allowed). Consumes a HALF_OPEN trial when allowed."""
        out = [r for r in (self.kill.reason() if self.kill else None,
                           self.loss.reason() if self.loss else None,
                           self.exposure.reason(opp.legs, event_of) if self.exposure else None) if r]
        if not out and self.breaker is not None and not self.breaker.allow():
            out.append(f"circuit breaker {self.breaker.state.value} after {self.breaker.failures} failures")
        return out

    def on_execution(self, result, failure: bool | None = False) -> None:
        """Feed an `ExecutionResult`: unwound/naked/failed legs count as breaker failures
        (`failure` None: neither a success nor a failure, nothing traded); the cash flow of an
        unwound or naked execution goes to the daily loss cap (a no-op for a cap backed by the
        order store, which booked the loss when the execution ended)."""
        if self.breaker is not None:
            if failure is None:
                self.breaker.release_trial()
            else:
                (self.breaker.record_failure if failure else self.breaker.record_success)()
        if self.loss is not None and result.state in ("unwound", "naked"):
            self.loss.record(result.cash_flow)

    def on_error(self) -> None:
        """An execution raised instead of returning a result: a breaker failure like a failed one."""
        if self.breaker is not None:
            self.breaker.record_failure()
