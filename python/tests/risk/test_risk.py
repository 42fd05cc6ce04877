"""Each risk gate's transitions with real values (µ$, injected clocks)."""
from __future__ import annotations

import pytest

from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side
from arbbot.execution import ExecutionResult
from arbbot.risk import (BreakerState, CircuitBreaker, DailyLossCap, ExposureLimits, KillSwitch, RiskGates,
                         parse_day_start, risk_day_ms)


class Clock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


def opp(cost_a=4_200_000, cost_b=4_700_000, fee=180_000):
    legs = (Leg("kalshi:A", Side.YES, 1000, 4200, cost_a, fee), Leg("polymarket:B", Side.NO, 1000, 4700, cost_b, fee))
    return Opportunity("00000000000000aa", Lane.CROSS, Kind.YES_A_NO_B, 1000, 10_000_000, cost_a + cost_b, 2 * fee,
                       740_000, legs)


def test_kill_switch_file_and_trip(tmp_path):
    path = tmp_path / "KILL"
    k = KillSwitch(path)
    assert not k.tripped
    path.write_text("")
    assert k.tripped and "KILL" in k.reason()
    path.unlink()
    assert not k.tripped
    k.trip("operator command")
    assert k.reason() == "kill switch: operator command"
    path.write_text("")
    k.reset()
    assert k.tripped                      # the file still blocks after a programmatic reset
    path.unlink()
    assert not k.tripped


def test_daily_loss_cap_in_memory_counts_losses_only_and_rolls_over_at_utc_midnight():
    c = Clock(86_400 * 20_000 + 3600)
    cap = DailyLossCap(5_000_000, clock=c)   # $5, no store: losses passed to record() for today
    cap.record(-3_000_000)
    assert cap.reason() is None
    cap.record(1_000_000)                    # a profit never offsets a loss
    cap.record(-1_999_999)
    assert (cap.loss, cap.realised, cap.fees) == (4_999_999, -4_999_999, None) and cap.reason() is None
    cap.record(-1)
    assert cap.reason() == "daily loss cap: realised loss 5000000 µ$ ≥ 5000000 µ$ today (day starts 00:00 UTC)"
    c.t += 86_400 - 3600                    # next UTC day
    assert cap.reason() is None and cap.realised == 0


def test_daily_loss_cap_day_start_and_validation():
    c = Clock(86_400 * 20_000 + 6 * 3600 + 29 * 60)      # 06:29 UTC
    cap = DailyLossCap(1_000_000, clock=c, day_start_utc="06:30")
    day_start = (86_400 * 19_999 + 23_400) * 1000                     # yesterday 06:30 UTC, ms
    assert risk_day_ms(c.t, "06:30") == cap.day() == (day_start, day_start + 86_400_000)
    cap.record(-1_000_000)
    assert cap.reason() is not None
    c.t += 60                                             # 06:30: a new risk day
    assert cap.loss == 0 and cap.reason() is None
    assert [parse_day_start(t) for t in ("00:00", "06:30", "23:59")] == [0, 23_400, 86_340]
    for bad in ("24:00", "6:30", "06:60", "0630", "", None):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_day_start(bad)
    with pytest.raises(ValueError):
        DailyLossCap(1, day_start_utc="7:00")
    with pytest.raises(ValueError):
        DailyLossCap(0)


def test_exposure_per_venue_and_event():
    ev = {"kalshi:A": "E1", "polymarket:B": "E1"}.__getitem__
    lim = ExposureLimits(per_venue=10_000_000, per_event=15_000_000)
    o = opp()
    assert lim.reason(o.legs, ev) is None
    lim.add(o.legs, ev)
    assert lim.venue == {"kalshi": 4_380_000, "polymarket": 4_880_000} and lim.event == {"E1": 9_260_000}
    msg = lim.reason(o.legs, ev)            # event would reach 18,520,000 > 15,000,000
    assert msg.startswith("exposure on event E1")
    lim.release(o.legs, ev)
    assert lim.event == {"E1": 0}
    big = opp(cost_a=9_900_000)
    assert lim.reason(big.legs, ev).startswith("exposure on kalshi: 0 + 10080000")


