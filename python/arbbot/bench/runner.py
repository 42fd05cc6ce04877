"""`arbbot bench`: both engines on the same U20k universe in the same run.

Ops: full_scan (all five lanes over the universe the engine holds, results as the engine's
records; the Swift engine's records are decoded to Python objects only on demand, reported
separately as full_scan_decoded), incremental (replace one random market's book and detect the
opportunities touching it), decompose (one native book → ladders + quote).
"""
from __future__ import annotations

import json
import sys
import time

from arbbot.bench.universe import build_u20k, describe
from arbbot.engine.native import NativeEngine, pack_book
from arbbot.engine.select import native_module
from arbbot.engine.twin.decompose import decompose as twin_decompose
from arbbot.engine.twin.engine import TwinEngine


def percentiles(samples_ns: list[int]) -> dict:
    ordered = sorted(samples_ns)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1_000

    return {"p50_us": round(pick(0.50), 3), "p95_us": round(pick(0.95), 3), "p99_us": round(pick(0.99), 3),
            "n": len(ordered)}


def timed(fn, args_list, repeat: int) -> list[int]:
    """Per-call wall time (ns) of `repeat` calls cycling through args_list, after a warm-up of
    max(2, repeat // 20) calls that are not recorded (caches, allocator)."""
    for i in range(max(2, repeat // 20)):
        fn(*args_list[i % len(args_list)])
    clock = time.perf_counter_ns
    out = []
    for i in range(repeat):
        args = args_list[i % len(args_list)]
        start = clock()
        fn(*args)
        out.append(clock() - start)
    return out


def main(quick: bool = False, as_json: bool = False, seed: int = 20_000) -> int:
    native = native_module()
    say = (lambda *a: print(*a, file=sys.stderr)) if as_json else print
    if native is None:
        print("arbbot bench: the Swift engine is not built; nothing to compare (run `pip install -e .`)", file=sys.stderr)
        return 1
    say(f"building U20k (seed {seed}) …")
    bench = build_u20k(seed)
    universe = bench.universe
    say("building engines …")
    swift, twin = NativeEngine(universe), TwinEngine(universe)
    n_found = len(twin.scan().opportunities)
    if len(swift.scan().opportunities) != n_found:
        print("arbbot bench: engines disagree on U20k; run the parity tests", file=sys.stderr)
        return 1
    updates = [(m, book, *pack_book(book)) for m, book in bench.update_stream(seed + 1, 1_024)]
    r = {"scan_swift": 50 if quick else 500, "scan_python": 3 if quick else 15,
         "inc_swift": 20_000 if quick else 200_000, "inc_python": 2_000 if quick else 20_000,
         "dec": 20_000 if quick else 200_000}
    results = []

    def record(engine: str, op: str, samples: list[int]) -> None:
        results.append({"engine": engine, "op": op, **percentiles(samples)})
        row = results[-1]
        say(f"  {engine:<6} {op:<18} p50 {row['p50_us']:>12,.2f} µs  p95 {row['p95_us']:>12,.2f}  p99 {row['p99_us']:>12,.2f}  (n={row['n']})")

    say(f"U20k: {len(universe.markets):,} markets, {len(twin.candidates):,} candidates, {n_found} opportunities")
    record("swift", "full_scan", timed(swift.scan_raw, [()], r["scan_swift"]))
    record("python", "full_scan", timed(twin.scan, [()], r["scan_python"]))
    record("swift", "full_scan_decoded", timed(swift.scan, [()], max(5, r["scan_swift"] // 10)))
    record("swift", "incremental", timed(swift.update_raw, [(m, lv, c) for m, _, lv, c in updates], r["inc_swift"]))
    record("python", "incremental", timed(twin.update, [(m, b) for m, b, _, _ in updates], r["inc_python"]))
    venues = [int(universe.markets[m].venue) for m, *_ in updates]
    record("swift", "decompose", timed(native.decompose, [(v, lv, c) for v, (_, _, lv, c) in zip(venues, updates)], r["dec"]))
    record("python", "decompose", timed(twin_decompose, [(v, b) for v, (_, b, _, _) in zip(venues, updates)], r["dec"] // 10))
    ratios = {}
    for op in ("full_scan", "incremental", "decompose"):
        s = next(x for x in results if x["engine"] == "swift" and x["op"] == op)
        p = next(x for x in results if x["engine"] == "python" and x["op"] == op)
        ratios[op] = {"p50": round(p["p50_us"] / s["p50_us"], 1), "p99": round(p["p99_us"] / s["p99_us"], 1)}
        say(f"  python/swift {op:<12} {ratios[op]['p50']:>8}× at p50, {ratios[op]['p99']:>8}× at p99")
    if as_json:
        doc = {"format": "arbbot.bench/1", "universe": {**describe(universe), "seed": seed,
               "candidates": len(twin.candidates), "opportunities": n_found},
               "results": results, "python_over_swift": ratios, "quick": quick}
        print(json.dumps(doc))
    return 0
