"""`arbbot status --db D [--json]`: the risk state of an order store, from any process.

Prints `arbbot.status/1` (one JSON line with --json):

    {"format": "arbbot.status/1", "safe_mode": false, "halted": false, "daily_loss_usd": "12.340000",
     "daily_fees_usd": "0.120000", "open_executions": 0, "breaker": "closed", "drawdown_tier": "normal",
     "equity_peak_usd": "10000.000000", "fee_held_markets": [], "trading_mode": "venue"}

- safe_mode: the store is in safe mode (an unhedged position awaits `arbbot ack`);
- halted: the kill file (config `kill_file`, created by `arbbot halt`) exists, or a dashboard halt
  no kill file held is kept in the store (a restarted bot starts halted);
- daily_loss_usd: realised loss of the current risk day (the store's loss ledger: executions that
  ended unwound or naked, and complete ones that lost on lots they unwound or locked in a loss — a
  last leg bought after its edge went; fees included, not netted against profits; the day starts
  at config `day_start_utc`). `arbbot report`'s realised PnL nets them against gains;
- daily_fees_usd: fees of every fill recorded in the current risk day;
- open_executions: executions still `executing` (recovery resolves them at the next start);
- breaker: the circuit breaker's persisted state (closed | open | half_open once its cooldown
  has passed);
- drawdown_tier: the sizing drawdown manager's tier (normal | caution | stop; a stop lasts until
  `arbbot ack`, or the next day start with `[sizing.drawdown_manager] reset = "day"`);
- equity_peak_usd: the persisted equity peak ("0.000000" before the first observation);
- fee_held_markets: the markets held out of trading because a venue charged more than their fee
  schedule (the fee terms changed unseen), sorted; `arbbot ack` releases them;
- trading_mode: paper (filled by the local fill engine: no order was ever sent), venue (traded at
  the venues or a simulator) or null (nothing traded yet).

Money: dollars as strings with exactly 6 decimals. The store must exist (it is never created);
an older schema is migrated forward on open. Exit status 2 on a missing or unusable store or an
invalid configuration.
"""
from __future__ import annotations

import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from arbbot.risk.killswitch import stored_halt
from arbbot.units import format_money

FORMAT = "arbbot.status/1"
EXIT_OK, EXIT_INPUT = 0, 2


@dataclass(frozen=True)
class Status:
    """Everything `arbbot status` reports (µ$ integers; wall ms)."""
    safe_mode: str | None           # reason, None when not in safe mode
    kill_file: str                  # "" = no kill file configured
    halted: bool
    daily_loss: int                 # µ$ ≥ 0
    daily_fees: int                 # µ$ ≥ 0
    daily_loss_cap: int             # µ$ > 0
    day: tuple[int, int]            # the risk day [start_ms, end_ms)
    open_executions: int
    breaker: str                    # closed | open | half_open
    breaker_failures: int
    drawdown_tier: str              # normal | caution | stop
    equity_peak: int                # µ$
    fee_holds: dict[str, str]       # market name → why it is held for fees
    trading_mode: str | None = None # paper | venue | None (nothing traded)
    stored_halt: str | None = None  # a dashboard halt kept in the store (no kill file held it)

    def to_json(self) -> dict:
        """The `arbbot.status/1` object."""
        return {"format": FORMAT, "safe_mode": self.safe_mode is not None, "halted": self.halted,
                "daily_loss_usd": format_money(self.daily_loss), "daily_fees_usd": format_money(self.daily_fees),
                "open_executions": self.open_executions, "breaker": self.breaker,
                "drawdown_tier": self.drawdown_tier, "equity_peak_usd": format_money(self.equity_peak),
                "fee_held_markets": sorted(self.fee_holds), "trading_mode": self.trading_mode}


def collect(store, settings, now_s: float | None = None) -> Status:
    """The status of `store` under `settings` at `now_s` (Unix seconds; default: now)."""
    from arbbot.config import usd
    from arbbot.risk.limits import DailyLossCap

    now = time.time() if now_s is None else now_s
    cap = DailyLossCap(usd(settings.daily_loss_cap_usd), store, day_start_utc=settings.day_start_utc,
                       clock=lambda: now)
    row = store.breaker_state()
    drawdown_tier, peak = drawdown(store, settings, int(now * 1000))
    stored = stored_halt(store)
    return Status(safe_mode=store.safe_mode(), kill_file=settings.kill_file,
                  halted=bool(settings.kill_file) and Path(settings.kill_file).exists() or stored is not None,
                  stored_halt=stored,
                  daily_loss=cap.loss, daily_fees=cap.fees, daily_loss_cap=cap.cap, day=cap.day(),
                  open_executions=store.count_executions(),
                  breaker="closed" if row is None else row.effective_state(int(now * 1000)),
                  breaker_failures=0 if row is None else row.failures, drawdown_tier=drawdown_tier, equity_peak=peak,
                  fee_holds=store.fee_holds(), trading_mode=store.trading_mode())


