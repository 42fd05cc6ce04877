"""Fixtures: a recording HTTP receiver on 127.0.0.1, a temp order store, and notifiers wired to
both with short delays (poll every 20 ms, backoff from 50 ms)."""
from __future__ import annotations

import time

import pytest

from arbbot.config import Settings
from arbbot.execution.store import OrderStore
from arbbot.ops.notify import Backoff, start_notifier
from tests.ops.notify.receiver import Receiver

FAST = Backoff(base_s=0.05, max_s=0.4, jitter=0.0)     # 50, 100, 200, 400 ms
POLL_S = 0.02


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "arbbot.db")


@pytest.fixture
def kill_file(tmp_path):
    return tmp_path / "arbbot.kill"


@pytest.fixture
def notify(receiver, store_path, kill_file):
    """make(paths, prefix=, db=, clock=, cap_usd=, attempts=, timeout_s=, **Notifier overrides)."""
    made = []

    def make(paths=("/hook",), *, prefix="", db=store_path, clock=time.time, cap_usd=50.0, attempts=5,
             timeout_s=2.0, urls=None, **overrides):
        settings = Settings(notify_webhooks=urls or [receiver.url(p, prefix) for p in paths],
                            kill_file=str(kill_file), daily_loss_cap_usd=cap_usd, notify_max_attempts=attempts,
                            notify_timeout_s=timeout_s)
        n = start_notifier(settings, db, **{"backoff": FAST, "poll_s": POLL_S, "clock": clock, **overrides})
        made.append(n)
        return n

    yield make
    for n in made:
        n.stop(0.2)


@pytest.fixture
def store(store_path):
    s = OrderStore(store_path)
    yield s
    s.close()
