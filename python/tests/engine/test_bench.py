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
    for op in ("full_scan", "incremental", "decompose", "size"):
        assert ("swift", op) in ops and ("python", op) in ops
    assert ("swift", "size_raw") in ops and doc["python_over_swift"]["size"]["p50"] > 1
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


def test_feed_bench_drives_real_frames_through_the_adapter(native):
    import asyncio

    from arbbot.bench.feed import run_feed
    r = asyncio.run(run_feed(2_000, 0.5))
    assert r["format"] == "arbbot.feed-bench/1" and r["frames"] == 1_000 and r["markets"] == 20_000
    assert r["gaps"] == 0 and r["malformed"] == 0 and r["kalshi_markets"] > 7_000
    assert 0 < r["p50_us"] <= r["p99_us"] <= r["max_us"]
