"""SIGTERM ends a command the way Ctrl-C does: as an exception, so that every `with` block on the
way out runs (temporary folders removed, stores closed, worker processes stopped and joined)
instead of the process vanishing where it stood. `arbbot run`, `live` and `sim` handle SIGTERM
on their own loops and replace this handler."""
from __future__ import annotations

import contextlib
import signal
import threading

EXIT_TERMINATED = 143            # 128 + SIGTERM, what a shell reports for a process killed by it


class Terminated(SystemExit):
    """Raised by the SIGTERM handler. A SystemExit (code 143): `except Exception` handlers must
    not swallow it, and an asyncio loop re-raises it out of whatever callback it lands in (any
    other BaseException there goes to the loop's exception handler, and the command would carry
    on)."""

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


def _raise(signum, frame) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_raises():
    """Within: SIGTERM raises Terminated in the main thread. The previous handler comes back on
    exit (the CLI's `main` is also called in-process, by tests). Off the main thread: no change
    (signal handlers can only be set there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
