"""Fixes from an operational security review: a TOML file that holds secrets must be private; the
simulator child gets no ARB_* variable; the dashboard answers its own Host names only (DNS
rebinding), checks Origin against them and locks token checks after repeated wrong tokens; the
benchmark's dashboard client takes the login URL on stdin (never argv) and decodes its token;
`arbbot report --html` writes an owner-only file."""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from types import SimpleNamespace

import httpx
import pytest

from arbbot.config import ConfigError, Settings, load_settings, read_toml
from arbbot.execution.executor import ExecutorConfig
from arbbot.execution.store import OrderStore
from arbbot.ops.control import Controls
from arbbot.ops.dashboard import auth as auth_module
from arbbot.ops.dashboard.auth import Auth
from arbbot.ops.dashboard.history import History
from arbbot.ops.dashboard.server import Dashboard
from arbbot.ops.dashboard.state import StateBuilder
from arbbot.risk.gates import RiskGates
from arbbot.risk.killswitch import KillSwitch
from tests.conftest import require_native

BOT = [sys.executable, "-m", "arbbot.cli"]
TOKEN = "test-token-0123456789abcdef"
PRIVATE_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
SAMPLE = {"book_updates": 7, "found": {}, "venues": {}, "current": [], "recent": [],
          "trading": {"executions": {}, "skipped": {}, "locked_in_micros": 0, "realised_micros": 0, "cash_micros": {},
                      "busy": False, "kill_switch": None, "order_latency_us": {}}}
SECRETS_TOML = f'''seed = 4
polymarket_api_key = "pk-0123456789abcdef"
polymarket_api_secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
polymarket_api_passphrase = "passphrase-0123456789"
polymarket_private_key = "{PRIVATE_KEY}"
dashboard_token = "dash-token-0123456789abcdef"
'''


def _env(**extra) -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("ARB_")}, **extra}


# ---- 2. a TOML file holding secrets must not be readable by group or others --------------------------

def test_a_toml_file_with_secrets_readable_by_others_is_refused_naming_the_file(in_tmp):
    toml = in_tmp / "arbbot.toml"
    toml.write_text(SECRETS_TOML)
    toml.chmod(0o644)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message == ("arbbot.toml holds secrets (dashboard_token, polymarket_api_passphrase, polymarket_api_secret, "
                       "polymarket_private_key) and is readable by group or others; chmod 600 it")
    assert PRIVATE_KEY not in message and "passphrase-0123456789" not in message
    toml.chmod(0o640)                                    # group-readable is refused too
    with pytest.raises(ConfigError, match="chmod 600 it"):
        load_settings()
    toml.chmod(0o600)
    settings = load_settings()
    assert settings.seed == 4 and settings.polymarket_private_key.get_secret_value() == PRIVATE_KEY


