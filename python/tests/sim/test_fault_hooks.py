"""Fault injection reaches the simulators only through their public hooks (`FaultHooks`)."""
from __future__ import annotations

import ast
from pathlib import Path

from arbbot.sim import faults as faults_module
from arbbot.sim.faults import Faults, FaultHooks, OrderFaults, http_fault
from arbbot.sim.kalshi import KalshiSim
from arbbot.sim.polymarket import PolymarketSim
from arbbot.sim.scenarios import build


def test_fault_code_touches_no_private_attribute():
    tree = ast.parse(Path(faults_module.__file__).read_text())
    private = [f"line {n.lineno}: .{n.attr}" for n in ast.walk(tree)
               if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")]
    assert private == []


def test_both_http_venues_expose_the_hooks():
    for sim in (KalshiSim(build("fed", 1), 1), PolymarketSim(build("fed", 1), 1)):
        hooks = [n for n in vars(FaultHooks) if not n.startswith("_")] + list(FaultHooks.__annotations__)
        assert sorted(set(hooks)) == ["count_request", "faults"]
        assert all(hasattr(sim, n) for n in hooks)
        assert [sim.count_request() for _ in range(3)] == [1, 2, 3] and sim.requests == 3
        assert isinstance(sim.order_faults, OrderFaults)


class _Venue:
    """The smallest thing fault injection can work on: the public hooks and nothing else."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.n = 0

    def count_request(self) -> int:
        self.n += 1
        return self.n


def test_http_faults_count_through_the_hook():
    v = _Venue(Faults(http_429_every=3, http_429_retry_after=1.5, http_5xx_every=4))
    got = [http_fault(v, {"error": "slow down"}, lambda: "503", retry_after=True) for _ in range(8)]
    statuses = [None if r is None else (r if r == "503" else r.status) for r in got]
    assert statuses == [None, None, 429, "503", None, 429, None, "503"]
    assert got[2].headers["Retry-After"] == "1.5"
    # a venue whose 429 never has Retry-After (Kalshi, VENUES.md) sends none, whatever the fault says
    plain = http_fault(_Venue(Faults(http_429_every=1, http_429_retry_after=1.5)), {}, lambda: "503")
    assert plain.status == 429 and "Retry-After" not in plain.headers
    assert KalshiSim.retry_after is False and PolymarketSim.retry_after is True


def test_order_fault_counters_are_independent():
    of, f = OrderFaults(), Faults(order_reject_every=2, lost_order_response_every=3)
    assert [of.refuse(f) for _ in range(4)] == [False, True, False, True]
    assert [of.lose_answer(f) for _ in range(3)] == [False, False, True]
    assert of.lose_answer(f, 3) is True and of.accepted == 6 and of.received == 4
