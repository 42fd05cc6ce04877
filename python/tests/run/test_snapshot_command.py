"""`arbbot snapshot` (spec/SNAPSHOT.md: "the bot can write one at any moment"): what a session
sees, written as `arbbot.snapshot/1`, scans to exactly what the session's engine holds."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from arbbot.engine import scan
from arbbot.model import Book, MarketId, Venue
from arbbot.run.live import LiveSession, simulated_venues
from arbbot.run.snapshot_command import session_snapshot
from arbbot.sim import serve
from arbbot.snapshot import load_snapshot
from arbbot.venues.common.model import BookUpdate


def _opps(result):
    return [(o.id, o.lane.label, o.kind.label, o.qty, o.cost, o.fee, o.profit,
             [(leg.market, leg.side.label, leg.qty, leg.worst_price) for leg in o.legs]) for o in result.opportunities]


@pytest.mark.parametrize("engine", ["python", "swift"])
def test_a_sessions_snapshot_scans_to_what_its_engine_holds(tmp_path, engine):
    """A planted Polymarket arbitrage (YES ask $0.40 + NO ask $0.50 on one market, 10 contracts)
    and a book the quality gate holds out (untradeable): the written file, scanned by either
    engine, finds what the session's engine holds at that instant, and the held market is written
    without a book."""
    handle = serve("all", 0, step_interval=None)

    async def main():
        session = LiveSession(simulated_venues(handle), [], engine=engine, max_qty=500, min_profit=10_000)
        await session.discover()
        poly = [m for m in session.markets if m.venue is Venue.POLYMARKET]
        kalshi = [m for m in session.markets if m.venue is Venue.KALSHI]
        planted, held = poly[0], kalshi[0]
        session.on_book(BookUpdate(Book(yes_asks=((4_000, 1_000),), no_asks=((5_000, 1_000),),
                                        yes_bids=((3_900, 100),), no_bids=((4_900, 100),),
                                        market=MarketId(Venue.POLYMARKET, planted.market_id))))
        session.on_book(BookUpdate(Book(market=MarketId(Venue.KALSHI, held.market_id), tradeable=False,
                                        reason="sequence gap")))
        snap = session_snapshot(session)
        found = session.engine.scan()
        relations = len(session.universe.relations)
        await session.close()
        return snap, found, relations, planted, held
    try:
        snap, found, relations, planted, held = asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        handle.stop()
    path = tmp_path / "s.json"
    path.write_text(json.dumps(snap))
    loaded = load_snapshot(path)
    assert len(loaded.universe.relations) == relations and len(loaded.universe.markets) == len(snap["markets"])
    assert (loaded.universe.max_qty, loaded.universe.min_profit) == (500, 10_000)
    assert snap["params"] == {"min_profit": "0.01", "max_qty": "5"}
    ours = _opps(found)
    assert any(o[2] == "yes_no" and o[7][0][0] == f"polymarket:{planted.market_id}" for o in ours)
    for other in ("python", "swift"):
        assert _opps(scan(loaded.universe, engine=other)) == ours
    by_name = {f"{m['venue']}:{m['id']}": m for m in snap["markets"]}
    assert "book" not in by_name[f"kalshi:{held.market_id}"]
    assert by_name[f"polymarket:{planted.market_id}"]["book"] == {
        "yes_bids": [["0.3900", "1"]], "yes_asks": [["0.4000", "10"]], "no_bids": [["0.4900", "1"]],
        "no_asks": [["0.5000", "10"]]}
    k = by_name[f"kalshi:{held.market_id}"]
    assert (k["event"], k["closes_at"]) == (held.event_id, held.closes_at) and held.closes_at


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "arbbot.cli", "snapshot", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "ARB_ENGINE": "python"}, timeout=120)


def test_the_command_writes_a_file_scan_reads_and_never_overwrites_one_unasked(tmp_path):
    out = tmp_path / "now.json"
    res = _cli("-o", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    snap = json.loads(out.read_text())
    assert snap["format"] == "arbbot.snapshot/1" and len(snap["markets"]) == 39
    assert sum("book" in m for m in snap["markets"]) == 39 and snap["relations"]
    assert f"39 markets (39 with books), {len(snap['relations'])} relations" in res.stderr
    assert len(load_snapshot(out).universe.markets) == 39
    again = _cli("-o", str(out), cwd=tmp_path)
    assert again.returncode == 2 and f"{out} exists (--force replaces it)" in again.stderr
    assert json.loads(out.read_text()) == snap                     # untouched
    bad = _cli("--wait", "-1", cwd=tmp_path)
    assert bad.returncode == 2 and "--wait" in bad.stderr and "Traceback" not in bad.stderr
