"""A paper database marks every execution and intent as paper, refuses venue trading (and the
other way round), and sizing's fill-success counts never learn from paper intents."""
from __future__ import annotations

import pytest

from arbbot.execution.store import OrderStore
from tests.risk.trades import Clock, complete_profitable, unwound_losing_3_25, utc_s


def test_rows_written_on_a_paper_database_are_paper_and_fill_outcomes_leave_them_out(tmp_path):
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    venue = OrderStore(str(tmp_path / "venue.db"), clock_ms=clock.ms)
    venue.claim_trading_mode("venue")                       # writes nothing
    complete_profitable(venue)
    unwound_losing_3_25(venue)
    assert venue.trading_mode() == "venue" and venue.paper is False
    assert venue.fill_outcomes() == {"kalshi": (2, 2), "polymarket": (1, 1)}
    assert [x.paper for x in venue.executions()] == [False, False]
    with pytest.raises(ValueError, match=r"venue\.db holds orders sent to venues; use another --db for --paper"):
        venue.claim_trading_mode("paper")
    venue.close()

    paper = OrderStore(str(tmp_path / "paper.db"), clock_ms=clock.ms)
    assert paper.trading_mode() is None
    paper.claim_trading_mode("paper")
    complete_profitable(paper)
    unwound_losing_3_25(paper)
    assert [x.paper for x in paper.executions()] == [True, True]
    assert {i.paper for i in paper.intents()} == {1} and len(paper.intents()) == 4
    assert paper.fill_outcomes() == {}                      # the fill engine is not the venue
    assert paper.cash_flow("c1") == -9_290_000              # everything else reads paper rows as usual
    paper.close()
    again = OrderStore(str(tmp_path / "paper.db"), clock_ms=clock.ms)   # the mode survives a reopen
    assert again.paper is True and again.trading_mode() == "paper"
    with pytest.raises(ValueError, match=r"paper\.db holds paper trading \(arbbot run --paper\); use another --db"):
        again.claim_trading_mode("venue")
    assert again.flags("trading_mode") == {"trading_mode": ("paper", "arbbot run --paper: fills from the local fill "
                                                                     "engine")}
    again.close()


def test_a_mixed_database_counts_only_its_venue_intents(tmp_path):
    """A database holding both kinds of rows (marked by hand here: the column is what counts):
    venue intents are learnt from, paper ones are not."""
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(str(tmp_path / "mixed.db"), clock_ms=clock.ms)
    complete_profitable(store, "v1")
    complete_profitable(store, "p1")
    store._db.execute("UPDATE intents SET paper = 1 WHERE execution_id = 'p1'")
    assert store.fill_outcomes() == {"kalshi": (1, 1), "polymarket": (1, 1)}
    store.close()
