"""The notifier: a watch thread turns store events, the kill file and the daily loss cap into
notifications; one sender thread per webhook delivers them. Nothing here runs on (or waits for)
the trading event loop: `start_notifier` only reads where the event log ends (milliseconds) and
starts the threads; `Notifier.stop` is bounded by its timeout.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import httpx

from arbbot import logs
from arbbot.ops.notify.delivery import Backoff, Sender, Stats
from arbbot.ops.notify.notification import Notification
from arbbot.ops.notify.rules import EventRules, HaltState
from arbbot.ops.notify.sources import DailyLossWatch, EventTail, KillFileWatch, StoreReader
from arbbot.ops.notify.targets import Target, payload

log = logs.get("arbbot.notify")

POLL_S = 0.5                    # seconds between two looks at the store and the kill file
QUEUE_SIZE = 100                # notifications waiting per webhook before the oldest is dropped
ERROR_LOG_EVERY_S = 60.0        # a failing watch (store unreadable) logs at most this often


class Notifier:
    """Watches `db_path` (may not exist yet) and `kill_file`; sends to `targets`.

    `cap_micros`: the daily loss cap (µ$); `day_start_utc`: "HH:MM" UTC; `clock`: Unix seconds
    (tests inject it); `poll_s`: seconds between polls."""

    def __init__(self, targets: list[Target], *, db_path: str | None, kill_file: str | None, cap_micros: int,
                 day_start_utc: str = "00:00", timeout_s: float = 5.0, max_attempts: int = 5,
                 backoff: Backoff = Backoff(), poll_s: float = POLL_S, queue_size: int = QUEUE_SIZE,
                 clock: Callable[[], float] = time.time,
                 client_factory: Callable[[], httpx.Client] | None = None) -> None:
        self.targets, self.poll_s, self.clock = list(targets), poll_s, clock
        self._counts = Stats()
        self._senders = [Sender(t, self._counts, timeout_s=timeout_s, max_attempts=max_attempts, backoff=backoff,
                                queue_size=queue_size, client_factory=client_factory) for t in self.targets]
        self._reader = StoreReader(db_path) if db_path else None
        self._tail = EventTail(self._reader) if self._reader else None
        self._loss = DailyLossWatch(self._reader, cap_micros, day_start_utc, clock) if self._reader else None
        self._kill = KillFileWatch(kill_file)
        self._halt = HaltState(self._kill.present())
        self._rules = EventRules(self._halt, legs_of=self._tail.legs if self._tail else None)
        self._stop = threading.Event()
        self._stopped: dict | None = None
        self._last_error_log = float("-inf")
        self._thread = threading.Thread(target=self._watch, name="arbbot-notify-watch", daemon=True)

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Notifier":
        """Remember where the store is now (nothing older is sent), then start the threads."""
        if self._tail is not None:
            try:
                self._tail.start()
                self._rules.breakers.update(self._tail.breakers())
                self._loss.start()
            except Exception as exc:            # unreadable now: every event found later is new
                self._error(exc)
        for s in self._senders:
            s.start()
        self._thread.start()
        log.info("notify.start", webhooks=[t.label for t in self.targets])
        return self

    def stop(self, timeout: float = 2.0) -> dict:
        """Look once more, deliver what can be delivered within `timeout` seconds, then return the
        stats (threads still busy past the deadline are daemons and are left behind). Idempotent."""
        if self._stopped is not None:
            return self.stats()
        deadline = time.monotonic() + max(0.0, timeout)
        self._stop.set()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        for s in self._senders:
            s.close(deadline)
        for s in self._senders:
            s.join(deadline - time.monotonic())
        for s in self._senders:
            s.abort()
        if not self._thread.is_alive() and self._reader is not None:
            self._reader.close()
        self._stopped = self.stats()
        log.info("notify.stop", **self._stopped)
        return self._stopped

    def stats(self) -> dict:
        """{"webhooks", "notifications", "sent", "failed", "dropped", "retries", "pending"}: counts
        per (notification, webhook) except `notifications` (produced, before fan-out)."""
        return {"webhooks": len(self.targets), **self._counts.snapshot(),
                "pending": sum(s.pending for s in self._senders)}

    # ---- producing ------------------------------------------------------------------------------
    def publish(self, n: Notification) -> None:
        """Queue `n` for every webhook (redacted first). Never blocks."""
        clean = Notification(n.kind, n.severity, n.ts_ms, logs.scrub(n.title), logs.scrub(n.text), logs.scrub(n.data))
        self._counts.add(notifications=1)
        log.info("notify.notification", kind=clean.kind, severity=clean.severity, title=clean.title)
        for s in self._senders:
            s.put(clean.kind, payload(s.target, clean))

    def poll(self) -> None:
        """One look at every source (the watch thread calls this every `poll_s` seconds)."""
        found: list[Notification | None] = []
        if self._tail is not None:
            found += [self._rules.apply(ev) for ev in self._tail.poll()]
        found.append(self._halt.file(self._kill.present(), int(self.clock() * 1000), self._kill.path,
                                     self._kill.reason))
        if self._loss is not None:
            found.append(self._loss.poll())
        for n in found:
            if n is not None:
                self.publish(n)

    def _watch(self) -> None:
        while True:
            stopping = self._stop.wait(self.poll_s)
            try:
                self.poll()
            except Exception as exc:            # a locked or missing store must not end the watch
                self._error(exc)
            if stopping:
                return

    def _error(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_EVERY_S:
            self._last_error_log = now
            log.warning("notify.watch_error", error=type(exc).__name__, detail=logs.scrub(str(exc))[:200])


def start_notifier(settings, db_path: str | None, **overrides) -> Notifier | None:
    """A started `Notifier` for `settings.notify_webhooks`, or None when none is configured.

    Registers every webhook URL as a secret (never logged, redacted from every payload); a URL
    that is not http(s) is skipped with a warning. Reads where the store's event log ends now, on
    the caller's thread (a few milliseconds), so every event written after this call is sent.
    `overrides` reach `Notifier` (tests: backoff, poll_s, clock, queue_size)."""
    from arbbot.config import usd
    from arbbot.ops.notify.targets import parse_target

    raw = [w.get_secret_value().strip() for w in settings.notify_webhooks]
    logs.register_secret(*raw)
    targets = []
    for i, url in enumerate(raw):
        try:
            targets.append(parse_target(i, url))
        except ValueError as exc:                       # the message names the index, never the URL
            log.warning("notify.bad_webhook", error=str(exc))
    logs.register_secret(*(t.url for t in targets))     # the URL POSTed to: a slack+/discord+/json+ prefix removed
    if not targets:
        return None
    kwargs = dict(db_path=db_path, kill_file=settings.kill_file, cap_micros=usd(settings.daily_loss_cap_usd),
                  day_start_utc=settings.day_start_utc, timeout_s=settings.notify_timeout_s,
                  max_attempts=settings.notify_max_attempts)
    return Notifier(targets, **{**kwargs, **overrides}).start()
