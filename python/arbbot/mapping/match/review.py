"""`arbbot map --review FILE`: a person decides on each proposed pair of a mapping CSV.

For each unreviewed row (`approved` blank) the terminal shows the row's markets side by side —
title, outcome, event, close time, strike, resolution source and rules, from the listing files
given with `--kalshi/--polymarket/--forecastex` (a market missing from them still shows its id) —
with the relation, the confidence and the matcher's reasons, then asks for one key:

- `a` approve: `approved` = yes (the bot trades it, `--live` included);
- `r` reject: `approved` = no (never traded);
- `f` flip the relation (same ↔ inverse), saved at once; the row is shown again to decide on.
  The matcher's confidence was for the relation it proposed, not the flipped one: a flipped row
  is saved with its confidence capped at FLIPPED_CONFIDENCE (under the default
  auto_approve_confidence 0.95), so one left unreviewed (a quit, skip, Ctrl-C or crash after the
  flip) is not traded without a person's approval; its reasons say it was flipped. Flipping back
  restores the row as the matcher proposed it;
- `s` skip: left unreviewed; `q` quit (end of input and Ctrl-C quit too).

The file is rewritten after every decision (temporary file + rename: `table.write_mappings`), so
a quit or Ctrl-C loses nothing decided. Columns are kept (`reasons` if present; `approved` added).
Prompts are plain lines read from the input stream given, so a test can drive a session with a
StringIO.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arbbot import units
from arbbot.mapping.listings import Listing
from arbbot.mapping.match import scoring
from arbbot.mapping.table import VENUES, MappingRow, columns_for, load_mappings, write_mappings

RULES_CHARS = 700
KEYS = {"a": "approve", "r": "reject", "f": "flip", "s": "skip", "q": "quit"}
PROMPT = "approve [bold](a)[/] · reject [bold](r)[/] · flip same↔inverse [bold](f)[/] · skip [bold](s)[/] · quit [bold](q)[/] > "
FLIP = {"same": "inverse", "inverse": "same"}
# millionths: a flipped row's highest confidence, the matcher's cap for a pair a person must review
FLIPPED_CONFIDENCE = round(scoring.CAUTION_CAP * 1_000_000)


@dataclasses.dataclass
class ReviewResult:
    decisions: Counter          # approve | reject | flip | skip → count
    unreviewed: int             # rows still blank at the end
    quit: bool                  # stopped before the last unreviewed row


def index_listings(listings: dict[str, list[Listing]]) -> dict[str, dict[str, Listing]]:
    """venue → market id → listing (Polymarket condition ids also under their lower case)."""
    out: dict[str, dict[str, Listing]] = {}
    for venue, items in listings.items():
        by_id = out.setdefault(venue, {})
        for item in items:
            by_id.setdefault(item.market_id, item)
            by_id.setdefault(item.market_id.lower(), item)
    return out


def _strike(item: Listing) -> str:
    if item.floor_strike is None and item.cap_strike is None:
        return ""
    parts = [item.strike_type or "strike"]
    if item.floor_strike is not None:
        parts.append(f"floor {item.floor_strike}")
    if item.cap_strike is not None:
        parts.append(f"cap {item.cap_strike}")
    return " ".join(parts)


def _cell(text: str, limit: int | None = None) -> str:
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "…"
    return escape(text) if text else "[dim]–[/]"


def pair_table(row: MappingRow, listings: dict[str, dict[str, Listing]]) -> Table:
    """The row's markets side by side, one column per venue that lists it."""
    table = Table(show_header=True, header_style="bold", expand=True, show_lines=True)
    table.add_column("", style="bold", no_wrap=True)
    found: list[Listing | None] = []
    for venue, mid in zip(VENUES, row.ids):
        if not mid:
            continue
        table.add_column(venue, ratio=1, overflow="fold")
        by_id = listings.get(venue, {})
        found.append(by_id.get(mid) or by_id.get(mid.lower()))
    ids = [mid for mid in row.ids if mid]
    table.add_row("id", *(escape(mid) for mid in ids))
    if not any(found):
        table.add_row("", *("[yellow]not in the listings given[/]" for _ in ids))
        return table
    fields = [("title", lambda x: _cell(x.title)), ("outcome", lambda x: _cell(x.subtitle)),
              ("event", lambda x: _cell(x.event_title or x.event_id)), ("closes", lambda x: _cell(x.closes_at)),
              ("strike", lambda x: _cell(_strike(x))), ("source", lambda x: _cell(x.resolution_source)),
              ("rules", lambda x: _cell(x.rules, RULES_CHARS))]
    for label, get in fields:
        table.add_row(label, *(get(x) if x is not None else "[yellow]not in the listings given[/]" if label == "title"
                               else "" for x in found))
    return table


