"""Paper (or live) trading of a session's opportunities: sizing → risk gates → one sequential
execution at a time (arbbot.execution), never blocking the book stream.

Every accepted opportunity is sized by the twelve-step pipeline (`arbbot.run.sizer`, SIZING.md)
within the engine's `max_qty`; the risk gates then check it at its sized quantity (kill switch,
daily loss cap, exposure, breaker), a Polymarket leg must cost at least the venue's $1
marketable-order minimum, and each venue's cash must cover its legs' cost + fees. The execution
stores the sizing record with its row. Units: lots, µ$.
"""
from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

from arbbot.engine import Opportunity
from arbbot.engine.types import Lane
from arbbot.model import MarketId, Venue
from arbbot.execution.eager import start_eager
from arbbot.execution.executor import POLYMARKET_MIN_ORDER, Executor, Refused
from arbbot.execution.recovery import RecoveryReport
from arbbot.execution.store import OrderStore
from arbbot import logs
from arbbot.risk.gates import RiskGates
from arbbot.risk.limits import ExposureLimits, Held
from arbbot.mapping.selection import BucketSelector, group_key
from arbbot.ops.drift import SKIP_REASON as DRIFT_SKIP, DriftConfig, DriftMonitor
from arbbot.ops.reporting.pnl import COUNTED
from arbbot.run.quotes import StreamedQuotes
from arbbot.run.sizer import SessionSizer
from arbbot.sizing.trade import RelationIndex
from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.interface import VenueClient
from arbbot.venues.kalshi.fees import ROUNDING_ALLOWANCE_MICROS
from arbbot.units import format_money

log = logs.get("trade")

SIZING_REFRESH_S = 5.0       # samples to the store and the portfolio re-read at least this often
REFRESH_RETRY_BASE_S = 0.1   # a failed portfolio refresh is tried again (periodic refresh) after a backoff from this …
REFRESH_RETRY_CAP_S = 5.0    # … up to this (offers are refused meanwhile)
CASH_TRACKED_MAX = 10_000    # executions whose cash moves are kept for late fills (the oldest forgotten)
EAGER_START = True           # False: a plain Task (the A/B of `python -m arbbot.bench.order_path --eager both`)



# a finished execution's part in the run's counts stays revisable this long (seconds): a venue that
# reverts fills (Polymarket's FAILED trades) re-hedges it within `settlement_watch_s` (15 min)
COUNTED_KEEP_S = 3_600.0


@dataclass
class TradeStats:
    offered: int = 0
    skipped: Counter = field(default_factory=Counter)       # reason → opportunities not traded
    executions: Counter = field(default_factory=Counter)    # state now → count (a re-hedged one moves)
    ended: Counter = field(default_factory=Counter)         # state → endings, never decreasing (metrics)
    locked_in: int = 0            # µ$: payout of completed executions' filled lots + their cash flow
    realised: int = 0             # µ$: cash flow of unwound executions (usually a loss)
    last: list = field(default_factory=list)                # (execution id, state, reason), newest first
    pnl_path: list = field(default_factory=list)            # µ$ each finished execution added (locked-in or realised)


