"""Operator controls without HTTP (arbbot.ops.control): validation names the key and changes
nothing, an applied value reaches the running objects (engine, executor, sizer, risk gates),
every action is audited in the store, halt/resume drive the kill switch."""
from __future__ import annotations

import asyncio
import json
import threading
from importlib import resources
from types import SimpleNamespace

import pytest

from arbbot.config import Settings
from arbbot.engine import Engine
from arbbot.execution.executor import ExecutorConfig
from arbbot.execution.store import OrderStore
from arbbot.ops.control import TUNABLES, ControlError, Controls, NotTrading
from arbbot.risk.gates import RiskGates
from arbbot.risk.killswitch import KillSwitch
from arbbot.risk.limits import ExposureLimits
from arbbot.run.live import LiveSession, pack
from arbbot.snapshot import parse_snapshot


def fed_session() -> LiveSession:
    """A session holding the fed-december example's universe (5 markets, 2 opportunities:
    $4.328 at 250 contracts, $2.65 at 80), as `discover` would leave it."""
    text = resources.files("arbbot.examples").joinpath("fed-december.snapshot.json").read_text()
    universe = parse_snapshot(json.loads(text)).universe
    session = LiveSession({}, [], max_qty=universe.max_qty, min_profit=universe.min_profit, engine="python")
    session.universe = universe
    session.engine = Engine(universe, engine=session.engine_choice)
    session.markets = [SimpleNamespace(id=m.name) for m in universe.markets]
    session.books = {m.name: pack(m.book) for m in universe.markets}
    return session


class FakeSizer:
    def __init__(self, cfg) -> None:
        self.cfg, self._params, self.refreshed = cfg, cfg.params(), []

    def refresh(self, cash) -> None:
        self.refreshed.append(dict(cash))

    def reconfigure(self, cfg) -> None:
        self.cfg, self._params = cfg, cfg.params()


@pytest.fixture
def bot(tmp_path):
    settings = Settings(kill_file=str(tmp_path / "arbbot.kill"))
    store = OrderStore(str(tmp_path / "orders.db"))
    gates = RiskGates(KillSwitch(settings.kill_file), None, ExposureLimits(5_000_000_000, 1_000_000_000, 500_000_000))
    trader = SimpleNamespace(store=store, gates=gates,
                             executor=SimpleNamespace(config=ExecutorConfig(min_profit=10_000)),
                             sizer=FakeSizer(settings.sizing), cash={"kalshi": 7_000_000})
    session = fed_session()
    yield SimpleNamespace(settings=settings, store=store, trader=trader, session=session,
                          controls=Controls(settings, session, trader), kill=tmp_path / "arbbot.kill")
    store.close()


def events(store, kind: str) -> list[dict]:
    return [json.loads(e["data"]) for e in store.events() if e["kind"] == kind]


@pytest.mark.parametrize("key, value, message", [
    ("min_profit", -1, "min_profit: Input should be greater than or equal to 0"),
    ("max_contracts", 0, "max_contracts: Input should be greater than 0"),
    ("sizing.kelly.kelly_multiplier", 1.5, "sizing.kelly.kelly_multiplier: Input should be less than or equal to 1"),
    ("sizing.drawdown_manager.caution_multiplier", -0.1,
     "sizing.drawdown_manager.caution_multiplier: Input should be greater than or equal to 0"),
    ("sizing.exposure_manager.max_venue_usd", -5, "sizing.exposure_manager.max_venue_usd: Input should be greater"),
    ("min_profit", "0.02", "min_profit: expected a number, got '0.02'"),
    ("max_contracts", True, "max_contracts: expected a number, got True"),
    ("min_profit", float("nan"), "min_profit: expected a finite number"),
    ("max_contracts", 1e300, "max_contracts: Input should be less than or equal to 1000000"),
    ("max_contracts", 1_000_000.01, "max_contracts: Input should be less than or equal to 1000000"),
    ("max_contracts", 10**400, "max_contracts: too large (401 digits)"),
    ("max_contracts", float("inf"), "max_contracts: expected a finite number"),
    ("max_contracts", 0.001, "max_contracts: below one lot (0.01 contract)"),
    ("min_profit", 1e300, "min_profit: Input should be less than or equal to 9223372036854"),
    ("sizing.exposure_manager.max_venue_usd", 1e300,
     "sizing.exposure_manager.max_venue_usd: Input should be less than or equal to 9223372036854"),
    ("sizing.exposure_manager.max_market_usd", 1e13,
     "sizing.exposure_manager.max_market_usd: Input should be less than or equal to 9223372036854"),
    ("db_path", 1, "db_path: not a live-tunable key"),
])
def test_a_bad_value_is_refused_with_its_key_and_changes_nothing(bot, key, value, message):
    before = bot.controls.tunables()
    with pytest.raises(ControlError) as exc:
        bot.controls.set(key, value, who="test")
    assert str(exc.value).startswith(message), str(exc.value)
    assert exc.value.status == 400
    assert bot.controls.tunables() == before and events(bot.store, "config_changed") == []
    assert bot.controls.version == 0


