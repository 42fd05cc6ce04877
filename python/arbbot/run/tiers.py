"""Subscription tiers: which markets a session streams and which it polls on a slow schedule.

- **Streamed** (tier 1): with `by_interest`, every market some relation names and every market of
  a venue where one market alone can hold an arb (`INTRA_VENUES`: Polymarket's YES and NO token
  books stream separately, so lane 1 can fire there); without it, every market. In subscription
  order: the members of bucket groups by the bucket selector's Thompson priority first (so the
  groups that paid get their snapshots first), then the other related markets, then the rest.
- **Capped:** a venue with a subscription limit (`caps`, markets; IB's market data lines: two per
  ForecastEx market) streams the first `cap` markets of that order; the rest are polled.
- **Polled** (tier 2): the others, each read over REST (an IB snapshot) every `slow_poll_s` within
  the venue's read budget; a polled book is healthy while its last read is within twice that.
- **Promotion:** a polled market that a new relation names (generated twins, a listing refresh)
  is added to its venue's running stream, within the venue's cap.
"""
from __future__ import annotations

from dataclasses import dataclass, field

INTRA_VENUES = frozenset({"polymarket"})


@dataclass
class Tiers:
    streamed: dict[str, list[str]] = field(default_factory=dict)   # venue → market ids, subscription order
    polled: dict[str, list[str]] = field(default_factory=dict)     # venue → market ids, polling order

    def counts(self) -> dict[str, dict[str, int]]:
        venues = sorted(set(self.streamed) | set(self.polled))
        return {v: {"streamed": len(self.streamed.get(v, ())), "polled": len(self.polled.get(v, ()))} for v in venues}


def interesting(names: list[str], relation_members: list[list[str]]) -> set[str]:
    """Markets (`venue:id`) that can take part in an opportunity: named by a relation, or on an
    intra venue."""
    out = {m for members in relation_members for m in members}
    out.update(n for n in names if n.split(":", 1)[0] in INTRA_VENUES)
    return out


def plan(names: list[str], relation_members: list[list[str]], *, by_interest: bool,
         bucket_order: list[list[str]] = (), caps: dict[str, int] | None = None) -> Tiers:
    """The tiers of markets `names` (`venue:id`, discovery order) given the relations' members
    (`relation_members`, one list per relation) and `bucket_order` (bucket groups' members,
    highest priority first)."""
    related = {m for members in relation_members for m in members}
    wanted = interesting(names, relation_members) if by_interest else set(names)
    rank: dict[str, int] = {}
    for members in bucket_order:
        for m in members:
            rank.setdefault(m, len(rank))
    first, last = len(rank), len(rank) + 1
    # stable: discovery order within a rank
    order = sorted(names, key=lambda n: rank.get(n, first if n in related else last))
    tiers = Tiers()
    caps = caps or {}
    for name in order:
        venue, _, mid = name.partition(":")
        if name in wanted and len(tiers.streamed.get(venue, ())) < caps.get(venue, len(names) + 1):
            tiers.streamed.setdefault(venue, []).append(mid)
        else:
            tiers.polled.setdefault(venue, []).append(mid)
    return tiers
