"""From a review of the CLI as a demanding user meets it (session 36):
- an unknown ARB_* variable is refused, naming it (a typo in a limit's name traded on the
  default, where an unknown TOML key is refused);
- a configuration file that cannot be read (permissions, a device) or that nests too deeply is a
  ConfigError naming the file, and `arbbot halt` still writes its kill file (before: an OSError
  or RecursionError traceback, and no kill file);
- JSON nested too deeply is a clear error (exit 2) in the readers of relations files, venue
  listings and recordings, as in snapshots (before: a RecursionError traceback)."""
from __future__ import annotations

import json
import os

import pytest

from arbbot.cli import main
from arbbot.config import ConfigError, load_settings, unknown_variables

UNREADABLE = "/proc/self/clear_refs"          # a regular file whose read fails (EINVAL), even as root
DEEP = "[" * 100_000


def test_an_unknown_arb_variable_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("ARB_MAX_CONTRACT", "1")                        # max_contracts, mistyped
    monkeypatch.setenv("arb_min_profit", "0.05")                       # a setting in any case: known
    monkeypatch.setenv("ARB_ENGINE_LANES", "python")                   # the engines' parts: known
    with pytest.raises(ConfigError, match=r"^unknown setting in the environment: ARB_MAX_CONTRACT: unset it or "):
        load_settings()
    assert unknown_variables({"ARB_MAX_CONTRACT": "1", "ARB_SIZING__KELLY": "x", "ARB_CONFIG": "f",
                              "ARB_ALLOW_REMOTE_METRICS": "1", "ARB_KILL_FILE": "k", "HOME": "/"}) == \
        ["ARB_MAX_CONTRACT", "ARB_SIZING__KELLY"]


@pytest.mark.skipif(not os.path.isfile(UNREADABLE), reason="needs Linux /proc")
def test_an_unreadable_configuration_is_an_error_and_the_kill_switch_still_works(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARB_CONFIG", UNREADABLE)
    assert main(["config", "show"]) == 2
    assert capsys.readouterr().err == f"arbbot config: {UNREADABLE}: cannot be read: Invalid argument\n"
    monkeypatch.setenv("ARB_KILL_FILE", str(tmp_path / "KILL"))
    assert main(["halt"]) == 0
    assert (tmp_path / "KILL").is_file() and "the configuration does not load" in capsys.readouterr().err


def test_a_configuration_nested_too_deeply_is_an_error_and_halt_reads_the_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "arbbot.toml").write_text("a = " + DEEP + "\n")
    assert main(["config", "show"]) == 2
    assert capsys.readouterr().err == "arbbot config: arbbot.toml or an ARB_* variable: nested too deeply to read\n"
    assert main(["halt"]) == 0                                          # kill_file: its default, in this folder
    assert "read on its own from the default" in capsys.readouterr().err


def test_deep_json_in_relations_listings_and_recordings_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deep.json").write_text(DEEP)
    from tests.replay.test_format import _header
    (tmp_path / "deep.jsonl").write_text(json.dumps(_header()) + "\n" + DEEP + "\n")
    snapshot = os.path.join(os.path.dirname(__file__), "..", "data", "examples", "fed-december.snapshot.json")
    assert main(["scan", snapshot, "--rules", "deep.json"]) == 2
    assert capsys.readouterr().err == "arbbot scan: deep.json: $: JSON nested too deeply\n"
    assert main(["rules", "--kalshi", "deep.json"]) == 2
    assert capsys.readouterr().err == "arbbot rules: deep.json: JSON nested too deeply\n"
    assert main(["replay", "deep.json"]) == 2
    assert "not an arbbot.recording/1 file" in capsys.readouterr().err
    assert main(["replay", "deep.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err == "arbbot replay: deep.jsonl:2: JSON nested too deeply\n"


def test_live_market_data_without_trading_needs_no_order_confirmation(tmp_path, monkeypatch):
    """`arbbot live --live` detects on the real venues' data and sends no order: it was refused
    for want of --confirm-live, which confirms real orders; `run --live` still needs it."""
    from types import SimpleNamespace
    from arbbot.run.command import _live_refusal
    key = tmp_path / "k.pem"
    key.write_text("not read here")
    key.chmod(0o600)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARB_KALSHI_KEY_ID", "kid-0123456789")
    monkeypatch.setenv("ARB_KALSHI_PRIVATE_KEY_FILE", str(key))
    settings = load_settings()

    def args(trade: bool, confirm: bool = False):
        return SimpleNamespace(connect=None, trade=trade, paper=False, confirm_live=confirm)
    assert _live_refusal(args(trade=False), settings) is None
    assert _live_refusal(args(trade=True), settings) == "real orders need explicit confirmation: add --confirm-live"
    assert _live_refusal(args(trade=True, confirm=True), settings) is None


def test_a_kalshi_key_file_that_is_no_key_names_the_setting_and_the_file(tmp_path, monkeypatch):
    """Before: "Unable to load PEM file. See https://cryptography.io/… MalformedFraming"."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from arbbot.run.real_venues import real_venues
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARB_KALSHI_KEY_ID", "kid-0123456789")
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for name, content, why in (("garbage.pem", b"garbage\n", "not an unencrypted PEM private key"),
                               ("ec.pem", ec_key, "not an RSA private key")):
        key = tmp_path / name
        key.write_bytes(content)
        key.chmod(0o600)
        monkeypatch.setenv("ARB_KALSHI_PRIVATE_KEY_FILE", str(key))
        with pytest.raises(ValueError) as exc:
            real_venues(load_settings(), paper=True)
        assert str(exc.value) == f"kalshi_private_key_file {key}: {why}"


def test_paths_that_cannot_serve_are_said_before_any_work(tmp_path, monkeypatch, capsys):
    """`snapshot -o DIR` ran the whole discovery, then failed naming an internal temporary file;
    an `arbbot.toml` that is a directory was ignored (defaults traded); a snapshot too large for
    memory (/dev/zero) ended in a MemoryError traceback."""
    import arbbot.snapshot
    monkeypatch.chdir(tmp_path)
    assert main(["snapshot", "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"arbbot snapshot: --out {tmp_path}: is a directory\n"
    (tmp_path / "arbbot.toml").mkdir()
    assert main(["config", "show"]) == 2
    assert capsys.readouterr().err == \
        "arbbot config: arbbot.toml is not a file (a directory?): its settings cannot be read\n"
    (tmp_path / "arbbot.toml").rmdir()

    def too_large(path):
        raise MemoryError
    monkeypatch.setattr(arbbot.snapshot, "load_snapshot", too_large)
    monkeypatch.setattr(arbbot.snapshot, "load_snapshot_packed", too_large)
    assert main(["scan", "/dev/zero", "--json"]) == 2
    assert capsys.readouterr().err == "arbbot scan: /dev/zero: too large to read into this machine's memory\n"
