"""`arbbot map`: propose cross-venue twins from saved venue listings.

Reads each venue's saved API bodies (`arbbot.mapping.listings`), runs the matcher and writes
the mapping CSV (`--out FILE`, else stdout) or, with `--json`, prints `arbbot.mappings/1`. A
progress bar goes to stderr when it is a terminal. Exit 0; 2 on an unreadable listing file or
a bad option.

`--review FILE` instead reviews the proposed pairs of a mapping CSV in the terminal
(`arbbot.mapping.match.review`): the listing files are optional then and only show the markets'
details. It needs a terminal on standard input (exit 2 otherwise) and exits 2 on a malformed
mapping file or one it cannot rewrite.
"""
from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_INPUT = 0, 2
DEFAULT_MIN_CONFIDENCE = 0.5   # proposals for review; trading applies its own auto-approve bar


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "map", help="propose cross-venue twins (mapping CSV) from saved venue listings",
        description="Match markets across venues: blocking, fuzzy and embedding similarity, a settlement "
                    "check on dates, thresholds, comparators, outcome sets, sources and team orientation, "
                    "and a calibrated confidence.")
    p.add_argument("--kalshi", nargs="+", default=[], metavar="FILE",
                   help="Kalshi /markets or /events bodies (required unless --review)")
    p.add_argument("--polymarket", nargs="+", default=[], metavar="FILE",
                   help="Polymarket Gamma /markets or /events bodies (required unless --review)")
    p.add_argument("--forecastex", nargs="+", default=[], metavar="FILE",
                   help="ForecastEx contract lists (arbbot.forecastex-contracts/1)")
    p.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE,
                   help=f"drop pairs below this calibrated confidence (default {DEFAULT_MIN_CONFIDENCE})")
    p.add_argument("--out", help="write the mapping CSV here (default: stdout)")
    p.add_argument("--json", action="store_true", help="print arbbot.mappings/1 JSON")
    p.add_argument("--review", metavar="FILE",
                   help="review the unreviewed pairs of this mapping CSV in the terminal: approve (a), reject (r), "
                        "flip same/inverse (f), skip (s), quit (q); each decision is saved in its `approved` "
                        "column at once. The listing files, if given, show the markets' titles, rules and dates.")
    return p


def _review(args: argparse.Namespace, stdin, console) -> int:
    """`--review FILE`: decisions read from `stdin` (default: the terminal's standard input)."""
    from rich.console import Console

    from arbbot.mapping.match.review import review
    from arbbot.mapping.table import MappingError

    if args.json or args.out:
        print("arbbot map: --review edits FILE in place; --json and --out do not apply", file=sys.stderr)
        return EXIT_INPUT
    if stdin is None:
        if not (sys.stdin is not None and sys.stdin.isatty()):
            print("arbbot map --review: standard input is not a terminal; run it in a terminal to type the "
                  "decisions (a/r/f/s/q)", file=sys.stderr)
            return EXIT_INPUT
        stdin = sys.stdin
    listings = _listings(args)
    if listings is None:
        return EXIT_INPUT
    console = console or Console(highlight=False)
    try:
        review(args.review, listings, stdin, console)
    except MappingError as exc:
        print(f"arbbot map --review: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        print(f"arbbot map --review: cannot save {args.review}: {exc}; decisions before this one are saved",
              file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        console.print(f"\nstopped; every decision made is saved in {args.review}")
    return EXIT_OK


def _listings(args: argparse.Namespace) -> dict | None:
    """The listing files of each venue given, read; None (after saying why) when one is malformed."""
    from arbbot.mapping.listings import ListingError, load_listings
    try:
        return {venue: load_listings(venue, files) for venue, files in
                (("kalshi", args.kalshi), ("polymarket", args.polymarket), ("forecastex", args.forecastex)) if files}
    except ListingError as exc:
        print(f"arbbot map: {exc}", file=sys.stderr)
        return None


def _write_out(path: str, text: str) -> None:
    """`text` to `path` whole or not at all (`files.write_atomic`)."""
    from arbbot.files import write_atomic
    write_atomic(path, text.encode("utf-8"))


def main(args: argparse.Namespace, stdin=None, console=None) -> int:
    """`stdin`, `console`: where `--review` reads decisions and shows pairs (tests pass a StringIO
    and a recording console); the matcher ignores them."""
    if args.review:
        return _review(args, stdin, console)
    if not (args.kalshi and args.polymarket):
        print("arbbot map: --kalshi and --polymarket are required (unless --review)", file=sys.stderr)
        return EXIT_INPUT
    # imported here: `arbbot --help` and the other commands do not pay for the matcher's imports
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arbbot.mapping.match import output
    from arbbot.mapping.match.matcher import match

    if not 0.0 <= args.min_confidence <= 1.0:
        print(f"arbbot map: --min-confidence {args.min_confidence} is outside [0, 1]", file=sys.stderr)
        return EXIT_INPUT
    if args.out:                         # checked before the matching (minutes on a full catalog), not after
        from arbbot.argcheck import unwritable
        problem = unwritable(args.out)
        if problem:
            print(f"arbbot map: --out {args.out}: {problem}", file=sys.stderr)
            return EXIT_INPUT
    listings = _listings(args)
    if listings is None:
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
        try:
            _write_out(args.out, text)
        except OSError as exc:
            print(f"arbbot map: cannot write --out {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INPUT
    if args.json:
        print(output.to_json(pairs))
    elif not args.out:
        sys.stdout.write(text)
    return EXIT_OK
