"""What a ForecastEx order cost, from the executions IB reports for it.

Units: IB's `price` is exact `Decimal` dollars per contract and `shares` whole contracts
(`client.py`); out come ticks ($0.0001), lots (0.01 contract) and µ$ — a tick × a lot is exactly
1 µ$, so an order's cost is Σ price ticks × lots over its executions, no rounding anywhere. Fees
are IB's commission per execution in µ$, rounded up to 1 µ$ each (as `ForecastExVenue.fills`
reports them).

Corrections: IB may send an execution again, corrected, under an execId that "differs from a
previous ExecId in only the digits after the final period (.02 corrects .01)" (TWS API,
`Execution.execId`); ib_async keeps both as separate fills. The correction replaces the original:
an execution counts once, as its latest version (`current_versions`).
"""
from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, Decimal
from typing import Callable, Iterable, TypeVar

from arbbot.units import LOTS_PER_CONTRACT, MICROS_PER_DOLLAR, price_ticks
from arbbot.venues.forecastex.client import IBFill, IBTrade

T = TypeVar("T")


def correction_key(exec_id: str) -> tuple[str, int]:
    """(the execution it is a version of, its version number) of IB execId `exec_id`: the id
    without the digits after its final period, and those digits ("….01.02" → ("….01", 2)); an
    id without such digits is its own execution, version 0."""
    base, dot, n = exec_id.rpartition(".")
    return (base, int(n)) if dot and n.isdigit() else (exec_id, 0)


def current_versions(items: Iterable[T], exec_id: Callable[[T], str]) -> list[tuple[T, str]]:
    """Each execution among `items` once: (its latest version, the execId of its first version),
    in the order the executions were first seen. A correction (a higher version) replaces what
    it corrects; the first version's id names the execution for good, so that a fill recorded
    before its correction keeps its id (fills are stored by id)."""
    latest: dict[str, tuple[int, T]] = {}
    first: dict[str, tuple[int, str]] = {}
    for x in items:
        xid = exec_id(x)
        base, n = correction_key(xid)
        if base not in latest or n > latest[base][0]:
            latest[base] = (n, x)
        if base not in first or n < first[base][0]:
            first[base] = (n, xid)
    return [(x, first[base][1]) for base, (_n, x) in latest.items()]


def corrected(fills: Iterable[IBFill]) -> list[IBFill]:
    """`fills` with every corrected execution once, as its latest version named by its first
    version's execId (idempotent)."""
    return [f if f.exec_id == xid else replace(f, exec_id=xid)
            for f, xid in current_versions(fills, lambda f: f.exec_id)]


def fee_micros(commission: Decimal) -> int:
    """IB's commission of one execution ($) → µ$, rounded up (never understated)."""
    return int((commission * MICROS_PER_DOLLAR).to_integral_value(rounding=ROUND_CEILING))


class Executions:
    """IB executions indexed to find one order's: by IB's permId (unique in the account) when the
    order and the execution both carry one, else by order id. Order ids are an API client's own:
    IB reports every client's executions, and two clients' orders may share an id. A corrected
    execution counts once, as its correction (`corrected`)."""

    def __init__(self, fills: list[IBFill]) -> None:
        self.by_perm: dict[int, list[IBFill]] = {}
        self.by_id: dict[tuple[int, int], list[IBFill]] = {}     # (client id, order id) → executions
        for f in corrected(fills):
            if f.perm_id:
                self.by_perm.setdefault(f.perm_id, []).append(f)
            self.by_id.setdefault((f.client_id, f.order_id), []).append(f)

    def of(self, t: IBTrade) -> list[IBFill]:
        """`t`'s executions: by permId; an execution without one by (client id, order id), never by
        the order id alone (another client's order may have the same id)."""
        by_id = self.by_id.get((t.client_id, t.order_id), ())
        if not t.perm_id:
            return list(by_id)
        return self.by_perm.get(t.perm_id, []) + [f for f in by_id if not f.perm_id]


def order_cost(t: IBTrade, execs: list[IBFill]) -> tuple[int, int, int]:
    """(cost µ$, fees µ$, lots without an execution) of BUY order `t` from its executions `execs`.

    cost = Σ price ticks × lots of the executions. Contracts IB reports filled whose executions
    have not arrived yet (IB sends the order status and the executions apart) have no known price:
    they are counted at the order's limit — a BUY never pays more — so the cost is an upper bound,
    never understated, until the executions come; the third value says how many lots that is."""
    lots = sum(f.shares for f in execs) * LOTS_PER_CONTRACT
    cost = sum(price_ticks(f.price) * f.shares * LOTS_PER_CONTRACT for f in execs)
    missing = max(0, t.filled * LOTS_PER_CONTRACT - lots)
    if missing:
        cost += price_ticks(t.limit) * missing
    return cost, sum(fee_micros(f.commission) for f in execs), missing
