"""Bringing an IOC/FOK order the venue shows resting or pending to its settled state, and picking
the most settled of several records of one order. Shared by the executor (an answer that came
back resting or pending: Polymarket's `delayed`, an IB IOC not done by its acknowledgement) and
crash recovery (such an order found after a restart): an order that may still fill is never
recorded as done.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time

from arbbot import logs
from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.model import Order, OrderStatus

UNSETTLED = (OrderStatus.RESTING, OrderStatus.PENDING)     # the order may still fill
# a venue that stops serving a finished order by id (`forgets_finished_orders`: Polymarket, whose
# adapter then reads it from its fills) and shows neither it nor a fill of it this long (seconds,
# from its first such lookup) is taken to have ended it (`Forgotten`): most often a delayed FAK
# killed with nothing matched, but a delayed match listed later looks the same until it is listed
FORGOTTEN_S = 5.0
log = logs.get("execution")


@dataclasses.dataclass(frozen=True)
class Forgotten(Order):
    """What `settle` returns for an order the venue showed nothing of (neither it nor a fill) for
    FORGOTTEN_S: CANCELED with the fills last known, but no record at the venue, not a confirmed
    cancel. With 0 lots its fill may still be listed: callers keep looking (the executor's absent
    watch), never record it as a cancel."""


def most_settled(records) -> Order | None:
    """Of the records a venue lists for one order (IB lists the live order and its completed
    record), the settled one before any unsettled, then the most filled; None for none."""
    return max(records, key=lambda o: (o.status not in UNSETTLED, o.filled_lots), default=None)


async def settle(client, order: Order, *, timeout_s: float, backoff_cap_s: float, give_up_s: float | None = None,
                 coid: str = "") -> Order:
    """`order` (resting or pending) once the venue shows it settled: cancelled while resting, then
    looked up by its id, so its fills are what the venue says now, never the stale answer nor the
    cancel's reply (a refused cancel may mean it matched meanwhile; an adapter restarted since it
    sent the order may answer a cancel with nothing filled). Retried with backoff; after
    `give_up_s` (None: never) the latest record is returned, still unsettled. On a venue that
    forgets finished orders, one it shows nothing of for FORGOTTEN_S is returned as `Forgotten`
    (CANCELED with the fills last known)."""
    backoff = Backoff(base=0.05, cap=backoff_cap_s)
    started = time.monotonic()
    forgets = getattr(client, "forgets_finished_orders", False) is True
    unseen_since: float | None = None          # the first lookup that showed nothing (forgets only)
    while True:
        if order.status is OrderStatus.RESTING:
            try:
                order = await asyncio.wait_for(client.cancel_order(order.order_id), timeout_s)
            except (VenueError, asyncio.TimeoutError) as exc:
                log.warning("order.cancel_failed", client_order_id=coid, order_id=order.order_id,
                            reason=f"{type(exc).__name__}: {exc}")
        try:
            now = await asyncio.wait_for(client.order(order.order_id), timeout_s)
        except (VenueError, asyncio.TimeoutError) as exc:
            log.warning("order.lookup_failed", client_order_id=coid, reason=f"{type(exc).__name__}: {exc}")
        else:
            if now is not None:
                order, unseen_since = now, None
            elif forgets:
                unseen_since = time.monotonic() if unseen_since is None else unseen_since
                if time.monotonic() - unseen_since >= FORGOTTEN_S:
                    log.warning("order.forgotten", client_order_id=coid, order_id=order.order_id,
                                filled=order.filled_lots, unseen_s=FORGOTTEN_S)
                    return Forgotten(**{**vars(order), "status": OrderStatus.CANCELED, "remaining_lots": 0})
            if order.status not in UNSETTLED:
                return order
        if give_up_s is not None and time.monotonic() - started >= give_up_s:
            return order
        await asyncio.sleep(backoff.next_delay())
