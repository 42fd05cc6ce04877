"""`arbbot scan FILE --json` on a U20k snapshot file: the whole command and its split, today's
path (the Swift engine's buffers packed straight from the file, arbbot.snapshot_fast's
read_packed_fast) against an older one, in the same run.

    python -m arbbot.bench.scan_file [--markets 20000] [--seed 20000] [--runs 7] [--file F]
                                     [--old strict|objects] [--json]

- `--old strict` (default): the strict reader (json + parse_snapshot) and `scan(universe)`;
  `--old objects`: the one-pass reader's Snapshot (`load_snapshot`) and `scan(universe)`, which
  packs its objects for Swift (`pack_universe`): the path before the packed one;
- whole command: wall time of a fresh `python -c <launcher> scan FILE --json` process, the
  same launcher for both (`old` switches the CLI's packed reader off, and for `strict` swaps
  `load_snapshot` for `load_snapshot_strict`), runs alternated so both see the same machine;
  both must print byte-identical JSON. Also its CPU time (user + sys), which a machine shared
  with other work inflates far less than wall time;
- split, in this process: read+validate (`load_snapshot_packed`; `load_snapshot_strict` or
  `load_snapshot`) and the engine (`scan_packed(buffers)`; `scan(universe)`: packing the
  universe's objects for Swift, then the scan).
Times are seconds; p50/p95 as `arbbot bench` picks them (with 7 runs: the median and the max).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from arbbot.bench.runner import percentiles
from arbbot.bench.universe import build_u20k
from arbbot.snapshot import snapshot_to_dict

TAKEN_AT = "2026-11-20T15:00:00Z"
# The CLI's own entry point; an old path first switches the packed reader off (and `strict`
# points the CLI's reader at the strict one).
_LAUNCHER = {
    "new": "import sys; from arbbot.cli import main; sys.exit(main(sys.argv[1:]))",
    "strict": "import sys, arbbot.snapshot as s; s.load_snapshot_packed = lambda path: None; "
              "s.load_snapshot = s.load_snapshot_strict; from arbbot.cli import main; sys.exit(main(sys.argv[1:]))",
    "objects": "import sys, arbbot.snapshot as s; s.load_snapshot_packed = lambda path: None; "
               "from arbbot.cli import main; sys.exit(main(sys.argv[1:]))",
}
OLD_PATHS = ("strict", "objects")


def write_snapshot(path: str | Path, markets: int = 20_000, seed: int = 20_000) -> int:
    """Write the seeded U20k universe (`markets` markets, at least its related ones) as an
    `arbbot.snapshot/1` file; returns its size in bytes. Same seed, same bytes."""
    universe = build_u20k(seed=seed, n_markets=markets).universe
    text = json.dumps(snapshot_to_dict(universe, TAKEN_AT))
    Path(path).write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def _p50_p95(seconds: list[float]) -> dict:
    """p50/p95 in seconds, by `arbbot bench`'s order statistics."""
    p = percentiles([round(s * 1e9) for s in seconds])
    return {"p50": round(p["p50_us"] / 1e6, 4), "p95": round(p["p95_us"] / 1e6, 4)}


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(path: Path, reader: str) -> tuple[float, float, bytes]:
    """(wall seconds, CPU seconds, stdout) of one `scan FILE --json` process."""
    cpu, start = _cpu_of_children(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER[reader], "scan", str(path), "--json"],
                          capture_output=True, check=False)
    elapsed, cpu = time.perf_counter() - start, _cpu_of_children() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"{reader} reader: exit {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed, cpu, proc.stdout


