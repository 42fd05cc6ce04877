"""`arbbot.run.looplag.LoopLag`: how late the loop ran a timer, with the samples that overlapped
some work (a portfolio refresh) apart — whether that work held the loop or ran off it."""
from __future__ import annotations

import asyncio
import time

from arbbot.run.looplag import LoopLag


def test_a_blocking_call_shows_as_lag_and_is_counted_during_the_work_that_held_the_loop():
    work = {"started": 0, "under_way": False}

    async def main():
        lag = LoopLag(interval_s=0.002, during=lambda: (work["started"], work["under_way"]))
        watch = asyncio.ensure_future(lag.watch())
        await asyncio.sleep(0.05)
        work["started"] += 1                 # a refresh on the loop: 80 ms with the loop held
        time.sleep(0.08)
        await asyncio.sleep(0.05)
        work["started"] += 1                 # a refresh off the loop: 60 ms, the loop free
        work["under_way"] = True
        await asyncio.sleep(0.06)
        work["under_way"] = False
        await asyncio.sleep(0.03)
        watch.cancel()
        return lag
    lag = asyncio.run(main())
    s = lag.summary()
    assert s["max_ms"] >= 75 and s["n"] >= 40
    assert s["p50_ms"] < 20                  # most samples were on time
    during = s["during"]
    assert during["max_ms"] >= 75            # the sample the blocking refresh held
    assert during["n"] >= 10                 # and those taken while the other ran off the loop
    assert max(lag.lags_during) == max(lag.lags)
    assert sorted(lag.lags)[len(lag.lags) // 2] < 20
    # before any sample there is no summary
    assert LoopLag().summary() is None


def test_the_metrics_endpoint_reports_the_loop_lag():
    from types import SimpleNamespace

    from arbbot.ops.metrics import SessionCollector
    lag = LoopLag()
    lag.lags.extend([0.5, 0.25, 1.0, 40.0] + [0.1] * 196)         # ms; nearest rank: p99 = the 198th of 200
    session = SimpleNamespace(loop_lag=lag, markets=[], healthy=lambda: 0, gate=SimpleNamespace(quiet=lambda: 0),
                              stats=SimpleNamespace(book_updates=0, held_out={}, found={}, latencies_ns=[],
                                                    latency_percentiles_us=lambda: (0.0, 0.0)),
                              feed_stats=lambda: {})
    families = {f.name: f for f in SessionCollector(session).collect()}
    samples = {s.labels["quantile"]: s.value for s in families["arbbot_loop_lag_quantile_seconds"].samples}
    assert samples == {"0.5": 0.1 / 1e3, "0.99": 1.0 / 1e3, "1": 40.0 / 1e3}
    # a session without a loop-lag task (`arbbot live` in tests, tools) has no such metric
    session.loop_lag = None
    assert "arbbot_loop_lag_quantile_seconds" not in {f.name for f in SessionCollector(session).collect()}
