"""The order store: executions, order intents, fills, an event log and the safe-mode flag.

SQLite (stdlib) in WAL mode with `synchronous=FULL`: a committed transaction survives a crash
of the process or the machine. Every state change is one transaction that also appends to the
event log. Units: quantities in lots, prices in ticks, money in µ$ — all integers.

An *intent* is one order we are about to send, written BEFORE the order leaves the process,
under a deterministic `client_order_id` (execution id + leg + role + attempt). Crash recovery
(`arbbot.execution.recovery`) asks the venue for that id to learn what really happened.

Intent states: intent → placed → filled | partially_filled | canceled | rejected | failed | unknown.
Execution states: executing → complete | aborted | unwound | naked (terminal).
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Iterator

from arbbot.venues.common.model import Fill, Order, OrderStatus

SCHEMA_VERSION = 1

INTENT_OPEN = ("intent", "placed", "unknown")
INTENT_TERMINAL = ("filled", "partially_filled", "canceled", "rejected", "failed")
EXEC_OPEN = ("executing",)
EXEC_TERMINAL = ("complete", "aborted", "unwound", "naked")

_SCHEMA = """
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


@dataclass(frozen=True)
class IntentRow:
    client_order_id: str
    execution_id: str
    leg: int
    role: str
    attempt: int
    venue: str
    market: str
    market_id: str
    side: str
    action: str
    qty: int
    price: int
    tif: str
    state: str
    order_id: str | None
    filled_qty: int
    cost: int
    fee: int
    error: str


@dataclass(frozen=True)
class ExecutionRow:
    id: str
    opportunity_id: str
    qty: int
    payout: int
    planned_profit: int
    legs: tuple[dict, ...]
    state: str
    reason: str
    acknowledged: bool


@dataclass(frozen=True)
class FillRow:
    venue: str
    fill_id: str
    client_order_id: str
    order_id: str
    market_id: str
    side: str
    action: str
    qty: int
    price: int
    fee: int
    is_taker: bool


def client_order_id(execution_id: str, leg: int, role: str, attempt: int) -> str:
    """Deterministic id of one order: `<execution>-L<leg><E|U><attempt>` (≤ 64 chars)."""
    if role not in ("entry", "unwind"):
        raise ValueError(f"role must be entry or unwind, not {role!r}")
    return f"{execution_id}-L{leg}{'E' if role == 'entry' else 'U'}{attempt}"


def intent_state_for(order: Order) -> str:
    """Map a venue order to an intent state (IOC/FOK orders end filled, partial or canceled)."""
    if order.status is OrderStatus.REJECTED:
        return "rejected"
    if order.status is OrderStatus.FILLED or (order.filled_lots >= order.qty_lots > 0):
        return "filled"
    if order.status is OrderStatus.CANCELED:
        return "partially_filled" if order.filled_lots > 0 else "canceled"
    return "placed"                      # pending / resting: still live at the venue


