"""Power-loss durability of the order store off the order path.

The store runs SQLite in WAL mode. With `synchronous=FULL` every COMMIT waits for an fsync of the
WAL file; on this class of machine that is 0.2 ms idle and 1–5 ms while the bot and the venue
feeds load the disk, and it sat between a decision and its first order (benchmarks/RESULTS.md).

Durability `"process"` (the default) commits with `synchronous=NORMAL`: a COMMIT has written the
WAL frames to the operating system before it returns, so it survives any crash of the process
(exception, SIGKILL, OOM kill) — an order still leaves only after its intent is committed. The
fsync that makes the commit survive a crash of the machine or a power cut follows on one
background thread (`WalSyncer`): at most PASS_INTERVAL_S later, never while an order path is in
flight (`hold`), coalescing the commits in between. The window in which a power cut can lose a
committed intent whose order already left is therefore ≈ 1 s (as with PostgreSQL's
`synchronous_commit = off`); after such a cut, reconciliation at start and every
`reconcile_interval_s` finds the venue's order or position that the store does not know and
enters safe mode.

Durability `"power"` keeps `synchronous=FULL`: the fsync completes before the order may leave.

Either way SQLite's automatic checkpoint (which runs inside a COMMIT and fsyncs twice) is off: the
WAL is checkpointed into the database on the same background thread once it holds
CHECKPOINT_BYTES. (The COMMIT that next restarts the WAL syncs its header once, as SQLite does in
NORMAL mode: one fsync per CHECKPOINT_BYTES written.)
"""
from __future__ import annotations

import os
import sqlite3
import threading

DURABILITIES = ("process", "power")


CHECKPOINT_BYTES = 4 << 20   # checkpoint a store's WAL into its database once the WAL holds this much
PASS_INTERVAL_S = 1.0        # at most one pass (fsync + checkpoint) per this many seconds
MAX_HOLD_S = 0.05            # a hold (an order path in flight) delays a pass by at most this long


class _File:
    """What the syncer thread holds for one store: the WAL's descriptor and its own connection
    (for checkpoints), both opened lazily; `fsync` False for a store whose COMMIT already syncs."""

    __slots__ = ("db_path", "wal", "fsync", "fd", "conn")

    def __init__(self, db_path: str, fsync: bool) -> None:
        self.db_path, self.wal, self.fsync = db_path, f"{db_path}-wal", fsync
        self.fd: int | None = None
        self.conn: sqlite3.Connection | None = None

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class WalSyncer:
    """One daemon thread that, for the stores that committed since its last pass, fsyncs the
    `-wal` file (durability "process") and checkpoints a WAL grown past `CHECKPOINT_BYTES` into
    the database (every store: the stores turn SQLite's automatic checkpoint off, because that
    runs inside a COMMIT — on the order path — and fsyncs twice). `kick(path)` is O(1) and never
    blocks on the disk. Counters: `synced` (fsyncs), `checkpoints`, `errors` (failed fsyncs or
    checkpoints; the next kick of that store retries with fresh handles)."""

    def __init__(self) -> None:
        self._holds = 0                       # order paths in flight (`hold` / `unhold`)
        self._flushers = 0                    # threads waiting in `flush`
        self._cond = threading.Condition()
        self._files: dict[str, _File] = {}    # db path → handles (touched by the thread only, or under flush)
        self._dirty: set[str] = set()         # db paths committed since their last pass
        self._busy: set[str] = set()          # db paths in the running pass
        self.synced = 0
        self.checkpoints = 0
        self.errors = 0
        self._thread = threading.Thread(target=self._loop, name="arbbot-wal-sync", daemon=True)
        self._thread.start()

    def kick(self, db_path: str, fsync: bool = True) -> None:
        """Mark `db_path` as committed. Wakes nothing: the thread looks every PASS_INTERVAL_S (a
        wake-up per commit would make the two threads trade the GIL inside the next COMMIT)."""
        with self._cond:
            if db_path not in self._files:
                self._files[db_path] = _File(db_path, fsync)
            self._dirty.add(db_path)

    def hold(self) -> None:
        """An order path starts (decision → first order): no pass starts until `unhold`, for at
        most MAX_HOLD_S. An fsync writes back the WAL's last page, and a COMMIT appending to that
        page waits for the write-back to end: one running fsync can stall an intent's COMMIT for
        milliseconds."""
        with self._cond:
            self._holds += 1

    def unhold(self) -> None:
        with self._cond:
            self._holds = max(0, self._holds - 1)
            if self._holds == 0:
                self._cond.notify_all()       # a pass waiting for the hold to end may start

    def _loop(self) -> None:
        while True:
            with self._cond:
                # one look per PASS_INTERVAL_S (a flush asks for one now); none while an order
                # path holds, for at most MAX_HOLD_S
                self._cond.wait_for(lambda: self._flushing, PASS_INTERVAL_S)
                if not self._dirty:
                    continue
                if not self._flushing:
                    self._cond.wait_for(lambda: self._holds == 0 or self._flushing, MAX_HOLD_S)
                self._busy, self._dirty = self._dirty, set()
                files = [self._files[p] for p in self._busy]
            for f in files:
                self._pass(f)
            with self._cond:
                self._busy = set()
                self._cond.notify_all()

    def _pass(self, f: _File) -> None:
        try:
            if f.fsync:
                if f.fd is None:
                    f.fd = os.open(f.wal, os.O_RDONLY)
                os.fsync(f.fd)
                self.synced += 1
            if os.path.getsize(f.wal) >= CHECKPOINT_BYTES:
                if f.conn is None:
                    f.conn = sqlite3.connect(f.db_path, isolation_level=None, check_same_thread=False, timeout=30)
                # PASSIVE: never waits for the store's writers; what it cannot copy now, the next pass does
                f.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
        except (OSError, sqlite3.Error):
            self.errors += 1
            f.close()

    @property
    def _flushing(self) -> bool:
        return self._flushers > 0

    def flush(self, db_path: str, timeout: float = 10.0) -> bool:
        """Wait until every commit of `db_path` so far has been through a completed pass (which
        starts at once, holds and interval notwithstanding)."""
        with self._cond:
            self._flushers += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: db_path not in self._dirty and db_path not in self._busy, timeout)
            finally:
                self._flushers -= 1

    def release(self, db_path: str) -> None:
        """The store closes: wait for its last pass, then close its handles. Safe here: once
        `flush` returned, the store is in no pass, and only a kick by this (closing) store could
        put it back in one."""
        self.flush(db_path)
        with self._cond:
            f = self._files.pop(db_path, None)
        if f is not None:
            f.close()


_syncer: WalSyncer | None = None
_syncer_lock = threading.Lock()


def syncer() -> WalSyncer:
    """The process's one WAL syncer (started on first use)."""
    global _syncer
    with _syncer_lock:
        if _syncer is None:
            _syncer = WalSyncer()
        return _syncer
