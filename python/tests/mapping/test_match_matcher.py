"""The matcher end to end: the simulator catalog's twins (the shipped mapping file) found from
titles alone, the embedding model read offline from its package, blocking that finds a twin in
a threshold ladder."""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from arbbot.mapping.listings import Listing
from arbbot.mapping.match import blocking
from arbbot.mapping.match.embedding import DIM, embed
from arbbot.mapping.match.features import Features
from arbbot.mapping.match.matcher import match
from arbbot.sim.scenarios import build
from tests.mapping.twins import sim_flipped_twins, sim_twins


def sim_listings() -> dict[str, list[Listing]]:
    """Titles, strikes and ids as the simulator lists them (a Polymarket event's slug is its
    `series`, as Gamma's is; a game's day is in it, as in Kalshi's event ticker)."""
    scenario = build("all", 0)
    return {v: [Listing(v, l.market_id, e.event_id, l.title, floor_strike=Decimal(l.strike) if l.strike else None,
                        series=l.event_id if v == "polymarket" else "")
                for e, _, l in scenario.listings(v)] for v in ("kalshi", "polymarket", "forecastex")}


def test_simulator_twins_are_the_shipped_mappings() -> None:
    pairs = {(p.ids, p.relation) for p in match(sim_listings(), 0.5)}
    shipped = {(r.ids, r.relation) for r in sim_twins()}
    assert pairs == shipped | sim_flipped_twins()


def test_embedding_is_offline_unit_length_and_ranks_twins_first() -> None:
    vecs = embed(["Will the Fed cut rates by 25 bps at the December 2026 meeting?",
                  "Fed decreases interest rates by 25 bps after December 2026 meeting?",
                  "Will the Lakers beat the Celtics?", ""])
    assert vecs.shape == (4, DIM) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs[:3], axis=1), 1.0, atol=1e-5) and not vecs[3].any()
    assert vecs[0] @ vecs[1] > 0.8 > vecs[0] @ vecs[2]


def test_blocking_finds_the_twin_in_a_ladder() -> None:
    ladder = [Features.of(Listing("polymarket", f"0x{t}", "1", f"Bitcoin above ${t}k on December 31, 2026?"))
              for t in range(50, 200)]
    left = [Features.of(Listing("kalshi", "KX", "E", "Will Bitcoin be above $125,000 on Dec 31, 2026?"))]
    cands = blocking.candidates(left, ladder, embed([f.text for f in left]), embed([f.text for f in ladder]))
    assert (0, 125 - 50) in cands
    assert len(cands) <= blocking.TOP_KEYS + blocking.TOP_EMBED
