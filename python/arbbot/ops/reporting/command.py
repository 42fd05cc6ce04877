"""`arbbot report --db D [--since YYYY-MM-DD] [--json | --html FILE]`.

Exit status 0 on success, 2 on bad input: a missing or unusable store (never created, opened
read-only), a malformed `--since`, an unwritable `--html` file. The `--html` file is owner-only (0600).
"""
from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from datetime import datetime, timezone

EXIT_OK, EXIT_INPUT = 0, 2


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="PnL per day / lane / venue, fill quality, drift and latency of an order store",
        description="Read an order store (SQLite, opened read-only: safe while a bot trades on it) and report daily "
                    "PnL (locked-in, realised, fees) per lane and venue, fill quality (fill rate and slippage of entry "
                    "orders vs the planned legs), expected vs realised PnL per lane (drift) and order latency "
                    "percentiles. Totals use the run summary's definitions: locked-in = payout of the lots held on "
                    "every leg of complete executions + their cash flow; realised = cash flow of unwound executions; "
                    "fees = the recorded fills' fees (µ$ integers in JSON). Exit status 2 on bad input.",
        epilog="Examples: arbbot report --db arbbot.db;  arbbot report --db arbbot.db --since 2026-11-01 --json;  "
               "arbbot report --db arbbot.db --html report.html")
    p.add_argument("--db", help="order store to read (config: db_path); never created or written")
    p.add_argument("--since", metavar="YYYY-MM-DD",
                   help="only what happened on or after this UTC day (executions by the time they ended, fees by "
                        "the time their fill was recorded, orders by the time they were written)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one line of arbbot.report/1 JSON instead of tables")
    out.add_argument("--html", metavar="FILE", help="write ONE self-contained HTML file (inline CSS and SVG charts: "
                                                    "cumulative PnL, expected vs realised per lane; no external URLs)")


def parse_since(text: str) -> int:
    """'YYYY-MM-DD' (UTC midnight) → ms since the epoch; ValueError with a readable message."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"--since {text!r} is not a date: expected YYYY-MM-DD (UTC), e.g. 2026-11-28") from None
    return int(day.timestamp() * 1000)


LONG_BYTES = 64 * 1024 * 1024        # a store this large takes seconds to read: show a spinner


def _progress(path: str):
    """A spinner on stderr while a large store is read (terminal only; nothing otherwise)."""
    import contextlib
    import os
    try:
        large = os.path.getsize(path) >= LONG_BYTES
    except OSError:
        large = False
    if not (large and sys.stderr.isatty()):
        return contextlib.nullcontext()
    from rich.console import Console
    return Console(stderr=True).status(f"reading {path} …")


def _private_file(path: str):
    """`path` opened for writing (created, or emptied) owner-only: the report holds the account's PnL,
    positions and executions. A new file is created 0600 whatever the umask; an existing regular
    file is made 0600 before anything is written to it (a special file, e.g. /dev/stdout, keeps
    its mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def main(args: argparse.Namespace) -> int:
    from arbbot.config import ConfigError, load_settings, usd
    from arbbot.ops.reporting.build import build_report
    from arbbot.ops.reporting.load import StoreError, read_store

    try:
        since_ms = parse_since(args.since) if args.since is not None else None
    except ValueError as exc:
        print(f"arbbot report: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.html is not None and not args.html.strip():
        print("arbbot report: --html: expected a file name", file=sys.stderr)
        return EXIT_INPUT
    gap, path = None, args.db
    try:
        settings = load_settings()
        gap, path = usd(settings.drift_max_gap_usd), args.db or settings.db_path
    except ConfigError as exc:
        if not args.db:
            print(f"arbbot report: {exc}", file=sys.stderr)
            return EXIT_INPUT
    try:
        with _progress(path):
            data = read_store(path)
            report = build_report(data, since_ms, drift_gap_micros=gap)
    except StoreError as exc:
        print(f"arbbot report: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        # a value no arbbot writes (text in a quantity, a time out of range): a damaged store
        print(f"arbbot report: {path}: a damaged order store (a value no arbbot writes: {type(exc).__name__}: "
              f"{exc})", file=sys.stderr)
        return EXIT_INPUT
    if args.json:
        print(json.dumps(report, separators=(",", ":")))
    elif args.html is not None:
        from arbbot.ops.reporting.html import render_html
        try:
            with _private_file(args.html) as fh:
                fh.write(render_html(report))
        except OSError as exc:
            print(f"arbbot report: cannot write {args.html}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INPUT
        print(f"wrote {args.html}", file=sys.stderr)
    else:
        from arbbot.ops.reporting.tables import render
        render(report)
    return EXIT_OK
