"""Crash recovery: reconcile every open execution's intents with the venues, then classify.

Run once at start, before any new trade. Never places orders: for each intent of an open
execution it asks the venue (`orders()`, `fills()`) for the order carrying the intent's
`client_order_id`, or, on venues without client order ids, for the order id recorded in the
intent before the order was sent (`order(order_id)`); an order that exists is adopted (state, fills), one that does not is marked
`failed`. Afterwards an execution whose legs hold equal net lots is `complete` (or `aborted` /
`unwound` when flat), as is one whose legs differ only by lots venues filled beyond an order's size
(`OrderStore.hedged_sets`: Polymarket's market BUY, held as the executor holds them); anything else is
`naked` and puts the store in SAFE MODE until
`acknowledge()` (the `arbbot ack` command).

An order found resting or pending (it may still fill) is settled first as the executor does
(`settle`: cancelled, then looked up by id until the venue shows it done; a cancel's own reply is
never what is recorded). One that does not settle within `SETTLE_GIVE_UP_S` leaves its execution
open for the next recovery, in safe mode: nothing is decided on an order that can still fill.
"""
from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Mapping

from arbbot.execution.settle import UNSETTLED, Forgotten, most_settled, settle
from arbbot.execution.store import EXEC_OPEN, RECOVERY_NOT_FOUND, OrderStore
from arbbot.venues.common.interface import VenueClient
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import Action


@dataclass
class RecoveryReport:
    adopted: list[str] = field(default_factory=list)        # client_order_ids found at the venue
    missing: list[str] = field(default_factory=list)        # intents not at the venue (or forgotten) → failed
    fills_added: int = 0
    executions: dict[str, str] = field(default_factory=dict)  # execution id → final state
    naked: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)      # client_order_ids still resting/pending: left open
    safe_mode: str | None = None


BEYOND_HISTORY = "recovery: sent before the venue's listed history"
ABSENT_AFTER_MS = 5_000     # an order not shown this long after its intent was written never arrived
SETTLE_TIMEOUT_S = 10.0     # one cancel or lookup of an unsettled order
SETTLE_GIVE_UP_S = 30.0     # an order still resting/pending this long: its execution stays open, safe mode


async def recover(store: OrderStore, clients: Mapping[str, VenueClient], *,
                  absent_after_ms: int = ABSENT_AFTER_MS) -> RecoveryReport:
    """Reconcile open executions against `clients` (venue name → VenueClient).

    Raises `VenueError` if a venue holding open intents cannot be read (recovery must not guess);
    the store is then unchanged for that venue and the caller should retry. An intent the venue
    does not show is marked failed only once `absent_after_ms` have passed since it was written
    (a venue may still be working through its queue): recovery waits for that, then asks again."""
    rep = RecoveryReport()
    await _reconcile(store, clients, store.executions(EXEC_OPEN), rep, "recovered", absent_after_ms)
    naked = store.unacknowledged_naked()
    if naked and store.safe_mode() is None:
        # a store written before naked states carried their flag (or by hand): nobody has
        # acknowledged these unhedged legs, so no new trade until someone does
        store.enter_safe_mode(f"naked executions {naked} were never acknowledged (arbbot ack)")
    rep.safe_mode = store.safe_mode()
    return rep


async def recover_executions(store: OrderStore, clients: Mapping[str, VenueClient], execution_ids: list[str], *,
                             reason: str, absent_after_ms: int = ABSENT_AFTER_MS) -> dict[str, str]:
    """Reconcile the named executions now (the executor's answer to an unexpected error inside
    one): same rules as `recover`, safe mode if any is naked. Returns execution id → state."""
    rep = RecoveryReport()
    execs = [x for x in store.executions(EXEC_OPEN) if x.id in execution_ids]
    await _reconcile(store, clients, execs, rep, reason, absent_after_ms)
    return rep.executions


def _history_start_ms(client) -> int | None:
    """The wall ms from which `client` lists orders and fills (`fill_history_start_ms`: IB lists
    the current trading day's only), or None when it lists them all (or cannot say)."""
    start = getattr(client, "fill_history_start_ms", None)
    try:
        value = start() if callable(start) else None
    except Exception:                       # noqa: BLE001 — unknown: as if it listed everything
        return None
    return value if isinstance(value, int) else None


async def _views(clients: Mapping[str, VenueClient], venues) -> dict[str, tuple[dict, list]]:
    """Per venue: its orders by client order id, and its fills."""
    views: dict[str, tuple[dict, list]] = {}
    for v in sorted(venues):
        if v not in clients:
            raise VenueError(f"recovery: no client for venue {v!r} holding open intents", venue=v)
        client = clients[v]
        records: dict[str, list] = {}
        for o in await client.orders():
            if o.client_order_id:
                records.setdefault(o.client_order_id, []).append(o)
        views[v] = ({coid: most_settled(rs) for coid, rs in records.items()}, await client.fills())
    return views


