"""Defects the operations audit reproduced (/tmp/audit_ops), each pinned by a test that fails on
the code before the fix:

- a control answered after the dashboard's timeout: the request the bot runs is not cancelled,
  the caller gets 202 "sent, not confirmed", the late reply never takes the dashboard child down;
- notify: a webhook URL httpx refuses is refused at load (by index, never the URL), and an
  exception while sending never ends the sender thread;
- the Prometheus endpoint answers loopback Host headers only (DNS rebinding);
- rich markup in store / command-line text is shown literally by `arbbot status` / `report` and
  the live view;
- the dashboard login URL percent-encodes the token;
- max_contracts → whole lots rounded down (never above the cap);
- a failed engine build leaves the session's universe as it was;
- a `slack+` webhook is redacted in the form actually posted;
- Slack text escaped, notification amounts exact;
- the dashboard's audit trail shows the drift alerts and lanes put back.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest
from rich.console import Console

import arbbot.ops.dashboard.server as server_module
import arbbot.run.live as live
from arbbot.run.live import rebuilt_universe
from arbbot import logs
from arbbot.config import Settings
from arbbot.engine import Engine, EngineInputError
from arbbot.execution.executor import ExecutorConfig
from arbbot.execution.store import OrderStore
from arbbot.ops.control import ControlError, Controls
from arbbot.ops.dashboard.auth import Auth
from arbbot.ops.dashboard.child import RemoteControls
from arbbot.ops.dashboard.history import History
from arbbot.ops.dashboard.process import child_env
from arbbot.ops.dashboard.server import Dashboard, bind
from arbbot.ops.dashboard.state import StateBuilder
from arbbot.ops.drift import DriftMonitor, disable_lane
from arbbot.ops.metrics import serve_metrics
from arbbot.ops.notify.delivery import Sender, Stats
from arbbot.ops.notify.notification import Notification
from arbbot.ops.notify.notifier import start_notifier
from arbbot.ops.notify.rules import EventRules, HaltState, daily_loss_notification
from arbbot.ops.notify.targets import Target, parse_target, payload
from arbbot.risk.gates import RiskGates
from arbbot.risk.killswitch import KillSwitch
from tests.ops.test_control import bot, fed_session  # noqa: F401 - the `bot` fixture

TOKEN = "audit-fix-token-0123456789abcdef"
SAMPLE = {"book_updates": 1, "found": {}, "venues": {}, "current": [], "recent": [],
          "trading": {"executions": {}, "skipped": {}, "locked_in_micros": 0, "realised_micros": 0,
                      "cash_micros": {}, "busy": False, "kill_switch": None, "order_latency_us": {}}}
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def wait_until(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


# ---- 1. a control answered late ----------------------------------------------------------------------

def test_a_late_reply_to_a_forgotten_control_is_only_logged():
    controls = RemoteControls(io.StringIO())
    fut = controls.submit(Controls.halt, "who", "why")
    controls.forget(fut)                                  # the server's wait timed out
    assert controls._pending == {} and fut.cancelled()
    controls.resolve({"type": "reply", "id": 1, "ok": True, "result": {"halted": "late"}})   # no InvalidStateError
    fut2 = controls.submit(Controls.resume, "who")
    fut2.cancel()                                         # settled some other way, still pending
    controls.resolve({"type": "reply", "id": 2, "ok": False, "error": "refused", "status": 409})
    assert controls._pending == {}


@pytest.fixture
def remote_dashboard(monkeypatch):
    """The dashboard as the child runs it (RemoteControls: replies come from the bot), in process,
    with a 0.3 s control timeout."""
    monkeypatch.setattr(server_module, "CONTROL_TIMEOUT_S", 0.3)
    out = io.StringIO()
    controls = RemoteControls(out)
    controls.update({"trading": True, "halted": None, "tunables": {}, "version": 0, "config": {}})
    builder = StateBuilder(SimpleNamespace(latest=SAMPLE), History(None), controls,
                           SimpleNamespace(masked=lambda: controls.config))
    dash = Dashboard(builder, controls, Auth(TOKEN), port=0).start()
    yield SimpleNamespace(dash=dash, controls=controls, out=out)
    dash.stop()


def test_an_unconfirmed_control_is_202_and_its_late_reply_leaves_the_dashboard_up(remote_dashboard):
    d = remote_dashboard
    r = httpx.post(d.dash.url + "api/halt", headers=BEARER, json={}, timeout=10)
    assert r.status_code == 202
    body = r.json()
    assert body["ok"] is False and body["confirmed"] is False
    assert body["message"].startswith("halt: sent to the bot but not confirmed within 0.3 s")
    sent = [json.loads(line) for line in d.out.getvalue().splitlines()]
    assert [(m["type"], m["id"], m["method"]) for m in sent] == [("control", 1, "halt")]
    assert d.controls._pending == {}                      # dropped when it timed out
    d.controls.resolve({"type": "reply", "id": 1, "ok": True, "result": {"halted": "late"}})
    assert httpx.get(d.dash.url + "api/state", headers=BEARER, timeout=10).status_code == 200
    # a control answered in time still answers 200 with the bot's result
    def bot_answers() -> None:                            # as soon as the request is out
        if wait_until(lambda: len(d.out.getvalue().splitlines()) == 2, 5):
            d.controls.resolve({"type": "reply", "id": 2, "ok": True, "result": {"halted": None}})
    threading.Thread(target=bot_answers, daemon=True).start()
    r = httpx.post(d.dash.url + "api/resume", headers=BEARER, json={}, timeout=10)
    assert (r.status_code, r.json()) == (200, {"ok": True, "halted": None})


def test_the_control_the_bot_runs_is_not_cancelled_by_the_timeout(tmp_path, monkeypatch):
    """In process (the bot's loop busy for 0.8 s): the halt still happens once the loop is free."""
    monkeypatch.setattr(server_module, "CONTROL_TIMEOUT_S", 0.2)
    import asyncio
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    settings = Settings(kill_file=str(tmp_path / "arbbot.kill"))
    store = OrderStore(str(tmp_path / "orders.db"))
    trader = SimpleNamespace(store=store, gates=RiskGates(KillSwitch(settings.kill_file)),
                             executor=SimpleNamespace(config=ExecutorConfig()), sizer=None, cash={})
    controls = Controls(settings, None, trader, loop=loop)
    builder = StateBuilder(SimpleNamespace(latest=SAMPLE), History(store.path), controls, settings)
    dash = Dashboard(builder, controls, Auth(TOKEN), port=0).start()
    try:
        loop.call_soon_threadsafe(time.sleep, 0.8)       # the bot is busy
        r = httpx.post(dash.url + "api/halt", headers=BEARER, json={"reason": "late halt"}, timeout=10)
        assert r.status_code == 202 and "not confirmed" in r.json()["message"]
        assert wait_until(lambda: (tmp_path / "arbbot.kill").exists(), 5)
        assert (tmp_path / "arbbot.kill").read_text() == "late halt\n"
        assert [e["kind"] for e in store.events()] == ["halted"]
    finally:
        dash.stop()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        store.close()


def test_the_dashboard_child_survives_a_message_it_cannot_handle():
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.ops.dashboard.child"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(sock.fileno(),),
                            env=child_env())
    try:
        def send(text: str) -> None:
            proc.stdin.write((text + "\n").encode())
            proc.stdin.flush()
        send(json.dumps({"type": "init", "token": TOKEN, "fd": sock.fileno(), "host": "127.0.0.1",
                         "interval_s": 1.0, "db_path": None, "log_json": False}))
        sock.close()
        assert json.loads(proc.stdout.readline())["type"] == "ready"
        send(json.dumps({"type": "sample"}))                       # no sample, no tunables: KeyError
        send("[1, 2]")                                             # not an object
        send(json.dumps({"type": "reply", "id": 77, "ok": True}))  # a reply nobody waits for
        send(json.dumps({"type": "sample", "sample": SAMPLE, "halted": None, "trading": True, "tunables": {},
                         "version": 0, "config": {}}))
        def state() -> dict:
            r = httpx.get(f"http://127.0.0.1:{port}/api/state", headers=BEARER, timeout=10)
            assert r.status_code == 200
            return r.json()
        assert wait_until(lambda: state()["session"]["book_updates"] == 1)    # the good sample after the bad
        assert proc.poll() is None
    finally:
        proc.stdin.close()
        proc.wait(15)
    err = proc.stderr.read().decode()
    assert proc.returncode == 0 and "Traceback" not in err
    assert "dashboard.message_failed" in err and "KeyError" in err and TOKEN not in err


