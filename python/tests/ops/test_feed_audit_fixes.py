"""`arbbot_books_held_out` is labelled by reason category: a reason naming prices (every crossed
state of a market a new one) never becomes a label value of its own."""
from __future__ import annotations

from arbbot.ops.metrics import SessionCollector
from arbbot.run.live import LiveSession
from arbbot.venues.kalshi.book import KalshiBook, checked


def test_held_out_metric_labels_are_reason_categories():
    session = LiveSession({}, [])
    for y in range(5000, 5300):                  # 300 crossed states, then a gap and a negative level
        kb = KalshiBook("K")
        kb.apply_snapshot([(y, 100)], [(10_000 - y + 50, 100)])
        b = checked(kb.native())
        session.gate.admit("kalshi:K", b.tradeable, b.reason)
    session.gate.admit("kalshi:L", False, "seq gap on sid 3")
    session.gate.admit("kalshi:L", False, "negative size at yes 4100")
    family = next(f for f in SessionCollector(session).collect() if f.name == "arbbot_books_held_out")
    values = {s.labels["reason"]: s.value for s in family.samples if s.name.endswith("_total")}
    assert values == {"crossed book": 300.0, "seq gap": 1.0, "negative size": 1.0}
