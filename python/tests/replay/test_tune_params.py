"""`arbbot tune`: a key given twice is refused, rounding never makes two trials of one candidate,
and the table shows the exact value tried."""
import argparse

import pytest

from arbbot.replay import tune as tune_module
from arbbot.replay.tune import TuneError, candidates, parse_params


def _args(**kw):
    return argparse.Namespace(**{"file": "r.jsonl", "param": [], "config": None, "trials": 8, "engine": None,
                                 "jobs": 1, "json": False, **kw})


def test_a_key_given_twice_is_refused(capsys):
    with pytest.raises(TuneError, match="--param max_contracts: given twice"):
        parse_params(["max_contracts=1:2", "min_profit=0.01:0.1", "max_contracts=3:4"])
    assert tune_module.main(_args(param=["max_contracts=1:2", "max_contracts=3:4"])) == 2
    assert capsys.readouterr().err == "arbbot tune: --param max_contracts: given twice (one range per key)\n"


def test_candidates_are_distinct_after_rounding():
    assert candidates({"max_contracts": (1.0, 1.02)}, 8) == [{"max_contracts": v} for v in (1.0, 1.01, 1.02)]
    both = candidates({"max_contracts": (1.0, 1.01), "min_profit": (0.05, 0.05)}, 8)
    assert sorted(p["max_contracts"] for p in both) == [1.0, 1.01] and {p["min_profit"] for p in both} == {0.05}


def test_the_table_shows_the_exact_value_tried(monkeypatch, capsys):
    row = {"values": {"sizing.exposure_manager.max_venue_usd": 187897.720147}, "pnl_micros": 1_000_000,
           "max_drawdown_micros": 0, "executions": {"complete": 1}, "fill_rate": 1.0}
    monkeypatch.setattr(tune_module, "tune", lambda *a: {"params": {"sizing.exposure_manager.max_venue_usd": [1, 2]},
                                                         "trials": [row]})
    monkeypatch.setenv("COLUMNS", "200")
    assert tune_module.main(_args(param=["sizing.exposure_manager.max_venue_usd=1:2"])) == 0
    assert "187897.720147" in capsys.readouterr().out
