"""How late the event loop runs what is due: a task sleeps `interval_s` and records by how much it
overslept (ms). Every frame that arrives while the loop is held waits about that long before its
parse starts — a wait the frame → decision latency, stamped at the parse, cannot see. `arbbot run
--json` reports it as `loop_lag_ms`, with the lag of the samples that overlapped some work named
by `during` (the portfolio refreshes) apart."""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable

from arbbot.ops.stats import quantile

INTERVAL_S = 0.005          # one sample per 5 ms of loop time
KEEP = 20_000               # the newest samples kept (≈ 100 s at INTERVAL_S)


class LoopLag:
    def __init__(self, interval_s: float = INTERVAL_S, during: Callable[[], tuple[int, bool]] | None = None) -> None:
        """`during()`: (how many times the work of interest started, whether it is under way), e.g.
        the portfolio refreshes; a sample overlapped it when the count moved between its ends (a
        run that held the loop) or the work was under way at either end (a run off the loop)."""
        self.interval_s = interval_s
        self._during = during
        self.lags: deque[float] = deque(maxlen=KEEP)          # ms
        self.lags_during: deque[float] = deque(maxlen=KEEP)   # ms, of samples that overlapped `during`

    async def watch(self) -> None:
        """Sample until cancelled."""
        during, interval = self._during, self.interval_s
        while True:
            mark = during() if during is not None else None
            started = time.perf_counter()
            await asyncio.sleep(interval)
            lag = max(0.0, (time.perf_counter() - started - interval) * 1000)
            self.lags.append(lag)
            if during is not None:
                now = during()
                if now[0] != mark[0] or now[1] or mark[1]:
                    self.lags_during.append(lag)

    def summary(self) -> dict | None:
        """{"interval_ms", "n", "p50_ms", "p99_ms", "max_ms", "during": {"n", "p50_ms", "max_ms",
        "sum_ms"} or None} (None before the first sample)."""
        if not self.lags:
            return None
        lags, during = list(self.lags), list(self.lags_during)
        return {"interval_ms": self.interval_s * 1000, "n": len(lags), "p50_ms": round(quantile(lags, 0.5), 3),
                "p99_ms": round(quantile(lags, 0.99), 3), "max_ms": round(max(lags), 3),
                "during": None if not during else {
                    "n": len(during), "p50_ms": round(quantile(during, 0.5), 3), "max_ms": round(max(during), 3),
                    "sum_ms": round(sum(during), 1)}}
