"""The sizing pipeline in `arbbot run` (SIZING.md, issue 11): every execution's size comes from the
twelve steps, the store keeps each execution's step record, and with every step disabled the bot
trades exactly the engine's quantities."""
from __future__ import annotations

from decimal import Decimal

from arbbot.execution.store import OrderStore
from arbbot.sizing.types import ORDER
from tests.run.botproc import SimProcess, run_bot

STEPS = [s.label for s in ORDER]


def _run(tmp_path, toml: str, name: str):
    (tmp_path / f"{name}.toml").write_text(toml)
    sim = SimProcess(tmp_path, seed=3, step=0.2)
    try:
        bot = run_bot(sim, tmp_path / f"{name}.db", "--duration", "12", "--cooldown", "0.1",
                      env={"ARB_CONFIG": str(tmp_path / f"{name}.toml")}, name=name)
    finally:
        sim.stop()
    assert bot.returncode == 0, bot.stderr[-3000:]
    store = OrderStore(str(tmp_path / f"{name}.db"))
    records = dict(store.sizing_records())
    executions = store.executions()
    store.close()
    return bot.summary, executions, records


def _lots(decimal_text: str) -> int:
    return int(Decimal(decimal_text) * 100)


def test_every_execution_is_sized_by_the_pipeline_and_keeps_its_record(tmp_path):
    # a $12 cap per market binds below the engine's 50 contracts, by each market's price
    summary, executions, records = _run(tmp_path, "[sizing.exposure_manager]\nmax_market_usd = 12\n", "capped")
    sizing = summary["trading"]["sizing"]
    assert executions, "the run traded nothing"
    assert sizing["sized"] >= len(executions)
    assert sizing["lowered"].get("exposure_manager", 0) >= 1
    for x in executions:
        record = records[x.id]               # one record per execution, stored with it
        assert [s["step"] for s in record["steps"]] == STEPS
        assert record["id"] == x.opportunity_id
        assert _lots(record["final_qty"]) == x.qty <= _lots(record["engine_qty"])
        quantities = [_lots(s["qty"]) for s in record["steps"]]
        assert quantities == sorted(quantities, reverse=True)          # a chain of no
        for leg in x.legs:                                            # the cap held on every leg
            assert leg["cost"] + leg["fee"] <= 12_000_000
    sizes = {x.qty for x in executions}
    assert len(sizes) > 1, f"every execution had the same size: {sizes}"


def test_all_steps_disabled_trades_the_engine_quantity(tmp_path):
    toml = "".join(f"[sizing.{s}]\nenabled = false\n" for s in STEPS)
    summary, executions, records = _run(tmp_path, toml, "disabled")
    assert executions
    for x in executions:
        record = records[x.id]
        assert record["final_qty"] == record["engine_qty"] and record["bound_by"] == "engine"
        assert [s["note"] for s in record["steps"]] == ["disabled"] * 12
        assert x.qty == _lots(record["engine_qty"])
    assert summary["trading"]["sizing"]["lowered"] == {} and summary["trading"]["sizing"]["rejected"] == {}
