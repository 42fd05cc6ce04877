"""`arbbot tune FILE --param KEY=LO:HI [--param …] [--config BASE] [--trials N] [--json]`: search
live-tunable settings on a recording by replaying it (`arbbot.replay.run`) once per candidate,
and report the candidates ranked by PnL. It never applies anything: the operator puts a value in
`arbbot.toml` or sets it from the dashboard.

Keys: the dashboard's live-tunable ones (`arbbot.ops.control.TUNABLES`). Candidates: with one
key, `N` evenly spaced values from LO to HI; with several, a Latin hypercube of `N` points
(seeded: the same candidates every time); rounded (contracts to 0.01, multipliers to 1e-4, dollars
to the µ$), each distinct candidate once. A key may be given once. Each candidate is validated as
`arbbot.toml` is; one outside a setting's range is listed as refused, with the reason. Ranking:
locked-in + realised PnL (µ$), then the smaller drawdown. Output `arbbot.tune/1` with `--json`."""
from __future__ import annotations

import copy
import json
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
import math
import random
import sys
import tempfile
from pathlib import Path

from arbbot.replay.command import (ConfigFileError, add_jobs_argument, check_jobs, replay_progress, warn_cut_short,
                                   warn_not_replayed)
from arbbot.replay.format import RecordingError, read_header

SEED = 0


class TuneError(ValueError):
    pass


