"""Delivery to one webhook: a bounded queue and a sender thread that POSTs with retries.

Retry policy (per notification, at most `max_attempts` POSTs, each with `timeout_s` seconds):
  2xx                          → sent
  transport error / timeout,
  5xx, 429                     → retried after exponential backoff with jitter; a 429's or
                                 5xx's `Retry-After` (seconds or an HTTP date) is honoured,
                                 capped at `Backoff.retry_after_max_s`
  anything else (3xx, 4xx)     → failed at once (a bad URL or payload does not get better)
The queue holds at most `queue_size` notifications; a full queue drops its OLDEST entry and
counts it (`dropped`), so a dead webhook never grows memory nor blocks whoever enqueues.
Each target has its own thread: a slow webhook never delays another.
"""
from __future__ import annotations

import collections
import email.utils
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable

import httpx

from arbbot import logs
from arbbot.ops.notify.targets import Target

log = logs.get("arbbot.notify")


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1 after attempt n failed: min(max_s, base_s·2^(n−1)) scaled by a
    uniform factor in [1 − jitter, 1 + jitter]; at least the server's Retry-After. Seconds."""
    base_s: float = 1.0
    max_s: float = 60.0
    jitter: float = 0.2
    retry_after_max_s: float = 300.0

    def delay(self, attempt: int, retry_after_s: float | None = None,
              rand: Callable[[], float] = random.random) -> float:
        d = min(self.max_s, self.base_s * 2 ** (attempt - 1)) * (1 + self.jitter * (2 * rand() - 1))
        if retry_after_s is not None:
            d = max(d, min(retry_after_s, self.retry_after_max_s))
        return max(0.0, d)


def retry_after_s(value: str | None, now_s: float | None = None) -> float | None:
    """`Retry-After` → seconds to wait (≥ 0), or None if absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now_s is None else now_s))


class Stats:
    """Counters shared by the senders (thread-safe): per (notification, webhook) delivery, except
    `notifications`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.notifications = 0      # notifications produced (before the fan-out to webhooks)
        self.sent = 0               # delivered (2xx)
        self.failed = 0             # given up: non-retryable answer or attempts exhausted
        self.dropped = 0            # queue overflow, or still queued when the notifier stopped
        self.retries = 0            # extra attempts made (after a retryable failure)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def snapshot(self) -> dict:
        with self._lock:
            return {"notifications": self.notifications, "sent": self.sent, "failed": self.failed,
                    "dropped": self.dropped, "retries": self.retries}


class Sender:
    """One webhook's queue and thread. `put()` never blocks; `close()` + `join()` drain it."""

    def __init__(self, target: Target, stats: Stats, *, timeout_s: float, max_attempts: int,
                 backoff: Backoff = Backoff(), queue_size: int = 100,
                 client_factory: Callable[[], httpx.Client] | None = None) -> None:
        self.target, self.stats = target, stats
        self.timeout_s, self.max_attempts, self.backoff = timeout_s, max_attempts, backoff
        self._queue: collections.deque[tuple[str, dict]] = collections.deque()
        self._queue_size = queue_size
        self._cond = threading.Condition()
        self._closing = False
        self._deadline = float("inf")      # time.monotonic() by which a closing sender gives up
        self._abort = threading.Event()
        self._in_flight = 0
        self._client = (client_factory or (lambda: httpx.Client(follow_redirects=False)))()
        self._thread = threading.Thread(target=self._run, name=f"arbbot-notify-{target.index}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, kind: str, body: dict) -> None:
        with self._cond:
            if self._closing:
                return
            if len(self._queue) >= self._queue_size:
                self._queue.popleft()
                self.stats.add(dropped=1)
                log.warning("notify.dropped", webhook=self.target.label, reason="queue full")
            self._queue.append((kind, body))
            self._cond.notify()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def close(self, deadline: float) -> None:
        """Stop accepting; deliver what is queued until `deadline` (monotonic seconds)."""
        with self._cond:
            self._closing, self._deadline = True, deadline
            self._cond.notify_all()

    def abort(self) -> None:
        """Give up now: queued entries count as dropped; an attempt in flight ends by its timeout."""
        self._abort.set()
        with self._cond:
            self.stats.add(dropped=len(self._queue))
            self._queue.clear()
            self._cond.notify_all()

    def join(self, timeout: float) -> bool:
        self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

    # ---- the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._closing:
                        self._cond.wait()
                    if not self._queue:
                        return
                    kind, body = self._queue.popleft()
                    self._in_flight = 1
                try:
                    self._deliver(kind, body)
                except Exception as exc:        # noqa: BLE001 - one notification's failure never ends the sender
                    self._give_up(kind, 0, type(exc).__name__)      # (the type only: a message may hold the URL)
                finally:
                    with self._cond:
                        self._in_flight = 0
        finally:
            self._client.close()

    def _time_left(self) -> float:
        return self._deadline - time.monotonic()

    def _deliver(self, kind: str, body: dict) -> None:
        for attempt in range(1, self.max_attempts + 1):
            timeout = min(self.timeout_s, self._time_left())
            if self._abort.is_set() or timeout <= 0:
                self.stats.add(dropped=1)
                return
            wait_hint, outcome = None, ""
            try:
                r = self._client.post(self.target.url, json=body, timeout=timeout)
            except httpx.TransportError as exc:          # connect/read/write errors and timeouts
                outcome = type(exc).__name__
            except Exception as exc:                     # noqa: BLE001 - not retryable (a URL httpx refuses, ...):
                self._give_up(kind, attempt, type(exc).__name__)   # counted failed; the thread lives on
                return
            else:
                if 200 <= r.status_code < 300:
                    self.stats.add(sent=1)
                    log.info("notify.sent", webhook=self.target.label, kind=kind, attempt=attempt)
                    return
                if r.status_code != 429 and r.status_code < 500:
                    self._give_up(kind, attempt, f"HTTP {r.status_code}")
                    return
                outcome, wait_hint = f"HTTP {r.status_code}", retry_after_s(r.headers.get("retry-after"))
            if attempt == self.max_attempts:
                self._give_up(kind, attempt, outcome)
                return
            delay = self.backoff.delay(attempt, wait_hint)
            log.info("notify.retry", webhook=self.target.label, kind=kind, attempt=attempt, outcome=outcome,
                     delay_s=round(delay, 3))
            if delay > self._time_left():           # stopping: no time left to wait for this one
                self.stats.add(dropped=1)
                return
            self.stats.add(retries=1)
            if self._abort.wait(delay):
                self.stats.add(dropped=1)
                return

    def _give_up(self, kind: str, attempt: int, outcome: str) -> None:
        self.stats.add(failed=1)
        log.warning("notify.failed", webhook=self.target.label, kind=kind, attempts=attempt, outcome=outcome)
