"""The `arbbot.report/1` object from a loaded order store (`load.StoreData`).

Periods: an execution counts on the UTC day it became terminal (`updated_ms`), a fee on the UTC
day its fill was recorded, an order on the day its intent was written; `since_ms` drops what is
older. Money: integer µ$ (`*_micros`); ratios and percentiles are floats.

- totals.locked_in_micros / realised_micros: the run summary's definitions (`pnl`), summed over
  the terminal executions of the period; fees_micros: Σ fees of the fills recorded in the period.
  For one `arbbot run` on a fresh store they equal its summary's `trading.locked_in_micros` /
  `realised_micros` to the µ$. Over several runs the report also counts what a summary cannot:
  executions a start's crash recovery ended, and fills recorded after the trader counted them.
- days: per UTC day, the same sums, per lane, per venue (cash flow, fees) and per venue set.
- venues: per venue, its fills' lots, volume (Σ price × lots), fees and cash flow; an execution's
  PnL cannot be split between venues, so `venue_sets` holds PnL per set of venues traded
  ("kalshi", "kalshi+polymarket").
- fill_quality (entry orders): fill rate = filled lots / ordered lots; slippage = what the filled
  lots cost − their planned cost (the leg's planned cost at decision, pro rata), µ$ (positive =
  paid more than planned) and per filled lot in ticks; fee slippage likewise; limit improvement
  = limit × lots − cost (how far inside the limit the fills were).
- drift: per lane, expected (planned profit pro rata of the traded lots) vs realised (the fills'
  PnL) over the period's finished executions, with the drift monitor's alerts and disabled lanes.
- latency: order round trips measured by the executor (store `estimate_samples` kind latency,
  pruned past the sizing window), intent written → answer recorded, execution start → end (ms).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone

from arbbot.ops.reporting.load import StoreData
from arbbot.ops.reporting.pnl import COUNTED
from arbbot.ops.stats import quantile

FORMAT = "arbbot.report/1"
TERMINAL = ("complete", "aborted", "unwound", "naked")


def utc_date(ms: int) -> str:
    """YYYY-MM-DD (UTC) of `ms` since the epoch, the year in four digits (strftime's %Y writes year 1 as "1")."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).date().isoformat()


def _pnl_pair() -> dict:
    return {"locked_in_micros": 0, "realised_micros": 0}


def _money() -> dict:
    return {"locked_in_micros": 0, "realised_micros": 0, "pnl_micros": 0, "fees_micros": 0}


def build_report(data: StoreData, since_ms: int | None = None, drift_gap_micros: int | None = None) -> dict:
    """The report object. `drift_gap_micros`: the configured drift gap, shown beside the lanes."""
    since = since_ms or 0
    execs = [x for x in data.executions if x.state in TERMINAL and x.updated_ms >= since]
    fills = [f for f in data.fills if f.recorded_ms >= since]
    intents = [i for i in data.intents if i.created_ms >= since]
    lane_of = {x.id: x.lane for x in data.executions}
    planned = {x.id: x.legs for x in data.executions}

    totals = _money() | {"cash_flow_micros": 0, "expected_micros": 0, "executions": Counter(), "fills": len(fills),
                         "volume_micros": 0}
    days: dict[str, dict] = defaultdict(lambda: _money() | {"executions": 0, "lanes": defaultdict(_money),
                                                            "venues": defaultdict(lambda: {"cash_flow_micros": 0,
                                                                                           "fees_micros": 0}),
                                                            "venue_sets": defaultdict(_pnl_pair)})
    lanes: dict[str, dict] = defaultdict(lambda: _money() | {"executions": Counter(), "expected_micros": 0})
    venue_sets: dict[str, dict] = defaultdict(lambda: {"executions": 0, "locked_in_micros": 0, "realised_micros": 0})
    drift = defaultdict(lambda: {"executions": 0, "expected_micros": 0, "realised_micros": 0})
    series = []
    for x in sorted(execs, key=lambda x: (x.updated_ms, x.id)):
        p = x.pnl
        totals["executions"][x.state] += 1
        lanes[x.lane]["executions"][x.state] += 1
        day = days[utc_date(x.updated_ms)]
        day["executions"] += 1
        for bucket in (totals, day, lanes[x.lane], day["lanes"][x.lane]):
            bucket["locked_in_micros"] += p.locked_in
            bucket["realised_micros"] += p.realised
            bucket["pnl_micros"] += p.outcome
        if x.state in COUNTED:
            key = x.venues or "none"
            vs = venue_sets[key]
            vs["executions"] += 1
            for bucket in (vs, day["venue_sets"][key]):
                bucket["locked_in_micros"] += p.locked_in
                bucket["realised_micros"] += p.realised
            series.append({"ts_ms": x.updated_ms, "execution": x.id, "lane": x.lane, "pnl_micros": p.outcome})
        if p.drift_counted:
            d = drift[x.lane]
            d["executions"] += 1
            d["expected_micros"] += p.expected
            d["realised_micros"] += p.outcome
            totals["expected_micros"] += p.expected
            lanes[x.lane]["expected_micros"] += p.expected
    venues: dict[str, dict] = defaultdict(lambda: {"fills": 0, "lots": 0, "volume_micros": 0, "fees_micros": 0,
                                                   "cash_flow_micros": 0})
    fee_points = []
    for f in fills:
        lane = lane_of.get(f.execution_id, "unknown")
        day = days[utc_date(f.recorded_ms)]
        for bucket in (totals, day, lanes[lane], day["lanes"][lane]):
            bucket["fees_micros"] += f.fee
        totals["cash_flow_micros"] += f.cash
        totals["volume_micros"] += f.price * f.qty
        v = venues[f.venue]
        v["fills"] += 1
        v["lots"] += f.qty
        v["volume_micros"] += f.price * f.qty
        v["fees_micros"] += f.fee
        v["cash_flow_micros"] += f.cash
        day["venues"][f.venue]["fees_micros"] += f.fee
        day["venues"][f.venue]["cash_flow_micros"] += f.cash
        fee_points.append((f.recorded_ms, f.fee))
    return {
        "format": FORMAT,
        "db": data.path,
        "trading_mode": data.trading_mode,      # paper: no order was sent; venue: venues or a simulator
        "since": utc_date(since_ms) if since_ms is not None else None,
        "totals": _plain(totals) | {"executions": dict(sorted(totals["executions"].items()))},
        "days": [{"date": d} | _plain(v) for d, v in sorted(days.items())],
        "lanes": {k: _plain(v) | {"executions": dict(sorted(v["executions"].items()))} for k, v in sorted(lanes.items())},
        "venues": {k: dict(v) for k, v in sorted(venues.items())},
        # what each venue's cash moved by over the whole store (not `since`), pairs netted as the venue
        # nets them; `venues[*].cash_flow_micros` is the executions' cash flow in the window
        "venue_cash_moved_micros": dict(sorted(data.venue_cash_moved.items())),
        "venue_sets": {k: dict(v) for k, v in sorted(venue_sets.items())},
        "fill_quality": fill_quality(intents, lane_of, planned),
        "drift": _drift(drift, data, since, drift_gap_micros),
        "latency": latency(data, intents, execs, since),
        "pnl_series": _cumulative(series, fee_points),
    }


def _plain(v):
    """defaultdicts / Counters → plain dicts (sorted keys for nested maps)."""
    if isinstance(v, dict):
        out = {k: _plain(x) for k, x in v.items()}
        return dict(sorted(out.items())) if isinstance(v, (defaultdict, Counter)) else out
    return v


def _quality_bucket() -> dict:
    return {"orders": 0, "orders_filled": 0, "ordered_lots": 0, "filled_lots": 0, "cost_micros": 0,
            "planned_cost_micros": 0, "fees_micros": 0, "planned_fees_micros": 0, "limit_micros": 0}


def _quality_out(b: dict) -> dict:
    filled = b["filled_lots"]
    slip = b["cost_micros"] - b["planned_cost_micros"]
    return {"orders": b["orders"], "orders_filled": b["orders_filled"], "ordered_lots": b["ordered_lots"],
            "filled_lots": filled, "fill_rate": round(filled / b["ordered_lots"], 6) if b["ordered_lots"] else None,
            "slippage_micros": slip,
            "slippage_ticks_per_lot": round(slip / filled, 4) if filled else None,   # µ$ per lot = ticks
            "fee_slippage_micros": b["fees_micros"] - b["planned_fees_micros"],
            "limit_improvement_micros": b["limit_micros"] - b["cost_micros"]}


def fill_quality(intents, lane_of: dict, planned: dict) -> dict:
    """Entry orders' fill rate and slippage vs the planned leg; unwind orders counted apart."""
    total, unwind = _quality_bucket(), {"orders": 0, "ordered_lots": 0, "filled_lots": 0, "fees_micros": 0}
    by_venue, by_lane = defaultdict(_quality_bucket), defaultdict(_quality_bucket)
    for it in intents:
        if it.state not in ("filled", "partially_filled", "canceled", "rejected", "failed"):
            continue                                   # still open: no outcome yet
        if it.role != "entry":
            unwind["orders"] += 1
            unwind["ordered_lots"] += it.qty
            unwind["filled_lots"] += it.filled
            unwind["fees_micros"] += it.fees
            continue
        legs = planned.get(it.execution_id) or ()
        leg = legs[it.leg] if it.leg < len(legs) else None          # (qty, cost, fee)
        for b in (total, by_venue[it.venue], by_lane[lane_of.get(it.execution_id, "unknown")]):
            b["orders"] += 1
            b["orders_filled"] += it.filled >= it.qty
            b["ordered_lots"] += it.qty
            b["filled_lots"] += it.filled
            b["cost_micros"] += it.cost
            b["fees_micros"] += it.fees
            b["limit_micros"] += it.price * it.filled
            if leg and leg[0]:
                # the planned cost / fee of the lots that filled (floor: exact integers)
                b["planned_cost_micros"] += leg[1] * it.filled // leg[0]
                b["planned_fees_micros"] += leg[2] * it.filled // leg[0]
            else:
                b["planned_cost_micros"] += it.cost
                b["planned_fees_micros"] += it.fees
    return {"entry": _quality_out(total), "venues": {k: _quality_out(v) for k, v in sorted(by_venue.items())},
            "lanes": {k: _quality_out(v) for k, v in sorted(by_lane.items())}, "unwind": unwind}


def _drift(drift: dict, data: StoreData, since: int, gap_micros: int | None) -> dict:
    lanes = {}
    for lane, d in sorted(drift.items()):
        gap = d["expected_micros"] - d["realised_micros"]
        lanes[lane] = dict(d, gap_micros=gap)
    disabled = {lane: reason for lane, (value, reason, _) in sorted(data.lane_flags.items()) if value == "1"}
    alerts = [a for a in data.drift_alerts if a.get("ts_ms", 0) >= since]
    return {"lanes": lanes, "max_gap_micros": gap_micros, "alerts": alerts, "disabled_lanes": disabled}


def _pcts(values) -> dict | None:
    """{"p50", "p90", "p99", "max", "n"} of non-negative numbers (nearest rank, lower)."""
    values = list(values)
    if not values:
        return None
    return {"p50": quantile(values, 0.5), "p90": quantile(values, 0.9), "p99": quantile(values, 0.99),
            "max": max(values), "n": len(values)}


def latency(data: StoreData, intents, execs, since: int) -> dict:
    """Percentiles in ms: order round trips (executor), intent → answer recorded, execution."""
    rtt = defaultdict(list)
    for venue, ts, seconds in data.latency_samples:
        if ts >= since:
            rtt[venue].append(round(seconds * 1000, 3))
    answer = defaultdict(list)
    for it in intents:
        if it.state in ("filled", "partially_filled", "canceled", "rejected"):
            answer[it.venue].append(it.updated_ms - it.created_ms)
    duration = defaultdict(list)
    for x in execs:
        duration[x.lane].append(x.updated_ms - x.created_ms)
    return {"order_round_trip_ms": {k: _pcts(v) for k, v in sorted(rtt.items())},
            "intent_to_answer_ms": {k: _pcts(v) for k, v in sorted(answer.items())},
            "execution_ms": {k: _pcts(v) for k, v in sorted(duration.items())}}


def _cumulative(series: list[dict], fee_points: list[tuple[int, int]]) -> list[dict]:
    """Cumulative PnL (locked-in + realised) and fees over time, one point per counted execution
    or fill, time ordered: [{"ts_ms", "pnl_micros", "fees_micros"}]."""
    events = sorted([(s["ts_ms"], 0, s["pnl_micros"]) for s in series] + [(t, 1, fee) for t, fee in fee_points])
    out, pnl, fees = [], 0, 0
    for ts, kind, amount in events:
        if kind == 0:
            pnl += amount
        else:
            fees += amount
        if out and out[-1]["ts_ms"] == ts:
            out[-1].update(pnl_micros=pnl, fees_micros=fees)
        else:
            out.append({"ts_ms": ts, "pnl_micros": pnl, "fees_micros": fees})
    return out