# ---- 3. notify: URLs httpx refuses -------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://example.com:80:80/h/SECRETPATH", "https://example.com:0x50/SECRETPATH",
                                 "https://xn--a.com/SECRETPATH", "https://ex\u00e4mple..com/SECRETPATH",
                                 "https://example.com/SECRETPATH\x7f", "http://example.com:99999/SECRETPATH",
                                 "slack+https://example.com:80:80/SECRETPATH"])
def test_a_webhook_url_httpx_refuses_is_refused_at_load_by_its_index(url):
    with pytest.raises(ValueError) as info:
        parse_target(3, url)
    assert str(info.value) == "notify_webhooks[3] is not a valid URL (port, host name or characters)"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_an_exception_while_sending_never_ends_the_sender(capfd):
    stats = Stats()
    sender = Sender(Target(0, "https://example.com:80:80/SECRETPATH", "json"), stats, timeout_s=1.0, max_attempts=3)
    sender.start()
    try:
        sender.put("halt", {"x": 1})
        assert wait_until(lambda: stats.failed == 1 and sender.pending == 0)
        assert sender._thread.is_alive()
        sender.put("halt", {"x": 2})
        assert wait_until(lambda: stats.failed == 2 and sender.pending == 0)
        assert sender._thread.is_alive() and stats.snapshot()["sent"] == 0 and stats.retries == 0
    finally:
        sender.close(time.monotonic() + 1)
        sender.join(2)
    out, err = capfd.readouterr()
    assert "SECRETPATH" not in out + err and "InvalidURL" in out + err


