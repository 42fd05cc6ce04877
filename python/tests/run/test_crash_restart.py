"""kill -9 of the whole `arbbot run` process at each step of a two-leg execution, then a restart
against the same simulator (which kept its state): nothing is lost or duplicated, the store
agrees with the venues, and anything unhedged puts the bot in safe mode until `arbbot ack`."""
from __future__ import annotations

import signal
import subprocess

import pytest

from arbbot.execution.store import OrderStore
from tests.run.botproc import BOT, SimProcess, assert_hedged_unless_naked, assert_store_matches_venues, run_bot, venue_view

TERMINAL = {"complete", "aborted", "unwound", "naked"}
# step → the states recovery may find the killed execution in (the venue decides the fills)
EXPECTED = {
    "intent:L0": {"aborted"},                 # never reached the venue → intent failed, flat
    "placed:L0": {"naked", "aborted"},        # leg 0 at the venue: filled → naked, unfilled → flat
    "filled:L0": {"naked"},                   # leg 0 filled, leg 1 never sent (see FLAT_WHEN_UNFILLED)
    "intent:L1": {"naked"},                   # leg 1 intent written but not sent
    "unwind_intent:L0": {"naked"},            # leg 1 failed, the unwind never reached the venue
    "unwind_placed:L0": {"unwound", "naked"},  # the unwind reached the venue: filled → flat
}


# killed right after leg 0's answer was recorded: an IOC that found its price gone filled nothing,
# and then nothing is held — recovery must find the execution flat (aborted), not naked
FLAT_WHEN_UNFILLED = {"filled:L0"}


def why_not_killed(run) -> dict:
    """What a first run that ended without reaching its kill step did instead: its executions'
    ends (state, reason), what it skipped and why (the breaker among them), safe mode, drift."""
    ends = [(e.get("state"), str(e.get("reason", ""))[:200]) for e in run.events if e["event"] == "execution.done"]
    trading = (run.summary or {}).get("trading") or {}
    return {"ends": ends[:20], **{k: trading.get(k) for k in ("executions", "skipped", "safe_mode", "drift")},
            "stderr": run.stderr[-800:]}


@pytest.mark.parametrize("step", list(EXPECTED))
def test_kill_at_each_step_then_restart(tmp_path, step):
    unwinding = step.startswith("unwind")
    # second-leg rejects (every 2nd order on each venue) make unwinds happen
    sim = SimProcess(tmp_path, seed=1, step=0.2, faults={"order_reject_every": 2} if unwinding else None)
    db = tmp_path / "orders.db"
    try:
        before = venue_view(sim.handle).balances
        first = run_bot(sim, db, "--duration", "60", "--cooldown", "0.1", env={"ARB_FAULT_KILL_AT": step},
                        name="first")
        assert first.returncode == -signal.SIGKILL, (first.returncode, why_not_killed(first))
        assert [e["step"] for e in first.events if e["event"] == "fault.kill"] == [step]
        store = OrderStore(str(db))
        killed = store.executions(("executing",))
        assert len(killed) == 1, [(x.id, x.state) for x in store.executions()]
        xid = killed[0].id
        expected = EXPECTED[step]
        if step in FLAT_WHEN_UNFILLED:
            leg0 = [i for i in store.intents(xid) if i.leg == 0 and i.role == "entry"]
            assert len(leg0) == 1 and leg0[0].state not in ("intent", "placed", "unknown"), leg0
            if leg0[0].filled_qty == 0:
                expected = {"aborted"}
        store.close()

        second = run_bot(sim, db, "--duration", "3", name="second")
        assert second.returncode == 0, second.stderr[-3000:]
        recovery = second.summary["trading"]["recovery"]
        state = recovery["executions"].get(xid)
        assert state in expected, (step, recovery)
        assert set(recovery["executions"]) == {xid}           # only the killed execution was open
        if step == "intent:L0":
            assert recovery["missing"] == 1 and recovery["adopted"] == 0
            # the order recovery did not find may still reach the venue: it is watched
            assert [e["orders"] for e in second.events if e["event"] == "recovery.absent_watched"][:1] == [1]
        store = OrderStore(str(db))
        assert all(x.state in TERMINAL for x in store.executions())
        assert all(i.state not in ("intent", "placed", "unknown") for i in store.intents())
        assert_hedged_unless_naked(store, store.execution(xid))
        if state == "naked":                                  # unhedged: safe mode, no new trades
            assert store.safe_mode() is not None and recovery["naked"] == [xid]
            assert second.summary["trading"]["safe_mode"] is not None
            assert sum(second.summary["trading"]["executions"].values()) == 0
        else:
            assert store.safe_mode() is None
        assert_store_matches_venues(store, venue_view(sim.handle, store), before)

        if state == "naked" and step == "filled:L0":
            # the operator acknowledges; the next run trades again and still reconciles
            ack = subprocess.run(BOT + ["ack", "--db", str(db)], capture_output=True, text=True, timeout=60)
            assert ack.returncode == 0 and "safe mode cleared" in ack.stdout, ack.stdout + ack.stderr
            assert store.safe_mode() is None
            third = run_bot(sim, db, "--duration", "8", "--cooldown", "0.1", name="third")
            assert third.returncode == 0 and third.summary["trading"]["safe_mode"] is None
            assert sum(third.summary["trading"]["executions"].values()) >= 1, third.summary
            assert_store_matches_venues(store, venue_view(sim.handle, store), before)
    finally:
        sim.stop()


