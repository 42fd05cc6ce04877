"""Dashboard HTTP without a browser: every route needs the token (401 otherwise), the login URL
sets an HttpOnly SameSite=Strict session cookie and redirects, bearer tokens work for the API,
state-changing calls with the cookie need the CSRF token and a same-origin Origin, and the
token never appears in what the server returns."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest

from arbbot.config import Settings
from arbbot.execution.executor import ExecutorConfig
from arbbot.execution.store import OrderStore
from arbbot.ops.control import Controls
from arbbot.ops.dashboard.auth import Auth
from arbbot.ops.dashboard.history import History
from arbbot.ops.dashboard.server import Dashboard
from arbbot.ops.dashboard.state import StateBuilder
from arbbot.risk.gates import RiskGates
from arbbot.risk.killswitch import KillSwitch

TOKEN = "test-token-0123456789abcdef"
SAMPLE = {"book_updates": 1234, "found": {"cross": 3}, "venues": {"kalshi": {"markets": 2, "healthy": 2, "held": {}}},
          "current": [], "recent": [],
          "trading": {"executions": {"complete": 1}, "skipped": {}, "locked_in_micros": 2_500_000,
                      "realised_micros": -420_000, "cash_micros": {"kalshi": 9_000_000_000}, "busy": False,
                      "kill_switch": None, "order_latency_us": {}}}


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", TOKEN)
    settings = Settings(kill_file=str(tmp_path / "arbbot.kill"))
    store = OrderStore(str(tmp_path / "orders.db"))
    trader = SimpleNamespace(store=store, gates=RiskGates(KillSwitch(settings.kill_file)),
                             executor=SimpleNamespace(config=ExecutorConfig()), sizer=None, cash={})
    controls = Controls(settings, None, trader)
    builder = StateBuilder(SimpleNamespace(latest=SAMPLE), History(store.path), controls, settings)
    dash = Dashboard(builder, controls, Auth(settings.dashboard_token.get_secret_value()), port=0).start()
    yield SimpleNamespace(dash=dash, base=dash.url, store=store, kill=tmp_path / "arbbot.kill", settings=settings)
    dash.stop()
    store.close()


def kinds(store) -> list[str]:
    return [e["kind"] for e in store.events() if e["kind"] in ("halted", "resumed", "config_changed")]


def login(base: str) -> tuple[httpx.Client, str]:
    """A browser-like client after the login URL: its session cookie and the page's CSRF token."""
    client = httpx.Client(base_url=base, timeout=10)
    r = client.get(f"/?token={TOKEN}")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"arbbot_session_{urlsplit(base).port}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKEN not in cookie
    csrf = re.fullmatch(r"/#csrf=([\w-]+)", r.headers["location"]).group(1)     # handed to the tab only
    assert len(csrf) >= 32
    page = client.get("/")
    assert page.status_code == 200 and csrf not in page.text
    return client, csrf


