"""The five lanes as static leg sets (spec "The five lanes").

Generated once per universe: intra for every market in order, then each relation in order with
its leg sets in table order. A leg set whose (market, side) pairs were already generated is
skipped, so the same trade is sized and reported once, under the first relation implying it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from arbbot.engine.types import Kind, Lane, RelationKind, Side, Universe

YES, NO = Side.YES, Side.NO


@dataclass(frozen=True, slots=True)
class Candidate:
    lane: Lane
    kind: Kind
    payout: int                          # P: dollars per contract in every outcome
    legs: tuple[tuple[int, Side], ...]   # (market index, side) in leg order
    id: int                              # first 8 bytes of SHA-256, big-endian

    @property
    def id_hex(self) -> str:
        return f"{self.id:016x}"


def candidate_id(names: list[str], legs) -> int:
    """SHA-256 over the legs' `market#side` strings sorted by UTF-8 bytes, joined by commas."""
    parts = sorted(f"{names[m]}#{side.label}".encode() for m, side in legs)
    return int.from_bytes(hashlib.sha256(b",".join(parts)).digest()[:8], "big")


def _relation_leg_sets(kind: RelationKind, members: tuple[int, ...], exhaustive: bool):
    """(lane, kind, payout, legs) for one relation, in the spec's table order."""
    if kind in (RelationKind.SAME, RelationKind.EQUIVALENT, RelationKind.INVERSE, RelationKind.COMPLEMENT):
        lane = Lane.CROSS if kind in (RelationKind.SAME, RelationKind.INVERSE) else Lane.PARITY
        a, b = members
        if kind in (RelationKind.SAME, RelationKind.EQUIVALENT):
            yield lane, Kind.YES_A_NO_B, 1, ((a, YES), (b, NO))
            yield lane, Kind.NO_A_YES_B, 1, ((a, NO), (b, YES))
        else:   # YES a ≡ NO b, or exactly one of a, b is YES
            yield lane, Kind.YES_A_YES_B, 1, ((a, YES), (b, YES))
            yield lane, Kind.NO_A_NO_B, 1, ((a, NO), (b, NO))
    elif kind is RelationKind.BUCKET:
        yield Lane.BUCKET, Kind.ALL_NO, len(members) - 1, tuple((m, NO) for m in members)
        if exhaustive:   # never assume exhaustive: an augmented group has an implicit "Other"
            yield Lane.BUCKET, Kind.ALL_YES, 1, tuple((m, YES) for m in members)
    elif kind is RelationKind.TREE:
        parent, children = members[0], members[1:]
        yield Lane.TREE, Kind.PARENT_NO_CHILDREN_YES, 1, ((parent, NO),) + tuple((c, YES) for c in children)
        yield Lane.TREE, Kind.PARENT_YES_CHILDREN_NO, len(children), ((parent, YES),) + tuple((c, NO) for c in children)
    else:   # IMPLIES: child true ⇒ parent true; members = (parent, child)
        parent, child = members
        yield Lane.TREE, Kind.PARENT_YES_CHILD_NO, 1, ((parent, YES), (child, NO))


def build_candidates(universe: Universe) -> list[Candidate]:
    names = [m.name for m in universe.markets]
    seen: set[frozenset] = set()
    out: list[Candidate] = []

    def add(lane, kind, payout, legs):
        key = frozenset(legs)
        if key not in seen:
            seen.add(key)
            out.append(Candidate(lane, kind, payout, legs, candidate_id(names, legs)))

    for m in range(len(universe.markets)):
        add(Lane.INTRA, Kind.YES_NO, 1, ((m, YES), (m, NO)))
    for relation in universe.relations:
        for leg_set in _relation_leg_sets(relation.kind, relation.members, relation.exhaustive):
            add(*leg_set)
    return out
