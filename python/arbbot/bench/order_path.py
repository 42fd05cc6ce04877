"""Order-path benchmark: opportunity decided → first order handed to the venue adapter, in the
full paper-trading bot, excluding the venue's round trip.

The simulator runs in its own process (`arbbot sim`), as a venue would, so it does not share
this interpreter's GIL; the bot runs in-process for `--seconds`, `--runs` times against a fresh
simulator each. What the path holds: risk gates, the kept balances, the re-quote from the
streamed book, the execution + first intent committed to SQLite (WAL; with `--durability power`
the commit includes an fsync, with the default `process` the fsync runs on the background syncer,
see arbbot.execution.walsync), and the event loop's scheduling of the execution task among the
feed callbacks. `--durability both` alternates the two modes run by run (same machine state);
`--feed-priority both` and `--eager both` do the same for the feeds' yield to a decided execution
and for the eager start of the execution in the deciding callback.

    python -m arbbot.bench.order_path --seconds 30 --runs 3 --durability both
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

from arbbot.ops.stats import quantile


def _quantiles_us(samples_ns) -> dict:
    pick = lambda q: round(quantile(samples_ns, q) / 1e3, 1)  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "n": len(samples_ns)}


def _start_sim(workdir: Path, seed: int) -> tuple[subprocess.Popen, Path]:
    handle = workdir / "sim.json"
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.cli", "sim", "--seed", str(seed), "--step", "0.2",
                             "--handle-file", str(handle)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not handle.exists() or not handle.stat().st_size:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("order_path bench: the simulator did not start")
        time.sleep(0.05)
    time.sleep(0.1)
    return proc, handle


def one_run(seconds: float, seed: int, durability: str = "process") -> dict:
    from arbbot.config import load_settings
    from arbbot.run import command, trader as trader_mod
    captured = {}
    attach = trader_mod.attach_paper_trader

    async def keep(session, db_path, settings=None):
        captured["trader"] = await attach(session, db_path, settings)
        return captured["trader"]
    with tempfile.TemporaryDirectory() as tmp:
        sim, handle = _start_sim(Path(tmp), seed)
        try:
            trader_mod.attach_paper_trader = keep
            args = types.SimpleNamespace(live=False, connect=str(handle), step=0.2, mappings=None, engine=None,
                                         trade=True, db=str(Path(tmp) / "bench.db"), json=True, duration=seconds,
                                         scenario=None, no_dashboard=True, dashboard_port=None)
            # the drift monitor keeps watching but takes no lane out: a few unwinds in a short run
            # would end a lane's executions, and with them the samples (session 26: n 10–43)
            settings = load_settings(metrics_port=0, kill_file="", store_durability=durability,
                                     drift_disable_lane=False)
            summary = asyncio.run(command._run(args, settings))
        finally:
            trader_mod.attach_paper_trader = attach
            sim.terminate()
            sim.wait(15)
    ex = captured["trader"].executor
    return {"durability": durability, "samples_ns": list(ex.first_order_ns), "first_order_us": _quantiles_us(ex.first_order_ns) if ex.first_order_ns else None,
            "executions": summary["trading"]["executions"], "rest_requotes": ex.rest_requotes,
            "book_updates": summary["book_updates"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m arbbot.bench.order_path", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="length of each run (default 30)")
    p.add_argument("--runs", type=int, default=3, help="runs, each against a fresh simulator (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--durability", choices=("process", "power", "both"), default="process",
                   help="order store durability (config store_durability); both = alternate, run by run")
    p.add_argument("--feed-priority", choices=("on", "off", "both"), default="on",
                   help="feed readers yield to a decided execution until its first order "
                        "(arbbot.venues.common.priority); both = alternate, run by run")
    p.add_argument("--eager", choices=("on", "off", "both"), default="on",
                   help="an execution starts in the deciding callback (arbbot.execution.eager) or as a plain "
                        "Task behind the callbacks already queued; both = alternate, run by run")
    args = p.parse_args(argv)
    os.environ.setdefault("ARB_KILL_FILE", "")
    from arbbot.venues.common import priority
    durabilities = ("process", "power") if args.durability == "both" else (args.durability,)
    feeds = ("on", "off") if args.feed_priority == "both" else (args.feed_priority,)
    eagers = ("on", "off") if args.eager == "both" else (args.eager,)
    modes = [(d, f, e) for d in durabilities for f in feeds for e in eagers]

    def label(d, f, e):
        return "/".join([d] + ([f"priority-{f}"] if len(feeds) > 1 else []) + ([f"eager-{e}"] if len(eagers) > 1 else []))
    runs = []
    from arbbot.run import trader as trader_mod
    for i in range(args.runs):
        for durability, feed, eager in modes:
            priority.enabled = feed == "on"
            trader_mod.EAGER_START = eager == "on"
            r = one_run(args.seconds, args.seed, durability)
            r["mode"] = label(durability, feed, eager)
            runs.append(r)
            print(f"run {i + 1}: {json.dumps({k: v for k, v in r.items() if k != 'samples_ns'})}", file=sys.stderr)
    priority.enabled = True
    trader_mod.EAGER_START = True
    medians, pooled = {}, {}
    for mode in dict.fromkeys(r["mode"] for r in runs):
        measured = [r["first_order_us"] for r in runs if r["mode"] == mode and r["first_order_us"]]
        medians[mode] = ({k: statistics.median(m[k] for m in measured) for k in ("p50", "p95", "p99")}
                         if measured else None)
        every = [ns for r in runs if r["mode"] == mode for ns in r["samples_ns"]]
        pooled[mode] = _quantiles_us(every) if every else None      # all runs' executions together
    for r in runs:
        del r["samples_ns"]
    print(json.dumps({"format": "arbbot.bench-order-path/1", "runs": runs, "median_of_runs_us": medians,
                      "pooled_us": pooled}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
