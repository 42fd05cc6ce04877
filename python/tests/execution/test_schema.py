"""Schema versions and forward migrations: a database written before `schema_version` existed
opens and keeps its data; a fresh one ends at the latest version; reopening writes nothing; a
newer database is refused with a clear message; a failing migration changes nothing."""
from __future__ import annotations

import json
import sqlite3

import pytest

from arbbot.cli import main
from arbbot.execution import OrderStore, schema
from arbbot.execution.schema import LATEST, SchemaError, current_version
from tests.risk.trades import two_leg_opportunity

# The order store's schema exactly as the code before schema versions wrote it (executescript,
# then `INSERT OR IGNORE INTO meta ... ('schema_version', '1')`). A fixture: never edit.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    opportunity_id TEXT NOT NULL,
    lane INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),            -- lots, equal on every leg
    payout INTEGER NOT NULL,                         -- µ$
    planned_cost INTEGER NOT NULL,                   -- µ$
    planned_fee INTEGER NOT NULL,                    -- µ$
    planned_profit INTEGER NOT NULL,                 -- µ$
    legs TEXT NOT NULL,                              -- JSON list of planned legs
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    acknowledged INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (
    client_order_id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL REFERENCES executions(id),
    leg INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('entry', 'unwind')),
    attempt INTEGER NOT NULL,
    venue TEXT NOT NULL,
    market TEXT NOT NULL,                            -- engine name venue:id
    market_id TEXT NOT NULL,                         -- venue market id
    side TEXT NOT NULL,                              -- yes | no
    action TEXT NOT NULL,                            -- buy | sell
    qty INTEGER NOT NULL CHECK (qty > 0),            -- lots
    price INTEGER NOT NULL,                          -- limit, ticks of `side`
    tif TEXT NOT NULL,
    state TEXT NOT NULL,
    order_id TEXT,
    filled_qty INTEGER NOT NULL DEFAULT 0,           -- lots, as the venue reports
    cost INTEGER NOT NULL DEFAULT 0,                 -- µ$, as the venue reports
    fee INTEGER NOT NULL DEFAULT 0,                  -- µ$, as the venue reports
    error TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (execution_id, leg, role, attempt)
);
CREATE INDEX IF NOT EXISTS intents_by_state ON intents(state);
CREATE TABLE IF NOT EXISTS fills (
    venue TEXT NOT NULL,
    fill_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL REFERENCES intents(client_order_id),
    order_id TEXT NOT NULL,
    market_id TEXT NOT NULL,
    side TEXT NOT NULL,                              -- as the venue reports it
    action TEXT NOT NULL,
    qty INTEGER NOT NULL,                            -- lots
    price INTEGER NOT NULL,                          -- ticks of `side`
    fee INTEGER NOT NULL,                            -- µ$
    is_taker INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, fill_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    execution_id TEXT,
    client_order_id TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS flags (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    ts_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS market_failures (
    market TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    blacklisted_until_ms INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL
);
"""

T0 = 1_773_136_800_000          # 2026-03-10 10:00:00 UTC, ms


def legacy_db(path) -> None:
    """Write a version-1 database as the old code did, holding four executions:

    x1 unwound: bought 1,000 YES A at 42¢ (fee $0.18), sold them at 39¢, reported by the venue as
       NO at 61¢ (fee $0.07): cash flow −$0.55.
    x2 complete: 1,000 YES A at 42¢ + 1,000 NO B at 50¢, fees $0.18 + $0.05: cash flow −$9.43.
    x3 naked: 500 YES A at 50¢ (fee $0.02), acknowledged an hour after it went naked: −$2.52.
    x4 unwound on ForecastEx (buy-only): 100 YES C at 40¢ (fee $0.001), unwound by buying 100 NO
       C at 61¢ (fee $0.001), a pair worth $1.00: cash flow −$0.012."""
    db = sqlite3.connect(path, isolation_level=None)
    assert db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    db.executescript(LEGACY_SCHEMA)
    db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", ("1",))
    t = T0

    def execution(xid, state, legs, *, ended_at, updated_ms=None):
        db.execute("INSERT INTO executions(id, opportunity_id, lane, kind, qty, payout, planned_cost, planned_fee,"
                   " planned_profit, legs, state, reason, acknowledged, created_ms, updated_ms)"
                   " VALUES (?,?,0,0,1000,10000000,9200000,230000,570000,?,?,'',?,?,?)",
                   (xid, f"opp-{xid}", json.dumps([{"market": m} for m in legs]), state,
                    int(updated_ms is not None), t, updated_ms or ended_at))
        db.execute("INSERT INTO events(ts_ms, kind, execution_id, data) VALUES (?,?,?,'{}')",
                   (ended_at, f"execution_{state}", xid))

    def filled(xid, leg, role, venue, market_id, side, action, qty, price, fee, *, reported_side=None, at):
        coid = f"{xid}-L{leg}{'E' if role == 'entry' else 'U'}0"
        db.execute("INSERT INTO intents(client_order_id, execution_id, leg, role, attempt, venue, market, market_id,"
                   " side, action, qty, price, tif, state, order_id, filled_qty, cost, fee, created_ms, updated_ms)"
                   " VALUES (?,?,?,?,0,?,?,?,?,?,?,?,'ioc','filled',?,?,?,?,?,?)",
                   (coid, xid, leg, role, venue, f"{venue}:{market_id}", market_id, side, action, qty, price,
                    f"o-{coid}", qty, price * qty, fee, at, at))
        fside = reported_side or side
        db.execute("INSERT INTO fills(venue, fill_id, client_order_id, order_id, market_id, side, action, qty, price,"
                   " fee, is_taker, ts_ms) VALUES (?,?,?,?,?,?,?,?,?,?,1,0)",
                   (venue, f"f-{coid}", coid, f"o-{coid}", market_id, fside, action, qty,
                    price if fside == side else 10_000 - price, fee))
        db.execute("INSERT INTO events(ts_ms, kind, execution_id, client_order_id, data) VALUES (?,'fill',?,?,?)",
                   (at, xid, coid, json.dumps({"fill_id": f"f-{coid}", "fee": fee})))

    filled("x1", 0, "entry", "kalshi", "A", "yes", "buy", 1_000, 4_200, 180_000, at=t + 1_000)
    filled("x1", 0, "unwind", "kalshi", "A", "yes", "sell", 1_000, 3_900, 70_000, reported_side="no", at=t + 2_000)
    execution("x1", "unwound", ["kalshi:A", "polymarket:B"], ended_at=t + 2_500)
    filled("x2", 0, "entry", "kalshi", "A", "yes", "buy", 1_000, 4_200, 180_000, at=t + 3_000)
    filled("x2", 1, "entry", "polymarket", "B", "no", "buy", 1_000, 5_000, 50_000, at=t + 4_000)
    execution("x2", "complete", ["kalshi:A", "polymarket:B"], ended_at=t + 4_500)
    filled("x3", 0, "entry", "kalshi", "A", "yes", "buy", 500, 5_000, 20_000, at=t + 5_000)
    execution("x3", "naked", ["kalshi:A", "polymarket:B"], ended_at=t + 5_500, updated_ms=t + 3_600_000)
    filled("x4", 0, "entry", "forecastex", "C", "yes", "buy", 100, 4_000, 1_000, at=t + 6_000)
    filled("x4", 0, "unwind", "forecastex", "C", "no", "buy", 100, 6_100, 1_000, at=t + 7_000)
    execution("x4", "unwound", ["forecastex:C", "kalshi:D"], ended_at=t + 7_500)
    db.execute("INSERT INTO flags(name, value, reason, ts_ms) VALUES ('safe_mode', '0', 'x3 naked', ?)",
               (t + 3_600_000,))
    db.close()


def test_legacy_database_is_migrated_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.db"
    legacy_db(path)
    store = OrderStore(path, clock_ms=lambda: T0 + 7_200_000)
    assert store.migrated_from == 1 and LATEST == 11
    db = store._db
    assert [tuple(r) for r in db.execute("SELECT version, description, applied_ms FROM schema_version")] == [
        (1, "adopted from meta.schema_version", T0 + 7_200_000),
        (2, schema.MIGRATIONS[1].description, T0 + 7_200_000),
        (3, schema.MIGRATIONS[2].description, T0 + 7_200_000),
        (4, schema.MIGRATIONS[3].description, T0 + 7_200_000),
        (5, schema.MIGRATIONS[4].description, T0 + 7_200_000),
        (6, schema.MIGRATIONS[5].description, T0 + 7_200_000),
        (7, schema.MIGRATIONS[6].description, T0 + 7_200_000),
        (8, schema.MIGRATIONS[7].description, T0 + 7_200_000),
        (9, schema.MIGRATIONS[8].description, T0 + 7_200_000),
        (10, schema.MIGRATIONS[9].description, T0 + 7_200_000),
        (11, schema.MIGRATIONS[10].description, T0 + 7_200_000)]
    assert schema.MIGRATIONS[1].description == ("durable risk: realised_losses ledger, fills.recorded_ms, breakers, "
                                                "cash_baselines")
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "11"
    # the data is intact and reads through today's methods
    assert [(x.id, x.state, x.acknowledged) for x in store.executions()] == [
        ("x1", "unwound", False), ("x2", "complete", False), ("x3", "naked", True), ("x4", "unwound", False)]
    assert [(i.client_order_id, i.state, i.filled_qty, i.cost, i.fee) for i in store.intents("x1")] == [
        ("x1-L0E0", "filled", 1_000, 4_200_000, 180_000), ("x1-L0U0", "filled", 1_000, 3_900_000, 70_000)]
    assert [(f.fill_id, f.side, f.price, f.qty, f.fee) for f in store.fills("x1-L0U0")] == [
        ("f-x1-L0U0", "no", 6_100, 1_000, 70_000)]
    assert [store.cash_flow(x) for x in ("x1", "x2", "x3", "x4")] == [-550_000, -9_430_000, -2_520_000, -12_000]
    assert store.leg_net("x3") == {0: 500, 1: 0} and store.safe_mode() is None
    # version 2 backfilled the loss ledger, dated when each execution ended (not x3's later ack)
    rows = db.execute("SELECT execution_id, ts_ms, state, loss, total FROM realised_losses ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows] == [("x1", T0 + 2_500, "unwound", 550_000, 550_000),
                                        ("x3", T0 + 5_500, "naked", 2_520_000, 2_520_000),
                                        ("x4", T0 + 7_500, "unwound", 12_000, 12_000)]
    assert store.daily_loss(T0, T0 + 86_400_000) == 3_082_000
    assert store.daily_loss(T0 + 3_000, T0 + 86_400_000) == 2_532_000
    # ... and dated every fill by its recording event
    assert db.execute("SELECT fill_id, recorded_ms FROM fills ORDER BY recorded_ms").fetchall()[0][1] == T0 + 1_000
    assert store.daily_fees(T0, T0 + 86_400_000) == 180_000 + 70_000 + 180_000 + 50_000 + 20_000 + 1_000 + 1_000
    assert store.daily_fees(T0 + 6_000, T0 + 86_400_000) == 2_000
    assert store.breaker_state() is None and store.cash_baseline("kalshi") is None
    # new writes use the new columns and tables
    store.set_execution_state("x3", "unwound", "closed by operator")        # no new fill: loss unchanged
    assert store.realised_loss("x3") == 2_520_000
    store.set_cash_baseline("kalshi", 1_000_000_000)
    store.close()
    store = OrderStore(path)                                                 # reopening: nothing to do
    assert store.migrated_from == 11 and store._db.total_changes == 0
    assert store.cash_baseline("kalshi") == 1_000_000_000 and store.cash_baseline("polymarket") is None
    assert store._db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 11
    store.close()


def test_fresh_database_ends_at_the_latest_version_and_reopening_is_a_no_op(tmp_path):
    path = tmp_path / "new.db"
    store = OrderStore(path, clock_ms=lambda: T0)
    assert store.migrated_from == 0 and current_version(store._db) == LATEST
    assert [tuple(r) for r in store._db.execute("SELECT version, applied_ms FROM schema_version")] == [
        (1, T0), (2, T0), (3, T0), (4, T0), (5, T0), (6, T0), (7, T0), (8, T0), (9, T0), (10, T0), (11, T0)]
    tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"meta", "executions", "intents", "fills", "events", "flags", "market_failures", "schema_version",
            "realised_losses", "breakers", "cash_baselines", "estimate_samples", "drawdown", "sizing_records", "bucket_groups", "paper_accounts", "paper_orders",
            "paper_fills", "resolutions", "voided_fills"} <= tables
    store.close()
    for _ in range(2):
        store = OrderStore(path, clock_ms=lambda: T0 + 1)
        assert store.migrated_from == LATEST and store._db.total_changes == 0
        assert store._db.execute("SELECT MAX(applied_ms) FROM schema_version").fetchone()[0] == T0
        store.close()


def test_a_newer_database_is_refused_clearly(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "future.db"
    OrderStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO schema_version(version, description, applied_ms) VALUES (12, 'from the future', 0)")
    db.close()
    with pytest.raises(SchemaError, match=r"schema version 12 is newer than this arbbot supports \(11\)"):
        OrderStore(path)
    assert main(["status", "--db", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err == (f"arbbot status: order store {path}: database schema version 12 is newer than this arbbot "
                   "supports (11); upgrade arbbot to open it\n")


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    legacy_db(path)

    def boom(db, now_ms):
        raise RuntimeError("disk on fire")
    broken = schema.MIGRATIONS[:1] + (schema.Migration(2, "v2 that fails half-way",
                                                       schema.MIGRATIONS[1].steps + (boom,)),)
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        OrderStore(path)
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not {"schema_version", "realised_losses", "breakers", "cash_baselines"} & tables
    assert "recorded_ms" not in [r[1] for r in db.execute("PRAGMA table_info(fills)")]
    assert db.execute("SELECT value FROM meta").fetchone()[0] == "1"
    db.close()
    monkeypatch.undo()
    assert OrderStore(path).migrated_from == 1                               # the real code then migrates


def test_operator_tools_do_not_create_or_initialise_a_store(tmp_path, capsys):
    missing = tmp_path / "missing.db"
    with pytest.raises(FileNotFoundError):
        OrderStore(missing, create=False)
    assert not missing.exists()
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    with pytest.raises(SchemaError, match="is not an arbbot order store"):
        OrderStore(other, create=False)
    assert main(["status", "--db", str(other), "--json"]) == 2
    assert "is not an arbbot order store" in capsys.readouterr().err
    assert {r[0] for r in sqlite3.connect(other).execute("SELECT name FROM sqlite_master")} == {"notes"}
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database at all " * 100)
    assert main(["status", "--db", str(garbage), "--json"]) == 2
    assert "is not a usable order store" in capsys.readouterr().err


def test_version_4_migrates_to_5_and_its_rows_are_venue_rows(tmp_path, monkeypatch):
    """Version 5 (paper trading) adds `paper` to executions and intents (0 for every existing row:
    they were traded at venues) and the paper ledger's tables; the database stays a venue one."""
    path = tmp_path / "v4.db"
    legacy_db(path)
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
    monkeypatch.setattr(schema, "LATEST", 4)
    store = OrderStore(path, clock_ms=lambda: T0)               # a version-4 database, as 4 wrote it
    assert store.migrated_from == 1 and current_version(store._db) == 4
    assert "paper" not in [r[1] for r in store._db.execute("PRAGMA table_info(intents)")]
    store.close()
    monkeypatch.undo()
    store = OrderStore(path, clock_ms=lambda: T0 + 1)
    assert store.migrated_from == 4 and current_version(store._db) == LATEST
    row = store._db.execute("SELECT description, applied_ms FROM schema_version WHERE version=5").fetchone()
    assert tuple(row) == (
        "paper trading: executions.paper, intents.paper, paper_accounts, paper_orders, paper_fills", T0 + 1)
    assert [(x.id, x.paper) for x in store.executions()] == [("x1", False), ("x2", False), ("x3", False),
                                                             ("x4", False)]
    assert {i.paper for i in store.intents()} == {0}
    assert [store.cash_flow(x) for x in ("x1", "x2", "x3", "x4")] == [-550_000, -9_430_000, -2_520_000, -12_000]
    assert store.fill_outcomes() == {"forecastex": (1, 1), "kalshi": (3, 3), "polymarket": (1, 1)}
    assert store.trading_mode() == "venue" and store.paper_orders() == [] and store.paper_accounts() == {}
    with pytest.raises(ValueError, match="holds orders sent to venues"):
        store.claim_trading_mode("paper")
    store.close()



def test_version_5_migrates_to_6_without_the_samples_index_by_key(tmp_path, monkeypatch):
    """Version 6 drops `estimate_samples_by_key` (samples are read by kind and time); the samples
    stay and read back the same."""
    path = tmp_path / "v5.db"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:5])
    monkeypatch.setattr(schema, "LATEST", 5)
    store = OrderStore(path, clock_ms=lambda: T0)
    store.add_estimate_samples([("mid", "kalshi:A", 1_700_000_000.5, 0.42),
                                ("depletion", "kalshi:A#yes", 1_700_000_001.0, 0.25)])
    indexes = lambda: {r[0] for r in store._db.execute(  # noqa: E731
        "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='estimate_samples'")}
    assert indexes() == {"estimate_samples_by_key", "estimate_samples_by_time"}
    store.close()
    monkeypatch.undo()
    store = OrderStore(path, clock_ms=lambda: T0 + 1)
    assert store.migrated_from == 5 and current_version(store._db) == LATEST
    assert indexes() == {"estimate_samples_by_time"}
    assert store.estimate_samples("mid", 0) == {"kalshi:A": ((1_700_000_000.5, 0.42),)}
    assert store.estimate_samples("depletion", 1_700_000_001_000) == {"kalshi:A#yes": ((1_700_000_001.0, 0.25),)}
    plan = " ".join(r[3] for r in store._db.execute(
        "EXPLAIN QUERY PLAN SELECT key, ts_ms, value FROM estimate_samples WHERE kind=? AND ts_ms>=? ORDER BY ts_ms, seq",
        ("mid", 0)))
    assert "estimate_samples_by_time" in plan
    store.close()