def test_max_contracts_up_to_the_bound_runs_on_the_swift_engine(bot, native):
    session = bot.session
    session.engine_choice = "swift"
    session.engine = Engine(session.universe, engine="swift")
    bot.controls.set("max_contracts", 1_000_000, who="t")
    assert session.max_qty == 100_000_000 and session.universe.max_qty == 100_000_000
    assert sorted(o.profit for o in session.engine.scan().opportunities) == [2_650_000, 4_328_000]


@pytest.mark.parametrize("key, value", [("max_contracts", 10), ("min_profit", 3),
                                        ("sizing.exposure_manager.max_venue_usd", 1234.5),
                                        ("sizing.kelly.kelly_multiplier", 0.25)])
def test_a_change_that_fails_while_applied_is_undone_whole(bot, monkeypatch, key, value):
    """All or nothing: the engine rebuild (or the sizer) failing leaves every object as it was."""
    def before():
        return (bot.controls.tunables(), bot.settings.model_dump(), bot.session.max_qty, bot.session.min_profit,
                bot.session.universe, bot.trader.executor.config, bot.trader.gates.exposure.per_venue,
                bot.trader.sizer.cfg)
    state = before()
    engine = bot.session.engine
    calls = []

    def boom(*a):
        calls.append(a)
        if len(calls) == 1:
            raise OverflowError("int too big to convert")
    monkeypatch.setattr(bot.session, "retune", lambda: boom())
    real = bot.trader.sizer.reconfigure
    monkeypatch.setattr(bot.trader.sizer, "reconfigure", lambda cfg: (boom(), real(cfg)))
    with pytest.raises(ControlError) as exc:
        bot.controls.set(key, value, who="t")
    assert exc.value.status == 500
    assert str(exc.value) == f"{key}: could not be applied (OverflowError: int too big to convert); nothing changed"
    assert before() == state and bot.session.engine is engine
    assert events(bot.store, "config_changed") == [] and bot.controls.version == 0


def test_min_profit_reaches_engine_executor_and_sizer_with_an_audit_event(bot):
    assert sorted(o.profit for o in bot.session.engine.scan().opportunities) == [2_650_000, 4_328_000]
    engine_before = bot.session.engine
    out = bot.controls.set("min_profit", 3, who="dashboard session abc123")
    assert out == {"key": "min_profit", "old": 0.01, "new": 3.0}
    assert bot.settings.min_profit == 3.0                          # what the sizer reads
    assert bot.trader.executor.config.min_profit == 3_000_000     # µ$, the executor's re-quote
    assert bot.session.min_profit == 3_000_000 and bot.session.universe.min_profit == 3_000_000
    assert bot.session.engine is engine_before                     # changed in place, nothing rebuilt
    assert [o.profit for o in bot.session.engine.scan().opportunities] == [4_328_000]   # the $2.65 one is out
    assert events(bot.store, "config_changed") == [
        {"who": "dashboard session abc123", "key": "min_profit", "old": 0.01, "new": 3.0}]
    assert bot.controls.version == 1


def test_max_contracts_caps_the_engine_in_lots(bot):
    bot.controls.set("max_contracts", 10, who="t")
    assert bot.session.max_qty == 1_000 and bot.session.universe.max_qty == 1_000
    assert {o.qty for o in bot.session.engine.scan().opportunities} == {1_000}
    assert bot.settings.max_contracts == 10


def test_exposure_limit_reaches_the_risk_gate_and_the_sizer(bot):
    bot.controls.set("sizing.exposure_manager.max_venue_usd", 1234.5, who="t")
    assert bot.trader.gates.exposure.per_venue == 1_234_500_000     # µ$
    assert bot.trader.sizer.cfg.exposure_manager.max_venue_usd == 1234.5
    assert bot.settings.sizing.exposure_manager.max_venue_usd == 1234.5
    assert bot.trader.sizer.refreshed == [{"kalshi": 7_000_000}]     # the portfolio re-read with the new limits
    assert bot.trader.gates.exposure.per_event == 1_000_000_000      # the others untouched


