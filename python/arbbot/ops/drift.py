"""Drift monitor: per lane, realised PnL vs expected PnL over a rolling window of finished
executions; a lane drifting too far below expectation raises an alert and (configurable) stops
trading until a person puts it back.

Definitions (µ$ integers; the same as `arbbot report`'s drift section, `ops.reporting.pnl`):
- a *finished execution* is one that ended `complete` or `unwound` having filled lots on its
  first leg (aborted executions traded nothing; naked ones hold an open position whose PnL is not
  known yet, and they already stop trading through safe mode);
- its *expected* PnL = planned_profit × traded // qty: the planned profit at decision (the sized
  opportunity's profit, stored as `executions.planned_profit`) pro rata of the lots its first
  leg's entry orders filled (`traded`; all of `qty` unless the first leg filled partly);
- its *realised* PnL = what its fills produced, by the run summary's definitions: locked-in
  (complete: payout × lots held on every leg // qty + cash flow) or realised (unwound: cash flow,
  usually a loss); fees included through the cash flow.

Per lane, the window holds the finished executions that ended in the last `drift_window_s`
seconds (and after the lane was last put back by a person). When it holds ≥
`drift_min_executions` and Σ realised < Σ expected − `drift_max_gap_usd` (strictly), the lane
*drifts*: one `drift_alert` event is written to the store (kind `drift_alert`, data lane,
expected_micros, realised_micros, gap_micros = expected − realised, executions, window_s,
max_gap_micros) and logged, once per episode: the episode ends when the lane is back within the
gap (or has too few executions in the window), or when a person puts it back.

With `drift_disable_lane` (default true) the lane is also taken out of trading: flag
`lane_disabled:<lane>` = "1" in the store (with the reason), so it survives restarts; the trader
skips the lane's opportunities ("lane disabled (drift)") while the flag is set. The disabled set
is kept in memory (`DriftMonitor.disabled_lanes`, read per opportunity); the store is read only at
start, after each execution and every few seconds (`watch`).

Putting a lane back (a person decides):
- the dashboard (or any tool) calls `enable_lane(store, lane, who)`: the flag becomes "0", an
  event `drift_lane_enabled` records who; a monitor in this process learns it at once, one in
  another process within `watch`'s interval. The lane's window restarts empty at that moment;
- or `arbbot.toml`: edit `[sizing.lane_allocator] lanes` and restart. When the drift monitor
  disables a lane it remembers that list (flag `lane_disabled_config:<lane>`); at the next start,
  if the configured list differs (as a set), the person's edit decides: the flag is cleared
  (`who` = "arbbot.toml") and the lane trades again if it is listed — the lane allocator refuses
  it otherwise. Leaving the list unchanged keeps the lane out.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass

from arbbot import logs
from arbbot.engine.types import Lane
from arbbot.ops.reporting.pnl import ExecutionPnL, execution_pnl
from arbbot.units import format_money

log = logs.get("drift")

FLAG_PREFIX = "lane_disabled:"                  # + lane label → "1" disabled / "0" put back
CONFIG_PREFIX = "lane_disabled_config:"         # + lane label → JSON list of configured lanes when disabled
SKIP_REASON = "lane disabled (drift)"           # the trader's skip counter key
WATCH_S = 5.0                                   # seconds between reads of the flags (other processes)

_MONITORS: "weakref.WeakSet[DriftMonitor]" = weakref.WeakSet()   # live monitors, told of enable_lane()


@dataclass(frozen=True)
class DriftConfig:
    window_ms: int = 86_400_000      # rolling window, ms
    min_executions: int = 5          # finished executions in the window before a lane can drift
    max_gap_micros: int = 5_000_000  # µ$: realised may fall this far below expected
    disable_lane: bool = True        # a drifting lane stops trading

    @classmethod
    def from_settings(cls, settings) -> "DriftConfig":
        from arbbot.config import usd
        return cls(window_ms=int(round(settings.drift_window_s * 1000)), min_executions=settings.drift_min_executions,
                   max_gap_micros=usd(settings.drift_max_gap_usd), disable_lane=settings.drift_disable_lane)


@dataclass(frozen=True)
class LaneWindow:
    """A lane's rolling window now: finished executions and their summed PnL (µ$)."""
    executions: int
    expected: int
    realised: int

    @property
    def gap(self) -> int:
        """µ$ by which realised falls below expected (negative: better than expected)."""
        return self.expected - self.realised


