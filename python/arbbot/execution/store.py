"""The order store: executions, order intents, fills, an event log and the safe-mode flag.

SQLite (stdlib) in WAL mode. Durability "process" (default): a committed transaction survives a
crash of the process at once and a crash of the machine one background fsync later; "power":
`synchronous=FULL`, the fsync completes inside COMMIT (`arbbot.execution.walsync`). Every state
change is one transaction that also appends to the event log. Units: quantities in lots, prices
in ticks, money in µ$ — all integers.

An *intent* is one order we are about to send, written BEFORE the order leaves the process,
under a deterministic `client_order_id` (execution id + leg + role + attempt). Crash recovery
(`arbbot.execution.recovery`) asks the venue for that id to learn what really happened.

Intent states: intent → placed → filled | partially_filled | canceled | rejected | failed | unknown.
Execution states: executing → complete | aborted | unwound | naked (terminal).

Paper trading (`arbbot run --paper`): a database is either a paper one or a venue one, never
both (`claim_trading_mode`; the flag `trading_mode` = `paper` marks it). A store opened on a paper
database writes `paper = 1` on every execution and intent, and also holds the paper venues' own
ledger (`paper_*` tables, written by `arbbot.paper`), which plays the venue for reconciliation
and crash recovery. Sizing's fill-success counts (`fill_outcomes`) never include paper intents.

Durable risk state lives here too (tables owned by `arbbot.execution.schema`): the realised-loss
ledger (invariant: for every terminal execution the sum of its `realised_losses` rows equals
max(0, −cash_flow) if it is unwound or naked, the loss on its unwound lots if it is complete
with some lots unwound (`_unwound_part_loss`), else 0; booked in the same transaction that makes
it terminal or records a later fill), fees by recording time, and the circuit breaker's state.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Mapping

from pathlib import Path

from arbbot.engine.types import Kind, Lane, Leg, Opportunity
from arbbot.execution import store_lock
from arbbot.execution.schema import (CASH_FLOW_SQL, CASH_FLOW_TERM, FULL, cash_flow_sql, LATEST, LOSS_STATES, SchemaError,
                                     VOIDED_FILLS_VERSION, AT_VENUE_VERSION, current_version, migrate)
from arbbot.execution.walsync import DURABILITIES
from arbbot.execution.walsync import syncer as wal_syncer
from arbbot.venues.common.model import Fill, Order, OrderStatus, Side, lot_value

SCHEMA_VERSION = LATEST
TRADING_MODE_FLAG = "trading_mode"   # flag naming a paper database (value PAPER)
PAPER, VENUE = "paper", "venue"
# flag naming where a store's orders went: a simulator this process started (EMBEDDED: its venues
# end with the run), or venues that outlive it (LASTING: a --connect simulator, the real venues)
VENUES_FLAG = "venues"
EMBEDDED, LASTING = "embedded simulator", "lasting venues"

# one execution leg's holding, over its intents `i` grouped by leg: (entry side, entry filled lots,
# lots still held = entry filled − unwinds filled (an unwind reduces the leg whichever way it went),
# entry cost µ$, fees µ$ of entries and unwinds)
LEG_HOLDING = ("MAX(CASE WHEN i.role = 'entry' THEN i.side END),"
               " SUM(CASE WHEN i.role = 'entry' THEN i.filled_qty ELSE 0 END),"
               " SUM(CASE WHEN i.role = 'entry' THEN i.filled_qty ELSE -i.filled_qty END),"
               " SUM(CASE WHEN i.role = 'entry' THEN i.cost ELSE 0 END), SUM(i.fee)")
INTENT_OPEN = ("intent", "placed", "unknown")
INTENT_TERMINAL = ("filled", "partially_filled", "canceled", "rejected", "failed")
FEE_HOLD = "fee_hold:"          # flag name prefix: + market name → "1" held for fees (hold_for_fees)
EXEC_OPEN = ("executing",)
EXEC_TERMINAL = ("complete", "aborted", "unwound", "naked")
# a failed intent's error starts with one of these when it was taken as never sent: its outcome was
# unknown (the executor's lookups) or it was open at a crash (recovery), and the venue did not show it
NOT_FOUND = "not at the venue after"
# fill id prefix of the fills `order_fills` stands in for an order's lots its venue has not listed yet
UNLISTED = "unlisted:"
RECOVERY_NOT_FOUND = "recovery: no such order at the venue"
__all__ = ["BreakerRow", "ExecutionRow", "FillRow", "IntentRow", "LOSS_STATES", "OrderStore", "SCHEMA_VERSION",
           "SchemaError", "client_order_id", "intent_state_for"]


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
    paper: int = 0              # 1: filled by the local fill engine (arbbot run --paper), never sent
    created_ms: int = 0         # when the intent was written (the store's clock), just before sending
    updated_ms: int = 0         # when its state last changed (the store's clock)


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
    paper: bool = False         # traded on paper (arbbot run --paper)


@dataclass(frozen=True)
class ResolutionRow:
    """A market's recorded resolution (table `resolutions`; units as `venue.common.model.Resolution`)."""
    market: str                 # venue:id
    venue: str
    market_id: str
    result: str                 # yes | no | scalar | void
    yes_value: int | None       # µ$ a YES lot pays (NO: 10,000 − it); None: void (returned at cost)
    paid: bool                  # the venue credited the payout and dropped the position
    source: str                 # venue | operator
    resolved_ms: int
    recorded_ms: int

    def lot_value(self, yes_lots: int) -> int | None:
        """µ$ a signed net position of `yes_lots` (> 0 YES, < 0 NO) pays; None when void (at cost)."""
        return lot_value(self.yes_value, yes_lots)


def _dust_held(db, execution_id: str) -> dict[int, int]:
    """Per leg, the lots the executor decided to hold as dust (its `dust_held` events; the last)."""
    rows = db.execute("SELECT data FROM events WHERE execution_id=? AND kind='dust_held' ORDER BY seq",
                      (execution_id,)).fetchall()
    return {d["leg"]: d["lots"] for d in (json.loads(r[0]) for r in rows)}


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
    ts_ms: int = 0              # the venue's time of the fill (ms since the epoch)


@dataclass(frozen=True)
class BreakerRow:
    """A circuit breaker's persisted state (wall-clock ms)."""
    name: str
    state: str                  # closed | open | half_open (as last written; OPEN may have cooled down)
    failures: int               # consecutive failed executions
    opened_at_ms: int           # when it last opened (0 = never)
    cooldown_ms: int            # how long OPEN lasts before HALF_OPEN
    updated_ms: int

    def effective_state(self, now_ms: int) -> str:
        """The state now: an OPEN breaker whose cooldown has passed is half_open."""
        if self.state == "open" and now_ms - self.opened_at_ms >= self.cooldown_ms:
            return "half_open"
        return self.state