def test_a_client_that_raises_anything_fails_the_notification_not_the_thread():
    class Boom:
        def post(self, *a, **k):
            raise RuntimeError("boom")

        def close(self):
            pass
    stats = Stats()
    sender = Sender(Target(0, "https://example.com/h", "json"), stats, timeout_s=1.0, max_attempts=2,
                    client_factory=Boom)
    sender.start()
    try:
        sender.put("halt", {})
        sender.put("resume", {})
        assert wait_until(lambda: stats.failed == 2 and sender.pending == 0)
        assert sender._thread.is_alive()
    finally:
        sender.close(time.monotonic() + 1)
        sender.join(2)


# ---- 4. metrics: loopback Host headers only ----------------------------------------------------------

def test_metrics_refuse_a_host_header_that_is_not_loopback():
    session = fed_session()
    server, _ = serve_metrics(session, "127.0.0.1", 0)
    port = server.server_port
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1:{port + 1}", "localhost"):
            r = httpx.get(url, headers={"Host": host}, timeout=10)
            assert r.status_code == 403, host
            assert "arbbot_" not in r.text
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
            r = httpx.get(url, headers={"Host": host}, timeout=10)
            assert r.status_code == 200, host
            assert "arbbot_books 5.0" in r.text
    finally:
        server.shutdown()
        server.server_close()


# ---- 5. rich markup in text from the store or the command line -------------------------------------

def test_status_shows_markup_in_a_path_and_a_reason_literally(tmp_path, monkeypatch, capsys):
    from arbbot.cli import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARB_KILL_FILE", "")
    (tmp_path / "x[/bold]").mkdir(parents=True)
    path = "x[/bold]/o.db"                               # relative: the title stays on one line
    store = OrderStore(path)
    store.enter_safe_mode("venue said: [/] order [red]rejected")
    store.close()
    assert main(["status", "--db", path]) == 0
    out = capsys.readouterr().out
    assert "x[/bold]" in out and "venue said: [/] order [red]rejected (arbbot ack)" in out


def test_report_tables_show_markup_literally(tmp_path):
    from arbbot.ops.reporting.build import build_report
    from arbbot.ops.reporting.load import read_store
    from arbbot.ops.reporting.tables import render
    path = str(tmp_path / "o.db")
    OrderStore(path).close()
    report = build_report(read_store(path), None, drift_gap_micros=5_000_000)
    report["db"] = "runs/x[/bold]/o.db"
    report["drift"]["disabled_lanes"] = {"tree": "realised [/] below [bold]expected"}
    report["venues"]["ven[/i]ue"] = {"fills": 1, "lots": 100, "volume_micros": 1, "fees_micros": 0,
                                     "cash_flow_micros": -1}
    buf = io.StringIO()
    render(report, Console(file=buf, width=300))
    text = buf.getvalue()
    assert "runs/x[/bold]/o.db" in text and "lane tree disabled: realised [/] below [bold]expected" in text
    assert "ven[/i]ue" in text


