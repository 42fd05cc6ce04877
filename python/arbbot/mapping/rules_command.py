"""`arbbot rules`: read saved venue listings, print (and write) the relations their metadata implies.

Exit status 0 on success, 2 when a listing file is unreadable or malformed (the message names
the file and the JSON path) or when no listing file is given.
"""
from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_INPUT = 0, 2


def add_parser(sub) -> None:
    p = sub.add_parser("rules", help="derive relations (buckets, ladders, complements) from saved venue listings",
                       description="Read saved venue API bodies (Kalshi GET /markets and /events, Polymarket Gamma "
                                   "/markets and /events, ForecastEx contract lists in arbbot.forecastex-contracts/1) "
                                   "and derive relations from their metadata alone, each with confidence and evidence. "
                                   "Output: arbbot.relations/1, for `arbbot scan --rules` and `arbbot run --rules`.")
    p.add_argument("--kalshi", nargs="+", default=[], metavar="F", help="Kalshi /markets or /events bodies")
    p.add_argument("--polymarket", nargs="+", default=[], metavar="F",
                   help="Polymarket Gamma /markets or /events bodies")
    p.add_argument("--forecastex", nargs="+", default=[], metavar="F",
                   help="ForecastEx contract lists (arbbot.forecastex-contracts/1)")
    p.add_argument("--out", metavar="FILE", help="write the arbbot.relations/1 JSON to FILE")
    p.add_argument("--json", action="store_true", help="print the arbbot.relations/1 JSON instead of a table")


def main(args: argparse.Namespace) -> int:
    from arbbot.mapping.listings import Listing, ListingError, load_listings
    from arbbot.mapping.rules import relations_document

    if not (args.kalshi or args.polymarket or args.forecastex):
        print("arbbot rules: give at least one of --kalshi, --polymarket, --forecastex", file=sys.stderr)
        return EXIT_INPUT
    listings: list[Listing] = []
    try:
        for venue in ("kalshi", "polymarket", "forecastex"):
            listings += load_listings(venue, getattr(args, venue))
    except ListingError as exc:
        print(f"arbbot rules: {exc}", file=sys.stderr)
        return EXIT_INPUT
    doc = relations_document(listings)
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            print(f"arbbot rules: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INPUT
    if args.json:
        sys.stdout.write(text)
    else:
        _print_table(doc["relations"], len(listings))
    return EXIT_OK


def _print_table(relations: list[dict], listed: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(relations)} relations from {listed} listed markets")
    for column in ("kind", "markets", "exhaustive", "confidence", "evidence"):
        table.add_column(column, overflow="fold")
    for r in relations:
        if r["kind"] == "bucket":
            markets = "\n".join(r["members"])
        elif r["kind"] == "implies":
            markets = f"{r['child']}\n⇒ {r['parent']}"
        else:
            markets = f"{r['a']}\n{r['b']}"
        exhaustive = ("yes" if r["exhaustive"] else "no") if r["kind"] == "bucket" else ""
        ev = r["evidence"]
        table.add_row(r["kind"], markets, exhaustive, r["confidence"], f"{ev['rule']} ({ev['event']}): {ev['detail']}")
    Console().print(table)
