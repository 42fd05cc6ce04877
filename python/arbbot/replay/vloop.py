"""An asyncio event loop on virtual time, for deterministic replays.

`loop.time()` and `VirtualClock.time()` (a unix-seconds wall clock for the bot's components) read
the same virtual clock. When nothing is ready to run, the loop does not wait: it moves the clock
to the next timer (`call_at`, `asyncio.sleep`, timeouts) and runs it. So a replay of ten
minutes of recorded data takes as long as its processing, and its result depends only on its
input: the order in which callbacks run is fixed by virtual time and asyncio's FIFO ready queue.
Real I/O still works (the loop polls its selector without waiting when the clock must move);
work handed to threads is waited for in real time (`wait_for_threads`), which a deterministic
replay avoids on its path.
"""
from __future__ import annotations

import asyncio
import selectors


class VirtualClock:
    """A wall clock (unix seconds) moved only by the loop: `start_s` + `elapsed`. The loop runs on
    `elapsed` (seconds from the start), which keeps sub-microsecond precision where unix seconds
    as a float would not (≈ 0.24 µs steps in 2026)."""

    def __init__(self, start_s: float) -> None:
        self.start_s = float(start_s)
        self.elapsed = 0.0

    def time(self) -> float:
        return self.start_s + self.elapsed

    def ms(self) -> int:
        return int(round(self.time() * 1000))


class _VirtualSelector(selectors.DefaultSelector):
    """Polls without blocking; a wait of `timeout` seconds moves the virtual clock instead. With
    no timer at all (`timeout is None`) it waits in real time for I/O (a thread's result).
    Otherwise it polls only every `POLL_EVERY`-th pass (a system call each; a replay makes
    hundreds of thousands of passes, most of them a move of the clock to the next burst of
    books): I/O (which no replay's result depends on) is seen within 32 passes."""
    POLL_EVERY = 32

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self.clock = clock
        self._passes = 0

    def select(self, timeout=None):
        if timeout is None:
            return super().select(0.05)
        self._passes += 1
        ready = [] if self._passes % self.POLL_EVERY else super().select(0)
        if not ready and timeout > 0:
            self.clock.elapsed += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(selector=_VirtualSelector(clock))
        self.clock = clock

    def time(self) -> float:
        return self.clock.elapsed


def run_virtual(main, clock: VirtualClock):
    """Run coroutine `main` to completion on a fresh virtual-time loop; return its result."""
    loop = VirtualTimeLoop(clock)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_all(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all(loop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
