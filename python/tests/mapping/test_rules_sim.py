"""Rules derived from the embedded simulator's own catalog, fetched as a user would save it
(Kalshi `GET /events?with_nested_markets=true`, Gamma `GET /events`), give the structures the
simulator states; a live session derives the same from its own discovery, so merging them
(`run --rules`) adds nothing twice."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from arbbot.mapping.listings import load_listings
from arbbot.mapping.rules import derive_relations
from arbbot.run.live import LiveSession, default_session_mappings, simulated_venues
from arbbot.sim import serve
from arbbot.sim.scenarios import build


@pytest.fixture(scope="module")
def sim():
    handle = serve("all", 0, step_interval=None)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def sim_relations(sim, tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("listings")
    kalshi = httpx.get(sim.urls["kalshi_rest"] + "/events", params={"with_nested_markets": "true"}, timeout=10)
    gamma = httpx.get(sim.urls["polymarket_gamma"] + "/events", params={"closed": "false"}, timeout=10)
    (tmp / "kalshi.json").write_text(kalshi.text)
    (tmp / "gamma.json").write_text(gamma.text)
    listings = load_listings("kalshi", [str(tmp / "kalshi.json")]) + load_listings("polymarket", [str(tmp / "gamma.json")])
    assert len(listings) == 17 + 19
    return derive_relations(listings)


PLACEHOLDERS = ("Other", "Person D")    # an augmented event's extra outcomes (rules leave them out)


def stated_buckets() -> set[tuple]:
    """(venue, members, exhaustive) per exclusive event of the scenario with ≥ 2 markets on a
    venue; Kalshi states exclusivity only, so its buckets are never exhaustive."""
    out = set()
    for event in build("all", 0).events:
        if not event.exclusive:
            continue
        for venue in ("kalshi", "polymarket"):
            members = tuple(sorted(f"{venue}:{x.market_id}" for q in event.questions for x in q.listings
                                   if x.venue == venue and q.key not in PLACEHOLDERS))
            exhaustive = event.exhaustive and venue == "polymarket"
            if len(members) >= 3 or (len(members) == 2 and not exhaustive):   # an exhaustive pair: complement
                out.add((venue, members, exhaustive))
    return out


def test_sim_catalog_gives_the_buckets_the_simulator_states(sim_relations):
    buckets = {(r["members"][0].split(":")[0], tuple(r["members"]), r["exhaustive"])
               for r in sim_relations if r["kind"] == "bucket"}
    assert buckets == stated_buckets() and len(buckets) == 6
    senate = sorted(f"polymarket:{x.market_id}" for e in build("all", 0).events if e.event_id == "ohio-senate-2026"
                    for q in e.questions for x in q.listings)
    assert [sorted((r["a"], r["b"])) for r in sim_relations if r["kind"] == "complement"] == [senate]


def test_sim_threshold_ladder_becomes_implications(sim_relations):
    implies = [(r["child"], r["parent"]) for r in sim_relations if r["kind"] == "implies"]
    assert implies == [("kalshi:KXBTCD-26DEC31-T102500", "kalshi:KXBTCD-26DEC31-T100000"),
                       ("kalshi:KXBTCD-26DEC31-T105000", "kalshi:KXBTCD-26DEC31-T100000"),
                       ("kalshi:KXBTCD-26DEC31-T105000", "kalshi:KXBTCD-26DEC31-T102500"),
                       ("kalshi:KXFED-26DEC-T4.125", "kalshi:KXFED-26DEC-T3.875"),
                       ("kalshi:KXFED-26DEC-T4.375", "kalshi:KXFED-26DEC-T3.875"),
                       ("kalshi:KXFED-26DEC-T4.375", "kalshi:KXFED-26DEC-T4.125")]


def test_live_session_merges_rules_once(sim, sim_relations):
    rules = sim_relations + [{"kind": "complement", "a": "kalshi:KXFED-26DEC-T3.875", "b": "kalshi:GONE"}]

    async def main():
        plain = LiveSession(simulated_venues(sim), default_session_mappings())
        await plain.discover()
        await plain.close()
        merged = LiveSession(simulated_venues(sim), default_session_mappings(), rules=json.loads(json.dumps(rules)))
        await merged.discover()
        await merged.close()
        return plain, merged
    plain, merged = asyncio.run(asyncio.wait_for(main(), 90))
    # the session derived every one of them from its own discovery (6 buckets, a complement,
    # 6 implications): none is added twice; the one naming an unknown market is dropped
    assert (merged.rules_added, merged.rules_dropped) == (0, 1)
    assert len(merged.universe.relations) == len(plain.universe.relations) == plain.structural == len(sim_relations) == 13


def test_run_rejects_a_malformed_rules_file_before_starting(tmp_path, capsys):
    from arbbot.cli import main
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"format": "arbbot.relations/1", "relations": [{"kind": "bucket", "members": ["k:A"]}]}))
    code = main(["run", "--rules", str(bad), "--duration", "1", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "r.json: relations[0].members: a bucket needs at least 2 members" in err
