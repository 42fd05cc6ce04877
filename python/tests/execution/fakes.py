"""A venue client for executor tests: every order filled in full at its limit price."""
from __future__ import annotations

from arbbot.venues.common.errors import OrderRejected
from arbbot.venues.common.model import Fill, Order, OrderStatus, Venue


class Filling:
    """Fills every order in full at its limit price, charged `fee` µ$ (what it reports when
    `reports_fees`); `refusal` as given (refused before sending, as an adapter does); `info` the
    market's rules as an adapter's `market_info` gives them. `sent`: (market, action, lots, price)."""

    def __init__(self, venue: Venue, refusal=None, *, fee: int = 0, info=None, reports_fees: bool = False) -> None:
        self.venue, self.sent = venue.label, []
        self._venue, self.fee, self.info, self.reports_fees = venue, fee, info, reports_fees
        if refusal is not None:
            self.refusal = refusal

    def market_info(self, market_id):
        return self.info if self.info is not None and market_id == self.info.market_id else None

    async def place_order(self, req):
        why = self.refusal(req) if hasattr(self, "refusal") else None
        if why is not None:
            raise OrderRejected(why, venue=self.venue)
        self.sent.append((req.market_id, req.action.value, req.qty_lots, req.price_ticks))
        self.last = Fill(self._venue, f"f{len(self.sent)}", f"o{len(self.sent)}", req.market_id, req.side, req.action,
                         req.price_ticks, req.qty_lots, self.fee, True, 0, req.client_order_id)
        return Order(self._venue, f"o{len(self.sent)}", req.client_order_id, req.market_id, req.side, req.action,
                     req.price_ticks, req.qty_lots, req.qty_lots, 0, OrderStatus.FILLED, fees_micros=self.fee,
                     cost_micros=req.price_ticks * req.qty_lots)

    async def fills(self, *, order_id=None, **kw):
        return [self.last]
