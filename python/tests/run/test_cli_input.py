"""Bad input to the command line and the configuration: exit 2 with one line naming the setting or
argument (never a traceback, never a secret), checked before anything starts; the kill switch
(`arbbot halt` / `resume`) works whatever else is wrong with the configuration."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from arbbot.cli import main
from arbbot.config import ConfigError, load_settings, validate_file_dict

BOT = [sys.executable, "-m", "arbbot.cli"]


def in_process(entry, argv: list[str], capsys) -> tuple[int, str, str]:
    """`entry(argv)` (a command's main) in this process: (exit status, stdout, stderr);
    argparse's exit included."""
    try:
        code = entry(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """`arbbot ARGV` in this process."""
    return in_process(main, argv, capsys)


def bot(argv: list[str], cwd, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    full.update(env or {})
    return subprocess.run(BOT + argv, cwd=cwd, env=full, capture_output=True, text=True, timeout=60)


# ---- the kill switch --------------------------------------------------------------------------------

@pytest.mark.parametrize("toml, env, expected, why", [
    (None, {"ARB_SEED": "-1"}, "arbbot.kill", "seed:"),
    ('kill_file = "custom.kill"\nseed = -1\n', {}, "custom.kill", "seed:"),
    ('seed = = 1\nkill_file = "typo.kill"\n', {}, "typo.kill", "not valid TOML"),
    ('seed = = 1\n', {"ARB_KILL_FILE": "env.kill"}, "env.kill", "not valid TOML"),
    (None, {"ARB_CONFIG": "missing.toml"}, "arbbot.kill", "ARB_CONFIG=missing.toml: no such file"),
    (None, {"ARB_SIZING": "{bad"}, "arbbot.kill", "ARB_SIZING"),
])
def test_halt_and_resume_work_with_a_broken_configuration(in_tmp, monkeypatch, capsys, toml, env, expected, why):
    if toml is not None:
        (in_tmp / "arbbot.toml").write_text(toml)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    kill = in_tmp / expected
    code, out, err = run(["halt", "--reason", "news"], capsys)
    assert code == 0, err
    assert kill.read_text() == "news\n"
    assert f"halted: wrote {kill}" in out                          # the absolute path
    assert why in err and "kill_file" in err                       # the warning says what was used
    assert [p.name for p in in_tmp.iterdir() if p.name.endswith(".kill")] == [expected]
    code, out, err = run(["resume"], capsys)
    assert code == 0 and f"resumed: removed {kill}" in out and not kill.exists()


def test_halt_from_another_directory_names_the_absolute_file_it_wrote(in_tmp, capsys):
    other = in_tmp / "elsewhere"
    other.mkdir()
    os.chdir(other)
    code, out, err = run(["halt"], capsys)
    assert code == 0 and err == ""
    assert (other / "arbbot.kill").read_text() == "operator halt\n"
    assert f"halted: wrote {other / 'arbbot.kill'}" in out
    assert "relative" in out                                       # a bot started elsewhere watches its own


@pytest.mark.parametrize("value, halt, resume", [
    ("", "kill_file is empty", "kill_file is empty"),
    ("{dir}", "kill_file {dir} is a directory", "kill_file {dir} is a directory"),
    ("/nonexistent/k", "cannot write kill file /nonexistent/k: No such file or directory", None),
])
def test_halt_refuses_a_kill_file_it_cannot_write(in_tmp, monkeypatch, capsys, value, halt, resume):
    (in_tmp / "adir").mkdir()
    monkeypatch.setenv("ARB_KILL_FILE", value.format(dir=in_tmp / "adir"))
    for command, message in (("halt", halt), ("resume", resume)):
        code, out, err = run([command], capsys)
        if message is None:                                         # nothing to remove: not halted
            assert code == 0 and out == "not halted: /nonexistent/k does not exist\n"
            continue
        assert code == 2 and out == "", (command, out, err)
        assert len(err.splitlines()) == 1 and err.startswith(f"arbbot {command}: ")
        assert message.format(dir=in_tmp / "adir") in err, err
    assert sorted(p.name for p in in_tmp.iterdir()) == ["adir"] and list((in_tmp / "adir").iterdir()) == []


def test_halt_without_a_writable_kill_file_in_a_subprocess_shows_no_traceback(tmp_path):
    (tmp_path / "adir").mkdir()
    r = bot(["halt"], tmp_path, {"ARB_KILL_FILE": "adir"})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr == f"arbbot halt: kill_file {tmp_path / 'adir'} is a directory\n"


# ---- environment variables holding JSON --------------------------------------------------------------

@pytest.mark.parametrize("var, value, shape", [
    ("ARB_NOTIFY_WEBHOOKS", "https://hooks.example/T000/SECRET-PATH-123", "a JSON list"),
    ("ARB_SIZING", "{bad SECRET-PATH-123", "a JSON object"),
])
def test_malformed_json_in_an_env_var_names_the_variable_not_its_value(in_tmp, monkeypatch, capsys, var, value,
                                                                       shape):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value) == f"{var}: not valid JSON (expected {shape}; the value is not shown)"
    code, out, err = run(["config", "show"], capsys)
    assert code == 2 and err == f"arbbot config: {var}: not valid JSON (expected {shape}; the value is not shown)\n"
    assert "SECRET" not in out + err
    r = bot(["status"], in_tmp, {var: value})
    assert r.returncode == 2 and "Traceback" not in r.stderr and var in r.stderr and "SECRET" not in r.stderr


# ---- settings bounds -----------------------------------------------------------------------------------

@pytest.mark.parametrize("token, ok", [("Sh0rtT0k", False), ("Xy9" * 5, False), ("x" * 16, True), ("", True)])
def test_the_dashboard_token_needs_16_characters(in_tmp, monkeypatch, token, ok):
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", token)
    if ok:
        assert load_settings().dashboard_token.get_secret_value() == token
        return
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value).startswith("dashboard_token: ") and "at least 16 characters" in str(exc.value)
    assert token not in str(exc.value)


def test_a_dashboard_token_long_enough_is_also_long_enough_to_be_redacted():
    from arbbot import logs
    from arbbot.config import MIN_DASHBOARD_TOKEN
    from arbbot.ops.dashboard.auth import Auth
    token = "t" * MIN_DASHBOARD_TOKEN
    logs.register_secret(token)
    assert logs.scrub(f"url ?token={token}") == "url ?token=********"
    with pytest.raises(ValueError, match="at least 16 characters"):
        Auth("t" * (MIN_DASHBOARD_TOKEN - 1))


@pytest.mark.parametrize("value, message", [
    (1e300, "max_contracts: Input should be less than or equal to 1000000"),
    (1_000_000.5, "max_contracts: Input should be less than or equal to 1000000"),
    (float("inf"), "max_contracts: Input should be a finite number"),
    (float("nan"), "max_contracts: Input should be a finite number"),
    (0.004, "max_contracts: below one lot (0.01 contract)"),
])
def test_max_contracts_is_bounded_by_the_largest_size_a_snapshot_may_state(in_tmp, value, message):
    with pytest.raises(ConfigError) as exc:
        load_settings(max_contracts=value)
    assert str(exc.value).startswith(message), str(exc.value)
    with pytest.raises(ConfigError, match="max_contracts"):
        validate_file_dict({"max_contracts": value})                # explain --config, replay/tune --config
    assert load_settings(max_contracts=1_000_000).max_contracts == 1_000_000


def test_config_show_refuses_a_huge_max_contracts_from_the_environment(in_tmp, monkeypatch, capsys):
    monkeypatch.setenv("ARB_MAX_CONTRACTS", "1e300")
    code, out, err = run(["config", "show"], capsys)
    assert code == 2 and out == "" and err.startswith("arbbot config: max_contracts: Input should be less than")


def test_exposure_limits_are_bounded_by_int64_micro_dollars(in_tmp):
    from arbbot.config import MONEY_MAX_USD
    assert MONEY_MAX_USD == (2**63 - 1) // 1_000_000
    (in_tmp / "arbbot.toml").write_text("[sizing.exposure_manager]\nmax_venue_usd = 1e300\n")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "sizing.exposure_manager.max_venue_usd: Input should be less than or equal to 9223372036854" \
        in str(exc.value)
    (in_tmp / "arbbot.toml").write_text(f"[sizing.exposure_manager]\nmax_venue_usd = {MONEY_MAX_USD}\n")
    assert load_settings().sizing.exposure_manager.max_venue_usd == MONEY_MAX_USD


# ---- run / live arguments, checked when parsed ---------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--duration", "-5"], "argument --duration: expected a number > 0, got '-5'"),
    (["--duration", "nan"], "argument --duration: expected a number > 0, got 'nan'"),
    (["--duration", "0"], "argument --duration: expected a number > 0, got '0'"),
    (["--step", "-1"], "argument --step: expected a number ≥ 0, got '-1'"),
    (["--step", "inf"], "argument --step: expected a number ≥ 0, got 'inf'"),
    (["--markets", "0"], "argument --markets: expected a whole number ≥ 100, got '0'"),
    (["--markets", "ten"], "argument --markets: expected a whole number ≥ 100, got 'ten'"),
    (["--dashboard-port", "-1"], "argument --dashboard-port: expected a port 0-65535, got '-1'"),
    (["--metrics-port", "70000"], "argument --metrics-port: expected a port 0-65535, got '70000'"),
    (["--max-contracts", "1e300"], "argument --max-contracts: expected 0.01 to 1000000 contracts, got '1e300'"),
    (["--max-contracts", "inf"], "argument --max-contracts: expected 0.01 to 1000000 contracts, got 'inf'"),
    (["--stale-after", "nan"], "argument --stale-after: expected a number > 0, got 'nan'"),
    (["--cooldown", "-1"], "argument --cooldown: expected a number ≥ 0, got '-1'"),
])
@pytest.mark.parametrize("command", ["run", "live"])
def test_run_arguments_are_checked_when_parsed(in_tmp, capsys, monkeypatch, command, args, message):
    import arbbot.run.command as run_command
    monkeypatch.setattr(run_command, "main", lambda a: pytest.fail("the run started"))
    code, out, err = run([command, *args], capsys)
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == f"arbbot {command}: error: {message}"
    assert list(in_tmp.iterdir()) == []                            # no order store, nothing started