def test_circuit_breaker_states():
    c = Clock()
    b = CircuitBreaker(threshold=3, cooldown_s=30, clock=c)
    assert b.state is BreakerState.CLOSED and b.allow()
    b.record_failure(); b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.record_success()                       # resets the consecutive count
    for _ in range(3):
        b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    c.t = 29.9
    assert b.state is BreakerState.OPEN
    c.t = 30
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow() and not b.allow()       # one trial only
    b.record_failure()                       # trial failed → open again for a full cooldown
    assert b.state is BreakerState.OPEN
    c.t = 59.9
    assert not b.allow()
    c.t = 60
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.failures == 0 and b.allow()


def test_gates_combined(tmp_path):
    c, day = Clock(), Clock(86_400 * 20_000)
    g = RiskGates(KillSwitch(tmp_path / "KILL"), DailyLossCap(1_000_000, clock=day),
                  ExposureLimits(per_venue=100_000_000), CircuitBreaker(3, 10, clock=c))
    o = opp()
    assert g.check(o) == []
    g.on_execution(ExecutionResult("x1", "unwound", cash_flow=-600_000), failure=True)
    assert g.check(o) == [] and g.loss.realised == -600_000
    g.on_execution(ExecutionResult("x2", "naked", cash_flow=-400_000), failure=True)
    reasons = g.check(o)
    assert len(reasons) == 1 and reasons[0].startswith("daily loss cap")
    day.t += 86_400                          # next day: the cap no longer binds
    assert g.check(o) == []
    g.on_error()                             # an execution raised: counts as the third failure
    assert g.check(o) == ["circuit breaker open after 3 failures"]
    c.t = 10
    assert g.check(o) == []                  # half-open trial
    g.on_execution(ExecutionResult("x3", "complete"))
    assert g.breaker.state is BreakerState.CLOSED
    (tmp_path / "KILL").write_text("")
    assert g.check(o)[0].startswith("kill switch file")


def test_what_an_execution_tells_the_circuit_breaker():
    """A leg that did not fill, an unwind, a naked end or an error: a failure. Aborted before
    anything traded because the edge went: nothing (it used to count as a success, and closed a
    half-open breaker on a trial of nothing). Complete: a success."""
    from arbbot.execution.executor import ExecutionResult
    from arbbot.run.trader import breaker_outcome
    outcomes = {name: breaker_outcome(ExecutionResult("x", state, **extra)) for name, state, extra in (
        ("complete", "complete", {}), ("complete, a leg short", "complete", {"leg_failed": True}),
        ("edge gone", "aborted", {}), ("leg 0 rejected", "aborted", {"leg_failed": True}),
        ("unwound", "unwound", {}), ("naked", "naked", {}), ("error", "aborted", {"errored": True}))}
    assert outcomes == {"complete": False, "complete, a leg short": True, "edge gone": None, "leg 0 rejected": True,
                        "unwound": True, "naked": True, "error": True}
    now = [0.0]
    gates = RiskGates(breaker=CircuitBreaker(1, 60.0, clock=lambda: now[0]))
    gates.on_execution(ExecutionResult("x", "unwound"), failure=True)
    assert gates.breaker.state is BreakerState.OPEN
    now[0] = 61.0
    assert gates.breaker.allow() and gates.breaker.state is BreakerState.HALF_OPEN     # one trial
    gates.on_execution(ExecutionResult("x", "aborted"), failure=None)
    assert gates.breaker.state is BreakerState.HALF_OPEN             # a trial of nothing closes nothing,
    assert gates.breaker.allow()                                     # and does not use the trial up
    gates.on_execution(ExecutionResult("x", "complete"), failure=False)
    assert gates.breaker.state is BreakerState.CLOSED
