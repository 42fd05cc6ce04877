"""Markets settle while the bot trades them: `arbbot run` against a simulator process that settles
every Kalshi and Polymarket market of the simulator a few seconds in (Kalshi pays out at once;
Polymarket's tokens stay until redeemed). The bot's resolution poll records each market it holds,
the exposure those markets held is released, and the store still reconciles with the venues."""
from __future__ import annotations

import json
import sqlite3

import pytest

from arbbot.execution.reconcile import store_net_positions
from arbbot.execution.store import OrderStore
from arbbot.paper.ledger import fill_rows
from arbbot.sim.scenarios import build
from tests.run.botproc import SimProcess, run_bot

SETTLE_AFTER_S = 12        # s after the simulator starts: the bot has traded by then (it starts in 1–3 s)


def settle_everything(seed: int) -> list[dict]:
    """Every Kalshi and Polymarket market of the default scenario, settled SETTLE_AFTER_S in: YES for
    the first of each venue's list, a 50/50 for the second, NO for the rest."""
    sc = build("all", seed)
    out = []
    for venue in ("kalshi", "polymarket"):
        for i, (_e, _q, listing) in enumerate(sc.listings(venue)):
            out.append({"venue": venue, "market": listing.market_id, "result": ("yes", "half")[i] if i < 2 else "no",
                        "after_s": SETTLE_AFTER_S})
    return out


@pytest.mark.parametrize("paper", [False, True], ids=["venue", "paper"])
def test_markets_settled_under_a_running_bot_are_recorded_released_and_reconciled(tmp_path, paper):
    """On paper the ledger plays the venue: a Kalshi paper account is paid as Kalshi pays."""
    settlements = settle_everything(0)
    sim = SimProcess(tmp_path, settlements=settlements)
    db = tmp_path / "o.db"
    try:
        bot = run_bot(sim, db, "--duration", "22", *(["--paper"] if paper else []),
                      env={"ARB_RESOLUTION_POLL_S": "2"})
    finally:
        sim.stop()
    assert bot.returncode == 0, bot.stderr[-3000:]
    resolved = [e for e in bot.events if e.get("event") == "market.resolved"]
    store = OrderStore(db, create=False)
    try:
        recorded = store.resolutions()
        traded = {i.market for i in store.intents() if i.filled_qty and i.venue in ("kalshi", "polymarket")}
        executions = store.executions()
        # the bot traded markets that then settled, and recorded the result of each one it still held
        assert traded and {m for m in recorded} <= {f"{s['venue']}:{s['market']}" for s in settlements}
        assert len(resolved) == len(recorded) > 0
        expected = {f"{s['venue']}:{s['market']}": s["result"] for s in settlements}
        for market, r in recorded.items():
            assert (r.result if r.result != "scalar" else "half") == expected[market]
            assert r.paid is (r.venue == "kalshi") and r.source == "venue"
            assert r.yes_value == {"yes": 10_000, "no": 0, "half": 5_000}[expected[market]]
        # nothing held on the settled venues is exposure any more
        assert set(store.held_markets()) <= {"forecastex"}
        assert store.held_cost_by_market(("complete", "naked")).keys() <= {
            m for m in store.held_cost_by_market(("complete", "naked")) if m.startswith("forecastex:")}
        assert any(x.state == "complete" for x in executions)
        if paper:   # the paper Kalshi account was paid for what it held in the markets resolved paid
            paid = {m.split(":", 1)[1] for m, r in recorded.items() if r.paid}
            held = store_net_positions(fill_rows(store.paper_fills("kalshi")))      # a YES+NO pair nets to 0
            assert set(store.paper_settlements("kalshi")) == {m for m in paid if held.get(m)}
    finally:
        store.close()
    # the run's last reconciliation found the store and the venues in agreement
    assert bot.summary["trading"]["reconcile_differences"] == 0, json.dumps(bot.summary)[:2000]
    db_events = sqlite3.connect(db).execute("SELECT COUNT(*) FROM events WHERE kind='market_resolved'").fetchone()[0]
    assert db_events == len(recorded)
