"""The order store as the dashboard reads it: its own read-only SQLite connection (WAL lets it
read while the bot writes; it never takes the bot's store lock). Used from the dashboard thread
only. Units: µ$, lots, ticks, wall ms.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

from arbbot.engine.types import Kind, Lane
from arbbot.execution.reconcile import netted_held_costs
from arbbot.execution.schema import CASH_FLOW_TERM, FULL
from arbbot.ops.reporting.pnl import held_cost

# event kinds shown as the audit trail (operator actions and what stops trading)
AUDIT_KINDS = ("halted", "resumed", "config_changed", "safe_mode_entered", "safe_mode_acknowledged",
               "drawdown_stop_acknowledged", "market_blacklisted", "bucket_disabled", "market_resolved",
               "drift_alert", "drift_lane_enabled", "lane_enabled", "fee_mismatch", "fee_holds_released",
               "cash_accepted")


def _label(enum, value: int) -> str:
    try:
        return enum(value).label
    except ValueError:
        return str(value)


class History:
    """Read-only queries on the order store at `path` (None or a missing file: nothing)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._fees_rowid = None          # fills rowid the fee total starts after (set at first read)
        self.fees_micros = 0             # µ$ of fees on fills recorded since the dashboard started

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is None and self.path and Path(self.path).is_file():
            self._db = sqlite3.connect(f"{Path(self.path).absolute().as_uri()}?mode=ro", uri=True,
                                       check_same_thread=False, timeout=2)
            self._db.row_factory = sqlite3.Row
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _rows(self, sql: str, args=()) -> list[sqlite3.Row]:
        db = self._conn()
        if db is None:
            return []
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:      # a table not created yet (fresh store)
            if "no such table" in str(exc) or "no such column" in str(exc):
                return []
            raise

    # ---- risk state -------------------------------------------------------------------------
    def safe_mode(self) -> str | None:
        rows = self._rows("SELECT value, reason FROM flags WHERE name='safe_mode'")
        return rows[0]["reason"] if rows and rows[0]["value"] == "1" else None

    def run_fees(self) -> int:
        """µ$ of fees on every fill recorded since the first call (the dashboard's start)."""
        if self._fees_rowid is None:
            rows = self._rows("SELECT COALESCE(MAX(rowid), 0) FROM fills")
            if self._conn() is None:
                return 0
            self._fees_rowid = rows[0][0] if rows else 0
            return 0
        rows = self._rows("SELECT COALESCE(SUM(fee), 0), MAX(rowid) FROM fills WHERE rowid > ?", (self._fees_rowid,))
        if rows and rows[0][1] is not None:
            self.fees_micros += rows[0][0]
            self._fees_rowid = rows[0][1]
        return self.fees_micros

    # ---- executions ---------------------------------------------------------------------------
    def execution_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self._rows("SELECT state, COUNT(*) FROM executions GROUP BY state")}

    def executions(self, limit: int = 50) -> list[dict]:
        """The newest `limit` executions with their PnL: cash flow and fees of their fills, net
        lots held per leg, locked-in (complete: payout of the lots held on every leg + cash
        flow) or realised (unwound: the cash flow)."""
        rows = self._rows("SELECT * FROM executions ORDER BY created_ms DESC, id DESC LIMIT ?", (limit,))
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        flows = {r[0]: (r[1], r[2]) for r in self._rows(
            f"SELECT i.execution_id, SUM({CASH_FLOW_TERM}), SUM(f.fee) FROM fills f JOIN intents i"
            f" ON i.client_order_id = f.client_order_id WHERE i.execution_id IN ({marks})"
            " GROUP BY i.execution_id", ids)}
        held: dict[str, dict[int, int]] = {}
        for r in self._rows(
                "SELECT i.execution_id, i.leg, SUM(CASE WHEN i.role = 'entry' THEN f.qty ELSE -f.qty END)"
                " FROM fills f JOIN intents i ON i.client_order_id = f.client_order_id"
                f" WHERE i.execution_id IN ({marks}) GROUP BY i.execution_id, i.leg", ids):
            held.setdefault(r[0], {})[r[1]] = r[2]
        bought: dict[tuple[str, int, bool], tuple[int, int]] = {}     # (execution, leg, an unwind's) → lots, µ$
        for r in self._rows(
                f"SELECT i.execution_id, i.leg, i.role != 'entry', SUM(f.qty), SUM((CASE WHEN f.side = i.side"
                f" THEN f.price ELSE {FULL} - f.price END) * f.qty + f.fee) FROM fills f JOIN intents i"
                f" ON i.client_order_id = f.client_order_id WHERE i.action = 'buy' AND i.execution_id IN ({marks})"
                " GROUP BY i.execution_id, i.leg, i.role != 'entry'", ids):
            bought[r[0], r[1], bool(r[2])] = (r[3], r[4])
        out = []
        for r in rows:
            legs = json.loads(r["legs"])
            cash_flow, fees = flows.get(r["id"], (0, 0))
            net = [held.get(r["id"], {}).get(i, 0) for i in range(len(legs))]
            pnl_cash = cash_flow or 0       # its PnL's cash: lots held beyond the sets count at cost
            if r["state"] in ("complete", "unwound") and len(set(net)) > 1:
                pnl_cash += held_cost(net, *([bought.get((r["id"], i, back), (0, 0))[k] for i in range(len(net))]
                                             for back in (False, True) for k in (0, 1)))
            locked = r["payout"] * min(net) // r["qty"] + pnl_cash if r["state"] == "complete" and net else None
            out.append({"id": r["id"], "opportunity_id": r["opportunity_id"], "lane": _label(Lane, r["lane"]),
                        "kind": _label(Kind, r["kind"]), "qty_lots": r["qty"], "payout_micros": r["payout"],
                        "planned_profit_micros": r["planned_profit"], "planned_cost_micros": r["planned_cost"],
                        "planned_fee_micros": r["planned_fee"], "state": r["state"], "reason": r["reason"],
                        "acknowledged": bool(r["acknowledged"]), "created_ms": r["created_ms"],
                        "updated_ms": r["updated_ms"], "cash_flow_micros": cash_flow or 0, "fees_micros": fees or 0,
                        "held_lots": net, "locked_in_micros": locked,
                        "realised_micros": pnl_cash if r["state"] == "unwound" else None,
                        "legs": [{"market": leg["market"], "side": leg["side"], "qty_lots": leg["qty"],
                                  "worst_price": leg["worst_price"], "cost_micros": leg["cost"],
                                  "fee_micros": leg["fee"]} for leg in legs]})
        return out

    def execution_detail(self, execution_id: str) -> dict | None:
        """One execution: its orders (intents) with their fills, and its sizing record (the
        `arbbot explain` steps), or None if unknown."""
        if not self._rows("SELECT 1 FROM executions WHERE id=?", (execution_id,)):
            return None
        orders = []
        for i in self._rows("SELECT * FROM intents WHERE execution_id=? ORDER BY created_ms, leg, role, attempt",
                            (execution_id,)):
            fills = [{"fill_id": f["fill_id"], "qty_lots": f["qty"], "price": f["price"], "fee_micros": f["fee"],
                      "side": f["side"], "action": f["action"]}
                     for f in self._rows("SELECT * FROM fills WHERE client_order_id=? ORDER BY ts_ms, fill_id",
                                         (i["client_order_id"],))]
            orders.append({"client_order_id": i["client_order_id"], "leg": i["leg"], "role": i["role"],
                           "attempt": i["attempt"],
                           "venue": i["venue"], "market": i["market"], "side": i["side"], "action": i["action"],
                           "qty_lots": i["qty"], "price": i["price"], "state": i["state"],
                           "filled_lots": i["filled_qty"], "cost_micros": i["cost"], "fee_micros": i["fee"],
                           "error": i["error"], "fills": fills})
        sizing = self._rows("SELECT record, loss_budget FROM sizing_records WHERE execution_id=? ORDER BY ts_ms, rowid",
                            (execution_id,))
        return {"id": execution_id, "orders": orders,
                "sizing": json.loads(sizing[-1]["record"]) if sizing else None,
                "loss_budget_micros": sizing[-1]["loss_budget"] if sizing else None,
                "events": [{"seq": e["seq"], "ts_ms": e["ts_ms"], "kind": e["kind"]} for e in self._rows(
                    "SELECT seq, ts_ms, kind FROM events WHERE execution_id=? ORDER BY seq", (execution_id,))]}

    # ---- positions and the audit trail --------------------------------------------------------
    def positions(self) -> dict[str, dict]:
        """Per market (`venue:id`) with a non-zero net: net YES lots (NO counts negative) and their
        net cost µ$ over every recorded fill (as `OrderStore.net_positions`: a market its venue paid
        out at resolution is no longer held; on a venue that nets YES+NO pairs into cash, a market
        that netted some costs what its lots held cost, `held_cost_basis`, as the sizer values it);
        a resolved market not paid out yet (Polymarket's tokens until redeemed) carries its
        `resolved` result."""
        held = netted_held_costs(
            self._rows("SELECT venue, market_id FROM market_positions WHERE lots != 0 AND yes_acquired > 0"
                       " AND no_acquired > 0"),
            lambda venue, market_id: [SimpleNamespace(**dict(f)) for f in self._rows(
                "SELECT side, action, qty, price FROM fills WHERE venue=? AND market_id=? ORDER BY ts_ms, fill_id",
                (venue, market_id))])
        rows = self._rows(
            "SELECT venue, venue || ':' || market_id,"
            " SUM((CASE WHEN action = 'buy' THEN 1 ELSE -1 END) * (CASE WHEN side = 'yes' THEN qty ELSE -qty END)),"
            " SUM((CASE WHEN action = 'buy' THEN 1 ELSE -1 END) * qty * price)"
            " FROM fills GROUP BY venue, market_id ORDER BY venue, market_id")
        resolved = {r[0]: (r[1], bool(r[2])) for r in self._rows("SELECT market, result, paid FROM resolutions")}
        return {r[1]: {"venue": r[0], "net_lots": r[2], "cost_micros": held.get(r[1], r[3])}
                | ({"resolved": resolved[r[1]][0]} if r[1] in resolved else {})
                for r in rows if r[2] and not resolved.get(r[1], ("", False))[1]}

    def audit(self, limit: int = 20) -> list[dict]:
        marks = ",".join("?" * len(AUDIT_KINDS))
        rows = self._rows(f"SELECT seq, ts_ms, kind, data FROM events WHERE kind IN ({marks})"
                          " ORDER BY seq DESC LIMIT ?",
                          (*AUDIT_KINDS, limit))
        return [{"seq": r["seq"], "ts_ms": r["ts_ms"], "kind": r["kind"], "data": json.loads(r["data"] or "{}")}
                for r in rows]
