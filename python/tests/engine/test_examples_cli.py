"""`arbbot scan` on the example snapshots must reproduce the expected answers exactly, and the
CLI's exit codes, JSON line format and messages are what spec/SNAPSHOT.md says."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arbbot.cli import main

HERE = Path(__file__).resolve().parents[1]
BUNDLED = HERE / "data" / "examples"
SHARED = HERE.parents[2] / "shared" / "examples" if len(HERE.parents) > 2 else None


def example_pairs():
    pairs = {p.name: p for p in BUNDLED.glob("*.snapshot.json")}
    if SHARED is not None and SHARED.is_dir():   # new examples in ../shared are checked too
        pairs.update({p.name: p for p in SHARED.glob("*.snapshot.json")})
    return sorted(pairs.values(), key=lambda p: p.name)


def run_scan(capsys, *args) -> tuple[int, str, str]:
    code = main(["scan", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("snapshot", example_pairs(), ids=lambda p: p.name)
def test_examples_match_expected(engine, capsys, snapshot):
    expected = json.loads(snapshot.with_name(snapshot.name.replace(".snapshot.", ".expected.")).read_text())
    code, out, _ = run_scan(capsys, str(snapshot), "--json", "--engine", engine)
    assert code == 0
    got = json.loads(out)
    assert got["engine"] == engine
    got["engine"] = expected["engine"]
    assert got == expected


def test_json_is_one_compact_line_identical_across_engines(capsys, native):
    outs = []
    for engine in ("swift", "python"):
        code, out, _ = run_scan(capsys, str(BUNDLED / "fed-december.snapshot.json"), "--json", "--engine", engine)
        assert code == 0 and out.endswith("\n") and out.count("\n") == 1
        assert ", " not in out and '": ' not in out
        assert out.startswith('{"format":"arbbot.opportunities/1","engine":"' + engine + '","opportunities":[{"id":')
        outs.append(out.replace('"engine":"swift"', '"engine":"python"'))
    assert outs[0] == outs[1]


def test_malformed_snapshot_exits_2_with_json_path(capsys, tmp_path):
    obj = json.loads((BUNDLED / "fed-december.snapshot.json").read_text())
    obj["markets"][3]["book"]["no_bids"][0][0] = "1.2"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(obj))
    code, out, err = run_scan(capsys, str(bad), "--json")
    assert code == 2 and out == ""
    assert err.startswith("markets[3].book.no_bids[0][0]: price 1.2 is above 1")


def test_missing_file_exits_2(capsys, tmp_path):
    code, _, err = run_scan(capsys, str(tmp_path / "nope.json"))
    assert code == 2 and "cannot read" in err


def test_human_table_names_opportunities(capsys):
    code, out, _ = run_scan(capsys, str(BUNDLED / "stale-books.snapshot.json"), "--engine", "python")
    assert code == 0
    assert "cfab3d81ea1b6b59" in out and "2.537360" in out and "kalshi:KXNBAGAME-26NOV21BOSLAL-BOS" in out


def test_console_script_runs_out_of_process():
    env = dict(os.environ, ARB_ENGINE="python")
    proc = subprocess.run([sys.executable, "-m", "arbbot.cli", "scan", str(BUNDLED / "election-negrisk.snapshot.json"),
                           "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["opportunities"][0]["id"] == "3fe48888fe5f02c4"
    bad = subprocess.run([sys.executable, "-m", "arbbot.cli", "scan", "x.json", "--engine", "rust"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_the_output_is_utf8_whatever_the_locales_charset(tmp_path):
    """A market id outside the locale's charset (here ASCII) is written in UTF-8, as the JSON
    output is (before: a UnicodeEncodeError traceback, exit 1); an error naming it too (exit 2)."""
    snap = json.loads((BUNDLED / "election-negrisk.snapshot.json").read_text().replace('0xdem"', '日本\u200b✓"'))
    path = tmp_path / "uni.json"
    path.write_text(json.dumps(snap), encoding="utf-8")
    env = dict(os.environ, ARB_ENGINE="python", PYTHONIOENCODING="ascii")
    proc = subprocess.run([sys.executable, "-m", "arbbot.cli", "scan", str(path), "--json"], capture_output=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    markets = {leg["market"] for o in json.loads(proc.stdout.decode("utf-8"))["opportunities"] for leg in o["legs"]}
    assert "polymarket:日本\u200b✓" in markets
    snap["markets"][0]["id"] = "renamed"          # the relations name a market no longer there
    path.write_text(json.dumps(snap), encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "arbbot.cli", "scan", str(path)], capture_output=True, env=env,
                         timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith(b"relations[0].parent: unknown market") \
        and b"Traceback" not in bad.stderr


def test_bad_engine_variable_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.setenv("ARB_ENGINE", "fortran")
    code, _, err = run_scan(capsys, str(BUNDLED / "fed-december.snapshot.json"))
    assert code == 2 and "ARB_ENGINE='fortran'" in err


def test_doctor_reports_every_component(capsys, monkeypatch):
    monkeypatch.setenv("ARB_ENGINE_LANES", "python")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "lanes         python" in out
    for component in ("decompose", "fees", "eval", "estimates", "replay"):
        assert component in out
    # Polymarket orders are signed by libsecp256k1 (a pure-Python curve costs ≈ 8 ms an order)
    assert "secp256k1     coincurve (libsecp256k1)" in out


def test_examples_scans_the_bundled_snapshots(capsys):
    assert main(["examples", "--engine", "python"]) == 0
    out = capsys.readouterr().out
    for name in ("fed-december", "election-negrisk", "forecastex-kalshi", "stale-books", "sports-parity"):
        assert name in out


def test_sim_subcommand_passes_its_own_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sim", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--scenario" in out and "--seed" in out
