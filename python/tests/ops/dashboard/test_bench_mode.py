"""`python -m arbbot.bench.feed --dashboard sse`: the feed benchmark with the dashboard served
(its own process) and a Server-Sent Events client connected for the whole timed run."""
from __future__ import annotations

import asyncio

from tests.conftest import require_native


def test_feed_bench_with_a_dashboard_client_connected():
    require_native()
    from arbbot.bench.feed import run_feed
    r = asyncio.run(run_feed(2_000, 1.5, dashboard="sse"))
    assert r["frames"] == 3_000 and r["gaps"] == 0
    d = r["dashboard"]
    assert d["client"] == "sse" and d["samples_sent"] >= 6            # ≥ 5 s settling + the run, one a second
    assert d["client_states"] >= 5                                  # the client read states all along
    assert 0 < d["sample_p50_us"] < 50_000                           # a sample's time on the bot's loop
