"""Notifications by webhook (issue 13): safe mode, halt, breaker open, daily loss cap reached,
drift alert, an execution left naked.

    notifier = start_notifier(settings, db_path)      # None when notify_webhooks is empty
    ...
    stats = notifier.stop(timeout=2.0)                # {"sent", "failed", "dropped", ...}

A watch thread tails the order store's event log through its own read-only SQLite connection
(from the last event present at start: nothing older is re-sent), watches the kill file and the
risk day's realised loss; one thread per webhook POSTs JSON with httpx, retrying transport
errors, 5xx and 429 with exponential backoff. Payload shapes (Slack, Discord, plain
`arbbot.notification/1`) and the `slack+` / `discord+` / `json+` URL prefixes: `targets`.
Every string sent passes the `arbbot.logs` secret redaction; webhook URLs are never logged.
"""
from arbbot.ops.notify.delivery import Backoff, Stats
from arbbot.ops.notify.notification import FORMAT, KINDS, Notification
from arbbot.ops.notify.notifier import Notifier, start_notifier
from arbbot.ops.notify.targets import Target, detect_shape, parse_target, payload

__all__ = ["Backoff", "FORMAT", "KINDS", "Notification", "Notifier", "Stats", "Target", "detect_shape",
           "parse_target", "payload", "start_notifier"]
