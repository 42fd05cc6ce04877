"""The order store's reads on every execution and on sizing's per-lane PnL search by index: none
scans the fills or the intents, whose rows grow with every execution the store ever held (in a
200,000-execution store an execution's cash flow scanned 400,000 fills: 0.34 s, under the store's
lock; the lanes' daily PnL summed every execution's cash flow: 3 s, now the window's).

The query plans are SQLite's heuristics (no ANALYZE is ever run), the same for a small store as
for a large one, so a small store shows them."""
from __future__ import annotations

from arbbot.execution import OrderStore
from tests.risk.trades import Clock, complete_profitable, fill, two_leg_opportunity, unwound_losing_3_25, utc_s

DAY_MS = 86_400_000


def _traced(store: OrderStore, read) -> tuple[object, list[str]]:
    """`read()`'s result and the SQL statements it ran."""
    ran: list[str] = []
    store._db.set_trace_callback(ran.append)
    try:
        return read(), ran
    finally:
        store._db.set_trace_callback(None)


def _scans(store: OrderStore, statements: list[str]) -> list[str]:
    """The steps of the statements' plans that scan the fills or the intents (a full table or
    index scan) or build an automatic index."""
    out = []
    for sql in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "INSERT", "DELETE")):
            continue
        for row in store._db.execute("EXPLAIN QUERY PLAN " + sql):
            step = row[3]
            words = step.split()
            if "AUTOMATIC" in step or (words[0] == "SCAN" and words[1] in ("fills", "intents", "f", "i")):
                out.append(f"{step}: {' '.join(sql.split())[:120]}")
    return out


def _store(tmp_path) -> tuple[OrderStore, Clock]:
    clock = Clock(utc_s("2026-03-10 06:30:00"))
    store = OrderStore(tmp_path / "o.db", clock_ms=clock.ms)
    complete_profitable(store, "c1")
    unwound_losing_3_25(store, "u1")
    clock.t += 3 * 86_400
    complete_profitable(store, "c2")
    return store, clock


def test_an_executions_reads_and_writes_search_by_index(tmp_path):
    store, _ = _store(tmp_path)
    store.create_execution("x", two_leg_opportunity("opp-x"))
    (coid, _), ran = _traced(store, lambda: (
        fill(store, "x", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
             fee=40_000), store.set_execution_state("x", "unwound", "leg 1 rejected")))
    flow, ran_reads = _traced(store, lambda: (store.cash_flow("x"), store.fills(coid), store.leg_net("x"),
                                              store.realised_loss("x")))
    assert flow[0] == -4_240_000 and flow[3] == 4_240_000
    assert _scans(store, ran + ran_reads) == []
    store.close()


def test_the_lanes_daily_pnl_reads_its_window_by_index_and_sums_as_before(tmp_path):
    store, clock = _store(tmp_path)
    now = clock.ms()
    pnl, ran = _traced(store, lambda: store.lane_daily_pnl(now - 10 * DAY_MS, now - 10 * DAY_MS))
    # c1 + u1 on day 6 of the window: $10 − $9.29 − $3.25; c2 on day 9: $0.71
    assert pnl == {1: (710_000 - 3_250_000, 710_000)}
    assert store.lane_daily_pnl(now - DAY_MS, now - DAY_MS) == {1: (710_000,)}
    assert _scans(store, ran) == []
    store.close()


# what the running totals replace: the whole history summed at every read (before schema 8)
POSITIONS_SUMMED = (
    "SELECT venue || ':' || market_id,"
    " SUM((CASE WHEN action = 'buy' THEN 1 ELSE -1 END) * (CASE WHEN side = 'yes' THEN qty ELSE -qty END)),"
    " SUM((CASE WHEN action = 'buy' THEN 1 ELSE -1 END) * qty * price)"
    " FROM fills WHERE venue || ':' || market_id NOT IN (SELECT market FROM resolutions WHERE paid = 1)"
    " GROUP BY venue, market_id ORDER BY venue, market_id")
OUTCOMES_SUMMED = (
    "SELECT venue, SUM(state = 'filled'), COUNT(*) FROM intents WHERE role = 'entry' AND tif = 'ioc' AND paper = 0"
    " AND state IN ('filled', 'partially_filled', 'canceled', 'rejected') AND at_venue GROUP BY venue ORDER BY venue")


ACQUIRED_SUMMED = (
    "SELECT venue || ':' || market_id,"
    " SUM(CASE WHEN (action = 'buy') = (side = 'yes') THEN qty ELSE 0 END),"
    " SUM(CASE WHEN (action = 'buy') = (side = 'yes') THEN 0 ELSE qty END)"
    " FROM fills GROUP BY venue, market_id ORDER BY venue, market_id")


def acquired_summed(store: OrderStore) -> dict[str, tuple[int, int]]:
    """Per market, (YES lots acquired, NO lots acquired) over the fills (a sale acquires the other side)."""
    return {name: (yes, no) for name, yes, no in store._db.execute(ACQUIRED_SUMMED)}


def running_acquired(store: OrderStore) -> dict[str, tuple[int, int]]:
    """The same, as the running positions keep it (schema 10); markets whose fills were all voided left out."""
    return {f"{v}:{m}": (y, n) for v, m, y, n in store._db.execute(
        "SELECT venue, market_id, yes_acquired, no_acquired FROM market_positions WHERE yes_acquired OR no_acquired")}


