"""The dashboard in its own process, driven from a bot's event loop (no browser): samples reach
it, controls asked over HTTP run on the bot's loop and change the running objects, a sample
leaves out what did not change, and stopping ends the child."""
from __future__ import annotations

import asyncio
import threading
from collections import deque
from types import SimpleNamespace

import httpx
import pytest

from arbbot.config import Settings
from arbbot.execution.executor import ExecutorConfig
from arbbot.execution.store import OrderStore
from arbbot.model import MarketId
from arbbot.ops.dashboard import serve_dashboard
from arbbot.ops.dashboard.sampler import LoopSampler
from arbbot.risk.gates import RiskGates
from arbbot.risk.killswitch import KillSwitch
from arbbot.run.trader import TradeStats
from tests.ops.test_control import fed_session

TOKEN = "process-test-token-0123456789"


def bot(tmp_path):
    session = fed_session()
    session.markets = [SimpleNamespace(id=m.name, venue=MarketId.parse(m.name).venue) for m in session.universe.markets]
    settings = Settings(kill_file=str(tmp_path / "arbbot.kill"))
    store = OrderStore(str(tmp_path / "orders.db"))
    stats = TradeStats(locked_in=4_328_000, realised=-150_000)
    stats.executions["complete"] = 1
    trader = SimpleNamespace(store=store, gates=RiskGates(KillSwitch(settings.kill_file)), stats=stats, busy=False,
                             executor=SimpleNamespace(config=ExecutorConfig(), order_latencies_ns={"kalshi": deque([
                                 2_000_000, 4_000_000])}, first_order_ns=deque()),
                             sizer=None, cash={"kalshi": 10_000_000_000}, reconcile_differences=0)
    from arbbot.ops.drift import DriftMonitor, disable_lane
    disable_lane(store, "tree", "realised $7.00 below expected")       # the drift monitor took it out
    trader.drift = DriftMonitor(store)
    trader.drift.load()
    return session, settings, store, trader


def test_controls_over_http_run_on_the_bots_loop(tmp_path, monkeypatch):
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", TOKEN)
    session, settings, store, trader = bot(tmp_path)
    seen_threads = []
    original_set = type(settings).__setattr__

    async def main():
        tasks = []
        dash = await serve_dashboard(settings, session, trader, port=0, db_path=store.path, interval_s=0.2,
                                     spawn=lambda coro, name: tasks.append(asyncio.create_task(coro)))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        try:
            async with httpx.AsyncClient(base_url=dash.url, headers=auth, timeout=10) as client:
                for _ in range(100):                     # the child starts (≈ 1 s)
                    try:
                        r = await client.get("/api/state")
                        if r.status_code == 200 and r.json()["mode"] == "trading":
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                state = r.json()
                assert state["locked_in_micros"] == 4_328_000 and state["realised_micros"] == -150_000
                assert state["venues"]["kalshi"]["cash_micros"] == 10_000_000_000
                assert state["venues"]["kalshi"]["order_latency_us"] == {"p50": 4000.0, "p99": 4000.0, "n": 2}
                assert sorted(o["profit_micros"] for o in state["opportunities"]) == [2_650_000, 4_328_000]
                assert state["lanes"]["parity"]["current"] + state["lanes"]["cross"]["current"] \
                    + state["lanes"]["intra"]["current"] + state["lanes"]["bucket"]["current"] \
                    + state["lanes"]["tree"]["current"] == 2
                r = await client.post("/api/config", json={"key": "min_profit", "value": 3})
                assert r.status_code == 200, r.text
                assert session.min_profit == 3_000_000 and settings.min_profit == 3.0
                assert [o.profit for o in session.engine.scan().opportunities] == [4_328_000]
                seen_threads.append(threading.current_thread())
                state = (await client.get("/api/state")).json()
                assert state["tunables"]["min_profit"]["value"] == 3.0 and state["config"]["min_profit"] == 3.0
                assert [o["profit_micros"] for o in state["opportunities"]] == [4_328_000]    # the sample after
                assert state["lanes"]["tree"]["disabled"] == "realised $7.00 below expected"
                r = await client.post("/api/lane", json={"lane": "tree"})
                assert r.status_code == 200 and r.json()["disabled"] == {} and not trader.drift.disabled_lanes
                assert (await client.get("/api/state")).json()["lanes"]["tree"]["disabled"] is None
                r = await client.post("/api/halt", json={"reason": "test"})
                assert r.status_code == 200 and (tmp_path / "arbbot.kill").read_text() == "test\n"
                assert (await client.get("/api/state")).json()["halted"] is True
                r = await client.post("/api/config", json={"key": "min_profit", "value": -1})
                assert r.status_code == 400 and r.json()["error"].startswith("min_profit:")
        finally:
            dash.stop()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        assert dash.proc.poll() is not None             # the child ended with the bot's stop
    asyncio.run(main())
    kinds = [e["kind"] for e in store.events() if e["kind"] in ("config_changed", "halted", "lane_enabled")]
    assert kinds == ["config_changed", "lane_enabled", "halted"]
    assert original_set is type(settings).__setattr__
    store.close()


