"""Sequential leg execution: intent → place (IOC/FOK at the leg's worst price) → record →
re-quote the next leg → … ; unwind or flag NAKED when a later leg fails.

Units: lots, ticks, µ$. Every leg of an opportunity must have the same quantity (trap 5).
A market that keeps failing legs is blacklisted for a while (trap 7). Paper mode is this same
code pointed at the simulator.
"""
from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Mapping

from arbbot import logs
from arbbot.engine import decompose
from arbbot.engine.twin.fees import fills_fee, order_fee
from arbbot.engine.types import Decomposition, Opportunity, within_engine
from arbbot.execution.settle import UNSETTLED, Forgotten, most_settled, settle
from arbbot.execution.store import NOT_FOUND, RECOVERY_NOT_FOUND, OrderStore
from arbbot.execution.unsettled import SettlementWatch
from arbbot.venues.common.priority import close_order_path, open_order_path
from arbbot.execution.walsync import syncer as wal_syncer
from arbbot.units import TICKS_PER_DOLLAR, format_money
from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.interface import VenueClient
from arbbot.venues.common.errors import NOT_ENOUGH_BALANCE, NotSent, OrderRejected, VenueError, VenueUnavailable
from arbbot.venues.common.model import (
    Action, MarketInfo, OrderRequest, OrderStatus, Side, TimeInForce, Venue, floor_price,
)

POLYMARKET_MIN_ORDER = 1_000_000     # µ$: Polymarket's minimum value of a marketable (FOK/FAK) order
TOP_UP_MAX_LOTS = 100_000            # lots a top-up may exceed its shortfall by to reach a venue's minimum
log = logs.get("execution")


@dataclass(frozen=True)
class Route:
    """Where a leg's market trades: the venue client, the venue's own market id and the market's
    rules (lot, tick grid, price bounds). Without `info` the executor asks the venue once."""
    client: VenueClient
    market_id: str
    info: MarketInfo | None = None


@dataclass(frozen=True)
class ExecutorConfig:
    tif: TimeInForce = TimeInForce.IOC
    min_profit: int = 1                    # µ$ the re-quoted remainder must still make
    # Unwinding a filled leg after a later leg failed (ticks: 1/10,000 $; 100 = 1¢). A thin book is
    # normal at that moment, so up to `unwind_attempts` IOC orders per leg, each a new order after a
    # re-quote. Attempt n (0-based) may trade `min(unwind_max_slippage_ticks, unwind_slippage_ticks
    # + n × unwind_slippage_step_ticks)` through the price first quoted for the unwind (best bid to
    # sell, best ask to buy the other side): 5¢, 7.5¢, 10¢, 12.5¢, 15¢, 15¢. Anchored to that first
    # quote, the attempts together never go more than 15¢ a contract past it however the book
    # thins (re-pricing from each fresh bid would let them walk down by the sum of all slips);
    # 15¢ is several times a typical arbitrage edge, the most worth giving up to be flat before a
    # human looks. Before attempt n ≥ 1 a pause of `min(unwind_pause_cap_s, unwind_pause_s ×
    # 2^(n−1))` (0.2, 0.4, 0.8, 1, 1 s: 3.4 s in all) lets the book replenish. Lots still held after
    # the last attempt: the execution is naked and safe mode starts.
    unwind_attempts: int = 6
    unwind_slippage_ticks: int = 500       # first attempt's slippage through the anchor price
    unwind_slippage_step_ticks: int = 250  # added per attempt
    unwind_max_slippage_ticks: int = 1_500
    unwind_pause_s: float = 0.2
    unwind_pause_cap_s: float = 1.0
    # An unwind order refused because its venue takes no orders for a while (`VenueUnavailable`:
    # Polymarket's matching-engine restart, ~90 s then 2 min post-only), or not sent because the
    # venue says so (its `outage`), spends no attempt: the unwind waits (`unwind_outage_pause_s`
    # doubling to `unwind_outage_pause_cap_s`) and re-quotes, for `unwind_outage_max_s` in all per
    # leg; after that its attempts go on as usual.
    unwind_outage_pause_s: float = 1.0     # > 0
    unwind_outage_pause_cap_s: float = 30.0
    unwind_outage_max_s: float = 300.0
    failure_threshold: int = 3             # leg failures before a market is blacklisted
    blacklist_s: float = 600.0
    order_timeout_s: float = 10.0
    # an order whose answer was lost is looked up (backoff capped at `lookup_backoff_cap_s`) until
    # the venue shows it; only after `absent_after_s` of answered lookups without it is it taken
    # as never arrived. Until then the execution stays open (no new execution starts).
    absent_after_s: float = 5.0
    lookup_backoff_cap_s: float = 2.0
    # An order so taken as never arrived may still reach the venue (a queue in an incident) and
    # fill, as may one a venue that forgets finished orders showed nothing of while it settled
    # (`settle.Forgotten`: a delayed match not listed yet) and that is taken so too: once its
    # execution has ended it is looked up in the background for `absent_watch_s`
    # more (backoff from `lookup_backoff_cap_s` up to `absent_watch_cap_s` between lookups). Found,
    # it is recorded as the venue shows it, its execution's state follows its legs' lots, and a
    # leg left holding lots alone (naked) enters safe mode.
    absent_watch_s: float = 600.0
    absent_watch_cap_s: float = 15.0
    lookup_window_ms: int = 300_000        # lookups list orders created at most this long before sending
    late_fills_s: float = 120.0            # fills a venue lists late are fetched in the background this long
    # an IOC/FOK order the venue still shows resting or pending, or whose lost answer lookups have not
    # found, after this long enters safe mode (the operator is told), and the execution keeps waiting
    # for it: it is never recorded as done unsettled
    unsettled_alert_s: float = 60.0
    # An order's fee as the venue reports it above the market's fee schedule (the engine's fee of
    # its fills, `order_fee`) by more than `fee_slack_micros` + 100 µ$ per fill means the venue's
    # terms changed unseen (a Kalshi `event_fee_update` sent while the WebSocket was down): the
    # market's event is held out of trading until `arbbot ack`. The slack is the venues' own
    # rounding beyond the schedule's: Kalshi rounds each fill's fee up to $0.0001 and the balance
    # change to the cent (net of its accumulator's rebates, under 1¢ an order).
    fee_slack_micros: int = 10_000
    # A venue may list a fill before it is final (Polymarket: a trade is MATCHED, then CONFIRMED on
    # chain, or FAILED: reverted, no tokens and no cash moved; `Fill.final` False). Once an
    # execution holding such fills ends they are looked up in the background
    # (`VenueClient.fill_settlement`), with backoff from `settlement_poll_s` up to
    # `settlement_poll_cap_s` between lookups, until every one is final or for
    # `settlement_watch_s` (counted again after each re-hedge); a FAILED one is voided and the
    # execution brought back to hedged (`revert_fills`). `arbbot.execution.unsettled`.
    settlement_watch_s: float = 900.0
    settlement_poll_s: float = 1.0
    settlement_poll_cap_s: float = 10.0


@dataclass
class ExecutionResult:
    execution_id: str
    state: str                              # complete | aborted | unwound | naked | error (open, safe mode)
    reason: str = ""
    filled: dict[int, int] = field(default_factory=dict)   # net lots per leg
    cash_flow: int = 0                                       # µ$ (negative = paid)
    # µ$ paid (fees included) for lots legs hold beyond the complete sets (a venue's over-fill:
    # `OrderStore.held_cost`): a position held at cost, not a loss of the execution's
    held_cost: int = 0
    errored: bool = False                    # an unexpected error ended it (then reconciled): a failure
    leg_failed: bool = False                 # a leg's order did not fill in full (not: the edge went first)


class Refused(Exception):
    """The executor will not start this opportunity (safe mode, blacklist, bad sizing)."""


def _walk(ladder, qty: int, limit: int) -> tuple[list[tuple[int, int]], int]:
    """(the (price ticks, lots) fills buying up to `qty` lots on an ascending ask ladder at prices
    ≤ `limit` get, the lots left that they cannot take)."""
    left, fills = qty, []
    for price, size in ladder:
        if price > limit or left <= 0:
            break
        take = min(size, left)
        fills.append((price, take))
        left -= take
    return fills, left


def ask_fills(ladder, qty: int, limit: int) -> list[tuple[int, int]] | None:
    """The (price ticks, lots) fills buying `qty` lots on an ascending ask ladder at prices ≤
    `limit` would get; None if too thin."""
    fills, left = _walk(ladder, qty, limit)
    return fills if left <= 0 else None


