"""Each risk gate's transitions with real values (µ$, injected clocks)."""
from __future__ import annotations


from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side
from arbbot.execution import ExecutionResult
from arbbot.risk import BreakerState, CircuitBreaker, DailyLossCap, ExposureLimits, KillSwitch, RiskGates


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


def test_daily_loss_cap_blocks_and_rolls_over_at_utc_midnight():
    c = Clock(86_400 * 20_000 + 3600)
    cap = DailyLossCap(5_000_000, clock=c)   # $5
    cap.record(-3_000_000)
    assert cap.reason() is None
    cap.record(1_000_000)
    cap.record(-2_999_999)
    assert cap.realised == -4_999_999 and cap.reason() is None
    cap.record(-1)
    assert "−5000000" in cap.reason()
    c.t += 86_400 - 3600                    # next UTC day
    assert cap.reason() is None and cap.realised == 0


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
    c = Clock()
    g = RiskGates(KillSwitch(tmp_path / "KILL"), DailyLossCap(1_000_000, clock=c),
                  ExposureLimits(per_venue=100_000_000), CircuitBreaker(2, 10, clock=c))
    o = opp()
    assert g.check(o) == []
    g.on_execution(ExecutionResult("x1", "unwound", cash_flow=-600_000), failure=True)
    assert g.check(o) == [] and g.loss.realised == -600_000
    g.on_execution(ExecutionResult("x2", "unwound", cash_flow=-400_000), failure=True)
    reasons = g.check(o)
    assert len(reasons) == 1 and reasons[0].startswith("daily loss cap")
    g.loss.realised = 0
    assert g.check(o) == ["circuit breaker open after 2 failures"]
    c.t = 10
    assert g.check(o) == []                  # half-open trial
    g.on_execution(ExecutionResult("x3", "complete"))
    assert g.breaker.state is BreakerState.CLOSED
    (tmp_path / "KILL").write_text("")
    assert g.check(o)[0].startswith("kill switch file")
