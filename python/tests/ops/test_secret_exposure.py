"""Secrets and the bot's files stay with the operator (review of the dashboard and config paths):

1. the dashboard's login URL (its token) is shown on an interactive terminal only: not on a stderr
   that is a file or a pipe (systemd, docker, nohup keep it), and a token from ARB_DASHBOARD_TOKEN
   is never printed at all;
2. API key identifiers (`kalshi_key_id`, `polymarket_api_key`) are masked in `arbbot config show`
   and the dashboard's config, left out of the venue configs' reprs and registered for redaction;
3. a dashboard port the operator chose that is taken is an error (exit 2, one line), not silently
   replaced; only the built-in default falls back to a free port, with a warning;
4. the order store and its -wal / -shm files are created owner-only (0600) whatever the umask;
5. a non-string log value (an exception) holding a non-ASCII secret is redacted before the JSON
   renderer escapes it.
"""
from __future__ import annotations

import io
import json
import logging
import os
import socket
import stat
import subprocess
import sys
from types import SimpleNamespace

import pytest

from arbbot import logs
from arbbot.cli import main
from arbbot.config import Settings, load_settings

KEY_ID = "KALSHIKEYID-1234-5678"
API_KEY = "POLYKEY-aaaa-bbbb-cccc"
OPERATOR_TOKEN = "operator-token-0123456789abcdef"
URL = "http://127.0.0.1:8787/"


@pytest.fixture
def log_out():
    stream = io.StringIO()
    yield stream
    logs.configure(json=False)


# ---- 1. the dashboard URL with its token: on a terminal only --------------------------------------

