"""The `arbbot.state/1` document: what `GET /api/state` returns and the live stream pushes.

Built in the dashboard's process from (1) the newest `LoopSampler` sample (the bot's in-memory
state, copied on its loop; `view.latest`), (2) the order store read through the dashboard's own
read-only connection (`History`), (3) the operator controls (halt, tunables: `Controls`, or
`child.RemoteControls` mirroring the bot's). Money as integer µ$
(`*_micros`) plus the three headline dollar figures; quantities in lots.
"""
from __future__ import annotations

import time
from collections import deque

from arbbot.engine.types import Lane
from arbbot.ops.control import TUNABLES
from arbbot.ops.dashboard.history import History
from arbbot.units import format_money

FORMAT = "arbbot.state/1"
LANES = tuple(lane.label for lane in Lane)
PNL_POINTS = 7_200              # kept: one per second while changing, else one per 10 s
PNL_SHOWN = 300                 # points sent (evenly thinned, the newest always included)


class PnlSeries:
    """Locked-in, realised and fees (µ$) of this run over time (wall seconds)."""

    def __init__(self) -> None:
        self.points: deque = deque(maxlen=PNL_POINTS)

    def add(self, t: float, locked_in: int, realised: int, fees: int) -> None:
        point = (round(t, 1), locked_in, realised, fees)
        pts = self.points
        if len(pts) >= 2 and pts[-1][1:] == point[1:] == pts[-2][1:] and t - pts[-2][0] < 10:
            pts[-1] = point              # flat: move the last point instead of adding one
            return
        self.points.append(point)

    def view(self) -> dict:
        pts = list(self.points)
        if len(pts) > PNL_SHOWN:
            step = len(pts) / (PNL_SHOWN - 1)
            pts = [pts[int(i * step)] for i in range(PNL_SHOWN - 1)] + [pts[-1]]
        return {"t": [p[0] for p in pts], "locked_in_micros": [p[1] for p in pts],
                "realised_micros": [p[2] for p in pts], "fees_micros": [p[3] for p in pts]}


class StateBuilder:
    def __init__(self, view, history: History, controls, settings) -> None:
        """`view.latest`: the newest sample (a dict, or None before the first); `settings.masked()`:
        the effective config, re-read when `controls.version` changes."""
        self.sampler = view
        self.history = history
        self.controls = controls
        self.settings = settings
        self.pnl = PnlSeries()
        self._config: tuple[int, dict] | None = None

    def tick(self) -> None:
        """Once a second in the dashboard thread: one PnL point."""
        sample = self.sampler.latest or {}
        trading = sample.get("trading") or {}
        fees = self.history.run_fees()
        self.pnl.add(time.time(), trading.get("locked_in_micros", 0), trading.get("realised_micros", 0), fees)

    def config(self) -> dict:
        if self._config is None or self._config[0] != self.controls.version:
            self._config = (self.controls.version, self.settings.masked())
        return self._config[1]

    def state(self) -> dict:
        # the controls first: the dashboard's process stores a sample before the controls it came
        # with, so controls read first are never newer than the sample read after them
        mode = "trading" if self.controls.trading else "detection"
        halted = self.controls.halted()
        tunables = {k: {"value": self.controls.value(k), "help": v} for k, v in TUNABLES.items()}
        config = self.config()
        sample = self.sampler.latest or {}
        trading = sample.get("trading")
        h = self.history
        locked = trading["locked_in_micros"] if trading else 0
        realised = trading["realised_micros"] if trading else 0
        safe = h.safe_mode()
        positions = h.positions() if trading else {}
        venues = {}
        for name, v in (sample.get("venues") or {}).items():
            venues[name] = {**v, "cash_micros": (trading or {}).get("cash_micros", {}).get(name),
                            "order_latency_us": ((trading or {}).get("order_latency_us") or {}).get(name),
                            "positions": sum(1 for p in positions.values() if p["venue"] == name)}
        current = sample.get("current") or []
        drift = (trading or {}).get("drift") or {}
        lanes = {lane: {"found": (sample.get("found") or {}).get(lane, 0),
                        "current": sum(1 for o in current if o["lane"] == lane),
                        "disabled": (drift.get("disabled") or {}).get(lane),
                        "drift": (drift.get("lanes") or {}).get(lane)} for lane in LANES}
        return {
            "format": FORMAT, "t": time.time(), "mode": mode,
            "halted": halted is not None, "halt_reason": halted,
            "safe_mode": safe is not None, "safe_mode_reason": safe,
            # money: exact dollars with 6 decimals (never a float), and µ$ integers
            "locked_in_usd": format_money(locked), "realised_usd": format_money(realised),
            "fees_usd": format_money(h.fees_micros),
            "locked_in_micros": locked, "realised_micros": realised, "fees_micros": h.fees_micros,
            "executions": {"run": (trading or {}).get("executions", {}), "stored": h.execution_counts(),
                           "recent": h.executions(50) if trading else []},
            "opportunities": current, "recent_opportunities": sample.get("recent") or [], "lanes": lanes,
            "venues": venues, "positions": positions,
            "risk": None if trading is None else {
                k: trading.get(k) for k in ("breaker", "daily_loss_micros", "daily_loss_cap_micros", "kill_switch",
                                        "exposure_limits_micros", "skipped", "offered", "busy", "first_order_us",
                                        "reconcile_differences")},
            "session": {k: sample.get(k) for k in ("uptime_s", "book_updates", "detections", "detect_us", "markets",
                                                   "healthy", "held_out", "errors", "engine", "sample_us",
                                                   "min_profit_micros", "max_qty_lots")},
            "pnl": self.pnl.view(),
            "tunables": tunables, "config": config, "audit": h.audit(20)}