def test_the_live_view_shows_market_ids_literally():
    from arbbot.ops.view import render
    label = SimpleNamespace(label="cross")
    leg = SimpleNamespace(side=SimpleNamespace(label="yes"), market="kalshi:K[/b]X")
    opp = SimpleNamespace(id="opp[/]1", lane=label, kind=SimpleNamespace(label="pair"), qty=100, profit=1_500_000,
                          legs=[leg])
    stats = SimpleNamespace(latency_percentiles_us=lambda: (1.0, 2.0), found={}, book_updates=1, recent=[(0, opp)])
    session = SimpleNamespace(stats=stats, engine_choice="python", healthy=lambda: 1, markets=[1], held={},
                              errors=[], trader=None)
    buf = io.StringIO()
    Console(file=buf, width=300).print(render(session, 1.0, "sim"))
    text = buf.getvalue()
    assert "opp[/]1" in text and "YES kalshi:K[/b]X" in text and "1.500000" in text



def test_the_live_view_never_calls_a_real_money_run_paper_trading():
    from arbbot.ops.view import render
    stats = SimpleNamespace(latency_percentiles_us=lambda: (1.0, 2.0), found={}, book_updates=1, recent=[],
                            executions={}, skipped={}, locked_in=0, realised=0, last=[])
    trader = SimpleNamespace(stats=stats, store=SimpleNamespace(safe_mode=lambda: None), sizer=None, buckets=None,
                             busy=False, gates=SimpleNamespace(breaker=None, kill=None, loss=None, exposure=None))
    session = SimpleNamespace(stats=stats, engine_choice="swift", healthy=lambda: 1, markets=[1], held={}, errors=[],
                              trader=trader)

    def shown(**kw) -> str:
        buf = io.StringIO()
        Console(file=buf, width=300).print(render(session, 1.0, "where", **kw))
        return buf.getvalue()
    live, paper = shown(real_money=True), shown()
    assert "paper" not in live and live.count("LIVE TRADING (real money)") == 2
    assert paper.count("paper trading") == 2 and "LIVE" not in paper


# ---- 6. the login URL percent-encodes the token ------------------------------------------------------

@pytest.mark.parametrize("token", ["q3+Zt/9kLm==Xy2+Wv8pRs4T", "abc#defghijklmnopqrs", "with space&and%25=x"])
def test_the_printed_login_url_logs_in_whatever_the_token_holds(token):
    controls = Controls(Settings(kill_file=""), None, None)
    dash = Dashboard(StateBuilder(SimpleNamespace(latest=SAMPLE), History(None), controls, controls.settings),
                     controls, Auth(token), port=0).start()
    try:
        assert token not in dash.login_url
        r = httpx.get(dash.login_url, timeout=10)
        assert r.status_code == 303 and r.headers["location"].startswith("/#csrf=")
        assert r.headers["set-cookie"].startswith(f"arbbot_session_{dash.port}=")
    finally:
        dash.stop()


# ---- 7. max_contracts → whole lots, rounded down ------------------------------------------------------

@pytest.mark.parametrize("contracts, lots", [(0.015, 1), (0.019, 1), (0.035, 3), (0.999, 99), (2.675, 267)])
def test_a_live_max_contracts_never_raises_the_cap(bot, contracts, lots):  # noqa: F811
    bot.controls.set("max_contracts", contracts, who="t")
    assert bot.session.max_qty == lots and bot.session.universe.max_qty == lots
    assert bot.session.max_qty <= Decimal(repr(contracts)) * 100


def test_a_cap_below_one_whole_lot_is_refused(bot):  # noqa: F811
    with pytest.raises(ControlError, match="max_contracts: below one lot"):
        bot.controls.set("max_contracts", 0.006, who="t")
    assert bot.session.max_qty == 50_000


# ---- 8. a live limit change: in place, the answers of a rebuilt engine, undone whole on a failure ----

def _found(engine) -> list[tuple]:
    return sorted((o.id, o.qty, o.profit) for o in engine.scan().opportunities)


def test_a_live_limit_change_rebuilds_nothing_and_finds_what_a_rebuilt_engine_finds(bot, monkeypatch):  # noqa: F811
    engine = bot.session.engine

    def no_build(*a, **k):
        raise AssertionError("a limit change must not build an engine")
    monkeypatch.setattr(live, "Engine", no_build)
    for key, value in (("max_contracts", 3), ("min_profit", 0.5), ("max_contracts", 50), ("min_profit", 0.01)):
        bot.controls.set(key, value, who="t")
        assert bot.session.engine is engine
        rebuilt = Engine(rebuilt_universe(bot.session), engine=bot.session.engine_choice)
        assert _found(engine) == _found(rebuilt), (key, value)
    assert bot.session.universe.max_qty == bot.session.max_qty and bot.session.universe.min_profit == 10_000


