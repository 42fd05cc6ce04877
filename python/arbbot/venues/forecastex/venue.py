"""`ForecastExVenue`: catalog by conId (cached), L1 bids as the native book, buy-only orders."""
from __future__ import annotations

from decimal import Decimal

from arbbot.venues.common.errors import NotFound, OrderRejected
from arbbot.venues.common.model import (
    Action, FeeSchedule, MarketInfo, NativeBook, Order, OrderRequest, OrderStatus, Position, Side,
    TimeInForce, Venue,
)
from arbbot.venues.common.units import price_ticks
from arbbot.venues.forecastex.client import IBClient, IBContract

FEES = FeeSchedule(per_contract_micros=10_000)       # $0.01 per contract, conservative (VENUES.md)
_STATUS = {"Filled": OrderStatus.FILLED, "Cancelled": OrderStatus.CANCELED, "ApiCancelled": OrderStatus.CANCELED,
           "Inactive": OrderStatus.REJECTED, "Submitted": OrderStatus.RESTING, "PreSubmitted": OrderStatus.RESTING,
           "PendingSubmit": OrderStatus.PENDING}


def market_id(c: IBContract) -> str:
    return f"{c.symbol}-{c.expiry}-{c.strike}"


class ForecastExVenue:
    venue = "forecastex"

    def __init__(self, client: IBClient, symbols: list[str]) -> None:
        self.client = client
        self.symbols = symbols
        self.markets: dict[str, MarketInfo] = {}
        self.con: dict[str, tuple[int, int]] = {}       # market id → (YES conId, NO conId); cached

    async def discover_markets(self) -> list[MarketInfo]:
        if self.markets:
            return list(self.markets.values())             # conIds are cached: IB pacing is costly
        for sym in self.symbols:
            pairs: dict[str, dict[str, IBContract]] = {}
            for c in await self.client.contract_details(sym):
                if c.exchange == "FORECASTX" and c.sec_type == "OPT":
                    pairs.setdefault(market_id(c), {})[c.right] = c
            for mid, p in sorted(pairs.items()):
                if "C" in p and "P" in p:
                    self.con[mid] = (p["C"].con_id, p["P"].con_id)
                    self.markets[mid] = MarketInfo(Venue.FORECASTEX, mid, p["C"].long_name or mid,
                                                   event_id=f"{p['C'].symbol}-{p['C'].expiry}", fees=FEES,
                                                   lot_lots=100, tick_ticks=100, yes_token=str(p["C"].con_id),
                                                   no_token=str(p["P"].con_id))
        return list(self.markets.values())

    def _cons(self, mid: str) -> tuple[int, int]:
        if mid not in self.con:
            raise NotFound(f"forecastex: unknown market {mid}; call discover_markets first", venue="forecastex")
        return self.con[mid]

    async def fetch_book(self, mid: str) -> NativeBook:
        """Top of book: the YES contract's BID and the NO contract's BID (IB L1 data)."""
        yes_c, no_c = self._cons(mid)
        out = []
        for con in (yes_c, no_c):
            q = await self.client.quote(con)
            out.append(((price_ticks(q.bid), q.bid_size * 100),) if q.bid is not None and q.bid_size > 0 else ())
        return NativeBook(Venue.FORECASTEX, mid, yes_bids=out[0], no_bids=out[1])

    async def place_order(self, req: OrderRequest) -> Order:
        if req.action is not Action.BUY:
            raise OrderRejected("forecastex is buy-only: to exit, buy the opposite side", venue="forecastex")
        if req.qty_lots % 100:
            raise OrderRejected("forecastex trades whole contracts only", venue="forecastex")
        if not 200 <= req.price_ticks <= 9_900 or req.price_ticks % 100:
            raise OrderRejected("forecastex prices are $0.01 steps within 0.02-0.99", venue="forecastex")
        yes_c, no_c = self._cons(req.market_id)
        tif = {TimeInForce.IOC: "IOC", TimeInForce.GTC: "GTC"}.get(req.tif, "DAY")
        if req.tif is TimeInForce.FOK:
            raise OrderRejected("forecastex supports DAY, GTC and IOC only", venue="forecastex")
        t = await self.client.place_limit(yes_c if req.side is Side.YES else no_c, "BUY", req.qty_lots // 100,
                                          Decimal(req.price_ticks) / 10_000, tif)
        return self._order(req.market_id, req.side, t)

    def _order(self, mid: str, side: Side, t) -> Order:
        return Order(Venue.FORECASTEX, str(t.order_id), "", mid, side, Action.BUY, price_ticks(t.limit),
                     t.quantity * 100, t.filled * 100, 0 if t.status in ("Filled", "Cancelled", "ApiCancelled",
                                                                         "Inactive") else (t.quantity - t.filled) * 100,
                     _STATUS.get(t.status, OrderStatus.PENDING))

    async def cancel_order(self, order_id: str) -> Order:
        t = await self.client.cancel(int(order_id))
        mid = next((m for m, (y, n) in self.con.items() if t.con_id in (y, n)), "")
        return self._order(mid, Side.YES if self.con.get(mid, (0, 0))[0] == t.con_id else Side.NO, t)

    async def positions(self) -> list[Position]:
        """Net YES − NO per market (IB nets the pair)."""
        held = await self.client.positions()
        out = []
        for mid, (y, n) in self.con.items():
            net = held.get(y, 0) - held.get(n, 0)
            if held.get(y) or held.get(n):
                out.append(Position(Venue.FORECASTEX, mid, net * 100))
        return out
