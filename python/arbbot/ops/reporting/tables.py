"""`arbbot report` for a terminal: rich tables of the `arbbot.report/1` object (dollars shown
with 6 decimals, exact from the µ$ integers)."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arbbot.units import format_money, format_qty


def _e(value) -> str:
    """Text from the store or the command line (a path, a venue, a reason) as rich shows it
    literally: never read as markup (`[/bold]` in a path would end the run with an error)."""
    return escape(str(value))


def _usd(micros: int | None) -> str:
    if micros is None:
        return "-"
    text = format_money(micros)
    return f"[red]{text}[/red]" if micros < 0 else text


def _table(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


def _ms(p: dict | None) -> list[str]:
    return ["-"] * 5 if p is None else [f"{p['p50']:g}", f"{p['p90']:g}", f"{p['p99']:g}", f"{p['max']:g}", str(p["n"])]


def render(report: dict, console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else 140)
    t = report["totals"]
    since = f" since {report['since']}" if report["since"] else ""
    paper = " [bold yellow](PAPER: no order was sent)[/bold yellow]" if report.get("trading_mode") == "paper" else ""
    console.print(f"[bold]arbbot report[/bold]: {_e(report['db'])}{_e(since)}{paper} — executions "
                  + (_e(", ".join(f"{k} {v}" for k, v in t["executions"].items())) or "none"))
    tot = _table("Totals ($)", "locked-in", "realised", "PnL", "fees", "expected", "cash flow", "volume", "fills")
    tot.add_row(_usd(t["locked_in_micros"]), _usd(t["realised_micros"]), _usd(t["pnl_micros"]),
                _usd(t["fees_micros"]), _usd(t["expected_micros"]), _usd(t["cash_flow_micros"]),
                _usd(t["volume_micros"]), str(t["fills"]))
    console.print(tot)

    days = _table("Daily PnL, UTC ($)", "day", "executions", "locked-in", "realised", "PnL", "fees")
    for d in report["days"]:
        days.add_row(_e(d["date"]), str(d["executions"]), _usd(d["locked_in_micros"]), _usd(d["realised_micros"]),
                     _usd(d["pnl_micros"]), _usd(d["fees_micros"]))
        for lane, v in d["lanes"].items():
            days.add_row(f"  {_e(lane)}", "", _usd(v["locked_in_micros"]), _usd(v["realised_micros"]),
                         _usd(v["pnl_micros"]), _usd(v["fees_micros"]))
    console.print(days)

    lanes = _table("Lanes: PnL and drift (expected vs realised, $)", "lane", "executions", "locked-in", "realised",
                   "fees", "drift n", "expected", "realised PnL", "gap")
    drift = report["drift"]
    for lane, v in report["lanes"].items():
        d = drift["lanes"].get(lane)
        lanes.add_row(_e(lane) + (" [red](disabled)[/red]" if lane in drift["disabled_lanes"] else ""),
                      _e(", ".join(f"{k} {n}" for k, n in v["executions"].items())) or "-",
                      _usd(v["locked_in_micros"]), _usd(v["realised_micros"]), _usd(v["fees_micros"]),
                      str(d["executions"]) if d else "0", _usd(d["expected_micros"] if d else 0),
                      _usd(d["realised_micros"] if d else 0), _usd(d["gap_micros"] if d else 0))
    console.print(lanes)
    for a in drift["alerts"]:
        console.print(f"[yellow]drift alert[/yellow] {_e(a.get('lane'))}: expected "
                      f"${format_money(a.get('expected_micros', 0))}, realised "
                      f"${format_money(a.get('realised_micros', 0))} over {_e(a.get('executions'))} executions")
    for lane, reason in drift["disabled_lanes"].items():
        console.print(f"[red]lane {_e(lane)} disabled[/red]: {_e(reason)}")

    venues = _table("Venues ($)", "venue", "fills", "contracts", "volume", "fees", "executions' cash flow",
                    "venue cash moved (all time)")
    moved = report["venue_cash_moved_micros"]
    for name, v in report["venues"].items():
        venues.add_row(_e(name), str(v["fills"]), format_qty(v["lots"]), _usd(v["volume_micros"]),
                       _usd(v["fees_micros"]), _usd(v["cash_flow_micros"]), _usd(moved[name]) if name in moved else "-")
    console.print(venues)
    sets = _table("PnL by venues traded ($)", "venues", "executions", "locked-in", "realised")
    for name, v in report["venue_sets"].items():
        sets.add_row(_e(name), str(v["executions"]), _usd(v["locked_in_micros"]), _usd(v["realised_micros"]))
    console.print(sets)

    fq = report["fill_quality"]
    q = _table("Fill quality (entry orders; slippage vs the planned leg, + = paid more)", "", "orders",
               "fill rate", "filled / ordered lots", "slippage $", "ticks/lot", "fee slippage $", "inside limit $")
    for name, v in [("all", fq["entry"])] + [(f"venue {k}", v) for k, v in fq["venues"].items()] + \
                   [(f"lane {k}", v) for k, v in fq["lanes"].items()]:
        q.add_row(_e(name), str(v["orders"]), "-" if v["fill_rate"] is None else f"{v['fill_rate']:.1%}",
                  f"{v['filled_lots']} / {v['ordered_lots']}", _usd(v["slippage_micros"]),
                  "-" if v["slippage_ticks_per_lot"] is None else f"{v['slippage_ticks_per_lot']:g}",
                  _usd(v["fee_slippage_micros"]), _usd(v["limit_improvement_micros"]))
    console.print(q)
    u = fq["unwind"]
    if u["orders"]:
        console.print(f"unwind orders: {u['orders']}, filled {u['filled_lots']} / {u['ordered_lots']} lots, "
                      f"fees ${format_money(u['fees_micros'])}")

    lat = _table("Latency (ms)", "what", "p50", "p90", "p99", "max", "n")
    for key, label in (("order_round_trip_ms", "order round trip"), ("intent_to_answer_ms", "intent → answer"),
                       ("execution_ms", "execution")):
        for name, p in report["latency"][key].items():
            lat.add_row(f"{label} {_e(name)}", *_ms(p))
    console.print(lat)