def _split(path: Path, runs: int, old: str = "strict") -> tuple[dict[str, list[float]], int]:
    """The in-process split, and the file's market count."""
    from arbbot.engine import scan, scan_packed
    from arbbot.snapshot import load_snapshot, load_snapshot_packed, load_snapshot_strict

    load_old = load_snapshot_strict if old == "strict" else load_snapshot
    out: dict[str, list[float]] = {"read_new": [], "read_old": [], "engine_new": [], "engine_old": []}
    for _ in range(runs):
        start = time.perf_counter()
        packed = load_snapshot_packed(path)
        out["read_new"].append(time.perf_counter() - start)
        start = time.perf_counter()
        snapshot = load_old(path)
        out["read_old"].append(time.perf_counter() - start)
        start = time.perf_counter()
        scan_packed(packed.buffers, packed.names)
        out["engine_new"].append(time.perf_counter() - start)
        start = time.perf_counter()
        scan(snapshot.universe)
        out["engine_old"].append(time.perf_counter() - start)
    return out, len(snapshot.universe.markets)


def run(markets: int, seed: int, runs: int, file: Path | None = None, old: str = "strict") -> dict:
    """Time the command on `file`, or on a U20k snapshot written for the run, against the `old`
    path (OLD_PATHS)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = file or Path(tmp) / f"u{markets}.snapshot.json"
        size = path.stat().st_size if file else write_snapshot(path, markets, seed)
        samples: dict[str, list[float]] = {"command_new": [], "command_old": [], "cpu_new": [], "cpu_old": []}
        outputs = {}
        for _ in range(runs):
            for reader in ("new", "old"):
                elapsed, cpu, outputs[reader] = _command(path, "new" if reader == "new" else old)
                samples[f"command_{reader}"].append(elapsed)
                samples[f"cpu_{reader}"].append(cpu)
        if outputs["new"] != outputs["old"]:
            raise RuntimeError("the two readers' scans differ")
        split, markets = _split(path, runs, old)
        samples.update(split)
    return {"format": "arbbot.bench.scan_file/1", "old": old, "markets": markets, "seed": None if file else seed, "runs": runs,
            "file_bytes": size, "opportunities": len(json.loads(outputs["new"])["opportunities"]),
            "seconds": {k: _p50_p95(v) for k, v in samples.items()}}


def markdown(result: dict) -> str:
    s = result["seconds"]
    if "engine_new" in s:
        engine = ("engine (pack + scan)", "engine_old", "engine_new")
    else:
        engine = ("engine (pack + scan; one universe, both columns)", "engine", "engine")
    rows = [("whole command (`arbbot scan FILE --json`), wall", "command_old", "command_new"),
            ("whole command, CPU (user + sys)", "cpu_old", "cpu_new"),
            ("read + validate", "read_old", "read_new"), engine]
    source = f"seed {result['seed']}" if result["seed"] is not None else "given file"
    lines = [f"{result['markets']:,} markets ({source}), {result['file_bytes'] / 1e6:.1f} MB, "
             f"{result['opportunities']} opportunities, {result['runs']} runs, seconds:", "",
             "| step | old p50 | old p95 | new p50 | new p95 |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, old, new in rows:
        lines.append(f"| {label} | {s[old]['p50']:.3f} | {s[old]['p95']:.3f} | {s[new]['p50']:.3f} | "
                     f"{s[new]['p95']:.3f} |")
    if "old" in result:
        lines += ["", f"old: {_OLD_LABEL[result['old']]}; new: the engine's buffers packed straight from the file "
                      "(read_packed_fast, scan_packed)."]
    return "\n".join(lines)


_OLD_LABEL = {"strict": "the strict reader (json + parse_snapshot), scan(universe)",
              "objects": "the one-pass reader's Snapshot (load_snapshot), scan(universe) packing its objects"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arbbot.bench.scan_file", description=__doc__.split("\n")[0])
    parser.add_argument("--markets", type=int, default=20_000, help="markets in the snapshot (default 20000)")
    parser.add_argument("--seed", type=int, default=20_000, help="universe seed (default 20000)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each measurement (default 7)")
    parser.add_argument("--file", type=Path, help="time this snapshot file instead of a generated one")
    parser.add_argument("--old", choices=OLD_PATHS, default="strict",
                        help="the path to compare with: strict (default) or objects (load_snapshot + scan(universe))")
    parser.add_argument("--json", action="store_true", help="print arbbot.bench.scan_file/1 JSON")
    args = parser.parse_args(argv)
    result = run(args.markets, args.seed, args.runs, args.file, args.old)
    print(json.dumps(result) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