def test_every_route_needs_the_token(server):
    for method, path in [("GET", "/"), ("GET", "/api/state"), ("GET", "/api/stream"), ("GET", "/static/app.js"),
                         ("GET", "/api/executions/x"), ("POST", "/api/halt"), ("POST", "/api/resume"),
                         ("POST", "/api/ack"), ("POST", "/api/config"), ("POST", "/api/lane"), ("GET", "/nope")]:
        r = httpx.request(method, server.base.rstrip("/") + path, timeout=10)
        assert r.status_code == 401, (method, path, r.status_code)
        assert "dashboard token required" in r.json()["error"]
    assert httpx.get(server.base + "?token=wrong", timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    assert httpx.get(server.base + "api/state", headers=wrong, timeout=10).status_code == 401
    assert httpx.get(server.base + "api/state", cookies={server.dash.auth.cookie: "forged"}, timeout=10).status_code == 401
    assert not server.kill.exists() and kinds(server.store) == []


def test_bearer_token_reads_the_state_and_drives_controls(server):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.get(server.base + "api/state", headers=auth, timeout=10)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    state = r.json()
    assert state["format"] == "arbbot.state/1" and state["halted"] is False and state["safe_mode"] is False
    assert (state["locked_in_micros"], state["realised_micros"]) == (2_500_000, -420_000)
    assert (state["locked_in_usd"], state["realised_usd"]) == ("2.500000", "-0.420000")     # exact, never a float
    assert state["venues"]["kalshi"]["cash_micros"] == 9_000_000_000
    assert state["config"]["dashboard_token"] == "********" and TOKEN not in r.text
    r = httpx.post(server.base + "api/halt", headers=auth, json={"reason": "maintenance"}, timeout=10)
    assert r.status_code == 200 and r.json()["halted"] == f"kill switch file {server.kill} is present"
    assert server.kill.read_text() == "maintenance\n"
    assert httpx.get(server.base + "api/state", headers=auth, timeout=10).json()["halted"] is True
    assert httpx.post(server.base + "api/resume", headers=auth, timeout=10).status_code == 200
    assert not server.kill.exists()
    assert kinds(server.store) == ["halted", "resumed"]
    halted = next(json.loads(e["data"]) for e in server.store.events() if e["kind"] == "halted")
    assert halted == {"who": "api (bearer token)", "reason": "maintenance"}


def test_login_cookie_reads_but_posts_need_csrf_and_same_origin(server):
    client, csrf = login(server.base)
    assert client.get("/api/state").status_code == 200
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    origin = server.base.rstrip("/")
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}):
        r = client.post("/api/halt", headers=headers, json={})
        assert r.status_code == 403, headers
    assert not server.kill.exists() and kinds(server.store) == []
    r = client.post("/api/halt", headers={"X-CSRF-Token": csrf, "Origin": origin}, json={})
    assert r.status_code == 200 and server.kill.exists()
    who = next(json.loads(e["data"])["who"] for e in server.store.events() if e["kind"] == "halted")
    assert who.startswith("dashboard session ")
    # another session's CSRF token does not work for this one
    other, other_csrf = login(server.base)
    assert client.post("/api/resume", headers={"X-CSRF-Token": other_csrf}).status_code == 403
    assert client.post("/api/resume", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert not server.kill.exists()


def test_config_edit_validates_and_audits(server):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.post(server.base + "api/config", headers=auth, json={"key": "max_contracts", "value": -3}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "max_contracts: Input should be greater than 0"
    r = httpx.post(server.base + "api/config", headers=auth, json={"key": "kill_file", "value": 1}, timeout=10)
    assert r.status_code == 400 and r.json()["error"].startswith("kill_file: not a live-tunable key")
    r = httpx.post(server.base + "api/config", headers=auth, content=b"not json", timeout=10)
    assert r.status_code == 400
    assert kinds(server.store) == []
    r = httpx.post(server.base + "api/config", headers=auth, json={"key": "max_contracts", "value": 20}, timeout=10)
    assert r.status_code == 200 and r.json() == {"ok": True, "key": "max_contracts", "old": 50.0, "new": 20.0}
    state = httpx.get(server.base + "api/state", headers=auth, timeout=10).json()
    assert state["tunables"]["max_contracts"]["value"] == 20.0 and state["config"]["max_contracts"] == 20.0
    assert state["audit"][0]["kind"] == "config_changed" and state["audit"][0]["data"]["new"] == 20.0


def test_unknown_execution_is_404_and_the_stream_sends_state(server):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(server.base + "api/executions/nope", headers=auth, timeout=10).status_code == 404
    with httpx.stream("GET", server.base + "api/stream", headers=auth, timeout=10) as r:
        assert r.headers["content-type"] == "text/event-stream"
        lines = r.iter_lines()
        assert next(lines) == "event: state"
        data = next(lines)
        assert data.startswith("data: ") and json.loads(data[6:])["session"]["book_updates"] == 1234


def test_a_taken_default_port_falls_back_to_a_free_one(server):
    from arbbot.ops.dashboard.server import bind
    sock = bind("127.0.0.1", server.dash.port, fallback=True)
    try:
        assert sock.getsockname()[1] not in (server.dash.port, 0)
    finally:
        sock.close()


def test_a_value_past_the_engines_limits_is_refused_whole(server):
    """1e300 contracts once answered 500 and left the tunable changed but not the engine."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = httpx.get(server.base + "api/state", headers=auth, timeout=10).json()["tunables"]
    for key, value, message in [
            ("max_contracts", 1e300, "max_contracts: Input should be less than or equal to 1000000"),
            ("sizing.exposure_manager.max_event_usd", 1e300,
             "sizing.exposure_manager.max_event_usd: Input should be less than or equal to 9223372036854")]:
        r = httpx.post(server.base + "api/config", headers=auth, json={"key": key, "value": value}, timeout=10)
        assert r.status_code == 400 and r.json() == {"error": message}
        assert r.headers["x-frame-options"] == "DENY"
    for raw in (b'{"key": "max_contracts", "value": 1e400}', b'{"key": "max_contracts", "value": NaN}'):
        r = httpx.post(server.base + "api/config", headers=auth, content=raw, timeout=10)
        assert r.status_code == 400 and r.json()["error"].startswith("max_contracts: expected a finite number")
    r = httpx.post(server.base + "api/config", headers=auth, timeout=10,
                   content=b'{"key": "max_contracts", "value": 1' + b"0" * 5000 + b"}")
    assert r.status_code == 400 and r.json() == {"error": "the body must be JSON"}
    after = httpx.get(server.base + "api/state", headers=auth, timeout=10).json()
    assert after["tunables"] == before and after["config"]["max_contracts"] == 50.0
    assert server.settings.max_contracts == 50.0 and kinds(server.store) == []


@pytest.mark.parametrize("body, status, error", [
    (b'{"key":' + b"[" * 50_000 + b"]" * 50_000 + b"}", 413, "the body is larger than 65536 bytes"),
    (b'{"key":' + b"[" * 30_000 + b"]" * 30_000 + b"}", 400, "the body must be JSON"),
    (b" " * 3_000_000, 413, "the body is larger than 65536 bytes"),
    (b"\xff\xfe\x00", 400, "the body must be JSON"),
], ids=["deep-and-large", "deep", "huge", "not-utf8"])
def test_a_hostile_body_is_a_json_error_with_the_security_headers(server, capfd, body, status, error):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for route in ("api/config", "api/halt", "api/lane"):
        r = httpx.post(server.base + route, headers=auth, content=body, timeout=30)
        assert (r.status_code, r.json()) == (status, {"error": error}), route
        assert r.headers["x-content-type-options"] == "nosniff" and "frame-ancestors" in \
            r.headers["content-security-policy"]
    assert "Traceback" not in capfd.readouterr().err
    assert not server.kill.exists() and kinds(server.store) == []


# ---- browser sessions: one cookie per dashboard, ended when unused ----------------------------------

def bare_dashboard(auth: Auth) -> Dashboard:
    controls = Controls(Settings(kill_file=""), None, None)
    return Dashboard(StateBuilder(SimpleNamespace(latest=SAMPLE), History(None), controls, controls.settings),
                     controls, auth, port=0).start()


def test_two_dashboards_on_one_machine_keep_their_own_sessions():
    """A browser sends 127.0.0.1's cookies to every port: with one cookie name, logging into the
    second bot's dashboard replaced the first one's session (401 there)."""
    first, second = bare_dashboard(Auth(TOKEN)), bare_dashboard(Auth(TOKEN + "-other"))
    try:
        browser = httpx.Client(timeout=10)          # one cookie jar for both, as a browser has
        assert browser.get(f"{first.url}?token={TOKEN}").status_code == 303
        assert browser.get(f"{second.url}?token={TOKEN}-other").status_code == 303
        assert sorted(c.name for c in browser.cookies.jar) == sorted(
            [f"arbbot_session_{first.port}", f"arbbot_session_{second.port}"])
        assert browser.get(first.url + "api/state").status_code == 200
        assert browser.get(second.url + "api/state").status_code == 200
    finally:
        first.stop()
        second.stop()


def test_a_session_unused_for_the_idle_limit_ends_and_an_open_stream_keeps_it():
    from arbbot.ops.dashboard.auth import SESSION_IDLE_S
    now = [1_000.0]
    auth = Auth(TOKEN, clock=lambda: now[0])
    dash = bare_dashboard(auth)
    try:
        used, idle = httpx.Client(base_url=dash.url, timeout=10), httpx.Client(base_url=dash.url, timeout=10)
        for client in (used, idle):
            assert client.get(f"/?token={TOKEN}").status_code == 303
        now[0] += SESSION_IDLE_S - 1
        assert used.get("/api/state").status_code == 200          # used: its idle time starts again
        now[0] += 2
        assert idle.get("/api/state").status_code == 401          # 8 h + 1 s unused: ended
        assert used.get("/api/state").status_code == 200
        assert len(auth.sessions) == 1
        # an open page only holds its event stream: each state it is sent keeps the session
        with used.stream("GET", "/api/stream") as stream:
            lines = stream.iter_lines()
            assert next(lines) == "event: state"
            now[0] += SESSION_IDLE_S - 1
            for _ in range(2):                                     # the next ticks' states (1 s apart)
                assert next(line for line in lines if line == "event: state")
        now[0] += SESSION_IDLE_S - 1
        assert used.get("/api/state").status_code == 200
    finally:
        dash.stop()
