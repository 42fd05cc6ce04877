"""Structured logs (JSON lines, secrets redacted), exposure from real fills, the halt/resume kill
switch commands, and Ctrl-C on a running bot."""
from __future__ import annotations

import io

import httpx
import pytest
import json
import logging
import signal
import subprocess
import time

from arbbot import logs
from arbbot.cli import main
from arbbot.execution.store import OrderStore
from arbbot.risk.killswitch import KillSwitch
from arbbot.risk.limits import ExposureLimits, Held
from arbbot.run.trader import held_by, held_exposure
from arbbot.venues.common.model import Action, Fill, Order, OrderStatus, Side, Venue
from tests.run.botproc import BOT, SimProcess, events


def test_json_logs_redact_registered_secrets_everywhere():
    out = io.StringIO()
    logs.configure(json=True, stream=out)
    pem = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAnotherSecretKeyLine0123456789\n-----END PRIVATE KEY-----\n"
    logs.register_secret("s3cr3t-api-secret-value", pem)
    log = logs.get("test")
    log.info("order.done", note="auth header s3cr3t-api-secret-value", nested={"k": ["x MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"]})
    logging.getLogger("arbbot.venues.kalshi.http").warning("signing with AnotherSecretKeyLine0123456789 failed")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in lines] == ["order.done", "signing with ******** failed"]
    assert lines[0]["note"] == "auth header ********" and lines[0]["nested"] == {"k": ["x ********"]}
    assert lines[1]["logger"] == "arbbot.venues.kalshi.http" and lines[1]["level"] == "warning"
    text = out.getvalue()
    assert "s3cr3t" not in text and "MIIEvQ" not in text and "AnotherSecret" not in text
    logs.configure(json=False)


def test_exposure_counts_what_executions_really_hold(tmp_path):
    from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as EngineSide
    store = OrderStore(str(tmp_path / "o.db"))
    legs = (Leg("kalshi:A", EngineSide.YES, 5_000, 4_000, 20_000_000, 100_000),
            Leg("polymarket:B", EngineSide.NO, 5_000, 5_500, 27_500_000, 50_000))
    opp = Opportunity("opp1", Lane.CROSS, Kind.YES_A_NO_B, 5_000, 50_000_000, 47_500_000, 150_000,
                      2_350_000, legs)
    store.create_execution("x1", opp)
    for i, (venue, market, price, cost, fee) in enumerate((("kalshi", "A", 4_000, 20_000_000, 90_000),
                                                           ("polymarket", "B", 5_400, 27_000_000, 40_000))):
        coid = store.add_intent("x1", i, "entry", 0, venue=venue, market=f"{venue}:{market}", market_id=market,
                                side="yes" if i == 0 else "no", action="buy", qty=5_000, price=price, tif="ioc")
        order = Order(Venue.parse(venue), f"o{i}", coid, market, Side.YES if i == 0 else Side.NO, Action.BUY, price,
                      5_000, 5_000, 0, OrderStatus.FILLED, fee, cost)
        fill = Fill(Venue.parse(venue), f"f{i}", f"o{i}", market, order.side, Action.BUY, price, 5_000, fee, True, 0)
        store.record_order(coid, order, [fill])
    store.set_execution_state("x1", "complete")
    assert held_by(store, "x1") == [Held("kalshi:A", 20_000_000, 90_000), Held("polymarket:B", 27_000_000, 40_000)]
    limits = ExposureLimits(per_venue=30_000_000, per_event=60_000_000, per_market=25_000_000)
    held_exposure(store, limits, lambda m: "E")
    assert limits.venue == {"kalshi": 20_090_000, "polymarket": 27_040_000} and limits.event == {"E": 47_130_000}
    # the same opportunity again breaches each limit in turn: venue, then event, then market
    assert limits.reason(opp.legs, lambda m: "E") == "exposure on kalshi: 20090000 + 20100000 µ$ > 30000000 µ$"
    limits.per_venue = None
    assert limits.reason(opp.legs, lambda m: "E") == "exposure on event E: 47130000 + 47650000 µ$ > 60000000 µ$"
    limits.per_event = None
    assert limits.reason(opp.legs, lambda m: "E") == "exposure on market kalshi:A: 20090000 + 20100000 µ$ > 25000000 µ$"


