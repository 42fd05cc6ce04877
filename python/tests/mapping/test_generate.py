"""Relations and twins generated from a running session's own discovery (arbbot.mapping.generate):
the adapters' listing bodies read as `arbbot rules`/`arbbot map` read saved files, the matcher's
twins cached by a hash of the listings, a user's rows winning, and a session that finds the
bucket, cross, parity and tree lanes with no hand-written mapping, never on a look-alike."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import httpx
import pytest

from arbbot.engine import Engine
from arbbot.mapping.generate import generated_mappings, listings_digest, merge_mappings, session_listings
from arbbot.mapping.listings import load_listings
from arbbot.mapping.table import MappingRow, trade_selection
from arbbot.run.live import LiveSession, connect_simulated_venues, rebuilt_universe
from arbbot.sim import serve
from arbbot.sim.scenarios import build
from tests.mapping.twins import sim_flipped_twins, sim_twins
from tests.fx_day import MID, EVENT

TRAP_EVENTS = ("KXHIGHNY-26DEC01", "nyc-lga-high-dec-1", "KXFEDEMERG-27", "fed-emergency-cut-by-march-31")


def trap_markets() -> set[str]:
    """The look-alikes: same words, different station or deadline, priced apart."""
    return {f"{x.venue}:{x.market_id}" for e in build("all", 0).events if e.event_id in TRAP_EVENTS
            for q in e.questions for x in q.listings}


@pytest.fixture(scope="module")
def sim():
    handle = serve("all", 0, step_interval=0.05)
    yield handle
    handle.stop()


def run(coro, timeout: float = 120):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="module")
def discovered(sim):
    """(venue → listings from the adapters' bodies, venue → the bodies themselves)."""
    async def main():
        venues = await connect_simulated_venues(sim)
        try:
            for venue in venues.values():
                await venue.discover_markets()
            return session_listings(venues), {name: v.listing_bodies() for name, v in venues.items()}
        finally:
            for venue in venues.values():
                await venue.close()
    return run(main())


def test_discovery_bodies_read_like_saved_files(sim, discovered, tmp_path):
    listings, bodies = discovered
    assert {v: len(xs) for v, xs in listings.items()} == {"kalshi": 17, "polymarket": 19, "forecastex": 3}
    # what a user saves from the same endpoints reads to the same listings (but their `source`)
    (tmp_path / "k.json").write_text(httpx.get(sim.urls["kalshi_rest"] + "/events",
                                               params={"with_nested_markets": "true", "status": "open"}).text)
    (tmp_path / "f.json").write_text(json.dumps(bodies["forecastex"][0]))
    strip = lambda xs: sorted((dataclasses.replace(x, source="") for x in xs), key=lambda x: x.market_id)  # noqa: E731
    assert strip(load_listings("kalshi", [str(tmp_path / "k.json")])) == strip(listings["kalshi"])
    assert strip(load_listings("forecastex", [str(tmp_path / "f.json")])) == strip(listings["forecastex"])
    fx = {x.market_id: x for x in listings["forecastex"]}
    assert str(fx[MID].floor_strike) == "4.125" and fx[MID].event_id == EVENT


def test_digest_follows_content_not_source(discovered):
    listings, _ = discovered
    digest = listings_digest(listings)
    moved = {v: [dataclasses.replace(x, source="elsewhere") for x in xs] for v, xs in listings.items()}
    assert listings_digest(moved) == digest and len(digest) == 64
    first = listings["kalshi"][0]
    retitled = {**listings, "kalshi": [dataclasses.replace(first, title=first.title + " (amended)"),
                                       *listings["kalshi"][1:]]}
    assert listings_digest(retitled) != digest


def test_generated_twins_are_the_true_ones_never_the_look_alikes_and_cached(discovered, tmp_path):
    listings, _ = discovered
    fresh = generated_mappings(listings, tmp_path)
    assert not fresh.cached and (tmp_path / f"{fresh.digest}.json").is_file()
    assert {(r.ids, r.relation) for r in fresh.rows} == {(r.ids, r.relation) for r in sim_twins()} | sim_flipped_twins()
    assert min(r.confidence for r in fresh.rows) >= 950_000 and {r.approved for r in fresh.rows} == {None}
    assert all(r.reasons for r in fresh.rows)
    assert not {n for r in fresh.rows for n in r.names()} & trap_markets()
    again = generated_mappings(listings, tmp_path)
    assert again.cached and again.rows == fresh.rows and again.digest == fresh.digest
    (tmp_path / f"{fresh.digest}.json").write_text("{not json")          # a damaged cache: matched again
    repaired = generated_mappings(listings, tmp_path)
    assert not repaired.cached and repaired.rows == fresh.rows
    assert generated_mappings(listings, tmp_path).cached


def test_a_new_matcher_version_matches_again_and_older_twins_still_read(discovered, tmp_path, monkeypatch):
    """The cache is keyed by the generator's version as well as the listings: after a matcher
    change (GENERATOR bumped) the twins an older one cached are not used. A recording's twins
    written by an older generator with the same rows still read."""
    import arbbot.mapping.generate as generate
    listings, _ = discovered
    now = generated_mappings(listings, tmp_path)
    monkeypatch.setattr(generate, "GENERATOR", "arbbot.generated-mappings/1")
    older = listings_digest(listings)
    assert older != now.digest and not (tmp_path / f"{older}.json").exists()
    monkeypatch.undo()
    doc = generate.rows_to_json(now.digest, now.rows)
    assert generate.rows_from_json({**doc, "format": "arbbot.generated-mappings/1"}) == now.rows
    with pytest.raises(ValueError, match="format"):
        generate.rows_from_json({**doc, "format": "arbbot.generated-mappings/0"})


def test_generation_in_a_worker_process_gives_the_in_process_result_and_dies_with_a_cancel(
        discovered, tmp_path, monkeypatch):
    import signal
    from arbbot.mapping.generate import generated_mappings_in_worker
    listings, _ = discovered
    in_worker = run(generated_mappings_in_worker(listings, None))
    assert in_worker == generated_mappings(listings, None) and not in_worker.cached and in_worker.rows

    started = []
    real = asyncio.create_subprocess_exec

    async def recording(*args, **kw):
        started.append(await real(*args, **kw))
        return started[-1]
    monkeypatch.setattr(asyncio, "create_subprocess_exec", recording)

    async def cancelled():
        task = asyncio.ensure_future(generated_mappings_in_worker(listings, tmp_path))
        while not started:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return task
    task = run(cancelled())
    assert task.cancelled() and started[0].returncode == -signal.SIGKILL      # killed, and reaped
    assert not list(tmp_path.iterdir())                                       # it wrote no cache


def test_the_worker_runs_at_a_lower_cpu_priority_than_its_parent(discovered):
    """The matcher is background work: its process is reniced by NICENESS before it reads its
    input (a core for half a minute at 20k must not starve the session's books)."""
    import os
    import pickle
    import subprocess
    import sys
    import time

    from arbbot.mapping.worker import NICENESS
    listings, _ = discovered

    def nice_of(pid: int) -> int:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[16])     # field 19: nice
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.mapping.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while nice_of(proc.pid) == nice_of(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.02)                      # (it renices itself once Python has started)
        assert nice_of(proc.pid) == min(19, nice_of(os.getpid()) + NICENESS)
        out, _ = proc.communicate(pickle.dumps((listings, None)), timeout=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and pickle.loads(out) == generated_mappings(listings, None)


def test_a_worker_whose_session_is_gone_exits_quietly(discovered):
    """The session killed (or stopped) while its worker matched: the answer finds no reader. The
    worker exits with nothing on stderr (which is the session's log: a traceback there is not a
    JSON line), not with a BrokenPipeError."""
    import os
    import pickle
    import subprocess
    import sys

    listings, _ = discovered
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.mapping.worker"], stdin=subprocess.PIPE,
                            stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    os.close(read_end)                            # the parent is gone before the worker answers
    try:
        _, err = proc.communicate(pickle.dumps((listings, None)), timeout=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, err) == (0, b"")


def test_user_rows_win_over_generated_ones():
    generated = [MappingRow(r.ids, r.relation, r.confidence, None, "generated") for r in sim_twins()]
    rejected = MappingRow(generated[0].ids, "same", 990_000, False)
    elsewhere = MappingRow((generated[1].ids[0], "0xmine", ""), "same", 800_000, True)
    merged = merge_mappings([rejected, elsewhere], generated)
    assert merged == [rejected, elsewhere, *generated[2:]]
    chosen = trade_selection(merged)
    assert chosen.rows == [elsewhere, *generated[2:]] and dict(chosen.left_out) == {"rejected": 1}


def test_session_generates_twins_while_streaming_and_finds_four_lanes(sim, tmp_path):
    traps = trap_markets()
    seen: list = []

    async def main():
        session = LiveSession(await connect_simulated_venues(sim), [], generate=True, cache_dir=tmp_path)
        session.on_opportunity = seen.append
        try:
            await session.discover()
            assert session.structural == len(session.universe.relations) == 16
            session.start_streams()
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and (
                    session.generation is None or not {"bucket", "cross", "parity", "tree"} <= set(session.stats.found)):
                await asyncio.sleep(0.2)
            full = Engine(rebuilt_universe(session), engine=session.engine_choice).scan().opportunities
            return session, full, session.engine.scan().opportunities
        finally:
            await session.close()

    session, full, incremental = run(main())
    assert session.generation["relations_added"] == 12 and session.generation["proposed"] == 12   # 10 + 2 flipped
    assert len(session.universe.relations) == 28 and len(session.mappings) == 12 and session.errors == []
    assert {"bucket", "cross", "parity", "tree"} <= set(session.stats.found), dict(session.stats.found)
    names = [m.name for m in session.universe.markets]
    assert not {names[m] for r in session.universe.relations for m in r.members} & traps
    assert not {leg.market for o in seen for leg in o.legs} & traps
    assert [o.id for o in incremental] == [o.id for o in full]     # the rebuilt engine tracks every book


def test_a_changed_listing_is_matched_again_on_refresh(tmp_path):
    """Listings re-read with nothing changed leave the session alone; a Polymarket twin whose
    question moves to another meeting no longer settles like its Kalshi partner: on the next
    refresh the pair is dropped (and its relation with it), the rest kept."""
    handle = serve("all", 0, step_interval=None)
    try:
        async def main():
            session = LiveSession(await connect_simulated_venues(handle), [], generate=True, cache_dir=tmp_path)
            try:
                await session.discover()
                session.start_streams()
                while session.generation is None:
                    await asyncio.sleep(0.05)
                assert len(session.universe.relations) == 28 and session.listings_digest     # 16 rules + 12 twins
                unchanged = await session.refresh_listings()
                cond = next(r.ids[1] for r in sim_twins() if r.ids[0] == "KXFEDDECISION-26DEC-H0")
                listing = handle.polymarket.listings[cond][2]
                listing.title = listing.title.replace("December 2026", "March 2027")
                changed = await session.refresh_listings()
                twins = {r.ids for r in session.mappings}
                return unchanged, changed, session, twins, cond
            finally:
                await session.close()
        unchanged, changed, session, twins, cond = run(main())
    finally:
        handle.stop()
    assert (unchanged, changed, session.refreshes) == (False, True, 1)
    assert len(twins) == 11 and not any(cond in ids for ids in twins)
    assert len(session.universe.relations) == 27 and session.structural == 16
    names = {session.universe.markets[m].name for r in session.universe.relations for m in r.members}
    assert "kalshi:KXFEDDECISION-26DEC-H0" in names          # still in its own event's bucket


def test_refresh_without_generation_changes_nothing_on_unchanged_listings():
    handle = serve("fed", 0, step_interval=None)
    try:
        async def main():
            session = LiveSession(await connect_simulated_venues(handle), [])
            try:
                await session.discover()
                before = session.universe.relations
                return await session.refresh_listings(), before, session
            finally:
                await session.close()
        changed, before, session = run(main())
    finally:
        handle.stop()
    assert not changed and session.refreshes == 0 and session.universe.relations == before
    assert session.listings_digest is not None and len(before) == session.structural == 2   # Kalshi + Polymarket buckets
