"""Delivery against a real local receiver: retries with backoff after 500 / 429, none after 400,
giving up after max attempts, a bounded queue, and a hanging webhook never delays stop()."""
from __future__ import annotations

import time

from arbbot.ops.notify import Notification

N = Notification("safe_mode", "critical", 1_773_144_000_000, "Safe mode entered", "leg 1 rejected")


def gaps(requests) -> list[float]:
    return [b.at - a.at for a, b in zip(requests, requests[1:])]


def test_500_500_then_200_is_retried_with_growing_delays_and_sent_once(notify, receiver):
    receiver.script("/hook", [500, 502, 200])
    n = notify(db=None)
    n.publish(N)
    got = receiver.wait_for("/hook", 3)
    stats = n.stop(2.0)
    assert [r.body for r in got] == [got[0].body] * 3 and got[0].body["kind"] == "safe_mode"
    g = gaps(got)
    assert 0.045 <= g[0] < 0.5 and 0.095 <= g[1] < 0.6          # backoff 50 ms then 100 ms (no jitter)
    assert stats | {"pending": 0} == {"webhooks": 1, "notifications": 1, "sent": 1, "failed": 0, "dropped": 0,
                                      "retries": 2, "pending": 0}
    assert len(receiver.on("/hook")) == 3


def test_429_honours_retry_after(notify, receiver):
    receiver.script("/hook", [(429, {"Retry-After": "1"}), 200])
    n = notify(db=None)
    n.publish(N)
    got = receiver.wait_for("/hook", 2, timeout=5)
    stats = n.stop(2.0)
    assert 0.95 <= gaps(got)[0] < 2.0                             # not the 50 ms backoff
    assert (stats["sent"], stats["failed"], stats["retries"]) == (1, 0, 1)


def test_400_is_not_retried(notify, receiver):
    receiver.script("/hook", [400, 200])
    n = notify(db=None)
    n.publish(N)
    receiver.wait_for("/hook", 1)
    stats = n.stop(2.0)
    assert len(receiver.on("/hook")) == 1
    assert (stats["sent"], stats["failed"], stats["retries"]) == (0, 1, 0)


def test_gives_up_after_max_attempts(notify, receiver):
    receiver.script("/hook", [503])
    n = notify(db=None, attempts=3)
    n.publish(N)
    receiver.wait_for("/hook", 3)
    time.sleep(0.5)                                               # a 4th attempt would come after 200 ms
    stats = n.stop(2.0)
    assert len(receiver.on("/hook")) == 3
    assert (stats["sent"], stats["failed"], stats["retries"]) == (0, 1, 2)


def test_an_unreachable_webhook_is_a_transport_error_retried_then_failed(notify):
    import socket
    with socket.socket() as s:                                    # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    n = notify(db=None, attempts=2, urls=[f"http://127.0.0.1:{port}/dead"])
    n.publish(N)
    deadline = time.monotonic() + 5
    while n.stats()["failed"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert n.stop(1.0) | {"pending": 0} == {"webhooks": 1, "notifications": 1, "sent": 0, "failed": 1,
                                            "dropped": 0, "retries": 1, "pending": 0}


def test_a_hanging_webhook_blocks_neither_publish_nor_stop_nor_the_other_webhook(notify, receiver):
    receiver.script("/hang", [("hang", 30.0)])
    n = notify(("/hang", "/ok"), db=None, timeout_s=20.0)
    t0 = time.monotonic()
    for _ in range(3):
        n.publish(N)
    assert time.monotonic() - t0 < 0.05                           # enqueue only
    assert len(receiver.wait_for("/ok", 3)) == 3                  # the healthy webhook is not held up
    receiver.wait_for("/hang", 1)
    t0 = time.monotonic()
    stats = n.stop(0.3)
    assert time.monotonic() - t0 < 0.6
    assert (stats["sent"], stats["dropped"], stats["pending"]) == (3, 2, 1)   # 2 queued dropped, 1 in flight


def test_a_full_queue_drops_the_oldest_and_counts_it(notify, receiver):
    receiver.script("/hang", [("hang", 1.0), 200])
    n = notify(("/hang",), db=None, queue_size=2)
    n.publish(Notification("drift", "warning", 0, "first", "in flight"))
    receiver.wait_for("/hang", 1)
    for i in range(4):
        n.publish(Notification("drift", "warning", i + 1, f"queued {i}", ""))
    assert n.stats()["dropped"] == 2
    stats = n.stop(3.0)
    assert [r.body["title"] for r in receiver.on("/hang")] == ["first", "queued 2", "queued 3"]
    assert (stats["sent"], stats["dropped"], stats["failed"]) == (3, 2, 0)


def test_no_webhooks_means_no_notifier(store_path):
    from arbbot.config import Settings
    from arbbot.ops.notify import start_notifier
    assert start_notifier(Settings(notify_webhooks=[]), store_path) is None
