"""A book record's numbers are integers within the engine's bounds (price 0 to 10,000 ticks,
quantity 0 to 10^8 lots, recv_ts_ms a non-negative integer), checked on every read path — the
recorder's own lines the scanner takes as well as the others: a bad one is a RecordingError naming
the file and line, and `arbbot replay` exits 2 with that line, never a traceback."""
import pytest

from arbbot.replay.command import run_replays
from arbbot.replay.format import RecordingError, read_recording
from tests.replay.conftest import bot
from tests.replay.test_stream import KALSHI, T0, _book_line, _header

CASES = {       # the bad line, as the recorder would write it except for the value (its error's words)
    "price": ('"book":[[[99999999,100],[3900,500]],[],[[5500,200]],[]]', "price 99999999 outside 0 to 10,000 ticks"),
    "lots": ('"book":[[[4000,100000001]],[],[],[]]', "quantity 100000001 outside 0 to 100,000,000 lots"),
    "huge": ('"book":[[[4000,99999999999999999999999]],[],[],[]]', "quantity 99999999999999999999999 outside"),
    "float": ('"book":[[[4000,5.5]],[],[],[]]', r"level \[4000, 5.5\]: price and quantity must be integers"),
    "negative": ('"book":[[[4000,-5]],[],[],[]]', "quantity -5 outside"),
    "time": ('"recv_ts_ms":"{at}"', 'recv_ts_ms "{at}": expected an integer'),
}


def _recording(path, case: str) -> int:
    """A recording of 3,000 book records (several per millisecond), record 2,001 (the last of its
    millisecond: the book delivered) made bad; its line number."""
    lines = [_header()] + [_book_line(T0 + i // 3, "kalshi", KALSHI[i % 4].market_id, 100 + i) for i in range(3_000)]
    bad, _ = CASES[case]
    number = 2_002
    at = T0 + 2_000 // 3
    line = lines[number - 1]
    lines[number - 1] = (line.replace(f'"recv_ts_ms":{at}', bad.format(at=at)) if case == "time"
                         else line.replace(line[line.index('"book":['):line.index(',"tradeable"')], bad))
    assert lines[number - 1] != line
    path.write_text("".join(lines), encoding="utf-8")
    return number


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("engine", ["swift", "python"])
def test_a_number_out_of_bounds_names_its_line_on_every_read_path(tmp_path, case, engine):
    path = tmp_path / "bad.jsonl"
    number = _recording(path, case)
    words = CASES[case][1].format(at=T0 + 2_000 // 3)
    with pytest.raises(RecordingError, match=rf"bad\.jsonl:{number}: bad book record: .*{words}"):
        read_recording(path)
    with pytest.raises(RecordingError, match=rf"bad\.jsonl:{number}: bad book record: .*{words}"):
        run_replays(str(path), [None], engine=engine, workers=1)


def test_replay_exits_2_with_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    number = _recording(path, "price")
    out = bot("replay", str(path), "--json", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    assert f"bad.jsonl:{number}: bad book record: ValueError: price 99999999 outside" in out.stderr


@pytest.mark.parametrize("engine", ["swift", "python"])
def test_a_book_superseded_within_its_millisecond_is_checked_too(tmp_path, engine):
    """Record 1,998 is the first of its millisecond (two more books follow it): only the last is
    delivered, but the sizing samples read every record. Before (CLI review, session 33), the fast
    path took its price 10,001 and only the delivered books were checked: the replay ran on."""
    lines = [_header()] + [_book_line(T0 + i // 3, "kalshi", KALSHI[i % 4].market_id, 100 + i) for i in range(3_000)]
    line = lines[1_999]
    lines[1_999] = line.replace(line[line.index('"book":['):line.index(',"tradeable"')],
                                '"book":[[[10001,100],[3900,500]],[],[[5500,200]],[]]')
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(RecordingError, match=r"bad\.jsonl:2000: bad book record: .*price 10001 outside 0 to 10,000"):
        run_replays(str(path), [None], engine=engine, workers=1)
