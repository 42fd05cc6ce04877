"""The twin engine: a universe held in memory, full scans and incremental updates."""
from __future__ import annotations

from arbbot.engine.types import (
    INT64_MAX, EngineInputError, Leg, Market, Book, Opportunity, RelationKind,
    ScanResult, Side, Status, Universe,
)
from arbbot.engine.twin.candidates import Candidate, build_candidates
from arbbot.engine.twin.decompose import is_crossed, ladders
from arbbot.engine.twin.sizing import PAYOUT_PER_LOT, level_cost, size
from arbbot.engine.twin.validate import check_book, check_market, check_schedule, check_venue, is_int

_PAIR = {RelationKind.SAME, RelationKind.INVERSE, RelationKind.COMPLEMENT,
         RelationKind.EQUIVALENT, RelationKind.IMPLIES}


def check_universe(universe: Universe) -> None:
    """The Swift engine's create-time checks, in its order; index = market or relation."""
    for i, market in enumerate(universe.markets):
        try:
            venue = check_venue(market.venue)
            if not is_int(market.lot) or market.lot not in (100, 1):
                raise EngineInputError(Status.LOT, f"lot {market.lot!r} must be 100 or 1 lots")
            check_schedule(market.fees)
            check_book(venue, market.book)
        except EngineInputError as exc:
            raise EngineInputError(exc.status, f"market {i}: {exc}", i) from None
    n = len(universe.markets)
    for j, relation in enumerate(universe.relations):
        def fail(status, message):
            raise EngineInputError(status, f"relation {j}: {message}", j)
        if not is_int(relation.kind) or relation.kind not in tuple(RelationKind):
            fail(Status.KIND, f"unknown relation kind {relation.kind!r}")
        kind, count = RelationKind(relation.kind), len(relation.members)
        if (kind in _PAIR and count != 2) or (kind is RelationKind.BUCKET and count < 2) or (
                kind is RelationKind.TREE and count < 3):
            fail(Status.RELATION, f"{kind.label} cannot have {count} members")
        seen = set()
        for m in relation.members:
            if not is_int(m) or not 0 <= m < n:
                fail(Status.MARKET, f"market index {m!r} is out of range")
            if m in seen:
                fail(Status.RELATION, f"market {m} appears twice")
            seen.add(m)
    check_limits(universe.max_qty, universe.min_profit)


def check_limits(max_qty, min_profit) -> None:
    """A universe's max_qty (lots, None = no cap) and min_profit (µ$): EngineInputError QTY / MONEY."""
    if max_qty is not None and (not is_int(max_qty) or not 0 <= max_qty <= INT64_MAX):
        raise EngineInputError(Status.QTY, f"max_qty {max_qty!r} lots is not an int in 0…2^63 − 1")
    if not is_int(min_profit) or not 0 <= min_profit <= INT64_MAX:
        raise EngineInputError(Status.MONEY, f"min_profit {min_profit!r} µ$ is not an int in 0…2^63 − 1")


class TwinEngine:
    """Holds decomposed books and the static candidates; scan() and update() as the C ABI."""

    def __init__(self, universe: Universe) -> None:
        check_universe(universe)
        self.markets: list[Market] = list(universe.markets)
        self.names = [m.name for m in self.markets]
        self.max_qty = universe.max_qty
        self.min_profit = universe.min_profit
        self.candidates: list[Candidate] = build_candidates(universe)
        self.by_market: list[list[int]] = [[] for _ in self.markets]
        for c, cand in enumerate(self.candidates):
            for m in sorted({m for m, _ in cand.legs}):
                self.by_market[m].append(c)
        n = len(self.markets)
        self.ladders: list[tuple] = [((), ())] * n
        self.crossed = [False] * n
        self.top_cost: list[tuple] = [(None, None)] * n   # per side, None = nothing to buy
        for m, market in enumerate(self.markets):
            self._install(m, market.book)

    def _install(self, m: int, book: Book) -> None:
        market = self.markets[m]
        yes, no = ladders(market.venue, book)
        crossed = is_crossed(market.venue, book, yes, no)
        self.ladders[m] = (yes, no)
        self.crossed[m] = crossed
        self.top_cost[m] = (None, None) if crossed else tuple(
            level_cost(ladder[0][0], market.fees) if ladder else None for ladder in (yes, no))

    def _top_edge(self, cand: Candidate) -> int | None:
        """The candidate's edge at the best levels (payout less each leg's best-level cost with
        its unrounded fee, 1e-16 $ per lot); None when a leg's side is empty or its market
        crossed. Twin of the engine's `topEdge`."""
        edge = cand.payout * PAYOUT_PER_LOT
        for m, side in cand.legs:
            cost = self.top_cost[m][side]
            if cost is None:
                return None
            edge -= cost
        return edge

    def _evaluate(self, cand: Candidate) -> Opportunity | None:
        edge = self._top_edge(cand)   # top-of-book reject: the edge never increases with depth
        if edge is None or edge <= 0:
            return None
        markets = [self.markets[m] for m, _ in cand.legs]
        sized = size(cand, [self.ladders[m][side] for m, side in cand.legs], [mk.fees for mk in markets],
                     max(mk.lot for mk in markets), self.max_qty, self.min_profit)
        if sized is None:
            return None
        qty, payout, cost, fee, profit, legs = sized
        return Opportunity(
            cand.id_hex, cand.lane, cand.kind, qty, payout, cost, fee, profit,
            tuple(Leg(self.names[m], Side(side), qty, worst, leg_cost, leg_fee)
                  for (m, side), (worst, leg_cost, leg_fee) in zip(cand.legs, legs)))

    def set_limits(self, max_qty: int | None, min_profit: int) -> None:
        """Twin of `arb_engine_set_limits` (`Engine.set_limits`, checked there)."""
        self.max_qty, self.min_profit = max_qty, min_profit

    def nearest(self, capacity: int) -> tuple[int, ...]:
        """Twin of `arb_engine_nearest` (`Engine.nearest`)."""
        ranked = []
        for c, cand in enumerate(self.candidates):
            edge = self._top_edge(cand)
            if edge is not None:
                ranked.append((-edge, c))
        ranked.sort()
        return tuple(c for _, c in ranked[:capacity])

    @staticmethod
    def _ordered(found: list[Opportunity]) -> tuple[Opportunity, ...]:
        return tuple(sorted(found, key=lambda o: (-o.profit, o.id)))

    def scan(self) -> ScanResult:
        found = [o for o in map(self._evaluate, self.candidates) if o is not None]
        untradeable = tuple(self.names[m] for m, crossed in enumerate(self.crossed) if crossed)
        return ScanResult(self._ordered(found), untradeable)

    def update(self, market: int, book: Book) -> ScanResult:
        """Replace one market's book; the opportunities whose legs touch it."""
        check_market(market, len(self.markets))
        check_book(self.markets[market].venue, book)
        self._install(market, book)
        found = [o for o in (self._evaluate(self.candidates[c]) for c in self.by_market[market]) if o is not None]
        untradeable = (self.names[market],) if self.crossed[market] else ()
        return ScanResult(self._ordered(found), untradeable)