def test_a_sample_leaves_out_what_did_not_change(tmp_path):
    session, settings, store, trader = bot(tmp_path)
    sampler = LoopSampler(session, trader)
    first, second = sampler.sample(), sampler.sample()
    assert {"current", "recent", "held_out"} <= set(first)
    assert not {"current", "recent", "held_out"} & set(second)
    assert first["trading"]["executions"] == {"complete": 1} and second["book_updates"] == 0
    sampler.resend_all()
    assert {"current", "recent", "held_out"} <= set(sampler.sample())
    session.min_profit = 3_000_000
    from arbbot.ops.control import retune_engine
    retune_engine(session)
    third = sampler.sample()
    assert [o["profit_micros"] for o in third["current"]] == [4_328_000]
    store.close()


@pytest.mark.parametrize("held", [3, 500])
def test_venue_health_counts_held_books(tmp_path, held):
    session, settings, store, trader = bot(tmp_path)
    names = [str(m.id) for m in session.markets if str(m.id).startswith("kalshi:")]
    assert len(names) == 4
    session.held.update({names[0]: "stale", names[1]: "crossed book: 0.6/0.5"})
    if held > 3:                                   # a large held set (counted on the slow path)
        session.held.update({f"kalshi:X{i}": "stale" for i in range(held)})
    venues = LoopSampler(session, trader).sample()["venues"]
    assert venues["kalshi"]["markets"] == 4
    if held == 3:
        assert venues["kalshi"]["healthy"] == 2
    assert venues["kalshi"]["held"]["stale"] == 1 + (held if held > 3 else 0)
    assert venues["kalshi"]["held"]["crossed book"] == 1
    store.close()


