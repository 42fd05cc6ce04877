"""`arbbot report`: exact µ$ totals, days, lanes, venues, fill quality and drift from a real order
store; the CLI's errors; the self-contained HTML; equality with `arbbot run --json`'s summary."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from arbbot.cli import main
from arbbot.execution import OrderStore
from arbbot.ops.drift import DriftConfig, DriftMonitor
from arbbot.ops.reporting.build import build_report
from arbbot.ops.reporting.command import parse_since
from arbbot.ops.reporting.html import render_html
from arbbot.ops.reporting.load import read_store
from tests.risk.trades import Clock, complete_profitable, fill, two_leg_opportunity, unwound_losing_3_25, utc_s

BOT = [sys.executable, "-m", "arbbot.cli"]


@pytest.fixture
def clean(tmp_path, monkeypatch):
    """A clean cwd (no arbbot.toml, no kill file) and no ARB_* variables."""
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("ARB_")]:
        monkeypatch.delenv(var)
    return tmp_path


def _store_with_history(path, clock: Clock) -> None:
    """Day 1 (2026-03-10): c1 complete (+$0.71), u1 unwound (−$3.25). Day 2: c2 complete with
    leg 0 filled 1¢ cheaper than planned (+$0.81), a1 aborted (nothing filled)."""
    store = OrderStore(str(path), clock_ms=clock.ms)
    complete_profitable(store, "c1")
    clock.t += 60
    unwound_losing_3_25(store, "u1")
    clock.t = utc_s("2026-03-11 09:00:00")
    store.create_execution("c2", two_leg_opportunity("opp-c2"))
    fill(store, "c2", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_100,
         fee=40_000)
    fill(store, "c2", 1, "entry", venue="polymarket", market_id="B", side="no", action="buy", qty=1_000, price=5_000,
         fee=50_000)
    store.set_execution_state("c2", "complete")
    store.create_execution("a1", two_leg_opportunity("opp-a1"))
    store.set_execution_state("a1", "aborted", "edge gone")
    store.close()


def test_totals_days_lanes_venues_and_fill_quality_are_exact(clean):
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    _store_with_history(clean / "o.db", clock)
    r = build_report(read_store(str(clean / "o.db")), drift_gap_micros=5_000_000)
    assert r["format"] == "arbbot.report/1"
    t = r["totals"]
    # c1: 10,000,000 − 9,290,000; c2: 10,000,000 − 9,190,000; u1: −3,250,000
    assert (t["locked_in_micros"], t["realised_micros"], t["pnl_micros"]) == (1_520_000, -3_250_000, -1_730_000)
    assert t["fees_micros"] == 90_000 + 70_000 + 90_000
    assert t["cash_flow_micros"] == -9_290_000 - 3_250_000 - 9_190_000
    assert t["executions"] == {"aborted": 1, "complete": 2, "unwound": 1}
    assert [(d["date"], d["locked_in_micros"], d["realised_micros"], d["fees_micros"], d["executions"])
            for d in r["days"]] == [("2026-03-10", 710_000, -3_250_000, 160_000, 2),
                                    ("2026-03-11", 810_000, 0, 90_000, 2)]
    assert r["lanes"]["cross"]["executions"] == {"aborted": 1, "complete": 2, "unwound": 1}
    assert r["venues"]["kalshi"] == {"fills": 4, "lots": 4_000, "volume_micros": 4_200_000 + 4_200_000 + 1_020_000
                                     + 4_100_000, "fees_micros": 150_000,
                                     "cash_flow_micros": -4_240_000 + 990_000 - 4_240_000 - 4_140_000}
    assert r["venue_sets"] == {"kalshi": {"executions": 1, "locked_in_micros": 0, "realised_micros": -3_250_000},
                               "kalshi+polymarket": {"executions": 2, "locked_in_micros": 1_520_000,
                                                     "realised_micros": 0}}
    q = r["fill_quality"]["entry"]
    assert (q["orders"], q["ordered_lots"], q["filled_lots"], q["fill_rate"]) == (5, 5_000, 5_000, 1.0)
    # c2's leg 0 paid 4,100 ticks vs the planned 4,200: −$0.10 over 5,000 filled lots = −20 ticks/lot
    assert (q["slippage_micros"], q["slippage_ticks_per_lot"]) == (-100_000, -20.0)
    kalshi = r["fill_quality"]["venues"]["kalshi"]                      # 3 entry orders, 3,000 lots
    assert (kalshi["slippage_micros"], kalshi["slippage_ticks_per_lot"]) == (-100_000, -33.3333)
    assert r["fill_quality"]["venues"]["polymarket"]["slippage_micros"] == 0
    assert r["fill_quality"]["unwind"] == {"orders": 1, "ordered_lots": 1_000, "filled_lots": 1_000,
                                           "fees_micros": 30_000}
    # drift: expected = planned $0.71 each (all lots traded), realised = the fills' PnL
    assert r["drift"]["lanes"] == {"cross": {"executions": 3, "expected_micros": 2_130_000,
                                             "realised_micros": -1_730_000, "gap_micros": 3_860_000}}
    assert r["pnl_series"][-1]["pnl_micros"] == -1_730_000 and r["pnl_series"][-1]["fees_micros"] == 250_000


def test_since_keeps_the_later_days(clean):
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    _store_with_history(clean / "o.db", clock)
    r = build_report(read_store(str(clean / "o.db")), parse_since("2026-03-11"))
    assert r["since"] == "2026-03-11"
    assert (r["totals"]["locked_in_micros"], r["totals"]["realised_micros"], r["totals"]["fees_micros"]) == \
        (810_000, 0, 90_000)
    assert [d["date"] for d in r["days"]] == ["2026-03-11"]


@pytest.mark.parametrize("since", ["0001-01-01", "1970-01-01"])
def test_since_is_echoed_as_given_even_at_the_ends_of_the_calendar(clean, since):
    """Before (CLI review, session 33): year 1 came back as "1-01-01" (strftime's %Y) and the epoch's
    first day as no date at all (0 ms taken for "no --since")."""
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    _store_with_history(clean / "o.db", clock)
    r = build_report(read_store(str(clean / "o.db")), parse_since(since))
    assert r["since"] == since and [d["date"] for d in r["days"]] == ["2026-03-10", "2026-03-11"]


def test_an_empty_html_file_name_is_refused(clean, capsys):
    """Before: `--html ""` exited 0 and printed the tables instead."""
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    _store_with_history(clean / "o.db", clock)
    assert main(["report", "--db", str(clean / "o.db"), "--html", ""]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "arbbot report: --html: expected a file name\n"


def test_drift_alerts_and_disabled_lanes_are_reported(clean):
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(str(clean / "o.db"), clock_ms=clock.ms)
    monitor = DriftMonitor(store, DriftConfig(min_executions=1, max_gap_micros=1_000_000), clock=clock)
    monitor.load()
    unwound_losing_3_25(store, "u1")
    from arbbot.execution import ExecutionResult
    monitor.on_result(ExecutionResult("u1", "unwound", "", store.leg_net("u1"), store.cash_flow("u1")),
                      two_leg_opportunity("opp-u1"))
    store.close()
    d = build_report(read_store(str(clean / "o.db")))["drift"]
    assert [(a["lane"], a["expected_micros"], a["realised_micros"], a["gap_micros"]) for a in d["alerts"]] == \
        [("cross", 710_000, -3_250_000, 3_960_000)]
    assert list(d["disabled_lanes"]) == ["cross"]


def test_cli_json_and_tables_read_only(clean, capsys):
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    _store_with_history(clean / "o.db", clock)
    before = hashlib.sha256((clean / "o.db").read_bytes()).hexdigest()
    assert main(["report", "--db", str(clean / "o.db"), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out)["totals"]["realised_micros"] == -3_250_000
    assert main(["report", "--db", str(clean / "o.db")]) == 0
    text = capsys.readouterr().out
    assert "Daily PnL" in text and "2026-03-11" in text and "-3.250000" in text and "Fill quality" in text
    assert hashlib.sha256((clean / "o.db").read_bytes()).hexdigest() == before       # never written


def test_cli_errors_exit_2_without_traceback(clean, capsys):
    assert main(["report", "--db", str(clean / "missing.db")]) == 2
    err = capsys.readouterr().err
    assert "no order store at" in err and "Traceback" not in err
    assert not (clean / "missing.db").exists()
    (clean / "junk.db").write_text("not sqlite")
    assert main(["report", "--db", str(clean / "junk.db")]) == 2
    assert "not a usable order store" in capsys.readouterr().err
    _store_with_history(clean / "o.db", Clock(utc_s("2026-03-10 10:00:00")))
    for bad in ("2026-3-x", "yesterday", "2026-02-30"):
        assert main(["report", "--db", str(clean / "o.db"), "--since", bad]) == 2
        assert "expected YYYY-MM-DD (UTC)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--json", "--html", "x.html"])                   # exclusive
    res = subprocess.run(BOT + ["report", "--db", str(clean / "missing.db")], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "no order store" in res.stderr


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = capsys.readouterr().out
    for option in ("--db", "--since", "--json", "--html", "YYYY-MM-DD", "read-only", "locked-in", "realised"):
        assert option in text


def test_html_is_one_self_contained_file_with_the_charts_data(clean, capsys):
    _store_with_history(clean / "o.db", Clock(utc_s("2026-03-10 10:00:00")))
    assert main(["report", "--db", str(clean / "o.db"), "--html", str(clean / "r.html")]) == 0
    page = (clean / "r.html").read_text()
    assert not re.search(r"https?:", page)                                # no URL at all
    assert not re.search(r"""(src|href)\s*=""", page, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert '<svg id="pnl-chart"' in page and '<svg id="drift-chart"' in page
    assert 'data-pnl-micros="-1730000"' in page and 'data-fees-micros="250000"' in page
    assert 'data-exp-micros="2130000"' in page and 'data-real-micros="-1730000"' in page
    data = re.search(r'<script type="application/json" id="arbbot-report">(.*?)</script>', page, re.S).group(1)
    embedded = json.loads(data)
    assert embedded["totals"]["locked_in_micros"] == 1_520_000
    assert [p["pnl_micros"] for p in embedded["pnl_series"]][-1] == -1_730_000


def test_an_empty_store_reports_zeros(clean):
    OrderStore(str(clean / "e.db")).close()
    r = build_report(read_store(str(clean / "e.db")))
    assert (r["totals"]["locked_in_micros"], r["totals"]["realised_micros"], r["totals"]["fees_micros"]) == (0, 0, 0)
    assert r["days"] == [] and r["fill_quality"]["entry"]["fill_rate"] is None
    assert "no executions" in render_html(r)


def test_report_totals_equal_the_run_summary_to_the_micro_dollar(clean):
    """A real `arbbot run` against the embedded simulator, then `arbbot report` on its store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    db = clean / "run.db"
    run = subprocess.run(BOT + ["run", "--duration", "15", "--json", "--db", str(db), "--metrics-port", "0",
                                "--no-dashboard"], cwd=clean, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    trading = json.loads(run.stdout.strip().splitlines()[-1])["trading"]
    assert sum(trading["executions"].values()) > 0, trading           # it traded
    rep = subprocess.run(BOT + ["report", "--db", str(db), "--json"], cwd=clean, env=env, capture_output=True,
                         text=True, timeout=120)
    assert rep.returncode == 0, rep.stderr
    totals = json.loads(rep.stdout)["totals"]
    assert totals["locked_in_micros"] == trading["locked_in_micros"]
    assert totals["realised_micros"] == trading["realised_micros"]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        assert totals["fees_micros"] == con.execute("SELECT COALESCE(SUM(fee), 0) FROM fills").fetchone()[0]
    assert isinstance(totals["fees_micros"], int) and isinstance(totals["locked_in_micros"], int)


def test_report_equals_the_summary_with_unwound_executions(tmp_path):
    """Every second order rejected (a simulator in its own process): legs fail, executions are
    unwound at a loss; the report's realised and locked-in still equal the summary's."""
    from tests.run.botproc import SimProcess, run_bot
    sim = SimProcess(tmp_path, seed=1, step=0.2, faults={"order_reject_every": 2})
    try:
        bot = run_bot(sim, tmp_path / "f.db", "--duration", "10", "--cooldown", "0.1", "--no-dashboard",
                      env={"ARB_BREAKER_FAILURES": "1000"})
    finally:
        sim.stop()
    assert bot.returncode == 0, bot.stderr[-3000:]
    trading = bot.summary["trading"]
    assert trading["executions"].get("unwound", 0) >= 1, trading
    totals = build_report(read_store(str(tmp_path / "f.db")))["totals"]
    assert (totals["locked_in_micros"], totals["realised_micros"]) == \
        (trading["locked_in_micros"], trading["realised_micros"])
    # the unwinds realised something: usually a loss (sold at the bid), a gain when the book rose
    # between the entry and the unwind (the simulator's books move; seen: +$2.86 on one execution)
    assert totals["realised_micros"] != 0


def test_a_long_pnl_series_is_thinned_to_what_the_chart_shows(clean):
    """200,000 points (a sawtooth PnL, fees rising): the page embeds at most 6 a pixel column, keeps
    the first and last points and every column's extremes (the global least and most PnL among
    them), says how many the series had, and stays under 1 MB; a short series is embedded whole."""
    from arbbot.ops.reporting.html import COLUMNS, thin
    _store_with_history(clean / "o.db", Clock(utc_s("2026-03-10 10:00:00")))
    report = build_report(read_store(str(clean / "o.db")))
    series = [{"ts_ms": 1_000 * k, "pnl_micros": (k % 997) * 1_000 - 400_000, "fees_micros": k * 10}
              for k in range(200_000)]
    page = render_html(dict(report, pnl_series=series))
    data = re.search(r'<script type="application/json" id="arbbot-report">(.*?)</script>', page, re.S).group(1)
    embedded = json.loads(data)
    kept = embedded["pnl_series"]
    assert len(page) < 1_000_000 and embedded["pnl_series_points"] == 200_000
    assert len(kept) <= 6 * COLUMNS and kept[0] == series[0] and kept[-1] == series[-1]
    assert [p["ts_ms"] for p in kept] == sorted(p["ts_ms"] for p in kept)
    assert min(p["pnl_micros"] for p in kept) == -400_000 and max(p["pnl_micros"] for p in kept) == 596_000
    assert thin(series[:4 * COLUMNS]) == series[:4 * COLUMNS]
    small = json.loads(re.search(r'id="arbbot-report">(.*?)</script>', render_html(report), re.S).group(1))
    assert "pnl_series_points" not in small and small["pnl_series"] == report["pnl_series"]


def test_venue_cash_moved_nets_pairs_across_executions(clean):
    """Two executions buy the two sides of one Kalshi market: 1,000 YES lots at 40¢ (fee $0.07) and
    1,000 NO lots at 55¢ (fee $0.05). Kalshi pays the 1,000 pairs back as $10.00 at once, so its
    cash moved +$0.38, while the executions' cash flow is −$9.62; on Polymarket the same two buys
    hold both tokens until redeemed: −$9.62 either way. Before, the report showed only the
    executions' cash flow per venue (reviewer's store: Kalshi −$259.19 vs −$157.19 moved)."""
    store = OrderStore(str(clean / "o.db"))
    for venue in ("kalshi", "polymarket"):
        for xid, side, price, fee in (("y", "yes", 4_000, 70_000), ("n", "no", 5_500, 50_000)):
            store.create_execution(f"{venue}-{xid}", two_leg_opportunity(f"opp-{venue}-{xid}"))
            fill(store, f"{venue}-{xid}", 0, "entry", venue=venue, market_id="M", side=side, action="buy",
                 qty=1_000, price=price, fee=fee)
    store.close()
    r = build_report(read_store(str(clean / "o.db")))
    assert r["venue_cash_moved_micros"] == {"kalshi": 380_000, "polymarket": -9_620_000}
    assert r["venues"]["kalshi"]["cash_flow_micros"] == r["venues"]["polymarket"]["cash_flow_micros"] == -9_620_000
    # the table shows both
    import io
    from rich.console import Console
    from arbbot.ops.reporting.tables import render
    out = io.StringIO()
    render(r, Console(file=out, width=250))
    assert "0.380000" in out.getvalue() and "-9.620000" in out.getvalue()


def test_the_venues_table_writes_contracts_exactly(clean):
    """123,456,789 lots are 1,234,567.89 contracts (`format_qty`), not `1.23457e+06` (`:g`)."""
    import io
    from rich.console import Console
    from arbbot.ops.reporting.tables import render
    store = OrderStore(str(clean / "o.db"))
    store.create_execution("x", two_leg_opportunity("opp-x"))
    fill(store, "x", 0, "entry", venue="kalshi", market_id="M", side="yes", action="buy", qty=123_456_789,
         price=4_000, fee=0)
    store.close()
    out = io.StringIO()
    render(build_report(read_store(str(clean / "o.db"))), Console(file=out, width=250))
    assert "1234567.89" in out.getvalue() and "e+06" not in out.getvalue()


def test_a_naked_executions_loss_is_realised_and_its_resolved_lots_pay_back(clean):
    """n1: leg 0 bought 1,000 YES A at 42¢ ($4.20 + $0.04 fee), leg 1 never filled: naked. Its
    loss was left out of the report (the status's daily loss had it), even once A resolved against
    it. Until A resolves its lots count for nothing, as the daily loss cap reads them; resolved YES
    they pay $10, resolved NO nothing."""
    from arbbot.model import Venue
    from arbbot.venues.common.model import Resolution
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(str(clean / "n.db"), clock_ms=clock.ms)
    complete_profitable(store, "c1")                                       # +$0.71 locked in
    store.create_execution("n1", two_leg_opportunity("opp-n1"))
    fill(store, "n1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    store.set_execution_state("n1", "naked", "leg 1 never filled")

    def totals():
        t = build_report(read_store(str(clean / "n.db")))["totals"]
        return t["locked_in_micros"], t["realised_micros"], t["pnl_micros"], t["executions"]
    assert totals() == (710_000, -4_240_000, 710_000 - 4_240_000, {"complete": 1, "naked": 1})
    assert store.daily_loss(0) == 4_240_000                               # the status's reading agrees
    store.record_resolution(Resolution(Venue.KALSHI, "A", "yes", 10_000, 0, paid=True))
    assert totals()[1] == 10_000_000 - 4_240_000                          # the lots won: $10 back
    store.close()


def test_a_damaged_value_is_a_clear_error_not_a_traceback(clean, capsys):
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    _store_with_history(clean / "d.db", clock)
    with sqlite3.connect(clean / "d.db") as db:
        db.execute("UPDATE fills SET qty = 'abc' WHERE rowid = 1")         # text where a quantity is
    assert main(["report", "--db", str(clean / "d.db"), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"arbbot report: {clean / 'd.db'}: a damaged order store (a value no arbbot writes: TypeError")
    assert "Traceback" not in err


def test_a_paper_database_says_so_in_the_report_and_the_status(clean, capsys):
    """A paper store (`arbbot run --paper`) looked like one that traded at the venues."""
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    for name, mode in (("p.db", "paper"), ("v.db", "venue")):
        store = OrderStore(str(clean / name), clock_ms=clock.ms)
        if mode == "paper":
            store.claim_trading_mode("paper")
        complete_profitable(store, "c1")
        store.close()
        assert build_report(read_store(str(clean / name)))["trading_mode"] == mode
        assert main(["status", "--db", str(clean / name), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["trading_mode"] == mode
    assert main(["report", "--db", str(clean / "p.db")]) == 0
    assert "(PAPER: no order was sent)" in capsys.readouterr().out
    OrderStore(str(clean / "e.db")).close()
    assert build_report(read_store(str(clean / "e.db")))["trading_mode"] is None
