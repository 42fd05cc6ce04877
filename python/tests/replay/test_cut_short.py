"""A .gz recording cut off by a kill is read like a plain file whose last line was cut short: up to
its last complete line, with a warning saying how many lines were read; SIGTERM stops `arbbot run`
as Ctrl-C does, so its recording is closed whole."""
import gzip
import json
import os
import signal
import subprocess
import sys
import time
import zlib

from arbbot.replay.format import read_recording
from tests.replay.conftest import bot
from tests.replay.test_stream import KALSHI, T0, _book_line, _header


def _cut_gzip(path, books: int) -> int:
    """A gzip recording of `books` book records cut (as a kill cuts one) in its second half; the
    complete lines in what is left (zlib's count)."""
    lines = [_header()] + [_book_line(T0 + i, "kalshi", KALSHI[i % 4].market_id, 100 + i) for i in range(books)]
    data = gzip.compress("".join(lines).encode(), compresslevel=1)
    data = data[:len(data) * 3 // 5]
    path.write_bytes(data)
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data).count(b"\n")


def test_a_gzip_recording_cut_short_is_read_up_to_its_last_complete_line(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    complete = _cut_gzip(path, 5_000)
    assert 2_000 < complete < 5_000
    rec = read_recording(path)
    assert (rec.books, rec.cut_short) == (complete - 1, complete)
    assert rec.last_ms == T0 + complete - 2
    whole = tmp_path / "whole.jsonl.gz"
    whole.write_bytes(gzip.compress(_header().encode()))
    assert read_recording(whole).cut_short is None


def test_replay_and_tune_of_a_cut_gzip_recording_warn_and_replay_what_it_holds(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    complete = _cut_gzip(path, 5_000)
    out = bot("replay", str(path), "--json", "--engine", "python", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["recording"]["books"] == complete - 1 and result["recording"]["cut_short"] == complete
    assert f"the gzip stream ends early (the recording was cut off): replayed its first {complete:,} lines" in out.stderr
    out = bot("tune", str(path), "--param", "max_contracts=5:6", "--trials", "1", "--jobs", "1", "--json",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"arbbot tune: warning: {path}: the gzip stream ends early" in out.stderr


def test_sigterm_stops_a_recording_run_cleanly(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.cli", "run", "--duration", "120", "--json", "--db", "t.db",
                             "--metrics-port", "0", "--no-dashboard", "--record", str(path)], cwd=tmp_path,
                            env={**os.environ, "ARB_KILL_FILE": ""}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while not (path.exists() and path.stat().st_size > 10_000) and time.monotonic() < deadline:
            time.sleep(0.2)                          # the header and some records are in
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped" in err, err[-2000:]
    # stopped while it waited for --duration: the run's summary too (before the loop: none)
    assert out == "" or json.loads(out)["interrupted"] is True
    rec = read_recording(path)
    assert rec.cut_short is None and rec.books > 0          # the gzip stream was ended: the file is whole


def test_a_plain_recording_whose_last_line_is_cut_says_so(tmp_path):
    """The same cut in a plain file was replayed in silence (`cut_short` null, no warning)."""
    lines = [_header()] + [_book_line(T0 + i, "kalshi", KALSHI[i % 4].market_id, 100 + i) for i in range(50)]
    path = tmp_path / "cut.jsonl"
    path.write_text("".join(lines)[:-25])                       # the last book line cut 25 characters short
    rec = read_recording(path)
    assert (rec.books, rec.cut_short) == (49, 50)             # the header and 49 whole book lines
    out = bot("replay", str(path), "--json", "--engine", "python", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["recording"]["cut_short"] == 50
    assert f"arbbot replay: warning: {path}: its last line is cut short (the recording was cut off): replayed its " \
           "first 50 lines" in out.stderr
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(lines))
    assert read_recording(whole).cut_short is None
