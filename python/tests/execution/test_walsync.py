"""Order-store durability modes: "process" commits without waiting for the disk and fsyncs the WAL
on the background syncer; "power" fsyncs inside COMMIT. Both survive SIGKILL right after COMMIT."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from arbbot.execution import OrderStore
from arbbot.execution.walsync import syncer
from tests.execution.harness import load_opp


OPP = ('{"id": "00000000000000a1", "lane": 1, "kind": 0, "qty": 100, "payout": 1000000, "cost": 900000,'
       ' "fee": 10000, "profit": 90000, "legs": [["kalshi:M", 0, 100, 4000, 400000, 5000],'
       ' ["polymarket:N", 1, 100, 5000, 500000, 5000]]}')


def _intent(store: OrderStore, execution_id: str) -> str:
    return store.add_intent(execution_id, 0, "entry", 0, venue="kalshi", market="kalshi:M", market_id="M",
                            side="yes", action="buy", qty=100, price=4_000, tif="ioc", new_execution=load_opp(OPP))


@pytest.mark.parametrize("durability, pragma", [("process", 1), ("power", 2)])
def test_durability_sets_sqlite_synchronous(tmp_path, durability, pragma):
    store = OrderStore(str(tmp_path / "s.db"), durability=durability)
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == pragma   # NORMAL = 1, FULL = 2
    store.close()


def test_unknown_durability_is_refused(tmp_path):
    with pytest.raises(ValueError, match="durability 'disk'"):
        OrderStore(str(tmp_path / "s.db"), durability="disk")


def test_process_durability_fsyncs_each_commit_in_the_background(tmp_path):
    path = str(tmp_path / "s.db")
    store = OrderStore(path)
    before, errors = syncer().synced, syncer().errors
    coids = [_intent(store, f"e{i}") for i in range(5)]
    assert syncer().flush(path, timeout=10)
    assert syncer().synced > before           # at least one fsync covered the five commits
    assert syncer().errors == errors
    store.close()
    again = OrderStore(path)
    assert [r.client_order_id for r in again.intents()] == coids
    again.close()


@pytest.mark.parametrize("durability", ["process", "power"])
def test_a_commit_survives_sigkill_of_the_process_right_after_it(tmp_path, durability):
    """The write-ahead rule's guarantee: once add_intent returned, the order may leave; a process
    killed at that instant (no close, no background fsync awaited) still has the intent."""
    path = str(tmp_path / "k.db")
    child = textwrap.dedent(f"""
        import os, signal
        from arbbot.execution import OrderStore
        from tests.execution.harness import load_opp
        s = OrderStore({path!r}, durability={durability!r})
        coid = s.add_intent("x1", 0, "entry", 0, venue="kalshi", market="kalshi:M", market_id="M", side="yes",
                            action="buy", qty=100, price=4000, tif="ioc", new_execution=load_opp({OPP!r}))
        print(coid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert p.returncode == -signal.SIGKILL
    coid = p.stdout.strip()
    store = OrderStore(path)
    assert [(r.client_order_id, r.state, r.qty, r.price) for r in store.intents()] == [(coid, "intent", 100, 4000)]
    store.close()
    assert os.path.getsize(path) > 0


def test_the_wal_is_checkpointed_off_the_commit_path(tmp_path, monkeypatch):
    """COMMIT never checkpoints (SQLite's automatic checkpoint is off); the syncer copies a WAL
    past CHECKPOINT_BYTES into the database, and the data reads back the same."""
    from arbbot.execution import walsync
    monkeypatch.setattr(walsync, "CHECKPOINT_BYTES", 1)
    path = str(tmp_path / "c.db")
    store = OrderStore(path, durability="power")
    assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    before = syncer().checkpoints
    coids = [_intent(store, f"e{i}") for i in range(3)]
    assert syncer().flush(path, timeout=10)
    assert syncer().checkpoints > before
    store.close()
    again = OrderStore(path)
    assert [r.client_order_id for r in again.intents()] == coids
    again.close()