def test_version_7_migrates_to_8_and_reads_an_orders_fills_by_index(tmp_path, monkeypatch):
    """Version 8 indexes fills by client order id: an order's fills and an execution's cash flow
    (read on every execution) are searched, not scanned (0.34 s a cash flow in a 200,000-execution
    store). The fills stay and read back the same."""
    path = tmp_path / "old.db"
    legacy_db(path)
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
    monkeypatch.setattr(schema, "LATEST", 7)
    store = OrderStore(path, clock_ms=lambda: T0)
    plan = lambda sql, arg: " ".join(r[3] for r in store._db.execute("EXPLAIN QUERY PLAN " + sql, (arg,)))  # noqa: E731
    assert "SCAN f" in plan(schema.CASH_FLOW_SQL, "x1")
    store.close()
    monkeypatch.undo()
    store = OrderStore(path, clock_ms=lambda: T0 + 1)
    assert store.migrated_from == 7 and current_version(store._db) == LATEST
    assert "USING INDEX fills_by_order" in plan(schema.CASH_FLOW_SQL, "x1")
    assert "USING INDEX fills_by_order" in plan("SELECT * FROM fills WHERE client_order_id=?", "x1-L0U0")
    assert [(f.fill_id, f.side, f.price, f.qty, f.fee) for f in store.fills("x1-L0U0")] == [
        ("f-x1-L0U0", "no", 6_100, 1_000, 70_000)]
    assert [store.cash_flow(x) for x in ("x1", "x2", "x3", "x4")] == [-550_000, -9_430_000, -2_520_000, -12_000]
    # the running totals start from the history the store held
    from tests.execution.test_store_reads_by_index import summed
    assert (store.net_positions(), store.fill_outcomes()) == summed(store)
    assert store.fill_outcomes() == {"forecastex": (1, 1), "kalshi": (3, 3), "polymarket": (1, 1)}
    store.close()