def drawdown(store, settings, now_ms: int) -> tuple[str, int]:
    """(tier, peak µ$) of the persisted drawdown state as of `now_ms` (a `reset = "day"` stop from
    before today's day start no longer counts), read-only."""
    from arbbot.sizing.portfolio import NORMAL, DrawdownState, advance, tier

    row = store.drawdown()
    if row is None:
        return NORMAL, 0
    peak, equity, stopped_ms, _ = row
    dm = settings.sizing.drawdown_manager
    state = advance(DrawdownState(peak, stopped_ms), equity, now_ms, halt_pct=dm.halt_pct, reset=dm.reset,
                    day_start_utc=settings.day_start_utc)
    return tier(state.peak, equity, state.stopped, dm.caution_pct, dm.halt_pct), state.peak


def render(st: Status, path: str) -> None:
    """A short human table on standard output."""
    from datetime import datetime, timezone

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    def utc(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    # text from the store, the settings or the command line is escaped: never read as rich markup
    table = Table(title=f"arbbot status: {escape(path)}", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("trading", {"paper": "[bold yellow]PAPER[/bold yellow] (no order was sent)",
                              "venue": "at the venues (or a simulator)"}.get(st.trading_mode, "nothing yet"))
    table.add_row("safe mode", f"[red]YES[/red]: {escape(st.safe_mode)} (arbbot ack)" if st.safe_mode else "no")
    if st.kill_file and Path(st.kill_file).exists():
        halted = f"[red]YES[/red]: {escape(str(st.kill_file))} exists (arbbot resume)"
    elif st.stored_halt is not None:
        halted = f"[red]YES[/red]: {escape(st.stored_halt)} (halted from the dashboard; resume there, or arbbot resume)"
    else:
        halted = "no"
    table.add_row("halted", halted)
    table.add_row("daily loss", f"${format_money(st.daily_loss)} of ${format_money(st.daily_loss_cap)} cap"
                  + (" [red](cap reached)[/red]" if st.daily_loss >= st.daily_loss_cap else ""))
    table.add_row("daily fees", f"${format_money(st.daily_fees)}")
    table.add_row("risk day", f"{utc(st.day[0])} → {utc(st.day[1])}")
    table.add_row("open executions", str(st.open_executions))
    table.add_row("breaker", escape(str(st.breaker)) + (f" ({st.breaker_failures} consecutive failures)"
                                           if st.breaker_failures else ""))
    table.add_row("drawdown", ("[red]STOP[/red] (arbbot ack)" if st.drawdown_tier == "stop"
                               else escape(st.drawdown_tier))
                  + f", equity peak ${format_money(st.equity_peak)}")
    for market, why in sorted(st.fee_holds.items()):
        table.add_row("fee hold", f"[red]{escape(market)}[/red]: {escape(why)} (arbbot ack)")
    Console(width=None if sys.stdout.isatty() else 120).print(table)


def main(db: str | None, as_json: bool = False, now_s: float | None = None) -> int:
    """The `arbbot status` command. Returns the exit status."""
    from arbbot.config import ConfigError, load_settings
    from arbbot.execution.schema import SchemaError
    from arbbot.execution.store import OrderStore

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"arbbot status: {exc}", file=sys.stderr)
        return EXIT_INPUT
    path = db or settings.db_path
    try:
        store = OrderStore(path, create=False)
    except FileNotFoundError:
        print(f"arbbot status: no order store at {path}", file=sys.stderr)
        return EXIT_INPUT
    except SchemaError as exc:
        print(f"arbbot status: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except sqlite3.DatabaseError as exc:
        print(f"arbbot status: {path} is not a usable order store: {exc}", file=sys.stderr)
        return EXIT_INPUT
    try:
        st = collect(store, settings, now_s)
    finally:
        store.close()
    if as_json:
        print(json.dumps(st.to_json()))
    else:
        render(st, path)
    return EXIT_OK
