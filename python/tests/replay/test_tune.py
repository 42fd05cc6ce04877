"""`arbbot tune`: candidates within the ranges, deterministic, ranked by replayed PnL; nothing applied."""
import pytest

from arbbot.replay.tune import TuneError, candidates, parse_params, tune


def test_params_are_live_tunable_keys_with_numeric_ranges():
    assert parse_params(["max_contracts=5:50", "sizing.kelly.kelly_multiplier=0.1:1"]) == {
        "max_contracts": (5.0, 50.0), "sizing.kelly.kelly_multiplier": (0.1, 1.0)}
    for bad, words in (("max_contracts", "KEY=LO:HI"), ("seed=1:2", "not a live-tunable key"),
                       ("max_contracts=a:b", "must be numbers"), ("max_contracts=9:1", "LO ≤ HI"),
                       ("max_contracts=1:inf", "must be finite"), ("max_contracts=nan:2", "must be finite")):
        with pytest.raises(TuneError, match=words):
            parse_params([bad])


def test_one_key_is_an_even_grid_and_several_a_seeded_latin_hypercube():
    assert candidates({"max_contracts": (5.0, 50.0)}, 4) == [{"max_contracts": v} for v in (5.0, 20.0, 35.0, 50.0)]
    params = {"max_contracts": (5.0, 50.0), "sizing.kelly.kelly_multiplier": (0.1, 1.0)}
    points = candidates(params, 5)
    assert points == candidates(params, 5)                       # the same candidates every time
    for key, (lo, hi) in params.items():
        values = sorted(p[key] for p in points)
        assert all(lo <= v <= hi for v in values)
        width = (hi - lo) / 5
        assert [int((v - lo) // width) for v in values] == [0, 1, 2, 3, 4]   # one per stratum


def test_tune_ranks_replays_by_pnl_and_lists_refused_values(recorded):
    path, _ = recorded
    out = tune(str(path), {"max_contracts": (0.0, 20.0)}, 3)     # 0 contracts is outside max_contracts' range
    refused = [t for t in out["trials"] if "refused" in t]
    assert [t["values"] for t in refused] == [{"max_contracts": 0.0}] and "max_contracts" in refused[0]["refused"]
    ran = [t for t in out["trials"] if "refused" not in t]
    assert len(ran) == 2 and out["applied"] is False
    best = max(ran, key=lambda t: (t["pnl_micros"], -t["max_drawdown_micros"]))
    assert out["best"] == best and out["ranked"][0] == best["values"]
    assert all(t["pnl_micros"] == t["locked_in_micros"] + t["realised_micros"] for t in ran)


@pytest.mark.parametrize("text, words", [
    ("sizing = 5\n", "sizing"),
    ("[sizing]\nkelly = 3\n", "kelly"),
    ("x = 1979-05-27T07:32:00Z\n", "x"),
    ('min_profit = "abc"\n', "min_profit"),
])
def test_a_base_config_that_is_not_valid_is_refused_before_any_trial(tmp_path, capsys, text, words):
    """As `replay --config` refuses it: exit 2 naming the file and the setting. Before (CLI review,
    session 33): `sizing = 5` and `kelly = 3` ended in AttributeError/TypeError tracebacks, a TOML
    date in a JSON TypeError, and `min_profit = "abc"` exited 0 with every trial "refused"."""
    from arbbot.cli import main
    from tests.replay.test_format import _book, _header, _write
    rec = _write(tmp_path / "r.jsonl", _header(), _book(1_795_846_592_200))
    base = tmp_path / "base.toml"
    base.write_text(text)
    assert main(["tune", rec, "--param", "max_contracts=5:50", "--trials", "2", "--config", str(base),
                 "--jobs", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith(f"arbbot tune: {base}: ") and words in err, err


def test_rounded_candidates_stay_within_the_range_asked_for():
    """Candidates are rounded to their key's grid (µ$ here). Before (CLI review, session 33), a
    range narrower than the grid's step was rounded out of itself: 0.0000001:0.0000004 tried
    min_profit 0.0. Now the rounding is kept within the range, and a range holding no grid value
    is refused."""
    assert candidates(parse_params(["min_profit=0.0000011:0.0000034"]), 4) == [{"min_profit": 2e-06},
                                                                                 {"min_profit": 3e-06}]
    with pytest.raises(TuneError, match="no value within the range on min_profit's grid"):
        parse_params(["min_profit=0.0000001:0.0000004"])
    # decimal bounds: 65.9 × 10^6 is 65,900,000.00000001 in binary, 32.3 × 10^6 just under 32,300,000
    assert candidates(parse_params(["min_profit=65.9:65.9"]), 3) == [{"min_profit": 65.9}]
    assert candidates(parse_params(["sizing.exposure_manager.max_venue_usd=32.3:32.3"]), 2) == [
        {"sizing.exposure_manager.max_venue_usd": 32.3}]
    assert candidates({"min_profit": (65.9, 66.0)}, 3) == [{"min_profit": v} for v in (65.9, 65.95, 66.0)]
    for point in candidates(parse_params(["max_contracts=5.004:5.016", "sizing.kelly.kelly_multiplier=0.10001:0.1003"]), 9):
        assert 5.01 <= point["max_contracts"] <= 5.01 and 0.1001 <= point["sizing.kelly.kelly_multiplier"] <= 0.1003
