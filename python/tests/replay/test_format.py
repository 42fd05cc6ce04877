"""The recording format: round trips of what the header and book records hold, and errors that
name the file and line."""
import gzip
import json

import pytest

from arbbot.model import Book, EventInfo, FeeSchedule, MarketId, MarketInfo, Venue
from arbbot.replay.format import (
    FORMAT, RecordingError, book_from_record, book_to_json, event_from_json, event_to_json, market_from_json,
    market_to_json, read_recording,
)

MARKET = MarketInfo(Venue.KALSHI, "KXFED-26DEC-H0", "Fed holds?", event_id="KXFED-26DEC",
                    fees=FeeSchedule(taker_rate_ppm=70_000, rounding=10_000, maker_rate_ppm=17_500), lot_lots=1,
                    tick_ticks=10, extra=(("strike_type", "greater"),), price_grid="tapered",
                    closes_at="2026-12-16T19:00:00Z", category="Economics")
EVENT = EventInfo(Venue.POLYMARKET, "ev-1", "Who wins?", ("0xa", "0xb"), mutually_exclusive=True, exhaustive=False)
BOOK = Book(((4_000, 1_000), (3_900, 500)), (), ((5_500, 200),), (), market=MarketId(Venue.KALSHI, "KXFED-26DEC-H0"))


def test_market_event_and_book_round_trip_exactly():
    assert market_from_json(json.loads(json.dumps(market_to_json(MARKET)))) == MARKET
    assert event_from_json(json.loads(json.dumps(event_to_json(EVENT)))) == EVENT
    rec = {"venue": "kalshi", "market": "KXFED-26DEC-H0", "book": book_to_json(BOOK), "tradeable": True, "reason": ""}
    assert book_from_record(json.loads(json.dumps(rec))) == BOOK
    held = {**rec, "tradeable": False, "reason": "sequence gap"}
    got = book_from_record(held)
    assert not got.tradeable and got.reason == "sequence gap" and got.yes_bids == BOOK.yes_bids


def _header(**extra) -> dict:
    return {"format": FORMAT, "started_ms": 1_795_846_592_000, "source": "simulator",
            "venues": {"kalshi": {"markets": [market_to_json(MARKET)], "events": [], "listing_bodies": [{"events": []}]}},
            **extra}


def _book(at: int, qty: int = 1_000) -> dict:
    return {"recv_ts_ms": at, "kind": "book", "venue": "kalshi", "market": "KXFED-26DEC-H0",
            "book": [[[4_000, qty]], [], [[5_500, 200]], []], "tradeable": True, "reason": ""}


def _write(path, *records, tail: str = "") -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail, encoding="utf-8")
    return str(path)


def test_a_recording_reads_back_with_books_in_order(tmp_path):
    raw = {"recv_ts_ms": 1_795_846_592_100, "kind": "ws", "venue": "kalshi", "frame": "{}"}
    rec = read_recording(_write(tmp_path / "r.jsonl", _header(), raw, _book(1_795_846_592_200, 7),
                                _book(1_795_846_592_200, 8), _book(1_795_846_592_300, 9)))
    assert rec.started_ms == 1_795_846_592_000 and rec.source == "simulator" and rec.frames == 1
    assert rec.markets == {"kalshi": [MARKET]} and rec.listing_bodies == {"kalshi": [{"events": []}]}
    assert rec.books == 3 and rec.last_ms == 1_795_846_592_300 and rec.venue_books == {"kalshi": 3}
    assert [(at, b.yes_bids[0][1]) for at, b in rec.stream()] == [(1_795_846_592_200, 7), (1_795_846_592_200, 8),
                                                                 (1_795_846_592_300, 9)]


def test_gzip_recordings_read_the_same(tmp_path):
    plain = _write(tmp_path / "r.jsonl", _header(), _book(1_795_846_592_200))
    packed = tmp_path / "r.jsonl.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as fh:
        fh.write((tmp_path / "r.jsonl").read_text(encoding="utf-8"))
    assert list(read_recording(packed).stream()) == list(read_recording(plain).stream())


