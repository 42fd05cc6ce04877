"""Cross-venue mapping files: which markets on different venues are the same question.

CSV with the header `kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence`,
optionally followed by `reasons` (what `arbbot map` writes: the matcher's reasons joined with
"; ") and `approved` (a person's review, `arbbot map --review`: `yes`, `no` or blank =
unreviewed), in either order. One row per question, an empty cell where a venue does not list
it. Each venue's cell holds the market id the session names it by: the Kalshi ticker, the
Polymarket conditionId, and — despite the column's name, kept for existing files — the ForecastEx
market id `SYMBOL-YYYYMMDD-STRIKE` (e.g. `FF-20261209-4.125`), never IB's numeric conId (refused,
naming the line). A cell may repeat its own column's venue as a prefix (`kalshi:KXFED-26DEC`): the
prefix is stripped; another venue's prefix is refused. `relation` is how the other venues
relate to the row's first non-empty market (`same` or `inverse`): the other markets of an
`inverse` row are inverse to the first and so `same` to each other. `confidence` a decimal in
[0, 1] (the chance the legs really hedge: settlement rules differ across venues). A pair of
markets is mapped once in a file: a second row naming both (same relation or not) is an error
naming both lines. Rows that contradict each other through other markets (K~P same, P~F same,
K~F inverse: a YES parity cycle that does not close) are an error naming every line of the
cycle (`ParityForest`).

Which rows a session trades (`trade_selection`): approved rows; unreviewed rows at confidence ≥
`auto_approve_confidence` unless only approved rows may trade (`--live`); rejected rows never.
"""
from __future__ import annotations

import csv
import os
import tempfile
from collections import Counter
from collections import deque
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Iterable

from arbbot import logs, units

log = logs.get("mapping")

HEADER = ["kalshi_ticker", "polymarket_condition_id", "forecastex_conid", "relation", "confidence"]
OPTIONAL = ("reasons", "approved")          # optional trailing columns, in either order
VENUES = ("kalshi", "polymarket", "forecastex")
RELATIONS = ("same", "inverse")
APPROVAL = {"yes": True, "no": False, "": None}
DEFAULT_AUTO_APPROVE = 950_000              # millionths; config `auto_approve_confidence`


class MappingError(ValueError):
    """A malformed mapping file; the message names the line."""


@dataclass(frozen=True)
class MappingRow:
    ids: tuple[str, str, str]        # per VENUES, "" where absent
    relation: str
    confidence: int                  # millionths
    approved: bool | None = None     # a person's review: True yes, False no, None unreviewed
    reasons: str | None = None       # the matcher's reasons ("; "-joined); None: the file has no such column
    line: int | None = field(default=None, compare=False)    # the file line it was read from (None: generated)

    def names(self) -> list[str]:
        """The `venue:id` names of the listed markets, in VENUES order."""
        return [f"{venue}:{mid}" for venue, mid in zip(VENUES, self.ids) if mid]

    def reason_list(self) -> list[str]:
        return [r.strip() for r in (self.reasons or "").split(";") if r.strip()]


def approval_text(approved: bool | None) -> str:
    return "" if approved is None else ("yes" if approved else "no")