class PaperTrader:
    """Risk gates, then one sequential execution at a time through `executor`, against `venues`
    (name → VenueClient), recording in `store`; `recovery` is the start's crash-recovery report."""

    def __init__(self, executor: Executor, gates: RiskGates, venues: dict[str, VenueClient], store: OrderStore, *,
                 recovery: RecoveryReport | None = None, event_of=lambda market: market, sizer=None,
                 buckets=None, bucket_group=None, clock=time.time, drift=None, refresh_off_loop: bool = False) -> None:
        self.executor = executor
        self.gates = gates
        self.venues = venues
        self.store = store
        self.recovery = recovery
        self.event_of = event_of
        self.markets_added = lambda infos: None  # (MarketInfo, …) joined mid-session: see attach_paper_trader
        self.sizer = sizer                       # SessionSizer, or None: trade at the engine's quantity
        self._counted: dict[str, _Counted] = {}  # execution id → its part in the counts (COUNTED_KEEP_S)
        self.buckets = buckets                   # BucketSelector, or None: every bucket group is traded
        self.bucket_group = bucket_group         # Opportunity → its bucket group key
        self.clock = clock
        self.drift = drift                       # DriftMonitor (arbbot.ops.drift), or None: no drift monitor
        self.stats = TradeStats()
        # True: the sizer's refreshes read and write the store on a worker thread while the book
        # stream goes on (`arbbot run`); False: on the loop (a replay, whose virtual clock must not
        # move while a thread works)
        self.refresh_off_loop = refresh_off_loop
        self.refreshing = False                  # a refresh off the loop is under way: no new execution
        self.refreshes = 0                       # refreshes started (on the loop or off it)
        self.refresh_ns: list[int] = []          # wall time of each refresh, ns (newest 2,000)
        self._refresh_lock = asyncio.Lock()      # one refresh at a time, in the order asked
        self._planning: asyncio.Task | None = None   # the sizer planning ahead on the last portfolio
        self._task: asyncio.Task | None = None
        self.cash: dict[str, int] = {}           # venue → cash µ$, kept from fills between refreshes
        # venue → the store's event_seq() when its cash was last read (`refresh_balances`): the sizer
        # values a market resolved and paid since at its payout (not in that cash yet)
        self.cash_read_seq: dict[str, int] = {}
        # execution → venue → µ$ the kept cash was moved by for it (`_spent`) since that venue's cash
        # was last read: late-listed or adopted fills (`cash_changed`) move it by what they change
        self._cash_moved: dict[str, dict[str, int]] = {}
        self._stale = False                      # the last portfolio refresh failed: no new execution
        self._resolving = 0                      # resolution polls under way (`resolve_now`)
        if sizer is not None and hasattr(sizer, "cash_read"):
            sizer.cash_read = self.cash_read_seq     # the same map: every refresh reads it as it is
        if hasattr(executor, "on_cash_change"):
            executor.on_cash_change = self.cash_changed
        if hasattr(executor, "room"):
            executor.room = self.completion_room
        if hasattr(executor, "stops") and self.gates is not None:
            executor.stops = self.gates.stops
        if hasattr(executor, "on_rehedged"):
            executor.on_rehedged = self.rehedged
        # reconciliations and re-reads of the limits under way (`reconcile_now`, `resolve_now`: two
        # tasks, each may overlap the other): no new execution while any is (`reconciling`)
        self._reconciling = 0
        self.reconcile_differences: int | None = None   # of the last reconciliation (None: none ran yet)
        self.reconciliations = 0
        self.resolutions_known = self._resolutions_seen()   # what the exposure limits were seeded with

    @property
    def reconciling(self) -> bool:
        """A reconciliation (or a re-read of the limits after new results) is reading the venues:
        no new execution starts. A count, not a flag: the resolution task's re-read ending while
        a reconciliation is still reading must not let an execution start under it."""
        return self._reconciling > 0

    async def reconcile_now(self) -> int:
        """Compare the store with the venues (between executions); any difference enters safe
        mode. Returns the number of differences."""
        from arbbot.execution.reconcile import reconcile
        await self.resolve_now()           # a market the venue settled and paid out since is no difference
        while self._in_flight:
            await asyncio.sleep(0.05)
        self._reconciling += 1
        try:
            await self.recover_left_open()
            known: dict[str, list] = {}           # the session's markets: no re-listing per reconciliation
            for route in self.executor.routes.values():
                if route.info is not None:
                    known.setdefault(route.client.venue, []).append(route.info)
            report = await reconcile(self.store, self.venues, known, adopt_late=True)
            await self.refresh_balances()
        finally:
            self._reconciling -= 1
        self.reconciliations += 1
        self.reconcile_differences = report["differences"]
        for venue, section in report["venues"].items():
            for market_id in section.get("redeemed", ()):     # its payout is in the cash: redeemed since
                if self.store.mark_paid(f"{venue}:{market_id}"):
                    log.info("market.redeemed", venue=venue, market=market_id)
        if report["differences"]:
            found = [f"{v}: {d['what']} {d['id']} venue={d['venue']} store={d['store']}"
                     for v, sec in report["venues"].items() for d in sec["differences"]]
            log.warning("reconcile.differences", count=report["differences"], differences=found[:20])
            self.store.enter_safe_mode(f"reconciliation found {report['differences']} difference(s): "
                                       + "; ".join(found[:3]))
        else:
            log.info("reconcile.ok", venues=sorted(report["venues"]))
        return report["differences"]

    async def recover_left_open(self) -> dict[str, str]:
        """Decide the executions the store holds open while none runs (called between executions):
        those crash recovery left open because an order of theirs was still resting or pending at
        its venue (safe mode named it). Before, they stayed open until the next start, in no
        exposure count, even after an operator's ack let the bot trade again. Recovery's rules
        (`recover_executions`): naked, in safe mode, where a leg is held alone. Execution id → state."""
        from arbbot.execution.recovery import recover_executions
        from arbbot.execution.store import EXEC_OPEN
        left = [x.id for x in self.store.executions(EXEC_OPEN)]
        if not left or self.store.safe_mode():
            # in safe mode nothing trades: decided once an operator's ack lets trading resume (an
            # order still pending then is safe mode again, after up to recovery's settling wait)
            return {}
        try:
            states = await recover_executions(self.store, self.venues, left,
                                              reason="left open while an order was pending")
        except VenueError as exc:            # asked again at the next reconciliation
            log.warning("recovery.left_open_failed", executions=left, error=str(exc))
            return {}
        log.warning("recovery.left_open", executions=left, states=states)
        if states:
            self.exposure_from_store()          # their legs count in the limits from now on
        return states

    async def reconcile_every(self, interval_s: float) -> None:
        """Reconcile every `interval_s` seconds until cancelled; a failed read (whatever the error)
        is logged and retried at the next interval (the store is never changed by it)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.reconcile_now()
            except VenueError as exc:
                log.warning("reconcile.failed", error=str(exc))
            except Exception as exc:          # noqa: BLE001 - a venue's unexpected error must not end the task
                log.error("reconcile.failed", error=f"{type(exc).__name__}: {exc}")

    async def resolve_now(self) -> int:
        """Ask every venue that publishes results (`resolutions`) for the markets terminal
        executions still hold lots in (`OrderStore.held_markets`), record the final ones
        (`OrderStore.record_resolution`: a naked leg's loss is booked again at what its lots paid)
        and release what resolved markets held from the exposure limits, between executions. No
        periodic refresh runs meanwhile (`refresh_sizing_every`). A venue that cannot answer is logged and
        asked again next time; the others go on. A result the operator recorded or corrected
        (`arbbot resolve`, another process) is taken up here too. Returns the resolutions recorded."""
        while self._in_flight:
            await asyncio.sleep(0.05)
        self._resolving += 1                  # no periodic refresh meanwhile (`refresh_sizing_every`)
        try:
            return await self._resolve()
        finally:
            self._resolving -= 1

    async def _resolve(self) -> int:
        recorded = 0
        for name, ids in sorted(self.store.held_markets().items()):
            venue = self.venues.get(name)
            if venue is None or not hasattr(venue, "resolutions"):
                continue                      # ForecastEx publishes no result: the operator records it
            try:
                found = await venue.resolutions(sorted(ids))
            except VenueError as exc:
                log.warning("resolve.failed", venue=name, error=str(exc))
                continue
            for res in found:
                if self.store.record_resolution(res):
                    recorded += 1
                    log.info("market.resolved", venue=name, market=res.market_id, result=res.result,
                             yes_value=res.yes_value, paid=res.paid)
        while self._in_flight:                # an execution may have started while the venues answered
            await asyncio.sleep(0.05)
        known = self._resolutions_seen()
        if known != self.resolutions_known:
            self._reconciling += 1            # no new execution until the limits and cash are re-read
            try:
                self.resolutions_known = known
                self.store.ledger_version += 1    # losses booked again (maybe by another process): re-read
                self.exposure_from_store()
                await self.refresh_balances()     # a venue that paid out has more cash
            finally:
                self._reconciling -= 1
            try:
                await self.refresh_sizing_async()
            except Exception as exc:          # noqa: BLE001 - the periodic refresh tries again (offers refused)
                self._stale = True
                log.error("sizing.refresh_failed", error=f"{type(exc).__name__}: {exc}", after="resolutions")
        return recorded

    def _resolutions_seen(self) -> tuple:
        """What the store's resolutions say now (a change, wherever it was written, is taken up)."""
        return tuple((m, r.result, r.yes_value, r.paid) for m, r in self.store.resolutions().items())

    async def resolve_every(self, interval_s: float) -> None:
        """`resolve_now` every `interval_s` seconds until cancelled; a failure is logged and tried
        again at the next interval (the poll never ends on one)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.resolve_now()
            except Exception as exc:          # noqa: BLE001 - e.g. the store's disk: logged, retried
                log.error("resolve.failed", error=f"{type(exc).__name__}: {exc}")

    @property
    def busy(self) -> bool:
        """An execution runs, or the portfolio is being re-read (sizing waits for the new one), or
        the last re-read failed (nothing is sized on the portfolio it should have replaced)."""
        return self.refreshing or self._stale or self._executing

    @property
    def _executing(self) -> bool:
        """An execution runs, or the executor re-hedges one that ended (a fill its venue reverted:
        `Executor.revert_fills`): no new one starts, no reconciliation reads the venues meanwhile."""
        return (self._task is not None and not self._task.done()) or getattr(self.executor, "repairing", False)

    @property
    def _in_flight(self) -> bool:
        """An execution runs or the portfolio is being re-read: what a reconciliation or a
        resolution poll waits for (not a failed re-read, `_stale`: those must still run)."""
        return self.refreshing or self._executing

    def offer(self, opp: Opportunity) -> None:
        """Called for every newly reported opportunity (on the event loop); never blocks."""
        self.stats.offered += 1
        if self.busy or self.reconciling:
            self.stats.skipped["busy"] += 1
            if self.sizer is not None:
                self.sizer.remember(opp)        # planned ahead once the trader is free
            return
        stops = self.gates.stops()
        if stops:
            self.stats.skipped[_category(stops[0])] += 1
            return
        if self.drift is not None and opp.lane in self.drift.disabled_lanes:   # in memory, no store read
            self.stats.skipped[DRIFT_SKIP] += 1
            return
        if self._bucket_disabled(opp):
            self.stats.skipped["bucket group disabled"] += 1
            return
        sizing, budget = None, 0
        if self.sizer is not None:
            sized = self.sizer.size(opp)
            if sized.opportunity is None:
                why = sized.error or f"sizing: {sized.sizing.bound_by}"
                self.stats.skipped["sizing" if sized.error else f"sizing: {sized.sizing.bound_by}"] += 1
                log.debug("trade.skipped", opportunity=opp.id, reason=why)
                return
            opp, sizing, budget = sized.opportunity, sized.record, sized.loss_budget   # record: made later
        # the gates last: a half-open breaker's trial is taken only by a trade that then starts
        why = next(iter(self._minimums(opp)), None) or self._short_of_rounding(opp) or self._balances_cover(opp.legs) \
            or next(iter(self.gates.check(opp, self.event_of)), None)
        if why:
            self.stats.skipped[_category(why)] += 1
            (log.info if why.startswith("balance") else log.debug)("trade.skipped", opportunity=opp.id, reason=why)
            return
        decided = time.perf_counter_ns()            # the decision: sized and through the gates
        # no cyclic-GC pause between this decision and the first order (the executor re-enables
        # it once that order is handed to the adapter, or when the execution ends)
        self.executor.pause_gc()
        # started eagerly: this callback runs the execution up to its first order handed to the
        # adapter, instead of queueing it behind every feed callback already waiting on the loop
        execution = self._execute(opp, decided, sizing, budget)
        self._task = (start_eager(execution, name=f"execute-{opp.id}") if EAGER_START
                      else asyncio.create_task(execution, name=f"execute-{opp.id}"))
        log.info("execution.start", opportunity=opp.id, lane=opp.lane.label, qty=opp.qty, planned_profit=opp.profit)

    def _group(self, opp: Opportunity) -> str | None:
        if self.buckets is None or opp.lane is not Lane.BUCKET:
            return None
        try:
            return self.bucket_group(opp)
        except ValueError:
            return None

    def _bucket_disabled(self, opp: Opportunity) -> bool:
        group = self._group(opp)
        return group is not None and not self.buckets.allowed(group, self.clock())

    def _bucket_outcome(self, opp: Opportunity, result) -> None:
        """One trial of the opportunity's bucket group (`_bucket_success`)."""
        group = self._group(opp)
        if group is not None:
            self.buckets.record(group, _bucket_success(opp, result), self.clock())

    def _short_of_rounding(self, opp: Opportunity) -> str | None:
        """Why `opp`'s planned profit does not cover the minimum profit plus what Kalshi's rounding
        per fill may charge beyond the engine's fee model, `ROUNDING_ALLOWANCE_MICROS` per Kalshi
        leg (arbbot.venues.kalshi.fees), or None. The engine's profit is ARBITRAGE.md's, fees
        rounded up once per order; Kalshi's 2026 rounding of an order filled by several resting
        orders can take up to a cent more, and at a few contracts that is the whole edge."""
        kalshi = sum(1 for leg in opp.legs if leg.market.startswith("kalshi:"))
        if not kalshi:
            return None
        need = self.executor.config.min_profit + kalshi * ROUNDING_ALLOWANCE_MICROS
        if opp.profit >= need:
            return None
        return (f"fee rounding: planned profit ${format_money(opp.profit, trim=True)} under the minimum plus "
                f"${format_money(kalshi * ROUNDING_ALLOWANCE_MICROS, trim=True)} for {kalshi} Kalshi order(s)' rounding")

    @staticmethod
    def _minimums(opp: Opportunity) -> list[str]:
        return [f"venue minimum: {leg.market} order ${leg.cost / 1e6:.2f} < $1" for leg in opp.legs
                if MarketId.parse(leg.market).venue is Venue.POLYMARKET and leg.cost < POLYMARKET_MIN_ORDER]

    async def refresh_balances(self) -> None:
        """Read every venue's cash (µ$): at start and with each reconciliation. Between reads the
        cash is kept from the executions' own fills (`_spent`), so the order path asks no venue.
        Each reading is dated by the store's latest event before it (`cash_read_seq`), and ends
        the venue's part in the kept moves of executions (`_cash_moved`): fills listed later were
        in the venue's cash when it was read."""
        for name, venue in self.venues.items():
            seq = self.store.event_seq()
            self.cash[name] = (await venue.balance()).cash_micros
            self.cash_read_seq[name] = seq
            for xid in list(self._cash_moved):
                moved = self._cash_moved[xid]
                moved.pop(name, None)
                if not moved:
                    del self._cash_moved[xid]

    def rehedged(self, result) -> None:
        """Executor's `on_rehedged`: a venue reverted fills of an execution that had ended (a
        Polymarket trade FAILED on chain) and the executor brought it back to hedged. A leg that
        did not happen is a failed execution for the circuit breaker (repeated reverts stop
        trading). The run's counts, locked-in and realised PnL move from what the execution first
        ended as to what it is now, as the report (read from the store) has it; so does its
        lane's drift window. An execution of an earlier run (re-hedged after a restart) is in no
        count of this run's, only in the drift window (loaded from the store)."""
        if self.gates.breaker is not None:
            self.gates.breaker.record_failure()
        counted = self._counted.pop(result.execution_id, None)
        if counted is not None:
            self._uncount(counted)
            self._count(result, counted.opp)
            group = self._group(counted.opp)
            if group is not None:                # its bucket group's trial too
                self.buckets.revise(group, _bucket_success(counted.opp, counted.result), _bucket_success(
                    counted.opp, result), self.clock())
        if self.drift is not None:
            opp = counted.opp if counted is not None else self.store.opportunity(result.execution_id)
            self.drift.revise(result, opp)
        self.stats.last.insert(0, (result.execution_id, f"re-hedged: {result.state}", result.reason))
        del self.stats.last[10:]
        log.warning("execution.rehedged", execution=result.execution_id, state=result.state, reason=result.reason)

    def completion_room(self, opp: Opportunity, i: int, cost: int) -> str | None:
        """Executor's `room`: why buying leg `i` of `opp` (the execution running) for `cost` µ$
        instead of its planned cost breaches what the trade was admitted under — the exposure
        limits (this execution is not in them until it ends) and the venue's kept cash (not moved
        until it ends) — or None. A completion costing no more than the plan always has room."""
        leg = opp.legs[i]
        if cost <= leg.cost:
            return None
        legs = [Held(other.market, cost if j == i else other.cost, other.fee) for j, other in enumerate(opp.legs)]
        exposure = self.gates.exposure if self.gates is not None else None
        return (exposure.reason(legs, self.event_of) if exposure is not None else None) or self._balances_cover(legs)

    def _balances_cover(self, legs) -> str | None:
        """Why the kept cash cannot pay `legs` (an opportunity's, or anything with `.market`,
        `.cost`, `.fee`) at their venues, or None."""
        need: Counter = Counter()
        for leg in legs:
            need[MarketId.parse(leg.market).venue.label] += leg.cost + leg.fee
        for venue, amount in need.items():
            cash = self.cash.get(venue, 0)
            if cash < amount:
                return f"balance: {venue} has ${cash / 1e6:.2f}, needs ${amount / 1e6:.2f}"
        return None

    def _spent(self, execution_id: str) -> None:
        """Move the kept cash by what this execution's orders moved at each venue: their fills,
        and for an order whose venue filled more lots than it has listed, the order-level amounts
        for the rest (`OrderStore.order_fills`). Kept per venue until that venue's cash is read
        again, so that fills listed or orders adopted later (`cash_changed`) move it by what they
        change, never twice."""
        venues = {i.venue for i in self.store.intents(execution_id)}
        self._cash_moved[execution_id] = dict.fromkeys(venues, 0)
        while len(self._cash_moved) > CASH_TRACKED_MAX:
            del self._cash_moved[next(iter(self._cash_moved))]
        self._move_cash(execution_id)

    def cash_changed(self, execution_id: str) -> None:
        """The executor recorded fills of `execution_id` after it ended (listed late, or an order
        taken as never sent found at the venue, maybe by the watch started after a restart: an
        execution this process never ran): move the kept cash by what they change at each venue
        whose cash was not read since `_spent` (a reading since holds them), and seed the exposure
        limits again from the store (`exposure_from_store`), whichever process ran the execution."""
        if execution_id in self._cash_moved:
            self._move_cash(execution_id)
        self.exposure_from_store()

    def exposure_from_store(self) -> None:
        """Seed the gates' exposure limits (µ$ at cost, fees included) again from what the store's
        executions hold (`held_exposure`): an order adopted after its execution ended, or a
        result recorded, changes what they hold. Invariant: between executions the limits hold
        exactly what `held_exposure` reads. The execution running (`Executor.running`) is in
        neither; `_execute_once` adds it when it returns, and the executor writes its final state
        with no await before that, so a seeding from another task (a watch, a late-fill fetch)
        never falls between the two and counts it twice."""
        exposure = self.gates.exposure if self.gates is not None else None
        if exposure is not None:
            exposure.clear()
            held_exposure(self.store, exposure, self.event_of, getattr(self.executor, "running", None))

    def _move_cash(self, execution_id: str) -> None:
        from arbbot.execution.reconcile import cash_moved
        from arbbot.execution.store import UNLISTED
        moved = self._cash_moved[execution_id]
        fills = self.store.order_fills(execution_id)
        for venue, before in moved.items():
            now = cash_moved([f for f in fills if f.venue == venue])
            if now != before:
                self.cash[venue] = self.cash.get(venue, 0) + now - before
                moved[venue] = now
        unlisted = getattr(self.sizer, "unlisted", None)
        if unlisted is not None and any(f.fill_id.startswith(UNLISTED) for f in fills):
            unlisted.add(execution_id)          # the positions count those lots until they are listed

    async def _execute(self, opp: Opportunity, decided_ns: int | None = None, sizing=None,
                       loss_budget: int = 0) -> None:
        try:
            await self._execute_once(opp, decided_ns, sizing, loss_budget)
        finally:
            self.executor.resume_gc()           # whatever happened, the GC runs again
            try:
                await self.refresh_sizing_async()   # the task (busy) ends with the new portfolio in place
            except Exception as exc:            # noqa: BLE001 - nothing is sized until a refresh works
                # offers stay refused (`_stale`) and the periodic refresh tries again with backoff;
                # the task ends, so reconciliations and resolution polls are not held up by it
                self._stale = True
                log.error("sizing.refresh_failed", error=f"{type(exc).__name__}: {exc}", after="execution")

    def refresh_sizing(self) -> None:
        """Hand the sizer what changed: the samples and order latencies since the last call go to
        the store, and the portfolio is re-read (after each execution, and periodically)."""
        if self.sizer is None:
            return
        started = self._refresh_started()
        self.sizer.flush_samples(self._take_latencies())
        self.sizer.refresh(self.cash)
        self._stale = False
        self._refresh_ended(started)
        self._plan_ahead()

    async def refresh_sizing_async(self) -> None:
        """`refresh_sizing`, off the loop when `refresh_off_loop`: the trader is busy (offers are
        skipped) until the new portfolio is in place, so nothing is sized on the old one after an
        execution and no order waits for the store's lock behind a refresh."""
        if self.sizer is None:
            return
        if not self.refresh_off_loop:
            self.refresh_sizing()
            return
        async with self._refresh_lock:
            self.refreshing = True
            started = self._refresh_started()
            try:
                await self.sizer.refresh_off_loop(self.cash, self._take_latencies())
                self._stale = False
            finally:
                self.refreshing = False
                self._refresh_ended(started)
        self._plan_ahead()

    def _refresh_started(self) -> int:
        self.refreshes += 1
        return time.perf_counter_ns()

    def _refresh_ended(self, started_ns: int) -> None:
        self.refresh_ns.append(time.perf_counter_ns() - started_ns)
        del self.refresh_ns[:-2_000]

    def _plan_ahead(self) -> None:
        """The sizer plans the opportunities it sized lately against the new portfolio, between
        frames (`SessionSizer.plan_ahead`); a plan still under way for the old one is dropped.
        Not in a replay (refreshes on the loop, a virtual clock): a plan made ahead only saves a
        found frame's latency, which virtual time does not have, and its turns of the loop would
        order the events of one virtual instant (a book burst, a refresh) differently on the
        swift engine (which plans) than on the python one (which does not): their replays of one
        recording would differ."""
        if not self.refresh_off_loop:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:                     # refreshed outside a loop (tools, tests)
            return
        if self._planning is not None:
            self._planning.cancel()
        self._planning = loop.create_task(self.sizer.plan_ahead(), name="sizing-plan-ahead")

    def _take_latencies(self) -> list:
        latencies = list(self.executor.answered)
        self.executor.answered.clear()
        return latencies

    async def refresh_sizing_every(self, interval_s: float) -> None:
        """`refresh_sizing` every `interval_s` seconds between executions, until cancelled. Not
        while a reconciliation or a resolution poll is under way (the cash and the positions are
        being brought together: the execution's refresh or theirs follows). A failed refresh
        (e.g. the store's disk) is logged and tried again with backoff, the trader busy meanwhile."""
        backoff = Backoff(base=REFRESH_RETRY_BASE_S, cap=min(REFRESH_RETRY_CAP_S, interval_s))
        delay = interval_s
        while True:
            await asyncio.sleep(delay)
            delay = interval_s
            if self._executing or self.refreshing or self.reconciling or self._resolving:
                continue
            try:
                await self.refresh_sizing_async()
                backoff.reset()
            except Exception as exc:          # noqa: BLE001 - nothing is sized until a refresh works
                self._stale = True
                delay = backoff.next_delay()
                log.error("sizing.refresh_failed", error=f"{type(exc).__name__}: {exc}", retry_s=round(delay, 3))

    async def keep_sizing_warm(self, every_s: float) -> None:
        """`SessionSizer.warm` every `every_s` seconds while no execution runs, until cancelled."""
        while True:
            await asyncio.sleep(every_s)
            if not self.busy:
                self.sizer.warm()

    async def _execute_once(self, opp: Opportunity, decided_ns: int | None, sizing=None,
                            loss_budget: int = 0) -> None:
        try:
            result = await self.executor.execute(opp, decided_ns=decided_ns, sizing=sizing, loss_budget=loss_budget)
        except Refused as exc:
            if self.gates.breaker is not None:
                self.gates.breaker.release_trial()          # nothing traded: a half-open trial is free again
            self.stats.skipped[_category(str(exc))] += 1
            log.info("trade.skipped", opportunity=opp.id, reason=str(exc))
            return
        except Exception as exc:     # an execution error must not kill the session; it is counted
            self.gates.on_error()    # and feeds the circuit breaker like a failed execution
            self.stats.executions["error"] += 1
            self.stats.ended["error"] += 1
            self.stats.last.insert(0, (opp.id, "error", f"{type(exc).__name__}: {exc}"))
            log.error("execution.error", opportunity=opp.id, error=f"{type(exc).__name__}: {exc}")
            return
        self._spent(result.execution_id)
        self.record(result, opp)
        self._bucket_outcome(opp, result)
        if self.drift is not None:
            self.drift.on_result(result, opp)   # its lane's expected vs realised window (may disable it)
        self.gates.on_execution(result, failure=breaker_outcome(result))
        # whatever it ended as: an unwound or aborted execution may hold lots (dust under a venue's
        # minimum, an over-fill); one flat holds nothing
        self.gates.exposure.add(held_by(self.store, result.execution_id), self.event_of)
        if result.state == "naked":
            log.warning("safe_mode", reason=self.store.safe_mode())

    def record(self, result, opp: Opportunity) -> None:
        """Count a finished execution of `opp` (`_count`), kept revisable for COUNTED_KEEP_S."""
        self._count(result, opp)
        self.stats.last.insert(0, (result.execution_id, result.state, result.reason))
        del self.stats.last[10:]
        log.info("execution.done", execution=result.execution_id, state=result.state, reason=result.reason,
                 filled=result.filled, cash_flow=result.cash_flow)

    def _count(self, result, opp: Opportunity) -> None:
        """Add an execution's end to the run's counts: locked-in PnL (complete, `_locked_in`,
        `ops.reporting.pnl`); realised PnL: an unwound one's cash flow and held cost, a naked one's
        cash flow (the lots it holds count for nothing until their markets resolve, as the daily
        loss cap reads them; left out, a run's PnL never showed what its naked legs cost).
        Remembered (`_counted`) so that a re-hedge can take it back out (`_uncount`)."""
        locked_in = realised = 0
        if result.state == "complete":
            locked_in = _locked_in(opp, result)
        elif result.state == "unwound":
            realised = result.cash_flow + result.held_cost
        elif result.state == "naked":
            realised = result.cash_flow
        self.stats.executions[result.state] += 1
        self.stats.ended[result.state] += 1
        self.stats.locked_in += locked_in
        self.stats.realised += realised
        if result.state in COUNTED:
            self.stats.pnl_path.append(locked_in + realised)
        now = self.clock()
        while self._counted:                     # oldest first (insertion order): drop the expired
            xid, oldest = next(iter(self._counted.items()))
            if now - oldest.at <= COUNTED_KEEP_S:
                break
            del self._counted[xid]
        self._counted[result.execution_id] = _Counted(opp, result, locked_in, realised, now)

    def _uncount(self, counted: "_Counted") -> None:
        """Take an execution's first end back out of the run's counts (its PnL path gets the
        opposite step: the path is what the run's PnL did)."""
        state = counted.result.state
        self.stats.executions[state] -= 1
        if not self.stats.executions[state]:
            del self.stats.executions[state]
        self.stats.locked_in -= counted.locked_in
        self.stats.realised -= counted.realised
        if state in COUNTED:
            self.stats.pnl_path.append(-(counted.locked_in + counted.realised))

    async def drain(self, timeout_s: float = 60.0) -> None:
        """Wait for the execution in flight (shutdown). One still unresolved after `timeout_s`
        (a venue that does not answer a lookup) is cancelled: it stays open in the store and the
        next start's recovery resolves it."""
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=timeout_s)
            if not done:
                log.warning("execution.abandoned_at_shutdown", reason=f"still running after {timeout_s:.0f}s")
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


