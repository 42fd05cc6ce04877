"""`arbbot replay FILE [--config A.toml] [--config B.toml] [--json]`: re-run detection, sizing and
paper execution on a recording (`arbbot run --record FILE`), deterministically, once per
configuration; with two, the results side by side and a verdict.

Output (`--json`): `{"format": "arbbot.replay/1", "recording": {..., "cut_short": LINES | null},
"results": [{"config": PATH | "defaults", "executions": {STATE: N}, "locked_in_micros",
"realised_micros", "max_drawdown_micros", "fill_rate", ...}], "verdict": {...} | null}`. The same
recording and configurations give the same bytes every time. Exit 2 on an unreadable recording or
config. Warnings on stderr: a recording cut short (`cut_short`: the complete lines replayed),
a configuration setting what a replay cannot honour (`arbbot.replay.run.NOT_REPLAYED`)."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

from arbbot.replay.format import RecordingError, read_header


def add_parser(sub) -> None:
    p = sub.add_parser("replay", help="re-run detection, sizing and paper trading on a recording (A/B configs)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("file", help="an arbbot.recording/1 file (arbbot run --record FILE; .gz read as gzip)")
    p.add_argument("--config", action="append", default=[], metavar="TOML",
                   help="an arbbot.toml to replay with (only that file: no environment); give two to compare")
    p.add_argument("--engine", choices=("swift", "python"), help="implementation (default: ARB_ENGINE or swift)")
    add_jobs_argument(p, "the two configs' replays")
    p.add_argument("--json", action="store_true", help="print arbbot.replay/1 JSON instead of a table")


def add_jobs_argument(p, what: str) -> None:
    p.add_argument("--jobs", type=int, metavar="N",
                   help=f"run {what} N at a time, each in its own process (default: the cores available; "
                        "1: one after another in this process; the results are the same)")


def check_jobs(jobs: int | None) -> None:
    if jobs is not None and not 1 <= jobs <= 64:
        raise ConfigFileError("--jobs: expected 1 to 64")


class ConfigFileError(ValueError):
    pass


def load_config(path: str | None):
    """Settings from one TOML file alone (a replay must not depend on the environment), or the
    defaults (`path` None)."""
    from arbbot.config import ConfigError, read_toml, validate_file_dict
    if path is None:
        return validate_file_dict({})
    try:
        data = read_toml(path)
    except ConfigError as exc:
        raise ConfigFileError(str(exc)) from None
    try:
        return validate_file_dict(data)
    except ConfigError as exc:
        raise ConfigFileError(f"{path}: {exc}") from None


def warn_not_replayed(command: str, label: str, settings) -> None:
    """On stderr: the settings of configuration `label` a replay does not honour, if any."""
    from arbbot.replay.run import not_replayed
    keys = not_replayed(settings)
    if keys:
        print(f"arbbot {command}: warning: {label}: {', '.join(keys)} not replayed (a replay streams every "
              "recorded book from its first record and applies the listing refreshes the session made)",
              file=sys.stderr)


def warn_cut_short(command: str, path: str, read: dict) -> None:
    """On stderr: the recording was cut off (its gzip stream ends early, or its last line is cut
    short), if it was (`read`: a replay's counts)."""
    lines = read.get("cut_short")
    if lines is not None:
        how = "the gzip stream ends early" if str(path).endswith(".gz") else "its last line is cut short"
        print(f"arbbot {command}: warning: {path}: {how} (the recording was cut off): "
              f"replayed its first {lines:,} lines, up to the last complete one", file=sys.stderr)


def verdict(results: list[dict]) -> dict | None:
    """With two results: which made more (locked-in + realised, µ$), by how much, and whose
    drawdown was smaller. None with one."""
    if len(results) != 2:
        return None
    total = [r["locked_in_micros"] + r["realised_micros"] for r in results]
    a, b = (r["config"] for r in results)
    better = "same" if total[0] == total[1] else (a if total[0] > total[1] else b)
    dd = [r["max_drawdown_micros"] for r in results]
    return {"more_pnl": better, "pnl_difference_micros": abs(total[0] - total[1]),
            "smaller_drawdown": "same" if dd[0] == dd[1] else (a if dd[0] < dd[1] else b)}


def run_replays(path: str, configs: list[str | None], engine: str | None = None, workers: int | None = None) -> dict:
    """The replays of `path`, one per config (None: the defaults), `workers` at once (default:
    the cores available; `arbbot.replay.parallel`): the same results whatever the number."""
    from arbbot.replay.parallel import ReplayPool, default_workers
    recording = read_header(path)               # each replay checks every record as it reads it
    settings = [(c or "defaults", load_config(c)) for c in configs]
    for label, s in settings:
        warn_not_replayed("replay", label, s)
    workers = min(default_workers() if workers is None else workers, len(settings))
    with tempfile.TemporaryDirectory(prefix="arbbot-replay-") as shared:
        cache = Path(shared) / "mappings"       # the twins are matched once: the next replay reads them back
        with ReplayPool(recording, workers, engine=engine, cache_dir=cache,
                        match=any(s.generate_mappings for _, s in settings)) as pool, \
                replay_progress(path) as progress:
            done = pool.run(settings, progress)
    results = [{"config": label, **result} for (label, _), (result, _) in zip(settings, done)]
    read = done[-1][1]
    warn_cut_short("replay", path, read)
    last_ms = read.get("last_ms")
    return {"format": "arbbot.replay/1",
            "recording": {"path": path, "source": recording.source, "started_ms": recording.started_ms,
                          "books": read.get("books", 0), "frames": read.get("frames", 0),
                          "cut_short": read.get("cut_short"),
                          "markets": {v: len(m) for v, m in sorted(recording.markets.items())},
                          "seconds": round((last_ms - recording.started_ms) / 1000, 3)
                          if last_ms is not None else 0.0},
            "results": results, "verdict": verdict(results)}


@contextlib.contextmanager
def replay_progress(path: str):
    """Per config, a progress bar on stderr over the file's bytes (a terminal only): `progress(label)`
    gives the replay's `on_progress`."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
    console = Console(stderr=True)
    size = os.path.getsize(path)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[books]}"),
                  TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal) as bar:
        def progress(label: str):
            task = bar.add_task(f"replay ({label})", total=size, books="")
            return lambda done, books: bar.update(task, completed=done, books=f"{books:,} books")
        yield progress


def main(args) -> int:
    if len(args.config) > 2:
        print("arbbot replay: at most two --config files (an A/B comparison)", file=sys.stderr)
        return 2
    try:
        check_jobs(args.jobs)
        out = run_replays(args.file, args.config or [None], engine=args.engine, workers=args.jobs)
    except (RecordingError, ConfigFileError) as exc:
        print(f"arbbot replay: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        _table(out)
    return 0


def _table(out: dict) -> None:
    from rich.console import Console
    from rich.table import Table
    rec = out["recording"]
    console = Console()
    console.print(f"replay of {rec['path']}: {rec['books']:,} books over {rec['seconds']:,.1f} s")
    table = Table()
    table.add_column("")
    for r in out["results"]:
        table.add_column(r["config"], justify="right")
    rows = [("complete", lambda r: str(r["executions"].get("complete", 0))),
            ("unwound", lambda r: str(r["executions"].get("unwound", 0))),
            ("other executions", lambda r: str(sum(n for s, n in r["executions"].items() if s not in ("complete", "unwound")))),
            ("locked in $", lambda r: f"{r['locked_in_micros'] / 1e6:,.2f}"),
            ("realised $", lambda r: f"{r['realised_micros'] / 1e6:,.2f}"),
            ("max drawdown $", lambda r: f"{r['max_drawdown_micros'] / 1e6:,.2f}"),
            ("fill rate", lambda r: "–" if r["fill_rate"] is None else f"{r['fill_rate']:.1%}"),
            ("paper latency ms", lambda r: f"{r['paper_latency_ms']:g}" if "paper_latency_ms" in r else "–")]
    for label, cell in rows:
        table.add_row(label, *(cell(r) for r in out["results"]))
    console.print(table)
    v = out["verdict"]
    if v:
        console.print(f"more PnL: {v['more_pnl']} (by ${v['pnl_difference_micros'] / 1e6:,.2f}); "
                      f"smaller drawdown: {v['smaller_drawdown']}")