def load_mappings(path: str | Path) -> list[MappingRow]:
    """The rows of a mapping CSV (a UTF-8 byte-order mark is allowed; a quoted cell may hold
    line breaks, form feeds, …: the csv module reads the file's records, not its text lines)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return parse_mappings(handle, str(path))
    except OSError as exc:
        raise MappingError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise MappingError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _check_header(header: list[str] | None, source: str) -> list[str]:
    wanted = f"{','.join(HEADER)} (then optionally {' and '.join(OPTIONAL)})"
    if header is None or [h.strip() for h in header[:len(HEADER)]] != HEADER:
        raise MappingError(f"{source}:1: header must be {wanted}")
    extra = [h.strip() for h in header[len(HEADER):]]
    for name in extra:
        if name not in OPTIONAL:
            raise MappingError(f"{source}:1: unknown column {name!r}; header must be {wanted}")
    if len(set(extra)) != len(extra):
        raise MappingError(f"{source}:1: a column is repeated; header must be {wanted}")
    return [*HEADER, *extra]


def parse_mappings(lines: Iterable[str], source: str) -> list[MappingRow]:
    """`lines`: the file's text lines (a list, or the file opened with newline=""). Errors name
    the line a record starts on (a quoted cell may span lines); text the csv module cannot read
    (a cell past its size limit, e.g. after a quote never closed) names the line it stopped on."""
    reader = csv.reader(lines)
    try:
        return _rows(reader, source)
    except csv.Error as exc:
        raise MappingError(f"{source}:{reader.line_num}: not readable as CSV: {exc}") from None


def _rows(reader, source: str) -> list[MappingRow]:
    columns = _check_header(next(reader, None), source)
    has_reasons = "reasons" in columns
    rows = []
    mapped: dict[frozenset[str], int] = {}       # each pair of markets named so far → its line
    forest = ParityForest()                      # YES parities the rows so far assert, labelled by line
    end = reader.line_num                        # the last line read (the header's)
    for cells in reader:
        number, end = end + 1, reader.line_num   # the record's first line, and its last
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            raise MappingError(f"{source}:{number}: expected {len(columns)} columns, got {len(cells)}")
        by_name = dict(zip(columns, cells))
        ids = tuple(_market_cell(venue, cell.strip(), source, number) for venue, cell in zip(VENUES, cells[:3]))
        relation = cells[3].strip()
        if relation not in RELATIONS:
            raise MappingError(f"{source}:{number}: relation {relation!r} must be one of {', '.join(RELATIONS)}")
        if sum(1 for i in ids if i) < 2:
            raise MappingError(f"{source}:{number}: a mapping needs markets on at least two venues")
        try:
            confidence = units.parse_unit_interval(cells[4].strip(), "confidence")
        except units.UnitError as exc:
            raise MappingError(f"{source}:{number}: {exc}") from None
        approval = by_name.get("approved", "").strip().lower()
        if approval not in APPROVAL:
            raise MappingError(f"{source}:{number}: approved {by_name['approved']!r} must be yes, no or blank")
        row = MappingRow(ids, relation, confidence, APPROVAL[approval],   # type: ignore[arg-type]
                         by_name["reasons"].strip() if has_reasons else None, number)
        # two rows on one pair would reach the engine as two relations (a contradictory one
        # turns the hedge into a naked bet, a duplicate doubles the exposure): never guess which
        for a, b in combinations(row.names(), 2):
            if frozenset((a, b)) in mapped:
                raise MappingError(f"{source}:{number}: {a} and {b} are already mapped on line "
                                   f"{mapped[frozenset((a, b))]}; map a pair of markets once")
            mapped[frozenset((a, b))] = number
        # rows on different pairs may still contradict through a third market (K~P same,
        # P~F same, K~F inverse): the engine would trade a cycle whose parities disagree as a hedge
        first = row.names()[0]
        for other in row.names()[1:]:
            cycle = forest.add(first, other, ROW_PARITY[row.relation], number)
            if cycle is not None:
                others = ", ".join(str(n) for n in sorted(set(cycle) - {number}))
                raise MappingError(f"{source}:{number}: contradicts line(s) {others}: together they make "
                                   f"{first} and {other} both the same (YES ≡ YES) and inverse (YES ≡ NO); "
                                   "fix or remove one of these rows")
        rows.append(row)
    return rows


def _market_cell(venue: str, cell: str, source: str, number: int) -> str:
    """A row's market id for `venue`'s column: a `venue:` prefix repeating the column's venue is
    stripped; another venue's prefix, or a numeric IB conId in the ForecastEx column, is refused."""
    prefix, colon, rest = cell.partition(":")
    if colon and prefix.strip().lower() in VENUES:
        if prefix.strip().lower() != venue:
            raise MappingError(f"{source}:{number}: {cell!r} names a {prefix.strip().lower()} market in the "
                               f"{venue} column")
        cell = rest.strip()
    if venue == "forecastex" and cell.isdigit():
        raise MappingError(f"{source}:{number}: forecastex_conid {cell!r} looks like an IB conId; the column "
                           "takes the ForecastEx market id SYMBOL-YYYYMMDD-STRIKE (e.g. FF-20261209-4.125)")
    return cell


