"""Replays side by side, one worker process each (`arbbot.replay.parallel`): the results that one
after another give, in the same order, for `arbbot replay`'s two configs and `arbbot tune`'s
trials; a bad record found by a worker still ends the command with its file and line."""
import gzip
import json
import os

import pytest

from arbbot.replay.command import run_replays
from arbbot.replay.format import RecordingError
from arbbot.replay.parallel import ReplayPool
from arbbot.replay.tune import tune
from tests.replay.conftest import bot as _bot


def test_two_configs_in_two_processes_give_what_one_after_another_gives(recorded, tmp_path):
    path, _ = recorded
    small = tmp_path / "small.toml"
    small.write_text("max_contracts = 2\n", encoding="utf-8")
    alone = run_replays(str(path), [None, str(small)], workers=1)
    side_by_side = run_replays(str(path), [None, str(small)], workers=2)
    assert json.dumps(side_by_side, sort_keys=True) == json.dumps(alone, sort_keys=True)
    default, capped = side_by_side["results"]
    assert capped["orders"]["entry_lots"] < default["orders"]["entry_lots"]     # two different replays
    twice = tmp_path / "twice.toml"
    twice.write_text("max_contracts = 2\n", encoding="utf-8")
    cli = _bot("replay", str(path), "--config", str(small), "--config", str(twice), "--jobs", "2", "--json",
               cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr[-2000:]
    # the pool stops its finished workers: quietly (the CLI's SIGTERM handler, copied by the fork,
    # once printed a worker's traceback here on most runs)
    assert "Traceback" not in cli.stderr and "Process arbbot-replay" not in cli.stderr, cli.stderr[-2000:]
    first, second = json.loads(cli.stdout)["results"]
    assert {**first, "config": None} == {**second, "config": None} == {**capped, "config": None}


def test_tune_trials_side_by_side_rank_as_one_after_another(recorded):
    path, _ = recorded
    params = {"max_contracts": (0.0, 20.0)}          # 0 is refused: rows keep their order around it
    assert tune(str(path), params, 3, workers=2) == tune(str(path), params, 3, workers=1)


def test_the_workers_are_other_processes_and_report_progress(recorded, monkeypatch):
    import arbbot.replay.format as format_module
    import arbbot.replay.venue as venue
    monkeypatch.setattr(venue, "PROGRESS_EVERY", 200)     # (set before the workers fork)
    monkeypatch.setattr(format_module, "INFLATE_READ", 16_384)   # chunks of a few hundred books
    path, _ = recorded
    from arbbot.replay.format import read_header
    from arbbot.replay.command import load_config
    seen: dict[str, list] = {}

    def progress(label):
        return lambda done, books: seen.setdefault(label, []).append((done, books, os.getpid()))
    with ReplayPool(read_header(path), 2, engine=None, cache_dir=None) as pool:
        pids = {p.pid for p in pool._procs}
        done = pool.run([("a", load_config(None)), ("b", load_config(None))], progress)
    assert len(pids) == 2 and os.getpid() not in pids
    assert done[0] == done[1]                        # the same config twice: the same result
    for label in ("a", "b"):                         # the parent shows what each worker read, in order
        books = [b for _, b, _ in seen[label]]
        assert len(books) > 3 and books == sorted(books) and all(pid == os.getpid() for *_, pid in seen[label])


def test_a_bad_record_read_in_a_worker_ends_the_replay_with_its_line(recorded, tmp_path):
    path, _ = recorded
    bad = tmp_path / "bad.jsonl"
    with gzip.open(path, "rt", encoding="utf-8") as src:
        lines = src.readlines()
    lines[len(lines) // 2] = '{"recv_ts_ms": 1, "kind": "book", "venue": "kalshi"}\n'
    bad.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(RecordingError, match=f"{bad}:{len(lines) // 2 + 1}:"):
        run_replays(str(bad), [None, None], workers=2)
    cli = _bot("replay", str(bad), "--config", str(bad), "--jobs", "0", cwd=tmp_path)
    assert cli.returncode == 2 and "--jobs: expected 1 to 64" in cli.stderr and "Traceback" not in cli.stderr


def test_sigterm_stops_the_workers_and_removes_every_temporary_folder(recorded, tmp_path):
    """`kill PID` (SIGTERM) mid-tune: the command exits 143 saying so, with no traceback; the
    workers are stopped and joined, and neither theirs nor the parent's temporary folders stay."""
    import signal
    import subprocess
    import sys
    import time
    path, _ = recorded
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.cli", "tune", str(path), "--param", "max_contracts=1:20",
                             "--trials", "20", "--jobs", "2", "--json"],         # 20 replays: seconds of work
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ARB_KILL_FILE": "", "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 120
    while not list(scratch.rglob("replay.db")):                       # a worker is replaying
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-2000:]
    assert "terminated" in err and "Traceback" not in err and out == ""
    assert list(scratch.iterdir()) == []
