"""`arbbot report --html FILE`: ONE self-contained HTML file — inline CSS, inline SVG charts drawn
here, the report JSON embedded (`<script type="application/json" id="arbbot-report">`, data only),
no executable script, no external URL, no font or image to fetch. Charts: cumulative PnL and fees over time;
expected vs realised per lane. Amounts shown in dollars from exact µ$ integers.

A long history's PnL series (one point per execution or fill: 600,000 for a year of 200,000
executions) is thinned to what the chart can show (`thin`: per pixel column its first and last
points and its extremes), in the chart and in the embedded JSON, which then says how many points
the full series had (`pnl_series_points`; `arbbot report --json` has them all)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from html import escape

from arbbot.units import format_money

W, H, PAD = 760, 260, 48          # chart size and left/bottom padding, px

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#fafbfc}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;background:#fff}
th,td{border:1px solid #d5dae1;padding:3px 8px;text-align:right}th{background:#eef1f5}
td:first-child,th:first-child{text-align:left}.neg{color:#b42318}.muted{color:#667085}
svg{background:#fff;border:1px solid #d5dae1}.axis{stroke:#98a2b3}.grid{stroke:#eaecf0}
.pnl{fill:none;stroke:#1570ef;stroke-width:2}.fees{fill:none;stroke:#f79009;stroke-width:2}
.exp{fill:#98a2b3}.real{fill:#12b76a}.realneg{fill:#f04438}
text{font-size:11px;fill:#475467}
"""


def _usd(micros) -> str:
    if micros is None:
        return "-"
    cls = ' class="neg"' if micros < 0 else ""
    return f"<span{cls}>{format_money(micros)}</span>"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) * (b - a) / span


COLUMNS = W - PAD - 12               # the PnL chart's plot width, px


