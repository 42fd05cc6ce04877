"""Relations files (`arbbot.relations/1`, written by `arbbot rules`) merged into a scan or a run.

`load_rules(path)` reads `{"format": "arbbot.relations/1", "relations": [...]}` and validates
every relation as a snapshot's would be (spec/SNAPSHOT.md: kind, members, `exhaustive`,
`confidence`; a market twice in one relation is an error), raising `RulesFileError`
(`FILE: relations[3].members[1]: ...`). Unknown keys such as `evidence` are kept and ignored.

`merge_rules(rules, known, existing)` keeps what applies to the markets at hand. A rules file
is derived from whole venue listings while a snapshot or a session holds a subset, so a
relation naming a market that is not there is dropped and counted, not an error — except that
a non-exhaustive bucket keeps its known members when at least two remain (a subset of
mutually exclusive markets is still mutually exclusive; an exhaustive one would not stay
exhaustive, so it is dropped). A relation equal to one already present (same kind and markets,
pairs and bucket members in any order) is not added twice, nor a non-exhaustive bucket whose
members already form an exhaustive one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from arbbot.json_depth import bounded_nesting
from arbbot.snapshot import SnapshotError, parse_relations

FORMAT = "arbbot.relations/1"
_PAIRS = ("same", "inverse", "complement", "equivalent")
_UNORDERED = _PAIRS + ("bucket",)


class RulesFileError(ValueError):
    """A malformed relations file; `str()` is `FILE: PATH: problem`."""


@dataclass(frozen=True)
class _Named:
    """What `parse_relations` reads of a market: its `venue:id` name."""
    name: str


def load_rules(path: str | Path) -> list[dict]:
    try:
        text = Path(path).read_text(encoding="utf-8")
        with bounded_nesting():
            obj = json.loads(text)
    except OSError as exc:
        raise RulesFileError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RulesFileError(f"{path}: $: not JSON: {exc}") from None
    except RecursionError:
        raise RulesFileError(f"{path}: $: JSON nested too deeply") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise RulesFileError(f"{path}: format: expected \"{FORMAT}\"")
    raw = obj.get("relations", [])
    if not isinstance(raw, list):
        raise RulesFileError(f"{path}: relations: expected a list")
    names = sorted({n for r in raw if isinstance(r, dict) for n in relation_names(r) if isinstance(n, str)})
    try:
        parse_relations(raw, [_Named(n) for n in names])      # type: ignore[list-item]
    except SnapshotError as exc:
        raise RulesFileError(f"{path}: {exc}") from None
    return raw


def relation_names(r: dict) -> list[Any]:
    """The markets a relation names, in leg order (implies: parent, child); whatever is there,
    unchecked (`parse_relations` checks)."""
    kind = r.get("kind")
    if kind in _PAIRS:
        return [r.get("a"), r.get("b")]
    if kind == "bucket":
        return _items(r.get("members"))
    if kind == "tree":
        return [r.get("parent"), *_items(r.get("children"))]
    if kind == "implies":
        return [r.get("parent"), r.get("child")]
    return []


def _items(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else []


def relation_key(kind: str, names: Iterable[str], exhaustive: bool = False) -> tuple:
    """Identity of a relation for de-duplication (confidence and evidence aside)."""
    names = tuple(names)
    return (kind, tuple(sorted(names)) if kind in _UNORDERED else names, exhaustive if kind == "bucket" else False)


def merge_rules(rules: list[dict], known: set[str], existing: Iterable[tuple]) -> tuple[list[dict], int]:
    """(the rules to add, how many were dropped for naming markets not in `known`).
    `existing`: `relation_key`s of the relations already present (never added again)."""
    seen = set(existing)
    out, dropped = [], 0
    for r in rules:
        names = relation_names(r)
        if not all(n in known for n in names):
            present = [n for n in names if n in known]
            if r["kind"] != "bucket" or r.get("exhaustive", False) or len(present) < 2:
                dropped += 1
                continue
            r = {**r, "members": present}
            names = present
        key = relation_key(r["kind"], names, bool(r.get("exhaustive", False)))
        stronger = relation_key(r["kind"], names, True)     # an exhaustive bucket covers the non-exhaustive one
        if key not in seen and stronger not in seen:
            seen.add(key)
            out.append(r)
    return out, dropped
