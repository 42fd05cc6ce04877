"""Known markets whose fee terms changed are re-priced at the next listing refresh, instead of
staying held until a restart.

Kalshi: a market the session priced at 0.07 is held (its books untradeable) once its series'
terms become dearer (here a change scheduled in `GET /series/fee_changes` that came due: 0.07 →
0.14). A listing refresh reads the new terms: the session prices the market with them (its
market, the engine, the trader), tells the venue, and the hold is released. A recording keeps a
`repriced` record so a replay re-prices at the same moment."""
from __future__ import annotations

import asyncio
import gzip
import json
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

from arbbot.replay.format import RecordReader
from arbbot.replay.recorder import SessionRecorder
from arbbot.run.live import LiveSession, connect_simulated_venues
from arbbot.sim import serve
from arbbot.venues.kalshi.fee_overrides import EventFees
from arbbot.venues.kalshi.fees import fee_schedule
from arbbot.venues.kalshi.schemas.rest import parse_series
from tests.venues.conftest import wait_for

SERIES, EVENT = "KXFEDDECISION", "KXFEDDECISION-26DEC"


def test_a_market_priced_again_with_the_terms_in_force_is_released():
    fees = EventFees()
    series = parse_series({"ticker": SERIES, "fee_type": "quadratic", "fee_multiplier": Decimal("1")})
    fees.issued(EVENT, "T1", fees.schedule(EVENT, series))
    dearer = parse_series({"ticker": SERIES, "fee_type": "quadratic", "fee_multiplier": Decimal("2")})
    assert fees.series_terms({SERIES: dearer}) == ["T1"] and "140000 ppm above the 70000" in fees.holds["T1"]
    assert fees.repriced("T1", fee_schedule("quadratic", Decimal("2"))) == ["T1"] and fees.holds == {}
    # priced at 0.14 now: dearer terms than that hold it again, 0.14 itself does not
    assert fees.series_terms({SERIES: parse_series({"ticker": SERIES, "fee_type": "quadratic",
                                                    "fee_multiplier": Decimal("3")})}) == ["T1"]
    assert fees.repriced("UNKNOWN", fee_schedule("quadratic", Decimal("1"))) == []


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_refresh_reprices_the_markets_whose_terms_changed_and_the_recording_says_so(tmp_path):
    handle = serve("fed", 0, step_interval=None)
    path = tmp_path / "r.jsonl.gz"

    async def change_terms():
        sim = handle.kalshi
        sim.fee_changes = [{"id": "fc-1", "series_ticker": SERIES, "fee_type": "quadratic", "fee_multiplier": 2,
                            "scheduled_ts": _iso(sim.clock_ms() - 1_000)}]

    async def main():
        recorder = SessionRecorder(path, "simulator")
        venues = {name: recorder.wrap(name, v) for name, v in (await connect_simulated_venues(handle)).items()}
        session = LiveSession(venues, [], stale_after_s=60.0, snapshot_start=True, bootstrap_wait_s=60.0)
        told = []
        try:
            await session.discover()
            recorder.start()
            session.on_repriced = recorder.repriced
            session.trader = SimpleNamespace(markets_repriced=told.extend, sizer=None)
            fed = [str(m.id) for m in session.markets if m.market_id.startswith(EVENT)]
            before = {n: session.markets[session.index[n]].fees.taker_rate_ppm for n in fed}
            session.start_streams()
            await wait_for(lambda: session.healthy() == len(session.markets), timeout=30, what="every book")
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(change_terms(), handle.loop))
            assert await session.refresh_listings()
            after = {n: session.markets[session.index[n]].fees.taker_rate_ppm for n in fed}
            engine = {n: session.universe.markets[session.index[n]].fees.taker_rate_ppm for n in fed}
            holds = dict(session.venues["kalshi"].provider.fee_holds)
            await wait_for(lambda: not any(n in session.held for n in fed), timeout=10, what="the books released")
            again = await session.refresh_listings()          # nothing changed since
            return fed, before, after, engine, holds, sorted(str(m.id) for m in told), again
        finally:
            await session.close()
            recorder.close()
    try:
        fed, before, after, engine, holds, told, again = asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        handle.stop()
    assert len(fed) == 4 and set(before.values()) == {70_000}
    assert after == engine == {n: 140_000 for n in fed}         # the session's markets and the engine
    assert holds == {} and told == sorted(fed) and again is False
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh][1:]
    repriced = [r for r in records if r["kind"] == "repriced"]
    assert len(repriced) == 1 and sorted(f"kalshi:{m['market_id']}" for m in repriced[0]["markets"]) == sorted(fed)
    read = []
    reader = RecordReader(path)
    reader.on_repriced = lambda at, markets: read.append((at, [(m.market_id, m.fees.taker_rate_ppm) for m in markets]))
    for _ in reader.records():
        pass
    assert read == [(repriced[0]["recv_ts_ms"], [(m["market_id"], 140_000) for m in repriced[0]["markets"]])]
