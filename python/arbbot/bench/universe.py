"""The standard benchmark universe U20k (deterministic for a seed).

20,000 markets across the three venues, 5–10 levels per side; 2,000 cross pairs, 1,000
buckets (3–12 members), 1,000 parity pairs, 500 trees (2–6 children). Prices are mostly
near-efficient (asks 1–3¢ above fair, so every leg set costs more than it pays); about 3% of
markets have their asks pulled 2–6¢ below fair, which creates real, depth-limited arbitrage.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from arbbot.engine.types import FeeSchedule, Market, Book, Relation, RelationKind, Universe, Venue

KALSHI = FeeSchedule(taker_rate_ppm=70_000, rounding=10_000, maker_rate_ppm=17_500)
POLY = FeeSchedule(taker_rate_ppm=30_000, rounding=10)
FORECASTEX = FeeSchedule(per_contract=10_000)
FEES = {Venue.KALSHI: KALSHI, Venue.POLYMARKET: POLY, Venue.FORECASTEX: FORECASTEX}
LOTS = {Venue.KALSHI: 100, Venue.POLYMARKET: 1, Venue.FORECASTEX: 100}
CENT = 100   # ticks


def _ladder(rng: random.Random, best: int, direction: int, lot: int) -> tuple[tuple[int, int], ...]:
    """5–10 levels from `best` moving away by 1¢ per level (0.1¢ below 10¢ and above 90¢, like
    Kalshi's tapered_deci_cent markets); sizes 5–500 contracts."""
    out = []
    price = min(9_940, max(60, best))
    for _ in range(rng.randint(5, 10)):
        if not 0 < price < 10_000:
            break
        contracts = rng.randint(5, 500) * 100
        out.append((price, contracts if lot == 1 else contracts // 100 * 100))
        step = 10 if price + direction * CENT < 1_000 or price + direction * CENT > 9_000 else CENT
        price += direction * step
    return tuple(out)


def book_for(rng: random.Random, venue: Venue, fair: int, mispriced: bool) -> Book:
    """A book around `fair` (ticks of YES). Bids-only venues publish YES/NO bids whose
    complements are the asks; Polymarket publishes each token's bids and asks."""
    fair = min(9_700, max(300, fair))
    half_spread = rng.randint(1, 3) * CENT
    cut = rng.randint(2, 6) * CENT if mispriced else 0
    ask_yes = fair + half_spread - (cut if rng.random() < 0.5 else 0)
    ask_no = 10_000 - fair + half_spread - (cut if rng.random() < 0.5 else 0)
    ask_yes, ask_no = max(CENT, ask_yes), max(CENT, ask_no)
    if ask_yes + ask_no <= 10_000 and venue.bids_only:   # a bids-only book would be crossed
        ask_no = 10_000 - ask_yes + CENT
    lot = LOTS[venue]
    if venue.bids_only:   # YES ask = 1 − best NO bid
        return Book(yes_bids=_ladder(rng, 10_000 - ask_no, -1, lot),
                          no_bids=_ladder(rng, 10_000 - ask_yes, -1, lot))
    return Book(yes_bids=_ladder(rng, ask_yes - 2 * CENT, -1, lot), yes_asks=_ladder(rng, ask_yes, 1, lot),
                      no_bids=_ladder(rng, ask_no - 2 * CENT, -1, lot), no_asks=_ladder(rng, ask_no, 1, lot))


@dataclass(frozen=True)
class BenchUniverse:
    universe: Universe
    fairs: tuple[int, ...]        # each market's fair YES price, ticks

    def update_stream(self, seed: int, count: int, mispriced_share: float = 0.03) -> list[tuple[int, Book]]:
        """Realistic book updates: a random market's book redrawn around its fair price moved by
        at most 2¢, mispriced (asks cut 2–6¢) with probability `mispriced_share`."""
        rng = random.Random(seed)
        out = []
        for _ in range(count):
            m = rng.randrange(len(self.fairs))
            fair = self.fairs[m] + rng.randint(-2, 2) * CENT
            out.append((m, book_for(rng, self.universe.markets[m].venue, fair, rng.random() < mispriced_share)))
        return out


def build_u20k(seed: int = 20_000, n_markets: int = 20_000, mispriced_share: float = 0.03) -> BenchUniverse:
    rng = random.Random(seed)
    venues = [Venue.KALSHI] * 4 + [Venue.POLYMARKET] * 4 + [Venue.FORECASTEX] * 2
    fairs: list[int] = []
    relations: list[Relation] = []

    def new(fair: int) -> int:
        fairs.append(fair)
        return len(fairs) - 1

    def split(total: int, k: int) -> list[int]:
        cuts = sorted(rng.randint(1, total - 1) for _ in range(k - 1))
        return [b - a for a, b in zip([0] + cuts, cuts + [total])]

    for _ in range(1_000):                      # buckets of 3–12 exclusive outcomes
        k = rng.randint(3, 12)
        exhaustive = rng.random() < 0.5
        members = [new(max(CENT, f)) for f in split(10_000 if exhaustive else 9_000, k)]
        relations.append(Relation(RelationKind.BUCKET, tuple(members), exhaustive))
    for _ in range(500):                        # trees: parent = sum of 2–6 exclusive children
        k = rng.randint(2, 6)
        parent_fair = rng.randint(2_000, 8_000)
        children = [new(max(CENT, f)) for f in split(parent_fair, k)]
        relations.append(Relation(RelationKind.TREE, (new(parent_fair), *children)))
    for _ in range(2_000):                      # cross-venue twins (same or inverse)
        f = rng.randint(500, 9_500)
        if rng.random() < 0.7:
            relations.append(Relation(RelationKind.SAME, (new(f), new(f + rng.randint(-CENT, CENT))), False, 970_000))
        else:
            relations.append(Relation(RelationKind.INVERSE, (new(f), new(10_000 - f)), False, 950_000))
    for _ in range(1_000):                      # parity pairs on one venue
        f = rng.randint(500, 9_500)
        kind = RelationKind.COMPLEMENT if rng.random() < 0.5 else RelationKind.EQUIVALENT
        relations.append(Relation(kind, (new(f), new(10_000 - f if kind is RelationKind.COMPLEMENT else f))))
    while len(fairs) < n_markets:               # unrelated markets (intra lane only)
        new(rng.randint(500, 9_500))
    order = list(range(len(fairs)))             # interleave so related markets are not adjacent
    rng.shuffle(order)
    position = {old: new_index for new_index, old in enumerate(order)}
    markets = []
    for new_index, old in enumerate(order):
        venue = rng.choice(venues)
        markets.append(Market(venue, f"U{new_index:05d}", FEES[venue], LOTS[venue],
                              book_for(rng, venue, fairs[old], rng.random() < mispriced_share)))
    relations = [Relation(r.kind, tuple(position[m] for m in r.members), r.exhaustive, r.confidence)
                 for r in relations]
    universe = Universe(tuple(markets), tuple(relations), max_qty=None, min_profit=10_000)
    return BenchUniverse(universe, tuple(fairs[old] for old in order))


def describe(universe: Universe) -> dict:
    kinds: dict[str, int] = {}
    for r in universe.relations:
        kinds[r.kind.label] = kinds.get(r.kind.label, 0) + 1
    levels = sum(len(side) for m in universe.markets for side in m.book.sides())
    return {"name": "U20k", "markets": len(universe.markets), "relations": kinds,
            "book_levels": levels, "min_profit_usd": universe.min_profit / 1e6}
