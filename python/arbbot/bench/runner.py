"""`arbbot bench`: both engines on the same U20k universe in the same run.

Ops: full_scan (all five lanes over the universe the engine holds, results as the engine's
records; the Swift engine's records are decoded to Python objects only on demand, reported
separately as full_scan_decoded), incremental (replace one random market's book and detect the
opportunities touching it), decompose (one native book → ladders + quote), size (the
per-opportunity sizing chain, SIZING.md steps 1, 2, 3, 6, 7, 8, 4, on one 3-leg opportunity on two
venues with the default 2,000 Monte Carlo paths: the Swift engine through the whole Python call —
packing, arb_size, decoding into SizingResult — and the pure twin; size_lazy is the call the bot
makes, `native.size_lazy`: the same packing and engine call, the decision's fields decoded and the
seven step records left until read; size_raw is the native call alone on prepacked buffers),
estimate (step 5: one depletion rate ρ from a full 512-sample ring,
one sample a second with 3 % outliers, cleaned and averaged as SIZING.md says: `robust_native`
through its Python function, against the twin `robust`).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

from arbbot.bench.universe import build_u20k, describe
from arbbot.engine.native import NativeEngine, pack_book
from arbbot.engine.select import native_module
from arbbot.engine.twin.decompose import decompose as twin_decompose
from arbbot.engine.twin.engine import TwinEngine
from arbbot.model import FeeSchedule, Venue
from arbbot.sizing import SizingInput, SizingLeg, SizingParams
from arbbot.sizing import native as sizing_native
from arbbot.sizing import robust, robust_native
from arbbot.sizing import steps as sizing_twin
from arbbot.sizing.pricing import walk_depth


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


def sizing_opportunity() -> SizingInput:
    """The `size` op's opportunity: an all-YES bucket of three markets (payout $1), two on Kalshi
    (batch 1) and one on Polymarket (batch 2), five ask levels each, priors everywhere, E =
    $10,000, T = 20 days, c = 0.95; q0 = the depth walk's quantity capped at 200 contracts."""
    kalshi = FeeSchedule(taker_rate_ppm=70_000, rounding=10_000)
    poly = FeeSchedule(taker_rate_ppm=20_000, rounding=10)

    def ladder(top: int) -> tuple[tuple[int, int], ...]:
        return tuple((top + 50 * i, 4_000 + 1_000 * i) for i in range(5))

    legs = (SizingLeg(Venue.KALSHI, 100, kalshi, ladder(3000), 2950, 0.5, 0.01),
            SizingLeg(Venue.KALSHI, 100, kalshi, ladder(2900), 2850, 0.5, 0.01),
            SizingLeg(Venue.POLYMARKET, 1, poly, ladder(2800), 2790, 0.5, 0.01))
    inp = SizingInput("5eed5eed5eed5eed", 1, 1, legs, 0.95, 20.0, 1, 10_000_000_000, 25.0)
    return replace(inp, qty=walk_depth(inp, 20_000))


def full_ring_history(seed: int):
    """(History, now): one (market, side) whose ring holds 512 per-second depletion samples
    ending at `now` (exponential, 3 % of them × 40: outliers for the MAD filter)."""
    import random
    from arbbot.model import Side
    from arbbot.run.samples import SampleRing
    from arbbot.sizing.robust import History
    rng, now = random.Random(seed), 1_800_000_000.0
    ring = SampleRing((now - 511 + i, rng.expovariate(2.0) * (40 if rng.random() < 0.03 else 1)) for i in range(512))
    return History({}, {("kalshi:M", Side.YES): ring}, {}, {}), now


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
         "dec": 20_000 if quick else 200_000, "size_swift": 2_000 if quick else 20_000,
         "size_python": 20 if quick else 200, "est_swift": 2_000 if quick else 20_000,
         "est_python": 50 if quick else 500}
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
    opportunity, params = sizing_opportunity(), SizingParams()
    want = sizing_twin.size_opportunity(opportunity, params)
    if (sizing_native.size_opportunity(opportunity, params) != want
            or sizing_native.size_lazy(opportunity, params).result() != want):
        print("arbbot bench: engines disagree on the sizing opportunity; run the parity tests", file=sys.stderr)
        return 1
    packed = (*sizing_native.pack_inputs((opportunity,)), sizing_native.pack_params(params))
    record("swift", "size", timed(sizing_native.size_opportunity, [(opportunity, params)], r["size_swift"]))
    record("swift", "size_lazy", timed(sizing_native.size_lazy, [(opportunity, params)], r["size_swift"]))
    record("swift", "size_raw", timed(native.size_batch, [packed], r["size_swift"]))
    record("python", "size", timed(sizing_twin.size_opportunity, [(opportunity, params)], r["size_python"]))
    from arbbot.model import Side
    from arbbot.sizing.robust import RobustParams
    history, now = full_ring_history(seed)
    est_args = [(history, "kalshi:M", Side.YES, now, RobustParams())]
    if robust_native.depletion_rate(*est_args[0]) != robust.depletion_rate(*est_args[0]):
        print("arbbot bench: engines disagree on the step 5 estimate; run the parity tests", file=sys.stderr)
        return 1
    record("swift", "estimate", timed(robust_native.depletion_rate, est_args, r["est_swift"]))
    record("python", "estimate", timed(robust.depletion_rate, est_args, r["est_python"]))
    ratios = {}
    for op in ("full_scan", "incremental", "decompose", "size", "estimate"):
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
