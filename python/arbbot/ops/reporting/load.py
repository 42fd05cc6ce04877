"""Read an order store for the report: read-only SQLite (never migrated, never written; works
while a bot is trading on it). Units: ms since the epoch, lots, ticks, µ$.

Each fill's cash (µ$) is computed by the store's own cash-flow term (`schema.CASH_FLOW_TERM`),
so an execution's cash flow here is exactly `OrderStore.cash_flow`.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from arbbot.engine.types import Lane
from arbbot.execution.schema import CASH_FLOW_TERM, FULL, LATEST, SchemaError, current_version
from arbbot.execution.store import PAPER, TRADING_MODE_FLAG, VENUE, resolved_value
from arbbot.ops.reporting.pnl import ExecutionPnL, execution_pnl, held_cost


class StoreError(ValueError):
    """The order store is missing or unusable (the message says why; `arbbot report` exits 2)."""


@dataclass(frozen=True, slots=True)
class FillRec:
    venue: str
    execution_id: str
    client_order_id: str
    leg: int
    role: str                  # entry | unwind
    qty: int                   # lots
    price: int                 # ticks of the intent's own side
    fee: int                   # µ$
    cash: int                  # µ$ this fill moved (CASH_FLOW_TERM: + received, − paid, fee included)
    recorded_ms: int           # store clock when recorded (the day its fee counts in)


@dataclass(slots=True)
class IntentRec:
    client_order_id: str
    execution_id: str
    leg: int
    role: str
    venue: str
    qty: int                   # lots ordered
    price: int                 # limit, ticks of the intent's side
    state: str
    created_ms: int
    updated_ms: int
    filled: int = 0            # lots, Σ recorded fills
    cost: int = 0              # µ$, Σ fill price × lots (intent's side), fees excluded
    fees: int = 0              # µ$


@dataclass(slots=True)
class ExecutionRec:
    id: str
    lane: str                  # label: intra | cross | bucket | parity | tree
    state: str
    qty: int
    payout: int
    planned_profit: int
    legs: tuple[tuple[int, int, int], ...]   # planned legs: (qty lots, cost µ$, fee µ$)
    created_ms: int
    updated_ms: int            # when it became terminal (for a terminal execution)
    cash_flow: int = 0
    net: list[int] = field(default_factory=list)       # net lots per leg
    first_leg_entry_lots: int = 0
    venues: str = ""           # venues of its intents, sorted, "+"-joined ("kalshi+polymarket")
    # per leg, [entry lots, µ$ they cost, lots its unwinds bought of the other side, µ$ those cost]
    # (fees included): what `held_cost` values lots held beyond the complete sets at
    bought: list[list[int]] = field(default_factory=list)
    resolved: int = 0          # µ$ a naked one's lots in resolved markets paid (`store.resolved_value`)

    @property
    def pnl(self) -> ExecutionPnL:
        held = 0
        if len(set(self.net)) > 1:
            legs = [self.bought[i] if i < len(self.bought) else [0, 0, 0, 0] for i in range(len(self.net))]
            held = held_cost(self.net, *([b[k] for b in legs] for k in range(4)))
        return execution_pnl(self.state, self.qty, self.payout, self.planned_profit, self.net,
                             self.first_leg_entry_lots, self.cash_flow, held, self.resolved)

    def add_fill(self, leg: int, role: str, action: str, qty: int, price: int, fee: int, cash: int) -> None:
        """Fold one of its fills in (price: ticks of the intent's side)."""
        self.cash_flow += cash
        while len(self.net) <= leg:
            self.net.append(0)
        self.net[leg] += qty if role == "entry" else -qty
        if action == "buy":
            while len(self.bought) <= leg:
                self.bought.append([0, 0, 0, 0])
            k = 0 if role == "entry" else 2
            self.bought[leg][k] += qty
            self.bought[leg][k + 1] += price * qty + fee
        if role == "entry" and leg == 0:
            self.first_leg_entry_lots += qty


@dataclass
class StoreData:
    path: str
    schema_version: int
    executions: list[ExecutionRec]
    intents: list[IntentRec]
    fills: list[FillRec]
    latency_samples: list[tuple[str, int, float]]     # (venue, ts ms, seconds): executor order round trips
    drift_alerts: list[dict]                          # drift_alert events: data + ts_ms
    lane_flags: dict[str, tuple[str, str, int]]       # lane → (value, reason, ts ms) of lane_disabled:<lane>
    # venue → µ$ its cash moved by over every fill (`reconcile.cash_moved`: Kalshi and IB pay a YES+NO
    # pair of one market back as $1 whichever executions bought it): what reconciliation compares
    venue_cash_moved: dict[str, int] = field(default_factory=dict)
    # `paper` (orders filled by the local fill engine, none sent), `venue` (traded at venues or a
    # simulator) or None (nothing traded): `OrderStore.trading_mode`
    trading_mode: str | None = None


def connect_ro(path: str) -> sqlite3.Connection:
    """A read-only connection to the order store at `path` (StoreError if missing / not a store)."""
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"no order store at {path}")
    try:
        db = sqlite3.connect(f"{p.absolute().as_uri()}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        version = current_version(db, path)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable order store: {exc}") from None
    except SchemaError as exc:
        db.close()
        raise StoreError(str(exc)) from None
    if version == 0:
        db.close()
        raise StoreError(f"{path} is not an arbbot order store (no schema version)")
    if version > LATEST:
        db.close()
        raise StoreError(f"{path}: schema version {version} is newer than this arbbot supports ({LATEST})")
    return db