def relations_for(rows: list[MappingRow], known: set[str]) -> list[dict]:
    """Snapshot-style relation objects for every pair of a row's markets that were discovered.
    A row's relation is to its first market: a pair without it is `same` (both inverse to it, or
    both the same as it). Rows naming undiscovered markets lose those pairs, counted in a warning."""
    out = []
    undiscovered = 0
    for row in rows:
        names = row.names()
        present = [name for name in names if name in known]
        if len(present) < len(names):
            undiscovered += 1
            log.warning("mappings.undiscovered_row", line=row.line,
                        markets=[name for name in names if name not in known],
                        pairs_left=len(present) * (len(present) - 1) // 2)
        for a, b in combinations(present, 2):
            out.append({"kind": row.relation if names[0] in (a, b) else "same", "a": a, "b": b,
                        "confidence": units.format_decimal(row.confidence, 6)})
    if undiscovered:
        log.warning("mappings.undiscovered", rows=undiscovered,
                    detail="mapping rows name markets not discovered; their pairs with those markets are left out")
    return out


def undiscovered_rows(rows: list[MappingRow], known: set[str]) -> list[tuple[MappingRow, list[str]]]:
    """Each row naming a market not in `known`, with the markets it names that are not."""
    out = []
    for row in rows:
        missing = [name for name in row.names() if name not in known]
        if missing:
            out.append((row, missing))
    return out


# ---- YES parity: which relations say YES a ≡ YES b (even) or YES a ≡ NO b (odd) -------------------

PARITY = {"same": 0, "equivalent": 0, "inverse": 1, "complement": 1}     # spec/ARBITRAGE.md lanes 2 and 4
ROW_PARITY = {"same": 0, "inverse": 1}


def relation_parity(relation: dict) -> tuple[str, str, int] | None:
    """(a, b, parity) of a relation that fixes how two markets' YES relate — `same`/`equivalent`
    (YES a ≡ YES b: 0), `inverse`/`complement` (YES a ≡ NO b: 1), an exhaustive bucket of two
    (exactly one YES: 1); None for any other relation."""
    kind = relation.get("kind")
    if kind in PARITY:
        return relation["a"], relation["b"], PARITY[kind]
    members = relation.get("members")
    if kind == "bucket" and relation.get("exhaustive") and isinstance(members, list) and len(members) == 2:
        return members[0], members[1], 1
    return None


class ParityForest:
    """Union-find over markets with a parity bit (YES of a market ≡ YES (0) or NO (1) of its
    root). `add(a, b, parity, label)` records one asserted relation; it returns None when that
    agrees with what is known (or is new), else the labels of the relations forming the cycle
    that disagrees (the path from a to b already recorded, then `label`)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.parity: dict[str, int] = {}              # parity to the parent
        self.tree: dict[str, list[tuple[str, object]]] = {}   # the unions made: node → (neighbour, label)

    def find(self, x: str) -> tuple[str, int]:
        if x not in self.parent:
            self.parent[x], self.parity[x] = x, 0
            return x, 0
        path = []
        while self.parent[x] != x:
            path.append(x)
            x = self.parent[x]
        root, acc = x, 0
        for node in reversed(path):                   # path compression, parities to the root
            acc ^= self.parity[node]
            self.parent[node], self.parity[node] = root, acc
        return root, (self.parity[path[0]] if path else 0)

    def add(self, a: str, b: str, parity: int, label: object) -> list | None:
        ra, pa = self.find(a)
        rb, pb = self.find(b)
        if ra != rb:
            self.parent[ra], self.parity[ra] = rb, pa ^ pb ^ parity
            self.tree.setdefault(a, []).append((b, label))
            self.tree.setdefault(b, []).append((a, label))
            return None
        if pa ^ pb == parity:
            return None
        return [*self._path(a, b), label]

    def _path(self, a: str, b: str) -> list:
        """The labels on the recorded unions from `a` to `b` (connected)."""
        back: dict[str, tuple[str, object] | None] = {a: None}
        todo = deque([a])
        while todo:
            x = todo.popleft()
            if x == b:
                break
            for y, label in self.tree.get(x, ()):
                if y not in back:
                    back[y] = (x, label)
                    todo.append(y)
        labels = []
        while back.get(b) is not None:
            b, label = back[b]          # type: ignore[misc]
            labels.append(label)
        return labels[::-1]


def contradicting_components(edges: list[tuple[str, str, int]]) -> list[list[int]]:
    """The connected components (as indices into `edges`, each (a, b, parity)) containing a
    cycle whose parities disagree; the others are consistent."""
    forest = ParityForest()
    bad = set()
    for i, (a, b, parity) in enumerate(edges):
        if forest.add(a, b, parity, i) is not None:
            bad.add(a)
    bad_roots = {forest.find(x)[0] for x in bad}
    groups: dict[str, list[int]] = {}
    for i, (a, _, _) in enumerate(edges):
        root = forest.find(a)[0]
        if root in bad_roots:
            groups.setdefault(root, []).append(i)
    return list(groups.values())


@dataclass
class TradeSelection:
    """The rows a session trades and, by reason, how many it leaves out."""
    rows: list[MappingRow]
    left_out: Counter = field(default_factory=Counter)   # rejected | unreviewed_live | below_auto_approve

    def describe(self, auto_approve: int) -> str:
        """`3 rejected, 2 unreviewed below auto_approve_confidence 0.95` ("" when none left out)."""
        words = {"rejected": "rejected (approved=no)",
                 "unreviewed_live": "unreviewed (--live trades approved rows only)",
                 "below_auto_approve": "unreviewed below auto_approve_confidence "
                                       f"{units.format_decimal(auto_approve, 6)}"}
        return ", ".join(f"{self.left_out[k]} {words[k]}" for k in words if self.left_out[k])


def trade_selection(rows: list[MappingRow], *, auto_approve: int = DEFAULT_AUTO_APPROVE,
                    approved_only: bool = False) -> TradeSelection:
    """Which rows to trade: approved ones always, unreviewed ones at confidence ≥ `auto_approve`
    (millionths) unless `approved_only` (`--live`), rejected ones never."""
    out = TradeSelection([])
    for row in rows:
        if row.approved is True:
            out.rows.append(row)
        elif row.approved is False:
            out.left_out["rejected"] += 1
        elif approved_only:
            out.left_out["unreviewed_live"] += 1
        elif row.confidence < auto_approve:
            out.left_out["below_auto_approve"] += 1
        else:
            out.rows.append(row)
    return out


def columns_for(rows: list[MappingRow]) -> list[str]:
    """The columns to write: HEADER, `reasons` if any row has them, and `approved`."""
    return [*HEADER, *(["reasons"] if any(r.reasons is not None for r in rows) else []), "approved"]


def write_mappings(rows: list[MappingRow], path: str | Path, columns: list[str] | None = None) -> None:
    """Write the rows atomically (a temporary file in the same directory, fsynced, then renamed
    over `path`): a reader or a crash sees the old file or the new one, never half of one.
    `columns`: HEADER plus any of OPTIONAL (default `columns_for(rows)`)."""
    columns = columns or columns_for(rows)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                cells = {"relation": row.relation, "confidence": units.format_decimal(row.confidence, 6),
                         "reasons": row.reasons or "", "approved": approval_text(row.approved),
                         **dict(zip(HEADER, row.ids))}
                writer.writerow([cells[c] for c in columns])
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:                                       # mkstemp's 0600 → what open() would have made
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