def lane_label(lane) -> str:
    return lane.label if isinstance(lane, Lane) else str(lane)


def disabled_lanes(store) -> dict[str, str]:
    """Lanes whose flag says disabled, from the store: label → reason."""
    return {name[len(FLAG_PREFIX):]: reason for name, (value, reason) in store.flags(FLAG_PREFIX).items()
            if value == "1"}


def enable_lane(store, lane, who: str = "operator", reason: str = "") -> bool:
    """A person puts `lane` back into trading: clear its flag (an event records who). Returns
    whether it was disabled. Monitors running in this process learn it at once."""
    label = lane_label(lane)
    was = store.flags(FLAG_PREFIX + label).get(FLAG_PREFIX + label, ("0", ""))[0] == "1"
    store.set_flag(FLAG_PREFIX + label, "0", reason or f"put back by {who}")
    store.add_event("drift_lane_enabled", lane=label, who=who, was_disabled=was)
    log.warning("drift.lane_enabled", lane=label, who=who, was_disabled=was)
    for monitor in list(_MONITORS):
        if monitor.store is store or getattr(monitor.store, "path", None) == getattr(store, "path", ""):
            monitor._put_back(label)
    return was


def disable_lane(store, lane, reason: str, configured_lanes=None) -> None:
    """Take `lane` out of trading (flag "1"), remembering the configured lanes list."""
    label = lane_label(lane)
    if configured_lanes is not None:
        store.set_flag(CONFIG_PREFIX + label, json.dumps(sorted(set(configured_lanes))), "lanes when disabled")
    store.set_flag(FLAG_PREFIX + label, "1", reason)