def _has_table(db, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def load(db: sqlite3.Connection, path: str = "") -> StoreData:
    """Everything the report needs, in one read transaction (a consistent snapshot)."""
    db.execute("BEGIN")
    try:
        return _load(db, path)
    finally:
        db.execute("ROLLBACK")


def _load(db: sqlite3.Connection, path: str) -> StoreData:
    """The store's records, kept small (a year of trading is ~10⁵ executions): slotted records,
    planned legs as integers, each repeated string (ids, venues, roles, states) one object."""
    version = current_version(db)
    recorded = "f.recorded_ms" if version >= 2 else "f.ts_ms"
    words: dict[str, str] = {}                 # one object per repeated short string
    venue_sets = _VenueSets()
    executions: dict[str, ExecutionRec] = {}
    for r in db.execute("SELECT id, lane, state, qty, payout, planned_profit, legs, created_ms, updated_ms"
                        " FROM executions ORDER BY created_ms, id"):
        legs = _planned_legs(r[6], r[0])
        executions[r[0]] = ExecutionRec(r[0], _lane(r[1]), words.setdefault(r[2], r[2]), r[3], r[4], r[5], legs,
                                        r[7], r[8], net=[0] * len(legs))
    intents: dict[str, IntentRec] = {}
    for coid, xid, leg, role, venue, qty, price, state, created, updated in db.execute(
            "SELECT client_order_id, execution_id, leg, role, venue, qty, price, state, created_ms, updated_ms"
            " FROM intents ORDER BY created_ms, client_order_id"):
        x = executions.get(xid)
        venue = words.setdefault(venue, venue)
        intents[coid] = IntentRec(coid, x.id if x is not None else xid, leg, words.setdefault(role, role), venue,
                                  qty, price, words.setdefault(state, state), created, updated)
        if x is not None:
            x.venues = venue_sets.add(x.venues, venue)
    fills = []
    for venue, xid, coid, leg, role, action, qty, price, fee, cash, ts in db.execute(
            f"SELECT f.venue, i.execution_id, f.client_order_id, i.leg, i.role, i.action, f.qty,"
            f" CASE WHEN f.side = i.side THEN f.price ELSE {FULL} - f.price END, f.fee, ({CASH_FLOW_TERM}), {recorded}"
            f" FROM fills f JOIN intents i ON i.client_order_id = f.client_order_id ORDER BY {recorded}, f.fill_id"):
        it = intents.get(coid)
        if it is not None:
            it.filled += qty
            it.cost += price * qty
            it.fees += fee
            xid, coid, role = it.execution_id, it.client_order_id, it.role
        fills.append(FillRec(words.setdefault(venue, venue), xid, coid, leg, role, qty, price, fee, cash, ts))
        x = executions.get(xid)
        if x is not None:
            x.add_fill(leg, role, action, qty, price, fee, cash)
    if _has_table(db, "resolutions"):
        for x in executions.values():
            if x.state == "naked":
                x.resolved = resolved_value(db, x.id)
    samples = []
    if _has_table(db, "estimate_samples"):
        samples = [(k, t, v) for k, t, v in db.execute(
            "SELECT key, ts_ms, value FROM estimate_samples WHERE kind = 'latency' ORDER BY ts_ms, seq")]
    alerts = [dict(_stored_object(d, f"the drift alert event of {t} ms"), ts_ms=t) for t, d in db.execute(
        "SELECT ts_ms, data FROM events WHERE kind = 'drift_alert' ORDER BY seq")]
    flags = {name.split(":", 1)[1]: (value, reason, ts) for name, value, reason, ts in db.execute(
        "SELECT name, value, reason, ts_ms FROM flags WHERE substr(name, 1, 14) = 'lane_disabled:'")}
    paper = db.execute("SELECT 1 FROM flags WHERE name = ? AND value = ?", (TRADING_MODE_FLAG, PAPER)).fetchone()
    mode = PAPER if paper else (VENUE if executions else None)
    return StoreData(path, version, list(executions.values()), list(intents.values()), fills, samples, alerts, flags,
                     _venue_cash_moved(db), mode)


class _VenueFill(NamedTuple):
    """A fill as its venue reported it: what `reconcile.cash_moved` reads."""
    venue: str
    market_id: str
    side: str
    action: str
    price: int
    qty: int
    fee: int


def _venue_cash_moved(db: sqlite3.Connection) -> dict[str, int]:
    """Per venue, µ$ its cash moved by over every recorded fill (`reconcile.cash_moved`), read
    one venue at a time (its markets' lots in memory, not its fills)."""
    from arbbot.execution.reconcile import cash_moved
    venues = [v for (v,) in db.execute("SELECT DISTINCT venue FROM fills ORDER BY venue")]
    return {venue: cash_moved(_VenueFill(*r) for r in db.execute(
        "SELECT venue, market_id, side, action, price, qty, fee FROM fills WHERE venue = ?", (venue,)))
            for venue in venues}


def _planned_legs(text: str, execution_id: str) -> tuple[tuple[int, int, int], ...]:
    """(qty lots, cost µ$, fee µ$) of each planned leg of an execution's `legs` JSON (0 where absent);
    StoreError naming the execution when the record is damaged (not a list of objects of integers)."""
    try:
        legs = json.loads(text)
        if isinstance(legs, list) and all(isinstance(leg, dict) for leg in legs):
            return tuple((int(leg.get("qty") or 0), int(leg.get("cost") or 0), int(leg.get("fee") or 0))
                         for leg in legs)
    except (ValueError, TypeError):
        pass
    raise StoreError(f"execution {execution_id}: its planned legs are damaged ({str(text)[:40]!r})")


def _stored_object(text: str, what: str) -> dict:
    """A JSON object the store wrote (an event's data); StoreError naming `what` when damaged."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        value = None
    if not isinstance(value, dict):
        raise StoreError(f"{what} is damaged ({str(text)[:40]!r})")
    return value


class _VenueSets:
    """Venue-set keys ("kalshi+polymarket"), one object each."""

    def __init__(self) -> None:
        self._grown: dict[tuple[str, str], str] = {}

    def add(self, key: str, venue: str) -> str:
        """`key` with `venue` in it."""
        out = self._grown.get((key, venue))
        if out is None:
            names = set(key.split("+")) - {""} | {venue}
            out = self._grown[(key, venue)] = "+".join(sorted(names))
        return out


def _lane(code: int) -> str:
    try:
        return Lane(code).label
    except ValueError:
        return f"lane{code}"


def read_store(path: str) -> StoreData:
    """Open `path` read-only, load it, close it (StoreError when missing or unusable)."""
    db = connect_ro(path)
    try:
        return load(db, path)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable order store: {exc}") from None
    finally:
        db.close()


def finished_since(db: sqlite3.Connection, since_ms: int) -> list[ExecutionRec]:
    """Executions that ended complete or unwound at or after `since_ms` (by `updated_ms`), oldest
    first, with their fills folded in (cash flow, net lots, first leg's entry lots): what the
    drift monitor rebuilds its window from at start, without reading the whole store."""
    out: dict[str, ExecutionRec] = {}
    for r in db.execute("SELECT id, lane, state, qty, payout, planned_profit, legs, created_ms, updated_ms"
                        " FROM executions WHERE state IN ('complete', 'unwound') AND updated_ms >= ?"
                        " ORDER BY updated_ms, id", (since_ms,)):
        legs = _planned_legs(r[6], r[0])
        out[r[0]] = ExecutionRec(r[0], _lane(r[1]), r[2], r[3], r[4], r[5], legs, r[7], r[8], net=[0] * len(legs))
    if not out:
        return []
    rows = db.execute(
        f"SELECT i.execution_id, i.leg, i.role, i.action, i.venue, f.qty,"
        f" CASE WHEN f.side = i.side THEN f.price ELSE {FULL} - f.price END, f.fee, ({CASH_FLOW_TERM})"
        f" FROM fills f JOIN intents i ON i.client_order_id = f.client_order_id"
        f" JOIN executions x ON x.id = i.execution_id"
        f" WHERE x.state IN ('complete', 'unwound') AND x.updated_ms >= ?", (since_ms,))
    venue_sets = _VenueSets()
    for xid, leg, role, action, venue, qty, price, fee, cash in rows:
        x = out[xid]
        x.venues = venue_sets.add(x.venues, venue)
        x.add_fill(leg, role, action, qty, price, fee, cash)
    return list(out.values())
