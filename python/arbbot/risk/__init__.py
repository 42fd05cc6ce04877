"""Risk gates in front of execution: kill switch, daily loss cap, exposure limits, circuit breaker.

    gates = RiskGates(KillSwitch(path), DailyLossCap(cap), ExposureLimits(per_venue, per_event),
                      CircuitBreaker(threshold, cooldown_s))
    reasons = gates.check(opportunity, event_of)   # [] = may trade
    gates.on_execution(result, failure=...)        # called by the Executor (risk=gates)
Money in µ$; clocks are injectable (seconds) for tests.
"""
from arbbot.risk.breaker import BreakerState, CircuitBreaker
from arbbot.risk.gates import RiskGates
from arbbot.risk.killswitch import KillSwitch
from arbbot.risk.limits import DailyLossCap, ExposureLimits

__all__ = ["BreakerState", "CircuitBreaker", "DailyLossCap", "ExposureLimits", "KillSwitch", "RiskGates"]