def test_a_limit_change_whose_rescan_fails_is_undone_in_the_engine_too(bot, monkeypatch):  # noqa: F811
    universe, engine = bot.session.universe, bot.session.engine
    before = _found(engine)
    assert any(qty > 700 for _, qty, _ in before)            # a cap of 7 contracts would lower one
    scan = engine.scan
    calls = []

    def failing_once():
        calls.append(1)
        if len(calls) == 1:
            raise MemoryError("rescan failed")
        return scan()
    monkeypatch.setattr(engine, "scan", failing_once)
    with pytest.raises(ControlError) as info:
        bot.controls.set("max_contracts", 7, who="t")
    assert info.value.status == 500
    assert bot.session.universe.max_qty == universe.max_qty == 50_000 and bot.session.max_qty == 50_000
    assert bot.session.engine is engine and bot.settings.max_contracts == 50.0
    monkeypatch.setattr(engine, "scan", scan)
    assert _found(engine) == before                          # the engine sizes with 50 contracts again


def test_limits_the_engine_refuses_change_nothing():
    session = fed_session()
    universe = session.universe
    session.max_qty = -5
    with pytest.raises(EngineInputError):
        session.retune()
    assert session.universe is universe and session.universe.max_qty == universe.max_qty != -5


# ---- 9. a prefixed webhook is redacted as posted ------------------------------------------------------

def test_a_prefixed_webhook_is_redacted_in_the_form_posted(monkeypatch, tmp_path):
    url = "https://chat.internal/hooks/T0/B0/PREFIXSECRET-7f3a"
    n = start_notifier(Settings(notify_webhooks=[f"slack+{url}"], kill_file=""), None)
    try:
        assert n.targets[0].url == url
        assert logs.scrub(f"error talking to {url}") == f"error talking to {logs.REDACTED}"
    finally:
        n.stop(0.2)


# ---- 10. notification text ----------------------------------------------------------------------------

def test_slack_text_is_escaped():
    rules = EventRules(HaltState(False))
    n = rules.apply({"kind": "safe_mode_entered", "ts_ms": 0, "data": {
        "reason": "venue said <!channel> <https://evil.example/ack|run ack> & more"}})
    body = payload(Target(0, "https://hooks.slack.com/services/T/B/X", "slack"), n)
    assert body["text"].startswith("*Safe mode entered*\narbbot stopped trading: venue said &lt;!channel&gt; "
                                   "&lt;https://evil.example/ack|run ack&gt; &amp; more.")
    assert "<" not in body["text"] and ">" not in body["text"]
    plain = Notification("x", "info", 0, "a <b> & c", "d")
    assert payload(Target(0, "https://hooks.slack.com/x", "slack"), plain) == {"text": "*a &lt;b&gt; &amp; c*\nd"}
    assert payload(Target(0, "https://example.com/x", "json"), plain)["title"] == "a <b> & c"   # JSON: as is


def test_notification_amounts_are_exact():
    n = daily_loss_notification(1_005_000, 1_005_000, (0, 0), 0)
    assert n.text == "Realised loss $1.005000 reached the cap of $1.005000: no new trades until the next risk day."
    drift = EventRules(HaltState(False)).apply({"kind": "drift_alert", "ts_ms": 0, "data": {
        "lane": "tree", "expected_micros": 7_000_001, "realised_micros": -18_530_000, "gap_micros": 25_530_001,
        "executions": 5, "disabled": False}})
    assert drift.text == "Realised $-18.530000 vs expected $7.000001 over 5 executions (gap $25.530001)."


# ---- 11. the audit trail shows drift alerts and lanes put back ----------------------------------------

def test_the_dashboard_audit_trail_shows_drift_and_lanes_put_back(tmp_path):
    settings = Settings(kill_file=str(tmp_path / "k"))
    store = OrderStore(str(tmp_path / "o.db"))
    store.add_event("drift_alert", lane="tree", expected_micros=7_000_000, realised_micros=1_000_000,
                    gap_micros=6_000_000, executions=5, disabled=True)
    disable_lane(store, "tree", "realised $1.00 below expected")
    trader = SimpleNamespace(store=store, gates=RiskGates(KillSwitch(settings.kill_file)), sizer=None, cash={})
    trader.drift = DriftMonitor(store)
    trader.drift.load()
    Controls(settings, None, trader).enable_lane("tree", "dashboard session abcdef")
    audit = History(store.path).audit(20)
    assert [(e["kind"], e["data"]["lane"]) for e in audit] == [
        ("lane_enabled", "tree"), ("drift_lane_enabled", "tree"), ("drift_alert", "tree")]
    assert audit[0]["data"]["who"] == "dashboard session abcdef" and audit[2]["data"]["gap_micros"] == 6_000_000
    store.close()
