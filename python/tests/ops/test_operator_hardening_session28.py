"""Operator actions never carry a secret into the store or the dashboard:

- a halt reason (dashboard or `Controls.halt`) is cleaned before it is written to the kill file,
  tripped, audited and shown: a secret typed in it (the dashboard token, a venue key) becomes
  `logs.REDACTED`, control characters become spaces, and it is at most `MAX_REASON` characters;
- `who`, the identity audited for a dashboard session's action, holds nothing of the session id
  (a bearer secret: the cookie) — no 4-character piece of it — yet tells two sessions apart and
  stays the same for one session."""
from __future__ import annotations

import json
import re
import secrets
import unicodedata
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest

from arbbot import logs
from arbbot.config import Settings
from arbbot.execution.executor import ExecutorConfig
from arbbot.execution.store import OrderStore
from arbbot.ops.control import Controls
from arbbot.ops.dashboard.auth import COOKIE, Auth
from arbbot.ops.dashboard.history import History
from arbbot.ops.dashboard.server import Dashboard
from arbbot.ops.dashboard.state import StateBuilder
from arbbot.risk.gates import RiskGates
from arbbot.risk.killswitch import MAX_REASON, KillSwitch, clean_reason

SAMPLE = {"book_updates": 0, "found": {}, "venues": {}, "current": [], "recent": [], "trading": {}}


def halted_events(store) -> list[dict]:
    return [json.loads(e["data"]) for e in store.events() if e["kind"] == "halted"]


def controls_with(tmp_path, *, kill_file: str, **settings) -> tuple[Controls, OrderStore]:
    store = OrderStore(str(tmp_path / "orders.db"))
    config = Settings(kill_file=kill_file, **settings)
    trader = SimpleNamespace(store=store, gates=RiskGates(KillSwitch(config.kill_file or None)))
    return Controls(config, None, trader), store


@pytest.fixture
def token() -> str:
    """A dashboard token of this test only (random: registering it redacts nothing else)."""
    return secrets.token_urlsafe(24)


# ---- 2. the halt reason ----------------------------------------------------------------------------
def test_the_dashboard_token_typed_as_a_halt_reason_is_redacted_in_file_store_and_view(tmp_path, token):
    kill = tmp_path / "arbbot.kill"
    controls, store = controls_with(tmp_path, kill_file=str(kill), dashboard_token=token)
    controls.halt("operator", f"pasted {token} by mistake")
    assert kill.read_text() == f"pasted {logs.REDACTED} by mistake\n"
    assert halted_events(store) == [{"who": "operator", "reason": f"pasted {logs.REDACTED} by mistake"}]


def test_a_tripped_switch_shows_the_redacted_reason(tmp_path, token):
    controls, store = controls_with(tmp_path, kill_file="", polymarket_api_secret=token)
    out = controls.halt("operator", f"key {token}")
    assert out["halted"] == controls.halted() == f"kill switch: key {logs.REDACTED}"
    assert token not in json.dumps(store.events())


def test_a_secret_the_process_registered_is_redacted_too(tmp_path, token):
    logs.register_secret(token)                      # as `arbbot run` registers every configured secret
    controls, store = controls_with(tmp_path, kill_file="")
    controls.halt("operator", token)
    assert halted_events(store)[0]["reason"] == logs.REDACTED


def test_a_halt_reason_is_one_bounded_line_without_control_characters(tmp_path):
    kill = tmp_path / "arbbot.kill"
    controls, store = controls_with(tmp_path, kill_file=str(kill))
    controls.halt("operator", "news\nsecond line\r\x1b[31mred\x00\u202eevil\t" + "x" * 1_000)
    reason = halted_events(store)[0]["reason"]
    assert reason.startswith("news second line [31mred evil x") and len(reason) == MAX_REASON
    assert not [c for c in reason if unicodedata.category(c).startswith("C")]
    assert kill.read_text() == reason + "\n"


@pytest.mark.parametrize("raw", [None, "", "  \n\t ", "\x00\x1b"])
def test_an_empty_halt_reason_is_the_default(raw):
    assert clean_reason(raw) == "operator halt"
    assert clean_reason(raw, "operator halt (dashboard)") == "operator halt (dashboard)"


