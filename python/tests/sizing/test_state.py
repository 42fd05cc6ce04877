"""The sizing state in the order store (schema v3): a v2 store migrates keeping its data; samples,
fill outcomes, per-lane daily PnL, the drawdown peak / stop and each execution's sizing record
survive a restart; `arbbot status` shows the tier and peak; `arbbot ack` clears a drawdown stop;
`arbbot explain --db` shows the stored records."""
from __future__ import annotations

import json

import pytest

from arbbot.cli import main
from arbbot.engine.types import Lane
from arbbot.execution import schema
from arbbot.execution.store import OrderStore
from arbbot.model import Side, Venue
from arbbot.sizing.config import from_toml_dict
from arbbot.sizing.explain import explain_snapshot, read_snapshot
from arbbot.sizing.portfolio import DrawdownState, Exposure
from arbbot.sizing.record import trade_record
from arbbot.sizing.state import drawdown_state, history, lane_pnl, observe_equity
from tests.risk.test_durable_risk import status_json
from tests.risk.trades import Clock, complete_profitable, two_leg_opportunity, unwound_losing_3_25, utc_s
from tests.sizing.test_explain import BUNDLED

CFG = from_toml_dict({})


def test_a_version_2_store_migrates_to_the_latest_and_keeps_its_data(tmp_path, monkeypatch):
    path = tmp_path / "v2.db"
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
    monkeypatch.setattr(schema, "LATEST", 2)
    store = OrderStore(path, clock_ms=clock.ms)
    unwound_losing_3_25(store)
    store.close()
    monkeypatch.undo()
    store = OrderStore(path, clock_ms=clock.ms)
    assert store.migrated_from == 2 and schema.current_version(store._db) == schema.LATEST
    assert store.realised_loss("u1") == 3_250_000 and store.execution("u1").state == "unwound"
    assert store.sizing_records() == [] and store.drawdown() is None
    store.close()


def test_samples_outcomes_and_lane_pnl_survive_a_restart(tmp_path):
    path = tmp_path / "o.db"
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(path, clock_ms=clock.ms)
    unwound_losing_3_25(store)                  # cross lane: −$3.25 (an unwind: no payout)
    complete_profitable(store)                  # cross lane: −$9.29 + $10.00 payout = +$0.71, same day
    clock.t += 86_400
    complete_profitable(store, "c2")            # the next day: +$0.71
    store.add_estimate_sample("latency", "kalshi", 0.25)
    store.add_estimate_sample("depletion", "kalshi:A#no", 0.4)
    store.add_estimate_sample("mid", "kalshi:A", 0.51)
    store.add_estimate_sample("latency", "kalshi", 9.0, ts_ms=clock.ms() - 2 * 86_400_000)   # outside the window
    store.close()
    store = OrderStore(path, clock_ms=clock.ms)
    assert store.fill_outcomes() == {"kalshi": (3, 3), "polymarket": (2, 2)}    # entries only, unwinds excluded
    h = history(store, clock.ms(), CFG)
    now_s = clock.ms() / 1000
    assert h.latency == {Venue.KALSHI: ((now_s, 0.25),)}
    assert h.depletion == {("kalshi:A", Side.NO): ((now_s, 0.4),)} and h.mids == {"kalshi:A": ((now_s, 0.51),)}
    assert h.fills == {Venue.KALSHI: (3, 3), Venue.POLYMARKET: (2, 2)}
    assert lane_pnl(store, clock.ms(), CFG, "00:00") == {Lane.CROSS: (-2_540_000, 710_000)}
    assert lane_pnl(store, clock.ms(), from_toml_dict({"lane_allocator": {"window_days": 1}}), "00:00") == {
        Lane.CROSS: (710_000,)}
    store.close()