def test_version_9_migrates_to_10_with_each_sides_acquired_lots(tmp_path, monkeypatch):
    """Version 10 keeps, per market, the lots each side acquired (a buy of YES or a sale of NO
    acquires YES), backfilled from the fills, and indexes fills by market: a market on a venue
    netting pairs that acquired both sides is found from the running positions, and its fills read
    by index."""
    path = tmp_path / "old.db"
    legacy_db(path)
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:9])
    monkeypatch.setattr(schema, "LATEST", 9)
    OrderStore(path, clock_ms=lambda: T0).close()
    monkeypatch.undo()
    store = OrderStore(path, clock_ms=lambda: T0 + 1)
    assert store.migrated_from == 9 and current_version(store._db) == LATEST
    from tests.execution.test_store_reads_by_index import acquired_summed
    running = {f"{v}:{m}": (y, n) for v, m, y, n in store._db.execute(
        "SELECT venue, market_id, yes_acquired, no_acquired FROM market_positions")}
    assert running == acquired_summed(store)
    # A: x1's YES bought, its sale reported as a sale of NO (acquiring YES), x2's and x3's YES
    assert running == {"forecastex:C": (100, 100), "kalshi:A": (3_500, 0), "polymarket:B": (0, 1_000)}
    assert store.netted_markets() == []           # C holds nothing; A and B acquired one side only
    plan = " ".join(r[3] for r in store._db.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM fills WHERE venue=? AND market_id=? ORDER BY ts_ms, fill_id", ("kalshi", "A")))
    assert "USING INDEX fills_by_market" in plan
    assert [f.fill_id for f in store.market_fills("polymarket", "B")] == ["f-x2-L1E0"]
    store.close()


def test_version_10_migrates_to_11_and_counts_only_orders_that_reached_the_venue(tmp_path, monkeypatch):
    """Version 11 adds `intents.at_venue` and counts step 2's fill outcomes again without the
    orders never sent or never found at the venue (`failed`)."""
    path = tmp_path / "v10.db"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:10])
    monkeypatch.setattr(schema, "LATEST", 10)
    store = OrderStore(path, clock_ms=lambda: T0)
    store.create_execution("x", two_leg_opportunity("opp-x"))
    for k, state in enumerate(("filled", "filled", "canceled", "failed", "failed", "rejected", "rejected")):
        coid = store.add_intent("x", 0, "entry", k, venue="kalshi", market="kalshi:A", market_id="A", side="yes",
                                action="buy", qty=100, price=4_000, tif="ioc")
        store.set_intent_state(coid, state, "kalshi POST /portfolio/events/orders: HTTP 429 Too Many Requests after 5 "
                               "attempts; nothing was placed" if k == 6 else "why")
    assert store.fill_outcomes() == {"kalshi": (2, 7)}                 # as version 10 counted
    store.close()
    monkeypatch.undo()
    store = OrderStore(path, clock_ms=lambda: T0 + 1)
    assert store.migrated_from == 10 and current_version(store._db) == LATEST
    assert store.fill_outcomes() == {"kalshi": (2, 4)}                 # failed, and the outage's refusal, out
    assert [r[0] for r in store._db.execute("SELECT at_venue FROM intents ORDER BY attempt")] == [1] * 6 + [0]
    store.close()