# ---- 2 and 3 through the dashboard -----------------------------------------------------------------
@pytest.fixture
def dashboard(tmp_path, token):
    controls, store = controls_with(tmp_path, kill_file=str(tmp_path / "arbbot.kill"), dashboard_token=token)
    controls.trader.executor, controls.trader.sizer, controls.trader.cash = \
        SimpleNamespace(config=ExecutorConfig()), None, {}
    builder = StateBuilder(SimpleNamespace(latest=SAMPLE), History(store.path), controls, controls.settings)
    dash = Dashboard(builder, controls, Auth(token), port=0).start()
    yield SimpleNamespace(base=dash.url, store=store, token=token, kill=tmp_path / "arbbot.kill")
    dash.stop()
    store.close()


def login(d) -> tuple[httpx.Client, str, str]:
    """A browser-like client: (client, its session id — the cookie —, the CSRF token the sign-in
    redirect hands over in its fragment)."""
    client = httpx.Client(base_url=d.base, timeout=10)
    r = client.get("/", params={"token": d.token})
    sid = r.cookies[f"{COOKIE}_{urlsplit(d.base).port}"]
    csrf = re.fullmatch(r"/#csrf=([\w-]+)", r.headers["location"]).group(1)
    return client, sid, csrf


def pieces(secret: str, size: int = 4) -> set[str]:
    """Every substring of `secret` of `size` characters (any longer one contains one of them)."""
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def test_a_halt_reason_from_the_dashboard_is_redacted_in_the_store_and_the_state(dashboard):
    client, _, csrf = login(dashboard)
    r = client.post("/api/halt", headers={"X-CSRF-Token": csrf}, json={"reason": f"oops {dashboard.token}"})
    assert r.status_code == 200
    assert halted_events(dashboard.store)[0]["reason"] == f"oops {logs.REDACTED}"
    assert dashboard.kill.read_text() == f"oops {logs.REDACTED}\n"
    assert dashboard.token not in client.get("/api/state").text


def test_who_holds_no_piece_of_the_session_id_and_tells_sessions_apart(dashboard):
    whos = []
    for _ in range(2):
        client, sid, csrf = login(dashboard)
        for path in ("/api/halt", "/api/resume"):
            assert client.post(path, headers={"X-CSRF-Token": csrf}, json={}).status_code == 200
        audited = [json.loads(e["data"])["who"] for e in dashboard.store.events()
                   if e["kind"] in ("halted", "resumed")][-2:]
        assert audited[0] == audited[1] and audited[0].startswith("dashboard session ")    # one session, one label
        assert not [p for p in pieces(sid) if p in audited[0]], (sid, audited[0])
        whos.append(audited[0])
    assert whos[0] != whos[1]


def test_arbbot_halt_writes_a_typed_secret_redacted_to_the_kill_file(tmp_path, monkeypatch, capsys):
    """`arbbot halt --reason` with the dashboard token pasted into it: the kill file (read by every
    bot sharing it and sent to webhooks by the notifier) holds the reason with the token redacted,
    on one line."""
    from arbbot.cli import main
    token = "tok-" + "z" * 40
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", token)
    monkeypatch.setenv("ARB_KILL_FILE", str(tmp_path / "arbbot.kill"))
    assert main(["halt", "--reason", f"news\nwith {token} pasted"]) == 0
    assert (tmp_path / "arbbot.kill").read_text() == "news with ******** pasted\n"


@pytest.mark.parametrize("command", ["halt", "resume", "status", "report"])
def test_a_path_setting_with_a_nul_character_is_refused_by_name(tmp_path, monkeypatch, capsys, command):
    """A TOML string can hold "\\u0000"; no file can be named with it. Before (CLI review, session
    33), the settings took it and `arbbot halt` (the kill switch) or `report` ended in a traceback
    ("embedded null byte"). Now the setting is refused at load by its name, and halt/resume, which
    read kill_file on their own when the configuration does not load, refuse that name cleanly."""
    from arbbot.cli import main
    monkeypatch.chdir(tmp_path)
    key = "kill_file" if command in ("halt", "resume") else "db_path"
    (tmp_path / "arbbot.toml").write_text(f'{key} = "a\\u0000b"\n')
    assert main([command] + (["--reason", "x"] if command == "halt" else [])) == 2
    err = capsys.readouterr().err
    assert f"{key}: a path cannot contain a NUL character" in err and "Traceback" not in err
    if command in ("halt", "resume"):
        assert "contains a NUL character: no file can have that name" in err
