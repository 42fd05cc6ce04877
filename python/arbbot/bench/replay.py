"""Record and replay at scale: what `arbbot replay` costs per book and in memory, and what
`--record` costs the event loop per record.

    python -m arbbot.bench.replay FILE [--runs 5] [--records 20000] [--against DIR] [--json]

FILE is a recording (`arbbot run --record FILE`, e.g. `--scenario universe --markets 5000`).
- `cli`: `arbbot replay FILE --json` in a fresh process per run: wall and CPU seconds (user +
  sys: a machine shared with other work inflates it far less than wall time), its peak RSS, and
  books/s (books / wall); `--against DIR` runs the `arbbot` package in DIR too (e.g. a copy of
  the tree with the previous `arbbot/replay`), alternated, and compares the outputs' bytes;
- split, in this process: `check` (`read_recording`: the checking pass), `stream` (reading the
  book records again as `Book`s: what a replay pays to read), `replay` (one replay with the
  defaults; `mapping` is the part spent matching twins, a per-market cost, not per book), and
  books/s of the replay without the matching;
- `record`: the event loop's cost per record of `SessionRecorder.book` / `.raw` (encode and queue;
  a thread writes and compresses) against what the recorder did before on the loop (`json.dumps`,
  then a gzip text write), on the first `--records` books and raw frames of FILE, written to
  `.gz` files; `close` is the time to hand over and wait for the writer at the end.
Times are p50 of `--runs` runs (with 5: the median), by `arbbot bench`'s order statistics.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from arbbot.bench.runner import percentiles


def _p50(samples: list[float]) -> float:
    return round(percentiles([round(s * 1e9) for s in samples])["p50_us"] / 1e6, 4)


def _cli(path: str, pythonpath: str | None) -> tuple[float, float, float, bytes]:
    """(wall s, CPU s, peak RSS MB, stdout) of one `arbbot replay FILE --json` process."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.cli", "replay", path, "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"arbbot replay {path}: exit {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout


def cli_runs(path: str, runs: int, against: str | None = None) -> dict:
    """`arbbot replay FILE --json` per run in a fresh process: wall, CPU, peak RSS; with
    `against` (a directory holding another `arbbot` package, e.g. the previous commit's), that
    one too, runs alternated, and whether both printed the same bytes."""
    trees = {"after": None, **({"before": against} if against else {})}
    samples: dict[str, list] = {label: [] for label in trees}
    outputs: dict[str, set] = {label: set() for label in trees}
    for _ in range(runs):
        for label, tree in trees.items():
            wall, cpu, rss, stdout = _cli(path, tree)
            samples[label].append((wall, cpu, rss))
            outputs[label].add(stdout)
    if any(len(o) != 1 for o in outputs.values()):
        raise SystemExit("arbbot replay: two runs of the same code printed different bytes")
    out: dict = {}
    for label, rows in samples.items():
        wall, cpu, rss = zip(*rows)
        books = json.loads(next(iter(outputs[label])))["recording"]["books"]
        out[label] = {"books": books, "wall_s": _p50(wall), "cpu_s": _p50(cpu), "peak_rss_mb": round(max(rss), 1),
                      "books_per_s": round(books / _p50(wall)), "books_per_cpu_s": round(books / _p50(cpu))}
    if against:
        out["identical_output"] = outputs["after"] == outputs["before"]
        out["cpu_ratio"] = round(out["before"]["cpu_s"] / out["after"]["cpu_s"], 2)
        out["rss_ratio"] = round(out["before"]["peak_rss_mb"] / out["after"]["peak_rss_mb"], 2)
    return out


def split_runs(path: str, runs: int) -> dict:
    import arbbot.mapping.generate as generate
    from arbbot.replay.command import load_config
    from arbbot.replay.format import book_records, read_recording
    from arbbot.replay.run import replay

    inner = generate.generated_mappings
    spent: list[float] = []

    def timed_mappings(*args, **kwargs):
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    check, stream, whole, mapping = [], [], [], []
    settings = load_config(None)
    generate.generated_mappings = timed_mappings
    try:
        for _ in range(runs):
            started = time.perf_counter()
            recording = read_recording(path)
            check.append(time.perf_counter() - started)
            started = time.perf_counter()
            n = sum(1 for _ in book_records(path))
            stream.append(time.perf_counter() - started)
            with tempfile.TemporaryDirectory(prefix="arbbot-bench-replay-") as tmp:
                spent.clear()
                started = time.perf_counter()
                replay(recording, settings, Path(tmp), cache_dir=Path(tmp) / "mappings")
                whole.append(time.perf_counter() - started)
                mapping.append(sum(spent))
    finally:
        generate.generated_mappings = inner
    books = recording.books
    assert n == books
    loop = [w - m for w, m in zip(whole, mapping)]
    return {"books": books, "check_s": _p50(check), "stream_s": _p50(stream), "replay_s": _p50(whole),
            "mapping_s": _p50(mapping), "replay_without_mapping_s": _p50(loop),
            "check_books_per_s": round(books / _p50(check)), "stream_books_per_s": round(books / _p50(stream)),
            "replay_books_per_s": round(books / _p50(loop)),
            "stream_share_of_replay": round(_p50(stream) / _p50(loop), 3)}


def _sample(path: str, records: int) -> tuple[list, list]:
    """The first `records` books (venue, Book) and raw records (dicts) of a recording."""
    from arbbot.replay.format import book_records, raw_records
    books = []
    for _, book in book_records(path):
        books.append((book.market.venue.label, book))
        if len(books) >= records:
            break
    raws = []
    for rec in raw_records(path):
        raws.append({k: v for k, v in rec.items() if k != "recv_ts_ms"})
        if len(raws) >= records:
            break
    return books, raws


def _old_recorder(path: Path, books: list, raws: list) -> tuple[float, float]:
    """What `SessionRecorder` did on the event loop before: a dict per record, `json.dumps`,
    a gzip text write (level 1), all on the caller. (caller s, close s)."""
    from arbbot.replay.format import book_to_json
    from arbbot.replay.recorder import _exact
    fh = gzip.open(path, "xt", encoding="utf-8", compresslevel=1)
    ms = int(time.time() * 1000)
    started = time.perf_counter()
    for (venue, book), raw in zip(books, raws):
        rec = {"recv_ts_ms": ms, "kind": "book", "venue": venue, "market": book.market.id,
               "book": book_to_json(book), "tradeable": book.tradeable, "reason": book.reason}
        fh.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False, default=_exact) + "\n")
        fh.write(json.dumps({"recv_ts_ms": ms, **raw}, separators=(",", ":"), ensure_ascii=False,
                            default=_exact) + "\n")
    caller = time.perf_counter() - started
    started = time.perf_counter()
    fh.close()
    return caller, time.perf_counter() - started