def add_parser(sub) -> None:
    p = sub.add_parser("tune", help="search live-tunable settings on a recording (reports, never applies)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("file", help="an arbbot.recording/1 file (arbbot run --record FILE)")
    from arbbot.ops.control import TUNABLES
    p.add_argument("--param", action="append", default=[], metavar="KEY=LO:HI", required=True,
                   help=f"a live-tunable key and its range, e.g. max_contracts=5:50 (repeatable); keys: "
                        f"{', '.join(TUNABLES)}")
    p.add_argument("--config", metavar="TOML", help="the arbbot.toml the candidates start from (default: defaults)")
    p.add_argument("--trials", type=int, default=8, help="candidates to replay (default 8, at most 200)")
    p.add_argument("--engine", choices=("swift", "python"), help="implementation (default: ARB_ENGINE or swift)")
    add_jobs_argument(p, "the trials")
    p.add_argument("--json", action="store_true", help="print arbbot.tune/1 JSON instead of a table")


PARAM_MAX = 1e15          # the largest |LO|, |HI| of a --param range


def parse_params(texts: list[str]) -> dict[str, tuple[float, float]]:
    from arbbot.ops.control import TUNABLES
    out = {}
    for text in texts:
        key, sep, span = text.partition("=")
        lo, sep2, hi = span.partition(":")
        if not sep or not sep2:
            raise TuneError(f"--param {text!r}: expected KEY=LO:HI")
        if key not in TUNABLES:
            raise TuneError(f"--param {key}: not a live-tunable key (allowed: {', '.join(TUNABLES)})")
        if key in out:
            raise TuneError(f"--param {key}: given twice (one range per key)")
        try:
            low, high = float(lo), float(hi)
        except ValueError:
            raise TuneError(f"--param {text!r}: LO and HI must be numbers") from None
        if not (math.isfinite(low) and math.isfinite(high)):
            raise TuneError(f"--param {text!r}: LO and HI must be finite numbers")
        if max(abs(low), abs(high)) > PARAM_MAX:
            # (no setting goes near it; the grid's decimal rounding has 28 digits)
            raise TuneError(f"--param {text!r}: LO and HI must be within ±10^15")
        if low > high:
            raise TuneError(f"--param {text!r}: expected LO ≤ HI")
        least, most = _grid(key, low, high)
        if least > most:
            raise TuneError(f"--param {text!r}: no value within the range on {key}'s grid "
                            f"(its candidates are rounded to {_digits(key)} decimals)")
        out[key] = (low, high)
    return out


def candidates(params: dict[str, tuple[float, float]], trials: int) -> list[dict[str, float]]:
    """The candidates, rounded (`_round`), each once: fewer than `trials` when rounding makes some equal."""
    keys = list(params)
    if len(keys) == 1:
        (lo, hi), = params.values()
        steps = [lo] if trials == 1 or lo == hi else [lo + (hi - lo) * k / (trials - 1) for k in range(trials)]
        points = [{keys[0]: v} for v in steps]
    else:
        rng = random.Random(SEED)
        columns = {}
        for key, (lo, hi) in params.items():          # one value per stratum, strata shuffled per key
            strata = [lo + (hi - lo) * (k + rng.random()) / trials for k in range(trials)]
            rng.shuffle(strata)
            columns[key] = strata
        points = [{key: columns[key][k] for key in keys} for k in range(trials)]
    rounded = ({key: _round(key, v, *params[key]) for key, v in point.items()} for point in points)
    return list({tuple(point.values()): point for point in rounded}.values())


def _digits(key: str) -> int:
    """Decimals a candidate of `key` is rounded to: contracts to the 0.01 lot, multipliers to 1e-4,
    dollars to the µ$."""
    if key == "max_contracts":
        return 2
    return 4 if key.endswith("multiplier") else 6


def _grid(key: str, low: float, high: float) -> tuple[float, float]:
    """The least and the greatest value of `key`'s grid (`_digits`) within [low, high], in
    decimal (65.9 × 10^6 is 65,900,000.00000001 in binary floating point); the first above the
    second when the range holds none."""
    step = Decimal(1).scaleb(-_digits(key))
    return (float(Decimal(repr(low)).quantize(step, ROUND_CEILING)),
            float(Decimal(repr(high)).quantize(step, ROUND_FLOOR)))


def _round(key: str, value: float, low: float, high: float) -> float:
    """`value` on `key`'s grid, kept within [low, high] (rounding never leaves the range asked for)."""
    least, most = _grid(key, low, high)
    return min(max(round(value, _digits(key)), least), most)


def _with(base: dict, key: str, value: float) -> dict:
    out = copy.deepcopy(base)
    node = out
    *path, leaf = key.split(".")
    for part in path:
        node = node.setdefault(part, {})
    node[leaf] = value
    return out


def tune(path: str, params: dict, trials: int, base_path: str | None = None, engine: str | None = None,
         workers: int | None = None) -> dict:
    """The trials replayed `workers` at once (default: the cores available; the same rows in
    the same order whatever the number)."""
    from arbbot.config import ConfigError, read_toml, validate_file_dict
    from arbbot.replay.parallel import ReplayPool, default_workers
    recording = read_header(path)               # each trial checks every record as it reads it
    base = {}
    if base_path:
        try:
            base = read_toml(base_path)
        except ConfigError as exc:
            raise ConfigFileError(str(exc)) from None
        try:                                    # refused as `replay --config` refuses it: every trial would be
            validate_file_dict(base)
        except ConfigError as exc:
            raise ConfigFileError(f"{base_path}: {exc}") from None
    rows, jobs = _candidates(params, trials, base)
    if jobs:                                    # (the candidates set tunable keys only: the base's)
        warn_not_replayed("tune", base_path or "defaults", jobs[0][1])
    workers = min(default_workers() if workers is None else workers, max(1, len(jobs)))
    with tempfile.TemporaryDirectory(prefix="arbbot-tune-") as shared:
        cache = Path(shared) / "mappings"       # the twins are matched once: later trials read them back
        with ReplayPool(recording, workers, engine=engine, cache_dir=cache,
                        match=any(s.generate_mappings for _, s, _ in jobs)) as pool, \
                replay_progress(path) as progress:
            done = pool.run([(label, settings) for label, settings, _ in jobs], progress)
    if done:
        warn_cut_short("tune", path, done[-1][1])
    for (_, _, row), (r, _) in zip(jobs, done):
        row.update({"pnl_micros": r["locked_in_micros"] + r["realised_micros"],
                    "locked_in_micros": r["locked_in_micros"], "realised_micros": r["realised_micros"],
                    "max_drawdown_micros": r["max_drawdown_micros"], "executions": r["executions"],
                    "fill_rate": r["fill_rate"]})
    ranked = sorted((row for row in rows if "refused" not in row),
                    key=lambda row: (-row["pnl_micros"], row["max_drawdown_micros"]))
    return {"format": "arbbot.tune/1", "recording": path, "base_config": base_path or "defaults",
            "params": {k: [lo, hi] for k, (lo, hi) in params.items()}, "trials": rows,
            "ranked": [row["values"] for row in ranked], "best": ranked[0] if ranked else None,
            "applied": False}


def _candidates(params: dict, trials: int, base: dict) -> tuple[list[dict], list[tuple]]:
    """The trials' rows in order (a refused candidate's row says why) and the replays to run:
    (progress label, Settings, the row its results go into)."""
    from arbbot.config import ConfigError, validate_file_dict
    rows, jobs = [], []
    chosen = candidates(params, trials)
    for k, values in enumerate(chosen, 1):
        data = base
        for key, value in values.items():
            data = _with(data, key, value)
        try:
            settings = validate_file_dict(data)
        except ConfigError as exc:
            rows.append({"values": values, "refused": str(exc)})
            continue
        rows.append({"values": values})
        jobs.append((f"trial {k}/{len(chosen)}", settings, rows[-1]))
    return rows, jobs


def main(args) -> int:
    try:
        if not 1 <= args.trials <= 200:
            raise TuneError("--trials: expected 1 to 200")
        check_jobs(args.jobs)
        out = tune(args.file, parse_params(args.param), args.trials, args.config, args.engine, args.jobs)
    except (TuneError, RecordingError, ConfigFileError) as exc:
        print(f"arbbot tune: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return 0
    from rich.console import Console
    from rich.table import Table
    table = Table(title=None)
    for key in out["params"]:
        table.add_column(key, justify="right")
    for head in ("PnL $", "max drawdown $", "complete", "fill rate"):
        table.add_column(head, justify="right")
    for row in sorted(out["trials"], key=lambda r: ("refused" in r, -r.get("pnl_micros", 0))):
        cells = [str(row["values"][k]) for k in out["params"]]     # the exact value tried
        if "refused" in row:
            table.add_row(*cells, "refused: " + row["refused"], "", "", "")
        else:
            table.add_row(*cells, f"{row['pnl_micros'] / 1e6:,.2f}", f"{row['max_drawdown_micros'] / 1e6:,.2f}",
                          str(row["executions"].get("complete", 0)),
                          "–" if row["fill_rate"] is None else f"{row['fill_rate']:.1%}")
    console = Console()
    console.print(table)
    console.print("nothing applied: put the chosen values in arbbot.toml, or set them from the dashboard")
    return 0