@pytest.mark.parametrize("command", [["run"], ["reconcile"]])
def test_connect_to_a_json_list_is_refused(in_tmp, capsys, command):
    from arbbot.execution.store import OrderStore
    OrderStore(str(in_tmp / "o.db")).close()                      # reconcile reads an existing store
    (in_tmp / "list.json").write_text("[]")
    code, out, err = run([*command, "--connect", "list.json", "--db", "o.db"], capsys)
    assert code == 2, err
    assert "cannot use simulator handle list.json: expected a JSON object (arbbot.sim-handle/1)" in err
    (in_tmp / "wrong.json").write_text(json.dumps({"format": "arbbot.sim-handle/1", "urls": {},
                                                   "kalshi_key_id": "k", "kalshi_private_key_pem": 7,
                                                   "polymarket": {}}))
    code, out, err = run([*command, "--connect", "wrong.json", "--db", "o.db"], capsys)
    assert code == 2 and "cannot use simulator handle wrong.json" in err


# ---- help -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, needle", [
    (["examples", "--help"], "Scan each example snapshot bundled with arbbot"),
    (["resume", "--help"], "Remove the kill file"),
    (["config", "--help"], "show: print every setting"),
])
def test_help_explains_every_command_and_argument(capsys, argv, needle):
    code, out, _ = run(argv, capsys)
    assert code == 0 and needle in " ".join(out.split())


