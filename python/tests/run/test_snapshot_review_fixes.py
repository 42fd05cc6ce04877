"""`arbbot snapshot` on what a review found (session 37).

1. A venue title holding a lone UTF-16 surrogate (JSON allows "\\ud83d", half an emoji): before, a
   traceback after the whole run (UTF-8 cannot encode it; the twin matcher's tokenizer refused it
   first). Now the venues' JSON is read with it as "?" and the file is written.
2. A --wait that runs out with markets still awaiting their books says so (they are written
   without one, as empty); before, nothing told the user.
3. A file name near the filesystem's 255-byte limit is written (the temporary file's name is short).
4. Started where SIGINT is ignored (a background job of a non-interactive shell), Ctrl-C stops it,
   nothing written, as `arbbot run`."""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import httpx

from arbbot.files import write_atomic
from arbbot.run.live import AWAITING
from arbbot.run.snapshot_command import _wait_for_books
from arbbot.venues.common.http import load_json


def test_a_lone_surrogate_in_a_venues_json_reads_as_a_question_mark():
    body = b'{"title": "Fed \\ud83d cut?", "pair": "\\ud83d\\ude00", "n": 1.5, "\\udc00k": ["\\udbff"]}'
    got = load_json(httpx.Response(200, content=body), "polymarket", "GET", "/markets")
    assert got == {"title": "Fed ? cut?", "pair": "\U0001F600", "n": __import__("decimal").Decimal("1.5"),
                   "?k": ["?"]}
    json.dumps({k: v for k, v in got.items() if k != "n"}, ensure_ascii=False).encode("utf-8")   # writable now


def test_a_snapshot_of_a_market_titled_with_a_lone_surrogate_is_written(tmp_path, monkeypatch, capsys):
    import arbbot.sim as sim
    import arbbot.sim.scenarios as scenarios
    from arbbot.cli import main
    built = scenarios.build

    def build(*a, **kw):
        sc = built(*a, **kw)
        listing = next(l for ev in sc.events for q in ev.questions for l in q.listings if l.venue == "polymarket")
        listing.title += " \ud83d"
        return sc
    monkeypatch.setattr(scenarios, "build", build)
    monkeypatch.setattr(sim, "build", build)
    out = tmp_path / "s.json"
    assert main(["snapshot", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    titles = [m.get("title", "") for m in json.loads(out.read_text(encoding="utf-8"))["markets"]]
    assert sum(t.endswith(" ?") for t in titles) == 1


def test_a_wait_that_runs_out_says_how_many_markets_have_no_book():
    session = SimpleNamespace(gate=SimpleNamespace(held={"kalshi:A": AWAITING, "kalshi:B": AWAITING, "x": "stale"}),
                              markets=[1, 2, 3, 4])
    said: list[str] = []
    started = time.monotonic()
    asyncio.run(_wait_for_books(session, 0.3, said.append))
    assert time.monotonic() - started < 5
    assert said[-1] == ("warning: --wait 0.3 s ran out with 2 of 4 markets still without a book: written without "
                        "one (as empty); a longer --wait gives them time")
    session.gate.held = {}
    said.clear()
    asyncio.run(_wait_for_books(session, 0.3, said.append))
    assert said == []


def test_a_file_name_near_the_limit_is_written(tmp_path):
    path = tmp_path / ("x" * 250 + ".json")                        # 255 bytes: the longest a name may be
    write_atomic(str(path), b"{}\n")
    assert path.read_bytes() == b"{}\n" and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_ctrl_c_stops_a_snapshot_started_with_sigint_ignored(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.cli", "snapshot", "--scenario", "universe",
                             "--markets", "5000", "--wait", "120", "-o", str(tmp_path / "u.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    time.sleep(8)                                  # under way: discovering the universe
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("still running 60 s after SIGINT")
    assert proc.returncode == 1 and "Traceback" not in err, err[-2000:]
    assert "arbbot snapshot: stopped, nothing written" in err
    assert not (tmp_path / "u.json").exists() and not list(tmp_path.glob(".arbbot-*.tmp"))