class OrderStore:
    """One SQLite file. Thread-safe for use from one asyncio loop plus helper threads."""

    def __init__(self, path: str, *, clock_ms=None) -> None:
        self.path = str(path)
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"order store {self.path}: SQLite refused WAL mode (got {mode})")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    # ---- plumbing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT; ROLLBACK on error)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _event(self, db, kind: str, execution_id: str | None = None, coid: str | None = None, **data) -> None:
        db.execute("INSERT INTO events(ts_ms, kind, execution_id, client_order_id, data) VALUES (?,?,?,?,?)",
                   (self._clock_ms(), kind, execution_id, coid, json.dumps(data, sort_keys=True)))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- executions ---------------------------------------------------------------------------
    def create_execution(self, execution_id: str, opp) -> None:
        """Record an opportunity about to be traded (state `executing`)."""
        legs = [{"market": l.market, "side": l.side.label, "qty": l.qty, "worst_price": l.worst_price,
                 "cost": l.cost, "fee": l.fee} for l in opp.legs]
        now = self._clock_ms()
        with self.tx() as db:
            db.execute("INSERT INTO executions(id, opportunity_id, lane, kind, qty, payout, planned_cost, planned_fee,"
                       " planned_profit, legs, state, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (execution_id, opp.id, int(opp.lane), int(opp.kind), opp.qty, opp.payout, opp.cost, opp.fee,
                        opp.profit, json.dumps(legs), "executing", now, now))
            self._event(db, "execution_started", execution_id, opportunity=opp.id, qty=opp.qty, profit=opp.profit)

    def set_execution_state(self, execution_id: str, state: str, reason: str = "") -> None:
        if state not in EXEC_OPEN + EXEC_TERMINAL:
            raise ValueError(f"unknown execution state {state!r}")
        with self.tx() as db:
            db.execute("UPDATE executions SET state=?, reason=?, updated_ms=? WHERE id=?",
                       (state, reason, self._clock_ms(), execution_id))
            self._event(db, f"execution_{state}", execution_id, reason=reason)

    def execution(self, execution_id: str) -> ExecutionRow:
        r = self._db.execute("SELECT * FROM executions WHERE id=?", (execution_id,)).fetchone()
        if r is None:
            raise KeyError(execution_id)
        return self._exec_row(r)

    def executions(self, states: tuple[str, ...] | None = None) -> list[ExecutionRow]:
        rows = self._db.execute("SELECT * FROM executions ORDER BY created_ms, id").fetchall()
        return [self._exec_row(r) for r in rows if states is None or r["state"] in states]

    @staticmethod
    def _exec_row(r) -> ExecutionRow:
        return ExecutionRow(r["id"], r["opportunity_id"], r["qty"], r["payout"], r["planned_profit"],
                            tuple(json.loads(r["legs"])), r["state"], r["reason"], bool(r["acknowledged"]))

    # ---- intents ------------------------------------------------------------------------------
    def add_intent(self, execution_id: str, leg: int, role: str, attempt: int, *, venue: str, market: str,
                   market_id: str, side: str, action: str, qty: int, price: int, tif: str) -> str:
        """Write an intent (state `intent`) and return its client_order_id. Call BEFORE sending."""
        coid = client_order_id(execution_id, leg, role, attempt)
        now = self._clock_ms()
        with self.tx() as db:
            db.execute("INSERT INTO intents(client_order_id, execution_id, leg, role, attempt, venue, market, market_id,"
                       " side, action, qty, price, tif, state, created_ms, updated_ms)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (coid, execution_id, leg, role, attempt, venue, market, market_id, side, action, qty, price,
                        tif, "intent", now, now))
            self._event(db, "intent", execution_id, coid, leg=leg, role=role, side=side, action=action, qty=qty,
                        price=price)
        return coid

    def record_order(self, coid: str, order: Order, fills: list[Fill] = ()) -> str:
        """Adopt the venue's view of an order (and any of its fills) in one transaction;
        returns the new intent state."""
        state = intent_state_for(order)
        with self.tx() as db:
            row = db.execute("SELECT execution_id FROM intents WHERE client_order_id=?", (coid,)).fetchone()
            if row is None:
                raise KeyError(coid)
            db.execute("UPDATE intents SET state=?, order_id=?, filled_qty=?, cost=?, fee=?, updated_ms=?"
                       " WHERE client_order_id=?",
                       (state, order.order_id, order.filled_lots, order.cost_micros, order.fees_micros,
                        self._clock_ms(), coid))
            self._event(db, f"order_{state}", row["execution_id"], coid, order_id=order.order_id,
                        filled=order.filled_lots, cost=order.cost_micros, fee=order.fees_micros)
            for f in fills:
                self._insert_fill(db, coid, row["execution_id"], f)
        return state

    def record_fills(self, coid: str, fills: list[Fill]) -> int:
        """Insert fills (idempotent by venue fill id); returns how many were new."""
        with self.tx() as db:
            row = db.execute("SELECT execution_id FROM intents WHERE client_order_id=?", (coid,)).fetchone()
            if row is None:
                raise KeyError(coid)
            return sum(self._insert_fill(db, coid, row["execution_id"], f) for f in fills)

    def _insert_fill(self, db, coid: str, execution_id: str, f: Fill) -> int:
        cur = db.execute("INSERT OR IGNORE INTO fills(venue, fill_id, client_order_id, order_id, market_id, side, action,"
                         " qty, price, fee, is_taker, ts_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         (f.venue.value if hasattr(f.venue, "value") else str(f.venue), f.fill_id, coid, f.order_id,
                          f.market_id, f.side.value, f.action.value, f.qty_lots, f.price_ticks, f.fee_micros,
                          int(f.is_taker), f.ts_ms))
        if cur.rowcount:
            self._event(db, "fill", execution_id, coid, fill_id=f.fill_id, qty=f.qty_lots, price=f.price_ticks,
                        fee=f.fee_micros)
        return cur.rowcount

    def set_intent_order_id(self, coid: str, order_id: str) -> None:
        """Record the venue's id of an order known before it is sent (Polymarket: the signed
        order's hash), so recovery can look it up even if the process dies before the answer."""
        with self.tx() as db:
            row = db.execute("SELECT execution_id FROM intents WHERE client_order_id=?", (coid,)).fetchone()
            if row is None:
                raise KeyError(coid)
            db.execute("UPDATE intents SET order_id=?, updated_ms=? WHERE client_order_id=?",
                       (order_id, self._clock_ms(), coid))
            self._event(db, "intent_order_id", row["execution_id"], coid, order_id=order_id)

    def set_intent_state(self, coid: str, state: str, error: str = "") -> None:
        if state not in INTENT_OPEN + INTENT_TERMINAL:
            raise ValueError(f"unknown intent state {state!r}")
        with self.tx() as db:
            row = db.execute("SELECT execution_id FROM intents WHERE client_order_id=?", (coid,)).fetchone()
            if row is None:
                raise KeyError(coid)
            db.execute("UPDATE intents SET state=?, error=?, updated_ms=? WHERE client_order_id=?",
                       (state, error, self._clock_ms(), coid))
            self._event(db, f"intent_{state}", row["execution_id"], coid, error=error)

    def intents(self, execution_id: str | None = None) -> list[IntentRow]:
        q = "SELECT * FROM intents" + (" WHERE execution_id=?" if execution_id else "") + \
            " ORDER BY execution_id, created_ms, leg, role, attempt"
        rows = self._db.execute(q, (execution_id,) if execution_id else ()).fetchall()
        return [IntentRow(*(r[k] for k in IntentRow.__dataclass_fields__)) for r in rows]

    def intent(self, coid: str) -> IntentRow:
        r = self._db.execute("SELECT * FROM intents WHERE client_order_id=?", (coid,)).fetchone()
        if r is None:
            raise KeyError(coid)
        return IntentRow(*(r[k] for k in IntentRow.__dataclass_fields__))

    def open_intents(self) -> list[IntentRow]:
        return [i for i in self.intents() if i.state in INTENT_OPEN]

    def fills(self, coid: str | None = None) -> list[FillRow]:
        q = "SELECT * FROM fills" + (" WHERE client_order_id=?" if coid else "") + " ORDER BY ts_ms, fill_id"
        rows = self._db.execute(q, (coid,) if coid else ()).fetchall()
        return [FillRow(r["venue"], r["fill_id"], r["client_order_id"], r["order_id"], r["market_id"], r["side"],
                        r["action"], r["qty"], r["price"], r["fee"], bool(r["is_taker"])) for r in rows]

    def events(self, execution_id: str | None = None) -> list[dict]:
        q = "SELECT * FROM events" + (" WHERE execution_id=?" if execution_id else "") + " ORDER BY seq"
        return [dict(r) for r in self._db.execute(q, (execution_id,) if execution_id else ()).fetchall()]

    # ---- positions and PnL (from recorded fills) -----------------------------------------------
    def leg_net(self, execution_id: str) -> dict[int, int]:
        """Net lots held per leg: entry fills minus unwind fills (an unwind reduces its leg)."""
        net: dict[int, int] = {}
        ex = self.execution(execution_id)
        for i in range(len(ex.legs)):
            net[i] = 0
        for it in self.intents(execution_id):
            got = sum(f.qty for f in self.fills(it.client_order_id))
            net[it.leg] = net.get(it.leg, 0) + (got if it.role == "entry" else -got)
        return net

    def cash_flow(self, execution_id: str) -> int:
        """µ$ paid out (negative) or received (positive) by this execution's fills, fees included.

        Prices are converted to the intent's own side: a venue may report a sell of YES at p as
        a buy of NO at 10,000 − p (Kalshi nets the pair into $1). An unwind that BUYS the opposite
        side (ForecastEx is buy-only; a Polymarket sale under $1 is not allowed) completes a YES+NO
        pair, worth $1 per contract (10,000 µ$ per lot: netted at once, or paid at settlement)."""
        total = 0
        for it in self.intents(execution_id):
            for f in self.fills(it.client_order_id):
                own = f.price if f.side == it.side else 10_000 - f.price
                notional = own * f.qty
                total += (notional if it.action == "sell" else -notional) - f.fee
                if it.role == "unwind" and it.action == "buy":
                    total += 10_000 * f.qty
        return total

    # ---- flags: safe mode -----------------------------------------------------------------------
    def enter_safe_mode(self, reason: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO flags(name, value, reason, ts_ms) VALUES ('safe_mode', '1', ?, ?)"
                       " ON CONFLICT(name) DO UPDATE SET value='1', reason=excluded.reason, ts_ms=excluded.ts_ms",
                       (reason, self._clock_ms()))
            self._event(db, "safe_mode_entered", reason=reason)

    def safe_mode(self) -> str | None:
        """The reason the store is in safe mode (no new trades), or None."""
        r = self._db.execute("SELECT value, reason FROM flags WHERE name='safe_mode'").fetchone()
        return r["reason"] if r is not None and r["value"] == "1" else None

    def acknowledge(self, who: str = "operator") -> list[str]:
        """Operator acknowledgement: leave safe mode and mark naked executions acknowledged.
        Returns the acknowledged execution ids."""
        with self.tx() as db:
            ids = [r["id"] for r in db.execute("SELECT id FROM executions WHERE state='naked' AND acknowledged=0")]
            db.execute("UPDATE executions SET acknowledged=1, updated_ms=? WHERE state='naked'", (self._clock_ms(),))
            db.execute("UPDATE flags SET value='0', ts_ms=? WHERE name='safe_mode'", (self._clock_ms(),))
            self._event(db, "safe_mode_acknowledged", who=who, executions=ids)
        return ids

    # ---- market failures (trap 7) ---------------------------------------------------------------
    def record_market_failure(self, market: str, *, threshold: int, blacklist_ms: int) -> int:
        """Count a leg failure on `market`; at `threshold` failures blacklist it for `blacklist_ms`
        and reset the count. Returns the blacklist expiry (ms, 0 = not blacklisted)."""
        now = self._clock_ms()
        with self.tx() as db:
            r = db.execute("SELECT count FROM market_failures WHERE market=?", (market,)).fetchone()
            count = (r["count"] if r else 0) + 1
            until = 0
            if count >= threshold:
                until, count = now + blacklist_ms, 0
                self._event(db, "market_blacklisted", market=market, until_ms=until)
            db.execute("INSERT INTO market_failures(market, count, blacklisted_until_ms, updated_ms) VALUES (?,?,?,?)"
                       " ON CONFLICT(market) DO UPDATE SET count=excluded.count, updated_ms=excluded.updated_ms,"
                       " blacklisted_until_ms=MAX(blacklisted_until_ms, excluded.blacklisted_until_ms)",
                       (market, count, until, now))
            self._event(db, "market_failure", market=market, count=count)
        return until

    def blacklisted_until(self, market: str) -> int:
        """Blacklist expiry (ms) if `market` is blacklisted now, else 0."""
        r = self._db.execute("SELECT blacklisted_until_ms FROM market_failures WHERE market=?", (market,)).fetchone()
        return r[0] if r is not None and r[0] > self._clock_ms() else 0

    def failure_count(self, market: str) -> int:
        r = self._db.execute("SELECT count FROM market_failures WHERE market=?", (market,)).fetchone()
        return r[0] if r else 0
