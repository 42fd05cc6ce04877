"""Configuration (arbbot.toml + ARB_*, secrets masked, loopback by default) and the metrics endpoint."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx
import pytest

from arbbot.cli import main
from arbbot.config import ConfigError, load_settings, usd
from arbbot.run.live import LiveSession, simulated_venues
from arbbot.ops.metrics import serve_metrics
from arbbot.sim import serve
from tests.mapping.twins import sim_twins



def test_precedence_arguments_env_toml_defaults(in_tmp, monkeypatch):
    assert load_settings().seed == 0
    (in_tmp / "arbbot.toml").write_text('seed = 7\nscenario = "fed"\ncooldown_s = 2.5\n')
    s = load_settings()
    assert (s.seed, s.scenario, s.cooldown_s) == (7, "fed", 2.5)
    monkeypatch.setenv("ARB_SEED", "9")
    assert load_settings().seed == 9
    assert load_settings(seed=11).seed == 11
    monkeypatch.setenv("ARB_ENGINE_LANES", "python")      # engine-selection variables are not settings
    assert load_settings().seed == 9


@pytest.mark.parametrize("toml, message", [
    ("seed = -1\n", "seed:"),
    ("stale_after_s = 0\n", "stale_after_s:"),
    ("metrics_host = \"0.0.0.0\"\n", "not loopback"),
    ("typo_setting = 1\n", "typo_setting:"),
    ("engine = \"rust\"\n", "engine:"),
    ("day_start_utc = \"6:30\"\n", "day_start_utc: .*HH:MM"),
    ("day_start_utc = \"24:00\"\n", "day_start_utc:"),
    ("reconcile_interval_s = 0\n", "reconcile_interval_s:"),
    ("min_profit = -0.01\n", "min_profit:"),
    ("min_profit = nan\n", "min_profit:"),
    ("sizing_warm_ms = -1\n", "sizing_warm_ms:"),
    ("[sizing.fill_model]\nmin_fill_prob = 2.0\n", r"sizing\.fill_model\.min_fill_prob:"),
    ("[sizing]\nbogus = 1\n", r"sizing\.bogus:"),
    ("[sizing.kelly]\nenabled = \"yes\"\n", r"sizing\.kelly\.enabled:"),
])
def test_invalid_settings_name_the_setting(in_tmp, toml, message):
    (in_tmp / "arbbot.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_min_profit_and_sizing_from_toml_reach_the_settings_and_config_show(in_tmp, capsys):
    (in_tmp / "arbbot.toml").write_text('min_profit = 0.05\n[sizing.fill_model]\nmin_fill_prob = 0.9\n'
                                        '[sizing.kelly]\nenabled = false\n')
    s = load_settings()
    assert s.min_profit == 0.05 and usd(s.min_profit) == 50_000
    assert s.sizing.fill_model.min_fill_prob == 0.9 and s.sizing.kelly.enabled is False
    assert s.sizing.capital_lock.enabled is True                 # untouched sections keep the spec's defaults
    assert main(["config", "show"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["min_profit"] == 0.05 and shown["sizing"]["fill_model"]["min_fill_prob"] == 0.9


def test_config_show_prints_the_effective_venue_minimums(in_tmp, capsys):
    # SIZING.md: min_order_usd.<venue> (polymarket 1.0, others 0) — shown, not an empty table
    assert main(["config", "show"]) == 0
    fee = json.loads(capsys.readouterr().out)["sizing"]["fee_model"]
    assert fee["min_order_usd"] == {"kalshi": 0.0, "polymarket": 1.0, "forecastex": 0.0}
    (in_tmp / "arbbot.toml").write_text("[sizing.fee_model]\nmin_order_usd.kalshi = 0.5\n")
    assert main(["config", "show"]) == 0
    fee = json.loads(capsys.readouterr().out)["sizing"]["fee_model"]
    assert fee["min_order_usd"] == {"kalshi": 0.5, "polymarket": 1.0, "forecastex": 0.0}
    assert load_settings().sizing.params().min_order == (500_000, 1_000_000, 0)      # behaviour unchanged


def test_config_show_takes_config_like_the_other_commands(in_tmp, monkeypatch, capsys):
    (in_tmp / "arbbot.toml").write_text("seed = 1\n")                  # not read with --config
    other = in_tmp / "other.toml"
    other.write_text("seed = 7\n[sizing.kelly]\nsigma = 0.03\n")
    assert main(["config", "show", "--config", str(other)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["seed"], shown["sizing"]["kelly"]["sigma"]) == (7, 0.03)
    monkeypatch.setenv("ARB_CONFIG", str(other))                      # the same as ARB_CONFIG=F
    assert main(["config", "show"]) == 0
    assert json.loads(capsys.readouterr().out) == shown
    monkeypatch.delenv("ARB_CONFIG")
    monkeypatch.setenv("ARB_SEED", "9")                               # ARB_* variables still win over the file
    assert main(["config", "show", "--config", str(other)]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 9
    with pytest.raises(SystemExit):
        main(["config", "--help"])
    assert "--config" in capsys.readouterr().out


BAD_FILES = [
    ("seed = \n", "missing.toml: not valid TOML"),
    ("[sizing.lane_allocator]\nlanes = [\"intra\", \"intra\"]\n", "sizing.lane_allocator.lanes: "),
    ("[sizing.monte_carlo]\npaths = 20000000\n", "sizing.monte_carlo.paths: 20000000 is outside [1, 10000000]"),
    ("[sizing.fee_model.extras.kalshi]\nper_order_usd = 1e12\n", "sizing.fee_model.extras.kalshi.per_order_usd: "),
    ("min_profit = 1e300\n", "min_profit: Input should be less than or equal to 9223372036854"),
]


@pytest.mark.parametrize("how, toml, message", [
    ("--config", None, "cannot read missing.toml"),
    ("ARB_CONFIG", None, "ARB_CONFIG=missing.toml: no such file"),     # not the defaults: a typo trades them
    *[("--config", t, m) for t, m in BAD_FILES], *[("ARB_CONFIG", t, m) for t, m in BAD_FILES]])
def test_config_show_refuses_a_bad_file_with_exit_2(in_tmp, monkeypatch, capsys, toml, message, how):
    if toml is not None:
        (in_tmp / "missing.toml").write_text(toml)
    argv = ["config", "show"] + (["--config", "missing.toml"] if how == "--config" else [])
    if how == "ARB_CONFIG":
        monkeypatch.setenv("ARB_CONFIG", "missing.toml")
    assert main(argv) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("arbbot config: ") and message in out.err, out.err
    assert "Traceback" not in out.err


def test_secrets_are_masked_and_key_files_must_be_private(in_tmp, monkeypatch, capsys):
    monkeypatch.setenv("ARB_POLYMARKET_API_SECRET", "s3cr3t-value")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "s3cr3t-value" not in out and json.loads(out)["polymarket_api_secret"] == "********"
    assert "s3cr3t-value" not in repr(load_settings())
    key = in_tmp / "kalshi.pem"
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o644)
    monkeypatch.setenv("ARB_KALSHI_PRIVATE_KEY_FILE", str(key))
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings()
    key.chmod(0o600)
    assert load_settings().kalshi_private_key().startswith(b"-----BEGIN")


def test_metrics_endpoint_reports_the_session():
    handle = serve("all", 0, step_interval=0.05)

    async def main_():
        session = LiveSession(simulated_venues(handle), sim_twins())
        await session.discover()
        server, _ = serve_metrics(session, "127.0.0.1", 0)
        try:
            session.start_streams()
            for _ in range(100):
                await asyncio.sleep(0.05)
                if session.stats.book_updates >= 50:
                    break
            await session.stop_tasks()       # the counters stop here: the scrape and the session agree
            async with httpx.AsyncClient() as client:
                text = (await client.get(f"http://127.0.0.1:{server.server_port}/metrics")).text
        finally:
            server.shutdown()
            await session.close()
        values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
                  if line and not line.startswith("#")}
        assert values["arbbot_books"] == 36.0 and values["arbbot_books_healthy"] == 36.0
        assert values["arbbot_book_updates_total"] >= 50
        assert values["arbbot_detect_latency_seconds_count"] >= 50
        found = sum(v for k, v in values.items() if k.startswith("arbbot_opportunities_found_total"))
        assert found == sum(session.stats.found.values())
        assert 'arbbot_opportunities_found_total{lane="tree"}' in values

    try:
        asyncio.run(asyncio.wait_for(main_(), 60))
    finally:
        handle.stop()


def test_live_command_json_summary(capsys):
    assert main(["live", "--duration", "2", "--json", "--metrics-port", "0", "--seed", "0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "arbbot.live-summary/1" and summary["markets"] == 39   # Kalshi 17, Polymarket 19, ForecastEx 3
    # from the listings: 6 buckets, a complement, 9 implications; the 12 twins when generation ended in time
    assert summary["structural_relations"] == 16
    generated = summary["mappings"]["generated"]
    assert summary["relations"] == 16 + (generated["relations_added"] if generated else 0)
    assert generated is None or generated["relations_added"] == 12      # 10 twins + 2 games' inverse sides
    assert summary["books_healthy"] == 39 and summary["book_updates"] > 0 and summary["errors"] == []


def test_ack_clears_safe_mode(tmp_path, capsys):
    from arbbot.execution.store import OrderStore
    path = str(tmp_path / "orders.db")
    store = OrderStore(path)
    store.enter_safe_mode("naked position on kalshi:X")
    assert main(["ack", "--db", path]) == 0
    assert "safe mode cleared (naked position on kalshi:X)" in capsys.readouterr().out
    assert OrderStore(path).safe_mode() is None
    assert main(["ack", "--db", str(tmp_path / "missing.db")]) == 2


def test_run_paper_trades_the_simulator(tmp_path, capsys):
    db = str(tmp_path / "paper.db")
    assert main(["run", "--duration", "8", "--json", "--metrics-port", "0", "--db", db]) == 0
    summary = json.loads(capsys.readouterr().out)
    trading = summary["trading"]
    from arbbot.execution.store import OrderStore
    executions = OrderStore(db).executions()
    assert summary["markets"] == 39 and trading is not None
    assert (trading["safe_mode"] is None) == all(x.state != "naked" for x in executions)
    assert len(executions) == sum(trading["executions"].values())


def _metrics_session():
    from types import SimpleNamespace
    return SimpleNamespace(universe=None, markets=[], stats=SimpleNamespace(), trader=None)


def test_the_metrics_server_drops_idle_clients_and_holds_a_bounded_number_of_connections(monkeypatch):
    """The exposition server runs in the bot's process: idle connections (slowloris) are closed
    after CONNECTION_TIMEOUT_S, and beyond CONNECTIONS_MAX at once a new one is closed unanswered,
    so a local client can hold neither the bot's threads nor its file descriptors; a scrape
    still gets its answer once they are gone."""
    import socket as socket_module
    import threading as threading_module
    import time as time_module
    from arbbot.ops import metrics as metrics_module
    monkeypatch.setattr(metrics_module._Quiet, "timeout", 0.5)          # (CONNECTION_TIMEOUT_S at class creation)
    import io
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)                              # socketserver reports errors there
    handle = serve("all", 0, step_interval=None)

    async def main_():
        session = LiveSession(simulated_venues(handle), sim_twins())
        await session.discover()
        server, _ = serve_metrics(session, "127.0.0.1", 0)
        before = threading_module.active_count()
        idle = [socket_module.create_connection(("127.0.0.1", server.server_port)) for _ in range(40)]
        try:
            time_module.sleep(0.3)
            assert threading_module.active_count() - before <= metrics_module.CONNECTIONS_MAX
            refused = 0
            for s in idle:                                   # the ones over the bound: closed at once
                s.settimeout(0.2)
                try:
                    refused += s.recv(1) == b""
                except socket_module.timeout:
                    pass
            assert refused >= 40 - metrics_module.CONNECTIONS_MAX
            time_module.sleep(1.0)                           # the idle ones within it: timed out
            assert threading_module.active_count() - before <= 1
            async with httpx.AsyncClient() as client:
                r = await client.get(f"http://127.0.0.1:{server.server_port}/metrics")
            assert r.status_code == 200 and "arbbot_books" in r.text
            assert "Traceback" not in err.getvalue() and "Exception occurred" not in err.getvalue()
        finally:
            for s in idle:
                s.close()
            server.shutdown()
            await session.close()
    try:
        asyncio.run(asyncio.wait_for(main_(), 60))
    finally:
        handle.stop()


def test_a_taken_metrics_port_is_a_clear_refusal_or_a_free_port_when_nobody_chose_it(tmp_path):
    import socket as socket_module
    taken = socket_module.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        chosen = subprocess.run([sys.executable, "-m", "arbbot.cli", "run", "--duration", "2", "--no-dashboard",
                                 "--db", str(tmp_path / "a.db"), "--metrics-port", str(port)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=180,
                                env={**os.environ, "ARB_KILL_FILE": ""})
        assert chosen.returncode == 2 and "Traceback" not in chosen.stderr
        assert f"metrics port {port} on 127.0.0.1" in chosen.stderr and "--metrics-port" in chosen.stderr
        from arbbot.ops import metrics as metrics_module
        server, _ = metrics_module.serve_metrics(_metrics_session(), "127.0.0.1", port, fallback=True)
        try:
            assert server.server_port not in (0, port)
        finally:
            server.server_close()
    finally:
        taken.close()
