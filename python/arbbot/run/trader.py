"""Paper (or live) trading of a session's opportunities: risk gates → sizing checks → one
sequential execution at a time (arbbot.execution), never blocking the book stream.

Sizing here is the pipeline's first steps: the per-trade cap is the engine's `max_qty` (the
engine sizes every opportunity within it, equal contracts on every leg, floored to the largest
lot); a Polymarket leg must cost at least the venue's $1 marketable-order minimum; each venue's
cash must cover its legs' cost + fees. Units: lots, µ$.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from arbbot.engine import Opportunity
from arbbot.execution.executor import Executor, Refused
from arbbot.risk.gates import RiskGates

POLYMARKET_MIN_ORDER = 1_000_000     # µ$: $1 minimum on marketable (FOK/FAK) orders


@dataclass
class TradeStats:
    offered: int = 0
    skipped: Counter = field(default_factory=Counter)       # reason → opportunities not traded
    executions: Counter = field(default_factory=Counter)    # final state → count
    locked_in: int = 0            # µ$: payout of completed executions' filled lots + their cash flow
    realised: int = 0             # µ$: cash flow of unwound executions (usually a loss)
    last: list = field(default_factory=list)                # (execution id, state, reason), newest first


class PaperTrader:
    def __init__(self, executor: Executor, gates: RiskGates, venues: dict[str, object],
                 event_of=lambda market: market) -> None:
        self.executor = executor
        self.gates = gates
        self.venues = venues
        self.event_of = event_of
        self.stats = TradeStats()
        self._task: asyncio.Task | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def offer(self, opp: Opportunity) -> None:
        """Called for every newly reported opportunity (on the event loop); never blocks."""
        self.stats.offered += 1
        if self.busy:
            self.stats.skipped["busy"] += 1
            return
        reasons = self.gates.check(opp, self.event_of) + self._minimums(opp)
        if reasons:
            self.stats.skipped[reasons[0].split(":")[0].split(" after")[0]] += 1
            return
        self._task = asyncio.create_task(self._execute(opp), name=f"execute-{opp.id}")

    @staticmethod
    def _minimums(opp: Opportunity) -> list[str]:
        return [f"venue minimum: {leg.market} order ${leg.cost / 1e6:.2f} < $1" for leg in opp.legs
                if leg.market.startswith("polymarket:") and leg.cost < POLYMARKET_MIN_ORDER]

    async def _balances_cover(self, opp: Opportunity) -> str | None:
        need: Counter = Counter()
        for leg in opp.legs:
            need[leg.market.split(":", 1)[0]] += leg.cost + leg.fee
        for venue, amount in need.items():
            cash = (await self.venues[venue].balance()).cash_micros
            if cash < amount:
                return f"balance: {venue} has ${cash / 1e6:.2f}, needs ${amount / 1e6:.2f}"
        return None

    async def _execute(self, opp: Opportunity) -> None:
        try:
            short = await self._balances_cover(opp)
            if short:
                self.stats.skipped["balance"] += 1
                return
            result = await self.executor.execute(opp)
        except Refused as exc:
            self.stats.skipped[str(exc).split(":")[0]] += 1
            return
        except Exception as exc:     # an execution error must not kill the session; it is counted
            self.stats.executions["error"] += 1
            self.stats.last.insert(0, (opp.id, "error", f"{type(exc).__name__}: {exc}"))
            return
        self.stats.executions[result.state] += 1
        if result.state == "complete":
            filled = min(result.filled.values()) if result.filled else 0
            payout = filled * 10_000 * (opp.payout // (opp.qty * 10_000) if opp.qty else 0)
            self.stats.locked_in += payout + result.cash_flow
        elif result.state == "unwound":
            self.stats.realised += result.cash_flow
        self.stats.last.insert(0, (result.execution_id, result.state, result.reason))
        del self.stats.last[10:]
        self.gates.on_execution(result, failure=result.state in ("unwound", "naked"))

    async def drain(self) -> None:
        """Wait for the execution in flight (shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


async def attach_paper_trader(session, db_path: str, *, kill_file: str | None = None,
                              daily_loss_cap: int = 50_000_000, per_venue_exposure: int | None = None) -> PaperTrader:
    """Open the order store, reconcile it with the venues (crash recovery: adopt what exists,
    fail what never reached a venue, safe mode on any unhedged position), then trade the
    session's new opportunities. Call after `session.discover()`, before `start_streams()`."""
    from arbbot.execution.executor import ExecutorConfig, Route
    from arbbot.execution.recovery import recover
    from arbbot.execution.store import OrderStore
    from arbbot.risk.breaker import CircuitBreaker
    from arbbot.risk.killswitch import KillSwitch
    from arbbot.risk.limits import DailyLossCap, ExposureLimits

    store = OrderStore(db_path)
    report = await recover(store, session.venues)
    routes = {f"{m.venue.value}:{m.market_id}": Route(session.venues[m.venue.value], m.market_id)
              for m in session.markets}
    gates = RiskGates(KillSwitch(kill_file), DailyLossCap(daily_loss_cap),
                      ExposureLimits(per_venue=per_venue_exposure), CircuitBreaker())
    events = {f"{m.venue.value}:{m.market_id}": f"{m.venue.value}:{m.event_id or m.market_id}" for m in session.markets}
    trader = PaperTrader(Executor(store, routes, config=ExecutorConfig(min_profit=1), risk=None), gates,
                         session.venues, event_of=lambda market: events.get(market, market))
    trader.store, trader.recovery = store, report
    session.on_opportunity = trader.offer
    return trader