def best_sale(other_asks, lots: int, slippage: int) -> list[tuple[int, int]]:
    """The most selling `lots` of a side could bring, as (price ticks, lots) fills on the other
    side's ascending asks `other_asks` (non-empty; a sale at p is a purchase of the other side at
    10,000 − p): the asks within `slippage` ticks of the best one, then every lot they cannot take
    at the best one, an upper bound on what an unwind capped at that slippage brings now."""
    fills, left = _walk(other_asks, lots, min(other_asks[0][0] + slippage, TICKS_PER_DOLLAR))
    return [(other_asks[0][0], left)] + fills if left > 0 else fills


class Executor:
    """Trade one opportunity at a time, leg by leg, through `routes` (market name → Route).

    `on_step(name)` is called after each durable step (names: `intent:L<i>`, `placed:L<i>`,
    `filled:L<i>`, `unwind_intent:L<i>`, `unwind_placed:L<i>`); tests use it to crash the
    process at a precise point. `risk` (optional) gets `on_execution(result)`.
    """

    def __init__(self, store: OrderStore, routes: Mapping[str, Route | tuple], *,
                 config: ExecutorConfig | None = None, on_step: Callable[[str], None] | None = None,
                 risk=None, clock: Callable[[], float] = time.time,
                 book_source: Callable[[str], Decomposition | None] | None = None) -> None:
        """`book_source(market)`: the streamed book the session holds for `market`, decomposed, or
        None when it is not healthy; legs are then re-quoted over REST."""
        self.store = store
        self.routes = {k: (v if isinstance(v, Route) else Route(*v)) for k, v in routes.items()}
        self.config = config or ExecutorConfig()
        self.on_step = on_step or (lambda _name: None)
        self.risk = risk
        self.clock = clock
        self.book_source = book_source
        self.order_latencies_ns: dict[str, deque] = {}      # venue → last 2,000 order round trips (ns)
        self.first_order_ns: deque = deque(maxlen=2_000)   # decision → first order handed to the adapter
        self.rest_requotes = 0            # legs re-quoted over REST (no healthy streamed book, or a fresh one asked)
        self.outcome_unknown = 0          # orders whose answer was lost (each resolved by lookup)
        self._late_fills: set[asyncio.Task] = set()     # background fetches of fills listed late
        self._completed_late = False                     # this execution bought a leg after its edge went
        self._absent: list[tuple[str, Route, str, int]] = []   # (execution, route, coid, sent ms): taken as never sent
        self._watches: set[asyncio.Task] = set()        # background lookups of those orders (`_watch_absent`)
        # called with an execution's id when fills of it are recorded after it ended (listed late,
        # or an order taken as never sent found at the venue): the trader's kept cash follows them
        self.on_cash_change: Callable[[str], None] | None = None
        # `room(opp, i, cost)`: why buying leg `i` of `opp` for `cost` µ$ (its fills at the book now,
        # fees apart) instead of its planned cost would breach the limits the trade was admitted
        # under (exposure caps, the venue's cash), or None; asked before a completion
        # (`_cheaper_to_complete`: a leg bought above its plan after its edge went). The trader's.
        self.room: Callable[[Opportunity, int, int], str | None] | None = None
        # `stops()`: why no trade may start now (kill switch, daily loss cap), asked again once leg 0
        # is re-quoted, before its order: a halt written while that quote was read over the venue's
        # REST stops the trade, nothing held yet. The trader's gates.
        self.stops: Callable[[], list[str]] | None = None
        # called with the result of each re-hedge after a venue reverted fills of an ended
        # execution (`revert_fills`): the trader counts it as a failed execution (its breaker)
        self.on_rehedged: Callable[[ExecutionResult], None] | None = None
        self._decided_ns: int | None = None
        self._unrecorded: Opportunity | None = None      # the execution not yet written to the store
        self.running: str | None = None                  # the id of the execution under way (None between)
        self._sizing: tuple = (None, 0)                  # its sizing record (or a callable making it), budget µ$
        self.answered: deque = deque(maxlen=10_000)      # (venue, seconds, unix s) per answered order
        self._gc_paused = False                          # pause_gc() disabled the GC; resume at first order
        self._sync_held = False                          # pause_gc() holds the WAL syncer; released likewise
        # one execution or re-hedge (`revert_fills`) at a time; `repairing` while a re-hedge runs
        self._trading = asyncio.Lock()
        self.repairing = False
        self.settlements = SettlementWatch(self)         # fills a venue may still revert, watched

    # ---- public --------------------------------------------------------------------------------
    def check(self, opp: Opportunity) -> None:
        """Raise `Refused` unless `opp` may be traded now."""
        reason = self.store.safe_mode()
        if reason is not None:
            raise Refused(f"safe mode: {reason} (acknowledge to resume)")
        if not opp.legs:
            raise Refused("opportunity has no legs")
        for leg in opp.legs:
            if leg.qty != opp.qty:
                raise Refused(f"leg {leg.market} has {leg.qty} lots, opportunity {opp.qty}: legs must be "
                              "equal contract counts")
            if leg.market not in self.routes:
                raise Refused(f"no route for market {leg.market}")
            closed = getattr(self.routes[leg.market].client, "trading_closed", None)
            why = closed(self.routes[leg.market].market_id) if closed is not None else None
            if why is not None:      # (ForecastEx: IB's trading hours) no leg is sent, none unwound
                raise Refused(f"trading hours: market {leg.market} is {why}")
            blacklisted, held = self.store.market_blocks(leg.market)
            if blacklisted:
                raise Refused(f"market {leg.market} is blacklisted after repeated leg failures")
            if held is not None:
                raise Refused(f"fee hold: {leg.market}: {held} (acknowledge to resume)")

    async def execute(self, opp: Opportunity, execution_id: str | None = None,
                      decided_ns: int | None = None, sizing=None, loss_budget: int = 0) -> ExecutionResult:
        """Trade `opp` leg by leg. Never leaves a filled leg unaccounted: an unexpected error
        reconciles the execution with the venues at once (and enters safe mode if it is naked).
        `decided_ns` (perf_counter_ns when the opportunity was decided on) times the path to the
        first order (`first_order_ns`). `sizing`: the opportunity's `arbbot.sizing/1` record (or a
        callable returning it, called once the first order is out) and `loss_budget` (µ$) the loss
        budget it reserves, stored with the execution. Waits for a re-hedge under way
        (`revert_fills`), then checks `opp` may be traded (safe mode may have begun meanwhile)."""
        async with self._trading:        # free: taken without a suspension (no latency on the order path)
            return await self._execute(opp, execution_id, decided_ns, sizing, loss_budget)

    async def _execute(self, opp: Opportunity, execution_id: str | None, decided_ns: int | None, sizing,
                       loss_budget: int) -> ExecutionResult:
        self._decided_ns = decided_ns
        self.check(opp)
        # unique within the store (its primary key would refuse a repeat): 32 bits from the
        # process's PRNG, seeded from the OS at start; os.urandom here would cost a syscall
        xid = execution_id or f"{opp.id}-{random.getrandbits(32):08x}"
        self.running = xid
        self._unrecorded = opp        # written with the first intent (one commit), or by _recorded
        self._sizing = (sizing, loss_budget)
        self._completed_late = False  # a leg was bought after its edge went (`_cheaper_to_complete`)
        try:
            return await self._legs(xid, opp)
        except asyncio.CancelledError:
            self._absent.clear()
            self._unrecorded = None          # not written: nothing to recover (a re-hedge must not write it)
            raise                            # shutdown: the execution stays open for recovery
        except Exception as exc:
            self._recorded(xid)
            return await self._errored(xid, exc)
        finally:
            self.running = None
            self.resume_gc()
            self._watch_absent_orders()
            self.settlements.start()

    def pause_gc(self) -> None:
        """Hold the cyclic GC and the store's background fsync off until this executor's next
        first order (or the end of its next execution): a collection pauses the process for
        milliseconds, and a running fsync can stall the intent's COMMIT (walsync.WalSyncer.hold)."""
        if gc.isenabled():
            gc.disable()
            self._gc_paused = True
        if not self._sync_held:
            wal_syncer().hold()
            open_order_path()                 # feed readers yield to the execution once per frame
            self._sync_held = True

    def resume_gc(self) -> None:
        if self._gc_paused:
            self._gc_paused = False
            gc.enable()
        if self._sync_held:
            self._sync_held = False
            wal_syncer().unhold()
            close_order_path()

    def _recorded(self, xid: str) -> None:
        """Make sure the execution row exists (an execution that ends before its first order)."""
        if self._unrecorded is not None:
            self.store.create_execution(xid, self._unrecorded, sizing=self._sizing_record(),
                                        loss_budget=self._sizing[1])
            self._unrecorded = None
            self._sizing = (None, 0)

    def _sizing_record(self) -> dict | None:
        record = self._sizing[0]
        return record() if callable(record) else record

    async def _legs(self, xid: str, opp: Opportunity) -> ExecutionResult:
        refused = self._refusal(opp, opp.qty)
        if refused is not None:
            return await self._not_sent(xid, opp, 0, f"a leg's venue would refuse {opp.qty} lots: {refused}")
        target = opp.qty
        spent = 0                                  # µ$ paid for filled entry legs, fees included
        shrunk = ""                                # why a leg after the first filled in part (the legs before hold more)
        over: list[str] = []                       # legs the venue filled beyond the quantity (their extra lots held)
        for i, leg in enumerate(opp.legs):
            route = self.routes[leg.market]
            order, why = await self._buy_leg(xid, opp, i, target, target, spent, 0, over)
            if order is None:
                return await self._not_sent(xid, opp, i, why)
            got, paid = order.filled, order.cost + order.fee
            if 0 < got < target and getattr(route.client, "buys_by_amount", False) \
                    and (i or await self._continues_at(opp, i, got) != got):
                # its budget bought fewer shares than the book it was priced on showed (that book
                # moved up) and the execution cannot go on at what it filled without selling lots
                # the legs before hold (or at all): the rest at the book
                # now and at most the leg's worst price, if the edge still holds, at least what the
                # venue accepts (the extra lots held)
                top, _ = await self._buy_leg(xid, opp, i, target, target - got, spent + paid, 1, over)
                if top is not None:
                    got += top.filled
                    paid += top.cost + top.fee
            kept = target
            if got < target:
                self._count_failure(leg.market)
                kept = await self._continues_at(opp, i, got)
                why = order.error if order.error else f"leg {i} filled {got}/{target} lots"
                if not kept:
                    return await self._fail(xid, opp, i + 1, why, count=True)
                if i:               # the legs before hold target lots: their excess is unwound at the end
                    shrunk = shrunk or why
                    spent = spent * kept // target     # what the lots going on cost on the legs before
                if kept < got:      # the lots beyond whole lots of every leg: held, as an over-fill's
                    over.append(f"leg {i} filled {got} of {target} lots: going on at {kept} ({got - kept} held)")
                    log.warning("order.partial_lots", execution=xid, leg=i, market=leg.market, filled=got, qty=kept)
            elif got > target:      # Polymarket spends a marketable BUY's budget: cheaper fills buy more
                over.append(f"leg {i} filled {got} of {target} lots (held)")
                log.warning("order.overfilled", execution=xid, leg=i, market=leg.market, filled=got, qty=target)
            # what the execution's lots cost; lots beyond them are held at the leg's average (held_cost)
            spent += paid * kept // got if got > kept else paid
            target = kept          # continue smaller after a partial fill (equal counts still hold)
        if shrunk:
            # a leg after the first filled in part and the later legs went on at its lots: the sets
            # every leg holds are kept and the legs before sell their excess (as when the last leg
            # fills in part), rather than unwinding every leg at the partial fill
            return await self._fail(xid, opp, len(opp.legs), shrunk, count=True)
        self._recorded(xid)
        reason = "; ".join(over)
        self.store.set_execution_state(xid, "complete", reason)
        res = self._result(xid, "complete", reason)
        if self._completed_late:
            # a leg completed after its edge went that locked in a loss is a leg failure for the
            # breaker (trap 7 must not loop through completions; its market counted one already)
            locked = opp.payout * min(res.filled.values()) // opp.qty + res.cash_flow + res.held_cost
            res.leg_failed = locked < 0
        self._notify(res, failure=res.leg_failed)
        return res

    async def _continues_at(self, opp: Opportunity, i: int, got: int) -> int:
        """The lots the execution can go on at after leg `i` filled `got`: `got` floored to a
        multiple of the legs' largest lot (the rest, under one lot of the market with the largest,
        held), if positive and every leg's venue accepts it; else 0. After leg 0 the legs before
        hold more than that: the caller unwinds their excess once the later legs are bought."""
        if got <= 0 or len(opp.legs) < 2:
            return 0
        lots = max([(await self._info(l.market)).lot_lots for l in opp.legs])
        kept = got - got % lots
        return kept if kept > 0 and self._refusal(opp, kept) is None else 0

    async def _buy_leg(self, xid: str, opp: Opportunity, i: int, target: int, qty: int, spent: int,
                       attempt: int, notes: list[str]) -> tuple[_Placed | None, str]:
        """Leg `i`'s entry order (`attempt`) for `qty` of the execution's `target` lots, after `spent`
        µ$: (what it filled, "") or (None, why it was not sent). The leg is re-quoted: its ask
        ladder must still cover `qty` at ≤ its worst price and the remainder must still make money,
        counting this leg's fee as planned pro rata (sizing's extras included) but never below the
        schedule's fee of these fills per order (ARBITRAGE.md "Fees": a smaller order's rounding is
        not the planned one's pro rata), and the later legs as planned, pro rata (each is checked so
        in turn).

        Where the venue buys by amount (`buys_by_amount`) the order spends what those fills cost
        and is priced at the highest of them (its implied limit: it cannot buy above what it was
        priced on, nor more shares than a budget floored to the venue's minimums buys there; at the
        worst price when the venue would refuse that). A top-up (`attempt` ≥ 1) sends the least
        quantity ≥ `qty` the venue accepts, the lots beyond `qty` held (the edge counts `qty`'s).

        When the edge went after earlier legs filled (`i` > 0, first attempt), the leg is still sent,
        at the price its book asks now, if completing the execution at the books now loses less
        than unwinding the filled legs would (`_cheaper_to_complete`); why is added to `notes`."""
        leg = opp.legs[i]
        route = self.routes[leg.market]
        try:
            dec = await self._quote(leg.market, route, fresh=attempt > 0)
        except (VenueError, asyncio.TimeoutError) as exc:
            return None, f"re-quote of {leg.market} failed: {exc}"
        if dec is None:
            return None, f"book of {leg.market} untradeable before leg {i}"
        stopped = self.stops() if i == 0 and self.stops is not None else None
        if stopped:
            return None, f"stopped before leg 0: {stopped[0]}"
        ladder = dec.yes if leg.side is Side.YES else dec.no
        info = self._known_info(route)
        walk = ask_fills(ladder, qty, leg.worst_price)
        limit, completing = leg.worst_price, None
        if i and not attempt and (walk is None or self._edge_left(opp, i, target, qty, spent, walk, walk, info)
                                  < self.config.min_profit):
            # the edge went after legs filled: finish at the books now if that loses less than unwinding
            completing = await self._cheaper_to_complete(opp, i, target)
            if completing is not None:
                walk, limit = completing[0], completing[0][-1][0]
        if walk is None:
            return None, f"edge gone on {leg.market} before leg {i}"
        send, sent, price, spend = qty, walk, limit, 0
        if getattr(route.client, "buys_by_amount", False):
            if attempt:
                send = await self._least_accepted(leg, qty, walk[-1][0])
                sent = ask_fills(ladder, send, limit) if send else None
                if sent is None:
                    return None, f"no top-up of leg {i} the venue accepts within {leg.market}'s book"
            spend = sum(p * q for p, q in sent)
            top = sent[-1][0]                  # at the limit already: nothing to ask the adapter
            if top != price and self._refused(leg, send, top) is None:
                price = top
        if completing is None and self._edge_left(opp, i, target, qty, spent, walk, sent, info) < self.config.min_profit:
            return None, f"edge gone on {leg.market} before leg {i}"
        if completing is not None and self.room is not None:
            refused = self.room(opp, i, sum(p * q for p, q in sent))
            if refused is not None:
                # the limits the trade was admitted under hold for what completing it spends: unwound
                return None, f"edge gone on {leg.market} before leg {i}; completing it refused: {refused}"
        if completing is not None:
            notes.append(completing[1])
            self._completed_late = True
            self._count_failure(leg.market)        # trap 7: the edge went on this leg, as for an unwind
            log.warning("leg.completing", execution=xid, leg=i, market=leg.market, note=completing[1])
        order = await self._place(xid, i, "entry", attempt, leg.market, route, leg.side, Action.BUY, send,
                                  price, self.config.tif, spend=spend)
        return order, ""

    def _edge_left(self, opp: Opportunity, i: int, target: int, qty: int, spent: int, walk, sent, info) -> int:
        """µ$ the execution makes on `target` lots if leg `i` buys `walk` (`qty` lots; its fee on
        `sent`, what the order sends) after `spent` µ$ on the legs before, the later legs as planned
        pro rata: the payout less all of it. This leg's fee is its planned one pro rata of `qty`,
        never below the schedule's fee of these fills per order (ARBITRAGE.md "Fees")."""
        leg = opp.legs[i]
        fee_now = -(-leg.fee * qty // opp.qty)
        if info is not None:
            fee_now = max(fee_now, fills_fee(info.fees, sent))
        rest = sum((l.cost + l.fee) * target // opp.qty for l in opp.legs[i + 1:])
        return opp.payout * target // opp.qty - spent - sum(p * q for p, q in walk) - fee_now - rest

    async def _cheaper_to_complete(self, opp: Opportunity, i: int, target: int) -> tuple | None:
        """(leg `i`'s walk, why) when buying legs `i`… at their books now (every ask, whatever
        its price) makes more, or loses less, than selling the `target` lots legs 0…`i`−1 hold at
        their books now (the other side's asks: a sale of YES at its bid is a purchase of NO at its
        ask); None when unwinding is no worse, or a book cannot say (untradeable, too thin to
        complete, or an earlier leg with no bid at all). The unwind's estimate is the most it could
        bring (`best_sale`: its orders trade through the bids by a slippage; lots its cap's depth
        cannot take are rated at the best bid, though its later attempts would sell them lower or
        leave them naked). Fees by each market's schedule on the walked fills. A tie or doubt
        unwinds, as before. µ$ throughout."""
        walks, complete, proceeds = [], opp.payout * target // opp.qty, 0
        for k, leg in enumerate(opp.legs):
            route = self.routes[leg.market]
            try:
                dec = await self._quote(leg.market, route)
            except (VenueError, asyncio.TimeoutError):
                return None
            if dec is None:
                return None
            info = self._known_info(route)
            if k >= i:
                walk = ask_fills(dec.yes if leg.side is Side.YES else dec.no, target, TICKS_PER_DOLLAR)
                if walk is None:
                    return None
                walks.append(walk)
                fee = fills_fee(info.fees, walk) if info is not None else -(-leg.fee * target // opp.qty)
                complete -= sum(p * q for p, q in walk) + fee
            else:
                other = dec.no if leg.side is Side.YES else dec.yes
                if not other:         # no bid to sell to: its unwind cannot be rated, so unwind as before
                    return None
                sold = [(TICKS_PER_DOLLAR - p, q) for p, q in best_sale(other, target, self.config.unwind_max_slippage_ticks)]
                fee = fills_fee(info.fees, sold) if info is not None else 0
                proceeds += sum(p * q for p, q in sold) - fee
        if complete <= proceeds:
            return None
        return walks[0], (f"leg {i}'s edge went: completed at the books then (${format_money(complete, trim=True)} "
                          f"for legs {i}… against ${format_money(proceeds, trim=True)} unwinding legs 0…{i - 1} "
                          f"would bring at best)")

    def _refused(self, leg, qty: int, price: int) -> str | None:
        """Why `leg`'s venue adapter would refuse an entry order of `qty` lots at `price` (its
        `refusal`), or None."""
        route = self.routes[leg.market]
        refusal = getattr(route.client, "refusal", None)
        if refusal is None:
            return None
        return refusal(OrderRequest(route.market_id, leg.side, price, qty, action=Action.BUY, tif=self.config.tif))

    async def _least_accepted(self, leg, qty: int, price: int) -> int:
        """The least quantity ≥ `qty`, in the market's lots, that `leg`'s venue accepts at `price`
        (its refusals grow no stricter with size: minimum size, Polymarket's $1); 0 if none up to
        `qty` + TOP_UP_MAX_LOTS."""
        lot = (await self._info(leg.market)).lot_lots
        lo = -(-qty // lot) * lot
        if self._refused(leg, lo, price) is None:
            return lo
        hi = lo + TOP_UP_MAX_LOTS // lot * lot
        if self._refused(leg, hi, price) is not None:
            return 0
        while hi - lo > lot:                       # lo refused, hi accepted
            mid = (lo + hi) // 2 // lot * lot
            if mid <= lo:
                break
            lo, hi = (lo, mid) if self._refused(leg, mid, price) is None else (mid, hi)
        return hi

    def _refusal(self, opp: Opportunity, qty: int) -> str | None:
        """Why a venue's adapter would refuse an entry order of `qty` lots at a leg's worst price, or
        None: its `refusal` holds the rules that depend on the quantity (Polymarket's $1 minimum for
        a marketable order and its minimum size), so that a leg that cannot be sent is found before
        the first leg fills, not after (an unwind)."""
        for leg in opp.legs:
            why = self._refused(leg, qty, leg.worst_price)
            if why is not None:
                return why
        return None

    async def _not_sent(self, xid: str, opp: Opportunity, i: int, reason: str) -> ExecutionResult:
        """Leg `i` is not sent (its re-quote failed, its book is untradeable or the edge went).
        Before leg 0 nothing is held: an abort, counted nowhere. After a filled leg it is a leg
        failure (trap 7: leg 0 fills, leg 1's book moved, leg 0 unwinds at a loss, the arb
        reappears…): counted against leg `i`'s market and the breaker, and what is held unwound."""
        if i > 0:
            self._count_failure(opp.legs[i].market)
        return await self._fail(xid, opp, i, reason, count=i > 0)

    def _count_failure(self, market: str) -> None:
        """A leg failure on `market`: at `failure_threshold` of them it is blacklisted (trap 7)."""
        self.store.record_market_failure(market, threshold=self.config.failure_threshold,
                                         blacklist_ms=int(self.config.blacklist_s * 1000))

    # ---- internals -----------------------------------------------------------------------------
    async def _quote(self, market: str, route: Route, fresh: bool = False) -> Decomposition | None:
        """The decomposed book of `market`: the session's streamed book when healthy (what the
        engine decided on) unless `fresh`, else the venue's book now (`snapshot_book` where the
        adapter has one, else `fetch_book`) bounded by `order_timeout_s`; None when
        the fetched book is untradeable (crossed, held for a fee change, failing its hash:
        ARBITRAGE.md, an untradeable market takes part in no lane, so no leg is priced on it).
        `fresh`: a top-up, whose streamed book may not yet show the levels its leg's first order took
        (priced on them, it would fill nothing)."""
        held = self.book_source(market) if self.book_source is not None and not fresh else None
        if held is not None:
            return held
        self.rest_requotes += 1
        # a one-off snapshot where the adapter has one: IB's fetch_book of a streamed market reads
        # its local ticker, which a stream gone silent without an error leaves frozen
        read = getattr(route.client, "snapshot_book", None) or route.client.fetch_book
        book = await asyncio.wait_for(read(route.market_id), self.config.order_timeout_s)
        return decompose(int(book.venue), within_engine(book)) if book.tradeable else None

    async def _info(self, market: str) -> MarketInfo:
        """The market's rules: as the adapter knows them now where it says (`market_info`: a
        Polymarket tick follows `tick_size_change`), else from its route, else discovered from the
        venue once (cached)."""
        route = self.routes[market]
        info = self._known_info(route)
        if info is not None:
            return info
        found = {m.market_id: m for m in await route.client.discover_markets()}
        if route.market_id not in found:
            raise VenueError(f"{market}: the venue does not list this market", venue=route.client.venue)
        self.routes[market] = Route(route.client, route.market_id, found[route.market_id])
        return found[route.market_id]

    async def _place(self, xid, leg, role, attempt, market, route, side, action, qty, price, tif, spend=0):
        first = self._unrecorded          # this order's intent also records the execution
        try:
            return await self._send(xid, leg, role, attempt, market, route, side, action, qty, price, tif, spend)
        finally:
            if first is not None and self._sizing[0] is not None:
                # the sizing record, once the first order is out (or failed): off the order path
                self.store.add_sizing_record(xid, first.id, self._sizing_record(), self._sizing[1])
                self._sizing = (None, 0)

    async def _send(self, xid, leg, role, attempt, market, route, side, action, qty, price, tif, spend):
        venue = route.client.venue
        coid = self.store.add_intent(xid, leg, role, attempt, venue=venue, market=market, market_id=route.market_id,
                                     side=side.label, action=action.value, qty=qty, price=price, tif=tif.value,
                                     new_execution=self._unrecorded,
                                     # step 10's budget reserved from this commit (a crash before the
                                     # record below would leave the execution open with none)
                                     loss_budget=self._sizing[1] if self._unrecorded is not None else 0)
        self._unrecorded = None
        step = "intent" if role == "entry" else "unwind_intent"
        self.on_step(f"{step}:L{leg}")
        req = OrderRequest(route.market_id, side, price, qty, action=action, tif=tif, client_order_id=coid,
                           spend_micros=spend)
        sent, sent_ms = time.perf_counter_ns(), int(self.clock() * 1000)
        looked_up = False                  # the order is what a lookup found (its answer was lost)
        if self._decided_ns is not None:                    # the first order of this execution
            self.first_order_ns.append(sent - self._decided_ns)
            self._decided_ns = None
        self.resume_gc()
        try:
            order = await asyncio.wait_for(route.client.place_order(req), self.config.order_timeout_s)
            took = time.perf_counter_ns() - sent
            self.order_latencies_ns.setdefault(venue, deque(maxlen=2_000)).append(took)
            self.answered.append((venue, took / 1e9, self.clock()))
        except OrderRejected as exc:
            self.store.set_intent_state(coid, "rejected", str(exc), at_venue=not isinstance(exc, VenueUnavailable))
            log.info("order.rejected", client_order_id=coid, market=market, role=role, reason=str(exc))
            return _Placed(coid, 0, 0, 0, f"rejected: {exc}", exc.code, isinstance(exc, VenueUnavailable))
        except NotSent as exc:
            self.store.set_intent_state(coid, "failed", f"not sent: {exc}")
            log.info("order.not_sent", client_order_id=coid, market=market, role=role, reason=str(exc))
            return _Placed(coid, 0, 0, 0, f"not sent: {exc}")
        except (VenueError, asyncio.TimeoutError) as exc:
            # outcome unknown: the order may be at the venue (and filled). Never send it again:
            # look it up by client order id (or the id recorded before sending) until it resolves.
            why = f"{type(exc).__name__}: {exc}"
            self.outcome_unknown += 1
            self.store.set_intent_state(coid, "unknown", why)
            log.warning("order.outcome_unknown", client_order_id=coid, market=market, role=role, reason=why)
            order = await self._resolve(route, coid, sent_ms)
            if order is None:                  # resolved too: the venue does not have it (nothing filled)
                self.store.set_intent_state(coid, "failed", f"{NOT_FOUND} {why}")
                self._absent.append((xid, route, coid, sent_ms))
                log.info("order.resolved", client_order_id=coid, order_id=None, status="absent", filled=0)
                return _Placed(coid, 0, 0, 0, f"{NOT_FOUND} {why}")
            log.info("order.resolved", client_order_id=coid, order_id=order.order_id, status=order.status.value,
                     filled=order.filled_lots)
            looked_up = True
        self.on_step(f"{'placed' if role == 'entry' else 'unwind_placed'}:L{leg}")
        if order.status in UNSETTLED:      # IOC/FOK should never rest: the execution waits until it settles
            order = await self._settle(route, order, coid, market)
            if isinstance(order, Forgotten) and not order.filled_lots:
                # the venue shows neither it nor a fill of it: not a confirmed cancel (a delayed match
                # may be listed later), so taken as never sent: no other order for its lots, and
                # watched for `absent_watch_s` once the execution ends (`_watch_absent`)
                why = f"{NOT_FOUND} lookups showed neither order {order.order_id} nor a fill of it (forgotten)"
                if self.store.intent(coid).order_id != order.order_id:     # `_lookup` asks for it by id
                    self.store.set_intent_order_id(coid, order.order_id)
                self.store.set_intent_state(coid, "failed", why)
                self._absent.append((xid, route, coid, sent_ms))
                log.warning("order.forgotten_unfilled", client_order_id=coid, order_id=order.order_id, market=market,
                            role=role)
                return _Placed(coid, 0, 0, 0, why)
        fills = []
        if order.filled_lots:
            fills = await self._fills_for(route.client, order.order_id, order.filled_lots)
            if sum(f.qty_lots for f in fills) < order.filled_lots:
                self._record_late_fills(coid, route.client, order.order_id, order.filled_lots)
            elif looked_up and action is Action.BUY:
                # a lookup may know only the order's limit (Polymarket's GET /data/order): what its
                # fills cost, when they are all listed, is what was paid (the next leg's edge and the
                # exposure are decided on it)
                order = dataclasses.replace(order, cost_micros=sum(f.price_ticks * f.qty_lots for f in fills))
        self.store.record_order(coid, order, fills)
        self.settlements.note(xid, route.client, fills)
        self._check_fees(market, route, coid, order, fills)
        log.info("order.done", client_order_id=coid, market=market, role=role, side=side.label, action=action.value,
                 qty=qty, price=price, status=order.status.value, filled=order.filled_lots, cost=order.cost_micros,
                 fee=order.fees_micros)
        if role == "entry":
            self.on_step(f"filled:L{leg}")
        return _Placed(coid, order.filled_lots, order.cost_micros, order.fees_micros, "")

    def _check_fees(self, market: str, route: Route, coid: str, order, fills) -> None:
        """Hold `market`'s event (its venue's routed markets of the same event; the market alone
        without one) when the venue charged more for `order` than the market's fee schedule
        gives for its fills, beyond the venues' rounding (`fee_slack_micros`). Only for a venue
        that reports what it charged (`reports_fees`: Kalshi, IB; Polymarket's fees are worked out
        from the schedule by its adapter, and paper's by the ledger), when the fills are all known
        and the market's rules are at hand (never a venue read here)."""
        info = self._known_info(route)
        if (not getattr(route.client, "reports_fees", False) or info is None or not fills
                or sum(f.qty_lots for f in fills) != order.filled_lots):
            return
        modelled = order_fee(info.fees, [(f.price_ticks, f.qty_lots) for f in fills])
        if order.fees_micros <= modelled + self.config.fee_slack_micros + 100 * len(fills):
            return
        event, venue = info.event_id, route.client.venue
        held = {market}
        for name, other in self.routes.items():
            known = self._known_info(other) if event and other.client.venue == venue else None
            if known is not None and known.event_id == event:
                held.add(name)
        held = sorted(held)
        reason = (f"{venue} charged ${format_money(order.fees_micros, trim=True)} for order {coid} on {market} where "
                  f"its fee schedule gives ${format_money(modelled, trim=True)}: the fee terms changed unseen"
                  + (f" (event {event})" if event else ""))
        self.store.hold_for_fees(held, reason, market=market, client_order_id=coid, charged_micros=order.fees_micros,
                                 modelled_micros=modelled, event=event)
        log.warning("fees.mismatch", market=market, client_order_id=coid, charged=order.fees_micros,
                    modelled=modelled, fee_event=event, held=len(held))

    @staticmethod
    def _known_info(route: Route) -> MarketInfo | None:
        """The market's rules as the adapter knows them now or as routed, without a venue read."""
        current = getattr(route.client, "market_info", None)
        info = current(route.market_id) if current is not None else None
        return info if info is not None else route.info

    async def _settle(self, route: Route, order, coid: str, market: str):
        """`settle` the order; one still unsettled after `unsettled_alert_s` enters safe mode (an
        operator should look: the venue keeps it pending) and is waited for all the same."""
        kw = {"timeout_s": self.config.order_timeout_s, "backoff_cap_s": self.config.lookup_backoff_cap_s, "coid": coid}
        order = await settle(route.client, order, give_up_s=self.config.unsettled_alert_s, **kw)
        if order.status in UNSETTLED:
            self.store.enter_safe_mode(f"order {coid} on {market} still {order.status.value} at the venue after "
                                       f"{self.config.unsettled_alert_s:g} s: its execution waits for it")
            log.warning("order.unsettled", client_order_id=coid, market=market, status=order.status.value)
            order = await settle(route.client, order, **kw)
        return order

    async def _resolve(self, route: Route, coid: str, sent_ms: int):
        """The venue's settled order for intent `coid` whose answer was lost, or None once lookups
        the venue answered have not shown it at all for `absent_after_s` (counted from the first
        answered lookup: failed ones say nothing about the order). Failed lookups, and an order
        the venue shows but has not settled (pending), are retried with backoff for as long as it
        takes: the execution stays open meanwhile and no new one starts; after `unsettled_alert_s`
        safe mode tells the operator."""
        backoff = Backoff(base=0.05, cap=self.config.lookup_backoff_cap_s)
        answered: float | None = None           # when the first answered lookup did not show it
        alert_at: float | None = time.monotonic() + self.config.unsettled_alert_s
        while True:
            if alert_at is not None and time.monotonic() >= alert_at:
                alert_at = None                     # once: an operator should look; the lookups go on
                self.store.enter_safe_mode(f"order {coid} on {route.market_id}: outcome still unknown after "
                                           f"{self.config.unsettled_alert_s:g} s of lookups: its execution waits for it")
                log.warning("order.still_unknown", client_order_id=coid)
            try:
                order, seen = await asyncio.wait_for(self._lookup(route, coid, sent_ms), self.config.order_timeout_s)
            except (VenueError, asyncio.TimeoutError) as exc:
                log.warning("order.lookup_failed", client_order_id=coid, reason=f"{type(exc).__name__}: {exc}")
            else:
                if order is not None:
                    return order
                if not seen:
                    now = time.monotonic()
                    if answered is None:
                        answered = now
                    elif now - answered >= self.config.absent_after_s:
                        return None
            await asyncio.sleep(backoff.next_delay())

    def _watch_absent_orders(self) -> None:
        """Start `_watch_absent` for each order the execution just ended took as never sent."""
        for xid, route, coid, sent_ms in self._absent:
            task = asyncio.create_task(self._watch_absent(xid, route, coid, sent_ms), name=f"absent-{coid}")
            self._watches.add(task)
            task.add_done_callback(self._watches.discard)
        self._absent.clear()

    def watch_absent_since_restart(self) -> int:
        """After a restart (recovery done): watch again the orders taken as never sent within the
        last `absent_watch_s` (by the process before, or by recovery just now), each for what is
        left of its `absent_watch_s` since it was so marked; an order whose market is no longer
        routed is looked up through its venue's client. Returns how many watches started."""
        now_ms = int(self.clock() * 1000)
        return self._watch_never_sent(self.store.taken_as_never_sent(now_ms - int(self.config.absent_watch_s * 1000)),
                                      now_ms)

    def _watch_never_sent(self, intents, now_ms: int) -> int:
        """Start `_watch_absent` for each of `intents` (taken as never sent), for what is left of its
        `absent_watch_s` since it was so marked (`now_ms`: unix ms). Returns how many started."""
        cfg = self.config
        clients = {route.client.venue: route.client for route in self.routes.values()}
        started = 0
        for it in intents:
            route = self.routes.get(it.market)
            if route is None and it.venue in clients:
                route = Route(clients[it.venue], it.market_id)
            if route is None:
                log.warning("order.absent_unwatched", client_order_id=it.client_order_id, venue=it.venue,
                            reason="no client for its venue in this session")
                continue
            remember = getattr(route.client, "remember_order", None)
            if remember is not None and it.order_id:       # its fills are read for its market, since it was sent
                remember(it.order_id, it.market_id)
            left_s = it.updated_ms / 1000 + cfg.absent_watch_s - now_ms / 1000
            task = asyncio.create_task(self._watch_absent(it.execution_id, route, it.client_order_id, it.created_ms,
                                                          watch_s=left_s), name=f"absent-{it.client_order_id}")
            self._watches.add(task)
            task.add_done_callback(self._watches.discard)
            started += 1
        return started

    async def _watch_absent(self, xid: str, route: Route, coid: str, sent_ms: int, watch_s: float | None = None) -> None:
        """Look up order `coid` (taken as never sent: `_resolve` did not find it) for `watch_s`
        (default `absent_watch_s`) after its execution ended; if the venue shows it settled, adopt
        it (`_adopt_absent`; one it forgot unfilled while settling is looked up again). Failed
        lookups are retried like the rest."""
        cfg = self.config
        backoff = Backoff(base=cfg.lookup_backoff_cap_s, cap=cfg.absent_watch_cap_s)
        deadline = time.monotonic() + (cfg.absent_watch_s if watch_s is None else watch_s)
        while time.monotonic() < deadline:
            await asyncio.sleep(backoff.next_delay())
            try:
                order, _seen = await asyncio.wait_for(self._lookup(route, coid, sent_ms), cfg.order_timeout_s)
            except (VenueError, asyncio.TimeoutError):
                continue
            if order is None:
                continue
            try:
                if not await self._adopt_absent(xid, route, coid, sent_ms, order):
                    continue
            except Exception as exc:       # noqa: BLE001 — whatever failed, an operator must look
                why = f"{type(exc).__name__}: {exc}"
                log.error("order.absent_unrecorded", client_order_id=coid, execution=xid, error=why)
                self.store.enter_safe_mode(f"execution {xid}: order {coid}, taken as never sent, is at the venue "
                                           f"and could not be recorded ({why})")
            return
        log.info("order.absent_confirmed", client_order_id=coid, watched_s=cfg.absent_watch_s)

    async def _adopt_absent(self, xid: str, route: Route, coid: str, sent_ms: int, order) -> bool:
        """Order `coid`, taken as never sent, is at the venue after all: record it and its fills as
        the venue shows them (the store's positions, cash and exposure follow the venue's) and set
        its execution's state from its legs' lots now: all equal, complete (or unwound at 0);
        else naked, as the venue holds lots on a leg without its hedge. Filled, it enters safe mode
        before anything else is written (a leg it changed is for an operator to check, and a
        failure part way must not leave that unsaid). False (nothing written) when, settling, the
        venue forgot it unfilled (`Forgotten`): it stays taken as never sent and watched."""
        if order.status in UNSETTLED:
            order = await settle(route.client, order, timeout_s=self.config.order_timeout_s,
                                 backoff_cap_s=self.config.lookup_backoff_cap_s, coid=coid)
            if isinstance(order, Forgotten) and not order.filled_lots:
                return False
        age_s = self.clock() - sent_ms / 1000
        if order.filled_lots:      # first: should what follows fail, trading stops all the same
            self.store.enter_safe_mode(f"execution {xid}: order {coid}, taken as never sent, was at the venue "
                                       f"{age_s:.0f} s after it was sent with {order.filled_lots} lots filled: check "
                                       "its legs")
        fills = await self._fills_for(route.client, order.order_id, order.filled_lots) if order.filled_lots else []
        if sum(f.qty_lots for f in fills) < order.filled_lots:
            self._record_late_fills(coid, route.client, order.order_id, order.filled_lots)
        self.store.record_order(coid, order, fills)
        self.settlements.note(xid, route.client, fills)
        log.warning("order.absent_found", client_order_id=coid, order_id=order.order_id, status=order.status.value,
                    filled=order.filled_lots, after_s=round(age_s, 1))
        if not order.filled_lots:
            return True
        net = self.store.leg_net(xid)
        row = self.store.execution(xid)
        why = (f"order {coid}, taken as never sent, was at the venue {age_s:.0f} s after it was sent: "
               f"{order.filled_lots} lots filled; net lots now {net}")
        lots = set(net.values())
        state = ("unwound" if lots == {0} else "complete") if len(lots) == 1 else "naked"
        self.store.set_execution_state(xid, state, f"{row.reason}; {why}" if row.reason else why)
        if state == "naked":
            self.store.enter_safe_mode(f"execution {xid} is naked: {why}")
        self._cash_changed(xid)
        self.settlements.start()
        return True

    async def revert_fills(self, xid: str, venue: str, fill_ids: list[str], why: str) -> ExecutionResult | None:
        """Venue `venue` reverted these fills of ended execution `xid` after listing them
        (Polymarket: their trades FAILED on chain, no tokens and no cash moved): void them in the
        store (`OrderStore.void_fills`), then bring the execution back to hedged as after a failed
        leg (`_fail`): its legs now hold different lots, so each leg's excess over the lots every
        leg still holds is unwound, and it ends complete with fewer sets, unwound, aborted when no
        leg holds anything, or naked in safe mode when an unwind fails (or the re-hedge errs: safe
        mode, and the execution reconciled with the venues at once, `_errored`). Meanwhile it is open again
        (`executing`, written with the voiding): a crash part way leaves it to crash recovery,
        which calls it naked if its legs differ. Waits for an execution under way (one
        execution or re-hedge at a time; `repairing` meanwhile: the trader starts none). The
        trader's cash and exposure follow (`on_cash_change`). None when none of the fills is
        recorded (voided already)."""
        async with self._trading:
            self.repairing = True
            voided = []
            try:
                row = self.store.execution(xid)
                voided = self.store.void_fills(venue, fill_ids, why, reopen=True)
                if not voided:
                    return None
                log.warning("fills.reverted", execution=xid, venue=venue, fills=[f.fill_id for f in voided],
                            lots=sum(f.qty for f in voided), reason=why)
                try:
                    res = await self._fail(xid, self.store.opportunity(xid), len(row.legs),
                                           f"{row.reason}; {why}" if row.reason else why, count=False)
                except Exception as exc:        # noqa: BLE001 — reconciled below, an operator must look
                    # reopened by the voiding: reconciled now, as after an error inside an execution
                    # (naked where a leg is held alone), so that the exposure read below holds its
                    # legs (one left executing is in no count) when an operator acknowledges
                    self.store.enter_safe_mode(f"execution {xid}: {why}, and it could not be re-hedged "
                                               f"({type(exc).__name__}: {exc})")
                    return await self._errored(xid, exc)
                log.warning("execution.rehedged", execution=xid, state=res.state, filled=res.filled,
                            cash_flow=res.cash_flow)
                if self.on_rehedged is not None:
                    try:
                        self.on_rehedged(res)
                    except Exception as exc:    # noqa: BLE001 - a listener's error must not undo the re-hedge
                        log.error("execution.rehedge_listener_failed", execution=xid,
                                  error=f"{type(exc).__name__}: {exc}")
                return res
            finally:
                self.repairing = False
                self._watch_absent_orders()          # its unwind orders whose answers were lost
                self.settlements.start()             # its unwinds' fills
                if voided:
                    self._cash_changed(xid)

    def watch_settlements_since_restart(self) -> int:
        """After a restart: watch again the fills of executions ended within `settlement_watch_s`
        (`SettlementWatch.since_restart`). Returns how many executions are watched."""
        return self.settlements.since_restart()

    def _cash_changed(self, xid: str) -> None:
        """Tell `on_cash_change` that fills of execution `xid` were recorded (its failure is logged:
        the fills are in the store whatever the listener does)."""
        if self.on_cash_change is None:
            return
        try:
            self.on_cash_change(xid)
        except Exception as exc:           # noqa: BLE001 - a listener's error must not undo a recording
            log.error("execution.cash_change_failed", execution=xid, error=f"{type(exc).__name__}: {exc}")

    async def _lookup(self, route: Route, coid: str, sent_ms: int) -> tuple[object | None, bool]:
        """(the venue's settled order for intent `coid` or None, whether the venue shows it at all).

        By the order id recorded before sending (venues without client order ids: Polymarket's
        order hash), else by client order id among the market's orders created since shortly
        before sending. A venue may list one order twice (IB: the live order and its completed
        record): the most settled, most filled one wins."""
        client = route.client
        found = []
        known = self.store.intent(coid).order_id
        if known:
            order = await client.order(known)
            if order is not None:
                found.append(order)
        if not found:
            since = sent_ms - self.config.lookup_window_ms
            found = [o for o in await client.orders(ticker=route.market_id, min_ts_ms=since)
                     if o.client_order_id == coid]
        settled = [o for o in found if o.status is not OrderStatus.PENDING]
        return most_settled(settled), bool(found)

    def _record_late_fills(self, coid: str, client, order_id: str, lots: int) -> None:
        """The venue listed fewer fills of `order_id` than it filled (`lots`) within `_fills_for`'s
        wait: fetch them in the background (backoff, for up to `late_fills_s`) and record them as
        they come (idempotent), so the store's fills, positions and cash catch up. Decisions do not
        wait for them: `leg_net` counts the order's filled lots. Fills listed after that (or after
        the process stopped) are recorded by the running bot's next reconciliation
        (`reconcile.adopt_late_fills`)."""
        log.warning("order.fills_late", client_order_id=coid, order_id=order_id, filled=lots)

        async def fetch() -> None:
            backoff = Backoff(base=0.2, cap=5.0)
            deadline = time.monotonic() + self.config.late_fills_s
            while time.monotonic() < deadline:
                await asyncio.sleep(backoff.next_delay())
                try:
                    got = [f for f in await client.fills(order_id=order_id) if f.order_id == order_id]
                except (VenueError, asyncio.TimeoutError):
                    continue
                if self.store.record_fills(coid, got):
                    xid = self.store.intent(coid).execution_id
                    self._cash_changed(xid)
                    self.settlements.note(xid, client, got)
                    self.settlements.start()
                if sum(f.qty_lots for f in got) >= lots:
                    return
            log.warning("order.fills_missing", client_order_id=coid, order_id=order_id, filled=lots)

        task = asyncio.create_task(fetch(), name=f"late-fills-{coid}")
        self._late_fills.add(task)
        task.add_done_callback(self._late_fills.discard)

    async def _fills_for(self, client, order_id: str, lots: int, tries: int = 20) -> list:
        """The venue's fills of `order_id` (waits briefly until they add up to `lots`). A read that
        fails ends the wait with what was read: the order and its filled lots are known, so the
        execution goes on (the next leg hedges them) and the rest are read in the background as
        late fills (`_record_late_fills`) — before, one 503 here left the filled leg naked."""
        got: list = []
        for _ in range(tries):
            try:
                listed = await asyncio.wait_for(client.fills(order_id=order_id), self.config.order_timeout_s)
            except (VenueError, asyncio.TimeoutError) as exc:
                log.warning("order.fills_unread", order_id=order_id, reason=f"{type(exc).__name__}: {exc}")
                break
            got = [f for f in listed if f.order_id == order_id]
            if sum(f.qty_lots for f in got) >= lots:
                break
            await asyncio.sleep(0.05)
        return got

    async def _errored(self, xid: str, exc: Exception) -> ExecutionResult:
        """An unexpected error inside execution `xid`: reconcile it with the venues now (as crash
        recovery does after a restart) so a filled leg is never left unaccounted; a naked result
        enters safe mode. If the venues cannot be read, safe mode at once and the execution stays
        open for the next recovery."""
        from arbbot.execution.recovery import recover_executions
        why = f"{type(exc).__name__}: {exc}"
        log.error("execution.error", execution=xid, error=why)
        clients = {r.client.venue: r.client for r in self.routes.values()}
        try:
            states = await recover_executions(self.store, clients, [xid], reason=f"error: {why}")
        except Exception as rexc:          # noqa: BLE001 — whatever failed, stop trading
            self.store.enter_safe_mode(f"execution {xid} failed ({why}) and could not be reconciled "
                                       f"({type(rexc).__name__}: {rexc})")
            res = ExecutionResult(xid, "error", why, self.store.leg_net(xid), self.store.cash_flow(xid), errored=True)
        else:
            res = dataclasses.replace(self._result(xid, states.get(xid, "error"), why), errored=True)
            # orders of it this recovery found nothing of (RECOVERY_NOT_FOUND) may still be listed
            # filled: watched now, as after a restart (those `_send` so took are in `_absent`)
            now_ms = int(self.clock() * 1000)
            since_ms = now_ms - int(self.config.absent_watch_s * 1000)
            self._watch_never_sent([it for it in self.store.taken_as_never_sent(since_ms)
                                    if it.execution_id == xid and it.error == RECOVERY_NOT_FOUND], now_ms)
        self._notify(res, failure=True)
        return res

    async def _fail(self, xid: str, opp: Opportunity, upto: int, reason: str, *, count: bool) -> ExecutionResult:
        """Leg `upto - 1` (or the re-quote before leg `upto`) failed: unwind every leg down to the
        lots held on every leg (`keep`: complete sets, whose payout is locked in; 0 while a leg holds
        nothing, as a leg not reached). Only the excess is sold: a later leg filled 900 of 1,000
        keeps 900 sets and unwinds leg 0's 100 — and a leg that cannot be unwound is never joined
        by unwinding the legs that hedge it. An excess no order could unwind (under the venue's
        minimum as a sale and as a purchase of the other side: `_unwindable`) is held at cost, as an
        over-fill is, and no order is sent for it. All at `keep` (or held): complete (keep > 0) or
        unwound; else naked and safe mode."""
        self._recorded(xid)
        net = self.store.leg_net(xid)
        keep = await self._most_sets_kept(opp, net)
        if all(v == keep for v in net.values()):
            state = "aborted" if keep == 0 else "complete"
            self.store.set_execution_state(xid, state, reason)
            res = self._result(xid, state, reason, leg_failed=count)
            self._notify(res, failure=count and keep == 0)
            return res
        ok = True
        cfg = self.config
        stopped = ""                                  # why a leg's unwind stopped before its attempts were spent
        dust: dict[int, int] = {}                     # leg → lots held: no order for them the venue takes
        for i in sorted(net, reverse=True):
            anchors: dict[Action, int] = {}           # the leg's first quoted price per way out (ticks)
            no_sale = False                           # the venue refused to sell what the leg holds
            client = self.routes[opp.legs[i].market].client
            attempt, waited, pause = 0, 0.0, cfg.unwind_outage_pause_s   # waited, pause: s
            while attempt < cfg.unwind_attempts and net[i] > keep:
                if not await self._unwindable(opp, i, net[i] - keep):
                    # under the venue's minimum order as a sale and as a purchase of the other side
                    # (Polymarket: 5 shares, $1), from the start or left by a partial unwind: no
                    # order could unwind them, so none is sent (each would be refused); they are
                    # held at cost, as an over-fill is, not a naked leg
                    dust[i] = net[i] - keep
                    self.store.hold_dust(xid, i, dust[i])
                    break
                if attempt:
                    await asyncio.sleep(min(cfg.unwind_pause_cap_s, cfg.unwind_pause_s * 2 ** (attempt - 1)))
                waiting = waited < cfg.unwind_outage_max_s
                outage = getattr(client, "outage", "") if waiting else ""
                placed = None if outage else await self._unwind_leg(xid, opp, i, net[i] - keep, attempt, anchors,
                                                                    no_sale)
                net = self.store.leg_net(xid)
                if placed is not None and placed.error.startswith(NOT_FOUND):
                    # its answer was lost and lookups did not find it, or the venue forgot it with
                    # nothing listed (`Forgotten`): it may still reach the venue (a queue in an
                    # incident) or be listed matched, and sell these lots; another order for them
                    # could sell them twice, so the leg is left as it is and an operator looks (safe mode)
                    stopped += f"; leg {i}'s unwind order {placed.coid} {placed.error}: not sent again"
                    break
                if waiting and (outage or (placed is not None and placed.unavailable)):
                    # the venue takes no orders for a while (nothing was placed): this attempt is
                    # not spent; after the wait the book is quoted afresh (a new anchor: the old
                    # quote predates the outage)
                    delay = min(pause, cfg.unwind_outage_max_s - waited)
                    log.info("unwind.venue_unavailable", execution=xid, leg=i, attempt=attempt, wait_s=delay,
                             reason=outage or placed.error)
                    await asyncio.sleep(delay)
                    waited, pause = waited + delay, min(cfg.unwind_outage_pause_cap_s, pause * 2)
                    anchors.clear()
                    continue
                # Polymarket refuses to sell tokens whose purchase is not mined yet (seconds to
                # a minute after the match): the leg's next attempts buy the other side instead
                no_sale = no_sale or (placed is not None and placed.refusal == NOT_ENOUGH_BALANCE)
                attempt += 1
            if i in dust:
                continue
            # an unwind that bought the other side spends a budget: lots beyond it are held
            ok = ok and keep - self.store.leg_overfill(xid).get(i, (0, 0))[1] <= net[i] <= keep
        held = "".join(f"; leg {i} unwound {keep - n} lots beyond its excess (held)" for i, n in net.items() if n < keep)
        held += "".join(f"; leg {i} holds {lots} lots under its venue's minimum order (held)" for i, lots in dust.items())
        if ok and keep:
            why = f"{reason}; kept {keep} lots on every leg, the rest unwound{held}"
            self.store.set_execution_state(xid, "complete", why)
            res = self._result(xid, "complete", why, leg_failed=count)
            self._notify(res, failure=count)
            return res
        if ok:
            self.store.set_execution_state(xid, "unwound", reason + held)
            res = self._result(xid, "unwound", reason + held, leg_failed=count)
        else:
            why = f"{reason}; unwind incomplete, net lots {net}{stopped}"
            self.store.enter_safe_mode(f"execution {xid} is naked: {why}")
            self.store.set_execution_state(xid, "naked", why)
            res = self._result(xid, "naked", why, leg_failed=count)
        self._notify(res, failure=True)
        return res

    async def _most_sets_kept(self, opp: Opportunity, net: dict[int, int]) -> int:
        """The most complete sets (lots held on every leg) the execution keeps: the least leg's
        lots, lowered only until every leg's excess is whole lots of its market (at most the lots'
        least common multiple − 1 steps). An excess the venue will not take as an order (under its
        minimum: Polymarket's 5 shares or $1) is held at cost by `_fail`, as an over-fill is; fewer
        sets are never kept to make it large enough to sell. Before, the keep stepped down until
        every excess met the minimums: a completion filling 2,776 of 2,800 Polymarket lots kept
        2,200 sets and sold about 6 contracts on each leg, a complete execution losing $2.54, where
        holding the 0.76-share excess risked at most what it cost. 0 while a leg holds nothing."""
        keep = min(net.values())
        if keep <= 0:
            return 0
        lots = [(await self._info(leg.market)).lot_lots for leg in opp.legs]
        while keep > 0 and any((net[i] - keep) % lot for i, lot in enumerate(lots)):
            keep -= 1
        return max(keep, 0)

    async def _unwindable(self, opp: Opportunity, i: int, excess: int) -> bool:
        """Whether `excess` lots of leg `i` can be unwound by one order: a whole number of the
        market's lots, on Polymarket worth its $1 minimum at the leg's price (a sale) or at the
        other side's (a purchase), and an order the venue's adapter would send (`refusal`: the
        market's minimum size, e.g. Polymarket's 5 shares) as a sale or as a purchase of the other
        side."""
        leg = opp.legs[i]
        info = await self._info(leg.market)
        if excess % info.lot_lots:
            return False
        price = leg.worst_price                         # ticks × lots = µ$
        # one way clearing the minimum will do (`_unwind_leg` takes it): a sale worth price × lots,
        # or a purchase of the other side worth (1 − price) × lots
        if info.venue is Venue.POLYMARKET and max(price, TICKS_PER_DOLLAR - price) * excess < POLYMARKET_MIN_ORDER:
            return False
        refusal = getattr(self.routes[leg.market].client, "refusal", None)
        if refusal is not None:
            market_id, other = self.routes[leg.market].market_id, Side.NO if leg.side is Side.YES else Side.YES
            sale = OrderRequest(market_id, leg.side, price, excess, action=Action.SELL, tif=self.config.tif)
            purchase = OrderRequest(market_id, other, TICKS_PER_DOLLAR - price, excess, action=Action.BUY,
                                    tif=self.config.tif)
            if refusal(sale) is not None and refusal(purchase) is not None:
                return False
        return True

    async def _unwind_leg(self, xid: str, opp: Opportunity, i: int, lots: int, attempt: int,
                          anchors: dict[Action, int], no_sale: bool = False) -> _Placed | None:
        """One unwind order for leg `i` (`lots` to sell), at attempt `attempt`'s slippage through the
        leg's anchor price (`anchors`: set from the first quote with a price, see ExecutorConfig):
        what `_place` returned. No price to anchor to yet (no quote, an untradeable book, an empty
        side): no order (None); the next attempt re-quotes. `no_sale`: the venue refused to sell
        the leg's Polymarket tokens (not delivered yet): buy the other side instead."""
        leg = opp.legs[i]
        route = self.routes[leg.market]
        side = leg.side
        cfg = self.config
        slip = min(cfg.unwind_max_slippage_ticks, cfg.unwind_slippage_ticks + attempt * cfg.unwind_slippage_step_ticks)
        try:
            dec = await self._quote(leg.market, route)
        except (VenueError, asyncio.TimeoutError):
            dec = None
        q = None if dec is None else dec.quote       # an untradeable book gives no anchor either
        info = await self._info(leg.market)
        # prices on the market's own grid and within its bounds: a sale floors (never asks more
        # than anchor − slippage), a purchase of the other side floors too (never pays more than
        # anchor + slippage)
        bid = None if q is None else (q.best_bid_yes if side is Side.YES else q.best_bid_no)
        if bid is not None:
            anchors.setdefault(Action.SELL, bid)
        sell_price = floor_price(info, anchors[Action.SELL] - slip) if Action.SELL in anchors else None
        # Buy-only ForecastEx, and Polymarket when the sale would be worth less than its $1 minimum
        # for marketable orders (or has no bid, or was refused: `no_sale`): exit by buying the
        # opposite side (the pair pays $1).
        small = info.venue is Venue.POLYMARKET and (no_sale or sell_price is None
                                                    or sell_price * lots < POLYMARKET_MIN_ORDER)
        if small and no_sale and sell_price is not None and sell_price * lots >= POLYMARKET_MIN_ORDER:
            # the sale was refused (tokens not delivered yet), but the purchase would be under the
            # minimum, refused every time: the sale again (the tokens may have arrived since)
            ask = None if q is None else (q.best_ask_no if side is Side.YES else q.best_ask_yes)
            anchor = anchors.get(Action.BUY, ask)
            small = anchor is not None and floor_price(info, anchor + slip) * lots >= POLYMARKET_MIN_ORDER
        if info.venue is Venue.FORECASTEX or small:
            side, action = side.other, Action.BUY
            ask = None if q is None else (q.best_ask_yes if side is Side.YES else q.best_ask_no)
            if ask is not None:
                anchors.setdefault(Action.BUY, ask)
            price = floor_price(info, anchors[Action.BUY] + slip) if Action.BUY in anchors else None
        else:
            action, price = Action.SELL, sell_price
        if price is None:
            log.warning("unwind.no_price", execution=xid, leg=i, market=leg.market, attempt=attempt, lots=lots)
            return None
        spend = 0                               # a purchase spends what its fills at this book cost
        if action is Action.BUY and dec is not None:
            walk = ask_fills(dec.yes if side is Side.YES else dec.no, lots, price)
            spend = sum(p * q for p, q in walk) if walk else 0
        return await self._place(xid, i, "unwind", attempt, leg.market, route, side, action, lots, price,
                                 TimeInForce.IOC, spend=spend)

    def _result(self, xid: str, state: str, reason: str = "", leg_failed: bool = False) -> ExecutionResult:
        net = self.store.leg_net(xid)          # lots as the venues answered (listed or not)
        cash_flow, unlisted = self.store.answered_cash_flow(xid)      # ... and the money, alike
        held = (self.store.held_cost(xid, net, unlisted)
                if state in ("complete", "unwound") and len(set(net.values())) > 1 else 0)
        return ExecutionResult(xid, state, reason, net, cash_flow, held_cost=held, leg_failed=leg_failed)

    def _notify(self, res: ExecutionResult, failure: bool = False) -> None:
        if self.risk is not None:
            self.risk.on_execution(res, failure=failure)


@dataclass(frozen=True)
class _Placed:
    coid: str
    filled: int
    cost: int
    fee: int
    error: str
    refusal: str = ""          # a rejection's venue code (OrderRejected.code), e.g. NOT_ENOUGH_BALANCE
    unavailable: bool = False  # refused as `VenueUnavailable`: the venue takes no orders for a while
