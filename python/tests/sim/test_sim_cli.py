"""`arbbot sim` options: bad values refused when parsed (exit 2, one line naming the option, no
traceback), output files checked before the simulator starts, every credential file written
readable by the owner only (0600), and no temporary file left behind when a write fails."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from arbbot.sim import cli_main, write_handle
from tests.run.test_cli_input import in_process
from tests.sim.venue_envs import sim_process

BOT = [sys.executable, "-m", "arbbot.cli"]


def sim(argv: list[str], capsys) -> tuple[int, str, str]:
    """`python -m arbbot.sim ARGV` in this process."""
    return in_process(cli_main, argv, capsys)


@pytest.mark.parametrize("args, message", [
    (["--port", "-1"], "argument --port: expected a port 0-65535, got '-1'"),
    (["--port", "70000"], "argument --port: expected a port 0-65535, got '70000'"),
    (["--seed", "-1"], "argument --seed: expected a whole number ≥ 0, got '-1'"),
    (["--markets", "0"], "argument --markets: expected a whole number ≥ 100, got '0'"),
    (["--step", "-1"], "argument --step: expected a number ≥ 0, got '-1'"),
    (["--step", "nan"], "argument --step: expected a number ≥ 0, got 'nan'"),
])
def test_bad_values_are_refused_when_parsed(capsys, monkeypatch, args, message):
    import arbbot.sim as simmod

    async def no_start(*a, **k):
        raise AssertionError("the simulator started")
    monkeypatch.setattr(simmod, "start", no_start)
    code, out, err = sim(args, capsys)
    assert code == 2 and out == "" and err.splitlines()[-1] == f"arbbot sim: error: {message}"


@pytest.mark.parametrize("option", ["--handle-file", "--key-file", "--poly-creds-file"])
@pytest.mark.parametrize("target, message", [
    ("adir", "{option} {path}: is a directory"),
    ("/nonexistent/h.json", "{option} {path}: directory /nonexistent does not exist"),
])
def test_an_unwritable_output_file_is_refused_before_the_simulator_starts(tmp_path, monkeypatch, capsys, option,
                                                                          target, message):
    import arbbot.sim as simmod
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()

    async def no_start(*a, **k):
        raise AssertionError("the simulator started")
    monkeypatch.setattr(simmod, "start", no_start)
    code, out, err = sim(["--scenario", "fed", option, target], capsys)
    assert code == 2 and out == ""
    assert err == f"arbbot sim: {message.format(option=option, path=target)}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"] and list((tmp_path / "adir").iterdir()) == []


def test_an_unwritable_handle_file_in_a_subprocess_shows_no_traceback_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "adir").mkdir()
    r = subprocess.run(BOT + ["sim", "--scenario", "fed", "--handle-file", "adir"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr == "arbbot sim: --handle-file adir: is a directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]


def test_a_failed_write_leaves_no_temporary_file_holding_credentials(tmp_path):
    from arbbot.sim import serve
    h = serve("fed", seed=1, step_interval=None)
    try:
        (tmp_path / "adir").mkdir()
        with pytest.raises(OSError):
            write_handle(h, str(tmp_path / "adir"))            # the rename onto a directory fails
        assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]
        write_handle(h, str(tmp_path / "h.json"))
        assert json.loads((tmp_path / "h.json").read_text())["format"] == "arbbot.sim-handle/1"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "h.json"]
    finally:
        h.stop()


def test_key_creds_and_handle_files_are_readable_by_the_owner_only(tmp_path):
    key, creds, handle = tmp_path / "k.pem", tmp_path / "pc.json", tmp_path / "h.json"
    key.write_text("old")
    key.chmod(0o644)                                           # an existing file is replaced, not reused
    with sim_process("--scenario", "fed", "--seed", "1", "--key-file", str(key), "--poly-creds-file", str(creds),
                     "--handle-file", str(handle), until="handle_file"):
        for f in (key, creds, handle):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY")
        doc = json.loads(creds.read_text())
        assert set(doc) == {"address", "apiKey", "secret", "passphrase", "signatureType", "funder"}
        assert (doc["signatureType"], doc["funder"]) == (0, doc["address"])     # the default: the key's own wallet
        assert json.loads(handle.read_text())["format"] == "arbbot.sim-handle/1"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_safe_wallet_account_is_announced_with_its_funder(tmp_path):
    """`--polymarket-wallet safe`: the account's funds sit in a Safe its key owns; the bot reads the
    signature type and funder it must sign with from the handle file (and the operator from stdout)."""
    handle = tmp_path / "h.json"
    with sim_process("--scenario", "fed", "--seed", "1", "--polymarket-wallet", "safe", "--handle-file", str(handle),
                     until="handle_file") as lines:
        doc = json.loads(handle.read_text())["polymarket"]
        assert doc["signature_type"] == 2 and lines["polymarket_signature_type"] == "2"
        assert lines["polymarket_funder"] == doc["funder"] and doc["funder"].lower() != doc["address"].lower()


def test_the_handle_file_of_a_simulator_still_serving_is_not_overwritten(tmp_path, capsys):
    """A second `arbbot sim --handle-file F` overwrote the handle of one still running: that
    simulator (the one kept across bot restarts) could no longer be reached with --connect F. It is
    refused now; once the first one stopped, its stale handle is overwritten as before."""
    handle = tmp_path / "h.json"
    with sim_process("--scenario", "fed", "--seed", "1", "--handle-file", str(handle), until="handle_file") as lines:
        before = handle.read_text()
        assert cli_main(["--scenario", "fed", "--handle-file", str(handle)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"arbbot sim: --handle-file {handle} is the handle of a simulator still serving at "
                              f"{lines['kalshi_rest']}: stop it first")
        assert handle.read_text() == before
    from arbbot.sim import _still_serving
    assert _still_serving(str(handle)) == ""                     # stopped: the file may be written again


@pytest.mark.parametrize("faults, message", [
    ('{"ws_seq_gap_every": "x"}', 'ws_seq_gap_every: expected a whole number ≥ 0, got "x"'),
    ('{"ws_seq_gap_every": -5}', "ws_seq_gap_every: expected a whole number ≥ 0, got -5"),
    ('{"ws_seq_gap_every": 2.5}', "ws_seq_gap_every: expected a whole number ≥ 0, got 2.5"),
    ('{"poly_restart_s": true}', "poly_restart_s: expected a number ≥ 0, got true"),
    ('{"kalshi_trading_paused": 1}', "kalshi_trading_paused: expected true or false, got 1"),
    ('{"stale_books": "kalshi:A"}', 'stale_books: expected a list of market ids, got "kalshi:A"'),
    ('{"http_429_retry_after": -1}', "http_429_retry_after: expected a number ≥ 0 or null, got -1"),
    ('{"no_such_fault": 1}', "unknown fault 'no_such_fault' (known: ws_seq_gap_every,"),
    ("[1]", "expected a JSON object of fault switches"),
])
def test_a_fault_of_the_wrong_kind_is_refused(capsys, monkeypatch, faults, message):
    """Before, `"poly_restart_s": true` ran a one-second restart and `"ws_seq_gap_every": -5` none,
    silently; a string count failed later, inside the simulator."""
    import arbbot.sim as simmod

    async def no_start(*a, **k):
        raise AssertionError("the simulator started")
    monkeypatch.setattr(simmod, "start", no_start)
    code, out, err = sim(["--faults", faults], capsys)
    assert code == 2 and out == "" and err.splitlines()[-1].startswith(f"arbbot sim: bad --faults: {message}")


def test_faults_of_every_kind_read_as_given():
    from arbbot.sim.faults import Faults
    f = Faults.from_json({"ws_seq_gap_every": 3, "order_ack_delay_s": 1, "http_429_retry_after": None,
                          "stale_books": ["kalshi:A"], "kalshi_trading_paused": True, "poly_restart_s": 2.5})
    assert (f.ws_seq_gap_every, f.order_ack_delay_s, f.http_429_retry_after, f.stale_books,
            f.kalshi_trading_paused, f.poly_restart_s) == (3, 1, None, ("kalshi:A",), True, 2.5)
