"""Store events and watched states → notifications (at most one per real change).

Event-log kinds turned into notifications:
  safe_mode_entered            → safe_mode (critical)
  execution_naked              → naked (critical)
  breaker (state "open")       → breaker_open (warning); a repeated "open" while already open is
                                 not a new opening and is not sent again
  drift_alert                  → drift (warning)
  fee_mismatch                 → fee_hold (warning): a venue charged more than the fee schedule
  halted / resumed             → halt (warning) / resume (info), merged with the kill file: the
                                 bot is halted while either says so, and only a change of that
                                 merged state is sent (a dashboard halt that writes both the
                                 event and the file gives ONE notification)
The daily loss cap is a threshold on the store's realised-loss ledger, not an event
(`arbbot.ops.notify.sources.DailyLossWatch`).
"""
from __future__ import annotations

from typing import Callable

from arbbot.ops.notify.notification import CRITICAL, INFO, WARNING, Notification
from arbbot.units import format_money

# event kinds the tail reads from the store (everything else is skipped in SQL)
EVENT_KINDS = ("safe_mode_entered", "execution_naked", "breaker", "drift_alert", "fee_mismatch", "halted", "resumed")


def _usd(micros) -> str:
    """µ$ integer → "$12.340000", exact (integer arithmetic, never a float: the same digits as
    `arbbot report` / `status` and the drift monitor's own reason text)."""
    if isinstance(micros, bool) or not isinstance(micros, int):
        return "?"
    return f"${format_money(micros)}"


class HaltState:
    """Halted = the kill file exists OR the last halted/resumed event was `halted`."""

    def __init__(self, file_present: bool) -> None:
        self.file_present = file_present
        self.event_halted = False           # old events are not replayed: unknown → not halted
        self.halted = file_present          # as last reported (the state at start is not sent)

    def _changed(self, ts_ms: int, source: str, detail: dict) -> Notification | None:
        now = self.file_present or self.event_halted
        if now == self.halted:
            return None
        self.halted = now
        if now:
            why = f"{source}: {detail['reason']}" if detail.get("reason") else source
            return Notification("halt", WARNING, ts_ms, "Trading halted",
                                f"arbbot stopped opening new trades ({why}); `arbbot resume` or the dashboard "
                                "resumes it.", {"source": source, **detail})
        return Notification("resume", INFO, ts_ms, "Trading resumed", f"arbbot may trade again ({source}).",
                            {"source": source, **detail})

    def file(self, present: bool, ts_ms: int, path: str,
             reason: Callable[[], str] = lambda: "") -> Notification | None:
        """`reason()`: the kill file's text, read only when this changes the state."""
        self.file_present = present
        if (present or self.event_halted) == self.halted:
            return None
        return self._changed(ts_ms, "kill file", {"kill_file": path, **({"reason": reason()} if present else {})})

    def event(self, halted: bool, ts_ms: int, data: dict) -> Notification | None:
        self.event_halted = halted
        return self._changed(ts_ms, "dashboard" if not data.get("source") else str(data["source"]),
                             {k: v for k, v in data.items() if k != "source"})


class EventRules:
    """Turns decoded events (`seq`, `ts_ms`, `kind`, `execution_id`, `data`) into notifications.

    `breakers`: breaker name → last known state at start (so an already-open breaker's next
    "open" write is not mistaken for a new opening). `legs_of(execution_id)`: the execution's
    legs for a naked notification (list of dicts; [] when unknown)."""

    def __init__(self, halt: HaltState, breakers: dict[str, str] | None = None, legs_of=None) -> None:
        self.halt = halt
        self.breakers = dict(breakers or {})
        self.legs_of = legs_of or (lambda _id: [])

    def apply(self, ev: dict) -> Notification | None:
        kind, ts, data, xid = ev["kind"], int(ev["ts_ms"]), ev.get("data") or {}, ev.get("execution_id")
        ref = {"seq": ev.get("seq"), "event": kind}
        if kind == "safe_mode_entered":
            reason = str(data.get("reason", ""))
            return Notification("safe_mode", CRITICAL, ts, "Safe mode entered",
                                f"arbbot stopped trading: {reason or 'no reason given'}. A person must check the "
                                "positions and run `arbbot ack`.", {**ref, "reason": reason})
        if kind == "execution_naked":
            legs = self.legs_of(xid)
            where = ", ".join(f"{l.get('market')} {l.get('side')}" for l in legs) or "unknown legs"
            reason = str(data.get("reason", ""))
            return Notification("naked", CRITICAL, ts, f"Execution {xid} left naked",
                                f"An unhedged position remains ({where}): {reason or 'no reason given'}.",
                                {**ref, "execution_id": xid, "reason": reason, "legs": legs})
        if kind == "breaker":
            name, state = str(data.get("name", "executions")), str(data.get("state", ""))
            before, self.breakers[name] = self.breakers.get(name), state
            if state != "open" or before == "open":
                return None
            failures = data.get("failures")
            return Notification("breaker_open", WARNING, ts, f"Circuit breaker '{name}' opened",
                                f"{failures} consecutive failed executions: new executions wait for the cooldown.",
                                {**ref, "name": name, "failures": failures,
                                 "opened_at_ms": data.get("opened_at_ms")})
        if kind == "drift_alert":
            lane = data.get("lane")
            text = (f"Realised {_usd(data.get('realised_micros'))} vs expected {_usd(data.get('expected_micros'))}"
                    f" over {data.get('executions')} executions (gap {_usd(data.get('gap_micros'))}).")
            if data.get("disabled"):
                text += " The lane no longer trades until a person puts it back (dashboard or arbbot.toml)."
            return Notification("drift", WARNING, ts, f"Drift on lane {lane}", text, {**ref, **data})
        if kind == "fee_mismatch":
            markets = [str(m) for m in data.get("markets") or []]
            return Notification("fee_hold", WARNING, ts, f"Fees above the schedule on {data.get('market')}",
                                f"{data.get('reason', '')}. {len(markets)} market(s) no longer trade until `arbbot ack`.",
                                {**ref, **data})
        if kind in ("halted", "resumed"):
            return self.halt.event(kind == "halted", ts, {**ref, **data})
        return None


def daily_loss_notification(loss: int, cap: int, day: tuple[int, int], ts_ms: int) -> Notification:
    """The daily loss cap was reached: `loss` and `cap` µ$, `day` the risk day [start_ms, end_ms)."""
    return Notification("daily_loss_cap", CRITICAL, ts_ms, "Daily loss cap reached",
                        f"Realised loss {_usd(loss)} reached the cap of {_usd(cap)}: no new trades until the next "
                        "risk day.",
                        {"loss_micros": loss, "cap_micros": cap, "day_start_ms": day[0], "day_end_ms": day[1]})