def test_drawdown_peak_and_stop_persist_and_ack_clears_the_stop(in_tmp, capsys, monkeypatch):
    db = in_tmp / "o.db"
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(db, clock_ms=clock.ms)
    assert drawdown_state(store) == DrawdownState()
    observe_equity(store, 1_000_000_000, clock.ms(), CFG, "00:00")
    observe_equity(store, 940_000_000, clock.ms(), CFG, "00:00")              # 6%: caution
    store.close()
    st = status_json(capsys, monkeypatch, db, clock.t)
    assert (st["drawdown_tier"], st["equity_peak_usd"]) == ("caution", "1000.000000")
    store = OrderStore(db, clock_ms=clock.ms)                                 # restart: the peak is kept
    assert drawdown_state(store) == DrawdownState(1_000_000_000, 0)
    state = observe_equity(store, 899_000_000, clock.ms(), CFG, "00:00")      # 10.1%: stop latched
    assert state == DrawdownState(1_000_000_000, clock.ms())
    observe_equity(store, 990_000_000, clock.ms() + 1, CFG, "00:00")          # recovered, still stopped
    assert store.drawdown() == (1_000_000_000, 990_000_000, clock.ms(), "stop")
    store.close()
    st = status_json(capsys, monkeypatch, db, clock.t)
    assert (st["drawdown_tier"], st["equity_peak_usd"]) == ("stop", "1000.000000")
    assert main(["ack", "--db", str(db)]) == 0
    assert "drawdown stop cleared" in capsys.readouterr().out
    st = status_json(capsys, monkeypatch, db, clock.t)
    assert (st["drawdown_tier"], st["equity_peak_usd"]) == ("normal", "990.000000")
    assert main(["ack", "--db", str(db)]) == 0
    assert capsys.readouterr().out == ("not in safe mode, no drawdown stop, no fee hold: nothing to "
                                       "acknowledge\n")                   # nothing more to clear


def test_a_day_reset_stop_ends_at_the_next_day_start(in_tmp, capsys, monkeypatch):
    db = in_tmp / "o.db"
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    cfg = from_toml_dict({"drawdown_manager": {"reset": "day"}})
    store = OrderStore(db, clock_ms=clock.ms)
    observe_equity(store, 100_000_000, clock.ms(), cfg, "00:00")
    observe_equity(store, 80_000_000, clock.ms(), cfg, "00:00")                # 20%: stop
    assert observe_equity(store, 80_000_000, clock.ms() + 3_600_000, cfg, "00:00").stopped
    # the next day start clears it; the peak restarts at the equity
    assert observe_equity(store, 80_000_000, clock.ms() + 86_400_000, cfg, "00:00") == DrawdownState(80_000_000, 0)
    assert store.drawdown()[3] == "normal"
    store.close()


