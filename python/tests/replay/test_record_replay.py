"""Record a real paper run against the embedded simulator, then replay it: the same bytes every
time (whatever the hash seed), what the live run found, and an A/B of two configurations."""
import json

from arbbot.replay.command import run_replays
from arbbot.replay.format import read_recording
from tests.replay.conftest import bot as _bot


def test_the_recording_holds_every_book_the_run_saw(recorded):
    path, summary = recorded
    rec = read_recording(path)
    assert summary["recording"]["books"] == rec.books > 1_000
    assert summary["recording"]["frames"] == rec.frames > 0            # the venues' raw frames too
    assert sum(len(m) for m in rec.markets.values()) == summary["markets"]
    assert {v for v, m in rec.markets.items() if m} == {"kalshi", "polymarket", "forecastex"}
    assert all(bodies for bodies in rec.listing_bodies.values())
    times = [at for at, _ in rec.stream()]
    assert len(times) == rec.books and times == sorted(times) and times[-1] == rec.last_ms


def test_replay_is_byte_identical_and_finds_what_the_run_found(recorded, tmp_path):
    path, summary = recorded
    first = json.dumps(run_replays(str(path), [None]), sort_keys=True)
    again = json.dumps(run_replays(str(path), [None]), sort_keys=True)
    assert first == again
    cli = _bot("replay", str(path), "--json", cwd=tmp_path, env_extra={"PYTHONHASHSEED": "12345"})
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert cli.stdout.strip() == first                    # another process, another hash seed: same bytes
    result = json.loads(first)["results"][0]
    # detection on the recorded books finds what the live run found: every lane it found, about as
    # often (not exactly: live, the generated twins arrive a moment after the start and a slow
    # consumer's queue coalesces books; a replay has the twins from the first book and sees every
    # one). On a loaded machine the twins can arrive too late for the live run to find a cross
    # opportunity at all: a lane only the replay found is the twins' (cross)
    assert set(summary["found"]) <= set(result["found"]), (summary["found"], result["found"])
    assert set(result["found"]) - set(summary["found"]) <= {"cross"}, (summary["found"], result["found"])
    for lane, n in summary["found"].items():
        assert abs(result["found"][lane] - n) <= max(2, n // 4), (lane, result["found"], summary["found"])
    # the replay trades (its paper orders wait a 50 ms latency on books that step every 50 ms and
    # follow Polymarket's order rules, so a short recording may end in unwinds and the breaker
    # without a complete one: what it completes is not the point here)
    assert sum(result["executions"].values()) >= 1 and result["orders"]["entry_lots"] > 0
    # every recorded book is replayed; those superseded within their millisecond are coalesced
    assert result["books"] + result["coalesced"] == summary["recording"]["books"] == json.loads(first)["recording"]["books"]
    assert result["coalesced"] > 0
    assert 0 < result["fill_rate"] <= 1


def test_two_configurations_side_by_side_with_a_verdict(recorded, tmp_path):
    path, _ = recorded
    small = tmp_path / "small.toml"
    small.write_text("max_contracts = 2\n", encoding="utf-8")
    out = run_replays(str(path), [None, str(small)])
    default, capped = out["results"]
    assert (default["config"], capped["config"]) == ("defaults", str(small))
    assert capped["orders"]["entry_lots"] < default["orders"]["entry_lots"]     # 2-contract trades: fewer lots
    total = [r["locked_in_micros"] + r["realised_micros"] for r in out["results"]]
    v = out["verdict"]
    assert v["pnl_difference_micros"] == abs(total[0] - total[1])
    assert v["more_pnl"] == ("same" if total[0] == total[1] else ("defaults" if total[0] > total[1] else str(small)))


def test_bad_input_exits_2_with_one_line(recorded, tmp_path):
    path, _ = recorded
    (tmp_path / "bad.toml").write_text("max_contracts = -1\n", encoding="utf-8")
    for args, words in ((["replay", str(tmp_path / "none.jsonl")], "cannot read"),
                        (["replay", str(path), "--config", str(tmp_path / "bad.toml")], "max_contracts"),
                        (["replay", str(path), "--config", "a", "--config", "b", "--config", "c"], "at most two")):
        out = _bot(*args, cwd=tmp_path)
        assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr
    again = _bot("run", "--duration", "1", "--json", "--record", str(path), cwd=tmp_path)
    assert again.returncode == 2 and "the file exists" in again.stderr


def test_the_run_records_its_twins_and_a_replay_applies_them_when_the_session_had_them(recorded, monkeypatch):
    """The session's generated twins are in the recording (`mappings` record at the moment it had
    them, keyed by the listings' digest; the header says so). A replay applies them at that moment
    instead of matching; a recording from before (no such record, no header key) is matched."""
    import gzip

    import arbbot.mapping.match.matcher as matcher
    from arbbot.replay.format import read_header
    path, summary = recorded
    rec = read_recording(path)
    assert len(rec.mappings) == 1, summary["mappings"]
    (digest, rows), = rec.mappings.items()
    assert rec.recorded_mappings and read_header(path).recorded_mappings and read_header(path).books == 0
    assert len(rows) == summary["mappings"]["generated"]["proposed"] > 0
    assert digest.startswith(summary["mappings"]["generated"]["digest"])
    calls = []
    real = matcher.match
    monkeypatch.setattr(matcher, "match", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    recorded_twins = run_replays(str(path), [None])["results"][0]
    assert calls == [] and recorded_twins["relations"] > 0 and "cross" in recorded_twins["found"]
    older = path.parent / "older.jsonl"
    with gzip.open(path, "rt", encoding="utf-8") as src, older.open("w", encoding="utf-8") as dst:
        header = json.loads(src.readline())
        del header["mappings"]
        dst.write(json.dumps(header) + "\n")
        dst.writelines(line for line in src if '"kind":"mappings"' not in line[:60])
    assert not read_header(older).recorded_mappings and read_recording(older).mappings == {}
    matched = run_replays(str(older), [None])["results"][0]
    assert calls == [1] and matched["relations"] == recorded_twins["relations"]
    assert "cross" in matched["found"] and matched["books"] == recorded_twins["books"]


def test_the_swift_and_the_python_engine_replay_alike(recorded):
    """One recording, both engines: the same detections, sizes, executions and money (DESIGN: the
    two agree exactly). The results name no engine; everything else must be equal."""
    path, _ = recorded
    swift = run_replays(str(path), [None], engine="swift", workers=1)
    python = run_replays(str(path), [None], engine="python", workers=1)
    assert json.dumps(swift, sort_keys=True) == json.dumps(python, sort_keys=True)
