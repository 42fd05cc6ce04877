"""Executions with real fills written straight into an order store (no venue): the store's own
write path (create_execution → add_intent → record_order → set_execution_state)."""
from __future__ import annotations

from datetime import datetime, timezone

from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as EngineSide
from arbbot.venues.common.model import Action, Fill, Order, OrderStatus, Side, Venue


def utc_s(text: str) -> float:
    """'2026-03-10 06:30:00' (UTC) → Unix seconds."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


class Clock:
    """Injectable wall clock (Unix seconds); `.ms` is the store's clock."""
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def ms(self) -> int:
        return int(round(self.t * 1000))


def two_leg_opportunity(oid: str, qty: int = 1_000) -> Opportunity:
    """YES kalshi:A at ≤ 42¢ + NO polymarket:B at ≤ 50¢, `qty` lots each (planned numbers only)."""
    legs = (Leg("kalshi:A", EngineSide.YES, qty, 4_200, 4_200 * qty, 40_000),
            Leg("polymarket:B", EngineSide.NO, qty, 5_000, 5_000 * qty, 50_000))
    return Opportunity(oid, Lane.CROSS, Kind.YES_A_NO_B, qty, 10_000 * qty, 9_200 * qty, 90_000,
                       800 * qty - 90_000, legs)


def fill(store, xid: str, leg: int, role: str, *, venue: str, market_id: str, side: str, action: str, qty: int,
         price: int, fee: int, attempt: int = 0, reported_side: str | None = None) -> str:
    """Write an intent and its venue answer: filled completely at `price` (ticks of `side`) with
    `fee` µ$. `reported_side`: the side the venue's fill names (Kalshi may report a sale of YES
    at p as NO at 10,000 − p). Returns the client order id."""
    coid = store.add_intent(xid, leg, role, attempt, venue=venue, market=f"{venue}:{market_id}",
                            market_id=market_id, side=side, action=action, qty=qty, price=price, tif="ioc")
    order = Order(Venue.parse(venue), f"o-{coid}", coid, market_id, Side.parse(side), Action(action), price, qty, qty, 0,
                  OrderStatus.FILLED, fee, price * qty)
    fside = reported_side or side
    fprice = price if fside == side else 10_000 - price
    f = Fill(Venue.parse(venue), f"f-{coid}", f"o-{coid}", market_id, Side.parse(fside), Action(action), fprice, qty, fee, True, 0)
    store.record_order(coid, order, [f])
    return coid


def unwound_losing_3_25(store, xid: str = "u1") -> None:
    """Bought 1,000 lots YES A at 42¢ ($4.20 + $0.04 fee), sold them back at 10.2¢ ($1.02 − $0.03
    fee): cash flow −$3.25, of which $0.07 fees."""
    store.create_execution(xid, two_leg_opportunity(f"opp-{xid}"))
    fill(store, xid, 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    fill(store, xid, 0, "unwind", venue="kalshi", market_id="A", side="yes", action="sell", qty=1_000, price=1_020,
         fee=30_000, reported_side="no")
    store.set_execution_state(xid, "unwound", "leg 1 rejected")


def complete_profitable(store, xid: str = "c1") -> None:
    """Both legs filled: YES A 1,000 lots at 42¢ (fee $0.04) + NO B at 50¢ (fee $0.05): pays
    $9.29 now for $10.00 at settlement (locked-in profit $0.71; cash flow −$9.29)."""
    store.create_execution(xid, two_leg_opportunity(f"opp-{xid}"))
    fill(store, xid, 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    fill(store, xid, 1, "entry", venue="polymarket", market_id="B", side="no", action="buy", qty=1_000, price=5_000,
         fee=50_000)
    store.set_execution_state(xid, "complete")
