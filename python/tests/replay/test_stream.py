"""Replay streams the recording: memory that does not grow with its length, raw lines skipped
unparsed, bad lines found mid-file named by file and line (also when reached mid-replay), a
read-ahead that stays bounded, and a recorder whose writer thread loses nothing at close."""
import asyncio
import gzip
import re
import json
import shutil
import tracemalloc

import pytest

from arbbot.model import Book, MarketId, MarketInfo, Venue
from arbbot.replay import format as format_module, venue as replay_venue
from arbbot.replay.command import run_replays
from arbbot.replay.format import FORMAT, RecordingError, book_records, market_to_json, read_recording
from arbbot.replay.recorder import SessionRecorder
from arbbot.replay.venue import BookSource, ReplayVenue
from arbbot.replay.vloop import VirtualClock, run_virtual
from tests.replay.conftest import bot as _bot

T0 = 1_795_846_592_000
KALSHI = [MarketInfo(Venue.KALSHI, f"KX-{i}", f"Kalshi {i}") for i in range(4)]
POLY = [MarketInfo(Venue.POLYMARKET, f"0x{i}", f"Poly {i}") for i in range(4)]


def _header() -> str:
    venues = {"kalshi": {"markets": [market_to_json(m) for m in KALSHI], "events": [], "listing_bodies": []},
              "polymarket": {"markets": [market_to_json(m) for m in POLY], "events": [], "listing_bodies": []}}
    return json.dumps({"format": FORMAT, "started_ms": T0, "source": "simulator", "venues": venues}) + "\n"


def _book_line(at: int, venue: str, market: str, qty: int) -> str:
    """A book record as the recorder writes it (compact, `recv_ts_ms` then `kind` first)."""
    return json.dumps({"recv_ts_ms": at, "kind": "book", "venue": venue, "market": market,
                       "book": [[[4_000, qty], [3_900, 500]], [], [[5_500, 200]], []], "tradeable": True,
                       "reason": ""}, separators=(",", ":")) + "\n"


def _raw_line(at: int, frame: str = '{"type":"delta"}') -> str:
    return json.dumps({"recv_ts_ms": at, "kind": "ws", "venue": "kalshi", "frame": frame},
                      separators=(",", ":")) + "\n"


def _recording(path, books: int) -> str:
    """`books` book records over the 4 Kalshi markets, one every ms, a raw frame between each."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_header())
        for i in range(books):
            fh.write(_book_line(T0 + i, "kalshi", KALSHI[i % 4].market_id, 100 + i))
            fh.write(_raw_line(T0 + i))
    return str(path)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_and_streaming_hold_no_more_memory_for_a_ten_times_longer_recording(tmp_path):
    short = _recording(tmp_path / "short.jsonl", 2_000)
    long = _recording(tmp_path / "long.jsonl", 20_000)

    def read_and_stream(path):
        def run():
            rec = read_recording(path)
            assert sum(1 for _ in rec.stream()) == rec.books
        return run
    read_and_stream(short)()                           # imports, decoder caches: not measured
    small, large = _peak_bytes(read_and_stream(short)), _peak_bytes(read_and_stream(long))
    # holding the 20,000 books would take megabytes more (tens of tuples each); streaming: the same
    assert large < small * 1.3 + 200_000, (small, large)
    rec = read_recording(long)
    assert (rec.books, rec.frames, rec.last_ms, rec.venue_books) == (20_000, 20_000, T0 + 19_999, {"kalshi": 20_000})


def test_records_are_read_lazily_in_file_order(tmp_path):
    path = tmp_path / "r.jsonl"
    _recording(path, 10)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"recv_ts_ms": 1, "kind": "telepathy"}\n')        # line 22
    stream = book_records(path)
    at, book = next(stream)                                        # read before the bad line is reached
    assert at == T0 and book == Book(((4_000, 100), (3_900, 500)), (), ((5_500, 200),), (),
                                     market=MarketId(Venue.KALSHI, "KX-0"))
    with pytest.raises(RecordingError, match=r"r\.jsonl:22: unknown record kind 'telepathy'"):
        for _ in stream:                                           # reached when the stream gets there
            pass


def test_raw_lines_in_the_recorders_form_are_skipped_unparsed(tmp_path):
    path = tmp_path / "r.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_header())
        fh.write(_book_line(T0, "kalshi", "KX-0", 7))
        fh.write('{"recv_ts_ms":1795846592001,"kind":"ws","frame": not json at all ]]]\n')   # never parsed
        fh.write('{"recv_ts_ms":1795846592002,"kind":"rest","body":"\\"kind\\":\\"book\\""}\n')
        fh.write(_book_line(T0 + 3, "kalshi", "KX-1", 8))
        fh.write('{"recv_ts_ms":1795846592004,"kind":"ws","frame":"cut sh')                   # crash-cut last line
    rec = read_recording(path)
    assert (rec.books, rec.frames) == (2, 2)
    assert [(at, b.yes_bids[0][1]) for at, b in rec.stream()] == [(T0, 7), (T0 + 3, 8)]
    # a line not in the recorder's form is parsed whole and checked, as before
    bad = tmp_path / "bad.jsonl"
    bad.write_text(_header() + '{"kind": "ws", "frame": not json}\n' + _book_line(T0, "kalshi", "KX-0", 7),
                   encoding="utf-8")
    with pytest.raises(RecordingError, match=r"bad\.jsonl:2: not JSON"):
        read_recording(bad)


@pytest.mark.parametrize("line, message", [
    ('{"recv_ts_ms":1795846592500,"kind":"book","venue":"kalshi","market":"KX-0","book":[[[1,"x"]]]}\n',
     "bad book record"),
    ('{"recv_ts_ms":1795846592500,"kind":"book","venue":"nowhere","market":"KX-0","book":[]}\n', "bad book record"),
    ('{"recv_ts_ms":1795846592500,"kind":"book","venue":"kalshi","market":"KX-0","book":[[],[],[],[],[]]}\n',
     "bad book record"),
    ('{"recv_ts_ms":1795846591000,"kind":"book","venue":"kalshi","market":"KX-0","book":[]}\n',
     "recv_ts_ms 1795846591000 goes back in time"),
    ('{"recv_ts_ms":1795846592500,"kind":"book","venue":"kalshi"\n', "not JSON"),
])
def test_a_bad_line_mid_file_names_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "mid.jsonl.gz"
    lines = [_header()] + [_book_line(T0 + i, "kalshi", "KX-0", i) for i in range(100)]
    lines.insert(51, line)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("".join(lines))
    with pytest.raises(RecordingError) as err:
        read_recording(path)
    assert f"mid.jsonl.gz:52: {message}" in str(err.value)
    with pytest.raises(RecordingError, match="mid.jsonl.gz:52"):
        list(book_records(path))


def _deliveries(path, read_ahead: int, monkeypatch) -> tuple[dict, int]:
    """Both venues' streams consumed on a virtual loop: venue → [(virtual ms, recv ms, qty)]."""
    monkeypatch.setattr(replay_venue, "READ_AHEAD", read_ahead)
    rec = read_recording(path)
    clock = VirtualClock(rec.started_ms / 1000)
    source = BookSource(rec, clock)
    feeds = {name: ReplayVenue(name, rec, clock, source) for name in rec.markets}
    got: dict[str, list] = {name: [] for name in feeds}

    async def consume(name, feed):
        ids = [m.market_id for m in rec.markets[name]]
        async for update in feed.stream_books(ids):
            got[name].append((clock.ms(), update.recv_ts_ms, update.book.yes_bids[0][1]))

    async def main():
        tasks = [asyncio.create_task(consume(n, f)) for n, f in feeds.items()]
        for feed in feeds.values():
            await feed.finished.wait()
        for t in tasks:
            t.cancel()
    run_virtual(main(), clock)
    return got, source.max_buffered