class DriftMonitor:
    """Per lane rolling windows of finished executions over `store` (an `OrderStore`).

    `clock`: wall seconds (tests inject one). `configured_lanes`: `[sizing.lane_allocator]
    lanes` now (None: the config rule does not apply). Call `load()` once at start."""

    def __init__(self, store, config: DriftConfig | None = None, *, clock=time.time,
                 configured_lanes=None) -> None:
        self.store = store
        self.config = config or DriftConfig()
        self.clock = clock
        self.configured_lanes = None if configured_lanes is None else list(configured_lanes)
        self.disabled_lanes: frozenset = frozenset()    # Lane members (and labels): read per opportunity
        self.alerts = 0                                  # alerts raised by this monitor
        self._lock = threading.RLock()
        self._windows: dict[str, deque] = {}             # label → deque of (ended ms, expected µ$, realised µ$, id)
        self._since: dict[str, int] = {}                 # label → ms the lane was last put back (window floor)
        self._alerted: set[str] = set()                  # lanes in a drift episode already alerted
        self._disabled: dict[str, str] = {}              # label → reason
        self.on_change = None                            # callable(labels of the disabled lanes), e.g. the sizer
        _MONITORS.add(self)

    # ---- start ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Rebuild from the store: flags (applying the config rule), each lane's window of
        finished executions, and whether its current episode was already alerted."""
        from arbbot.ops.reporting.load import StoreError, connect_ro, finished_since
        now = self._now_ms()
        try:
            db = connect_ro(self.store.path)
        except StoreError as exc:           # not a file (cannot happen for an OrderStore on disk)
            log.warning("drift.load_failed", error=str(exc))
            with self._lock:
                self._disabled.update(disabled_lanes(self.store))
                self._publish()
            return
        try:
            flags = {name[len(FLAG_PREFIX):]: (value, reason, ts) for name, value, reason, ts in db.execute(
                "SELECT name, value, reason, ts_ms FROM flags WHERE substr(name, 1, ?) = ?",
                (len(FLAG_PREFIX), FLAG_PREFIX))}
            stored_lanes = {name[len(CONFIG_PREFIX):]: value for name, value in db.execute(
                "SELECT name, value FROM flags WHERE substr(name, 1, ?) = ?", (len(CONFIG_PREFIX), CONFIG_PREFIX))}
            start = now - self.config.window_ms
            execs = finished_since(db, start)
            # when each lane was last put back (its window's floor), even if disabled again since
            put_back = dict(db.execute(
                "SELECT json_extract(data, '$.name'), MAX(ts_ms) FROM events WHERE kind = 'flag'"
                " AND json_extract(data, '$.value') = '0' AND ts_ms >= ? GROUP BY 1", (start,)).fetchall())
            alerts = [(ts, json.loads(data)) for ts, data in db.execute(
                "SELECT ts_ms, data FROM events WHERE kind = 'drift_alert' AND ts_ms >= ? ORDER BY seq", (start,))]
        finally:
            db.close()
        for label, (value, reason, ts) in flags.items():
            if value == "1" and self._config_edited(stored_lanes.get(label)):
                enable_lane(self.store, label, who="arbbot.toml",
                            reason=f"[sizing.lane_allocator] lanes edited since the lane was disabled "
                                   f"(now {self.configured_lanes})")
                value, ts = "0", now
            if value == "1":
                self._disabled[label] = reason
            self._since[label] = max(put_back.get(FLAG_PREFIX + label) or 0, ts if value != "1" else 0)
        for x in execs:
            pnl = x.pnl
            if pnl.drift_counted and x.updated_ms >= self._since.get(x.lane, 0):
                self._windows.setdefault(x.lane, deque()).append((x.updated_ms, pnl.expected, pnl.outcome, x.id))
        for ts, data in alerts:
            lane = data.get("lane")
            if lane and ts >= self._since.get(lane, 0) and self._drifting(self.window(lane)):
                self._alerted.add(lane)
        self._alerted |= {lane for lane in self._disabled if self._drifting(self.window(lane))}
        self._publish()
        log.info("drift.loaded", disabled=sorted(self._disabled), lanes={k: len(v) for k, v in self._windows.items()})
        for lane in list(self._windows):
            self.check(lane)

    def _config_edited(self, stored: str | None) -> bool:
        if self.configured_lanes is None or stored is None:
            return False
        try:
            return set(json.loads(stored)) != set(self.configured_lanes)
        except (ValueError, TypeError):
            return False

    # ---- per execution ---------------------------------------------------------------------------
    def on_result(self, result, opp) -> dict | None:
        """A finished execution of the trader (`ExecutionResult`, the sized `Opportunity`): add it
        to its lane's window and check the lane. Never raises (a failure is logged)."""
        try:
            pnl = self.result_pnl(result, opp)
            if not pnl.drift_counted:
                return None
            return self.add(opp.lane, pnl.expected, pnl.outcome, execution_id=result.execution_id)
        except Exception as exc:           # noqa: BLE001 — monitoring must not stop trading
            log.error("drift.error", error=f"{type(exc).__name__}: {exc}")
            return None

    def revise(self, result, opp) -> dict | None:
        """An execution in a lane's window ended again (`ExecutionResult` of a re-hedge: its venue
        reverted fills after it ended): its entry now holds its PnL as it is now, keeping when it
        first ended; out of the window if it no longer counts (naked, nothing traded), into it if
        it counts now and was not in it. Then the lane is checked. Never raises."""
        try:
            pnl = self.result_pnl(result, opp)
            label = lane_label(opp.lane)
            with self._lock:
                q = self._windows.setdefault(label, deque())
                at = next((k for k, entry in enumerate(q) if entry[3] == result.execution_id), None)
                if at is not None:
                    ended_ms = q[at][0]
                    del q[at]
                    if pnl.drift_counted:
                        q.insert(at, (ended_ms, pnl.expected, pnl.outcome, result.execution_id))
                elif pnl.drift_counted:
                    q.append((self._now_ms(), pnl.expected, pnl.outcome, result.execution_id))
            return self.check(label)
        except Exception as exc:           # noqa: BLE001 — monitoring must not stop trading
            log.error("drift.error", error=f"{type(exc).__name__}: {exc}")
            return None

    def result_pnl(self, result, opp) -> ExecutionPnL:
        """The execution's PnL (module docstring); reads its first leg's entry fills from the store."""
        if result.state not in ("complete", "unwound"):
            return ExecutionPnL()
        traded = sum(f.qty for i in self.store.intents(result.execution_id) if i.leg == 0 and i.role == "entry"
                     for f in self.store.fills(i.client_order_id))
        return execution_pnl(result.state, opp.qty, opp.payout, opp.profit, result.filled, traded, result.cash_flow,
                             result.held_cost)

    def add(self, lane, expected: int, realised: int, ended_ms: int | None = None,
            execution_id: str | None = None) -> dict | None:
        """One finished execution of `lane` (µ$); returns the alert's data if this raised one."""
        label = lane_label(lane)
        with self._lock:
            self._windows.setdefault(label, deque()).append((self._now_ms() if ended_ms is None else ended_ms,
                                                             expected, realised, execution_id))
        return self.check(label)

    # ---- checks ----------------------------------------------------------------------------------
    def window(self, lane) -> LaneWindow:
        """The lane's window now (old executions dropped first)."""
        label = lane_label(lane)
        floor = max(self._now_ms() - self.config.window_ms, self._since.get(label, 0))
        with self._lock:
            q = self._windows.get(label)
            if not q:
                return LaneWindow(0, 0, 0)
            while q and q[0][0] < floor:
                q.popleft()
            return LaneWindow(len(q), sum(entry[1] for entry in q), sum(entry[2] for entry in q))

    def _drifting(self, w: LaneWindow) -> bool:
        return w.executions >= self.config.min_executions and w.gap > self.config.max_gap_micros

    def check(self, lane) -> dict | None:
        """Alert (once per episode) and disable `lane` if it drifts now; returns the alert data."""
        label = lane_label(lane)
        w = self.window(label)
        with self._lock:
            if not self._drifting(w):
                self._alerted.discard(label)
                return None
            if label in self._alerted:
                return None
            self._alerted.add(label)
            self.alerts += 1
        alert = {"lane": label, "expected_micros": w.expected, "realised_micros": w.realised, "gap_micros": w.gap,
                 "executions": w.executions, "window_s": self.config.window_ms / 1000,
                 "max_gap_micros": self.config.max_gap_micros, "disabled": self.config.disable_lane}
        self.store.add_event("drift_alert", **alert)
        log.warning("drift.alert", **alert)
        if self.config.disable_lane and label not in self._disabled:
            reason = (f"drift: realised ${format_money(w.realised)} vs expected ${format_money(w.expected)} over "
                      f"{w.executions} executions in {self.config.window_ms / 3_600_000:g} h (gap "
                      f"${format_money(w.gap)} > ${format_money(self.config.max_gap_micros)})")
            disable_lane(self.store, label, reason, self.configured_lanes)
            with self._lock:
                self._disabled[label] = reason
                self._publish()
            log.warning("drift.lane_disabled", lane=label, reason=reason)
        return alert

    def tick(self) -> None:
        """Periodic: learn flag changes other processes made, and end episodes whose window has
        aged back within the gap."""
        self.refresh_flags()
        for label in list(self._windows):
            self.check(label)

    def refresh_flags(self) -> None:
        """Re-read `lane_disabled:*` flags (a person may have put a lane back from elsewhere)."""
        stored = disabled_lanes(self.store)
        for label in [lane for lane in self._disabled if lane not in stored]:
            self._put_back(label)
        with self._lock:
            changed = any(lane not in self._disabled for lane in stored)
            self._disabled.update(stored)
            if changed:
                self._publish()

    async def watch(self, interval_s: float = WATCH_S) -> None:
        """`tick` every `interval_s` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.tick()
            except Exception as exc:       # noqa: BLE001 — keep watching
                log.error("drift.error", error=f"{type(exc).__name__}: {exc}")

    # ---- putting lanes back ------------------------------------------------------------------------
    def enable(self, lane, who: str = "operator") -> bool:
        """A person puts `lane` back (see `enable_lane`)."""
        return enable_lane(self.store, lane, who)

    def _put_back(self, label: str) -> None:
        """The lane was put back: trade it again, restart its window and episode now."""
        with self._lock:
            self._disabled.pop(label, None)
            self._since[label] = self._now_ms()
            self._windows.pop(label, None)
            self._alerted.discard(label)
            self._publish()

    # ---- views -------------------------------------------------------------------------------------
    def disabled(self) -> dict[str, str]:
        """Lanes out of trading now: label → reason."""
        with self._lock:
            return dict(sorted(self._disabled.items()))

    def summary(self) -> dict:
        """For a run summary / the dashboard: disabled lanes, alerts, each lane's window (µ$)."""
        lanes = {}
        for label in sorted(self._windows):
            w = self.window(label)
            lanes[label] = {"executions": w.executions, "expected_micros": w.expected,
                            "realised_micros": w.realised, "gap_micros": w.gap}
        return {"disabled": self.disabled(), "alerts": self.alerts, "lanes": lanes,
                "max_gap_micros": self.config.max_gap_micros, "window_s": self.config.window_ms / 1000}

    def _publish(self) -> None:
        members = set()
        for label in self._disabled:
            members.add(label)
            try:
                members.add(Lane.parse(label))
            except ValueError:
                pass
        self.disabled_lanes = frozenset(members)
        if self.on_change is not None:
            self.on_change(frozenset(self._disabled))

    def _now_ms(self) -> int:
        return int(round(self.clock() * 1000))