_CATEGORIES = ("kill switch", "daily loss cap", "exposure", "circuit breaker", "venue minimum", "balance",
               "safe mode", "market", "leg", "no route", "trading hours")


def _category(reason: str) -> str:
    """A short counter key for a refusal reason ("exposure on kalshi: …" → "exposure")."""
    return next((c for c in _CATEGORIES if reason.startswith(c)), reason.split(":")[0])


@dataclass(frozen=True)
class _Counted:
    """What one finished execution added to the run's counts (`PaperTrader._count`)."""
    opp: Opportunity
    result: object                # the ExecutionResult it ended with
    locked_in: int                # µ$
    realised: int                 # µ$
    at: float                     # trader clock, s


def _locked_in(opp: Opportunity, result) -> int:
    """µ$ a complete execution of `opp` locked in: the payout of the lots held on every leg (payout
    is linear in lots) + its cash flow + what it paid for lots held beyond them (`held_cost`)."""
    filled = min(result.filled.values()) if result.filled else 0
    return opp.payout * filled // opp.qty + result.cash_flow + result.held_cost


def _bucket_success(opp: Opportunity, result) -> bool:
    """A bucket group's trial succeeded when its execution completed with a positive locked-in profit."""
    return result.state == "complete" and _locked_in(opp, result) > 0


