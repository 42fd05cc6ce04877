"""`arbbot map`: propose cross-venue twins from saved venue listings.

Reads each venue's saved API bodies (`arbbot.mapping.listings`), runs the matcher and writes
the mapping CSV (`--out FILE`, else stdout) or, with `--json`, prints `arbbot.mappings/1`. A
progress bar goes to stderr when it is a terminal. Exit 0; 2 on an unreadable listing file or
a bad option.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INPUT = 0, 2
DEFAULT_MIN_CONFIDENCE = 0.5   # proposals for review; trading applies its own auto-approve bar


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "map", help="propose cross-venue twins (mapping CSV) from saved venue listings",
        description="Match markets across venues: blocking, fuzzy and embedding similarity, a settlement "
                    "check on dates, thresholds, comparators, outcome sets, sources and team orientation, "
                    "and a calibrated confidence.")
    p.add_argument("--kalshi", nargs="+", required=True, metavar="FILE", help="Kalshi /markets or /events bodies")
    p.add_argument("--polymarket", nargs="+", required=True, metavar="FILE", help="Polymarket Gamma /markets or /events bodies")
    p.add_argument("--forecastex", nargs="+", default=[], metavar="FILE",
                   help="ForecastEx contract lists (arbbot.forecastex-contracts/1)")
    p.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE,
                   help=f"drop pairs below this calibrated confidence (default {DEFAULT_MIN_CONFIDENCE})")
    p.add_argument("--out", help="write the mapping CSV here (default: stdout)")
    p.add_argument("--json", action="store_true", help="print arbbot.mappings/1 JSON")
    return p


def main(args: argparse.Namespace) -> int:
    # imported here: `arbbot --help` and the other commands do not pay for the matcher's imports
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arbbot.mapping.listings import ListingError, load_listings
    from arbbot.mapping.match import output
    from arbbot.mapping.match.matcher import match

    if not 0.0 <= args.min_confidence <= 1.0:
        print(f"arbbot map: --min-confidence {args.min_confidence} is outside [0, 1]", file=sys.stderr)
        return EXIT_INPUT
    try:
        listings = {venue: load_listings(venue, files) for venue, files in
                    (("kalshi", args.kalshi), ("polymarket", args.polymarket), ("forecastex", args.forecastex)) if files}
    except ListingError as exc:
        print(f"arbbot map: {exc}", file=sys.stderr)
        return EXIT_INPUT
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"matching {stage}", total=total)
            bar.update(tasks[stage], completed=done)

        pairs = match(listings, args.min_confidence, progress)
    text = output.to_csv(pairs)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    if args.json:
        print(output.to_json(pairs))
    elif not args.out:
        sys.stdout.write(text)
    return EXIT_OK