def test_a_last_line_cut_short_by_a_crash_is_left_out(tmp_path):
    path = _write(tmp_path / "r.jsonl", _header(), _book(1_795_846_592_200), tail='{"recv_ts_ms": 17958465923')
    rec = read_recording(path)
    assert rec.books == 1 and len(list(rec.stream())) == 1


@pytest.mark.parametrize("records, tail, message", [
    ([], "", "empty file, expected an arbbot.recording/1 header"),
    ([{"format": "arbbot.snapshot/1"}], "", ":1: not an arbbot.recording/1 file"),
    ([_header(venues={"kalshi": {"markets": [{"venue": "nowhere"}]}})], "", ":1: bad header"),
    ([_header(), _book(1_795_846_592_300), _book(1_795_846_592_200)], "", ":3: recv_ts_ms 1795846592200 goes back in time"),
    ([_header(), {"recv_ts_ms": 1, "kind": "telepathy"}], "", ":2: unknown record kind 'telepathy'"),
    ([_header(), {**_book(1_795_846_592_300), "book": [[["a", 1]], [], [], []]}], "", ":2: bad book record"),
    ([_header()], "{not json\n", ":2: not JSON"),
    ([_header(), {"recv_ts_ms": 1, "kind": "mappings", "mappings": {"format": "other", "rows": []}}], "",
     ":2: bad mappings record: ValueError: format 'other'"),
    ([_header(), {"recv_ts_ms": 1, "kind": "mappings", "mappings": {"format": "arbbot.generated-mappings/1",
                                                                     "digest": "d", "rows": [{"ids": ["a"]}]}}], "",
     ":2: bad mappings record"),
])
def test_bad_recordings_name_the_file_and_line(tmp_path, records, tail, message):
    path = _write(tmp_path / "bad.jsonl", *records, tail=tail)
    with pytest.raises(RecordingError, match="bad.jsonl") as err:
        read_recording(path)
    assert message in str(err.value)


@pytest.mark.parametrize("started", [-1_796_165_018_678, 0, 946_684_799_999, 4_102_444_800_001,
                                     10 ** 23, 1e400, "1795846592000", True, None])
def test_a_header_start_that_is_not_a_time_between_2000_and_2100_is_refused(tmp_path, started):
    """Before (CLI review, session 33): started_ms −1.8e12 replayed at 100 % CPU for over 10
    minutes (the clock idled from 1913 to the first record), 1e400 and 10²³ ended in OverflowError
    tracebacks."""
    text = json.dumps(_header(started_ms=started)).replace("Infinity", "1e400") + "\n"
    path = tmp_path / "bad.jsonl"
    path.write_text(text + json.dumps(_book(1_795_846_592_200)) + "\n", encoding="utf-8")
    with pytest.raises(RecordingError, match=r"bad\.jsonl:1: bad header: ValueError: started_ms .* is not a time "
                                             r"in ms since 1970 between 2000 and 2100"):
        read_recording(path)


@pytest.mark.parametrize("name", ["betfair", "Kalshi"])
def test_a_header_venue_arbbot_does_not_trade_is_refused(tmp_path, name):
    """Before: a `betfair` section in the header reached the paper venues: ValueError traceback.
    Venue names are the recorder's, lower case (the scanner and the market names use those)."""
    venues = {"polymarket": {"markets": []}, name: {"markets": []}}
    with pytest.raises(RecordingError, match=rf":1: bad header: ValueError: '{name}' is not a venue"):
        read_recording(_write(tmp_path / "bad.jsonl", _header(venues=venues), _book(1_795_846_592_200)))


def test_a_missing_or_damaged_file_is_a_recording_error(tmp_path):
    with pytest.raises(RecordingError, match="cannot read"):
        read_recording(tmp_path / "absent.jsonl")
    damaged = tmp_path / "d.jsonl.gz"
    damaged.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(RecordingError, match="cannot read"):
        read_recording(damaged)