def breaker_outcome(result) -> bool | None:
    """What an execution tells the circuit breaker: a failure when a leg did not fill in full, it
    ended unwound or naked, or an error ended it; nothing when it was aborted before anything
    traded for a reason that is not the venue's (the edge went: a trial of nothing, which must not
    close a half-open breaker); else a success."""
    if result.errored or result.leg_failed or result.state in ("unwound", "naked"):
        return True
    return None if result.state == "aborted" else False


def held_by(store, execution_id: str) -> list[Held]:
    """What an execution holds, at cost (µ$): per leg, the entry's cost of the lots still held,
    fees on top (`OrderStore.held_at_cost`: an unwind reduces the lots, whichever way it went)."""
    from arbbot.execution.store import EXEC_OPEN, EXEC_TERMINAL
    return [Held(market, cost, fee) for market, cost, fee in store.held_at_cost(EXEC_OPEN + EXEC_TERMINAL, execution_id)]


def held_exposure(store, limits: ExposureLimits, event_of, running: str | None = None) -> None:
    """Seed exposure limits with what executions hold (one query): complete and naked ones,
    unwound or aborted ones left holding lots, and open ones but `running` (the execution under
    way, which its trader adds when it returns): those crash recovery left open, an order of theirs
    still pending, hold what filled. A market `event_of` does not know (it names the market itself:
    the session no longer lists it) counts for the event recorded with its execution's leg, when
    there is one (`OrderStore.held_legs`)."""
    from arbbot.sizing.state import HELD_STATES, INFLIGHT_STATES
    legs = store.held_legs(HELD_STATES + INFLIGHT_STATES, but=running)
    recorded = {market: f"{MarketId.parse(market).venue.label}:{event}" for market, _c, _f, event, _k in legs if event}

    def event(market: str) -> str:
        named = event_of(market)
        return recorded.get(market, named) if named == market else named
    limits.add([Held(market, cost, fee) for market, cost, fee, _e, _k in legs], event)