def thin(series: list[dict], columns: int = COLUMNS) -> list[dict]:
    """The points of a time-ordered PnL series a chart `columns` pixels wide can show: per column
    (equal slices of the time span) its first and last points and those with the least and most
    PnL and fees, in order (at most 6 a column); the series itself when it has no more than 4 a
    column."""
    if len(series) <= 4 * columns:
        return series
    t0, span = series[0]["ts_ms"], max(1, series[-1]["ts_ms"] - series[0]["ts_ms"])
    out: list[dict] = []
    start = 0
    column = 0
    for k, p in enumerate(series):
        c = min(columns - 1, (p["ts_ms"] - t0) * columns // span)
        if c != column:
            out += _column_points(series, start, k)
            start, column = k, c
    return out + _column_points(series, start, len(series))


def _column_points(series: list[dict], a: int, b: int) -> list[dict]:
    """Of series[a:b]: the first, the last, and those with the least and most PnL and fees, in order."""
    if a >= b:
        return []
    keep = {a, b - 1}
    for key in ("pnl_micros", "fees_micros"):
        keep.add(min(range(a, b), key=lambda k: series[k][key]))
        keep.add(max(range(a, b), key=lambda k: series[k][key]))
    return [series[k] for k in sorted(keep)]


def pnl_chart(series: list[dict]) -> str:
    """Cumulative PnL (locked-in + realised) and cumulative fees, $, against time (UTC)."""
    if not series:
        return '<p class="muted">no executions or fills in the period</p>'
    ts = [p["ts_ms"] for p in series]
    vals = [p["pnl_micros"] for p in series] + [p["fees_micros"] for p in series] + [0]
    x = _scale(min(ts), max(ts) if max(ts) > min(ts) else min(ts) + 1, PAD, W - 12)
    y = _scale(min(vals), max(vals) if max(vals) > min(vals) else min(vals) + 1, H - PAD, 12)
    out = [f'<svg id="pnl-chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="cumulative PnL and fees over time">']
    for v in sorted({min(vals), 0, max(vals)}):
        out.append(f'<line class="grid" x1="{PAD}" x2="{W - 12}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
                   f'<text x="4" y="{y(v) + 4:.1f}">{format_money(v, trim=True)}</text>')
    out.append(f'<line class="axis" x1="{PAD}" x2="{PAD}" y1="12" y2="{H - PAD}"/>')
    for t, anchor in ((min(ts), "start"), (max(ts), "end")):
        label = datetime.fromtimestamp(t / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        out.append(f'<text x="{x(t):.1f}" y="{H - PAD + 16}" text-anchor="{anchor}">{label} UTC</text>')
    for key, cls in (("pnl_micros", "pnl"), ("fees_micros", "fees")):
        pts = " ".join(f"{x(p['ts_ms']):.1f},{y(p[key]):.1f}" for p in series)
        out.append(f'<polyline class="{cls}" points="{pts}"/>')
    last = series[-1]
    out.append(f'<circle cx="{x(last["ts_ms"]):.1f}" cy="{y(last["pnl_micros"]):.1f}" r="3" fill="#1570ef" '
               f'data-pnl-micros="{last["pnl_micros"]}" data-fees-micros="{last["fees_micros"]}">'
               f'<title>PnL ${format_money(last["pnl_micros"])}, fees ${format_money(last["fees_micros"])}</title>'
               '</circle>')
    out.append(f'<text x="{PAD + 8}" y="{H - 10}">— cumulative PnL (locked-in + realised)</text>'
               f'<text x="{PAD + 300}" y="{H - 10}" style="fill:#f79009">— cumulative fees</text></svg>')
    return "".join(out)


def drift_chart(lanes: dict[str, dict]) -> str:
    """Per lane, expected (grey) vs realised (green / red) PnL bars, $."""
    if not lanes:
        return '<p class="muted">no finished executions in the period</p>'
    vals = [0] + [v["expected_micros"] for v in lanes.values()] + [v["realised_micros"] for v in lanes.values()]
    y = _scale(min(vals), max(vals) if max(vals) > min(vals) else 1, H - PAD, 12)
    slot = (W - PAD - 12) / len(lanes)
    bar = min(40.0, slot / 3)
    out = [f'<svg id="drift-chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="expected vs realised PnL per lane">',
           f'<line class="axis" x1="{PAD}" x2="{W - 12}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>']
    for v in sorted({min(vals), max(vals)}):
        out.append(f'<text x="4" y="{y(v) + 4:.1f}">{format_money(v, trim=True)}</text>')
    for i, (lane, v) in enumerate(lanes.items()):
        x0 = PAD + i * slot + slot / 2 - bar
        for j, (key, cls) in enumerate((("expected_micros", "exp"), ("realised_micros", "real"))):
            amount = v[key]
            top, bottom = sorted((y(amount), y(0)))
            c = "realneg" if cls == "real" and amount < 0 else cls
            out.append(f'<rect class="{c}" x="{x0 + j * bar:.1f}" y="{top:.1f}" width="{bar - 2:.1f}" '
                       f'height="{max(bottom - top, 1):.1f}" data-lane="{escape(lane)}" data-{cls}-micros="{amount}">'
                       f'<title>{escape(lane)} {key.split("_")[0]} ${format_money(amount)}</title></rect>')
        out.append(f'<text x="{x0 + bar:.1f}" y="{H - PAD + 16}" text-anchor="middle">{escape(lane)}</text>')
    out.append(f'<text x="{PAD + 8}" y="{H - 10}">grey: expected (planned)  green/red: realised</text></svg>')
    return "".join(out)


def _pct_row(label: str, p: dict | None) -> list[str]:
    if p is None:
        return [escape(label), "-", "-", "-", "-", "0"]
    return [escape(label)] + [f"{p[k]:g}" for k in ("p50", "p90", "p99", "max")] + [str(p["n"])]


def render_html(report: dict) -> str:
    t, drift, fq = report["totals"], report["drift"], report["fill_quality"]
    series = thin(report["pnl_series"])
    if len(series) < len(report["pnl_series"]):
        report = dict(report, pnl_series=series, pnl_series_points=len(report["pnl_series"]))
    since = f" since {report['since']}" if report["since"] else ""
    paper = " (PAPER: no order was sent)" if report.get("trading_mode") == "paper" else ""
    parts = [f"<h1>arbbot report{escape(since)}{paper}</h1><p class=\"muted\">{escape(str(report['db']))}</p>",
             _table(["locked-in $", "realised $", "PnL $", "fees $", "expected $", "cash flow $", "volume $",
                     "executions"],
                    [[_usd(t["locked_in_micros"]), _usd(t["realised_micros"]), _usd(t["pnl_micros"]),
                      _usd(t["fees_micros"]), _usd(t["expected_micros"]), _usd(t["cash_flow_micros"]),
                      _usd(t["volume_micros"]), escape(", ".join(f"{k} {v}" for k, v in t["executions"].items()))]]),
             "<h2>Cumulative PnL</h2>", pnl_chart(series),
             "<h2>Expected vs realised per lane (drift)</h2>", drift_chart(drift["lanes"]),
             _table(["lane", "executions", "expected $", "realised $", "gap $"],
                    [[escape(k), str(v["executions"]), _usd(v["expected_micros"]), _usd(v["realised_micros"]),
                      _usd(v["gap_micros"])] for k, v in drift["lanes"].items()])]
    for a in drift["alerts"]:
        parts.append(f"<p class=\"neg\">drift alert {escape(str(a.get('lane')))}: expected "
                     f"${format_money(a.get('expected_micros', 0))}, realised ${format_money(a.get('realised_micros', 0))}"
                     f" over {escape(str(a.get('executions')))} executions</p>")
    for lane, reason in drift["disabled_lanes"].items():
        parts.append(f"<p class=\"neg\">lane {escape(lane)} disabled: {escape(reason)}</p>")
    parts += ["<h2>Daily PnL (UTC)</h2>",
              _table(["day", "executions", "locked-in $", "realised $", "PnL $", "fees $"],
                     [[escape(d["date"]), str(d["executions"]), _usd(d["locked_in_micros"]),
                       _usd(d["realised_micros"]), _usd(d["pnl_micros"]), _usd(d["fees_micros"])]
                      for d in report["days"]]),
              "<h2>Lanes</h2>",
              _table(["lane", "executions", "locked-in $", "realised $", "PnL $", "fees $"],
                     [[escape(k), escape(", ".join(f"{s} {n}" for s, n in v["executions"].items())),
                       _usd(v["locked_in_micros"]), _usd(v["realised_micros"]), _usd(v["pnl_micros"]),
                       _usd(v["fees_micros"])] for k, v in report["lanes"].items()]),
              "<h2>Venues</h2>",
              _table(["venue", "fills", "lots", "volume $", "fees $", "executions' cash flow $",
                      "venue cash moved (all time) $"],
                     [[escape(k), str(v["fills"]), str(v["lots"]), _usd(v["volume_micros"]), _usd(v["fees_micros"]),
                       _usd(v["cash_flow_micros"]),
                       _usd(report["venue_cash_moved_micros"][k]) if k in report["venue_cash_moved_micros"] else "-"]
                      for k, v in report["venues"].items()]),
              _table(["venues traded", "executions", "locked-in $", "realised $"],
                     [[escape(k), str(v["executions"]), _usd(v["locked_in_micros"]), _usd(v["realised_micros"])]
                      for k, v in report["venue_sets"].items()]),
              "<h2>Fill quality (entry orders, slippage vs the planned leg)</h2>",
              _table(["", "orders", "fill rate", "filled / ordered lots", "slippage $", "ticks/lot",
                      "fee slippage $", "inside limit $"],
                     [[escape(name), str(v["orders"]), "-" if v["fill_rate"] is None else f"{v['fill_rate']:.2%}",
                       f"{v['filled_lots']} / {v['ordered_lots']}", _usd(v["slippage_micros"]),
                       "-" if v["slippage_ticks_per_lot"] is None else f"{v['slippage_ticks_per_lot']:g}",
                       _usd(v["fee_slippage_micros"]), _usd(v["limit_improvement_micros"])]
                      for name, v in [("all", fq["entry"])] + [(f"venue {k}", v) for k, v in fq["venues"].items()]
                      + [(f"lane {k}", v) for k, v in fq["lanes"].items()]]),
              "<h2>Latency (ms)</h2>",
              _table(["", "p50", "p90", "p99", "max", "n"],
                     [_pct_row(f"{label} {name}", p)
                      for key, label in (("order_round_trip_ms", "order round trip"),
                                         ("intent_to_answer_ms", "intent → answer"), ("execution_ms", "execution"))
                      for name, p in report["latency"][key].items()])]
    data = json.dumps(report, separators=(",", ":")).replace("</", "<\\/")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>arbbot report</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}"
            f'<script type="application/json" id="arbbot-report">{data}</script></body></html>\n')
