"""A trade to size: an engine `Opportunity` with what the pipeline needs beyond the per-opportunity
chain's `SizingInput` — the lane, and per leg its market name, side, event and category.

`trade_from_opportunity` is the adapter from the engine's output (the opportunity, each leg
market's venue / fees / lot / book, and the confidence of the relation that generated it) to a
`Trade`. The `SizingInput` it holds carries the engine's values; the estimates (ρ, s, venue
stats), equity and loss budget are placeholders the pipeline fills in (`pipeline.size_trade`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from arbbot.engine import decompose
from arbbot.engine.twin.candidates import _relation_leg_sets
from arbbot.engine.types import LEVEL_QTY_MAX, Decomposition, Lane, Opportunity, Universe
from arbbot.model import Book, FeeSchedule, MarketInfo, Side, Venue
from arbbot.sizing.clock import days_to_close, days_to_close_at
from arbbot.sizing.types import SizingInput, SizingLeg
from arbbot.units import TICKS_PER_DOLLAR

PAYOUT_MICROS_PER_LOT = TICKS_PER_DOLLAR    # $1 per contract = 10^6 µ$ per 100 lots


@dataclass(frozen=True, slots=True)
class LegMarket:
    """What sizing reads of a leg's market. `closes_at`/`event`/`category`: None when not stated."""
    venue: Venue
    fees: FeeSchedule
    lot: int                     # lots: 100 or 1
    book: Book | None            # None when `decomposed` is given
    closes_at: str | None = None
    event: str | None = None
    category: str | None = None
    decomposed: Decomposition | None = None     # the book already decomposed (a running session's)

    @classmethod
    def from_info(cls, info: MarketInfo, book: Book | None, decomposed: Decomposition | None = None
                  ) -> "LegMarket":
        """From a discovered market (empty strings = not stated)."""
        return cls(info.venue, info.fees, info.lot_lots, book, info.closes_at or None, info.event_id or None,
                   info.category or None, decomposed)


@dataclass(frozen=True, slots=True)
class TradeLeg:
    market: str                  # `venue:id`
    side: Side
    event: str | None
    category: str | None


@dataclass(frozen=True, slots=True)
class Trade:
    lane: Lane
    legs: tuple[TradeLeg, ...]   # leg order (the order legs are sent)
    input: SizingInput           # estimates / equity / loss budget are filled in by the pipeline


def relation_confidence(universe: Universe, opportunity: Opportunity) -> float:
    """c: 1 for intra; else the confidence (absent = 1) of the first relation, in file order,
    whose leg sets include the opportunity's (ARBITRAGE.md: reported under the first)."""
    return RelationIndex(universe).confidence(opportunity)


class RelationIndex:
    """`relation_confidence` for a fixed universe, without a scan of every relation per call:
    relations are indexed by member market, and only those holding the opportunity's first leg
    market are tried (still in file order). Built once per session (O(relations))."""

    def __init__(self, universe: Universe) -> None:
        self.reset(universe)

    def reset(self, universe: Universe) -> None:
        """Index `universe` instead (a session whose relations grew: every holder of this index
        sees the new relations). Every relation's leg sets are keyed by their (market, side)
        set, the first relation in file order kept for each, so a lookup is one dict probe."""
        names = [m.name for m in universe.markets]
        self._names = names
        self._relations = universe.relations
        self._by_legs: dict[frozenset, int] = {}
        for i, relation in enumerate(universe.relations):
            for *_, legs in _relation_leg_sets(relation.kind, relation.members, relation.exhaustive):
                self._by_legs.setdefault(frozenset((names[m], side) for m, side in legs), i)

    def confidence(self, opportunity: Opportunity) -> float:
        if opportunity.lane is Lane.INTRA:
            return 1.0
        relation = self.relation(opportunity)
        return 1.0 if relation.confidence is None else relation.confidence / 1e6

    def relation(self, opportunity: Opportunity):
        """The first relation (file order) whose leg sets include the opportunity's; ValueError if
        none (an intra opportunity has none)."""
        found = self._by_legs.get(frozenset((leg.market, leg.side) for leg in opportunity.legs))
        if found is not None:
            return self._relations[found]
        raise ValueError(f"opportunity {opportunity.id}: no relation generates its leg set")

    def members(self, opportunity: Opportunity) -> list[str]:
        """The member markets (`venue:id`) of the opportunity's relation."""
        return [self._names[m] for m in self.relation(opportunity).members]


def trade_from_opportunity(opportunity: Opportunity, markets: Mapping[str, LegMarket], *, confidence: float,
                           decided_at: str | None, unknown_days: float, min_profit: int,
                           decided_s: int | None = None) -> Trade:
    """The trade for `opportunity`: each leg's effective ask ladder and best effective bid of the
    bought side (ticks, lots), T from `decided_at` and the legs' `closes_at` (ValueError on a bad
    stamp), `min_profit` µ$. ValueError when a leg's market is missing. `decided_s`: the decision
    as a whole unix second instead of `decided_at` (the same T as its stamp, none formatted)."""
    legs, trade_legs, closes = [], [], []
    for leg in opportunity.legs:
        if leg.market not in markets:
            raise ValueError(f"opportunity {opportunity.id}: no market {leg.market}")
        m = markets[leg.market]
        d = m.decomposed if m.decomposed is not None else decompose(int(m.venue), m.book)
        ladder = d.yes if leg.side is Side.YES else d.no
        if any(q > LEVEL_QTY_MAX for _p, q in ladder):
            # duplicate levels of a snapshot add up past a level's bound (SNAPSHOT.md allows them):
            # each level as the engine takes one, a million contracts (`within_engine`)
            ladder = tuple((p, min(q, LEVEL_QTY_MAX)) for p, q in ladder)
        bid = d.quote.best_bid_yes if leg.side is Side.YES else d.quote.best_bid_no
        legs.append(SizingLeg(m.venue, m.lot, m.fees, ladder, bid or 0, 0.0, 0.0))
        trade_legs.append(TradeLeg(leg.market, leg.side, m.event, m.category))
        closes.append(m.closes_at)
    payout = opportunity.payout // (opportunity.qty * PAYOUT_MICROS_PER_LOT)
    days = (days_to_close(closes, decided_at, unknown_days) if decided_s is None
            else days_to_close_at(closes, decided_s, unknown_days))
    inp = SizingInput(opportunity.id, payout, opportunity.qty, tuple(legs), confidence, days, min_profit, 0, 0.0)
    return Trade(opportunity.lane, tuple(trade_legs), inp)