def test_a_silent_venue_does_not_pull_the_others_books_into_memory(tmp_path, monkeypatch):
    """Kalshi: a book at the start and one 10 s later; Polymarket: 2,000 books between. Kalshi's
    stream waits on the virtual clock instead of reading all of them ahead (read in 2 KiB chunks
    here, ≤ 14 books each: the cap holds to within one chunk)."""
    monkeypatch.setattr(format_module, "READ_BUFFER", 2048)
    path = tmp_path / "gap.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_header())
        fh.write(_book_line(T0, "kalshi", "KX-0", 1))
        for i in range(2_000):
            fh.write(_book_line(T0 + 1 + i * 5, "polymarket", POLY[i % 4].market_id, 10 + i))
        fh.write(_book_line(T0 + 10_001, "kalshi", "KX-0", 2))
    capped, capped_max = _deliveries(path, 50, monkeypatch)
    free, free_max = _deliveries(path, 1_000_000, monkeypatch)
    assert capped_max <= 50 + 14 < free_max == 2_001      # without the cap: every book read ahead
    assert capped == free                                  # the same books at the same virtual times
    assert [q for _, _, q in capped["kalshi"]] == [1, 2] and len(capped["polymarket"]) == 2_000
    assert all(now == at for rows in capped.values() for now, at, _ in rows)   # each at its receive time


