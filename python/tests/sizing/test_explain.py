"""`arbbot explain SNAPSHOT`: every opportunity `arbbot scan` finds, all twelve steps, the
`arbbot.sizing/1` format, golden values computed by hand, and bad input → exit 2."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from arbbot.cli import main
from arbbot.sizing.types import ORDER

# the bundled copies of ../shared/examples (identical: tests/engine/test_examples_synced.py)
BUNDLED = Path(__file__).resolve().parents[2] / "arbbot" / "examples"
SNAPSHOTS = sorted(BUNDLED.glob("*.snapshot.json"))
STEPS = [s.label for s in ORDER]
QTY = re.compile(r"0|[1-9]\d*(\.\d*[1-9])?|0\.\d*[1-9]")
MONEY = re.compile(r"-?\d+\.\d{6}")
CAP = re.compile(r"-?(0|[1-9]\d*)(\.\d{0,5}[1-9])?")


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def explain_json(capsys, *argv) -> dict:
    code, out, err = run(capsys, *argv, "--json", "--engine", "python")
    assert code == 0, err
    assert out.endswith("\n") and out.count("\n") == 1
    doc = json.loads(out)
    assert out == json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"    # compact, keys in order
    return doc


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_swift_and_python_explain_identically(path, capsys):
    """--engine picks the scan and the sizing chain (ARB_ENGINE_EVAL's component) alike."""
    outputs = []
    for engine in ("swift", "python"):
        code, out, err = run(capsys, str(path), "--json", "--engine", engine)
        assert code == 0, err
        outputs.append(out)
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["opportunities"]


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_every_opportunity_lists_all_twelve_steps(path, capsys):
    assert main(["scan", str(path), "--json", "--engine", "python"]) == 0
    scanned = json.loads(capsys.readouterr().out)["opportunities"]
    doc = explain_json(capsys, str(path))
    assert doc["format"] == "arbbot.sizing/1"
    assert [o["id"] for o in doc["opportunities"]] == [o["id"] for o in scanned]        # scan output order
    for o, s in zip(doc["opportunities"], scanned):
        assert list(o)[:6] == ["id", "lane", "engine_qty", "final_qty", "profit", "bound_by"]
        assert list(o)[-1] == "steps" and set(o) - {"note"} == {"id", "lane", "engine_qty", "final_qty", "profit",
                                                                "bound_by", "steps"}
        assert (o["lane"], o["engine_qty"]) == (s["lane"], s["qty"])
        assert QTY.fullmatch(o["final_qty"]) and MONEY.fullmatch(o["profit"])
        assert [st["step"] for st in o["steps"]] == STEPS
        qty, rejected, lowered = float(o["engine_qty"]), None, None
        for st in o["steps"]:
            assert list(st) in (["step", "qty", "note"], ["step", "qty", "cap", "note"])
            assert QTY.fullmatch(st["qty"]) and float(st["qty"]) <= qty
            if "cap" in st:
                assert CAP.fullmatch(st["cap"]) or MONEY.fullmatch(st["cap"])
            if rejected:
                assert st == {"step": st["step"], "qty": "0", "note": f"skipped: rejected by {rejected}"}
            elif st["qty"] == "0":
                rejected = st["step"]
            if float(st["qty"]) < qty:
                lowered = st["step"]
            qty = float(st["qty"])
        assert float(o["final_qty"]) <= qty
        if o["final_qty"] == "0":
            assert o["profit"] == "0.000000" and "note" in o
        if o["bound_by"] == "re-price":           # only a trade the final re-price dropped
            assert o["note"].startswith("re-price: no quantity") and o["final_qty"] == "0"
        else:
            assert o["bound_by"] == (lowered or "engine")


def test_golden_fed_december(capsys):
    # fresh portfolio: $10,000 over kalshi, polymarket (file order) → $5,000 each; priors; T from taken_at
    doc = explain_json(capsys, str(BUNDLED / "fed-december.snapshot.json"))
    cross, bucket = doc["opportunities"]
    assert (cross["id"], cross["lane"], cross["engine_qty"]) == ("9d5a7c7a8d2b7015", "cross", "250")
    steps = {s["step"]: s for s in cross["steps"]}
    # step 1: leg 2 (Polymarket, batch 2 at t = 0.05 + 0.15 s) holds 250 contracts: 250 × exp(−0.5 × 0.2)
    assert steps["execution_model"]["cap"] == f"{round(250 * math.exp(-0.1), 6)}" == "226.209355"
    assert steps["execution_model"]["qty"] == "226"
    # step 9: five lanes at the Sharpe floor → w = 1/5 of E = $10,000
    assert steps["lane_allocator"]["cap"] == "2000.000000"
    # step 10: c = 0.97 (the relation's confidence): budget = min(25 × 0.97², 50) = $23.5225
    assert steps["loss_cap"]["cap"] == "23.522500"
    # step 11: every room is at its limit; the market's $500 is the smallest
    assert steps["exposure_manager"]["cap"] == "500.000000"
    assert "note" not in cross or not cross["note"].startswith("re-price")
    # the bucket (one venue, c = 1, f = 1): L = 0, Kelly's bound is the equity
    assert bucket["lane"] == "bucket"
    assert {s["step"]: s for s in bucket["steps"]}["kelly"]["cap"] == "10000.000000"


def test_golden_intra_stale_books(capsys):
    # one Polymarket market, YES and NO, 220 contracts; step 1: 220 × exp(−0.5 × 0.05) = 214.568181 → 214.56
    doc = explain_json(capsys, str(BUNDLED / "stale-books.snapshot.json"))
    intra = doc["opportunities"][0]
    assert (intra["engine_qty"], intra["final_qty"], intra["bound_by"]) == ("220", "214.56", "execution_model")
    assert intra["steps"][1]["cap"] == "214.568181"
    # step 11: fresh cash over the snapshot's venues in file order (3 venues: the first gets the remainder)
    assert "venue polymarket 3333.33333" in intra["steps"][10]["note"]


def test_bankroll_and_id_options(capsys):
    path = str(BUNDLED / "fed-december.snapshot.json")
    doc = explain_json(capsys, path, "--bankroll", "1000", "--id", "9d5a7c7a8d2b7015")
    [o] = doc["opportunities"]
    assert {s["step"]: s for s in o["steps"]}["lane_allocator"]["cap"] == "200.000000"     # $1,000 / 5
    code, out, err = run(capsys, path, "--id", "0000000000000000")
    assert code == 2 and "no opportunity 0000000000000000" in err


def test_all_steps_disabled_gives_the_engine_quantity(tmp_path, capsys):
    config = tmp_path / "arbbot.toml"
    config.write_text("".join(f"[sizing.{s}]\nenabled = false\n" for s in STEPS))
    doc = explain_json(capsys, str(BUNDLED / "fed-december.snapshot.json"), "--config", str(config))
    for o in doc["opportunities"]:
        assert o["final_qty"] == o["engine_qty"] and o["bound_by"] == "engine"
        assert all(s["note"] == "disabled" for s in o["steps"])
        assert all("cap" not in s for s in o["steps"])


FED = str(BUNDLED / "fed-december.snapshot.json")
CROSS_ID, BUCKET_ID = "9d5a7c7a8d2b7015", "9ce3844666707fe7"      # q0 250 ($4.328), q0 80 ($2.65)
ALL_DISABLED = "".join(f"[sizing.{s}]\nenabled = false\n" for s in STEPS)


@pytest.mark.parametrize("engine", ["swift", "python"])
def test_config_min_profit_overrides_the_snapshot_for_the_scan_and_the_sizing(tmp_path, capsys, engine):
    # SIZING.md keys table: `explain --config` overrides the snapshot's params.min_profit ($0.01),
    # for the engine's scan as well as the sizing: one min_profit
    config = tmp_path / "arbbot.toml"
    config.write_text("min_profit = 1000.0\n")
    code, out, err = run(capsys, FED, "--config", str(config), "--json", "--engine", engine)
    assert code == 0 and json.loads(out)["opportunities"] == [], err
    # the bucket makes $2.65 at its q0 = 80: not an opportunity at $3 …
    config.write_text("min_profit = 3.0\n" + ALL_DISABLED)
    code, out, err = run(capsys, FED, "--config", str(config), "--json", "--engine", engine)
    assert code == 0, err
    [cross] = json.loads(out)["opportunities"]
    assert (cross["id"], cross["final_qty"], cross["engine_qty"]) == (CROSS_ID, "250", "250")
    # … one at $2: all twelve steps disabled → the final size is q0 exactly
    config.write_text("min_profit = 2.0\n" + ALL_DISABLED)
    code, out, err = run(capsys, FED, "--config", str(config), "--json", "--engine", engine)
    assert code == 0, err
    cross, bucket = json.loads(out)["opportunities"]
    assert (bucket["id"], bucket["engine_qty"], bucket["final_qty"]) == (BUCKET_ID, "80", "80")
    assert (bucket["profit"], bucket["bound_by"]) == ("2.650000", "engine")
    # without min_profit in the file the snapshot's $0.01 stays
    config.write_text(ALL_DISABLED)
    doc = explain_json(capsys, FED, "--config", str(config))
    assert [o["final_qty"] for o in doc["opportunities"]] == ["250", "80"]


@pytest.mark.parametrize("engine", ["swift", "python"])
def test_empty_lanes_reject_every_opportunity_at_the_lane_allocator(tmp_path, capsys, engine):
    config = tmp_path / "arbbot.toml"
    config.write_text("[sizing.lane_allocator]\nlanes = []\n")
    code, out, err = run(capsys, FED, "--config", str(config), "--json", "--engine", engine)
    assert code == 0 and "Traceback" not in err, err
    doc = json.loads(out)
    assert [o["id"] for o in doc["opportunities"]] == [CROSS_ID, BUCKET_ID]
    for o in doc["opportunities"]:
        assert (o["final_qty"], o["bound_by"], o["profit"]) == ("0", "lane_allocator", "0.000000")
        steps = {s["step"]: s for s in o["steps"]}
        assert steps["lane_allocator"]["qty"] == "0" and "cap" not in steps["lane_allocator"]
        assert steps["kelly"]["qty"] != "0"                              # the chain before it kept a size
        assert steps["loss_cap"]["note"] == "skipped: rejected by lane_allocator"
    # the step disabled: it does not change the quantity (and nothing divides by zero)
    config.write_text("[sizing.lane_allocator]\nlanes = []\nenabled = false\n")
    code, out, err = run(capsys, FED, "--config", str(config), "--json", "--engine", engine)
    assert code == 0, err
    for o in json.loads(out)["opportunities"]:
        step = {s["step"]: s for s in o["steps"]}["lane_allocator"]
        assert step["note"] == "disabled" and step["qty"] != "0" and o["final_qty"] != "0"


@pytest.mark.parametrize("toml, message", [
    ("[sizing.lane_allocator]\nlanes = [\"cross\", \"cross\"]\n", "sizing.lane_allocator.lanes: "),
    ("[sizing.lane_allocator]\nlanes = [\"hedge\"]\n", "sizing.lane_allocator.lanes.0: "),
    ("[sizing.monte_carlo]\npaths = 20000000\n", "sizing.monte_carlo.paths: 20000000 is outside [1, 10000000]"),
    ("[sizing]\nleg_latency_s = 2000000\n", "sizing.leg_latency_s: 2000000 is outside (0, 1000000]"),
    ("[sizing.monte_carlo]\ndrift = 2000000.0\n", "sizing.monte_carlo.drift: 2000000 is outside "
                                                   "[-1000000, 1000000]"),
    ("[sizing.robust_inputs]\nprice_vol = 2e6\n", "sizing.robust_inputs.price_vol: 2000000 is outside "
                                                   "(0, 1000000]"),
    ("[sizing.fee_model.extras.kalshi]\nper_order_usd = 1e12\n",
     "sizing.fee_model.extras.kalshi.per_order_usd: 1000000000000 is outside [0, 1000000]"),
    ("min_profit = 1e300\n", "min_profit: Input should be less than or equal to 9223372036854"),
])
def test_config_values_the_engine_cannot_take_exit_2_naming_the_key(tmp_path, capsys, toml, message):
    config = tmp_path / "arbbot.toml"
    config.write_text(toml)
    code, out, err = run(capsys, FED, "--config", str(config))
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(f"arbbot explain: {config}: {message}"), err


def test_table_output(capsys):
    code, out, _ = run(capsys, str(BUNDLED / "fed-december.snapshot.json"), "--engine", "python")
    assert code == 0 and "9d5a7c7a8d2b7015" in out and all(step in out for step in STEPS)


@pytest.mark.parametrize("change, message", [
    (lambda s: s["markets"][1].update(closes_at="2026-12-09 19:00"), "markets[1].closes_at: closes_at"),
    (lambda s: s["markets"][0].update(event=7), "markets[0].event: expected a string"),
    (lambda s: s.update(taken_at="yesterday"), 'taken_at: taken_at "yesterday" is not YYYY-MM-DDTHH:MM:SSZ'),
    (lambda s: s["markets"][0].update(venue="nyse"), "markets[0].venue: unknown venue"),
])
def test_bad_snapshots_exit_2_with_the_json_path(tmp_path, capsys, change, message):
    snap = json.loads((BUNDLED / "fed-december.snapshot.json").read_text())
    change(snap)
    path = tmp_path / "bad.snapshot.json"
    path.write_text(json.dumps(snap))
    code, out, err = run(capsys, str(path))
    assert code == 2 and out == "" and err.startswith(message) and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["missing.json"], "$: cannot read missing.json"),
    ([str(BUNDLED / "fed-december.snapshot.json"), "--bankroll", "-5"], "arbbot explain: --bankroll '-5'"),
    ([str(BUNDLED / "fed-december.snapshot.json"), "--bankroll", "lots"], "arbbot explain: --bankroll 'lots'"),
    # past what equity (µ$ in an int64) holds: was a traceback (OverflowError)
    ([str(BUNDLED / "fed-december.snapshot.json"), "--bankroll", "1e303"],
     "arbbot explain: --bankroll '1e303' is above $9,223,372,036,854"),
    ([str(BUNDLED / "fed-december.snapshot.json"), "--config", "nope.toml"], "arbbot explain: cannot read nope.toml"),
    (["--execution", "x1"], "arbbot explain: --execution needs --db"),
    ([], "arbbot explain: give a snapshot file"),
    (["--db", "nowhere.db"], "arbbot explain: no order store at nowhere.db"),
])
def test_bad_arguments_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.startswith(message) and "Traceback" not in err


