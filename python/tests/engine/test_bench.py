"""`arbbot bench`: the U20k universe has the agreed shape and the JSON report its format."""
from __future__ import annotations

import json
from collections import Counter

from arbbot.bench.runner import percentiles
from arbbot.bench.universe import build_u20k
from arbbot.cli import main


def test_u20k_shape_is_deterministic():
    bench = build_u20k(seed=7)
    u = bench.universe
    assert len(u.markets) == 20_000 and len(bench.fairs) == 20_000
    kinds = Counter(r.kind.label for r in u.relations)
    assert kinds["same"] + kinds["inverse"] == 2_000 and kinds["bucket"] == 1_000
    assert kinds["complement"] + kinds["equivalent"] == 1_000 and kinds["tree"] == 500
    buckets = [len(r.members) for r in u.relations if r.kind.label == "bucket"]
    trees = [len(r.members) - 1 for r in u.relations if r.kind.label == "tree"]
    assert min(buckets) == 3 and max(buckets) == 12 and min(trees) == 2 and max(trees) == 6
    depths = {len(side) for m in u.markets for side in m.book.sides() if side}
    assert min(depths) == 5 and max(depths) == 10          # 5–10 levels on every published side
    assert build_u20k(seed=7).universe.markets[123] == u.markets[123]   # same seed, same universe


def test_percentiles_pick_order_statistics():
    p = percentiles(list(range(1_000, 101_000, 1_000)))   # 1..100 µs
    assert (p["p50_us"], p["p95_us"], p["p99_us"], p["n"]) == (51.0, 96.0, 100.0, 100)


def test_bench_quick_json(capsys, native):
    assert main(["bench", "--quick", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "arbbot.bench/1" and doc["universe"]["markets"] == 20_000
    ops = {(r["engine"], r["op"]) for r in doc["results"]}
    for op in ("full_scan", "incremental", "decompose", "size", "estimate"):
        assert ("swift", op) in ops and ("python", op) in ops
    assert ("swift", "size_raw") in ops and ("swift", "size_lazy") in ops and doc["python_over_swift"]["size"]["p50"] > 1
    assert doc["python_over_swift"]["estimate"]["p50"] > 1
    for r in doc["results"]:
        assert 0 < r["p50_us"] <= r["p95_us"] <= r["p99_us"] and r["n"] > 0


def test_size_op_opportunity_is_sized_identically_by_both_engines(native):
    from arbbot.bench.runner import sizing_opportunity
    from arbbot.sizing import Step, size
    inp = sizing_opportunity()
    assert len(inp.legs) == 3 and len({leg.venue for leg in inp.legs}) == 2 and inp.qty == 20_000
    swift, twin = size(inp, engine="swift"), size(inp, engine="python")
    assert swift == twin and swift.monte_carlo.paths == 2000
    assert swift.qty == 19_900 and swift.bound_by is Step.EXECUTION_MODEL


def test_estimate_op_cleans_a_full_ring_alike_in_both_engines(native):
    from arbbot.bench.runner import full_ring_history
    from arbbot.model import Side
    from arbbot.sizing import robust, robust_native
    from arbbot.sizing.robust import RobustParams
    history, now = full_ring_history(20_000)
    args = (history, "kalshi:M", Side.YES, now, RobustParams())
    swift, twin = robust_native.depletion_rate(*args), robust.depletion_rate(*args)
    assert swift == twin and swift.samples == 512 and not swift.prior


def test_feed_bench_history_fills_every_key_as_a_running_session(native):
    """`--history N`: each market's depletion (both sides) and mids, each venue's latency: N
    samples a second up to now (512 kept), each key its own buffer; step 5 then cleans them."""
    import time

    from arbbot.bench.feed import _fill_samples
    from arbbot.engine.types import Book, FeeSchedule, Market, Universe
    from arbbot.model import Side, Venue
    from arbbot.run.samples import StreamSamples
    from arbbot.sizing import robust
    from arbbot.sizing.robust import RobustParams
    universe = Universe(tuple(Market(Venue.KALSHI, f"M{i}", FeeSchedule(), 100, Book((), (), (), ())) for i in range(3)), ())
    samples, now = StreamSamples(), time.time()
    _fill_samples(samples, universe, 600, now)
    assert len(samples.depletion) == 6 and len(samples.mids) == 3 and len(samples.latency) == len(Venue)
    ring = samples.depletion[("kalshi:M0", Side.YES)]
    assert len(ring) == 512 and max(t for t, _ in ring) == now
    assert ring.raw()[0] is not samples.depletion[("kalshi:M1", Side.YES)].raw()[0]
    history = robust.History(samples.latency, samples.depletion, samples.mids, {})
    p = RobustParams()
    assert not robust.depletion_rate(history, "kalshi:M2", Side.NO, now, p).prior
    assert not robust.price_volatility(history, "kalshi:M2", now, p).prior
    assert not robust.latency(history, Venue.POLYMARKET, now, p).prior


def test_feed_bench_drives_real_frames_through_the_adapter(native):
    import asyncio

    from arbbot.bench.feed import run_feed
    r = asyncio.run(run_feed(2_000, 0.5))
    assert r["format"] == "arbbot.feed-bench/1" and r["frames"] == 1_000 and r["markets"] == 20_000
    assert r["gaps"] == 0 and r["malformed"] == 0 and r["kalshi_markets"] > 7_000
    assert 0 < r["p50_us"] <= r["p99_us"] <= r["max_us"]


def test_signing_bench_times_both_secp256k1_backends(capsys):
    from arbbot.bench.signing import main as signing
    assert signing(["--orders", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    r = doc["results"]
    assert r["coincurve"]["backend"] == "CoinCurveECCBackend" and r["pure-python"]["backend"] == "NativeECCBackend"
    for row in r.values():
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] and row["n"] == 5
