"""The recorder writes what waits in memory every FLUSH_S even when no record arrives (a quiet
feed), counts the records written (not those handed to it), and a write that fails makes `arbbot
run` say so and exit 1. Raw REST records name their venue."""
import asyncio
import json
import resource
import time

import httpx
import pytest

from arbbot.model import Book, MarketId, Venue
from arbbot.replay import recorder as recorder_module
from arbbot.replay.format import read_recording
from arbbot.replay.recorder import SessionRecorder
from tests.replay.conftest import bot

BOOK = Book(((4_000, 100),), ((4_100, 100),), market=MarketId(Venue.KALSHI, "M1"))


@pytest.mark.parametrize("name", ["q.jsonl", "q.jsonl.gz"])
def test_a_quiet_feed_still_reaches_the_file_within_flush_s(tmp_path, name, monkeypatch):
    monkeypatch.setattr(recorder_module, "FLUSH_S", 0.1)
    path = tmp_path / name
    rec = SessionRecorder(path, "test")
    rec.start()
    for _ in range(3):
        rec.book("kalshi", BOOK)
    time.sleep(0.5)                                       # then silence: nothing more arrives
    try:
        assert (read_recording(path).books, rec.books) == (3, 3)     # on disk before the close
    finally:
        rec.close()


class _FailingFile:
    """The recording file, failing (disk full) from its `fail_at`th write on."""

    def __init__(self, fh, fail_at: int) -> None:
        self.fh, self.writes, self.fail_at = fh, 0, fail_at

    def write(self, data):
        self.writes += 1
        if self.writes >= self.fail_at:
            raise OSError(28, "No space left on device")
        return self.fh.write(data)

    def flush(self):
        self.fh.flush()

    def close(self):
        self.fh.close()


def test_the_counts_are_of_the_records_written(tmp_path, monkeypatch):
    monkeypatch.setattr(recorder_module, "FLUSH_S", 0.05)
    path = tmp_path / "w.jsonl"
    rec = SessionRecorder(path, "test")
    rec._fh = _FailingFile(rec._fh, fail_at=3)            # the header, the first chunk; then the disk is full
    rec.start()
    for _ in range(2):
        rec.book("kalshi", BOOK)
    rec.raw({"kind": "ws", "venue": "kalshi", "frame": "{}"})
    time.sleep(0.3)                                       # written as a chunk of its own
    for _ in range(5):
        rec.book("kalshi", BOOK)
    rec.close()
    assert rec.summary() == {"path": str(path), "books": 2, "frames": 1,
                             "error": "OSError: [Errno 28] No space left on device"}
    assert read_recording(path).books == 2


def test_a_failed_recording_write_exits_1_and_says_so(tmp_path):
    def small_files():                                    # the recording outgrows this; the run's own files do not
        resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))
    import os
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "arbbot.cli", "live", "--duration", "5", "--json", "--metrics-port",
                          "0", "--record", "r.jsonl"], cwd=tmp_path, env={**os.environ, "ARB_KILL_FILE": ""},
                         preexec_fn=small_files, capture_output=True, text=True, timeout=180)
    assert out.returncode == 1, out.stderr[-3000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])["recording"]
    assert summary["error"] == "OSError: [Errno 27] File too large"
    assert 0 < summary["books"] <= read_recording(tmp_path / "r.jsonl").books    # (a chunk cut by the limit)
    assert (f"arbbot live: --record r.jsonl: writing failed (OSError: [Errno 27] File too large); the recording is "
            f"incomplete: {summary['books']:,} book and {summary['frames']:,} raw records written") in out.stderr


def test_kalshi_rest_records_name_their_venue():
    from arbbot.venues.kalshi.config import KalshiConfig
    from arbbot.venues.kalshi.http.client import KalshiHttpClient
    seen = []
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"markets": []}))
    client = KalshiHttpClient(KalshiConfig(rest_url="http://kalshi.test/trade-api/v2"), recorder=seen.append,
                              transport=transport)

    async def get():
        try:
            return await client.get("/markets")
        finally:
            await client.close()
    assert asyncio.run(get()) == {"markets": []}
    assert seen == [{"kind": "rest", "venue": "kalshi", "method": "GET", "path": "/markets", "status": 200,
                     "body": '{"markets":[]}'}]


def test_a_one_off_snapshot_is_recorded_as_a_fetched_book_is():
    """The executor re-quotes a leg with the adapter's `snapshot_book` where it has one (IB).
    Before (review of that change), the recording venue passed it through unrecorded, so a
    recording missed the books an execution was decided on; an adapter without one still has none."""
    import asyncio
    from types import SimpleNamespace

    from arbbot.model import Book, MarketId, Venue
    from arbbot.replay.recorder import RecordingVenue

    book = Book(yes_bids=((3_900, 5_000),), market=MarketId(Venue.FORECASTEX, "FF-1"))

    class Inner:
        async def snapshot_book(self, market_id):
            return book

    recorded = []
    recorder = SimpleNamespace(book=lambda name, b: recorded.append((name, b)), raw=None)
    venue = RecordingVenue(Inner(), recorder, "forecastex")
    assert asyncio.run(venue.snapshot_book("FF-1")) is book and recorded == [("forecastex", book)]
    assert getattr(RecordingVenue(SimpleNamespace(), recorder, "kalshi"), "snapshot_book", None) is None
