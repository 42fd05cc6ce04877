"""One notification: what happened, how bad, when, in words and as data.

`kind` is stable (receivers may route on it): safe_mode | halt | resume | breaker_open |
daily_loss_cap | drift | naked | fee_hold. `severity`: critical | warning | info. `ts_ms` is wall-clock
milliseconds since the epoch (the store event's time when it came from the event log). Money in
`data` stays in µ$ integers (`*_micros`), as in the store.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FORMAT = "arbbot.notification/1"

CRITICAL, WARNING, INFO = "critical", "warning", "info"
KINDS = ("safe_mode", "halt", "resume", "breaker_open", "daily_loss_cap", "drift", "naked", "fee_hold")


@dataclass(frozen=True)
class Notification:
    kind: str                       # one of KINDS
    severity: str                   # critical | warning | info
    ts_ms: int                      # wall ms since the epoch
    title: str                      # one short line
    text: str                       # one or two sentences for a person
    data: dict = field(default_factory=dict)   # JSON-able details (µ$ integers, ids, lane, ...)

    def to_json(self) -> dict:
        """The plain `arbbot.notification/1` object (before redaction)."""
        return {"format": FORMAT, "kind": self.kind, "severity": self.severity, "ts_ms": self.ts_ms,
                "title": self.title, "text": self.text, "data": self.data}
