"""What a ForecastEx order cost, from the executions IB reports for it.

Units: IB's `price` is exact `Decimal` dollars per contract and `shares` whole contracts
(`client.py`); out come ticks ($0.0001), lots (0.01 contract) and µ$ — a tick × a lot is exactly
1 µ$, so an order's cost is Σ price ticks × lots over its executions, no rounding anywhere. Fees
are IB's commission per execution in µ$, rounded up to 1 µ$ each (as `ForecastExVenue.fills`
reports them).
"""
from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from arbbot.units import LOTS_PER_CONTRACT, MICROS_PER_DOLLAR, price_ticks
from arbbot.venues.forecastex.client import IBFill, IBTrade


def fee_micros(commission: Decimal) -> int:
    """IB's commission of one execution ($) → µ$, rounded up (never understated)."""
    return int((commission * MICROS_PER_DOLLAR).to_integral_value(rounding=ROUND_CEILING))


class Executions:
    """IB executions indexed to find one order's: by IB's permId (unique in the account) when the
    order and the execution both carry one, else by order id. Order ids are an API client's own:
    IB reports every client's executions, and two clients' orders may share an id."""

    def __init__(self, fills: list[IBFill]) -> None:
        self.by_perm: dict[int, list[IBFill]] = {}
        self.by_id: dict[tuple[int, int], list[IBFill]] = {}     # (client id, order id) → executions
        for f in fills:
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