def _new_recorder(path: Path, books: list, raws: list) -> tuple[float, float]:
    from arbbot.replay.format import read_recording
    from arbbot.replay.recorder import SessionRecorder
    rec = SessionRecorder(path, "bench")
    rec.start()
    book, raw = rec.book, rec.raw
    started = time.perf_counter()
    for (venue, b), r in zip(books, raws):
        book(venue, b)
        raw(r)
    caller = time.perf_counter() - started
    started = time.perf_counter()
    rec.close()
    closing = time.perf_counter() - started
    back = read_recording(path)
    assert back.books == len(books) and back.frames == len(raws), (back.books, back.frames)
    return caller, closing


def record_runs(path: str, runs: int, records: int) -> dict:
    books, raws = _sample(path, records)
    n = min(len(books), len(raws))
    books, raws = books[:n], raws[:n]
    out: dict = {"records": 2 * n}
    with tempfile.TemporaryDirectory(prefix="arbbot-bench-record-") as tmp:
        times: dict[str, tuple[list, list]] = {"before": ([], []), "after": ([], [])}
        for k in range(runs):                    # alternated: both see the same machine
            for label, fn in (("before", _old_recorder), ("after", _new_recorder)):
                target = Path(tmp) / f"{label}-{k}.jsonl.gz"
                caller, closing = fn(target, books, raws)
                times[label][0].append(caller)
                times[label][1].append(closing)
                target.unlink()
        for label, (caller, closing) in times.items():
            out[label] = {"loop_us_per_record": round(_p50(caller) / (2 * n) * 1e6, 3), "close_s": _p50(closing)}
    out["loop_cost_ratio"] = round(out["before"]["loop_us_per_record"] / out["after"]["loop_us_per_record"], 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m arbbot.bench.replay", description=__doc__.split("\n\n")[0])
    ap.add_argument("file", help="an arbbot.recording/1 file")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--records", type=int, default=20_000, help="books and raw frames each, for `record`")
    ap.add_argument("--skip", action="append", default=[], choices=("cli", "split", "record"))
    ap.add_argument("--against", metavar="DIR",
                    help="cli: also run the `arbbot` package in DIR (PYTHONPATH), alternated")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out: dict = {"format": "arbbot.bench-replay/1", "file": args.file, "runs": args.runs}
    if "cli" not in args.skip:
        out["cli"] = cli_runs(args.file, args.runs, args.against)
    if "split" not in args.skip:
        out["split"] = split_runs(args.file, args.runs)
    if "record" not in args.skip:
        out["record"] = record_runs(args.file, args.runs, args.records)
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