def kill_at(step: str):
    """Testing hook (config `fault_kill_at`): SIGKILL this process right after `step`."""
    def on_step(name: str) -> None:
        if name == step:
            log.warning("fault.kill", step=name)
            os.kill(os.getpid(), signal.SIGKILL)
    return on_step


async def prepare_orders(venues: dict) -> None:
    """Every venue's `prepare_orders()` (the ones that have it), together: what a venue's first
    order would otherwise load in the order path. A venue that cannot prepare is logged and left
    to fail its first order with its own error."""
    names = [name for name, venue in venues.items() if hasattr(venue, "prepare_orders")]
    results = await asyncio.gather(*(venues[name].prepare_orders() for name in names), return_exceptions=True)
    for name, result in zip(names, results):
        if isinstance(result, Exception):
            log.warning("venue.prepare_failed", venue=name, error=f"{type(result).__name__}: {result}")


async def attach_paper_trader(session, db_path: str, settings=None, *, clock=None) -> PaperTrader:
    """Open the order store, reconcile it with the venues (crash recovery: adopt what exists,
    fail what never reached a venue, safe mode on any unhedged position), then trade the
    session's new opportunities. Call after `session.discover()`, before `start_streams()`.
    `clock`: the wall clock (unix s) every part reads (a replay's virtual one; default real time,
    and then the sizer's refreshes run off the loop)."""
    from arbbot.config import Settings, usd
    from arbbot.execution.executor import ExecutorConfig, Route
    from arbbot.execution.reconcile import record_cash_baselines
    from arbbot.execution.recovery import recover
    from arbbot.risk.breaker import CircuitBreaker
    from arbbot.risk.killswitch import KillSwitch
    from arbbot.risk.limits import DailyLossCap

    cfg = settings or Settings(kill_file="")
    wall = clock or time.time
    preparing = asyncio.ensure_future(prepare_orders(session.venues))    # beside recovery's requests
    store = OrderStore(db_path, durability=cfg.store_durability, clock_ms=lambda: int(wall() * 1000), exclusive=True)
    for venue in session.venues.values():
        venue.on_order_id = store.set_intent_order_id     # ids known before sending go to the store first
    report = await recover(store, session.venues)
    await record_cash_baselines(store, session.venues)
    log.info("recovery", adopted=report.adopted, missing=report.missing, fills_added=report.fills_added,
             executions=report.executions, naked=report.naked, safe_mode=report.safe_mode)
    routes = {str(m.id): Route(session.venues[m.venue.label], m.market_id, m)
              for m in session.markets}
    events = {str(m.id): f"{m.venue.label}:{m.event_id or m.market_id}" for m in session.markets}
    event_of = lambda market: events.get(market, market)   # noqa: E731
    limits = cfg.sizing.exposure_manager
    exposure = ExposureLimits(per_venue=usd(limits.max_venue_usd), per_event=usd(limits.max_event_usd),
                              per_market=usd(limits.max_market_usd))
    held_exposure(store, exposure, event_of)
    # durable risk: the daily loss is read from the store's ledger (it survives restarts and
    # includes what recovery just ended); the breaker's state is persisted in the store
    loss = DailyLossCap(usd(cfg.daily_loss_cap_usd), store, day_start_utc=cfg.day_start_utc, clock=wall)
    breaker = CircuitBreaker(cfg.breaker_failures, cfg.breaker_cooldown_s, persistence=store,
                             **({"clock": clock, "wall": clock} if clock else {}))
    gates = RiskGates(KillSwitch(cfg.kill_file or None, store=store), loss, exposure, breaker)
    on_step = kill_at(cfg.fault_kill_at) if cfg.fault_kill_at else None
    executor = Executor(store, routes, config=ExecutorConfig(min_profit=usd(cfg.min_profit), order_timeout_s=cfg.order_timeout_s),
                        on_step=on_step, risk=None, book_source=StreamedQuotes(session, fresh_only=True), clock=wall)
    relations = RelationIndex(session.universe)
    sizer = SessionSizer(session, store, cfg, relations=relations, clock=wall)
    buckets = BucketSelector(store, half_life_s=cfg.bucket_half_life_s,
                             max_consecutive_failures=cfg.bucket_max_consecutive_failures,
                             disable_s=cfg.bucket_disable_s)
    drift = DriftMonitor(store, DriftConfig.from_settings(cfg), configured_lanes=cfg.sizing.lane_allocator.lanes,
                         clock=wall)
    drift.on_change = sizer.exclude_lanes    # step 9 leaves a drift-disabled lane out of the budget split
    drift.load()                             # disabled lanes and windows survive restarts
    trader = PaperTrader(executor, gates, session.venues, store, recovery=report, event_of=event_of, sizer=sizer,
                         buckets=buckets, bucket_group=lambda opp: group_key(relations.members(opp)), drift=drift,
                         clock=wall, refresh_off_loop=clock is None)
    # after the trader (it wires `executor.on_cash_change`): an order these watches adopt reaches
    # the kept cash and the exposure limits (`cash_changed`)
    watched = executor.watch_absent_since_restart()    # orders a venue may still run (lost before the restart)
    if watched:
        log.info("recovery.absent_watched", orders=watched)
    watched = executor.watch_settlements_since_restart()   # fills a venue may still revert (Polymarket)
    if watched:
        log.info("recovery.settlements_watched", executions=watched)

    def markets_added(infos) -> None:
        """Markets the session added mid-session: routes for the executor, events for exposure."""
        for m in infos:
            trader.executor.routes[str(m.id)] = Route(session.venues[m.venue.label], m.market_id, m)
            events[str(m.id)] = f"{m.venue.label}:{m.event_id or m.market_id}"
        sizer.markets_added(infos)
    trader.markets_added = markets_added

    def markets_repriced(infos) -> None:
        """Markets the session re-priced (their fee schedules as discovered now): the executor's
        routes (its fee check and order rules) and the sizer read them from now on."""
        for m in infos:
            trader.executor.routes[str(m.id)] = Route(session.venues[m.venue.label], m.market_id, m)
        sizer.markets_repriced(infos)
    trader.markets_repriced = markets_repriced
    await preparing                          # the order paths are loaded before the first decision
    try:
        await trader.resolve_now()           # what settled while the bot was away is no longer exposure
    except VenueError as exc:
        log.warning("resolve.failed", error=str(exc))
    try:
        # before the first trade: what recovery cannot see (an order beyond the venue's listing
        # window, IB's executions of a past day; a position changed by hand) is found now, not
        # `reconcile_interval_s` into trading; a difference enters safe mode
        await trader.reconcile_now()
    except VenueError as exc:
        log.warning("reconcile.failed", error=str(exc), when="start")
        await trader.refresh_balances()
    trader.refresh_sizing()
    session.trade_with(trader)
    session.spawn(trader.refresh_sizing_every(SIZING_REFRESH_S), "sizing-refresh")
    if cfg.sizing_warm_ms > 0:
        session.spawn(trader.keep_sizing_warm(cfg.sizing_warm_ms / 1000), "sizing-warm")
    session.spawn(drift.watch(), "drift-watch")
    return trader
