"""The book gate: which streamed books detection may use.

A book is held out while its adapter distrusts it (sequence gap, hash mismatch, crossed book,
disconnect: `Book.tradeable` False, with the adapter's reason) or while it is stale (no update for
`stale_after_s` seconds). It comes back with the next trusted update. Transitions are logged
(`book.held_out`, `book.healthy`) and counted per reason.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

from arbbot import logs
from arbbot.model import Book

log = logs.get("quality")


class BookGate:
    """`admit(name, book)` on every update; `stale()` periodically. Clock in seconds."""

    def __init__(self, stale_after_s: float, clock: Callable[[], float]) -> None:
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.held: dict[str, str] = {}            # market name → why it is out of detection
        self.last_seen: dict[str, float] = {}     # market name → clock of its last update
        self.held_out: Counter = Counter()        # reason → updates / staleness events held out

    def admit(self, name: str, book: Book) -> bool:
        """Record an update of market `name`; True if detection may use `book`."""
        self.last_seen[name] = self.clock()
        if book.tradeable:
            if self.held.pop(name, None) is not None:
                log.info("book.healthy", market=name)
            return True
        reason = book.reason or "distrusted"
        if self.held.get(name) != reason:
            log.info("book.held_out", market=name, reason=reason)
        self.held[name] = reason
        self.held_out[reason] += 1
        return False

    def stale(self) -> list[str]:
        """Hold out every book not updated for `stale_after_s`; returns the names newly held."""
        now = self.clock()
        newly = [n for n, seen in self.last_seen.items() if now - seen > self.stale_after_s and n not in self.held]
        for name in newly:
            log.info("book.held_out", market=name, reason="stale")
            self.held[name] = "stale"
            self.held_out["stale"] += 1
        return newly

    def healthy(self, name: str) -> bool:
        return name not in self.held
