"""`arbbot ack` marks naked executions acknowledged without moving when they ended: that date files
each one's loss under its day (sizing's per-lane daily PnL, `arbbot report`, the settlement watch)."""
from arbbot.engine.types import Kind, Lane, Leg, Opportunity
from arbbot.execution.store import OrderStore
from arbbot.venues.common.model import Action, Fill, Order, OrderStatus, Side, Venue

DAY_MS = 86_400_000
OPP = Opportunity("o1", Lane(0), Kind(0), 100, 10_000 * 100, 900_000, 0, 100_000,
                  (Leg("kalshi:A", Side.YES, 100, 4500, 450_000, 0), Leg("kalshi:B", Side.YES, 100, 4500, 450_000, 0)))


def _naked(store: OrderStore, xid: str, now_ms: int) -> None:
    """Execution `xid`: its first leg (1 contract at $0.45) filled, the second never: naked."""
    c = store.add_intent(xid, 0, "entry", 0, venue="kalshi", market="kalshi:A", market_id="A", side="yes",
                         action="buy", qty=100, price=4500, tif="ioc", new_execution=OPP)
    store.record_order(c, Order(Venue.KALSHI, "oid" + xid, c, "A", Side.YES, Action.BUY, 4500, 100, 100, 0,
                                OrderStatus.FILLED, fees_micros=0, cost_micros=450_000),
                       [Fill(Venue.KALSHI, "f" + xid, "oid" + xid, "A", Side.YES, Action.BUY, 4500, 100, 0, True, now_ms)])
    store.set_execution_state(xid, "naked", "test")


def test_an_ack_leaves_each_naked_loss_on_the_day_it_happened(tmp_path):
    now = [10 * DAY_MS + 1_000]
    store = OrderStore(str(tmp_path / "s.db"), clock_ms=lambda: now[0])
    _naked(store, "x1", now[0])
    assert store.lane_daily_pnl(0, 0) == {0: (-450_000,)}
    now[0] = 11 * DAY_MS + 7                          # acknowledged the next day
    assert store.acknowledge() == ["x1"]
    now[0] = 15 * DAY_MS + 5                          # another one, five days later
    _naked(store, "x2", now[0])
    assert store.acknowledge() == ["x2"]
    days = dict(store._db.execute("SELECT id, updated_ms / 86400000 FROM executions"))
    assert days == {"x1": 10, "x2": 15}
    assert store.lane_daily_pnl(0, 0) == {0: (-450_000, -450_000)}      # day 10, day 15
    assert store.lane_daily_pnl(14 * DAY_MS, 0) == {0: (-450_000,)}      # day 15's only
    assert [r[0] for r in store._db.execute("SELECT acknowledged FROM executions ORDER BY id")] == [1, 1]
    store.close()