def test_a_removed_setting_in_the_config_names_its_new_key(tmp_path, capsys):
    config = tmp_path / "arbbot.toml"
    config.write_text("max_exposure_per_market_usd = 100\n")
    code, _, err = run(capsys, str(BUNDLED / "fed-december.snapshot.json"), "--config", str(config))
    assert code == 2 and "set sizing.exposure_manager.max_market_usd instead" in err


def test_the_config_file_is_read_alone(tmp_path, monkeypatch, capsys):
    # neither the environment nor an arbbot.toml in the working directory leaks into --config
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARB_MIN_PROFIT", "1000")
    (tmp_path / "arbbot.toml").write_text("min_profit = 1000.0\n")
    config = tmp_path / "explain.toml"
    config.write_text("[sizing.kelly]\nkelly_multiplier = 1.0\n")
    doc = explain_json(capsys, str(BUNDLED / "fed-december.snapshot.json"), "--config", str(config))
    assert doc["opportunities"][0]["final_qty"] != "0"


def test_a_re_price_that_steps_down_keeps_the_step_that_bound_and_says_so_in_the_note(tmp_path, capsys):
    """SIZING.md: `bound_by` is the last step that lowered the quantity, "re-price" only when the
    final re-price dropped the trade. The cross trade buys YES K at $0.50 (fee 0.01 × p(1 − p),
    rounded up to 1¢ an order) and NO P at $0.495; K's $2.53 room caps it at 5 contracts. At 5 the
    profit is 5 − 4.975 − ceil(0.0125 → $0.02) = $0.005 < min_profit $0.01; at 4 it is
    4 − 3.98 − $0.01 = $0.01: the re-price steps down to 4 and the note says so."""
    snap = {"format": "arbbot.snapshot/1", "taken_at": "2026-11-20T15:00:00Z",
            "params": {"max_qty": "1000", "min_profit": "0.01"},
            "markets": [
                {"venue": "kalshi", "id": "K", "fees": {"taker_rate": "0.01", "rounding": "0.01"}, "lot": "1",
                 "book": {"yes_bids": [["0.4000", "1000"]], "no_bids": [["0.5000", "1000"]]},
                 "closes_at": "2026-11-21T15:00:00Z"},
                {"venue": "polymarket", "id": "P", "fees": {"taker_rate": "0", "rounding": "0.00001"}, "lot": "1",
                 "book": {"yes_bids": [["0.49", "1000"]], "yes_asks": [["0.51", "1000"]],
                          "no_bids": [["0.485", "1000"]], "no_asks": [["0.495", "1000"]]},
                 "closes_at": "2026-11-21T15:00:00Z"}],
            "relations": [{"kind": "same", "a": "kalshi:K", "b": "polymarket:P"}]}
    path, cfg = tmp_path / "s.json", tmp_path / "c.toml"
    path.write_text(json.dumps(snap))
    cfg.write_text("[sizing.exposure_manager]\nmax_market_usd = 2.53\n")
    (o,) = explain_json(capsys, str(path), "--config", str(cfg))["opportunities"]
    steps = {s["step"]: s for s in o["steps"]}
    assert steps["exposure_manager"]["qty"] == steps["drawdown_manager"]["qty"] == "5"
    assert (o["final_qty"], o["profit"], o["bound_by"]) == ("4", "0.010000", "exposure_manager")
    assert o["note"] == "re-price stepped down from 5 to 4 contracts"