async def _adopt(store: OrderStore, clients: Mapping[str, VenueClient], it, view: tuple[dict, list],
                 rep: RecoveryReport) -> bool:
    """Adopt what the venue shows of intent `it` (its order and fills); False if it shows no order.
    One the venue forgot unfilled while it settled (`Forgotten`) is marked failed as not found
    (`RECOVERY_NOT_FOUND`), not adopted as a cancel: the restarted executor's absent watch
    (`watch_absent_since_restart`) looks for a fill of it listed later."""
    orders, fills = view
    order = orders.get(it.client_order_id)
    by_id = order is None and bool(it.order_id)
    if by_id:
        # venues without client order ids (Polymarket): the id was recorded before sending; a venue
        # that reads an order from its fills is told its market and when it was sent
        remember = getattr(clients[it.venue], "remember_order", None)
        if remember is not None:
            remember(it.order_id, it.market_id)
        order = await clients[it.venue].order(it.order_id)
    if order is None:
        return False
    if order.status in UNSETTLED:          # we only send IOC/FOK: never leave one live, nor adopt it unsettled
        order = await settle(clients[it.venue], order, timeout_s=SETTLE_TIMEOUT_S, backoff_cap_s=1.0,
                             give_up_s=SETTLE_GIVE_UP_S, coid=it.client_order_id)
        if isinstance(order, Forgotten) and not order.filled_lots:
            if order.order_id != it.order_id:        # the watch looks it up by id
                store.set_intent_order_id(it.client_order_id, order.order_id)
            store.set_intent_state(it.client_order_id, "failed", RECOVERY_NOT_FOUND)
            rep.missing.append(it.client_order_id)
            return True
        if order.status in UNSETTLED:
            rep.unsettled.append(it.client_order_id)
        fills = await clients[it.venue].fills()
    mine = [f for f in fills if f.order_id == order.order_id]
    if by_id and order.action is Action.BUY and mine and all(f.side is order.side for f in mine):
        # a looked-up order reports its limit, not what it paid: take cost and fees from its fills
        order = dataclasses.replace(order, cost_micros=sum(f.price_ticks * f.qty_lots for f in mine),
                                    fees_micros=sum(f.fee_micros for f in mine))
    before = len(store.fills(it.client_order_id))
    store.record_order(it.client_order_id, order, mine)
    rep.fills_added += len(store.fills(it.client_order_id)) - before
    rep.adopted.append(it.client_order_id)
    return True


async def _reconcile(store: OrderStore, clients: Mapping[str, VenueClient], open_execs: list, rep: RecoveryReport,
                     why: str, absent_after_ms: int = ABSENT_AFTER_MS) -> None:
    """Adopt what the venues show for `open_execs`' intents, then classify each execution."""
    intents = [i for x in open_execs for i in store.intents(x.id)]
    views = await _views(clients, {i.venue for i in intents})
    unseen = [it for it in intents if not await _adopt(store, clients, it, views[it.venue], rep)
              and it.state in ("intent", "placed", "unknown")]
    blind: set[str] = set()              # executions with an order sent before its venue's listed history
    if unseen:
        wait_ms = max(it.created_ms for it in unseen) + absent_after_ms - store.now_ms()
        if wait_ms > 0:                  # too recent to call absent: the venue may still run it
            await asyncio.sleep(wait_ms / 1000)
            views = await _views(clients, {i.venue for i in unseen})
            unseen = [it for it in unseen if not await _adopt(store, clients, it, views[it.venue], rep)]
        for it in unseen:
            start = _history_start_ms(clients.get(it.venue))
            if start is not None and it.created_ms < start:
                # sent before what the venue still lists (IB: today's orders and executions only):
                # its absence says nothing; it may have filled. An operator checks (naked, safe mode)
                store.set_intent_state(it.client_order_id, "failed", f"{BEYOND_HISTORY} ({it.venue} lists orders "
                                       f"from {start} ms on; sent at {it.created_ms} ms): outcome unknown")
                blind.add(it.execution_id)
                continue
            store.set_intent_state(it.client_order_id, "failed", RECOVERY_NOT_FOUND)
            rep.missing.append(it.client_order_id)
    decided: list[tuple[str, str, str]] = []          # (execution, state, reason)
    for x in open_execs:
        if any(i.client_order_id in rep.unsettled for i in store.intents(x.id)):
            continue                     # an order of it may still fill: decided by the next recovery
        net = store.leg_net(x.id)
        vals = list(net.values())
        has_unwind = any(i.role == "unwind" for i in store.intents(x.id))
        if x.id in blind:
            state, reason = "naked", f"{why}: an order was sent before its venue's listed history (outcome unknown); " \
                                     f"net lots per leg recorded {net}: check the venue"
            rep.naked.append(x.id)
        elif all(v == 0 for v in vals):
            state, reason = ("unwound" if has_unwind else "aborted"), f"{why}: flat"
        elif len(set(vals)) == 1:
            state, reason = "complete", f"{why}: every leg holds the same lots"
        elif (sets := store.hedged_sets(x.id)) is not None:
            state = "complete" if sets else ("unwound" if has_unwind else "aborted")
            reason = f"{why}: every leg holds {sets} lots but what a venue filled beyond an order's size " \
                     f"(held): net lots per leg {net}"
        else:
            state, reason = "naked", f"{why}: unhedged net lots per leg {net}"
            rep.naked.append(x.id)
        decided.append((x.id, state, reason))
    if rep.naked:                        # first: a naked state is never written outside safe mode
        store.enter_safe_mode(f"unhedged executions {rep.naked} ({why})")
    for xid, state, reason in decided:
        store.set_execution_state(xid, state, reason)
        rep.executions[xid] = state
    if rep.unsettled:
        store.enter_safe_mode(f"orders {rep.unsettled} still resting or pending at the venue after "
                              f"{SETTLE_GIVE_UP_S:.0f} s ({why}): their executions stay open")


def acknowledge(store: OrderStore, who: str = "operator") -> list[str]:
    """Leave safe mode (the `arbbot ack` command). Returns the executions acknowledged."""
    return store.acknowledge(who)
