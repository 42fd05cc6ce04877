"""The live detection path: mapping files, the quality gate, and incremental detection against the
embedded simulator over real loopback sockets (the same adapters as live trading)."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from arbbot.engine import Engine
from arbbot.run.live import LiveSession, rebuilt_universe, simulated_venues
from arbbot.mapping.table import MappingError, MappingRow, VENUES, parse_mappings
from arbbot.sim import serve
from arbbot.sim.scenarios import build
from arbbot.venues.common.model import BookUpdate
from tests.mapping.twins import sim_twins


def test_shipped_mappings_match_the_default_scenario():
    expected = []
    for event in build("all", 0).events:
        for q in event.questions:
            ids = {listing.venue: listing.market_id for listing in q.listings}
            if len(ids) >= 2:
                expected.append(tuple(ids.get(v, "") for v in VENUES))
    rows = sim_twins()
    assert [r.ids for r in rows] == expected and len(rows) == 10
    assert {r.relation for r in rows} == {"same"}
    assert {r.confidence for r in rows} == {970_000, 950_000}


@pytest.mark.parametrize("lines, message", [
    (["a,b,c"], ":1: header"),
    (["kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence", "K,P,,xor,0.9"], ":2: relation 'xor'"),
    (["kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence", "K,,,same,0.9"], ":2: a mapping needs"),
    (["kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence", "K,P,,same,1.5"], ":2: confidence 1.5"),
    (["kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence", "K,P,same,0.9"], ":2: expected 5 columns"),
])
def test_malformed_mappings_name_the_line(lines, message):
    with pytest.raises(MappingError, match=message):
        parse_mappings(lines, "m.csv")


@pytest.fixture(scope="module")
def sim():
    handle = serve("all", 0, step_interval=0.05)
    yield handle
    handle.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


def test_live_session_detects_incrementally_and_agrees_with_a_full_rebuild(sim):
    async def main():
        session = LiveSession(simulated_venues(sim), sim_twins())
        await session.discover()
        venues = {m.venue.label for m in session.markets}
        assert venues == {"kalshi", "polymarket"} and len(session.markets) == 36
        kinds = [r.kind.label for r in session.universe.relations]
        assert kinds.count("same") == 7                  # the Kalshi/Polymarket twins of the mapping file
        buckets = [r for r in session.universe.relations if r.kind.label == "bucket"]
        assert sorted(len(r.members) for r in buckets) == [2, 2, 3, 4, 4, 4]   # augmented: "Other" etc. left out
        exhaustive = {tuple(session.universe.markets[m].venue.label for m in r.members)[0] + f"/{len(r.members)}": r.exhaustive
                      for r in buckets}
        # Polymarket neg-risk: the plain groups are exhaustive, the augmented one is not (trap 6);
        # Kalshi publishes mutual exclusivity but not exhaustiveness, so its buckets never are.
        assert exhaustive == {"polymarket/4": True, "polymarket/3": False, "kalshi/4": False, "kalshi/2": False}
        session.start_streams()
        for _ in range(600):                                   # ≤ 30 s: mispricings arrive at random times
            await asyncio.sleep(0.05)
            if session.stats.book_updates >= 300 and sum(session.stats.found.values()) >= 1:
                break
        assert session.stats.book_updates >= 300 and not session.errors
        assert sum(session.stats.found.values()) >= 1         # the scenario plants mispricings
        await session.stop_tasks()                             # freeze the books, then compare
        incremental = session.engine.scan()
        fresh = Engine(rebuilt_universe(session), engine="python").scan()
        assert incremental == fresh
        p50, p99 = session.stats.latency_percentiles_us()
        assert 0 < p50 <= p99
        await session.close()
    run(main())


def test_quality_gate_holds_out_distrusted_and_stale_books(sim):
    async def main():
        now = [1_000.0]
        session = LiveSession(simulated_venues(sim), sim_twins(), stale_after_s=10.0,
                              clock=lambda: now[0])
        await session.discover()
        name = "kalshi:KXFEDDECISION-26DEC-H0"
        book = await session.venues["kalshi"].fetch_book("KXFEDDECISION-26DEC-H0")
        session.on_book(BookUpdate(dataclasses.replace(book, tradeable=False, reason="seq gap")))
        assert session.held[name] == "seq gap" and session.stats.held_out["seq gap"] == 1
        assert not any(o.touches(name) for o in session.engine.scan().opportunities)
        assert rebuilt_universe(session).markets[session.index[name]].book.yes_bids == ()
        session.on_book(BookUpdate(book))                        # a healthy book releases it
        assert name not in session.held
        now[0] += 5.0
        assert session.check_staleness() == []
        now[0] += 6.0                                            # 11 s without updates: all stale
        stale = session.check_staleness()
        assert len(stale) == 36 and session.healthy() == 0 and session.engine.scan().opportunities == ()
        await session.close()
    run(main())


def test_mapping_rows_for_unknown_markets_are_ignored():
    from arbbot.mapping.table import relations_for
    rows = [MappingRow(("K1", "P1", ""), "same", 900_000), MappingRow(("K2", "", "F2"), "inverse", 1_000_000)]
    assert relations_for(rows, {"kalshi:K1", "polymarket:P1", "kalshi:K2"}) == [
        {"kind": "same", "a": "kalshi:K1", "b": "polymarket:P1", "confidence": "0.9"}]


def test_discovered_markets_carry_the_venues_close_times(sim):
    """Close times reach MarketInfo from each venue's own field (Kalshi `close_time`, Polymarket
    `endDate`); the simulator lists them days to months after its start day, per event."""
    import time
    from datetime import datetime, timezone

    async def main():
        session = LiveSession(simulated_venues(sim), sim_twins())
        await session.discover()
        return session.markets
    markets = run(main())
    start_day = datetime.fromtimestamp(time.time(), timezone.utc).date()

    def days_out(m) -> int:
        closes = datetime.strptime(m.closes_at, "%Y-%m-%dT%H:%M:%SZ")
        assert closes.hour == 19 and closes.minute == 0
        return (closes.date() - start_day).days
    by_event = {}
    for m in markets:
        by_event.setdefault((m.venue.label, m.event_id), set()).add(days_out(m))
    assert by_event[("kalshi", "KXFEDDECISION-26DEC")] == {18}
    assert by_event[("kalshi", "KXNBAGAME-26NOV30LALBOS")] == {2}
    assert by_event[("kalshi", "KXMAYOR-26")] == {95}
    poly = sorted(d for (venue, _), days in by_event.items() if venue == "polymarket" for d in days)
    # one per Gamma event: two games, weather trap, fed, Ohio senate, mayor, emergency-cut trap, nominee
    assert poly == [2, 3, 4, 18, 60, 95, 123, 200]
    assert by_event[("kalshi", "KXBTCD-26DEC31")] == {33} and by_event[("kalshi", "KXFEDEMERG-27")] == {154}
    assert all(m.closes_at for m in markets)


def test_forecastex_close_is_the_end_of_the_expiry_day():
    from arbbot.venues.forecastex.venue import closes_at
    assert closes_at("20261216") == "2026-12-16T23:59:59Z"
    assert closes_at("20261216 16:00:00 US/Central") == "2026-12-16T23:59:59Z"
    assert closes_at("") == "" and closes_at("2026") == ""