def test_the_cli_refuses_it_with_one_line_and_exit_2_like_the_kalshi_key_file(in_tmp):
    toml = in_tmp / "arbbot.toml"
    toml.write_text(SECRETS_TOML)
    toml.chmod(0o644)
    out = subprocess.run([*BOT, "config", "show"], cwd=in_tmp, env=_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "arbbot config: arbbot.toml holds secrets (dashboard_token, polymarket_api_passphrase, polymarket_api_secret, "
        "polymarket_private_key) and is readable by group or others; chmod 600 it"]
    key = in_tmp / "k.pem"                                # the existing check, for comparison: same shape, same exit
    key.write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    key.chmod(0o644)
    toml.unlink()
    out = subprocess.run([*BOT, "config", "show"], cwd=in_tmp, env=_env(ARB_KALSHI_PRIVATE_KEY_FILE="k.pem"),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip().endswith("is readable by group or others; chmod 600 it")


def test_arb_config_and_config_name_the_file_they_read(in_tmp, monkeypatch):
    other = in_tmp / "other.toml"
    other.write_text('notify_webhooks = ["https://hooks.slack.com/services/T0/B0/SECRETSECRET"]\n')
    other.chmod(0o604)
    with pytest.raises(ConfigError, match=r"^other\.toml holds secrets \(notify_webhooks\) and is readable by group or "
                                          r"others; chmod 600 it$"):
        load_settings(config_file="other.toml")
    with pytest.raises(ConfigError, match=r"^other\.toml holds secrets \(notify_webhooks\)"):
        read_toml("other.toml")                         # arbbot explain / replay --config read it this way
    monkeypatch.setenv("ARB_CONFIG", str(other))
    with pytest.raises(ConfigError, match=re.escape(f"{other} holds secrets (notify_webhooks)")):
        load_settings()
    with pytest.raises(ConfigError, match="chmod 600 it"):
        Settings()                                       # however the settings are built
    other.chmod(0o600)
    assert len(load_settings().notify_webhooks) == 1


def test_a_toml_file_without_secrets_is_read_at_any_mode(in_tmp):
    toml = in_tmp / "arbbot.toml"
    # a key id is not a secret (shown masked, sent in clear); an empty secret is no secret
    toml.write_text('seed = 9\npolymarket_api_key = "pk-0123456789abcdef"\ndashboard_token = ""\n'
                    'notify_webhooks = []\n')
    toml.chmod(0o666)
    settings = load_settings()
    assert settings.seed == 9 and settings.polymarket_api_key == "pk-0123456789abcdef"
    assert read_toml("arbbot.toml")["seed"] == 9


def test_secrets_from_the_environment_need_no_private_file(in_tmp, monkeypatch):
    (in_tmp / "arbbot.toml").write_text("seed = 2\n")
    (in_tmp / "arbbot.toml").chmod(0o644)
    monkeypatch.setenv("ARB_POLYMARKET_PRIVATE_KEY", PRIVATE_KEY)
    assert load_settings().polymarket_private_key.get_secret_value() == PRIVATE_KEY


def test_halt_still_works_when_the_toml_file_is_refused(in_tmp):
    toml = in_tmp / "arbbot.toml"
    toml.write_text(SECRETS_TOML + 'kill_file = "stop.kill"\n')
    toml.chmod(0o644)
    out = subprocess.run([*BOT, "halt"], cwd=in_tmp, env=_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "chmod 600 it" in out.stderr and (in_tmp / "stop.kill").exists()


# ---- 3. the simulator child inherits none of the bot's ARB_* variables -------------------------------

def test_the_simulator_child_gets_no_arb_variables(monkeypatch):
    from arbbot.sim.spawn import spawn
    monkeypatch.setenv("ARB_POLYMARKET_PRIVATE_KEY", PRIVATE_KEY)
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", "dash-token-0123456789abcdefXYZ")
    monkeypatch.setenv("ARB_NOTIFY_WEBHOOKS", '["https://hooks.slack.com/services/T0/B0/SECRETSECRET"]')
    with spawn("all", 0, step_interval=None, timeout=60) as sim:
        with open(f"/proc/{sim.pid}/environ", "rb") as fh:
            env = dict(item.split(b"=", 1) for item in fh.read().split(b"\0") if b"=" in item)
        assert sim.alive() and sim.handle.urls                        # it came up and serves
    assert not [k for k in env if k.startswith(b"ARB_")]
    assert PRIVATE_KEY.encode() not in b"".join(env.values())
    assert env[b"PATH"] == os.environ["PATH"].encode()                # the process basics are kept


# ---- 4. the dashboard: Host allowlist, Origin against it, a lock after repeated wrong tokens ---------

class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dashboard(tmp_path, monkeypatch):
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", TOKEN)
    settings = Settings(kill_file=str(tmp_path / "arbbot.kill"))
    store = OrderStore(str(tmp_path / "orders.db"))
    trader = SimpleNamespace(store=store, gates=RiskGates(KillSwitch(settings.kill_file)),
                             executor=SimpleNamespace(config=ExecutorConfig()), sizer=None, cash={})
    controls = Controls(settings, None, trader)
    builder = StateBuilder(SimpleNamespace(latest=SAMPLE), History(store.path), controls, settings)
    clock = Clock()
    auth = Auth(TOKEN)
    auth.clock = clock                                   # the lock's clock, moved by the tests
    dash = Dashboard(builder, controls, auth, port=0).start()
    yield SimpleNamespace(dash=dash, base=dash.url, port=dash.port, kill=tmp_path / "arbbot.kill", clock=clock)
    dash.stop()
    store.close()


def _login(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=10)
    r = client.get(f"/?token={TOKEN}")
    assert r.status_code == 303
    return client, re.fullmatch(r"/#csrf=([\w-]+)", r.headers["location"]).group(1)


def test_a_host_header_that_is_not_the_dashboards_is_refused_on_every_route(dashboard):
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for host in ("attacker.example", f"attacker.example:{dashboard.port}", f"127.0.0.1:{dashboard.port + 1}",
                 f"127.0.0.2:{dashboard.port}"):
        r = httpx.get(dashboard.base + "api/state", headers={**bearer, "Host": host}, timeout=10)
        assert r.status_code == 403 and "Host" in r.json()["error"], host
        r = httpx.get(dashboard.base + f"?token={TOKEN}", headers={"Host": host}, timeout=10)
        assert r.status_code == 403 and "set-cookie" not in r.headers, host     # no session for a rebound name
        r = httpx.post(dashboard.base + "api/halt", headers={**bearer, "Host": host}, json={"reason": "x"}, timeout=10)
        assert r.status_code == 403, host
    assert not dashboard.kill.exists()
    for host in (f"127.0.0.1:{dashboard.port}", f"localhost:{dashboard.port}", f"LOCALHOST:{dashboard.port}",
                 f"[::1]:{dashboard.port}"):
        r = httpx.get(dashboard.base + "api/state", headers={**bearer, "Host": host}, timeout=10)
        assert r.status_code == 200 and r.json()["format"] == "arbbot.state/1", host


def test_a_rebound_host_and_its_own_origin_cannot_halt_with_a_session_cookie(dashboard):
    client, csrf = _login(dashboard.base)
    evil = f"evil.example:{dashboard.port}"
    r = client.post("/api/halt", json={"reason": "x"},
                    headers={"X-CSRF-Token": csrf, "Host": evil, "Origin": f"http://{evil}"})
    assert r.status_code == 403 and not dashboard.kill.exists()
    # the right Host with a foreign Origin: refused; an Origin naming this server (any of its names): served
    r = client.post("/api/halt", json={"reason": "x"}, headers={"X-CSRF-Token": csrf, "Origin": f"http://{evil}"})
    assert r.status_code == 403 and "cross-origin" in r.json()["error"] and not dashboard.kill.exists()
    r = client.post("/api/halt", json={"reason": "maintenance"},
                    headers={"X-CSRF-Token": csrf, "Origin": f"http://localhost:{dashboard.port}"})
    assert r.status_code == 200 and dashboard.kill.read_text().startswith("maintenance")


def test_repeated_wrong_tokens_lock_the_token_checks_for_a_while(dashboard):
    session, _ = _login(dashboard.base)                  # a browser session opened before the guessing
    for i in range(auth_module.LOGIN_FAILURES - 1):
        assert httpx.get(dashboard.base + f"?token=guess{i:04d}", timeout=10).status_code == 401
    r = httpx.get(dashboard.base + "api/state", headers={"Authorization": "Bearer guess-bearer"}, timeout=10)
    assert r.status_code == 401                          # a wrong bearer token counts too: the 10th
    locked = httpx.get(dashboard.base + f"?token={TOKEN}", timeout=10)      # even the right token, now
    assert locked.status_code == 429 and locked.headers["Retry-After"] == str(int(auth_module.LOCKOUT_S))
    assert "set-cookie" not in locked.headers and "too many wrong dashboard tokens" in locked.json()["error"]
    r = httpx.get(dashboard.base + "api/state", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 429
    assert session.get("/api/state").status_code == 200           # the open session keeps working
    dashboard.clock.now += auth_module.LOCKOUT_S - 1
    assert httpx.get(dashboard.base + f"?token={TOKEN}", timeout=10).status_code == 429
    dashboard.clock.now += 1
    assert httpx.get(dashboard.base + f"?token={TOKEN}", timeout=10).status_code == 303
    r = httpx.get(dashboard.base + "api/state", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200


def test_wrong_tokens_spread_beyond_the_window_never_lock(dashboard):
    for i in range(3 * auth_module.LOGIN_FAILURES):
        assert httpx.get(dashboard.base + f"?token=typo{i}", timeout=10).status_code == 401
        dashboard.clock.now += auth_module.LOGIN_WINDOW_S / (auth_module.LOGIN_FAILURES - 2)
    assert httpx.get(dashboard.base + f"?token={TOKEN}", timeout=10).status_code == 303


def test_metrics_and_dashboard_share_one_host_allowlist():
    from arbbot.config import allowed_hosts
    from arbbot.ops import metrics
    assert metrics.allowed_hosts is allowed_hosts
    assert allowed_hosts("127.0.0.1", 8787) == {"127.0.0.1:8787", "localhost:8787", "[::1]:8787"}
    assert allowed_hosts("::1", 80) == {"127.0.0.1:80", "localhost:80", "[::1]:80", "127.0.0.1", "localhost", "[::1]"}
    assert allowed_hosts("0.0.0.0", 8787) is None


# ---- 5. the benchmark's dashboard client: login URL on stdin, token percent-decoded ------------------

def test_the_client_takes_the_login_url_on_stdin_and_decodes_the_token(tmp_path, monkeypatch):
    token = "b64+token/0123456789abcdef=="             # what `openssl rand -base64` gives
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", token)
    settings = Settings(kill_file="")
    controls = Controls(settings, None, None)
    builder = StateBuilder(SimpleNamespace(latest=SAMPLE), History(None), controls, settings)
    dash = Dashboard(builder, controls, Auth(token), port=0, interval_s=0.2).start()
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.ops.dashboard.client"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        proc.stdin.write(dash.login_url + "\n")
        proc.stdin.flush()
        with open(f"/proc/{proc.pid}/cmdline", "rb") as fh:
            argv = fh.read().decode()
        assert "token" not in argv and "0123456789abcdef" not in argv
        first = proc.stdout.readline()
        assert first.strip(), proc.stderr.read()
        assert json.loads(first) == {"connected": True}
        time.sleep(0.5)
        out, err = proc.communicate(input="", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        dash.stop()
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["states"] >= 2


def test_login_token_decodes_as_the_server_does():
    from arbbot.ops.dashboard.auth import login_url
    from arbbot.ops.dashboard.client import login_token
    for token in ("plain-token-0123456789abcdef", "b64+token/0123456789abcdef==", "sp ace&amp%25#hash-0123456789"):
        assert login_token(login_url("127.0.0.1", 8787, token)) == ("http://127.0.0.1:8787/", token)


def test_the_feed_bench_puts_no_token_on_its_clients_command_line(monkeypatch):
    require_native()
    from arbbot.bench.feed import run_feed
    started: list[list[str]] = []
    real = subprocess.Popen

    def recording(args, *a, **kw):
        started.append([str(x) for x in args])
        return real(args, *a, **kw)
    monkeypatch.setattr(subprocess, "Popen", recording)
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", TOKEN)
    r = asyncio.run(run_feed(2_000, 1.5, dashboard="sse"))
    clients = [a for a in started if "arbbot.ops.dashboard.client" in a]
    assert len(clients) == 1 and not any(TOKEN in arg or "token" in arg for arg in clients[0])
    assert r["dashboard"]["client_states"] >= 5                     # it logged in with the token from stdin


# ---- 1. arbbot report --html: owner-only ------------------------------------------------------------

def test_report_html_is_written_owner_only(in_tmp):
    OrderStore(str(in_tmp / "o.db")).close()
    old = os.umask(0o022)
    try:
        out = subprocess.run([*BOT, "report", "--db", "o.db", "--html", "r.html"], cwd=in_tmp, env=_env(),
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert (in_tmp / "r.html").stat().st_mode & 0o777 == 0o600
        assert "no executions" in (in_tmp / "r.html").read_text()
        (in_tmp / "old.html").write_text("stale")
        (in_tmp / "old.html").chmod(0o644)                # an existing file: made private before it is written
        out = subprocess.run([*BOT, "report", "--db", "o.db", "--html", "old.html"], cwd=in_tmp, env=_env(),
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert (in_tmp / "old.html").stat().st_mode & 0o777 == 0o600
        assert "stale" not in (in_tmp / "old.html").read_text()
    finally:
        os.umask(old)


def test_tokens_a_browser_marks_cross_site_are_never_compared_nor_counted(dashboard):
    # any web page can make the operator's browser request http://127.0.0.1:PORT/?token=… (right Host);
    # and any local program can set the header itself: compared uncounted, its guesses were unlimited
    for i in range(2 * auth_module.LOGIN_FAILURES):
        r = httpx.get(dashboard.base + f"?token=page{i}", headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
        assert r.status_code == 403 and "another site" in r.json()["error"]
    for how in ({"params": {"token": TOKEN}}, {"headers": {"Authorization": f"Bearer {TOKEN}"}}):
        sent = {**how, "headers": {**how.get("headers", {}), "Sec-Fetch-Site": "cross-site"}}
        assert httpx.get(dashboard.base, timeout=10, **sent).status_code == 403    # the right one too
    assert httpx.get(dashboard.base + f"?token={TOKEN}", timeout=10).status_code == 303   # never locked


def test_a_halt_with_the_right_token_goes_through_a_lockout_anyone_can_cause(dashboard):
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for i in range(auth_module.LOGIN_FAILURES):         # a stranger's wrong tokens lock the checks
        assert httpx.get(dashboard.base + f"?token=guess{i}", timeout=10).status_code == 401
    assert httpx.get(dashboard.base + "api/state", headers=bearer, timeout=10).status_code == 429
    assert httpx.post(dashboard.base + "api/halt", headers={"Authorization": "Bearer guess"},
                      json={"reason": "x"}, timeout=10).status_code == 429
    r = httpx.post(dashboard.base + "api/halt", headers=bearer, json={"reason": "risk script"}, timeout=10)
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["halted"]
    assert httpx.post(dashboard.base + "api/resume", headers=bearer, timeout=10).status_code == 429
    # ... but the halt is no guessing channel meanwhile: HALT_CHECKS_LOCKED comparisons a lockout
    for i in range(auth_module.HALT_CHECKS_LOCKED):
        httpx.post(dashboard.base + "api/halt", headers={"Authorization": f"Bearer guess{i}"}, json={}, timeout=10)
    assert httpx.post(dashboard.base + "api/halt", headers=bearer, json={}, timeout=10).status_code == 429
    dashboard.clock.now += auth_module.LOCKOUT_S                        # the lockout over: checked again
    assert httpx.post(dashboard.base + "api/halt", headers=bearer, json={}, timeout=10).status_code == 200


def test_an_exposed_dashboard_or_metrics_server_is_announced_with_a_warning(monkeypatch):
    import io
    from arbbot.run.command import warn_remote_binds
    monkeypatch.setenv("ARB_ALLOW_REMOTE_DASHBOARD", "1")
    monkeypatch.setenv("ARB_ALLOW_REMOTE_METRICS", "1")
    err = io.StringIO()
    lines = warn_remote_binds(Settings(dashboard_host="0.0.0.0", metrics_host="0.0.0.0"), True, stderr=err)
    assert len(lines) == 2 and "plain HTTP" in lines[0] and "SSH tunnel" in lines[0]
    assert "without authentication" in lines[1] and err.getvalue().count("WARNING") == 2
    assert warn_remote_binds(Settings(), True, stderr=io.StringIO()) == []            # loopback: nothing said
    assert len(warn_remote_binds(Settings(dashboard_host="0.0.0.0"), False, stderr=io.StringIO())) == 0


def test_a_session_cookie_another_loopback_program_received_reads_but_cannot_use_the_controls(dashboard):
    """Browsers send cookies per host, not per port: the session cookie reaches any program on
    127.0.0.1 the operator's browser visits. With it alone that program reads the dashboard, but
    the page no longer carries the CSRF token (the sign-in redirect hands it to the tab in the
    URL's fragment), so halt, resume, ack and config changes stay out of its reach."""
    operator, csrf = _login(dashboard.base)
    stolen = httpx.Client(base_url=dashboard.base, timeout=10, cookies=dict(operator.cookies))
    page = stolen.get("/")
    assert page.status_code == 200 and csrf not in page.text and "csrf" not in page.text.lower()
    assert stolen.get("/api/state").status_code == 200
    for path, body in (("/api/halt", {"reason": "x"}), ("/api/config", {"key": "max_contracts", "value": 1000000})):
        r = stolen.post(path, json=body, headers={"X-CSRF-Token": ""})
        assert r.status_code == 403 and "URL printed on the terminal" in r.json()["error"]
    assert not dashboard.kill.exists()
    assert operator.post("/api/halt", json={"reason": "mine"}, headers={"X-CSRF-Token": csrf}).status_code == 200