def _run_bot(tmp_path, env_extra: dict) -> tuple[str, str]:
    """`arbbot run --json` with stderr to a file, in a session of its own (no controlling
    terminal, as under systemd or docker): (stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    env.update({"ARB_KILL_FILE": str(tmp_path / "arbbot.kill"), **env_extra})
    err_path = tmp_path / "run.err"
    with open(err_path, "w") as err:
        out = subprocess.run([sys.executable, "-m", "arbbot.cli", "run", "--duration", "2", "--json", "--db",
                              str(tmp_path / "y.db"), "--metrics-port", "0", "--dashboard-port", "0"],
                             cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=err, text=True, timeout=180,
                             start_new_session=True)
    err = err_path.read_text()
    assert "arbbot: dashboard http://127.0.0.1:" in err, err[-3000:]     # the run's own outcome is not the point
    return out.stdout, err


def test_a_generated_token_never_reaches_a_stderr_that_is_a_file(tmp_path):
    _, err = _run_bot(tmp_path, {})
    assert "?token=" not in err.replace("?token=<ARB_DASHBOARD_TOKEN>", ""), err
    line = next(x for x in err.splitlines() if x.startswith("arbbot: dashboard http://127.0.0.1:"))
    assert "set ARB_DASHBOARD_TOKEN" in line, line


def test_a_token_from_the_environment_is_never_printed(tmp_path):
    out, err = _run_bot(tmp_path, {"ARB_DASHBOARD_TOKEN": OPERATOR_TOKEN})
    assert OPERATOR_TOKEN not in err and OPERATOR_TOKEN not in out, err
    line = next(x for x in err.splitlines() if x.startswith("arbbot: dashboard http://127.0.0.1:"))
    assert line.endswith("?token=<ARB_DASHBOARD_TOKEN>)"), line


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _dashboard(token="generated-token-0123456789"):
    return SimpleNamespace(url=URL, login_url=f"{URL}?token={token}")


def _no_tty():
    raise OSError(6, "No such device or address")


def test_a_generated_token_is_shown_on_a_terminal_stderr():
    """`bash scripts/run.sh` in a terminal: the newcomer gets the login URL."""
    from arbbot.run.command import _announce_dashboard
    err = _Stream(tty=True)
    how = _announce_dashboard(_dashboard(), token_given=False, log_json=False, stderr=err, open_tty=_no_tty)
    assert err.getvalue() == f"arbbot: dashboard {URL}?token=generated-token-0123456789\n"
    assert how == "generated, shown on the terminal"


@pytest.mark.parametrize("log_json", [False, True], ids=["console", "log-json"])
def test_stderr_redirected_the_login_url_goes_to_the_controlling_terminal(log_json):
    from arbbot.run.command import _announce_dashboard
    err, tty = _Stream(tty=False), _Stream(tty=True)
    tty.close = lambda: None                # read after the `with`
    how = _announce_dashboard(_dashboard(), token_given=False, log_json=log_json, stderr=err, open_tty=lambda: tty)
    assert tty.getvalue() == f"arbbot: dashboard {URL}?token=generated-token-0123456789\n"
    assert "generated-token" not in err.getvalue()
    assert err.getvalue() == ("" if log_json else f"arbbot: dashboard {URL} (its token is shown on the terminal "
                                                  f"only)\n")
    assert how == "generated, shown on the terminal"


def test_no_terminal_at_all_says_how_to_sign_in():
    from arbbot.run.command import _announce_dashboard
    err = _Stream(tty=False)
    how = _announce_dashboard(_dashboard(), token_given=False, log_json=False, stderr=err, open_tty=_no_tty)
    assert err.getvalue() == (f"arbbot: dashboard {URL} (its token is shown on a terminal only; set "
                              f"ARB_DASHBOARD_TOKEN, at least 16 characters, and sign in with "
                              f"?token=<ARB_DASHBOARD_TOKEN>)\n")
    assert how == "generated, not shown (no terminal): set ARB_DASHBOARD_TOKEN"


def test_the_operators_token_is_not_shown_even_on_a_terminal():
    from arbbot.run.command import _announce_dashboard
    err, tty = _Stream(tty=True), _Stream(tty=True)
    how = _announce_dashboard(_dashboard(OPERATOR_TOKEN), token_given=True, log_json=False, stderr=err,
                              open_tty=lambda: tty)
    assert err.getvalue() == f"arbbot: dashboard {URL} (sign in with {URL}?token=<ARB_DASHBOARD_TOKEN>)\n"
    assert tty.getvalue() == "" and how == "ARB_DASHBOARD_TOKEN"


# ---- 2. API key identifiers: masked, out of reprs, redacted -------------------------------------

def test_config_show_masks_the_api_key_identifiers(in_tmp, monkeypatch, capsys):
    monkeypatch.setenv("ARB_KALSHI_KEY_ID", KEY_ID)
    monkeypatch.setenv("ARB_POLYMARKET_API_KEY", API_KEY)
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert (shown["kalshi_key_id"], shown["polymarket_api_key"]) == ("KALS********", "POLY********")
    assert KEY_ID not in out and API_KEY not in out and "1234-5678" not in out and "bbbb-cccc" not in out


@pytest.mark.parametrize("value, shown", [("", ""), ("abcdefgh", "********"), ("abcdefghi", "abcd********")])
def test_a_short_key_identifier_shows_nothing_of_itself(value, shown):
    assert Settings(kalshi_key_id=value, polymarket_api_key=value).masked()["kalshi_key_id"] == shown


def test_the_dashboard_state_carries_the_identifiers_masked(in_tmp, monkeypatch):
    from arbbot.ops.dashboard.history import History
    from arbbot.ops.dashboard.state import StateBuilder
    monkeypatch.setenv("ARB_KALSHI_KEY_ID", KEY_ID)
    monkeypatch.setenv("ARB_POLYMARKET_API_KEY", API_KEY)
    controls = SimpleNamespace(trading=False, version=0, halted=lambda: None, value=lambda key: None)
    state = StateBuilder(SimpleNamespace(latest=None), History(None), controls, load_settings()).state()
    assert (state["config"]["kalshi_key_id"], state["config"]["polymarket_api_key"]) == ("KALS********",
                                                                                       "POLY********")
    text = json.dumps(state, default=str)
    assert KEY_ID not in text and API_KEY not in text


def test_the_venue_configs_leave_the_identifiers_out_of_their_repr():
    from arbbot.venues.kalshi.config import KalshiConfig
    from arbbot.venues.polymarket.config import PolymarketConfig
    kalshi, poly = KalshiConfig(key_id=KEY_ID), PolymarketConfig(api_key=API_KEY)
    assert KEY_ID not in repr(kalshi) and API_KEY not in repr(poly)
    assert (kalshi.key_id, poly.api_key) == (KEY_ID, API_KEY)          # still there for the venues


def test_arbbot_run_registers_the_identifiers_for_redaction(in_tmp, monkeypatch, capsys):
    monkeypatch.setenv("ARB_KALSHI_KEY_ID", KEY_ID)
    monkeypatch.setenv("ARB_POLYMARKET_API_KEY", API_KEY)
    try:                                     # refused after the settings are loaded and registered
        assert main(["run", "--duration", "1", "--json", "--paper"]) == 2
    finally:
        logs.configure(json=False)
    assert logs.scrub(f"key {KEY_ID} / {API_KEY}") == "key ******** / ********"


# ---- 3. a chosen dashboard port that is taken: an error; the default falls back --------------------

@pytest.fixture
def taken():
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_a_chosen_port_that_is_taken_is_refused(taken):
    from arbbot.ops.dashboard.server import bind
    with pytest.raises(ValueError) as exc:
        bind("127.0.0.1", taken).close()
    assert str(exc.value).startswith(f"dashboard port {taken} on 127.0.0.1: Address already in use; choose "
                                     f"another (--dashboard-port")


def test_the_default_port_taken_falls_back_with_a_warning(taken, log_out):
    from arbbot.ops.dashboard.server import bind
    logs.configure(json=True, stream=log_out)
    sock = bind("127.0.0.1", taken, fallback=True)
    try:
        port = sock.getsockname()[1]
        assert port not in (taken, 0)
    finally:
        sock.close()
    event = json.loads(log_out.getvalue().splitlines()[-1])
    assert (event["event"], event["level"], event["port"], event["using"]) == ("dashboard.port_taken", "warning",
                                                                               taken, port)


@pytest.mark.parametrize("settings, port, fallback", [
    ({}, None, True),                                  # the built-in default: nobody chose it
    ({"dashboard_port": 8787}, None, False),           # arbbot.toml / ARB_DASHBOARD_PORT, even the default's value
    ({}, 9999, False),                                 # --dashboard-port
])
def test_only_the_built_in_default_may_fall_back(monkeypatch, settings, port, fallback):
    import asyncio
    import arbbot.ops.dashboard as dashboard
    seen = {}

    async def start_process(*args, **kw):
        seen.update(kw)
        return SimpleNamespace()

    monkeypatch.setattr(dashboard, "start_process", start_process)
    asyncio.run(dashboard.serve_dashboard(Settings(**settings), None, port=port))
    assert (seen["port"], seen["fallback"]) == (port or 8787, fallback)


def test_arbbot_run_on_a_taken_port_exits_2_with_one_line(in_tmp, taken, capsys):
    import signal
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        code = main(["run", "--duration", "1", "--json", "--metrics-port", "0", "--dashboard-port", str(taken)])
    finally:
        logs.configure(json=False)
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"arbbot run: dashboard port {taken} on 127.0.0.1: Address already in use; choose another" in err
    assert "Traceback" not in err


# ---- 4. the order store: owner-only files ----------------------------------------------------------

def test_the_order_store_and_its_wal_and_shm_are_created_0600(tmp_path):
    from arbbot.execution.store import OrderStore
    old = os.umask(0o022)
    try:
        store = OrderStore(str(tmp_path / "o.db"))      # the migrations wrote: the WAL files exist
        try:
            modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in tmp_path.iterdir()}
        finally:
            store.close()
    finally:
        os.umask(old)
    assert modes == {"o.db": "0o600", "o.db-wal": "0o600", "o.db-shm": "0o600"}


def test_an_existing_store_keeps_its_mode(tmp_path):
    """The operator's choice (e.g. a group that reads reports) is not changed behind their back."""
    import sqlite3
    from arbbot.execution.store import OrderStore
    path = tmp_path / "o.db"
    sqlite3.connect(path).close()
    os.chmod(path, 0o640)
    OrderStore(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# ---- 5. a non-ASCII secret inside a non-string log value ------------------------------------------

SECRET = "pässwört-geheim-ÄÖÜ-42"


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "console"])
def test_a_non_ascii_secret_in_an_exception_value_is_redacted(log_out, as_json):
    logs.configure(json=as_json, stream=log_out)
    logs.register_secret(SECRET)
    logs.get("venue").error("venue.failed", error=ValueError(f"login refused for {SECRET}"))
    logging.getLogger("httpx").error("refused: %s", SECRET)
    raw = log_out.getvalue()
    decoded = "\n".join(str(json.loads(line)) for line in raw.splitlines()) if as_json else raw
    for text in (raw, decoded):
        assert SECRET not in text and "geheim" not in text, text
    assert decoded.count("********") == 2 and "login refused for ********" in decoded


def test_a_value_without_secrets_is_rendered_as_before(log_out):
    logs.configure(json=True, stream=log_out)
    logs.register_secret(SECRET)
    logs.get("venue").error("venue.failed", error=ValueError("timeout"), n=3, ok=None)
    event = json.loads(log_out.getvalue())
    assert (event["error"], event["n"], event["ok"]) == ("ValueError('timeout')", 3, None)