def test_sizing_records_are_stored_with_executions_and_explained(in_tmp, capsys):
    db = in_tmp / "o.db"
    snapshot, obj = read_snapshot((BUNDLED / "fed-december.snapshot.json").read_text())
    sizing = explain_snapshot(snapshot, obj, engine="python")[0]
    record = trade_record(sizing)
    store = OrderStore(db)
    store.create_execution("x1", two_leg_opportunity(sizing.id), sizing=record, loss_budget=23_522_500)
    store.create_execution("x2", two_leg_opportunity("other"))
    assert store.inflight_loss_budgets() == 23_522_500
    store.set_execution_state("x1", "complete")
    assert store.inflight_loss_budgets() == 0
    store.close()
    assert main(["explain", "--db", str(db), "--execution", "x1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"format": "arbbot.sizing/1", "opportunities": [record]}
    assert main(["explain", "--db", str(db), "--id", sizing.id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["opportunities"] == [record]
    assert main(["explain", "--db", str(db)]) == 0
    assert sizing.id in capsys.readouterr().out
    assert main(["explain", "--db", str(db), "--execution", "x2"]) == 2
    assert "no stored sizing record matches execution x2" in capsys.readouterr().err


def test_moved_settings_are_refused_naming_the_new_key(in_tmp):
    from arbbot.config import ConfigError, load_settings
    (in_tmp / "arbbot.toml").write_text("max_exposure_per_event_usd = 10\n")
    with pytest.raises(ConfigError, match="max_exposure_per_event_usd moved: set sizing.exposure_manager.max_event_usd"):
        load_settings()
    (in_tmp / "arbbot.toml").write_text("[sizing.exposure_manager]\nmax_event_usd = 10\n")
    assert load_settings().sizing.exposure_manager.max_event_usd == 10.0


def test_the_portfolio_a_running_bot_sizes_against(tmp_path):
    from arbbot.sizing.state import portfolio
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(tmp_path / "o.db", clock_ms=clock.ms)
    complete_profitable(store)        # holds YES A: $4.20 + $0.04; NO B: $5.00 + $0.05
    unwound_losing_3_25(store)        # held nothing after the unwind; realised loss $3.25
    store.create_execution("x9", two_leg_opportunity("opp-x9", qty=100), sizing={"id": "opp-x9"}, loss_budget=2_000_000)
    observe_equity(store, 1_000_000_000, clock.ms(), CFG, "00:00")
    p = portfolio(store, cash={Venue.KALSHI: 500_000_000}, equity=990_000_000, now_ms=clock.ms(), cfg=CFG,
                  day_start_utc="00:00", meta={"kalshi:A": ("EV", "econ"), "polymarket:B": ("EV", None)})
    # x9 in flight: 100 lots YES A planned at 42¢ ($0.42 + $0.04 fee), NO B at 50¢ ($0.50 + $0.05)
    assert p.markets == {"kalshi:A": Exposure(4_240_000, 460_000), "polymarket:B": Exposure(5_050_000, 550_000)}
    assert p.venues == {Venue.KALSHI: Exposure(4_240_000, 460_000), Venue.POLYMARKET: Exposure(5_050_000, 550_000)}
    assert p.events == {"EV": Exposure(9_290_000, 1_010_000)} and p.categories == {"econ": Exposure(4_240_000, 460_000)}
    assert (p.realised_loss_today, p.inflight_budgets) == (3_250_000, 2_000_000)
    assert (p.equity, p.peak, p.drawdown_stopped) == (990_000_000, 1_000_000_000, False)
    assert p.lane_pnl == {Lane.CROSS: (710_000 - 3_250_000,)}
    assert p.history.fills == {Venue.KALSHI: (2, 2), Venue.POLYMARKET: (1, 1)}


def test_a_complete_execution_smaller_than_planned_counts_the_payout_of_what_it_holds(tmp_path):
    """Planned 1,000 lots, completed at 600 on every leg (leg 1 filled 600; leg 0's 400 excess sold
    back at 42¢, fee 3¢): cash flow −$4.20 − $0.04 + $1.68 − $0.03 − $3.00 − $0.05 = −$5.64, payout
    of 600 lots $6.00: +$0.36. Before, the planned $10.00 payout was counted: +$4.36."""
    from tests.risk.trades import fill
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(tmp_path / "o.db", clock_ms=clock.ms)
    store.create_execution("c1", two_leg_opportunity("opp-c1"))
    fill(store, "c1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    fill(store, "c1", 1, "entry", venue="polymarket", market_id="B", side="no", action="buy", qty=600, price=5_000,
         fee=50_000)
    fill(store, "c1", 0, "unwind", venue="kalshi", market_id="A", side="yes", action="sell", qty=400, price=4_200,
         fee=30_000)
    store.set_execution_state("c1", "complete")
    assert store.leg_net("c1") == {0: 600, 1: 600} and store.cash_flow("c1") == -5_640_000
    assert lane_pnl(store, clock.ms(), CFG, "00:00") == {Lane.CROSS: (360_000,)}
    store.close()


def test_an_ack_from_another_process_is_not_undone_by_the_bots_next_observation(tmp_path, monkeypatch):
    """`arbbot ack` (its own connection, as another process) clears a drawdown stop while the bot
    observes equity. The bot reads the row, advances it and writes it back: before, in two
    transactions, an ack landing between them was overwritten (the stop and the old peak came
    back). Now the read and the write are one transaction, so the ack waits for it and wins."""
    import threading
    from arbbot.sizing import state as sizing_state

    db = tmp_path / "o.db"
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    bot = OrderStore(db, clock_ms=clock.ms)
    observe_equity(bot, 100_000_000, clock.ms(), CFG, "00:00")
    assert observe_equity(bot, 85_000_000, clock.ms(), CFG, "00:00").stopped          # 15 %: stop
    operator = OrderStore(db, clock_ms=clock.ms)
    acked = []
    ack = threading.Thread(target=lambda: acked.append(operator.clear_drawdown_stop()))
    real_advance = sizing_state.advance

    def advance_while_the_operator_acks(*args, **kw):
        ack.start()
        ack.join(0.3)            # the ack runs now if nothing holds the store's write lock
        return real_advance(*args, **kw)

    monkeypatch.setattr(sizing_state, "advance", advance_while_the_operator_acks)
    observe_equity(bot, 85_000_000, clock.ms() + 1, CFG, "00:00")
    ack.join()
    assert acked == [True]
    assert drawdown_state(bot) == DrawdownState(85_000_000, 0) and bot.drawdown()[3] == "normal"
    operator.close()
    bot.close()