# row inserts by mode: `paper` is written for paper rows only (venue rows take its default, 0,
# which also keeps this code writing to a database migrated no further than version 4)
_INSERT_EXECUTION = {paper: "INSERT INTO executions(id, opportunity_id, lane, kind, qty, payout, planned_cost,"
                     " planned_fee, planned_profit, legs, state, created_ms, updated_ms"
                     + (", paper) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,1)" if paper else
                        ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)") for paper in (False, True)}
_INSERT_INTENT = {paper: "INSERT INTO intents(client_order_id, execution_id, leg, role, attempt, venue, market,"
                  " market_id, side, action, qty, price, tif, state, created_ms, updated_ms"
                  + (", paper) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)" if paper else
                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") for paper in (False, True)}

# fill inserts, by whether the database holds `voided_fills` (VOIDED_FILLS_VERSION): there a fill its
# venue reverted is never recorded again; a database migrated no further (tests write to older
# versions) inserts as before
_INSERT_FILL = {voids: "INSERT OR IGNORE INTO fills(venue, fill_id, client_order_id, order_id, market_id, side, action,"
                " qty, price, fee, is_taker, ts_ms, recorded_ms) "
                + ("SELECT ?,?,?,?,?,?,?,?,?,?,?,?,? WHERE NOT EXISTS (SELECT 1 FROM voided_fills WHERE venue=? AND"
                   " fill_id=?)" if voids else "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)") for voids in (False, True)}


def _intent_row(r) -> IntentRow:
    """An `intents` row (a database not yet at version 5 has no `paper`: 0)."""
    keys = r.keys()
    return IntentRow(*(r[k] if k in keys else 0 for k in IntentRow.__dataclass_fields__))


def client_order_id(execution_id: str, leg: int, role: str, attempt: int) -> str:
    """Deterministic id of one order: `<execution>-L<leg><E|U><attempt>` (≤ 64 chars)."""
    if role not in ("entry", "unwind"):
        raise ValueError(f"role must be entry or unwind, not {role!r}")
    return f"{execution_id}-L{leg}{'E' if role == 'entry' else 'U'}{attempt}"


def _stand_in_flow(unlisted) -> int:
    """µ$ the fills `OrderStore._unlisted` stands in ((leg, role, fill), in the order's own side)
    received (positive) or paid (negative), as `schema.CASH_FLOW_TERM` counts a fill: a sale is
    paid its price, a buy pays it, less the fee; an unwind's purchase completes a $1 pair."""
    flow = 0
    for _leg, role, f in unlisted:
        flow += (f.price * f.qty if f.action == "sell" else -f.price * f.qty) - f.fee
        if role == "unwind" and f.action == "buy":
            flow += FULL * f.qty
    return flow


def intent_state_for(order: Order, qty: int) -> str:
    """The state of an intent for `qty` lots whose order the venue shows as `order` (IOC/FOK
    orders end filled, partial or canceled). Invariant: `filled` exactly when the order filled
    `qty` lots or more, whatever the venue calls it; a done order (FILLED or CANCELED) short of
    them is `partially_filled`, or `canceled` with none. An order rebuilt from its fills knows no
    size but what filled (Polymarket after a restart, or an answer lost: `_order_from_fills`):
    its FILLED, for a FAK that filled 400 of 1,000 lots, is no full fill (sizing's fill counts,
    `fill_outcomes`, take `filled` for one)."""
    if order.status is OrderStatus.REJECTED:
        return "rejected"
    if order.status in (OrderStatus.PENDING, OrderStatus.RESTING) and not order.filled_lots >= qty > 0:
        return "placed"                  # still live at the venue
    return done_state(order.filled_lots, qty)


def done_state(filled: int, qty: int) -> str:
    """The state of a done intent for `qty` lots whose order filled `filled` lots: `filled` at `qty`
    or more, `partially_filled` with some, `canceled` with none."""
    if filled >= qty > 0:
        return "filled"
    return "partially_filled" if filled > 0 else "canceled"


def _create_private(path: str) -> None:
    """A new order store's file created owner-only (0600) before SQLite opens it: SQLite creates
    the `-wal` and `-shm` files with the database file's permissions, so all three are 0600
    whatever the umask (the store holds every order, fill and position). A `-wal` / `-shm` left
    over from a database deleted without them is made 0600 too. An existing database keeps its
    permissions (the operator's); `:memory:` / "" (SQLite's in-memory and temporary databases) have
    no file."""
    if path in ("", ":memory:"):
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:         # it exists (its mode is kept), or cannot be made: SQLite's connect says why
        return
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):           # none (the usual case), or not ours: SQLite decides
            os.chmod(path + suffix, 0o600)


def resolved_value(db, execution_id: str) -> int:
    """µ$ the lots this execution still holds in resolved markets pay: per leg, held lots ×
    what one lot of its side pays (a YES lot `yes_value`, a NO lot 10,000 − it); a void market
    returns the entry's cost of the lots held, floored (never overstated). Held lots as
    `held_at_cost` counts them (entry filled − unwound filled)."""
    rows = db.execute(f"SELECT {LEG_HOLDING}, r.result, r.yes_value FROM intents i JOIN resolutions r"
                      " ON r.market = i.market WHERE i.execution_id = ? GROUP BY i.leg", (execution_id,)).fetchall()
    value = 0
    for side, filled, held, cost, _fee, result, yes_value in rows:
        held = max(0, min(held, filled))
        if not held:
            continue
        if result == "void":
            value += cost * held // filled
        else:
            value += held * (yes_value if side == "yes" else FULL - yes_value)
    return value


class OrderStore:
    """One SQLite file. Thread-safe for use from one asyncio loop plus helper threads.

    Opening runs the schema migrations (`arbbot.execution.schema.migrate`); a database newer than
    this code raises `SchemaError`. With `create=False` a missing file raises FileNotFoundError
    instead of being created, and a database that is not an order store raises `SchemaError`
    instead of being initialised (operator tools such as `arbbot status`). `clock_ms` (wall ms since
    the epoch) stamps every row and event; tests inject it."""

    def __init__(self, path: str, *, clock_ms=None, create: bool = True, durability: str = "process",
                 exclusive: bool = False) -> None:
        if durability not in DURABILITIES:
            raise ValueError(f"order store durability {durability!r}: expected one of {', '.join(DURABILITIES)}")
        self.path = str(path)
        self.durability = durability
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._lock = threading.RLock()
        self.ledger_version = 0           # bumped on each realised-loss ledger write by this store
        self._safe_latch: str | None = None   # safe mode entered but not written (the store's disk failed)
        self.exclusive = exclusive            # holds the trading lock (store_lock): one trading process
        # market name → (event, category) as the session lists it (the sizer's): written with each
        # execution's legs when it is created, so that a held market the session no longer lists
        # still counts for its event and category (`held_legs`); {}: none written (tools)
        self.market_meta: Mapping[str, tuple] = {}
        if exclusive:
            store_lock.claim(self.path)
        if create:
            _create_private(self.path)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        else:
            if not Path(self.path).is_file():
                raise FileNotFoundError(f"no order store at {self.path}")
            self._db = sqlite3.connect(f"{Path(self.path).absolute().as_uri()}?mode=rw", uri=True,
                                       isolation_level=None, check_same_thread=False, timeout=30)
        try:
            self._db.row_factory = sqlite3.Row
            if not create and current_version(self._db, str(self.path)) == 0:    # before anything writes to it
                raise SchemaError(f"{self.path} is not an arbbot order store (no schema version)")
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise RuntimeError(f"order store {self.path}: SQLite refused WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous=FULL" if durability == "power" else "PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA wal_autocheckpoint=0")     # checkpoints run on the WAL syncer's thread
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._lock:
                self.migrated_from, self.schema_version = migrate(self._db, self._clock_ms(),
                                                                  f"order store {self.path}")
                # rows written by this store are marked paper when the database is a paper one
                self.paper = self._flag_value(TRADING_MODE_FLAG) == PAPER
        except BaseException:
            self._db.close()
            if exclusive:
                store_lock.release(self.path)
            raise

    def now_ms(self) -> int:
        """The store's clock (ms): what it dates rows with."""
        return self._clock_ms()

    # ---- plumbing -----------------------------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        """The lock every read and write takes: held across several reads, they see one state of the
        store (a helper thread's consistent reading; the loop's calls wait meanwhile)."""
        return self._lock

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
            wal_syncer().kick(self.path, fsync=self.durability == "process")

    def _event(self, db, kind: str, execution_id: str | None = None, coid: str | None = None, **data) -> None:
        db.execute("INSERT INTO events(ts_ms, kind, execution_id, client_order_id, data) VALUES (?,?,?,?,?)",
                   (self._clock_ms(), kind, execution_id, coid, json.dumps(data, sort_keys=True)))

    def close(self) -> None:
        with self._lock:
            wal_syncer().release(self.path)
            self._db.close()
            if self.exclusive:
                self.exclusive = False
                store_lock.release(self.path)

    # ---- executions ---------------------------------------------------------------------------
    def create_execution(self, execution_id: str, opp, *, sizing: dict | None = None, loss_budget: int = 0) -> None:
        """Record an opportunity about to be traded (state `executing`), with its sizing step record
        (the `arbbot.sizing/1` per-opportunity object) and the loss budget in µ$ it reserves while
        in flight, in the same transaction."""
        with self.tx() as db:
            self._insert_execution(db, execution_id, opp, sizing, loss_budget)

    def _insert_execution(self, db, execution_id: str, opp, sizing: dict | None = None, loss_budget: int = 0) -> None:
        legs = [{"market": l.market, "side": l.side.label, "qty": l.qty, "worst_price": l.worst_price,
                 "cost": l.cost, "fee": l.fee} for l in opp.legs]
        for leg in legs:                  # the market's event and category, when the session knows them
            event, category = self.market_meta.get(leg["market"], (None, None))
            if event:
                leg["event"] = event
            if category:
                leg["category"] = category
        now = self._clock_ms()
        db.execute(_INSERT_EXECUTION[self.paper],
                   (execution_id, opp.id, int(opp.lane), int(opp.kind), opp.qty, opp.payout, opp.cost, opp.fee,
                    opp.profit, json.dumps(legs), "executing", now, now))
        if sizing is not None or loss_budget:
            # no record yet (None): the loss budget is reserved from the execution's first commit,
            # its record follows once the first order is out (`add_sizing_record`)
            self._insert_sizing(db, execution_id, opp.id, sizing, loss_budget)
        self._event(db, "execution_started", execution_id, opportunity=opp.id, qty=opp.qty, profit=opp.profit)

    def set_execution_state(self, execution_id: str, state: str, reason: str = "") -> None:
        if state not in EXEC_OPEN + EXEC_TERMINAL:
            raise ValueError(f"unknown execution state {state!r}")
        with self.tx() as db:
            self._set_state(db, execution_id, state, reason)

    def _set_state(self, db, execution_id: str, state: str, reason: str) -> None:
        """`set_execution_state` inside the caller's transaction."""
        db.execute("UPDATE executions SET state=?, reason=?, updated_ms=? WHERE id=?",
                   (state, reason, self._clock_ms(), execution_id))
        self._event(db, f"execution_{state}", execution_id, reason=reason)
        self._book_loss(db, execution_id)
        if state == "naked" and not self._flagged(db, "safe_mode"):
            # in the same commit: a crash between a naked state and its safe-mode flag must not
            # leave the bot trading beside an unhedged leg nobody acknowledged (callers enter
            # safe mode first, with their own reason: then this adds nothing)
            self._flag_safe_mode(db, f"execution {execution_id} is naked: {reason}")

    def execution(self, execution_id: str) -> ExecutionRow:
        with self._lock:
            r = self._db.execute("SELECT * FROM executions WHERE id=?", (execution_id,)).fetchone()
        if r is None:
            raise KeyError(execution_id)
        return self._exec_row(r)

    def opportunity(self, execution_id: str) -> Opportunity:
        """The opportunity execution `execution_id` was created for, as recorded (lane, kind, lots,
        payout, planned cost, fee and profit, and its legs): what a re-hedge after the execution
        ended works from (`Executor.revert_fills`). KeyError if unknown."""
        with self._lock:
            r = self._db.execute("SELECT * FROM executions WHERE id=?", (execution_id,)).fetchone()
        if r is None:
            raise KeyError(execution_id)
        legs = tuple(Leg(leg["market"], Side.parse(leg["side"]), leg["qty"], leg["worst_price"], leg["cost"],
                         leg["fee"]) for leg in json.loads(r["legs"]))
        return Opportunity(r["opportunity_id"], Lane(r["lane"]), Kind(r["kind"]), r["qty"], r["payout"],
                           r["planned_cost"], r["planned_fee"], r["planned_profit"], legs)

    def executions(self, states: tuple[str, ...] | None = None) -> list[ExecutionRow]:
        with self._lock:
            if states is None:
                rows = self._db.execute("SELECT * FROM executions ORDER BY created_ms, id").fetchall()
            else:
                rows = self._db.execute(f"SELECT * FROM executions WHERE state IN ({','.join('?' * len(states))})"
                                        " ORDER BY created_ms, id", tuple(states)).fetchall()
        return [self._exec_row(r) for r in rows]

    @staticmethod
    def _exec_row(r) -> ExecutionRow:
        return ExecutionRow(r["id"], r["opportunity_id"], r["qty"], r["payout"], r["planned_profit"],
                            tuple(json.loads(r["legs"])), r["state"], r["reason"], bool(r["acknowledged"]),
                            bool(r["paper"]) if "paper" in r.keys() else False)

    # ---- intents ------------------------------------------------------------------------------
    def add_intent(self, execution_id: str, leg: int, role: str, attempt: int, *, venue: str, market: str,
                   market_id: str, side: str, action: str, qty: int, price: int, tif: str,
                   new_execution=None, sizing: dict | None = None, loss_budget: int = 0) -> str:
        """Write an intent (state `intent`) and return its client_order_id. Call BEFORE sending.
        `new_execution` (the opportunity, with its `sizing` record and `loss_budget` µ$): record
        the execution in the same transaction (one commit on the way to an execution's first order).
        `attempt` is the caller's count (an unwind's sets its slippage); an order id is never used
        twice: when this leg and role already have an intent at `attempt` or later, the intent is
        numbered after the last of them (an unwind sent again after the venue refused it as
        unavailable keeps its attempt; a re-hedge unwinds a leg that was unwound before)."""
        now = self._clock_ms()
        with self.tx() as db:
            if new_execution is not None:
                self._insert_execution(db, execution_id, new_execution, sizing, loss_budget)
            else:
                last = db.execute("SELECT MAX(attempt) FROM intents WHERE execution_id=? AND leg=? AND role=?",
                                  (execution_id, leg, role)).fetchone()[0]
                if last is not None and last >= attempt:
                    attempt = last + 1
            coid = client_order_id(execution_id, leg, role, attempt)
            db.execute(_INSERT_INTENT[self.paper],
                       (coid, execution_id, leg, role, attempt, venue, market, market_id, side, action, qty, price,
                        tif, "intent", now, now))
            self._event(db, "intent", execution_id, coid, leg=leg, role=role, side=side, action=action, qty=qty,
                        price=price)
        return coid

    def record_order(self, coid: str, order: Order, fills: list[Fill] = ()) -> str:
        """Adopt the venue's view of an order (and any of its fills) in one transaction;
        returns the new intent state, judged against the intent's own size (`intent_state_for`)."""
        with self.tx() as db:
            row = db.execute("SELECT execution_id, qty FROM intents WHERE client_order_id=?", (coid,)).fetchone()
            if row is None:
                raise KeyError(coid)
            state = intent_state_for(order, row["qty"])
            at_venue = ", at_venue=1" if self.schema_version >= AT_VENUE_VERSION else ""
            db.execute(f"UPDATE intents SET state=?, order_id=?, filled_qty=?, cost=?, fee=?{at_venue}, updated_ms=?"
                       " WHERE client_order_id=?",
                       (state, order.order_id, order.filled_lots, order.cost_micros, order.fees_micros,
                        self._clock_ms(), coid))
            self._event(db, f"order_{state}", row["execution_id"], coid, order_id=order.order_id,
                        filled=order.filled_lots, cost=order.cost_micros, fee=order.fees_micros)
            for f in fills:
                self._insert_fill(db, coid, row["execution_id"], f)
            self._book_loss(db, row["execution_id"])
        return state

    def record_fills(self, coid: str, fills: list[Fill]) -> int:
        """Insert fills (idempotent by venue fill id); returns how many were new."""
        with self.tx() as db:
            row = db.execute("SELECT execution_id FROM intents WHERE client_order_id=?", (coid,)).fetchone()
            if row is None:
                raise KeyError(coid)
            added = sum(self._insert_fill(db, coid, row["execution_id"], f) for f in fills)
            self._book_loss(db, row["execution_id"])
            return added

    def _insert_fill(self, db, coid: str, execution_id: str, f: Fill) -> int:
        """Insert one fill unless it is recorded already, or was voided (`void_fills`: its venue
        reverted it, and a read of the venue's fills made before that must not bring it back)."""
        voids = self.schema_version >= VOIDED_FILLS_VERSION
        cur = db.execute(_INSERT_FILL[voids], (f.venue.label, f.fill_id, coid, f.order_id,
                                               f.market_id, f.side.label, f.action.value, f.qty_lots, f.price_ticks,
                                               f.fee_micros, int(f.is_taker), f.ts_ms, self._clock_ms())
                         + ((f.venue.label, f.fill_id) if voids else ()))
        if cur.rowcount:
            self._event(db, "fill", execution_id, coid, fill_id=f.fill_id, qty=f.qty_lots, price=f.price_ticks,
                        fee=f.fee_micros)
        return cur.rowcount

    def void_fills(self, venue: str, fill_ids, reason: str, *, reopen: bool = False) -> list[FillRow]:
        """Venue `venue` reverted these recorded fills after listing them (Polymarket: their trade
        FAILED on chain: no tokens and no cash moved). In one transaction each moves out of `fills`
        into `voided_fills`, so that no reader of fills counts it (positions: `market_positions` by
        trigger; cash flow, held cost, leg nets, realised losses, reconciliation) and it is never
        recorded again (`_insert_fill`); its order's filled lots drop by its lots (what `_filled`
        counted, less them) and its cost and fee by its own (floored at 0; 0 when nothing is left),
        a done order's state following (`done_state`); each execution's realised loss is booked
        again (`_book_loss`). An event `fills_voided` per order. `reopen`: their executions are
        `executing` again, in the same transaction (a re-hedge follows, `Executor.revert_fills`: a
        crash before it ends leaves them to crash recovery). Returns the fills voided (ids not
        recorded, or voided already, are skipped: then nothing is written)."""
        voided: dict[str, list[FillRow]] = {}          # client order id → its fills voided
        with self.tx() as db:
            for fid in dict.fromkeys(fill_ids):
                r = db.execute("SELECT * FROM fills WHERE venue=? AND fill_id=?", (venue, fid)).fetchone()
                if r is not None:
                    voided.setdefault(r["client_order_id"], []).append(self._fill_row(r))
            now = self._clock_ms()
            for coid, rows in voided.items():
                it = self.intent(coid)
                lots, fee = sum(f.qty for f in rows), sum(f.fee for f in rows)
                # µ$ they cost in the intent's own side (a fill may be reported on the other at 10,000 − p)
                paid = sum((f.price if f.side == it.side else FULL - f.price) * f.qty for f in rows)
                left = max(0, self._filled(it) - lots)
                cost, fees = (max(0, it.cost - paid), max(0, it.fee - fee)) if left else (0, 0)
                state = done_state(left, it.qty) if it.state in ("filled", "partially_filled") else it.state
                for f in rows:
                    db.execute("INSERT INTO voided_fills(venue, fill_id, client_order_id, order_id, market_id, side,"
                               " action, qty, price, fee, is_taker, ts_ms, recorded_ms, voided_ms, reason)"
                               " SELECT venue, fill_id, client_order_id, order_id, market_id, side, action, qty,"
                               " price, fee, is_taker, ts_ms, recorded_ms, ?, ? FROM fills WHERE venue=? AND fill_id=?",
                               (now, reason, venue, f.fill_id))
                    db.execute("DELETE FROM fills WHERE venue=? AND fill_id=?", (venue, f.fill_id))
                db.execute("UPDATE intents SET state=?, filled_qty=?, cost=?, fee=?, error=?, updated_ms=?"
                           " WHERE client_order_id=?", (state, left, cost, fees, reason, now, coid))
                self._event(db, "fills_voided", it.execution_id, coid, fill_ids=[f.fill_id for f in rows], lots=lots,
                            filled=left, cost=cost, fee=fees, state=state, reason=reason)
            for xid in dict.fromkeys(self.intent(coid).execution_id for coid in voided):
                if reopen:
                    self._set_state(db, xid, "executing", reason)
                self._book_loss(db, xid)
        return [f for rows in voided.values() for f in rows]

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

    def set_intent_state(self, coid: str, state: str, error: str = "", *, at_venue: bool = True) -> None:
        """`at_venue` False: refused while its venue took no orders (rate limited after the retries,
        a matching engine restarting): not a fill outcome at that venue (step 2)."""
        if state not in INTENT_OPEN + INTENT_TERMINAL:
            raise ValueError(f"unknown intent state {state!r}")
        with self.tx() as db:
            row = db.execute("SELECT execution_id FROM intents WHERE client_order_id=?", (coid,)).fetchone()
            if row is None:
                raise KeyError(coid)
            if self.schema_version >= AT_VENUE_VERSION:
                db.execute("UPDATE intents SET state=?, error=?, at_venue=?, updated_ms=? WHERE client_order_id=?",
                           (state, error, int(at_venue), self._clock_ms(), coid))
            else:                       # an older schema (its tests write through today's code)
                db.execute("UPDATE intents SET state=?, error=?, updated_ms=? WHERE client_order_id=?",
                           (state, error, self._clock_ms(), coid))
            self._event(db, f"intent_{state}", row["execution_id"], coid, error=error)

    def intents(self, execution_id: str | None = None) -> list[IntentRow]:
        q = "SELECT * FROM intents" + (" WHERE execution_id=?" if execution_id else "") + \
            " ORDER BY execution_id, created_ms, leg, role, attempt"
        with self._lock:
            rows = self._db.execute(q, (execution_id,) if execution_id else ()).fetchall()
        return [_intent_row(r) for r in rows]

    def intent(self, coid: str) -> IntentRow:
        with self._lock:
            r = self._db.execute("SELECT * FROM intents WHERE client_order_id=?", (coid,)).fetchone()
        if r is None:
            raise KeyError(coid)
        return _intent_row(r)

    def taken_as_never_sent(self, since_ms: int) -> list[IntentRow]:
        """Intents marked failed at or after `since_ms` because the venue did not show them
        (`NOT_FOUND`, `RECOVERY_NOT_FOUND`) whose execution has ended: orders a venue may still run."""
        q = ("SELECT i.* FROM intents i JOIN executions x ON x.id = i.execution_id WHERE i.state='failed'"
             " AND i.updated_ms >= ? AND (substr(i.error, 1, ?) = ? OR i.error = ?) AND x.state != 'executing'"
             " ORDER BY i.updated_ms")
        with self._lock:
            rows = self._db.execute(q, (since_ms, len(NOT_FOUND), NOT_FOUND, RECOVERY_NOT_FOUND)).fetchall()
        return [_intent_row(r) for r in rows]

    def ended_with_fills(self, venues, since_ms: int) -> list[tuple[str, int]]:
        """(execution id, when it last changed, store ms) of the executions ended (terminal) at or
        after `since_ms` that hold a recorded fill on one of `venues` (names), oldest first: those
        whose fills a venue that settles late may still revert (`execution.unsettled`)."""
        venues = tuple(venues)
        if not venues:
            return []
        q = ("SELECT x.id, x.updated_ms FROM executions x WHERE x.updated_ms >= ?"
             f" AND +x.state IN ({','.join('?' * len(EXEC_TERMINAL))}) AND EXISTS (SELECT 1 FROM intents i"
             " JOIN fills f ON f.client_order_id = i.client_order_id WHERE i.execution_id = x.id"
             f" AND f.venue IN ({','.join('?' * len(venues))})) ORDER BY x.updated_ms, x.id")
        with self._lock:
            return [tuple(r) for r in self._db.execute(q, (since_ms, *EXEC_TERMINAL, *venues)).fetchall()]

    def open_intents(self) -> list[IntentRow]:
        return [i for i in self.intents() if i.state in INTENT_OPEN]

    def fills(self, coid: str | None = None) -> list[FillRow]:
        q = "SELECT * FROM fills" + (" WHERE client_order_id=?" if coid else "") + " ORDER BY ts_ms, fill_id"
        with self._lock:
            rows = self._db.execute(q, (coid,) if coid else ()).fetchall()
        return [self._fill_row(r) for r in rows]

    def voided_fills(self, coid: str | None = None) -> list[FillRow]:
        """Fills their venue reverted after listing them (`void_fills`), as they were recorded."""
        q = "SELECT * FROM voided_fills" + (" WHERE client_order_id=?" if coid else "") + " ORDER BY ts_ms, fill_id"
        with self._lock:
            rows = self._db.execute(q, (coid,) if coid else ()).fetchall()
        return [self._fill_row(r) for r in rows]

    @staticmethod
    def _fill_row(r) -> FillRow:
        return FillRow(r["venue"], r["fill_id"], r["client_order_id"], r["order_id"], r["market_id"], r["side"],
                       r["action"], r["qty"], r["price"], r["fee"], bool(r["is_taker"]), r["ts_ms"])

    def events(self, execution_id: str | None = None) -> list[dict]:
        q = "SELECT * FROM events" + (" WHERE execution_id=?" if execution_id else "") + " ORDER BY seq"
        with self._lock:
            rows = self._db.execute(q, (execution_id,) if execution_id else ()).fetchall()
        return [dict(r) for r in rows]

    def add_event(self, kind: str, execution_id: str | None = None, **data) -> None:
        """Append one event to the store's log (operator actions, alerts): the log is what other
        processes and threads (notifications, the dashboard, `arbbot status`) read."""
        with self.tx() as db:
            self._event(db, kind, execution_id, **data)

    def events_after(self, seq: int, limit: int = 1000) -> list[dict]:
        """Events with sequence number > `seq`, oldest first (at most `limit`); `data` decoded."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
        return [dict(r, data=json.loads(r["data"])) for r in rows]

    # ---- trading mode: a paper database or a venue one ------------------------------------------
    def trading_mode(self) -> str | None:
        """`paper` (claimed by `arbbot run --paper`), `venue` (it holds executions traded at venues
        or a simulator), or None (nothing traded yet)."""
        if self._flag_value(TRADING_MODE_FLAG) == PAPER:
            return PAPER
        with self._lock:
            traded = self._db.execute("SELECT 1 FROM executions LIMIT 1").fetchone() is not None
        return VENUE if traded else None

    def claim_venues(self, venues: str) -> str | None:
        """Make this store one of `venues` (EMBEDDED or LASTING); returns why it cannot be, None
        when it is. A store holding orders (any intent) is tied to the venues they went to: an
        embedded simulator's are gone with its run (a later run's simulator starts empty, and
        reconciling the orders against it finds every position missing: safe mode), so such a store
        takes no other run, embedded or not ("set aside": the caller may move it away and start a
        new one); a store of lasting venues, or of orders from before this flag (unknown venues),
        takes no embedded run."""
        if venues not in (EMBEDDED, LASTING):
            raise ValueError(f"venues {venues!r}: expected {EMBEDDED!r} or {LASTING!r}")
        had = self._flag_value(VENUES_FLAG)
        with self._lock:
            ordered = self._db.execute("SELECT 1 FROM intents LIMIT 1").fetchone() is not None
        if ordered and had == EMBEDDED:
            return "set aside"
        if ordered and venues == EMBEDDED:
            return (f"order store {self.path} holds orders sent to " +
                    ("venues that outlive a run (--connect, --live)" if had == LASTING else "unknown venues") +
                    "; the embedded simulator starts empty: use another --db")
        if had != venues:
            self.set_flag(VENUES_FLAG, venues, "where this store's orders go")
        return None

    def claim_trading_mode(self, mode: str) -> None:
        """Make this database a `paper` or a `venue` one; ValueError (naming the file) if it already
        is the other. A paper claim is written (flag `trading_mode`, with an event) and marks every
        row this store writes from now on; a venue claim writes nothing."""
        if mode not in (PAPER, VENUE):
            raise ValueError(f"trading mode {mode!r}: expected {PAPER} or {VENUE}")
        now = self.trading_mode()
        if now is not None and now != mode:
            if now == PAPER:
                raise ValueError(f"order store {self.path} holds paper trading (arbbot run --paper); "
                                 "use another --db for orders sent to venues")
            raise ValueError(f"order store {self.path} holds orders sent to venues; use another --db for --paper")
        if mode == PAPER and now is None:
            self.set_flag(TRADING_MODE_FLAG, PAPER, "arbbot run --paper: fills from the local fill engine")
        self.paper = mode == PAPER

    def _flag_value(self, name: str) -> str | None:
        with self._lock:
            r = self._db.execute("SELECT value FROM flags WHERE name=?", (name,)).fetchone()
        return None if r is None else r[0]

    # ---- the paper venues' ledger (arbbot.paper) -------------------------------------------------
    def paper_start_cash(self, venue: str, default_micros: int) -> int:
        """µ$ the paper account on `venue` started with: recorded the first time (`default_micros`),
        then kept (a later change of the setting does not rewrite history)."""
        with self.tx() as db:
            r = db.execute("SELECT start_cash FROM paper_accounts WHERE venue=?", (venue,)).fetchone()
            if r is not None:
                return r[0]
            db.execute("INSERT INTO paper_accounts(venue, start_cash, ts_ms) VALUES (?,?,?)",
                       (venue, int(default_micros), self._clock_ms()))
            self._event(db, "paper_account", venue=venue, start_cash=int(default_micros))
        return int(default_micros)

    def paper_accounts(self) -> dict[str, int]:
        """venue → the paper account's starting cash (µ$)."""
        with self._lock:
            return dict(self._db.execute("SELECT venue, start_cash FROM paper_accounts ORDER BY venue").fetchall())

    def add_paper_order(self, order: dict, fills: list[dict]) -> None:
        """One matched paper order (a `paper_orders` row as a dict; `terms` and `book` JSON-ready)
        and its fills (`paper_fills` rows), in one transaction, with a `paper_order` event."""
        with self.tx() as db:
            cols = ", ".join(order)
            db.execute(f"INSERT INTO paper_orders({cols}) VALUES ({','.join('?' * len(order))})",
                       tuple(json.dumps(v, separators=(",", ":")) if k in ("terms", "book") else v
                             for k, v in order.items()))
            for f in fills:
                db.execute(f"INSERT INTO paper_fills({', '.join(f)}) VALUES ({','.join('?' * len(f))})",
                           tuple(f.values()))
            self._event(db, "paper_order", None, order["client_order_id"] or None, venue=order["venue"],
                        order_id=order["order_id"], status=order["status"], filled=order["filled"],
                        cost=order["cost"], fee=order["fee"], latency_us=order["latency_us"])

    def paper_orders(self, venue: str | None = None) -> list[dict]:
        """Paper orders (oldest first), `terms` and `book` decoded."""
        q = "SELECT * FROM paper_orders" + (" WHERE venue=?" if venue else "") + " ORDER BY sent_ms, order_id"
        with self._lock:
            rows = self._db.execute(q, (venue,) if venue else ()).fetchall()
        return [dict(r, terms=json.loads(r["terms"]), book=json.loads(r["book"])) for r in rows]

    def paper_fills(self, venue: str | None = None) -> list[dict]:
        """Paper fills (oldest first) as dicts of their columns."""
        q = "SELECT * FROM paper_fills" + (" WHERE venue=?" if venue else "") + " ORDER BY ts_ms, fill_id"
        with self._lock:
            return [dict(r) for r in self._db.execute(q, (venue,) if venue else ()).fetchall()]

    # ---- flags: named persistent switches (safe mode, operator overrides) ------------------------
    def set_flag(self, name: str, value: str, reason: str = "") -> None:
        """Set flag `name` (an event `flag` records the change)."""
        with self.tx() as db:
            db.execute("INSERT INTO flags(name, value, reason, ts_ms) VALUES (?,?,?,?) ON CONFLICT(name) DO UPDATE"
                       " SET value=excluded.value, reason=excluded.reason, ts_ms=excluded.ts_ms",
                       (name, value, reason, self._clock_ms()))
            self._event(db, "flag", name=name, value=value, reason=reason)

    def data_version(self) -> int:
        """SQLite's `PRAGMA data_version`: changes when another connection (another process:
        `arbbot resume`, `arbbot ack`) commits to this database, not on this one's own commits."""
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0]

    def flags(self, prefix: str = "") -> dict[str, tuple[str, str]]:
        """Flags whose name starts with `prefix`: name → (value, reason)."""
        with self._lock:
            rows = self._db.execute("SELECT name, value, reason FROM flags WHERE substr(name, 1, ?) = ?",
                                    (len(prefix), prefix)).fetchall()
        return {r["name"]: (r["value"], r["reason"]) for r in rows}

    # ---- positions and PnL (from recorded fills) -----------------------------------------------
    def leg_net(self, execution_id: str) -> dict[int, int]:
        """Net lots held per leg: entry orders' filled lots minus unwind orders' (an unwind
        reduces its leg). An order's lots are what the venue says it filled (`filled_qty`) or its
        recorded fills, whichever is more: a venue may list an order's fills after answering it
        (the executor records them when they come), and a filled leg must never count as unfilled."""
        net: dict[int, int] = {}
        ex = self.execution(execution_id)
        for i in range(len(ex.legs)):
            net[i] = 0
        for it in self.intents(execution_id):
            got = self._filled(it)
            net[it.leg] = net.get(it.leg, 0) + (got if it.role == "entry" else -got)
        return net

    def _filled(self, it: IntentRow) -> int:
        """Lots intent `it`'s order filled: what the venue said or its recorded fills, the more."""
        return max(it.filled_qty, sum(f.qty for f in self.fills(it.client_order_id)))

    # an order's lots its venue filled (`filled_qty`) beyond the fills it has listed, with what its
    # listed fills cost in the order's own side (a fill reported on the other side at 10,000 − p)
    _SHORTFALL_SQL = (
        "SELECT i.client_order_id AS coid, i.execution_id AS xid, i.leg AS leg, i.role AS role, i.venue AS venue,"
        " i.order_id AS order_id, i.market_id AS market_id, i.side AS side, i.action AS action, i.price AS price,"
        " i.filled_qty AS filled_qty, i.cost AS cost, i.fee AS fee, COALESCE(SUM(f.qty), 0) AS lots,"
        f" COALESCE(SUM((CASE WHEN f.side = i.side THEN f.price ELSE {FULL} - f.price END) * f.qty), 0) AS money,"
        " COALESCE(SUM(f.fee), 0) AS fees"
        " FROM intents i LEFT JOIN fills f ON f.client_order_id = i.client_order_id")

    @staticmethod
    def _stand_ins(r) -> list[tuple[int, str, FillRow]]:
        """(leg, role, fill) standing in for the lots order row `r` (`_SHORTFALL_SQL`) filled beyond
        its listed fills, from the order-level amounts the venue answered: those lots, in the
        order's side; what they cost: a buy's reported cost less its listed fills' when that is
        in (0, $1 a lot], else (a sale: venues report no proceeds, Polymarket's lookup no cost) the
        order's limit, the most a buy pays and the least a sale gets (a loss is never
        understated); its fee less the listed fills' (≥ 0). Integer µ$: the lots are split in two
        fills a tick apart when the cost does not divide. [] when the fills cover the order."""
        lots = r["filled_qty"] - r["lots"]
        if lots <= 0:
            return []
        money = r["cost"] - r["money"]
        if r["action"] != "buy" or not 0 < money <= FULL * lots:
            money = r["price"] * lots
        price, odd = divmod(money, lots)
        fee = max(0, r["fee"] - r["fees"])
        out = []
        for n, (qty, ticks) in enumerate(((lots - odd, price), (odd, price + 1))):
            if qty:
                out.append((r["leg"], r["role"], FillRow(r["venue"], f"{UNLISTED}{r['coid']}:{n}", r["coid"],
                                                         r["order_id"] or "", r["market_id"], r["side"], r["action"],
                                                         qty, ticks, fee if n == 0 else 0, True, 0)))
        return out

    def _unlisted(self, db, execution_id: str) -> list[tuple[int, str, FillRow]]:
        """(leg, role, fill) standing in for what the execution's orders filled beyond their listed
        fills (`_stand_ins`): a venue may list an order's fills after answering it."""
        rows = db.execute(self._SHORTFALL_SQL + " WHERE i.execution_id = ? AND i.filled_qty > 0"
                          " GROUP BY i.client_order_id ORDER BY i.leg, i.role, i.attempt", (execution_id,)).fetchall()
        return [x for r in rows for x in self._stand_ins(r)]

    def order_fills(self, execution_id: str) -> list[FillRow]:
        """The execution's fills as its orders' venues answered them: every listed fill, and for an
        order whose venue filled more lots than it has listed, fills (ids starting `UNLISTED`)
        standing in for the rest at the order-level amounts (`_stand_ins`), until they are listed.
        What the venue's cash moved by (the trader's kept cash) is read from these."""
        with self._lock:
            listed = [f for it in self.intents(execution_id) for f in self.fills(it.client_order_id)]
            return listed + [f for _leg, _role, f in self._unlisted(self._db, execution_id)]

    def unlisted_positions(self, execution_ids) -> tuple[dict[str, tuple[int, int]], set[str]]:
        """(per market `venue:id`, (net YES lots, cost µ$) as `net_positions` counts them, of the
        lots the executions named filled beyond their listed fills (`order_fills`); the executions
        among them that still have such lots)."""
        out: dict[str, tuple[int, int]] = {}
        short: set[str] = set()
        with self._lock:
            for xid in sorted(execution_ids):
                for _leg, _role, f in self._unlisted(self._db, xid):
                    short.add(xid)
                    sign = 1 if f.action == "buy" else -1
                    lots, cost = out.get(f"{f.venue}:{f.market_id}", (0, 0))
                    out[f"{f.venue}:{f.market_id}"] = (lots + sign * (f.qty if f.side == "yes" else -f.qty),
                                                       cost + sign * f.qty * f.price)
        return out, short

    def executions_with_unlisted_fills(self) -> list[str]:
        """Executions with an order whose venue filled more lots than it has listed (one pass over
        the store: at start)."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT xid FROM (" + self._SHORTFALL_SQL + " WHERE i.filled_qty > 0"
                                    " GROUP BY i.client_order_id HAVING i.filled_qty > lots) ORDER BY xid").fetchall()
        return [r[0] for r in rows]

    def pair_lots(self, venues) -> dict[str, int]:
        """Per market (`venue:id`) of `venues` (those that hold a YES and a NO token apart until
        they are merged or redeemed: Polymarket), the YES+NO pairs held, > 0 only: min(YES, NO)
        lots, each side's lots its orders bought less those they sold (orders' filled lots)."""
        venues = tuple(venues)
        if not venues:
            return {}
        q = ("SELECT market, SUM(CASE WHEN side = 'yes' THEN n ELSE 0 END), SUM(CASE WHEN side = 'no' THEN n ELSE 0 END)"
             " FROM (SELECT market, side, SUM(CASE WHEN action = 'buy' THEN filled_qty ELSE -filled_qty END) AS n"
             f" FROM intents WHERE venue IN ({','.join('?' * len(venues))}) AND filled_qty > 0 GROUP BY market, side)"
             " GROUP BY market")
        with self._lock:
            rows = self._db.execute(q, venues).fetchall()
        return {market: min(yes, no) for market, yes, no in rows if min(yes, no) > 0}

    def leg_overfill(self, execution_id: str) -> dict[int, tuple[int, int]]:
        """Per leg, (entry, unwind) lots venues filled beyond what was asked (Polymarket's market BUY
        spends whole cents and receives what they buy; a top-up sends at least the venue's minimum):
        entry lots above the quantity of the leg's first entry order (the execution's quantity when
        the leg was sent), and unwind lots above each unwind order's own (buying the other side, the
        leg ends below its target). Those lots are held, not an unhedged leg."""
        entry: dict[int, tuple[int, int]] = {}       # leg → (first entry order's qty, entry lots filled)
        unwind: dict[int, int] = {}
        for it in sorted(self.intents(execution_id), key=lambda it: it.attempt):
            got = self._filled(it)
            if it.role == "entry":
                asked, filled = entry.get(it.leg, (it.qty, 0))
                entry[it.leg] = (asked, filled + got)
            else:
                unwind[it.leg] = unwind.get(it.leg, 0) + max(0, got - it.qty)
        return {leg: (max(0, entry.get(leg, (0, 0))[1] - entry.get(leg, (0, 0))[0]), unwind.get(leg, 0))
                for leg in sorted(set(entry) | set(unwind))}

    def hold_dust(self, execution_id: str, leg: int, lots: int) -> None:
        """The executor holds `lots` of leg `leg` beyond the sets it keeps: under the venue's minimum
        order as a sale and as a purchase, no order could unwind them. Written when decided (before
        the other legs' unwinds), so a restart's recovery, which knows no venue minimums, holds them
        too rather than calling the execution naked (`hedged_sets`)."""
        with self.tx() as db:
            self._event(db, "dust_held", execution_id, leg=leg, lots=lots)

    def held_dust(self, execution_id: str) -> dict[int, int]:
        """Per leg, the lots the executor decided to hold as dust (`hold_dust`; the last decision)."""
        with self._lock:
            return _dust_held(self._db, execution_id)

    def hedged_sets(self, execution_id: str) -> int | None:
        """The complete sets the legs hold but for what venues filled beyond an order's size
        (`leg_overfill`) and the dust the executor holds (`held_dust`): the most K with net −
        entry over-fill − dust ≤ K ≤ net + unwind over-fill on every leg, 0 when that is flat;
        None when no such K ≥ 0 exists (a leg unhedged)."""
        net, over, dust = self.leg_net(execution_id), self.leg_overfill(execution_id), self.held_dust(execution_id)
        lo = max((n - over.get(i, (0, 0))[0] - dust.get(i, 0) for i, n in net.items()), default=0)
        hi = min((n + over.get(i, (0, 0))[1] for i, n in net.items()), default=0)
        return hi if max(lo, 0) <= hi else None

    def held_cost(self, execution_id: str, net: dict[int, int] | None = None, unlisted=()) -> int:
        """µ$ paid, fees included, for the lots legs hold beyond the execution's complete sets
        (max(0, least net lots)): each such leg's extra lots at its entry fills' average, floored
        (`ops.reporting.pnl.held_cost`, the one definition). A venue's over-fill is a position held
        at cost, not part of the execution's locked-in or realised PnL. `unlisted`: fills standing
        in for lots its venues have not listed yet ((leg, role, fill) of `_unlisted`), counted too."""
        from arbbot.ops.reporting.pnl import held_cost
        net = self.leg_net(execution_id) if net is None else net
        stand_in: dict[str, list] = {}              # `unlisted` ((leg, role, fill) of `_unlisted`) by order
        for _leg, _role, f in unlisted:
            stand_in.setdefault(f.client_order_id, []).append(f)
        lots: dict[tuple[int, bool], int] = {}      # (leg, an unwind's purchase) → lots, µ$ paid
        paid: dict[tuple[int, bool], int] = {}
        for it in self.intents(execution_id):
            if it.action == "buy":
                key = (it.leg, it.role != "entry")
                for f in self.fills(it.client_order_id) + stand_in.get(it.client_order_id, []):
                    own = f.price if f.side == it.side else FULL - f.price     # the intent's side
                    lots[key] = lots.get(key, 0) + f.qty
                    paid[key] = paid.get(key, 0) + own * f.qty + f.fee
        legs = sorted(net)
        return held_cost([net[i] for i in legs], *([d.get((i, back), 0) for i in legs]
                                                   for back in (False, True) for d in (lots, paid)))

    def answered_cash_flow(self, execution_id: str) -> tuple[int, list[tuple[int, str, FillRow]]]:
        """(µ$ this execution's orders moved as their venues answered them: `cash_flow` of its listed
        fills plus, for the lots an order filled beyond them, the order-level amounts standing in
        until they are listed (`_stand_ins`); those stand-ins, (leg, role, fill)). What an
        execution's result counts, as the loss ledger does (`_book_loss`)."""
        with self._lock:
            return self._answered_cash(self._db, execution_id)

    def _answered_cash(self, db, execution_id: str, with_unlisted: bool = True) -> tuple[int, list]:
        """`answered_cash_flow` on `db` (the caller's transaction); `with_unlisted` False: the
        listed fills alone."""
        unlisted = self._unlisted(db, execution_id) if with_unlisted else []
        return db.execute(CASH_FLOW_SQL, (execution_id,)).fetchone()[0] + _stand_in_flow(unlisted), unlisted

    def cash_flow(self, execution_id: str) -> int:
        """µ$ paid out (negative) or received (positive) by this execution's fills, fees included.

        Prices are converted to the intent's own side: a venue may report a sell of YES at p as
        a buy of NO at 10,000 − p (Kalshi nets the pair into $1). An unwind that BUYS the opposite
        side (ForecastEx is buy-only; a Polymarket sale under $1 is not allowed) completes a YES+NO
        pair, worth $1 per contract (10,000 µ$ per lot: netted at once, or paid at settlement).
        (One SQL definition, `schema.CASH_FLOW_SQL`, shared with the loss ledger.)"""
        with self._lock:
            return self._db.execute(CASH_FLOW_SQL, (execution_id,)).fetchone()[0]

    # ---- market resolutions: what a settled market's lots pay -----------------------------------
    def record_resolution(self, res, *, source: str = "venue", replace: bool = False) -> bool:
        """Record market `res.venue:res.market_id`'s final result (`venue.common.model.Resolution`;
        `source` "venue" or "operator"). Idempotent: a market already recorded keeps its first result
        unless `replace` (an operator's correction). In the same transaction every terminal execution
        holding lots in it has its realised loss booked again (a naked leg's lots now have a value).
        True when something was written (an event `market_resolved`)."""
        if source not in ("venue", "operator"):
            raise ValueError(f"resolution source must be venue or operator, not {source!r}")
        market = f"{res.venue.label}:{res.market_id}"
        row = (market, res.venue.label, res.market_id, res.result, res.yes_value, int(bool(res.paid)), source,
               int(res.resolved_ms), self._clock_ms())
        with self.tx() as db:
            have = db.execute("SELECT result, yes_value, paid FROM resolutions WHERE market=?", (market,)).fetchone()
            if have is not None and (not replace or tuple(have) == (res.result, res.yes_value, int(bool(res.paid)))):
                return False
            db.execute("INSERT INTO resolutions(market, venue, market_id, result, yes_value, paid, source, resolved_ms,"
                       " recorded_ms) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(market) DO UPDATE SET result=excluded.result,"
                       " yes_value=excluded.yes_value, paid=excluded.paid, source=excluded.source,"
                       " resolved_ms=excluded.resolved_ms, recorded_ms=excluded.recorded_ms", row)
            self._event(db, "market_resolved", market=market, result=res.result, yes_value=res.yes_value,
                        paid=bool(res.paid), source=source, replaced=have is not None)
            for (xid,) in db.execute("SELECT DISTINCT execution_id FROM intents WHERE market=?", (market,)).fetchall():
                self._book_loss(db, xid)
        return True

    def resolutions(self, venue: str | None = None) -> dict[str, ResolutionRow]:
        """Recorded resolutions by market `venue:id` (of one venue, if given)."""
        q, args = "SELECT * FROM resolutions", ()
        if venue is not None:
            q, args = q + " WHERE venue=?", (venue,)
        with self._lock:
            rows = self._db.execute(q + " ORDER BY market", args).fetchall()
        return {r["market"]: ResolutionRow(r["market"], r["venue"], r["market_id"], r["result"], r["yes_value"],
                                           bool(r["paid"]), r["source"], r["resolved_ms"], r["recorded_ms"])
                for r in rows}

    def mark_paid(self, market: str) -> bool:
        """The venue paid resolved market `venue:id` out (reconciliation found its payout in the
        cash: a Polymarket redemption). True when it changed (an event `resolution_paid`)."""
        with self.tx() as db:
            if db.execute("UPDATE resolutions SET paid = 1 WHERE market=? AND paid = 0", (market,)).rowcount == 0:
                return False
            self._event(db, "resolution_paid", market=market)
        return True

    def add_paper_settlement(self, venue: str, market_id: str, lots: int, payout: int) -> bool:
        """The paper account on `venue` was paid `payout` µ$ for its `lots` net YES lots of a market
        that resolved (once per market: False when already recorded)."""
        with self.tx() as db:
            if db.execute("SELECT 1 FROM paper_settlements WHERE venue=? AND market_id=?", (venue, market_id)).fetchone():
                return False
            db.execute("INSERT INTO paper_settlements(venue, market_id, lots, payout, ts_ms) VALUES (?,?,?,?,?)",
                       (venue, market_id, lots, payout, self._clock_ms()))
            self._event(db, "paper_settlement", venue=venue, market=market_id, lots=lots, payout=payout)
        return True

    def paper_settlements(self, venue: str) -> dict[str, int]:
        """market id → µ$ the paper account on `venue` was paid at its resolution."""
        with self._lock:
            return dict(self._db.execute("SELECT market_id, payout FROM paper_settlements WHERE venue=?"
                                         " ORDER BY market_id", (venue,)).fetchall())

    def has_traded(self, market: str) -> bool:
        """Whether any order of this store was for market `venue:id`."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM intents WHERE market=? LIMIT 1", (market,)).fetchone() is not None

    def held_markets(self) -> dict[str, set[str]]:
        """Per venue, the market ids terminal executions still hold lots in, unresolved (the markets
        whose resolution is worth asking for): complete and naked ones, and unwound or aborted ones
        left holding lots (dust under a venue's minimum, an over-fill)."""
        out: dict[str, set[str]] = {}
        for market, _cost, _fee in self.held_at_cost(EXEC_TERMINAL):
            venue, _, market_id = market.partition(":")
            out.setdefault(venue, set()).add(market_id)
        return out

    # ---- durable risk: realised losses and fees per risk day ----------------------------------------
    def _book_loss(self, db, execution_id: str) -> None:
        """Keep the ledger invariant for one execution (inside the caller's transaction): if it
        is terminal, append a row moving its booked loss to what its unwound lots lost when
        unwound (`_unwound_part_loss`: −cash_flow, but the lots the executor held as dust at
        cost), to max(0, −(cash_flow + what its lots in resolved markets came to)) when naked (a
        naked leg that won pays back), when complete to the larger of its
        unwound part's loss and the loss its sets locked in (`realised_loss`), to 0 otherwise
        (aborted). Open executions book nothing. The row is dated now: a loss counts in the risk
        day it was realised. An order whose venue filled more lots than it has listed counts its
        fills and, for the rest, the order-level amounts the venue answered (`_stand_ins`: a
        sale's missing proceeds at its limit, never as nothing): the loss binds the daily cap
        before the fills are listed, and booking them later moves it by what they change, once."""
        r = db.execute("SELECT state FROM executions WHERE id=?", (execution_id,)).fetchone()
        if r is None or r["state"] not in EXEC_TERMINAL:
            return
        cash, unlisted = self._answered_cash(db, execution_id, r["state"] != "aborted")
        target = (max(0, -(cash + resolved_value(db, execution_id))) if r["state"] == "naked"
                  # unwound: its lots sold back are lost; lots it still holds (dust under the venue's
                  # minimum) are held at cost as a complete one's are, not lost (they count as held
                  # exposure; counting them as lost too took their cost twice from the rooms)
                  else self._unwound_part_loss(db, execution_id, unlisted, _dust_held(db, execution_id))
                  if r["state"] == "unwound"
                  else max(self._unwound_part_loss(db, execution_id, unlisted),
                           self._locked_in_loss(db, execution_id, cash, unlisted))
                  if r["state"] == "complete" else 0)
        booked = self._booked_loss(db, execution_id)
        if target != booked:
            self.ledger_version += 1      # readers of daily_loss() may cache until this changes
            db.execute("INSERT INTO realised_losses(execution_id, ts_ms, state, loss, total) VALUES (?,?,?,?,?)",
                       (execution_id, self._clock_ms(), r["state"], target - booked, target))
            self._event(db, "loss_booked", execution_id, state=r["state"], loss=target - booked, total=target)

    @staticmethod
    def _unwound_part_loss(db, execution_id: str, unlisted=(), dust: dict[int, int] | None = None) -> int:
        """µ$ ≥ 0 lost on the lots a complete execution unwound (it kept K < entered lots on a
        leg: "kept K lots on every leg, the rest unwound"): −(cash flow + the entry cost of the
        lots kept), where a leg's kept cost is its entry fills' cost (fees included) × the lots
        it kept (entered − unwound: the sets, and any lots it holds beyond them — an over-fill,
        dust under the venue's minimum — which are held at cost, not lost) / its entered lots,
        floored (the loss is never understated). Not netted against the kept sets' locked-in
        profit (SIZING.md "realised loss"). 0 when every entered lot was kept.
        `unlisted`: fills standing in for lots not listed yet ((leg, role, fill), `_unlisted`)."""
        rows = db.execute(f"SELECT i.leg AS leg, i.role AS role, SUM(f.qty) AS lots, SUM({CASH_FLOW_TERM}) AS cash"
                          " FROM fills f JOIN intents i ON i.client_order_id = f.client_order_id"
                          " WHERE i.execution_id = ? GROUP BY i.leg, i.role", (execution_id,)).fetchall()
        legs = len(json.loads(db.execute("SELECT legs FROM executions WHERE id=?", (execution_id,)).fetchone()[0]))
        entered, paid, unwound, flow = [0] * legs, [0] * legs, [0] * legs, 0
        parts = [(r["leg"], r["role"], r["lots"], r["cash"]) for r in rows]
        parts += [(leg, role, f.qty, _stand_in_flow([(leg, role, f)])) for leg, role, f in unlisted]
        for leg, role, lots, cash in parts:
            flow += cash
            if role == "entry":
                entered[leg], paid[leg] = entered[leg] + lots, paid[leg] - cash
            else:
                unwound[leg] += lots
        if dust is None and not any(unwound):
            return 0
        # an unwound execution (`dust` given) keeps at cost only the lots held as dust; lots it holds
        # otherwise (closed by an operator, say) are lost
        kept = [max(0, e - u) if dust is None else min(max(0, e - u), dust.get(leg, 0))
                for leg, (e, u) in enumerate(zip(entered, unwound))]
        kept_cost = sum(p * k // e for p, e, k in zip(paid, entered, kept) if e)
        return max(0, -(flow + kept_cost))

    def _locked_in_loss(self, db, execution_id: str, cash: int | None = None, unlisted=()) -> int:
        """µ$ ≥ 0 a complete execution locked in as a loss: −(payout of its complete sets + its cash
        flow + what its lots beyond the sets cost, `held_cost`), when that is negative. The
        executor completes a leg whose edge went when that loses less than unwinding the legs
        before it would: the loss is as certain as an unwind's, so it counts as realised. `cash`:
        its cash flow (default: its listed fills'); `unlisted` as `_unwound_part_loss`."""
        ex = db.execute("SELECT payout, qty FROM executions WHERE id=?", (execution_id,)).fetchone()
        net = self.leg_net(execution_id)
        sets = max(0, min(net.values(), default=0))
        if cash is None:
            cash = db.execute(CASH_FLOW_SQL, (execution_id,)).fetchone()[0]
        return max(0, -(ex["payout"] * sets // ex["qty"] + cash + self.held_cost(execution_id, net, unlisted)))

    @staticmethod
    def _booked_loss(db, execution_id: str) -> int:
        return db.execute("SELECT COALESCE(SUM(loss), 0) FROM realised_losses WHERE execution_id=?",
                          (execution_id,)).fetchone()[0]

    def realised_loss(self, execution_id: str) -> int:
        """µ$ ≥ 0 booked as this execution's realised loss: max(0, −cash_flow) once it ended
        unwound or naked (fees included); once it ended complete, the loss on the lots it unwound
        at a smaller size or the loss its sets locked in (a leg completed after its edge went),
        the larger; 0 while open, aborted or complete at a profit."""
        with self._lock:
            return self._booked_loss(self._db, execution_id)

    def daily_loss(self, start_ms: int, end_ms: int | None = None) -> int:
        """µ$ ≥ 0 realised in [start_ms, end_ms) (wall ms; end None = no end): the losses of
        executions that ended unwound or naked in that window, and of the lots unwound by those
        that ended complete at a smaller size, fees included, NOT netted against
        the profit of completed executions. Survives restarts; counts executions that crash
        recovery ended. A loss later reversed (a naked execution hedged to complete, or whose lots
        won when the market resolved) reduces the window it was reversed in by at most what that
        execution lost in the window: each execution's sum in the window is floored at 0, so a
        reversal never frees budget another execution's loss used."""
        q, args = "SELECT execution_id, SUM(loss) AS loss FROM realised_losses WHERE ts_ms >= ?", (start_ms,)
        if end_ms is not None:
            q, args = q + " AND ts_ms < ?", (start_ms, end_ms)
        with self._lock:
            return self._db.execute(f"SELECT COALESCE(SUM(MAX(0, loss)), 0) FROM ({q} GROUP BY execution_id)",
                                    args).fetchone()[0]

    def daily_fees(self, start_ms: int, end_ms: int | None = None) -> int:
        """µ$ of fees on every fill recorded in [start_ms, end_ms) (store clock at recording),
        whatever its execution's state."""
        return self._window_sum("fee", "fills", "recorded_ms", start_ms, end_ms)

    def _window_sum(self, column: str, table: str, ts: str, start_ms: int, end_ms: int | None) -> int:
        q = f"SELECT COALESCE(SUM({column}), 0) FROM {table} WHERE {ts} >= ?"
        args: tuple = (start_ms,)
        if end_ms is not None:
            q, args = q + f" AND {ts} < ?", (start_ms, end_ms)
        with self._lock:
            return self._db.execute(q, args).fetchone()[0]

    def count_executions(self, states: tuple[str, ...] = EXEC_OPEN) -> int:
        """How many executions are in `states` (default: still executing)."""
        q = f"SELECT COUNT(*) FROM executions WHERE state IN ({','.join('?' * len(states))})"
        with self._lock:
            return self._db.execute(q, tuple(states)).fetchone()[0]

    # ---- cash baselines (reconciliation) -----------------------------------------------------------
    def cash_baseline(self, venue: str) -> int | None:
        """µ$ of cash `venue` held when this store first met it (before any trade of this store
        there), or None if never recorded: the zero from which reconciliation counts cash moved."""
        with self._lock:
            r = self._db.execute("SELECT cash_micros FROM cash_baselines WHERE venue=?", (venue,)).fetchone()
        return None if r is None else r[0]

    def set_cash_baseline(self, venue: str, cash_micros: int) -> None:
        """Record (or replace) `venue`'s cash baseline in µ$, with an event, in one transaction."""
        with self.tx() as db:
            db.execute("INSERT INTO cash_baselines(venue, cash_micros, ts_ms) VALUES (?,?,?) ON CONFLICT(venue)"
                       " DO UPDATE SET cash_micros=excluded.cash_micros, ts_ms=excluded.ts_ms",
                       (venue, int(cash_micros), self._clock_ms()))
            self._event(db, "cash_baseline", venue=venue, cash_micros=int(cash_micros))

    # ---- circuit breaker state --------------------------------------------------------------------
    def breaker_state(self, name: str = "executions") -> BreakerRow | None:
        """The persisted state of breaker `name`, or None if it never changed."""
        with self._lock:
            r = self._db.execute("SELECT * FROM breakers WHERE name=?", (name,)).fetchone()
        return None if r is None else BreakerRow(r["name"], r["state"], r["failures"], r["opened_at_ms"],
                                                 r["cooldown_ms"], r["updated_ms"])

    def save_breaker_state(self, name: str, state: str, failures: int, opened_at_ms: int, cooldown_ms: int) -> None:
        """Persist breaker `name` (state closed|open|half_open, consecutive failures, wall ms it
        last opened, cooldown ms) and log a `breaker` event, in one transaction."""
        with self.tx() as db:
            db.execute("INSERT INTO breakers(name, state, failures, opened_at_ms, cooldown_ms, updated_ms)"
                       " VALUES (?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET state=excluded.state,"
                       " failures=excluded.failures, opened_at_ms=excluded.opened_at_ms,"
                       " cooldown_ms=excluded.cooldown_ms, updated_ms=excluded.updated_ms",
                       (name, state, failures, opened_at_ms, cooldown_ms, self._clock_ms()))
            self._event(db, "breaker", name=name, state=state, failures=failures, opened_at_ms=opened_at_ms)

    # ---- bucket selection (arbbot.mapping.selection) ---------------------------------------------
    def bucket_groups(self) -> list[tuple[str, float, float, int, int, int]]:
        """(group key, successes, failures, consecutive failures, disabled until ms, updated ms)."""
        with self._lock:
            return [tuple(r) for r in self._db.execute(
                "SELECT group_key, successes, failures, consecutive_failures, disabled_until_ms, updated_ms"
                " FROM bucket_groups ORDER BY group_key").fetchall()]

    def save_bucket_group(self, key: str, successes: float, failures: float, streak: int,
                          disabled_until_ms: int, updated_ms: int) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO bucket_groups(group_key, successes, failures, consecutive_failures,"
                       " disabled_until_ms, updated_ms) VALUES (?,?,?,?,?,?) ON CONFLICT(group_key) DO UPDATE SET"
                       " successes=excluded.successes, failures=excluded.failures,"
                       " consecutive_failures=excluded.consecutive_failures,"
                       " disabled_until_ms=excluded.disabled_until_ms, updated_ms=excluded.updated_ms",
                       (key, successes, failures, streak, disabled_until_ms, updated_ms))
            if streak and disabled_until_ms:
                self._event(db, "bucket_disabled", group=key, failures=streak, until_ms=disabled_until_ms)

    # ---- sizing state (spec/SIZING.md) -----------------------------------------------------------
    def add_sizing_record(self, execution_id: str, opportunity_id: str, sizing: dict | None, loss_budget: int) -> None:
        """Store an execution's sizing record after its row (the executor writes it once the first
        order is out: formatting the record stays off the decision → first order path), in place of
        the row its first commit wrote to reserve the loss budget."""
        with self.tx() as db:
            self._insert_sizing(db, execution_id, opportunity_id, sizing, loss_budget)

    def _insert_sizing(self, db, execution_id: str, opportunity_id: str, sizing: dict | None, loss_budget: int) -> None:
        """The execution's sizing row (replacing the one it had); `sizing` None: no record yet (JSON null)."""
        db.execute("INSERT OR REPLACE INTO sizing_records(execution_id, opportunity_id, record, loss_budget, ts_ms)"
                   " VALUES (?,?,?,?,?)", (execution_id, opportunity_id, json.dumps(sizing, separators=(",", ":")),
                                           int(loss_budget), self._clock_ms()))

    def sizing_records(self, *, execution_id: str | None = None, opportunity_id: str | None = None
                       ) -> list[tuple[str, dict]]:
        """(execution id, `arbbot.sizing/1` record) in the order they were stored, optionally filtered."""
        q, args = "SELECT execution_id, record FROM sizing_records WHERE record != 'null'", []
        if execution_id is not None:
            q, args = q + " AND execution_id=?", args + [execution_id]
        if opportunity_id is not None:
            q, args = q + " AND opportunity_id=?", args + [opportunity_id]
        with self._lock:
            rows = self._db.execute(q + " ORDER BY ts_ms, rowid", args).fetchall()
        return [(r[0], json.loads(r[1])) for r in rows]

    def held_at_cost(self, states: tuple[str, ...], execution_id: str | None = None
                     ) -> list[tuple[str, int, int]]:
        """(market `venue:id`, cost µ$, fees µ$) held per leg by the executions in `states` (or the
        one named), for the legs that still hold lots: the entry's cost for the lots still held
        (its cost × held / filled, rounded up), its fees and the unwinds' fees on top (a leg
        unwound to nothing holds nothing). An unwind reduces the lots held whichever way it went
        (a sale, or a purchase of the other side: a YES+NO pair is $1 whatever happens), never the
        cost by what it paid or got. A resolved market holds nothing at risk: its legs are left
        out (the lots are worth their resolution, `resolutions`). One query; legs in execution,
        leg order."""
        return [(market, cost, fee) for market, cost, fee, _event, _category in self.held_legs(states, execution_id)]

    def held_legs(self, states: tuple[str, ...], execution_id: str | None = None, *, but: str | None = None
                  ) -> list[tuple[str, int, int, str | None, str | None]]:
        """`held_at_cost`'s legs with the event and category their market had when the execution
        was created (`market_meta`; None when not recorded: an older row, a market without);
        `but`: an execution left out."""
        q = (f"SELECT i.market, {LEG_HOLDING}, json_extract(x.legs, '$[' || i.leg || '].event'),"
             " json_extract(x.legs, '$[' || i.leg || '].category')"
             " FROM intents i JOIN executions x ON x.id = i.execution_id"
             f" WHERE x.state IN ({','.join('?' * len(states))}) AND i.filled_qty > 0"   # (orders that filled nothing hold nothing)
             " AND i.market NOT IN (SELECT market FROM resolutions)")
        args: tuple = tuple(states)
        if execution_id is not None:
            q, args = q + " AND x.id = ?", args + (execution_id,)
        if but is not None:
            q, args = q + " AND x.id != ?", args + (but,)
        with self._lock:
            rows = self._db.execute(q + " GROUP BY i.execution_id, i.leg ORDER BY i.execution_id, i.leg", args).fetchall()
        out = []
        for market, _side, filled, held, cost, fee, event, category in rows:
            held = max(0, min(held, filled))
            if held:
                out.append((market, -(-cost * held // filled), fee, event, category))
        return out

    def held_cost_by_market(self, states: tuple[str, ...]) -> dict[str, int]:
        """µ$ per market (`venue:id`) held by executions in `states`, fees included
        (`held_at_cost`; sizing step 11)."""
        out: dict[str, int] = {}
        for market, cost, fee in self.held_at_cost(states):
            out[market] = out.get(market, 0) + cost + fee
        return dict(sorted(out.items()))

    def net_positions(self, cash_read: Mapping[str, int] | None = None) -> dict[str, tuple[int, int]]:
        """Per market (`venue:id`), (net YES lots, their net cost in µ$) over every recorded fill: a
        sell reduces, a NO lot counts negative; cost = Σ ±lots × price ticks (lots × ticks = µ$).
        A market whose venue paid its resolution out (`resolutions`, paid) holds nothing: the cash
        has it — unless `cash_read` (venue → `event_seq()` when its cash was last read) says that
        cash was read before the resolution was recorded (its `market_resolved` event is later):
        the payout is not in it yet, and the lots are kept (to be valued at what they pay)."""
        with self._lock:             # kept by a trigger as fills are written (schema 8: `market_positions`)
            rows = self._db.execute(
                "SELECT venue, venue || ':' || market_id, lots, cost FROM market_positions"
                " ORDER BY venue, market_id").fetchall()
            paid = {m: v for m, v in self._db.execute("SELECT market, venue FROM resolutions WHERE paid = 1")}
            unread: set[str] = set()
            if paid and cash_read:
                for seq, market in self._db.execute(
                        "SELECT seq, json_extract(data, '$.market') FROM events WHERE seq > ?"
                        " AND kind = 'market_resolved'", (min(cash_read.values()),)).fetchall():
                    if market in paid and seq > cash_read.get(paid[market], seq):
                        unread.add(market)
        return {name: (lots, cost) for _venue, name, lots, cost in rows if name not in paid or name in unread}

    def netted_markets(self) -> list[tuple[str, str]]:
        """(venue, market id) of every market still holding lots whose fills acquired both sides (a
        buy of YES or a sale of NO acquires YES): on a venue that nets pairs (Kalshi, IB), some came
        back as $1 of cash each while `net_positions`' cost still counts what they cost. Read from
        the running positions (schema 10), not the fills."""
        with self._lock:
            return [tuple(r) for r in self._db.execute(
                "SELECT venue, market_id FROM market_positions WHERE lots != 0 AND yes_acquired > 0"
                " AND no_acquired > 0 ORDER BY venue, market_id")]

    def market_fills(self, venue: str, market_id: str) -> list[FillRow]:
        """One market's fills, oldest first (ts_ms, fill id), read by index (`fills_by_market`)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM fills WHERE venue=? AND market_id=? ORDER BY ts_ms, fill_id",
                                    (venue, market_id)).fetchall()
        return [self._fill_row(r) for r in rows]

    def event_seq(self) -> int:
        """The sequence number of the store's latest event (0: none): read before a venue's cash,
        it dates that reading against what the store records later (`net_positions`)."""
        with self._lock:
            return self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]

    def inflight_loss_budgets(self) -> int:
        """µ$: the loss budgets reserved by executions still executing (step 10's `left`)."""
        with self._lock:
            return self._db.execute(
                "SELECT COALESCE(SUM(s.loss_budget), 0) FROM sizing_records s JOIN executions x"
                f" ON x.id = s.execution_id WHERE x.state IN ({','.join('?' * len(EXEC_OPEN))})",
                EXEC_OPEN).fetchone()[0]

    def add_estimate_sample(self, kind: str, key: str, value: float, ts_ms: int | None = None) -> None:
        """One raw sample for step 5: kind `latency` (key venue, seconds), `depletion` (key
        `market#side`, per-second sample), `mid` (key market, dollars). No event: samples are data."""
        with self.tx() as db:
            db.execute("INSERT INTO estimate_samples(kind, key, ts_ms, value) VALUES (?,?,?,?)",
                       (kind, key, self._clock_ms() if ts_ms is None else ts_ms, float(value)))

    def add_estimate_samples(self, rows, *, prune_before_ms: int | None = None) -> None:
        """Many samples in one transaction: rows of (kind, key, unix seconds, value); with
        `prune_before_ms`, samples older than it are deleted in the same transaction."""
        with self.tx() as db:
            db.executemany("INSERT INTO estimate_samples(kind, key, ts_ms, value) VALUES (?,?,?,?)",
                           [(kind, key, int(ts * 1000), float(value)) for kind, key, ts, value in rows])
            if prune_before_ms is not None:
                db.execute("DELETE FROM estimate_samples WHERE ts_ms < ?", (prune_before_ms,))

    def estimate_samples(self, kind: str, since_ms: int, newest: int | None = None
                         ) -> dict[str, tuple[tuple[float, float], ...]]:
        """Samples of `kind` at or after `since_ms`, by key, each (time s, value) in time order;
        with `newest`, only each key's newest that many, kept as the rows stream by (a day's
        window holds millions of rows, which a restart turned into one list only to keep 512 a key)."""
        out: dict[str, deque] = {}
        with self._lock:
            rows = self._db.execute("SELECT key, ts_ms, value FROM estimate_samples WHERE kind=? AND ts_ms>=?"
                                    " ORDER BY ts_ms, seq", (kind, since_ms))
            for key, ts, value in rows:
                ring = out.get(key)
                if ring is None:
                    ring = out[key] = deque(maxlen=newest)
                ring.append((ts / 1000, value))
        return {k: tuple(v) for k, v in out.items()}

    def fill_outcomes(self) -> dict[str, tuple[int, int]]:
        """Per venue (fills, attempts) of entry IOC orders that reached the venue's matching and
        ended: a fill is one filled in full (step 2's Beta posterior; all recorded attempts, never
        cleaned). Orders never sent or never found there (`failed`), and those refused while the
        venue took no orders (`at_venue` 0), are no fill outcome. Paper intents are left out: the
        local fill engine is not the venue, sizing must not learn from it."""
        with self._lock:             # kept by a trigger as intents end (schema 8: `fill_outcome_counts`)
            rows = self._db.execute("SELECT venue, fills, attempts FROM fill_outcome_counts WHERE attempts > 0"
                                    " ORDER BY venue").fetchall()
        return {venue: (fills, attempts) for venue, fills, attempts in rows}

    def lane_daily_pnl(self, since_ms: int, day_start_ms: int) -> dict[int, tuple[int, ...]]:
        """Per lane code, the realised PnL in µ$ of each risk day (days start at `day_start_ms`
        modulo 24 h) since `since_ms` that had one, oldest first. An execution's PnL is its cash
        flow, plus, when it completed, the payout of the lots held on every leg (payout × held /
        qty: an execution completed smaller than planned pays out for what it holds) and what it paid
        for lots held beyond its complete sets (`held_cost`: a position at cost, not a loss), and,
        when it ended naked, what its lots in resolved markets paid, dated when it became terminal."""
        day_ms = 86_400_000
        # the window's executions by their last update (`executions_by_update`; `+state`: not by
        # state, which holds most of a store), each one's intents and fills by index: the whole
        # store's cash flows were 3 s at 200,000 executions, under the store's lock
        net = "SUM(CASE WHEN role = 'entry' THEN filled_qty ELSE -filled_qty END)"
        with self._lock:
            rows = self._db.execute(
                "SELECT x.id, x.lane, x.state, x.payout, x.qty,"
                f" (SELECT MIN(n) FROM (SELECT {net} AS n FROM intents WHERE execution_id = x.id GROUP BY leg)),"
                f" x.updated_ms, ({cash_flow_sql('x.id')}),"
                f" (SELECT MAX(n) FROM (SELECT {net} AS n FROM intents WHERE execution_id = x.id GROUP BY leg))"
                f" FROM executions x WHERE x.updated_ms >= ? AND +x.state IN ({','.join('?' * len(EXEC_TERMINAL))})"
                " ORDER BY x.updated_ms, x.id", (since_ms, *EXEC_TERMINAL)).fetchall()
            resolved = {x: resolved_value(self._db, x) for (x,) in
                        self._db.execute("SELECT DISTINCT x.id FROM executions x JOIN intents i"
                                         " ON i.execution_id = x.id JOIN resolutions r ON r.market = i.market"
                                         " WHERE x.state = 'naked' AND x.updated_ms >= ?", (since_ms,)).fetchall()}
        days: dict[int, dict[int, int]] = {}
        for xid, lane, state, payout, qty, held, updated_ms, cash_flow, most in rows:
            held, most = held or 0, most or 0             # no intents: nothing held
            pnl = cash_flow + (payout * max(0, min(held, qty)) // qty if state == "complete" else resolved.get(xid, 0))
            if state in ("complete", "unwound") and most != held:
                pnl += self.held_cost(xid)        # lots held beyond the sets count at cost
            day = (updated_ms - day_start_ms) // day_ms
            days.setdefault(lane, {})
            days[lane][day] = days[lane].get(day, 0) + pnl
        return {lane: tuple(v for _, v in sorted(d.items())) for lane, d in days.items()}

    def drawdown(self) -> tuple[int, int, int, str] | None:
        """(peak µ$, last equity µ$, stop start ms or 0, tier), or None before the first observation."""
        with self._lock:
            r = self._db.execute("SELECT peak, equity, stopped_ms, tier FROM drawdown WHERE name='equity'").fetchone()
        return None if r is None else (r[0], r[1], r[2], r[3])

    def update_drawdown(self, step) -> tuple[int, int, int, str]:
        """Read the drawdown row (as `drawdown()` gives it), compute the next one with
        `step(row) -> (peak, equity, stopped_ms, tier)` and persist it, in ONE transaction: an
        `arbbot ack` from another process (`clear_drawdown_stop`) lands before or after, never
        between a read and the write that would undo it. An event when the tier changes."""
        with self.tx() as db:
            before = db.execute("SELECT peak, equity, stopped_ms, tier FROM drawdown WHERE name='equity'").fetchone()
            peak, equity, stopped_ms, tier = new = step(None if before is None else tuple(before))
            db.execute("INSERT INTO drawdown(name, peak, equity, stopped_ms, tier, updated_ms) VALUES"
                       " ('equity',?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET peak=excluded.peak,"
                       " equity=excluded.equity, stopped_ms=excluded.stopped_ms, tier=excluded.tier,"
                       " updated_ms=excluded.updated_ms", (peak, equity, stopped_ms, tier, self._clock_ms()))
            if before is None or before[3] != tier:
                self._event(db, "drawdown_tier", tier=tier, peak=peak, equity=equity)
        return new

    def clear_drawdown_stop(self) -> bool:
        """`arbbot ack`: clear a drawdown stop and restart the peak at the last equity (else the next
        observation would latch it again). True if a stop was cleared."""
        with self.tx() as db:
            r = db.execute("SELECT equity, stopped_ms, tier FROM drawdown WHERE name='equity'").fetchone()
            if r is None or (r[1] == 0 and r[2] != "stop"):
                return False
            db.execute("UPDATE drawdown SET peak=equity, stopped_ms=0, tier='normal', updated_ms=? WHERE name='equity'",
                       (self._clock_ms(),))
            self._event(db, "drawdown_stop_acknowledged", peak=r[0])
        return True

    # ---- flags: safe mode -----------------------------------------------------------------------
    def enter_safe_mode(self, reason: str) -> None:
        """Stop new trades until acknowledged. If the flag cannot be written (the store's disk
        failed: the moment a filled leg may be unrecorded) it is latched in this process all the
        same, and the write error propagates."""
        try:
            with self.tx() as db:
                self._flag_safe_mode(db, reason)
        except BaseException:
            self._safe_latch = f"{reason} (not written to the order store)"
            raise

    @staticmethod
    def _flagged(db, name: str) -> bool:
        r = db.execute("SELECT value FROM flags WHERE name=?", (name,)).fetchone()
        return r is not None and r["value"] == "1"

    def _flag_safe_mode(self, db, reason: str) -> None:
        db.execute("INSERT INTO flags(name, value, reason, ts_ms) VALUES ('safe_mode', '1', ?, ?)"
                   " ON CONFLICT(name) DO UPDATE SET value='1', reason=excluded.reason, ts_ms=excluded.ts_ms",
                   (reason, self._clock_ms()))
        self._event(db, "safe_mode_entered", reason=reason)

    def unacknowledged_naked(self) -> list[str]:
        """Naked executions no operator has acknowledged (`arbbot ack`): while any is, safe mode holds."""
        with self._lock:
            return [r["id"] for r in self._db.execute(
                "SELECT id FROM executions WHERE state='naked' AND acknowledged=0 ORDER BY created_ms, id")]

    def safe_mode(self) -> str | None:
        """The reason the store is in safe mode (no new trades), or None."""
        if self._safe_latch is not None:
            return self._safe_latch
        with self._lock:                 # also read by the metrics thread
            r = self._db.execute("SELECT value, reason FROM flags WHERE name='safe_mode'").fetchone()
        return r["reason"] if r is not None and r["value"] == "1" else None

    def acknowledge(self, who: str = "operator") -> list[str]:
        """Operator acknowledgement: leave safe mode and mark naked executions acknowledged.
        Returns the acknowledged execution ids."""
        with self.tx() as db:
            ids = [r["id"] for r in db.execute("SELECT id FROM executions WHERE state='naked' AND acknowledged=0")]
            # `updated_ms` stays when it ended: its day in daily PnL, reports and the settlement watch
            db.execute("UPDATE executions SET acknowledged=1 WHERE state='naked' AND acknowledged=0")
            db.execute("UPDATE flags SET value='0', ts_ms=? WHERE name='safe_mode'", (self._clock_ms(),))
            self._event(db, "safe_mode_acknowledged", who=who, executions=ids)
        self._safe_latch = None
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

    # ---- fee holds: a venue charged more than the market's fee schedule says -------------------
    def hold_for_fees(self, markets: list[str], reason: str, **data) -> None:
        """Hold `markets` out of trading (flags `fee_hold:<market>` = "1", with `reason`) because a
        venue charged more than their fee schedule says: the fee terms changed unseen (e.g. a
        Kalshi `event_fee_update` sent while the WebSocket was down). Held until an operator's
        `arbbot ack` (`clear_fee_holds`); a restart keeps them (the terms may still be unknown).
        One `fee_mismatch` event with `data`."""
        now = self._clock_ms()
        with self.tx() as db:
            for market in markets:
                db.execute("INSERT INTO flags(name, value, reason, ts_ms) VALUES (?, '1', ?, ?) ON CONFLICT(name)"
                           " DO UPDATE SET value='1', reason=excluded.reason, ts_ms=excluded.ts_ms",
                           (FEE_HOLD + market, reason, now))
            self._event(db, "fee_mismatch", markets=list(markets), reason=reason, **data)

    def market_blocks(self, market: str) -> tuple[int, str | None]:
        """What keeps `market` from trading now, in one read (the executor asks per leg before
        every execution): (its blacklist expiry in ms if blacklisted now, else 0; why it is held
        for fees, or None)."""
        with self._lock:
            until, held = self._db.execute(
                "SELECT (SELECT blacklisted_until_ms FROM market_failures WHERE market=?),"
                " (SELECT reason FROM flags WHERE name=? AND value='1')", (market, FEE_HOLD + market)).fetchone()
        return (until if until is not None and until > self._clock_ms() else 0), held

    def fee_holds(self) -> dict[str, str]:
        """Every market held for fees: market name → why."""
        return {name[len(FEE_HOLD):]: reason for name, (value, reason) in self.flags(FEE_HOLD).items() if value == "1"}

    def clear_fee_holds(self, who: str = "operator") -> list[str]:
        """`arbbot ack`: release every fee hold (an operator has looked at the venue's terms).
        The markets released, with a `fee_holds_released` event when there were any."""
        with self.tx() as db:
            held = [r[0][len(FEE_HOLD):] for r in db.execute(
                "SELECT name FROM flags WHERE substr(name, 1, ?) = ? AND value='1' ORDER BY name",
                (len(FEE_HOLD), FEE_HOLD))]
            if held:
                db.execute("UPDATE flags SET value='0', ts_ms=? WHERE substr(name, 1, ?) = ? AND value='1'",
                           (self._clock_ms(), len(FEE_HOLD), FEE_HOLD))
                self._event(db, "fee_holds_released", who=who, markets=held)
        return held

    def failure_count(self, market: str) -> int:
        with self._lock:
            r = self._db.execute("SELECT count FROM market_failures WHERE market=?", (market,)).fetchone()
        return r[0] if r else 0
