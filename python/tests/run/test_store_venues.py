"""An order store is tied to the venues its orders went to (`OrderStore.claim_venues`). An embedded
simulator's venues end with its run: the next run's simulator starts empty, so reconciling the old
orders against it found every position missing and the run began in safe mode — the README's main
command run twice from one folder traded nothing the second time. Now an embedded run moves such a
store aside (nothing lost) and starts a new one; a store of lasting venues (--connect, --live) or
of unknown ones never takes an embedded run, and an embedded run's store takes no other."""
from __future__ import annotations

import os

from arbbot.execution import store_lock
from arbbot.execution.store import EMBEDDED, LASTING, OrderStore
from arbbot.run.command import _db_refusal
from tests.risk.trades import two_leg_opportunity


def _ordered(path: str, venues: str | None) -> None:
    """A store holding one intent, claimed for `venues` (None: a store from before the flag)."""
    store = OrderStore(path)
    if venues is not None:
        assert store.claim_venues(venues) is None
    store.create_execution("x1", two_leg_opportunity("opp-x1"))
    store.add_intent("x1", 0, "entry", 0, venue="kalshi", market="kalshi:K", market_id="K", side="yes",
                     action="buy", qty=100, price=4_000, tif="ioc")
    store.close()


def test_an_embedded_runs_store_is_moved_aside_for_the_next_embedded_run(tmp_path):
    db = str(tmp_path / "arbbot.db")
    _ordered(db, EMBEDDED)
    refusal, aside = _db_refusal(db, paper=False, embedded=True)
    assert refusal is None and aside is not None and aside.startswith(db + ".")
    moved = OrderStore(aside, create=False)
    assert [i.client_order_id for i in moved.intents()] == ["x1-L0E0"]        # nothing lost
    moved.close()
    fresh = OrderStore(db, create=False)
    assert fresh.intents() == [] and fresh.flags("venues") == {"venues": (EMBEDDED, "where this store's orders go")}
    fresh.close()
    # a store claimed but holding no order yet is simply taken again
    assert _db_refusal(db, paper=False, embedded=True) == (None, None)
    assert store_lock.lock_path(db) not in store_lock._held     # the lock held while it was moved: given back


def test_lasting_and_embedded_venues_never_share_a_store(tmp_path):
    lasting, embedded, older = (str(tmp_path / n) for n in ("lasting.db", "embedded.db", "older.db"))
    _ordered(lasting, LASTING)
    _ordered(embedded, EMBEDDED)
    _ordered(older, None)
    assert _db_refusal(lasting, paper=False, embedded=True) == (
        f"order store {lasting} holds orders sent to venues that outlive a run (--connect, --live); the embedded "
        "simulator starts empty: use another --db", None)
    assert _db_refusal(older, paper=False, embedded=True)[0].endswith(
        "holds orders sent to unknown venues; the embedded simulator starts empty: use another --db")
    assert _db_refusal(embedded, paper=False, embedded=False) == (
        f"order store {embedded} holds orders sent to an embedded simulator, gone with its run: use another --db", None)
    assert _db_refusal(lasting, paper=False, embedded=False) == (None, None)
    assert _db_refusal(older, paper=False, embedded=False) == (None, None)       # claimed for lasting venues now
    assert sorted(os.listdir(tmp_path)) == ["embedded.db", "embedded.db.lock", "lasting.db", "lasting.db.lock",
                                            "older.db", "older.db.lock"]