def test_sim_help_explains_the_seed(capsys):
    code, out, _ = run(["sim", "--help"], capsys)
    assert code == 0 and "simulator seed" in " ".join(out.split())


def test_kill_file_written_by_halt_is_a_plain_file(in_tmp, capsys):
    code, _, _ = run(["halt"], capsys)
    assert code == 0 and stat.S_ISREG((in_tmp / "arbbot.kill").stat().st_mode)


def test_ctrl_c_while_the_commands_load_is_an_interruption_not_a_traceback(monkeypatch, capsys):
    """Building the parser imports every command's module (about a second cold): a Ctrl-C landing
    there was a KeyboardInterrupt traceback (CLI review, session 33); now "interrupted", exit 130."""
    import arbbot.cli as cli

    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "_parser", interrupted)
    assert cli.main(["replay", "x.jsonl"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize("toml, message", [
    ("seed = true", "seed: expected a number, got true"),
    ("cooldown_s = false", "cooldown_s: expected a number, got false"),
    ("max_contracts = true", "max_contracts: expected a number, got true"),
    ("scenario = true", "scenario: expected text, got true"),
    ("notify_webhooks = false", "notify_webhooks: expected a list, got false"),
    ("log_json = 1", "log_json: expected true or false, got 1"),
    ("snapshot_start = 0.0", "snapshot_start: expected true or false, got 0.0"),
])
def test_a_toml_true_or_false_is_no_number_and_a_number_no_switch(in_tmp, capsys, toml, message):
    """Before, pydantic's lax reading took `seed = true` as seed 1, `cooldown_s = false` as no
    cooldown and `log_json = 1` as on: a typo changed the bot's behaviour silently."""
    (in_tmp / "arbbot.toml").write_text(toml + "\n")
    (in_tmp / "arbbot.toml").chmod(0o600)          # (a file naming a secret's key must be private)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value) == message
    code, out, err = run(["config", "show"], capsys)
    assert code == 2 and out == "" and err == f"arbbot config: {message}\n"


def test_switches_and_numbers_read_as_before(in_tmp, monkeypatch):
    (in_tmp / "arbbot.toml").write_text("seed = 3\ncooldown_s = 0\nlog_json = true\nsnapshot_start = false\n")
    s = load_settings()
    assert (s.seed, s.cooldown_s, s.log_json, s.snapshot_start) == (3, 0.0, True, False)
    monkeypatch.setenv("ARB_SEED", "5")
    monkeypatch.setenv("ARB_LOG_JSON", "1")          # the environment's text: "1", "true" as pydantic reads them
    s = load_settings()
    assert (s.seed, s.log_json) == (5, True)
