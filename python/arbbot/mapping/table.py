"""Cross-venue mapping files: which markets on different venues are the same question.

CSV with the header `kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence`;
one row per question, an empty cell where a venue does not list it. `relation` is how the
other venues relate to the row's first non-empty market (`same` or `inverse`); `confidence` a
decimal in [0, 1] (the chance the legs really hedge: settlement rules differ across venues).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from itertools import combinations
from pathlib import Path

from arbbot import units

HEADER = ["kalshi_ticker", "polymarket_condition_id", "forecastex_conid", "relation", "confidence"]
VENUES = ("kalshi", "polymarket", "forecastex")
RELATIONS = ("same", "inverse")


class MappingError(ValueError):
    """A malformed mapping file; the message names the line."""


@dataclass(frozen=True)
class MappingRow:
    ids: tuple[str, str, str]        # per VENUES, "" where absent
    relation: str
    confidence: int                  # millionths

    def names(self) -> list[str]:
        """The `venue:id` names of the listed markets, in VENUES order."""
        return [f"{venue}:{mid}" for venue, mid in zip(VENUES, self.ids) if mid]


def load_mappings(path: str | Path) -> list[MappingRow]:
    with open(path, newline="", encoding="utf-8") as handle:
        return parse_mappings(handle.read().splitlines(), str(path))


def default_mappings() -> list[MappingRow]:
    """The mappings shipped for the simulator's default scenario (`all`, seed 0)."""
    text = resources.files("arbbot.mapping").joinpath("default.csv").read_text(encoding="utf-8")
    return parse_mappings(text.splitlines(), "default.csv")


def parse_mappings(lines: list[str], source: str) -> list[MappingRow]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header != HEADER:
        raise MappingError(f"{source}:1: header must be {','.join(HEADER)}")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(HEADER):
            raise MappingError(f"{source}:{number}: expected {len(HEADER)} columns, got {len(cells)}")
        ids = tuple(c.strip() for c in cells[:3])
        relation = cells[3].strip()
        if relation not in RELATIONS:
            raise MappingError(f"{source}:{number}: relation {relation!r} must be one of {', '.join(RELATIONS)}")
        if sum(1 for i in ids if i) < 2:
            raise MappingError(f"{source}:{number}: a mapping needs markets on at least two venues")
        try:
            confidence = units.parse_unit_interval(cells[4].strip(), "confidence")
        except units.UnitError as exc:
            raise MappingError(f"{source}:{number}: {exc}") from None
        rows.append(MappingRow(ids, relation, confidence))   # type: ignore[arg-type]
    return rows


def relations_for(rows: list[MappingRow], known: set[str]) -> list[dict]:
    """Snapshot-style relation objects for every pair of listed markets that were discovered."""
    out = []
    for row in rows:
        present = [name for name in row.names() if name in known]
        for a, b in combinations(present, 2):
            out.append({"kind": row.relation, "a": a, "b": b,
                        "confidence": units.format_decimal(row.confidence, 6)})
    return out


def write_mappings(rows: list[MappingRow], path: str | Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow([*row.ids, row.relation, units.format_decimal(row.confidence, 6)])