def _status(db) -> dict:
    import json
    p = subprocess.run(BOT + ["status", "--db", str(db), "--json"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_daily_loss_survives_kill_and_the_cap_still_binds(tmp_path):
    """Unwinds (second legs rejected) lose money; the bot is SIGKILLed once the day shows a loss;
    after the restart `arbbot status` shows the same loss and the cap blocks every execution."""
    import os
    import time
    sim = SimProcess(tmp_path, seed=1, step=0.2, faults={"order_reject_every": 2})
    db = tmp_path / "orders.db"
    env = {**os.environ, "ARB_KILL_FILE": str(tmp_path / "arbbot.kill"), "ARB_DAILY_LOSS_CAP_USD": "0.01"}
    try:
        bot = subprocess.Popen(BOT + ["run", "--connect", str(sim.handle_file), "--db", str(db), "--json",
                                      "--metrics-port", "0", "--cooldown", "0.1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
        deadline = time.monotonic() + 90
        loss = "0.000000"
        while loss == "0.000000":
            assert bot.poll() is None and time.monotonic() < deadline, "no loss-making execution happened"
            time.sleep(0.5)
            if db.exists():
                loss = _status(db)["daily_loss_usd"]
        bot.send_signal(signal.SIGKILL)
        bot.wait(30)
        before = _status(db)
        assert before["daily_loss_usd"] != "0.000000" and before["daily_fees_usd"] != "0.000000", before
        second = run_bot(sim, db, "--duration", "4", "--cooldown", "0.1", name="second",
                         env={"ARB_DAILY_LOSS_CAP_USD": "0.01"})
        assert second.returncode == 0, second.stderr[-3000:]
        trading = second.summary["trading"]
        after = _status(db)
        # recovery may book the killed execution's loss: the day's loss never shrinks on restart
        assert float(after["daily_loss_usd"]) >= float(before["daily_loss_usd"]) > 0
        assert trading["skipped"].get("daily loss cap", 0) >= 1, trading
        assert sum(trading["executions"].values()) == 0, trading
        assert after["open_executions"] == 0
        # and again: a restart that trades nothing leaves the day's loss exactly as it was
        third = run_bot(sim, db, "--duration", "2", name="third", env={"ARB_DAILY_LOSS_CAP_USD": "0.01"})
        assert third.returncode == 0 and _status(db)["daily_loss_usd"] == after["daily_loss_usd"]
    finally:
        sim.stop()
