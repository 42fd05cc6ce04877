"""Operator controls of a running bot: halt, resume, acknowledge safe mode, and a whitelist of
live-tunable settings — each one audited in the order store's event log.

The methods change the bot's objects (session, trader, sizer, risk gates), so they run on the
bot's event loop: another thread (the dashboard) calls `Controls.submit(method, …)`, which
schedules the call there and returns a `concurrent.futures.Future`. Tunable values are in the
units of `arbbot.toml` (dollars, contracts); applied in µ$ (`usd`) and lots.

A tunable change is all or nothing: the value is checked against every bound first (those of
`arbbot.config`, which follow the engines' limits: int64 µ$, at most `units.MAX_CONTRACTS`
contracts), and a change that still fails while being applied is undone whole (HTTP 500, nothing
changed, no audit event).

Audit events: `halted` (who, reason: cleaned by `killswitch.clean_reason`), `resumed` (who),
`safe_mode_acknowledged` (written by `OrderStore.acknowledge`), `config_changed` (who, key, old,
new).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import math
from pathlib import Path
from pydantic import ValidationError

from arbbot import logs
from arbbot.config import Settings, cap_lots, sizing_bound_problems, usd
from arbbot.risk.killswitch import KillSwitch, clean_reason
from arbbot.sizing.config import SizingConfigError, from_toml_dict

log = logs.get("control")

# key → what it is (shown beside the editor); units as in arbbot.toml
TUNABLES: dict[str, str] = {
    "min_profit": "dollars an opportunity must make after fees",
    "max_contracts": "per-trade cap, contracts on every leg",
    "sizing.kelly.kelly_multiplier": "fraction of the Kelly size traded, (0, 1]",
    "sizing.capital_lock.far_multiplier": "size multiplier for far-dated markets, (0, 1]",
    "sizing.drawdown_manager.caution_multiplier": "size multiplier in drawdown caution, [0, 1]",
    "sizing.exposure_manager.max_venue_usd": "open exposure per venue, dollars",
    "sizing.exposure_manager.max_event_usd": "open exposure per event, dollars",
    "sizing.exposure_manager.max_market_usd": "open exposure per market, dollars",
}
_EXPOSURE = {"sizing.exposure_manager.max_venue_usd": "per_venue", "sizing.exposure_manager.max_event_usd": "per_event",
             "sizing.exposure_manager.max_market_usd": "per_market"}


class ControlError(ValueError):
    """A refused control (HTTP 400); the message names the key when a value is refused."""
    status = 400


class NotApplied(ControlError):
    """A checked change that failed while being applied; undone whole (HTTP 500)."""
    status = 500


class NotTrading(ControlError):
    """A control that needs a trading bot, asked of a detection-only one (HTTP 409)."""
    status = 409


class Controls:
    """The controls of one bot. `trader` None: detection only (`arbbot live`; controls refused).
    `loop`: the bot's event loop (None: `submit` calls at once, for tests)."""

    def __init__(self, settings: Settings, session=None, trader=None, *, loop: asyncio.AbstractEventLoop | None = None
                 ) -> None:
        self.settings = settings
        self.session = session
        self.trader = trader
        self.loop = loop
        # what an operator types (a halt reason) is scrubbed of these, as every log line is
        logs.register_secret(*settings.secret_values())
        gates = getattr(trader, "gates", None)
        self.kill: KillSwitch = gates.kill if gates is not None and gates.kill is not None \
            else KillSwitch(settings.kill_file or None)
        self.version = 0                 # bumped on every applied change (the config view re-reads)

    # ---- dispatch --------------------------------------------------------------------------
    def submit(self, method, *args, **kwargs) -> concurrent.futures.Future:
        """Run `method(*args, **kwargs)` on the bot's loop; the future holds its result or error."""
        if self.loop is None:
            fut: concurrent.futures.Future = concurrent.futures.Future()
            try:
                fut.set_result(method(*args, **kwargs))
            except Exception as exc:       # noqa: BLE001 - handed to the caller through the future
                fut.set_exception(exc)
            return fut

        async def call():
            return method(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(call(), self.loop)

    @property
    def trading(self) -> bool:
        return self.trader is not None

    @property
    def store(self):
        return self.trader.store if self.trader is not None else None

    def _require_trading(self, what: str) -> None:
        if self.trader is None:
            raise NotTrading(f"{what}: this bot only detects (arbbot live); nothing to control")

    # ---- kill switch and safe mode ----------------------------------------------------------
    def halted(self) -> str | None:
        """Why trading is halted by the kill switch (None: not halted)."""
        return self.kill.reason()

    def halt(self, who: str, reason: str = "operator halt") -> dict:
        """Stop new executions now (the one in flight finishes): the kill file as `arbbot halt`
        writes it (seen by every bot sharing it), else a programmatic trip. `reason` is cleaned
        first (`clean_reason`: secrets redacted, one line, bounded): the file, the switch, the
        audit event and the log get the same text."""
        self._require_trading("halt")
        reason = clean_reason(reason)
        warning = None
        if self.kill.path:
            try:
                Path(self.kill.path).write_text(reason + "\n")
            except OSError as exc:         # this bot stops all the same; the others cannot be told
                self.kill.trip(reason)
                warning = (f"cannot write kill file {self.kill.path}: {exc.strerror or exc}; this bot only is "
                           f"halted (arbbot halt writes the file for every bot)")
                log.error("operator.halt_kill_file_failed", path=self.kill.path, error=exc.strerror or str(exc))
        else:
            self.kill.trip(reason)
        self.store.add_event("halted", who=who, reason=reason)
        log.warning("operator.halt", who=who, reason=reason)
        return {"halted": self.halted(), **({"warning": warning} if warning else {})}

    def resume(self, who: str) -> dict:
        """Undo `halt`: remove the kill file and clear a programmatic trip."""
        self._require_trading("resume")
        if self.kill.path and Path(self.kill.path).exists():
            try:
                Path(self.kill.path).unlink()
            except OSError as exc:
                raise NotApplied(f"resume: cannot remove kill file {self.kill.path}: {exc.strerror or exc}") \
                    from None
        self.kill.reset()
        self.store.add_event("resumed", who=who)
        log.warning("operator.resume", who=who)
        return {"halted": self.halted()}

    def acknowledge(self, who: str) -> dict:
        """Leave safe mode as `arbbot ack` does (naked executions acknowledged, drawdown stop
        cleared, fee holds released); the store writes the `safe_mode_acknowledged` event."""
        self._require_trading("acknowledge")
        reason = self.store.safe_mode()
        executions = self.store.acknowledge(who)
        drawdown = self.store.clear_drawdown_stop()
        fee_holds = self.store.clear_fee_holds(who)
        log.warning("operator.ack", who=who, reason=reason, executions=executions, fee_holds=len(fee_holds))
        return {"was": reason, "acknowledged": executions, "drawdown_cleared": drawdown,
                "fee_holds_released": fee_holds, "safe_mode": self.store.safe_mode()}

    def enable_lane(self, lane: str, who: str) -> dict:
        """Put back a lane the drift monitor took out of trading (audited by the monitor's
        `flag` event and a `lane_enabled` event)."""
        self._require_trading("lane")
        drift = getattr(self.trader, "drift", None)
        if drift is None:
            raise ControlError("lane: this bot runs no drift monitor")
        lane = str(lane)
        if lane not in drift.disabled():
            raise ControlError(f"lane {lane!r}: not taken out of trading (disabled: "
                               f"{', '.join(sorted(drift.disabled())) or 'none'})")
        drift.enable(lane, who)
        self.store.add_event("lane_enabled", who=who, lane=lane)
        log.warning("operator.lane_enabled", who=who, lane=lane)
        return {"lane": lane, "disabled": drift.disabled()}

    # ---- tunables -------------------------------------------------------------------------
    def value(self, key: str):
        """The current value of tunable `key` (dollars / contracts / multiplier)."""
        if key not in TUNABLES:
            raise ControlError(f"{key}: not a live-tunable key (allowed: {', '.join(TUNABLES)})")
        obj = self.settings
        for part in key.split("."):
            obj = getattr(obj, part)
        return obj

    def tunables(self) -> dict:
        return {key: self.value(key) for key in TUNABLES}

    def validate(self, key: str, value):
        """`value` checked as arbbot.config would check it; returns the value to apply, or a
        ControlError naming `key`. For sizing keys, the whole `[sizing]` section is re-validated
        (cross-key rules hold)."""
        self.value(key)                                        # refuses unknown keys
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ControlError(f"{key}: expected a number, got {value!r}"[:200])
        try:
            value = float(value)                               # a JSON integer may have hundreds of digits
        except OverflowError:
            raise ControlError(f"{key}: too large ({len(str(abs(value)))} digits)") from None
        if not math.isfinite(value):
            raise ControlError(f"{key}: expected a finite number, got {value!r}")
        if not key.startswith("sizing."):
            try:                                               # the field's bounds and its validators
                trial = self.settings.model_copy()
                Settings.__pydantic_validator__.validate_assignment(trial, key, value)
            except ValidationError as exc:
                msg = exc.errors()[0]["msg"]
                raise ControlError(f"{key}: {msg.removeprefix('Value error, ')}") from None
            return getattr(trial, key)
        return self._sizing_with(key, value)

    def _sizing_with(self, key: str, value):
        data = self.settings.sizing.model_dump()
        _, section, name = key.split(".")
        data[section][name] = value
        try:
            checked = from_toml_dict(data)
        except SizingConfigError as exc:
            raise ControlError(str(exc)) from None
        problems = sizing_bound_problems(checked)         # the bounds arbbot.config adds (int64 µ$)
        if problems:
            raise ControlError("; ".join(problems))
        return checked

    def set(self, key: str, value, who: str) -> dict:
        """Validate, apply to the running bot, audit: all or nothing. Returns {"key", "old", "new"}."""
        self._require_trading("config")
        checked = self.validate(key, value)
        old = self.value(key)
        saved = self._save()
        try:
            self._apply(key, checked)
        except Exception as exc:           # noqa: BLE001 - undone whole, then answered
            try:
                self._restore(saved, key)
            except Exception as again:     # noqa: BLE001 - said in the answer and the log
                log.error("operator.config_undo_failed", who=who, key=key, error=f"{type(again).__name__}: {again}")
                raise NotApplied(f"{key}: could not be applied ({type(exc).__name__}: {exc}) nor undone "
                                 f"({type(again).__name__}: {again}); restart the bot") from None
            log.error("operator.config_not_applied", who=who, key=key, error=f"{type(exc).__name__}: {exc}")
            raise NotApplied(f"{key}: could not be applied ({type(exc).__name__}: {exc}); nothing changed") \
                from None
        new = self.value(key)
        self.version += 1
        self.store.add_event("config_changed", who=who, key=key, old=old, new=new)
        log.warning("operator.config_changed", who=who, key=key, old=old, new=new)
        return {"key": key, "old": old, "new": new}

    def _save(self) -> dict:
        """What `_apply` may change, to put back if it fails half way."""
        s, trader, session = self.settings, self.trader, self.session
        exposure = getattr(trader.gates, "exposure", None) if getattr(trader, "gates", None) is not None else None
        executor = getattr(trader, "executor", None)
        return {"settings": (s.min_profit, s.max_contracts, s.sizing),
                "executor": executor.config if executor is not None else None,
                "session": None if session is None else (session.max_qty, session.min_profit, session.universe),
                "exposure": None if exposure is None else (exposure.per_venue, exposure.per_event,
                                                             exposure.per_market)}

    def _restore(self, saved: dict, key: str) -> None:
        s, trader, session = self.settings, self.trader, self.session
        s.min_profit, s.max_contracts, s.sizing = saved["settings"]
        if saved["executor"] is not None:
            trader.executor.config = saved["executor"]
        if saved["exposure"] is not None:
            trader.gates.exposure.per_venue, trader.gates.exposure.per_event, trader.gates.exposure.per_market = \
                saved["exposure"]
        if saved["session"] is not None:
            session.max_qty, session.min_profit, session.universe = saved["session"]
            if key in ("min_profit", "max_contracts"):    # the engine's limits may have moved: put back
                retune_engine(session)
        sizer = getattr(trader, "sizer", None)
        if key.startswith("sizing.") and sizer is not None:
            sizer.reconfigure(s.sizing)
            sizer.refresh(trader.cash)

    def _apply(self, key: str, checked) -> None:
        s, trader, session = self.settings, self.trader, self.session
        if key == "min_profit":
            s.min_profit = checked                           # the sizer reads settings.min_profit
            trader.executor.config = dataclasses.replace(trader.executor.config, min_profit=usd(checked))
            if session is not None:
                session.min_profit = usd(checked)
                retune_engine(session)
        elif key == "max_contracts":
            s.max_contracts = checked
            if session is not None:
                session.max_qty = cap_lots(checked)     # whole lots, rounded down: never above the cap
                retune_engine(session)
        else:
            s.sizing = checked
            if key in _EXPOSURE and trader.gates.exposure is not None:
                setattr(trader.gates.exposure, _EXPOSURE[key], usd(self.value(key)))
            sizer = trader.sizer
            if sizer is not None:
                sizer.reconfigure(checked)                   # lanes the drift monitor took out stay out
                sizer.refresh(trader.cash)                   # the portfolio steps read the new limits


def retune_engine(session) -> None:
    """Make the session's engine size with its current `max_qty` (lots) / `min_profit` (µ$)
    (`LiveSession.retune`: in place, nothing rebuilt)."""
    if session.engine is not None and session.universe is not None:
        session.retune()
