"""The portfolio the sizing pipeline reads (SIZING.md "Inputs"), and the drawdown state machine.

Money is µ$ (integers): free cash per venue, equity E (cash + positions marked at mid), the equity
peak, held and in-flight cost per venue / market / event / category, today's realised loss, the
summed loss budgets of trades in flight, and per-lane daily realised PnL (one entry per day that
had realised PnL in the lane, oldest first). `history` holds the raw samples of step 5.

A **fresh portfolio** (`fresh(bankroll, venues)`): the bankroll split equally in whole µ$ over the
venues (the first gets the remainder), E = peak = bankroll, nothing held, no history.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from arbbot.engine.types import Lane
from arbbot.model import Venue
from arbbot.sizing.robust import History

NORMAL, CAUTION, STOP = "normal", "caution", "stop"


@dataclass(frozen=True, slots=True)
class Exposure:
    """Cost in µ$ already held (filled positions) and in flight (orders of open executions)."""
    held: int = 0
    inflight: int = 0


@dataclass(frozen=True)
class Portfolio:
    cash: dict[Venue, int]                                   # free cash per venue, µ$
    equity: int                                              # E, µ$
    peak: int                                                # equity peak, µ$
    venues: dict[Venue, Exposure] = field(default_factory=dict)
    markets: dict[str, Exposure] = field(default_factory=dict)      # by `venue:id`
    events: dict[str, Exposure] = field(default_factory=dict)
    categories: dict[str, Exposure] = field(default_factory=dict)
    realised_loss_today: int = 0                             # µ$ ≥ 0, since the risk day started
    inflight_budgets: int = 0                                # µ$: step 10 budgets of trades in flight
    lane_pnl: dict[Lane, tuple[int, ...]] = field(default_factory=dict)   # daily realised PnL, µ$
    drawdown_stopped: bool = False                           # a latched drawdown stop (until ack / day)
    history: History = field(default_factory=History)

    @property
    def drawdown_pct(self) -> float:
        """(peak − E) / peak in percent; 0 when the peak is 0 (nothing to lose)."""
        return 0.0 if self.peak <= 0 else (self.peak - self.equity) / self.peak * 100.0


def fresh(bankroll: int, venues: list[Venue]) -> Portfolio:
    """`bankroll` µ$ split equally over `venues` (distinct, in order); the first gets the remainder."""
    if bankroll < 0:
        raise ValueError(f"bankroll {bankroll} µ$ must be ≥ 0")
    cash: dict[Venue, int] = {}
    if venues:
        share, rest = divmod(bankroll, len(venues))
        cash = {v: share for v in venues}
        cash[venues[0]] += rest
    return Portfolio(cash=cash, equity=bankroll, peak=bankroll)


# ---- drawdown state (persisted by the order store) ------------------------------------------------

@dataclass(frozen=True, slots=True)
class DrawdownState:
    """The equity peak (µ$) and the drawdown stop latch; `stopped_ms` when the stop started (0 = none)."""
    peak: int = 0
    stopped_ms: int = 0

    @property
    def stopped(self) -> bool:
        return self.stopped_ms > 0


def drawdown_reaches(peak: int, equity: int, pct: float) -> bool:
    """(peak − equity) / peak ≥ `pct` %, decided exactly: µ$ integers against the percentage as the
    decimal it is written as (29 is 29, 7.3 is 73/10, not the binary float 7.2999…); a floating
    division would call a 29 % drawdown 28.999999999999996 % and miss the stop. The drawdown is 0
    when the peak is ≤ 0 (nothing to lose)."""
    num, den = Decimal(repr(float(pct))).as_integer_ratio()
    lost, base = ((peak - equity) * 100, peak) if peak > 0 else (0, 1)
    return lost * den >= num * base


def tier(peak: int, equity: int, stopped: bool, caution_pct: float, halt_pct: float) -> str:
    """"stop" when latched or drawdown ≥ halt_pct, "caution" from caution_pct, else "normal"."""
    if stopped or drawdown_reaches(peak, equity, halt_pct):
        return STOP
    return CAUTION if drawdown_reaches(peak, equity, caution_pct) else NORMAL


def day_start_ms(now_ms: int, day_start_utc: str) -> int:
    """The latest risk-day start (`HH:MM` UTC) at or before `now_ms`."""
    hours, minutes = (int(x) for x in day_start_utc.split(":"))
    now = datetime.fromtimestamp(now_ms / 1000, timezone.utc)
    start = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if start > now:
        start -= timedelta(days=1)
    return int(start.timestamp() * 1000)


def advance(state: DrawdownState, equity: int, now_ms: int, *, halt_pct: float, reset: str,
            day_start_utc: str = "00:00") -> DrawdownState:
    """The state after observing equity `equity` µ$ at `now_ms`: the peak rises to E; a stop with
    `reset = "day"` that started before today's day start is cleared and the peak restarts at E
    (else the same drawdown would latch it again at once); drawdown ≥ halt_pct latches a stop. `arbbot ack` clears it (`OrderStore.clear_drawdown_stop`)."""
    peak, stopped_ms = state.peak, state.stopped_ms
    if stopped_ms and reset == "day" and stopped_ms < day_start_ms(now_ms, day_start_utc):
        peak, stopped_ms = equity, 0          # like `arbbot ack`: the peak restarts at E
    peak = max(peak, equity)
    if not stopped_ms and drawdown_reaches(peak, equity, halt_pct):
        stopped_ms = now_ms
    return DrawdownState(peak, stopped_ms)


def with_drawdown(portfolio: Portfolio, state: DrawdownState) -> Portfolio:
    """The portfolio with the persisted peak (never below E) and stop latch."""
    return replace(portfolio, peak=max(state.peak, portfolio.equity), drawdown_stopped=state.stopped)