def show(console: Console, row: MappingRow, number: int, position: str,
         listings: dict[str, dict[str, Listing]]) -> None:
    console.rule(f"pair {position} · row {number} of the file")
    relation = ("[green]same[/]: YES on one venue is YES on the other" if row.relation == "same" else
                "[magenta]inverse[/]: YES on the first venue is NO on the other")
    console.print(f"relation {relation} · confidence {units.format_decimal(row.confidence, 6)}")
    console.print(pair_table(row, listings))
    reasons = row.reason_list()
    if reasons:
        console.print("reasons:")
        for reason in reasons:
            console.print(f"  • {escape(reason)}")
    else:
        console.print("reasons: [dim]none given[/]")


def _ask(console: Console, stream: TextIO) -> str:
    """One decision key; "q" at end of input."""
    while True:
        console.print(PROMPT, end="")
        line = stream.readline()
        if not line:                              # end of input: quit (decisions so far are saved)
            console.print()
            return "q"
        key = line.strip().lower()[:1]
        if key in KEYS:
            return key
        console.print(f"[yellow]{escape(line.strip())!r}: type one of a, r, f, s, q[/]")


def review(path: str | Path, listings: dict[str, list[Listing]], stream: TextIO, console: Console) -> ReviewResult:
    """Review every unreviewed row of the mapping CSV at `path` (see the module docstring).
    Raises MappingError on a malformed file, OSError if it cannot be rewritten."""
    rows = load_mappings(path)
    columns = columns_for(rows)
    by_id = index_listings(listings)
    pending = [i for i, r in enumerate(rows) if r.approved is None]
    decided: Counter = Counter()
    console.print(f"{path}: {len(pending)} unreviewed of {len(rows)} row(s)")
    for n, i in enumerate(pending, start=1):
        proposed = rows[i]
        while True:
            show(console, rows[i], i + 1, f"{n}/{len(pending)}", by_id)
            key = _ask(console, stream)
            if key == "q":
                return _finish(console, path, rows, decided, quit=True)
            decided[KEYS[key]] += 1
            if key == "s":
                break
            if key == "f":
                rows[i] = flipped(rows[i], proposed)
            else:
                rows[i] = dataclasses.replace(rows[i], approved=key == "a")
            write_mappings(rows, path, columns)
            if key != "f":
                break
    return _finish(console, path, rows, decided, quit=False)


def flipped(row: MappingRow, proposed: MappingRow) -> MappingRow:
    """`row` with its relation flipped: back to `proposed` (the row as the session found it) when
    that restores its relation, else with the confidence capped at FLIPPED_CONFIDENCE and the
    flip noted in its reasons (when the file has a reasons column)."""
    relation = FLIP[row.relation]
    if relation == proposed.relation:
        return dataclasses.replace(proposed, approved=row.approved)
    note = f"relation flipped to {relation} in review (the confidence was for {proposed.relation})"
    reasons = proposed.reasons if proposed.reasons is None else "; ".join([*proposed.reason_list(), note])
    return dataclasses.replace(row, relation=relation, confidence=min(proposed.confidence, FLIPPED_CONFIDENCE),
                               reasons=reasons)


def _finish(console: Console, path, rows: list[MappingRow], decided: Counter, quit: bool) -> ReviewResult:
    left = sum(1 for r in rows if r.approved is None)
    done = ", ".join(f"{decided[k]} {k}" for k in ("approve", "reject", "flip", "skip") if decided[k]) or "no decisions"
    console.print(f"{'stopped' if quit else 'done'}: {done}; {left} row(s) unreviewed; saved in {path}")
    return ReviewResult(decided, left, quit)
