"""One trading process per order store: an exclusive `flock` on `<db>.lock`.

Two bots trading with one store would each recover the other's in-flight executions (an intent
the other process is sending looks "missing" and its execution ends aborted, then its fill lands
on a finished execution) and break "one execution at a time". A store opened to trade
(`OrderStore(..., exclusive=True)`) holds the lock until it is closed or the process ends (the
kernel drops it then, even on SIGKILL); read-only operator tools (`status`, `explain`,
`reconcile`) do not take it. Within one process the lock is counted, so the same database may be
opened to trade more than once (a crash-and-restart test runs both "processes" in one).
"""
from __future__ import annotations

import fcntl
import os
import threading

_held: dict[str, list] = {}        # real path of the lock file → [fd, opens in this process]
_guard = threading.Lock()


class StoreBusy(ValueError):
    """Another process trades with this order store; the message names it."""


def lock_path(db_path: str) -> str:
    return os.path.realpath(db_path) + ".lock"


def claim(db_path: str) -> None:
    """Hold `db_path`'s trading lock (again, in this process); StoreBusy if another process has it."""
    path = lock_path(db_path)
    with _guard:
        if path in _held:
            _held[path][1] += 1
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreBusy(f"order store {db_path} is in use by another arbbot process (pid {holder}): "
                            "one process trades with a store at a time") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        _held[path] = [fd, 1]


def release(db_path: str) -> None:
    """Undo one `claim` of this process; the lock is dropped with the last."""
    path = lock_path(db_path)
    with _guard:
        entry = _held.get(path)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _held[path]
            os.close(entry[0])          # closing the descriptor drops the flock