def summed(store: OrderStore) -> tuple[dict, dict]:
    """(net positions, fill outcomes) summed over the whole history, as before schema 8."""
    positions = {name: (lots, cost) for name, lots, cost in store._db.execute(POSITIONS_SUMMED)}
    outcomes = {venue: (fills, attempts) for venue, fills, attempts in store._db.execute(OUTCOMES_SUMMED)}
    return positions, outcomes


def test_the_running_positions_and_fill_outcomes_equal_the_history_summed(tmp_path):
    """Every kind of write that moves them: fills of buys and sales on both sides, an intent
    refused, one filled in part, one whose order was looked up (placed, then filled), a second
    execution in the same market; a market resolved and paid drops out. Read by key, not summed."""
    from arbbot.venues.common.model import Action, Order, OrderStatus, Side, Venue
    store, _ = _store(tmp_path)
    store.create_execution("p", two_leg_opportunity("opp-p"))
    refused = store.add_intent("p", 0, "entry", 0, venue="kalshi", market="kalshi:A", market_id="A", side="yes",
                               action="buy", qty=500, price=4_200, tif="ioc")
    store.set_intent_state(refused, "rejected", "no")
    part = store.add_intent("p", 0, "entry", 1, venue="kalshi", market="kalshi:A", market_id="A", side="yes",
                            action="buy", qty=500, price=4_200, tif="ioc")
    store.set_intent_state(part, "placed")
    store.record_order(part, Order(Venue.KALSHI, "o-p", part, "A", Side.YES, Action.BUY, 4_200, 500, 300, 0,
                                   OrderStatus.CANCELED, 0, 4_200 * 300))
    fill(store, "p", 1, "entry", venue="polymarket", market_id="C", side="no", action="buy", qty=300, price=5_100,
         fee=0)
    positions, outcomes = summed(store)
    (got_positions, got_outcomes), ran = _traced(store, lambda: (store.net_positions(), store.fill_outcomes()))
    assert got_positions == positions and got_outcomes == outcomes
    assert running_acquired(store) == acquired_summed(store)
    assert outcomes == {"kalshi": (3, 5), "polymarket": (3, 3)}
    assert positions["polymarket:C"] == (-300, 300 * 5_100)          # 300 NO bought at 51¢
    assert _scans(store, ran) == []
    from arbbot.venues.common.model import Resolution
    store.record_resolution(Resolution(Venue.POLYMARKET, "B", "yes", 10_000, 0, paid=True))
    assert "polymarket:B" not in store.net_positions() and store.net_positions() == summed(store)[0]
    # rows written by other hands count too: an intent inserted already ended, one re-marked paper
    store._db.execute("INSERT INTO intents(client_order_id, execution_id, leg, role, attempt, venue, market, market_id,"
                      " side, action, qty, price, tif, state, created_ms, updated_ms) VALUES ('raw', 'p', 1, 'entry',"
                      " 1, 'polymarket', 'polymarket:C', 'C', 'no', 'buy', 300, 5100, 'ioc', 'filled', 0, 0)")
    store._db.execute("UPDATE intents SET paper = 1 WHERE client_order_id = ?", (refused,))
    assert store.fill_outcomes() == summed(store)[1] == {"kalshi": (3, 4), "polymarket": (4, 4)}
    store.close()


def test_only_orders_that_reached_the_venues_matching_are_fill_outcomes(tmp_path):
    """Step 2's Beta posterior has no window: 100 orders filled, then an outage's 30 orders never
    sent or refused while the venue took no orders (rate limited, its engine restarting) made
    f = (100 + 19) / (130 + 20) = 0.793 < min_fill_prob 0.80 for good, every trade with a later
    leg there rejected. They are no fill outcome; a refusal at the venue, and an order found
    after it was taken as never sent, are."""
    store = OrderStore(str(tmp_path / "outcomes.db"))
    store.create_execution("p", two_leg_opportunity("opp-p"))

    def ended(k: int, state: str, **kw) -> str:
        coid = store.add_intent("p", 1, "entry", k, venue="polymarket", market="polymarket:C", market_id="C",
                                side="no", action="buy", qty=100, price=5_000, tif="ioc")
        store.set_intent_state(coid, state, "why", **kw)
        return coid
    for k in range(100):
        ended(k, "filled")
    for k in range(100, 130):
        ended(k, "failed") if k % 2 else ended(k, "rejected", at_venue=False)
    assert store.fill_outcomes() == summed(store)[1] == {"polymarket": (100, 100)}
    ended(130, "rejected")                                    # refused by the venue itself: a miss
    absent = ended(131, "failed")
    from arbbot.venues.common.model import Action, Order, OrderStatus, Side, Venue
    store.record_order(absent, Order(Venue.POLYMARKET, "o", absent, "C", Side.NO, Action.BUY, 5_000, 100, 100, 0,
                                     OrderStatus.FILLED, 0, 500_000))          # found after all: filled
    assert store.fill_outcomes() == summed(store)[1] == {"polymarket": (101, 102)}
    store.close()
