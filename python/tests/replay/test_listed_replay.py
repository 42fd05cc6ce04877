"""A listing refresh in a recorded session is replayed as it happened: the markets it found listed
join the replay's session when they joined the recorded one (`listed` record) and their books
stream from then on; the rules derived from the re-read listing bodies apply when the session
applied them (`listings` record)."""
from __future__ import annotations

import asyncio
import gzip
import json

from arbbot.replay.command import run_replays
from arbbot.replay.format import RecordingError, read_recording
from arbbot.replay.recorder import SessionRecorder
from arbbot.run.live import LiveSession, connect_simulated_venues
from arbbot.sim import serve
from tests.mapping.twins import sim_twins
from tests.venues.conftest import wait_for

KALSHI = "KXFEDDECISION-26DEC-H0"


def _record_a_refresh(path) -> dict:
    """Record a session against the simulator in which two markets (a Kalshi one in a
    mutually exclusive event, and its Polymarket twin) are listed after the start and found by
    a refresh; what the session ended with."""
    handle = serve("all", 0, step_interval=None)
    cond = next(r.ids[1] for r in sim_twins() if r.ids[0] == KALSHI)
    names = [f"kalshi:{KALSHI}", f"polymarket:{cond}"]
    late = [handle.kalshi.exchange.markets[KALSHI], handle.polymarket.exchange.markets[cond]]
    for m in late:
        m.open = False                           # not listed as active yet

    async def main():
        recorder = SessionRecorder(path, "simulator")
        venues = {name: recorder.wrap(name, v) for name, v in (await connect_simulated_venues(handle)).items()}
        session = LiveSession(venues, [], stale_after_s=60.0, snapshot_start=True, bootstrap_wait_s=60.0)
        try:
            await session.discover()
            recorder.start()
            session.on_listed, session.on_listings = recorder.listed, recorder.listings
            before = len(session.markets)
            session.start_streams()
            await wait_for(lambda: session.healthy() == before, timeout=30, what="the start's snapshots")
            await asyncio.sleep(0.2)
            for m in late:
                m.open = True                    # listed now
            assert await session.refresh_listings()
            await wait_for(lambda: session.healthy() == before + 2, timeout=30, what="the listed markets' books")
            await asyncio.sleep(0.2)
            members = {session.universe.markets[i].name for r in session.universe.relations for i in r.members}
            return {"before": before, "markets": len(session.markets), "relations": len(session.universe.relations),
                    "listed_in_relations": all(n in members for n in names)}
        finally:
            await session.close()
            recorder.close()
    try:
        return asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        handle.stop()


def test_a_recorded_refresh_adds_the_listed_markets_and_their_rules_when_it_happened(tmp_path):
    path = tmp_path / "refresh.jsonl.gz"
    live = _record_a_refresh(path)
    assert live["markets"] == live["before"] + 2 and live["listed_in_relations"]
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh][1:]
    kinds = [r["kind"] for r in records]
    listed = records[kinds.index("listed")]
    refresh = records[kinds.index("listings")]
    assert kinds.count("listed") == 1 and kinds.count("listings") == 1
    assert sorted(m["market_id"] for m in listed["markets"]) == sorted([KALSHI, next(
        r.ids[1] for r in sim_twins() if r.ids[0] == KALSHI)])
    assert refresh["mappings"] is None and set(refresh["venues"]) == {"kalshi", "polymarket", "forecastex"}
    assert listed["recv_ts_ms"] <= refresh["recv_ts_ms"]
    listed_ids = {m["market_id"] for m in listed["markets"]}
    late_books = [r for r in records if r["kind"] == "book" and r["market"] in listed_ids]
    assert late_books and all(r["recv_ts_ms"] >= listed["recv_ts_ms"] for r in late_books)

    recording = read_recording(path)
    first = run_replays(str(path), [None])
    again = run_replays(str(path), [None])
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)      # deterministic
    result = first["results"][0]
    assert result["markets"] == live["markets"]                  # the listed markets joined the replay
    assert result["relations"] == live["relations"]              # and the rules the refresh derived
    assert result["books"] + result["coalesced"] == recording.books     # every recorded book, theirs too


def test_a_bad_listed_or_listings_record_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    header = {"format": "arbbot.recording/1", "started_ms": 1_795_846_592_000, "source": "simulator",
              "venues": {"kalshi": {"markets": [], "events": [], "listing_bodies": []}}}
    for bad, words in (({"recv_ts_ms": 5, "kind": "listed", "markets": [{"venue": "nowhere"}]}, "bad listed record"),
                       ({"recv_ts_ms": 5, "kind": "listings", "digest": 7, "venues": {}, "mappings": None},
                        "bad listings record")):
        path.write_text(json.dumps(header) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
        try:
            read_recording(path)
        except RecordingError as exc:
            assert f"{path}:2: {words}" in str(exc)
        else:
            raise AssertionError("accepted a bad record")
