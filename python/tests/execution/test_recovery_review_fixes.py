"""Crash recovery on defects a review reproduced: a kill -9 between an execution written naked and
the safe-mode flag written after it (two commits) left the bot trading beside an unhedged leg
nobody acknowledged; the restart's recovery reads only executions still executing, so it never
looked again. Units: lots (100 a contract), ticks ($0.0001), µ$."""
from __future__ import annotations

import asyncio

from arbbot.execution import recover
from arbbot.execution.store import OrderStore
from tests.risk.trades import two_leg_opportunity


def naked_store(path) -> OrderStore:
    store = OrderStore(str(path))
    store.create_execution("x1", two_leg_opportunity("opp-x1"))
    return store


def test_a_naked_state_carries_its_safe_mode_flag_in_the_same_commit(tmp_path):
    """Writing an execution naked writes the safe-mode flag with it: a process killed right after
    (before its caller's `enter_safe_mode`) leaves the store in safe mode, with the reason."""
    store = naked_store(tmp_path / "o.db")
    store.set_execution_state("x1", "naked", "leg 1 refused; unwind incomplete")
    store.close()
    reopened = OrderStore(str(tmp_path / "o.db"))          # what the restarted process reads
    assert reopened.safe_mode() == "execution x1 is naked: leg 1 refused; unwind incomplete"
    reopened.close()


def test_recovery_enters_safe_mode_for_a_naked_execution_nobody_acknowledged(tmp_path):
    """A store whose naked execution has no safe-mode flag (written before the flag came with the
    state, or cleared by hand without `arbbot ack`): recovery enters safe mode, naming it. Once
    acknowledged, recovery leaves the store out of safe mode."""
    store = naked_store(tmp_path / "o.db")
    store.set_execution_state("x1", "naked", "leg 1 refused")
    with store.tx() as db:                                 # the flag lost, the execution not acknowledged
        db.execute("UPDATE flags SET value='0' WHERE name='safe_mode'")
    assert store.safe_mode() is None and store.unacknowledged_naked() == ["x1"]
    rep = asyncio.run(recover(store, {}))
    assert rep.safe_mode == "naked executions ['x1'] were never acknowledged (arbbot ack)"
    assert store.acknowledge("test") == ["x1"]
    rep = asyncio.run(recover(store, {}))
    assert (rep.safe_mode, store.unacknowledged_naked()) == (None, [])
    store.close()