def test_a_sizing_multiplier_reaches_the_sizing_params(bot):
    bot.controls.set("sizing.kelly.kelly_multiplier", 0.25, who="t")
    assert bot.trader.sizer._params.kelly_multiplier == 0.25
    assert bot.controls.value("sizing.kelly.kelly_multiplier") == 0.25
    assert set(bot.controls.tunables()) == set(TUNABLES)


def test_halt_and_resume_drive_the_kill_file_and_are_audited(bot):
    assert bot.controls.halted() is None
    bot.controls.halt("operator", "news pending")
    assert bot.kill.read_text() == "news pending\n"
    assert bot.trader.gates.stops() == [f"kill switch file {bot.kill} is present"]    # new executions stop
    bot.controls.resume("operator")
    assert not bot.kill.exists() and bot.trader.gates.stops() == []
    assert [e["kind"] for e in bot.store.events() if e["kind"] in ("halted", "resumed")] == ["halted", "resumed"]
    assert events(bot.store, "halted") == [{"who": "operator", "reason": "news pending"}]


def test_halt_that_cannot_write_the_kill_file_still_stops_this_bot(bot, tmp_path):
    bot.controls.kill.path = str(tmp_path / "nonexistent" / "arbbot.kill")
    out = bot.controls.halt("operator", "news")
    assert out["halted"] == "kill switch: news" and bot.trader.gates.stops() == ["kill switch: news"]
    assert "cannot write kill file" in out["warning"] and "this bot only" in out["warning"]
    assert events(bot.store, "halted") == [{"who": "operator", "reason": "news"}]
    bot.controls.resume("operator")
    assert bot.trader.gates.stops() == []


def test_halt_without_a_kill_file_trips_the_switch(tmp_path):
    store = OrderStore(str(tmp_path / "o.db"))
    trader = SimpleNamespace(store=store, gates=RiskGates(KillSwitch(None)))
    controls = Controls(Settings(kill_file=""), None, trader)
    controls.halt("me")
    assert trader.gates.stops() == ["kill switch: operator halt"]
    controls.resume("me")
    assert trader.gates.stops() == []


def test_acknowledge_leaves_safe_mode(bot):
    bot.store.enter_safe_mode("execution x is naked")
    out = bot.controls.acknowledge("operator")
    assert out["was"] == "execution x is naked" and out["safe_mode"] is None
    assert bot.store.safe_mode() is None
    assert events(bot.store, "safe_mode_acknowledged")[-1]["who"] == "operator"


def test_detection_only_refuses_controls(tmp_path):
    controls = Controls(Settings(kill_file=str(tmp_path / "k")), fed_session(), None)
    for call in (lambda: controls.halt("x"), lambda: controls.resume("x"), lambda: controls.acknowledge("x"),
                 lambda: controls.set("min_profit", 0.5, "x")):
        with pytest.raises(NotTrading) as exc:
            call()
        assert exc.value.status == 409
    assert not (tmp_path / "k").exists()


def test_submit_runs_the_control_on_the_bots_loop(bot):
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        controls = Controls(bot.settings, bot.session, bot.trader, loop=loop)
        seen = []
        controls.submit(lambda: seen.append(threading.current_thread())).result(5)
        assert seen == [thread]
        assert controls.submit(controls.set, "min_profit", 0.5, "t").result(5)["new"] == 0.5
        with pytest.raises(ControlError, match="min_profit"):
            controls.submit(controls.set, "min_profit", -1, "t").result(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_a_lane_the_drift_monitor_took_out_is_put_back_and_audited(bot):
    from arbbot.ops.drift import DriftMonitor, disable_lane
    disable_lane(bot.store, "cross", "realised $6.10 below expected")
    monitor = DriftMonitor(bot.store)
    monitor.load()
    bot.trader.drift = monitor
    assert monitor.disabled() == {"cross": "realised $6.10 below expected"}
    with pytest.raises(ControlError, match="lane 'bucket': not taken out of trading"):
        bot.controls.enable_lane("bucket", "ann")
    assert bot.controls.enable_lane("cross", "ann") == {"lane": "cross", "disabled": {}}
    assert not monitor.disabled_lanes and bot.store.flags("lane_disabled:")["lane_disabled:cross"][0] == "0"
    audit = [e["data"] for e in bot.store.events() if e["kind"] == "lane_enabled"]
    assert audit == ['{"lane": "cross", "who": "ann"}']
    with pytest.raises(NotTrading):
        Controls(bot.settings, bot.session, None).enable_lane("cross", "ann")
