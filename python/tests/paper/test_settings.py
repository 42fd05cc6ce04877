"""Paper and ForecastEx settings: validated, named in errors; which real venues `--live` and
`--live --paper` build from them; the flag combinations `arbbot run --paper` refuses."""
from __future__ import annotations

import asyncio
import socket

import pytest

from arbbot.cli import main
from arbbot.config import ConfigError, load_settings
from arbbot.execution.store import OrderStore
from arbbot.run.real_venues import connect_real_venues, missing_credentials, real_venues
from tests.risk.trades import complete_profitable


@pytest.mark.parametrize("toml, message", [
    ("forecastex_port = 70000\n", "forecastex_port: Input should be less than or equal to 65535"),
    ("forecastex_port = -1\n", "forecastex_port: Input should be greater than or equal to 0"),
    ("forecastex_client_id = -3\n", "forecastex_client_id: Input should be greater than or equal to 0"),
    ("forecastex_client_id = 2147483648\n", "forecastex_client_id: Input should be less than or equal to 2147483647"),
    ('forecastex_host = ""\n', "forecastex_host: String should have at least 1 character"),
    ("paper_latency_ms = -5\n", "paper_latency_ms: Input should be greater than or equal to 0"),
    ("paper_latency_ms = 60001\n", "paper_latency_ms: Input should be less than or equal to 60000"),
    ("paper_cash_usd = 0\n", "paper_cash_usd: Input should be greater than 0"),
])
def test_bad_paper_and_forecastex_settings_are_named(in_tmp, toml, message):
    (in_tmp / "arbbot.toml").write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == message


def test_defaults_and_environment(in_tmp, monkeypatch):
    s = load_settings()
    assert (s.forecastex_host, s.forecastex_port, s.forecastex_client_id) == ("127.0.0.1", 0, 11)
    assert (s.paper_cash_usd, s.paper_latency_ms) == (10_000.0, None)          # latency: measured
    monkeypatch.setenv("ARB_FORECASTEX_PORT", "4002")
    monkeypatch.setenv("ARB_FORECASTEX_CLIENT_ID", "21")
    monkeypatch.setenv("ARB_PAPER_LATENCY_MS", "12.5")
    s = load_settings()
    assert (s.forecastex_port, s.forecastex_client_id, s.paper_latency_ms) == (4002, 21, 12.5)


def test_paper_on_live_data_needs_no_credentials_and_never_uses_polymarkets(in_tmp, monkeypatch):
    monkeypatch.setenv("ARB_POLYMARKET_API_KEY", "key-id")                 # incomplete for trading
    s = load_settings()
    assert missing_credentials(s) == {
        "kalshi": ["kalshi_key_id", "kalshi_private_key_file"],
        "polymarket": ["polymarket_api_secret", "polymarket_api_passphrase", "polymarket_private_key"],
        "forecastex": ["forecastex_port"]}
    assert missing_credentials(s, paper=True) == {"kalshi": ["kalshi_key_id", "kalshi_private_key_file"],
                                                  "forecastex": ["forecastex_port"]}
    assert real_venues(s) == {}
    venues = real_venues(s, paper=True)
    assert list(venues) == ["polymarket"]
    config = venues["polymarket"].config
    assert (config.api_key, config.private_key, config.clob_url) == ("", "", "https://clob.polymarket.com")


def test_forecastex_settings_reach_the_connection(in_tmp, monkeypatch):
    with socket.socket() as sock:                 # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ARB_FORECASTEX_PORT", str(port))
    with pytest.raises(ValueError, match=rf"ForecastEx: TWS / IB Gateway at 127.0.0.1:{port} \(forecastex_host, "
                                         r"forecastex_port\)"):
        asyncio.run(connect_real_venues(load_settings(), paper=True))


@pytest.mark.parametrize("argv, message", [
    (["--paper"], "arbbot run --paper refused: --paper needs market data: --connect HANDLE_FILE (a simulator's, "
                  "arbbot sim --handle-file) or --live (the real venues'; no order is sent)"),
    (["--paper", "--live", "--connect", "h.json"],
     "arbbot run --paper refused: --live and --connect are exclusive (--connect is a simulator)"),
    (["--paper", "--live", "--confirm-live"],
     "arbbot run --paper refused: --confirm-live confirms real orders; --paper sends none (drop it)"),
])
def test_bad_flag_combinations_exit_2_with_one_line(in_tmp, capsys, argv, message):
    assert main(["run", "--duration", "1", "--json", *argv]) == 2
    err = capsys.readouterr().err
    assert err == message + "\n"
    assert not (in_tmp / "arbbot.db").exists()


def test_paper_and_venue_trading_never_share_a_database(in_tmp, capsys):
    venue = OrderStore(str(in_tmp / "venue.db"))
    complete_profitable(venue)
    venue.close()
    assert main(["run", "--paper", "--connect", "missing.json", "--db", "venue.db", "--duration", "1", "--json"]) == 2
    assert capsys.readouterr().err == ("arbbot run: order store venue.db holds orders sent to venues; use another "
                                       "--db for --paper\n")
    paper = OrderStore(str(in_tmp / "paper.db"))
    paper.claim_trading_mode("paper")
    paper.close()
    assert main(["run", "--db", "paper.db", "--duration", "1", "--json"]) == 2
    assert capsys.readouterr().err == ("arbbot run: order store paper.db holds paper trading (arbbot run --paper); "
                                       "use another --db for orders sent to venues\n")
    assert main(["reconcile", "--db", "venue.db", "--paper"]) == 2
    assert capsys.readouterr().err == ("arbbot reconcile: venue.db is not a paper database: reconcile it with "
                                       "--connect HANDLE_FILE or --live\n")
    assert main(["reconcile", "--db", "venue.db"]) == 2
    assert capsys.readouterr().err == ("arbbot reconcile: one of --connect HANDLE_FILE or --live is required (or "
                                       "--paper for a paper database)\n")