def test_an_unwind_reduces_the_lots_held_whichever_way_it_went(tmp_path):
    """1,000 lots of YES A bought at 42¢ ($4.20, fee 1¢); half unwound by buying NO A at 65¢
    ($3.25, fee 1¢: a YES+NO pair is $1 whatever happens): 500 lots still at risk, $2.10 at cost,
    fees 2¢ on top. Before, the purchase was subtracted as if it were proceeds: $0.95. A sale of
    all 1,000 at 38¢ leaves nothing held (before: $0.40 of 'exposure' in no position)."""
    from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as EngineSide
    store = OrderStore(str(tmp_path / "o.db"))
    legs = (Leg("kalshi:A", EngineSide.YES, 1_000, 4_200, 4_200_000, 10_000),
            Leg("kalshi:B", EngineSide.YES, 1_000, 5_500, 5_500_000, 10_000))
    opp = Opportunity("opp1", Lane.CROSS, Kind.YES_A_YES_B, 1_000, 10_000_000, 9_700_000, 20_000, 280_000, legs)

    def trade(xid, leg, role, attempt, side, action, price, lots, cost, fee):
        coid = store.add_intent(xid, leg, role, attempt, venue="kalshi", market="kalshi:A", market_id="A",
                                side=side.label, action=action.value, qty=lots, price=price, tif="ioc")
        store.record_order(coid, Order(Venue.KALSHI, f"o-{coid}", coid, "A", side, action, price, lots, lots, 0,
                                       OrderStatus.FILLED, fee, cost))
    for xid, way in (("x1", "buy_no"), ("x2", "sell")):
        store.create_execution(xid, opp)
        trade(xid, 0, "entry", 0, Side.YES, Action.BUY, 4_200, 1_000, 4_200_000, 10_000)
        if way == "buy_no":
            trade(xid, 0, "unwind", 0, Side.NO, Action.BUY, 6_500, 500, 3_250_000, 10_000)
        else:
            trade(xid, 0, "unwind", 0, Side.YES, Action.SELL, 3_800, 1_000, 3_800_000, 10_000)
        store.set_execution_state(xid, "naked")
    assert held_by(store, "x1") == [Held("kalshi:A", 2_100_000, 20_000)] and held_by(store, "x2") == []
    assert store.held_cost_by_market(("naked",)) == {"kalshi:A": 2_120_000}
    store.close()


def test_halt_and_resume_commands_drive_the_kill_switch(tmp_path, monkeypatch, capsys):
    kill = tmp_path / "arbbot.kill"
    monkeypatch.setenv("ARB_KILL_FILE", str(kill))
    switch = KillSwitch(kill)
    assert main(["halt", "--reason", "news pending"]) == 0 and kill.read_text() == "news pending\n"
    assert switch.reason() == f"kill switch file {kill} is present"
    assert main(["resume"]) == 0 and not kill.exists() and switch.reason() is None
    assert main(["resume"]) == 0 and "not halted" in capsys.readouterr().out


def test_ctrl_c_stops_the_bot_cleanly(tmp_path):
    sim = SimProcess(tmp_path, seed=3, step=0.2)
    try:
        log = tmp_path / "bot.log"
        with open(log, "w") as err:
            proc = subprocess.Popen(BOT + ["run", "--connect", str(sim.handle_file), "--db", str(tmp_path / "o.db"),
                                           "--json", "--log-json", "--metrics-port", "0", "--cooldown", "0.1",
                                           "--duration", "120"],     # runs until Ctrl-C (the default is 10 s)
                                    stdout=subprocess.PIPE, stderr=err, cwd=tmp_path, text=True,
                                    env={**__import__("os").environ, "ARB_KILL_FILE": str(tmp_path / "k")})
            deadline = time.monotonic() + 60
            # an execution has ended and at least one order has had its answer (an execution may end
            # before any order, when the edge is gone at the re-quote: no order latency yet then)
            def seen(kind: str) -> bool:
                return any(e["event"] == kind for e in events(log))
            while not (seen("execution.done") and seen("order.done")) and time.monotonic() < deadline:
                time.sleep(0.2)
            # while it runs: Prometheus on loopback reports trading, order latencies and risk state
            port = next(e["metrics_port"] for e in events(log) if e["event"] == "run.start")
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                      if line and not line.startswith("#")}
            assert sum(v for k, v in values.items() if k.startswith("arbbot_executions_total")) >= 1
            assert values['arbbot_breaker_state{state="closed"}'] + values['arbbot_breaker_state{state="open"}'] \
                + values['arbbot_breaker_state{state="half_open"}'] == 1.0
            assert any(k.startswith("arbbot_order_latency_quantile_seconds{") and v > 0 for k, v in values.items())
            assert values["arbbot_kill_switch"] == 0.0 and "arbbot_pnl_locked_in_micros" in values
            proc.send_signal(signal.SIGINT)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                stages = [e for e in events(log) if e["event"].startswith(("run.", "execution.", "reconcile."))]
                proc.send_signal(signal.SIGUSR1)          # every thread's stack to the log (faulthandler)
                time.sleep(2)
                proc.kill()
                proc.communicate(timeout=30)
                stacks = log.read_text().split("Thread 0x", 1)[-1][-6000:]
                pytest.fail(f"still running 30 s after Ctrl-C; last stages: {stages[-4:]}; stacks: Thread 0x{stacks}")
        # stopped as at the end of --duration: drained, reconciled, and the run reported (before,
        # Ctrl-C printed nothing on stdout: a run without --duration never gave its summary)
        assert proc.returncode == 0, out
        summary = json.loads(out)
        assert (summary["format"], summary["interrupted"]) == ("arbbot.live-summary/1", True)
        assert "Traceback" not in log.read_text()
        assert [e["event"] for e in events(log) if e["event"] in ("run.drained", "run.reconciled", "run.closed")] \
            == ["run.drained", "run.reconciled", "run.closed"]
        store = OrderStore(str(tmp_path / "o.db"))
        assert store.executions() and all(x.state != "executing" for x in store.executions())
        assert sum(summary["trading"]["executions"].values()) == len(store.executions())
        assert summary["trading"]["reconcile_differences"] == 0
    finally:
        sim.stop()
