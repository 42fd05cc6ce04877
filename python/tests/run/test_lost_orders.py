"""The full bot when order answers are lost or late: the venue accepts and matches the order but
the answer never arrives (the connection drops), or arrives after the bot's order timeout. The bot
must never send such an order again, must resolve it by lookup, and must end with every execution
terminal and `arbbot reconcile` reporting 0 differences."""
from __future__ import annotations

import json
import subprocess

import pytest

from arbbot.execution.store import OrderStore
from tests.run.botproc import BOT, SimProcess, assert_store_matches_venues, run_bot, venue_view

TERMINAL = {"complete", "aborted", "unwound", "naked"}
FAULTS = {
    "lost_response": {"lost_order_response_every": 3},
    "late_response": {"order_response_delay_s": 1.5},
}


def reconcile(sim: SimProcess, db) -> tuple[int, dict]:
    p = subprocess.run(BOT + ["reconcile", "--db", str(db), "--connect", str(sim.handle_file), "--json"],
                       capture_output=True, text=True, timeout=120, cwd=sim.workdir)
    assert p.returncode in (0, 1), p.stderr[-3000:]
    return p.returncode, json.loads(p.stdout)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_bot_with_lost_order_answers(tmp_path, fault):
    sim = SimProcess(tmp_path, seed=2, step=0.2, faults=FAULTS[fault])
    db = tmp_path / "orders.db"
    try:
        before = venue_view(sim.handle).balances
        bot = run_bot(sim, db, "--duration", "15", "--cooldown", "0.1",
                      env={"ARB_ORDER_TIMEOUT_S": "0.75", "ARB_RECONCILE_INTERVAL_S": "5"})
        assert bot.returncode == 0, bot.stderr[-3000:]
        rc, report = reconcile(sim, db)
        store = OrderStore(str(db))
        view = venue_view(sim.handle, store)
    finally:
        sim.stop()
    s = bot.summary["trading"]
    # the fault happened and the bot saw it: orders whose answer was lost, each resolved by lookup
    assert s["orders_outcome_unknown"] >= 1, s
    unknown = [e for e in bot.events if e["event"] == "order.outcome_unknown"]
    resolved = [e for e in bot.events if e["event"] == "order.resolved"]
    assert len(unknown) == s["orders_outcome_unknown"]
    assert {e["client_order_id"] for e in resolved} == {e["client_order_id"] for e in unknown}
    assert sum(s["executions"].values()) >= 1, s
    if fault == "lost_response":          # answers come back at once for the other orders
        assert s["executions"].get("complete", 0) >= 1, s
    # nothing left open, nothing sent twice, the store equals the venues to the µ$
    executions = store.executions()
    assert all(x.state in TERMINAL for x in executions), [(x.id, x.state) for x in executions]
    assert not [i for i in store.intents() if i.state in ("intent", "placed", "unknown")]
    assert_store_matches_venues(store, view, before)
    assert rc == 0 and report["differences"] == 0, report
    assert s["reconcile_differences"] == 0 and s["safe_mode"] is None, s
