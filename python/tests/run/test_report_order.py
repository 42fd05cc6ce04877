"""`LiveSession._report`: a newly found opportunity is offered (the trader's decision) before it is
counted and logged; within the cooldown it is neither offered nor logged again; an offer that
raises still leaves it counted and logged."""
from __future__ import annotations

import pytest

from arbbot.engine.types import Kind, Lane, Leg, Opportunity
from arbbot.model import Side
from arbbot.run import live
from arbbot.run.live import LiveSession


def _opp(oid: str) -> Opportunity:
    legs = (Leg("kalshi:A", Side.YES, 100, 4_000, 400_000, 7_000), Leg("polymarket:0xb", Side.NO, 100, 5_000, 500_000, 0))
    return Opportunity(oid, Lane.CROSS, Kind.YES_A_NO_B, 100, 1_000_000, 900_000, 7_000, 93_000, legs)


class _Lines:
    """Stands in for the session's logger: (event, opportunity id) in the order written."""
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def info(self, event: str, **fields) -> None:
        self.seen.append((event, fields["id"]))


@pytest.fixture
def lines(monkeypatch) -> _Lines:
    out = _Lines()
    monkeypatch.setattr(live, "log", out)
    return out


def test_offers_come_before_the_log_lines_and_the_cooldown_holds(lines):
    now = [100.0]
    session = LiveSession({}, [], cooldown_s=5.0, clock=lambda: now[0])
    session.on_opportunity = lambda opp: lines.seen.append(("decided", opp.id))
    a, b = _opp("00000000000000aa"), _opp("00000000000000bb")
    assert session._report((a, b), received_ns=0) is True
    now[0] = 103.0                                   # within the 5-s cooldown: nothing new
    assert session._report((a,), received_ns=0) is False
    now[0] = 105.0                                   # the cooldown over: reported again
    assert session._report((a,), received_ns=0) is True
    assert lines.seen == [("decided", a.id), ("decided", b.id), ("opportunity", a.id), ("opportunity", b.id),
                          ("decided", a.id), ("opportunity", a.id)]
    assert session.stats.found["cross"] == 3 and session.stats.detections == 4
    assert [o.id for _, o in session.stats.recent] == [a.id, b.id, a.id]
    assert len(session.stats.latencies_ns) == 3


def test_an_offer_that_raises_still_counts_and_logs_the_opportunity(lines):
    session = LiveSession({}, [], clock=lambda: 100.0)

    def offer(opp):
        raise RuntimeError("trader broke")
    session.on_opportunity = offer
    a = _opp("00000000000000aa")
    with pytest.raises(RuntimeError, match="trader broke"):
        session._report((a,), received_ns=0)
    assert lines.seen == [("opportunity", a.id)]
    assert session.stats.found["cross"] == 1 and session.last_reported[a.id] == 100.0
