"""Risk gates in front of execution: kill switch, daily loss cap, exposure limits, circuit breaker.

    gates = RiskGates(KillSwitch(path), DailyLossCap(cap, store, day_start_utc="00:00"),
                      ExposureLimits(per_venue, per_event),
                      CircuitBreaker(threshold, cooldown_s, persistence=store))
    reasons = gates.check(opportunity, event_of)   # [] = may trade
    gates.on_execution(result, failure=...)        # called by the Executor (risk=gates)
    gates.on_error()                               # an execution raised: a breaker failure
Money in µ$; clocks are injectable (seconds) for tests. With the order store the daily loss and
the breaker's state are durable (they survive restarts and are visible to `arbbot status`).
"""
from arbbot.risk.breaker import BreakerState, CircuitBreaker
from arbbot.risk.gates import RiskGates
from arbbot.risk.killswitch import KillSwitch
from arbbot.risk.limits import DailyLossCap, ExposureLimits, parse_day_start, risk_day_ms

__all__ = ["BreakerState", "CircuitBreaker", "DailyLossCap", "ExposureLimits", "KillSwitch", "RiskGates",
           "parse_day_start", "risk_day_ms"]
