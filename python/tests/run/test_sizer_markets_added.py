"""A market the session lists mid-session (`LiveSession.add_markets` → the trader's
`markets_added`) is sized as one known from the start: before, the sizer kept the markets it was
built with, and refused every opportunity naming a newer one as a sizing input error."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from arbbot.config import Settings
from arbbot.engine import Engine
from arbbot.engine.types import Lane
from arbbot.execution.store import OrderStore
from arbbot.model import Venue
from arbbot.run.sizer import SessionSizer
from tests.sizing.test_lazy import NOW, _session

CASH = {v.label: 10_000_000_000 for v in Venue}          # $10,000 a venue, µ$


@pytest.mark.parametrize("on_engine", [False, True], ids=["legs-in-python", "on-engine"])
def test_a_market_listed_mid_session_is_sized_as_one_known_from_the_start(tmp_path, native, on_engine):
    session = _session("2027-03-01T00:00:00Z")            # Kalshi A (event E), Polymarket B
    if on_engine:
        session.index = {m.name: i for i, m in enumerate(session.universe.markets)}
        session.engine = Engine(session.universe, engine="swift")
    late_session = SimpleNamespace(**vars(session))
    late_session.markets = session.markets[:1]           # B not listed yet when the sizer was built

    def sizer(s, name: str) -> SessionSizer:
        made = SessionSizer(s, OrderStore(str(tmp_path / f"{name}.db")), Settings(kill_file=""), clock=lambda: NOW)
        # step 7 off: the 6¢ edge locked until B's close in June is below its hurdle
        made.reconfigure(made.cfg.model_copy(update={"capital_lock": made.cfg.capital_lock.model_copy(
            update={"enabled": False})}))
        made.refresh(CASH)
        return made
    known, late = sizer(session, "known"), sizer(late_session, "late")
    opp = next(o for o in Engine(session.universe, engine="python").scan().opportunities if o.lane is Lane.CROSS)
    assert {leg.market for leg in opp.legs} == {"kalshi:A", "polymarket:B"}
    reference = known.size(opp)
    assert reference.error == "" and reference.opportunity is not None
    assert late.size(opp).error == "sizing input: 'polymarket:B'"       # what a session did before
    late_session.markets = session.markets                # the session appends it, then tells the sizer
    late.markets_added(session.markets[1:])
    late.refresh(CASH)
    sized = late.size(opp)
    assert sized.error == "" and sized.record() == reference.record() and sized.opportunity == reference.opportunity
    assert late._meta == known._meta
