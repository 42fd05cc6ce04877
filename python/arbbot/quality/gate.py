"""The book gate: which streamed books detection may use.

A book is held out while its adapter distrusts it (sequence gap, hash mismatch, crossed book,
disconnect: `Book.tradeable` False, with the adapter's reason) or while it is stale. It comes back
with the next trusted update. Transitions are logged (`book.held_out`, `book.healthy`, with the
adapter's reason) and counted per reason category (`reason_category`: a few fixed labels; the
reasons themselves name prices and sids). A held-out book whose updates keep coming untrusted
is found by `distrusted_for` (time since its last trusted update), for the session to re-fetch.

Stale versus quiet: a book without an update for `stale_after_s` seconds is *stale* (held out)
unless the stream that carries it is live (`live(name)`: its venue sent something within
`stale_after_s` and does not poll this market because a stream is down); then it is only *quiet*.
Real books go quiet for minutes while their stream is healthy (most of a 20,000-market listing
at any moment), and a sequenced live stream would have sent a change. A quiet book stays in
detection; the order path re-quotes a quiet leg over REST before its order (`is_fresh`), and the
session's re-snapshots confirm quiet books within the venues' read budgets, which is how a venue
that silently stops sending one market (the simulator's `stale_books` fault) is caught.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

from arbbot import logs

log = logs.get("quality")

# (text a reason contains, its category): the first match names the category, else "other"
REASON_CATEGORIES = (
    ("fee", "fee hold"),                  # held for a fee override (the book itself is sound)
    ("hash", "hash mismatch"), ("bad snapshot", "hash mismatch"),
    ("crossed", "crossed book"), ("locked", "crossed book"),
    ("gap", "seq gap"),
    ("negative", "negative size"),
    ("disconnected", "disconnected"),
    ("malformed", "malformed"), ("unparseable", "malformed"),
    ("ws error", "ws error"),
    ("snapshot", "awaiting snapshot"), ("recording", "awaiting snapshot"),
    ("stale", "stale"),
    ("distrusted", "distrusted"),
)
FEE_HOLD = "fee hold"


def reason_category(reason: str) -> str:
    """The fixed label of an adapter's or the session's hold-out `reason` (see REASON_CATEGORIES)."""
    for text, category in REASON_CATEGORIES:
        if text in reason:
            return category
    return "other"


class BookGate:
    """`admit(name, book)` on every update; `stale()` periodically. Clock in seconds."""

    def __init__(self, stale_after_s: float, clock: Callable[[], float]) -> None:
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.held: dict[str, str] = {}            # market name → why it is out of detection
        # market name → clock of its last update, oldest first (an update moves its name to the end;
        # the clock never goes back), so a sweep reads only the books old enough to matter
        self.last_seen: dict[str, float] = {}
        # market name → clock of its last trusted update (of its first update while never trusted)
        self.trusted_at: dict[str, float] = {}
        self.held_out: Counter = Counter()        # reason category → updates / staleness events held out

    def admit(self, name: str, tradeable: bool, reason: str = "") -> bool:
        """Record an update of market `name` whose book the adapter trusts or not (`tradeable`,
        `reason`: the book's); True if detection may use the book."""
        seen, now = self.last_seen, self.clock()
        seen.pop(name, None)
        seen[name] = now
        if tradeable:
            self.trusted_at[name] = now
            if self.held.pop(name, None) is not None:
                log.info("book.healthy", market=name)
            return True
        self.trusted_at.setdefault(name, now)
        reason = reason or "distrusted"
        if self.held.get(name) != reason:
            log.info("book.held_out", market=name, reason=reason)
        self.held[name] = reason
        self.held_out[reason_category(reason)] += 1
        return False

    def stale(self, live: Callable[[str], bool] | None = None) -> list[str]:
        """Hold out every book not updated for `stale_after_s` whose stream is not `live` (None:
        no stream is live); returns the names newly held."""
        newly = [n for n in self.older_than(self.stale_after_s)
                 if n not in self.held and (live is None or not live(n))]
        for name in newly:
            log.info("book.held_out", market=name, reason="stale")
            self.held[name] = "stale"
            self.held_out["stale"] += 1
        return newly

    def distrusted_for(self, after: float) -> list[str]:
        """The held-out markets without a trusted update for more than `after` seconds (counted
        from their first update if they never had one), fee holds left out: updates that keep
        coming untrusted never restore such a book, only a fresh snapshot does."""
        now, trusted = self.clock(), self.trusted_at
        return [name for name, reason in self.held.items()
                if name in trusted and now - trusted[name] > after and reason_category(reason) != FEE_HOLD]

    def seen(self, name: str) -> None:
        """Market `name` is confirmed now (a new market, or one held until its first book)."""
        self.last_seen.pop(name, None)
        self.last_seen[name] = self.clock()

    def older_than(self, after: float) -> list[str]:
        """The markets not updated for more than `after` seconds, oldest first."""
        now, out = self.clock(), []
        for name, seen in self.last_seen.items():
            if now - seen <= after:
                break                    # the rest are newer
            out.append(name)
        return out

    def healthy(self, name: str) -> bool:
        return name not in self.held

    def is_fresh(self, name: str) -> bool:
        """Healthy and updated (or confirmed by a re-snapshot) within `stale_after_s`: a book the
        order path may trade on without asking the venue again."""
        seen = self.last_seen.get(name)
        return seen is not None and name not in self.held and self.clock() - seen <= self.stale_after_s

    def quiet(self) -> int:
        """Healthy books not updated for `stale_after_s` (their streams are live)."""
        held = self.held
        return sum(1 for n in self.older_than(self.stale_after_s) if n not in held)