def test_a_bad_record_reached_mid_replay_ends_it_with_the_file_and_line(recorded, tmp_path):
    """The file changes after its checking pass: the replay stops with RecordingError (the session's
    stream retry does not swallow it), and the CLI prints one line and exits 2."""
    from arbbot.replay.command import load_config
    from arbbot.replay.run import replay
    path, _ = recorded
    plain = tmp_path / "rec.jsonl"
    with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    rec = read_recording(plain)
    lines = plain.read_bytes().splitlines(keepends=True)
    middle = next(n for n in range(len(lines) // 2, len(lines)) if b'"kind":"book"' in lines[n][:48])
    lines[middle] = b'{"recv_ts_ms":1,"kind":"book","venue":"kalshi","market":"X","book":[[["a",1]]]}\n'
    plain.write_bytes(b"".join(lines))
    with pytest.raises(RecordingError, match=rf"rec\.jsonl:{middle + 1}: bad book record"):
        replay(rec, load_config(None), tmp_path)
    out = _bot("replay", str(plain), "--json", cwd=tmp_path)     # checked before the replay starts
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    # one line says why (the executions' log lines before it, `[warning  ] …`, are the replay's own)
    said = [line for line in out.stderr.splitlines() if line and not re.match(r"\[\w+ *\] ", line)]
    assert len(said) == 1 and f"rec.jsonl:{middle + 1}: bad book record" in said[0], out.stderr[-2000:]


@pytest.mark.parametrize("name", ["w.jsonl", "w.jsonl.gz"])
def test_the_writer_thread_loses_nothing_at_close(tmp_path, name):
    path = tmp_path / name
    ticks = iter(range(10**9))
    rec = SessionRecorder(path, "simulator", clock=lambda: T0 / 1000 + next(ticks) / 1000)
    early = [Book(((4_000, q),), market=MarketId(Venue.KALSHI, "KX-0")) for q in range(1, 6)]
    for book in early:                                     # before the header: held, then written after it
        rec.book("kalshi", book)
    rec.start(T0)
    k = 30_000                                             # several chunks for the writer thread
    for i in range(k):
        rec.book("kalshi", Book(((4_000, 10 + i),), (), ((5_000, i + 1),), market=KALSHI[i % 4].id))
        rec.raw({"kind": "ws", "venue": "kalshi", "frame": f'{{"seq":{i},"text":"é \\" ok"}}'})
    rec.close()
    rec.close()                                            # idempotent
    assert rec.summary() == {"path": str(path), "books": k + 5, "frames": k}
    back = read_recording(path)
    assert (back.books, back.frames, back.started_ms) == (k + 5, k, T0)
    got = [(b.market.id, b.yes_bids[0][1]) for _, b in back.stream()]
    assert got == [("KX-0", q) for q in range(1, 6)] + [(KALSHI[i % 4].market_id, 10 + i) for i in range(k)]
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert json.loads(lines[0])["format"] == FORMAT and len(lines) == 1 + 5 + 2 * k
    assert json.loads(lines[-1]) == {"recv_ts_ms": json.loads(lines[-1])["recv_ts_ms"], "kind": "ws",
                                     "venue": "kalshi", "frame": f'{{"seq":{k - 1},"text":"é \\" ok"}}'}
    assert json.loads(lines[6]) == {"recv_ts_ms": json.loads(lines[6])["recv_ts_ms"], "kind": "book",
                                    "venue": "kalshi", "market": "KX-0", "book": [[[4000, 10]], [], [[5000, 1]], []],
                                    "tradeable": True, "reason": ""}


def test_two_configurations_each_stream_the_file_again(recorded, tmp_path, monkeypatch):
    from arbbot.replay.format import RecordReader
    opened = []
    inner = RecordReader.bursts
    monkeypatch.setattr(RecordReader, "bursts", lambda reader, scanner: (opened.append(reader.path), inner(reader, scanner))[1])
    path, _ = recorded
    small = tmp_path / "small.toml"
    small.write_text("max_contracts = 2\n", encoding="utf-8")
    out = run_replays(str(path), [None, str(small)], workers=1)   # (in this process: counted here)
    assert len(opened) == 2 and [r["books"] + r["coalesced"] for r in out["results"]] == [out["recording"]["books"]] * 2


def test_a_replay_reports_its_progress_through_the_file(recorded, tmp_path, monkeypatch):
    """`on_progress(bytes read, books)` every PROGRESS_EVERY book records, at the end of the chunk
    that crossed the mark (2 KiB of gzip at a time here: < 200 books): positions grow up to the file's size
    (compressed bytes for .gz), the counts are the records read so far."""
    import os

    from arbbot.replay.command import load_config
    from arbbot.replay.format import read_header
    from arbbot.replay.run import replay
    monkeypatch.setattr(replay_venue, "PROGRESS_EVERY", 1_000)
    monkeypatch.setattr(format_module, "INFLATE_READ", 2_048)
    path, summary = recorded
    calls = []
    replay(read_header(path), load_config(None), tmp_path, on_progress=lambda done, books: calls.append((done, books)))
    books = summary["recording"]["books"]
    assert len(calls) == books // 1_000
    assert all(k * 1_000 <= b < k * 1_000 + 200 for k, (_, b) in enumerate(calls, 1))
    positions = [d for d, _ in calls]
    assert positions == sorted(positions) and 0 < positions[0] and positions[-1] <= os.path.getsize(path)


def test_the_swift_scanner_and_the_twin_replay_the_same(recorded, monkeypatch):
    """A whole replay with the record scanner of each engine (ARB_ENGINE_REPLAY): the same bytes
    out; every recorded book read, each delivered or coalesced."""
    path, _ = recorded
    outs = {}
    for engine in ("swift", "python"):
        monkeypatch.setenv("ARB_ENGINE_REPLAY", engine)
        outs[engine] = json.dumps(run_replays(str(path), [None], workers=1), sort_keys=True)
    assert outs["swift"] == outs["python"]
    result = json.loads(outs["swift"])
    assert result["recording"]["books"] > 1_000
    assert result["results"][0]["books"] + result["results"][0]["coalesced"] == result["recording"]["books"]
