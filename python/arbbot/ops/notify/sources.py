"""What the notifier watches: the order store's event log (read-only, its own connection), the
kill file, and the daily realised-loss ledger.

All of it runs on the notifier's watch thread only. The store is opened read-only
(`file:...?mode=ro`): the notifier can never write to it or create it; a store that does not exist
yet (the trader creates it after the notifier starts) is opened at a later poll, and then every
event in it is new. Reads are single autocommit statements, so no read transaction is held open
across polls (WAL checkpoints are never blocked by the notifier).
"""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from arbbot.ops.notify.notification import Notification
from arbbot.ops.notify.rules import EVENT_KINDS, daily_loss_notification
from arbbot.risk.limits import risk_day_ms


class StoreReader:
    """A read-only connection to the order store, opened lazily (None until the file exists)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def db(self) -> sqlite3.Connection | None:
        if self._db is None and self.path.is_file():
            db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True, timeout=1.0,
                                 isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            self._db = db
        return self._db

    def has_table(self, name: str) -> bool:
        db = self.db()
        return db is not None and db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                             (name,)).fetchone() is not None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class EventTail:
    """Reads the events of EVENT_KINDS after the sequence number where it started.

    `start()` remembers the last seq present now (0 when the store or its event table does not
    exist yet): events written before the notifier started are never sent."""

    BATCH = 500                     # events per query

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.last_seq = 0

    def _max_seq(self) -> int:
        if not self.reader.has_table("events"):
            return 0
        return self.reader.db().execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]

    def start(self) -> None:
        self.last_seq = self._max_seq()

    def poll(self) -> list[dict]:
        """New relevant events, oldest first, `data` decoded; advances past irrelevant ones too."""
        hi = self._max_seq()
        out: list[dict] = []
        marks = ",".join("?" * len(EVENT_KINDS))
        while self.last_seq < hi:
            rows = self.reader.db().execute(
                f"SELECT seq, ts_ms, kind, execution_id, data FROM events WHERE seq > ? AND seq <= ?"
                f" AND kind IN ({marks}) ORDER BY seq LIMIT ?", (self.last_seq, hi, *EVENT_KINDS, self.BATCH)
            ).fetchall()
            for r in rows:
                try:
                    data = json.loads(r["data"] or "{}")
                except ValueError:
                    data = {}
                out.append({"seq": r["seq"], "ts_ms": r["ts_ms"], "kind": r["kind"],
                            "execution_id": r["execution_id"], "data": data if isinstance(data, dict) else {}})
            self.last_seq = rows[-1]["seq"] if len(rows) == self.BATCH else hi
        return out

    def breakers(self) -> dict[str, str]:
        """Breaker name → persisted state now ({} without a breakers table)."""
        if not self.reader.has_table("breakers"):
            return {}
        return {r["name"]: r["state"] for r in self.reader.db().execute("SELECT name, state FROM breakers")}

    def legs(self, execution_id: str | None) -> list[dict]:
        """The execution's planned legs (market, side, qty lots, worst_price ticks); [] if unknown."""
        try:
            r = self.reader.db().execute("SELECT legs FROM executions WHERE id=?", (execution_id,)).fetchone()
            legs = json.loads(r["legs"]) if r is not None else []
        except (sqlite3.Error, ValueError, AttributeError):
            return []
        return [{k: l.get(k) for k in ("market", "side", "qty", "worst_price")} for l in legs if isinstance(l, dict)]


class DailyLossWatch:
    """One notification per risk day once the day's realised loss (µ$, from the store's
    `realised_losses` ledger, as `OrderStore.daily_loss`) reaches `cap` µ$.

    `clock()` gives Unix seconds; the day starts at `day_start_utc` ("HH:MM" UTC). A day whose cap
    was already reached when the notifier started is not sent again."""

    def __init__(self, reader: StoreReader, cap: int, day_start_utc: str, clock) -> None:
        self.reader, self.cap, self.day_start_utc, self.clock = reader, cap, day_start_utc, clock
        self.notified_day: int | None = None        # start ms of the last risk day notified

    def loss(self, day: tuple[int, int]) -> int:
        """µ$ ≥ 0 realised in the risk day `day` = [start_ms, end_ms)."""
        if not self.reader.has_table("realised_losses"):
            return 0
        total = self.reader.db().execute("SELECT COALESCE(SUM(loss), 0) FROM realised_losses WHERE ts_ms >= ?"
                                         " AND ts_ms < ?", day).fetchone()[0]
        return max(0, total)

    def start(self) -> None:
        day = risk_day_ms(self.clock(), self.day_start_utc)
        if self.loss(day) >= self.cap:
            self.notified_day = day[0]

    def poll(self) -> Notification | None:
        now = self.clock()
        day = risk_day_ms(now, self.day_start_utc)
        if self.notified_day == day[0]:
            return None
        loss = self.loss(day)
        if loss < self.cap:
            return None
        self.notified_day = day[0]
        return daily_loss_notification(loss, self.cap, day, int(now * 1000))


class KillFileWatch:
    """Whether the kill file exists (config `kill_file`; "" = none configured)."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = os.fspath(path) if path else ""

    def present(self) -> bool:
        return bool(self.path) and os.path.exists(self.path)

    def reason(self) -> str:
        """The kill file's first line (`arbbot halt --reason` and the dashboard write one), ≤ 200
        characters; "" when unreadable."""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                return f.readline(200).strip()
        except OSError:
            return ""