def test_the_dashboard_process_ends_quietly_when_the_bot_is_gone_before_it_is_ready():
    """The bot killed (SIGKILL at a fault step) before its dashboard said "ready": the child finds
    its stdout's reader gone and exits 0 with nothing on stderr (no traceback in the bot's log)."""
    import json as _json
    import socket
    import subprocess
    import sys

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    proc = subprocess.Popen([sys.executable, "-m", "arbbot.ops.dashboard.child"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(sock.fileno(),))
    proc.stdout.close()                          # the bot is gone: nobody reads the child's answers
    init = {"type": "init", "token": "t" * 32, "fd": sock.fileno(), "host": "127.0.0.1", "interval_s": 1.0,
            "db_path": None, "log_json": True}
    proc.stdin.write((_json.dumps(init) + "\n").encode())
    proc.stdin.flush()
    sock.close()
    proc.stdin.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0 and "Traceback" not in err and "BrokenPipe" not in err, err


FAKE_SECRETS = {
    "ARB_POLYMARKET_API_SECRET": "fake-poly-secret-7f3a9c21",
    "ARB_POLYMARKET_PRIVATE_KEY": "0xfakeprivatekey5b8e4d0e19",
    "ARB_KALSHI_API_KEY_ID": "fake-kalshi-key-id-4d2e",
    "ARB_NOTIFY_WEBHOOKS": '["https://hooks.example.com/services/FakeWebhookPath91"]',
    "ARB_SOMETHING_ELSE": "fake-other-arb-value-66c1",
}


def test_the_dashboard_child_gets_no_secret_in_its_environment_or_command_line(tmp_path, monkeypatch):
    """The child holds only the dashboard token (sent on its stdin): none of the bot's trading
    secrets, nor the token, appears in its environment or command line; it still serves with the
    token and refuses without it."""
    monkeypatch.setenv("ARB_DASHBOARD_TOKEN", TOKEN)
    for key, value in FAKE_SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LANG", "C.UTF-8")
    session, settings, store, trader = bot(tmp_path)

    async def main():
        dash = await serve_dashboard(settings, session, trader, port=0, db_path=store.path, interval_s=0.2)
        run = asyncio.create_task(dash.run())
        try:
            async with httpx.AsyncClient(base_url=dash.url, timeout=10) as client:
                for _ in range(100):                     # the child starts (≈ 1 s)
                    try:
                        r = await client.get("/api/state", headers={"Authorization": f"Bearer {TOKEN}"})
                        if r.status_code == 200 and r.json()["mode"] == "trading":
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                # read once it serves: read at once after the spawn, a loaded machine could find the
                # child not yet through exec, its environment still empty (CI, session 37)
                environ = open(f"/proc/{dash.proc.pid}/environ", "rb").read().decode()
                cmdline = open(f"/proc/{dash.proc.pid}/cmdline", "rb").read().decode()
                assert r.status_code == 200 and r.json()["locked_in_micros"] == 4_328_000
                assert (await client.get("/api/state")).status_code == 401
                assert (await client.get("/api/state", headers={"Authorization": "Bearer wrong"})).status_code == 401
        finally:
            dash.stop()
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
        return environ, cmdline
    environ, cmdline = asyncio.run(main())
    store.close()
    env = dict(item.split("=", 1) for item in environ.split("\0") if item)
    assert env, "the child's environment could not be read"
    for value in [TOKEN, *FAKE_SECRETS.values(), "FakeWebhookPath91"]:
        assert value not in environ and value not in cmdline
    assert not [key for key in env if key.startswith("ARB_")]
    assert env["LANG"] == "C.UTF-8" and env["PATH"]          # what a process needs is still there


def test_child_env_keeps_the_process_basics_and_drops_everything_else():
    from arbbot.ops.dashboard.process import child_env
    env = child_env({"PATH": "/usr/bin", "HOME": "/home/bot", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                     "TMPDIR": "/var/tmp", "PYTHONPATH": "/opt/arbbot", "PYTHONUTF8": "1",
                     "ARB_DASHBOARD_TOKEN": "t" * 32, "ARB_POLYMARKET_API_SECRET": "s" * 20,
                     "ARB_CONFIG": "/etc/arbbot.toml", "AWS_SECRET_ACCESS_KEY": "a" * 20, "SSH_AUTH_SOCK": "/tmp/ssh"})
    assert env == {"PATH": "/usr/bin", "HOME": "/home/bot", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                   "TMPDIR": "/var/tmp", "PYTHONPATH": "/opt/arbbot", "PYTHONUTF8": "1"}


def test_a_session_error_naming_a_secret_reaches_the_dashboard_redacted(tmp_path, monkeypatch):
    """`session.errors` are exception texts (a venue's answer, a connection's URL): a registered
    secret in one is masked before the sample leaves the bot's process for the browser."""
    from arbbot import logs
    secret = "pk-0123456789abcdef-secret"
    monkeypatch.setattr(logs, "_secrets", set())
    logs.register_secret(secret)
    session, settings, store, trader = bot(tmp_path)
    session.errors.append(f"polymarket: HTTPStatusError: 401 for key {secret}")
    errors = LoopSampler(session, trader).sample()["errors"]
    assert errors == [f"polymarket: HTTPStatusError: 401 for key {logs.REDACTED}"]
    store.close()
