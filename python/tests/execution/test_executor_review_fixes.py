"""The executor on three faults a review reproduced: a fills read that fails right after a leg
filled, a partial hedge whose excess is under the venue's minimum order size, and an unwind order
whose answer was lost and which lookups did not find (it may still reach the venue).

Units: lots (100 a contract), ticks ($0.0001), µ$. The venues are fakes that fill at the limit."""
from __future__ import annotations

import asyncio
import time

from arbbot.engine.types import Decomposition, Kind, Lane, Leg, Opportunity, Quote, Side as ESide
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.model import MarketInfo, Venue
from arbbot.venues.common.errors import OrderRejected, OutcomeUnknown, TransportError
from arbbot.venues.common.model import Action, Fill, Order, OrderStatus, Side

P, K = "P1", "K1"


class FakeVenue:
    """Fills each order at its limit, up to `cap` lots (None: all); refuses an order under
    `min_lots` (as Polymarket's minimum size); its first `fills_fail` fills reads answer 503."""

    def __init__(self, venue: Venue, info: MarketInfo, *, cap: int | None = None, min_lots: int = 0,
                 fills_fail: int = 0, infos: tuple[MarketInfo, ...] = (), behave=None) -> None:
        self._venue, self.venue, self.info = venue, venue.label, info
        self.infos = {i.market_id: i for i in (info, *infos)}
        self.cap, self.min_lots, self.fills_fail, self.behave = cap, min_lots, fills_fail, behave
        self.sent: list[tuple[str, str, int]] = []          # (side, action, lots) of every order sent
        self.listed: list[Fill] = []
        self.placed: list[Order] = []
        self.net: dict[str, int] = {}                       # market → YES lots held (NO negative), as the venue sees it

    def market_info(self, market_id):
        return self.infos.get(market_id)

    def refusal(self, req):
        return f"size {req.qty_lots} lots is below the market minimum {self.min_lots}" \
            if req.qty_lots < self.min_lots else None

    async def place_order(self, req):
        why = self.refusal(req)
        if why:
            raise OrderRejected(why, venue=self.venue)
        self.sent.append((req.side.label, req.action.value, req.qty_lots))
        if self.behave is not None:
            self.behave(self, req)                          # may raise: a refusal, a lost answer
        return self.execute(req)

    def execute(self, req):
        n = len(self.listed) + 1
        got = min(req.qty_lots, self.cap) if self.cap is not None and req.action is Action.BUY else req.qty_lots
        self.listed.append(Fill(self._venue, f"{self.venue}-f{n}", f"{self.venue}-o{n}", req.market_id, req.side,
                                req.action, req.price_ticks, got, 0, True, int(time.time() * 1000),
                                req.client_order_id))
        o = Order(self._venue, f"{self.venue}-o{n}", req.client_order_id, req.market_id, req.side, req.action,
                  req.price_ticks, req.qty_lots, got, 0, OrderStatus.FILLED if got == req.qty_lots else OrderStatus.CANCELED,
                  cost_micros=req.price_ticks * got if req.action is Action.BUY else 0)
        self.placed.append(o)
        sign = (1 if req.action is Action.BUY else -1) * (1 if req.side is Side.YES else -1)
        self.net[req.market_id] = self.net.get(req.market_id, 0) + sign * got
        return o

    async def order(self, order_id):
        return next((o for o in self.placed if o.order_id == order_id), None)

    async def orders(self, *, ticker=None, **_):
        return [o for o in self.placed if ticker is None or o.market_id == ticker]

    async def fills(self, *, order_id=None, **_):
        if self.fills_fail:
            self.fills_fail -= 1
            raise TransportError(f"{self.venue} GET fills: HTTP 503", venue=self.venue)
        return [f for f in self.listed if order_id is None or f.order_id == order_id]


def quote(bid_yes: int, ask_yes: int) -> Decomposition:
    return Decomposition(yes=((ask_yes, 100_000),), no=((10_000 - bid_yes, 100_000),),
                         quote=Quote(bid_yes, ask_yes, 10_000 - ask_yes, 10_000 - bid_yes, None, None, False))


def execute(tmp_path, first: FakeVenue, second: FakeVenue, legs, **config) -> tuple:
    """Execute the two-leg opportunity `legs` ((market, side, price) each, 1,000 lots) over the
    venues `first` and `second` (one per leg, the same one for both if they are); (result, store's
    safe mode reason, store fills)."""
    routes = {m: Route(v, m.split(":")[1], v.infos[m.split(":")[1]]) for v, (m, _s, _p) in zip((first, second), legs)}
    books = {"polymarket:P1": quote(5000, 5000), "kalshi:K1": quote(5200, 5300), "kalshi:K2": quote(4800, 4900)}
    store = OrderStore(str(tmp_path / "o.db"))
    ex = Executor(store, routes, config=ExecutorConfig(unwind_pause_s=0.01, unwind_pause_cap_s=0.01, **config),
                  book_source=lambda m: books[m])
    opp_legs = tuple(Leg(m, s, 1_000, p, p * 1_000, 0) for m, s, p in legs)
    cost = sum(p for _m, _s, p in legs) * 1_000
    opp = Opportunity("00000000000000aa", Lane.CROSS, Kind(0), 1_000, 10_000_000, cost, 0, 10_000_000 - cost, opp_legs)

    async def main():
        res = await ex.execute(opp, execution_id="x1")
        await asyncio.sleep(1.0)                            # the background read of late fills; a queued order
        return res
    res = asyncio.run(main())
    safe, fills = store.safe_mode(), store.fills()
    store.close()
    return res, safe, fills


def test_a_fills_read_that_fails_after_a_leg_filled_does_not_leave_it_naked(tmp_path):
    """Leg 0 (Kalshi NO, 1,000 lots) fills; the next read of its fills answers 503. Before, the
    error escaped the order path: recovery found leg 0 filled and leg 1 never sent, so the
    execution was naked and the bot in safe mode. Now the order's filled lots stand, leg 1 is sent
    and the fills are read again in the background: complete, both fills recorded."""
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100), fills_fail=1)
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1))
    res, safe, fills = execute(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800), ("polymarket:P1", ESide.YES, 5000)])
    assert (res.state, res.filled, safe) == ("complete", {0: 1_000, 1: 1_000}, None)
    assert poly.sent == [("yes", "buy", 1_000)]
    assert sorted((f.venue, f.qty) for f in fills) == [("kalshi", 1_000), ("polymarket", 1_000)]


def test_an_excess_under_the_venues_minimum_size_unwinds_everything_instead_of_keeping_sets(tmp_path):
    """Leg 0 buys 10 Polymarket shares (1,000 lots; minimum 5 shares); leg 1 (Kalshi) fills 7 of
    10. Before: 7 complete sets kept and the 3 excess shares offered 6 times, each refused under
    the minimum: naked, safe mode. Now the excess is seen to be unsendable (as a sale and as a
    purchase of the other side), so nothing is kept: leg 1's 700 lots and leg 0's 1,000 unwound."""
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1,
                                                  extra=(("min_order_size_lots", "500"),)), min_lots=500)
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100), cap=700)
    res, safe, _fills = execute(tmp_path, poly, kal, [("polymarket:P1", ESide.YES, 5000), ("kalshi:K1", ESide.NO, 4800)])
    assert (res.state, res.filled, safe) == ("unwound", {0: 0, 1: 0}, None)
    assert poly.sent == [("yes", "buy", 1_000), ("yes", "sell", 1_000)]
    assert kal.sent == [("no", "buy", 1_000), ("no", "sell", 700)]


def test_an_unwind_order_lost_and_not_found_is_never_followed_by_another_for_the_same_lots(tmp_path):
    """Leg 1 is refused, so leg 0 (1,000 lots of Kalshi NO) is unwound. The unwind order's answer
    is lost (503) and lookups do not find it for `absent_after_s`: the venue had it queued and runs
    it 0.6 s later. Before, the executor took it as never sent and sold the same 1,000 lots again:
    the store said unwound and flat, the venue ended 1,000 lots the other way, nothing in safe
    mode. Now no second order goes for those lots: the execution is naked, in safe mode, with the
    reason; the venue ends flat (the queued sale) for an operator to check."""
    k1, k2 = (MarketInfo(Venue.KALSHI, m, m, lot_lots=100) for m in (K, "K2"))
    queued = []

    def behave(venue, req):
        if req.client_order_id.endswith("L1E0"):
            raise OrderRejected("market paused", venue="kalshi")
        if req.client_order_id.endswith("L0U0"):
            async def later():
                await asyncio.sleep(0.6)
                venue.execute(req)
            queued.append(asyncio.ensure_future(later()))
            raise OutcomeUnknown("kalshi POST /portfolio/orders: HTTP 503", venue="kalshi", status=503)
    kal = FakeVenue(Venue.KALSHI, k1, infos=(k2,), behave=behave)
    res, safe, _fills = execute(tmp_path, kal, kal, [("kalshi:K1", ESide.NO, 4800), ("kalshi:K2", ESide.YES, 4900)],
                                absent_after_s=0.2, lookup_backoff_cap_s=0.05)
    assert kal.sent == [("no", "buy", 1_000), ("yes", "buy", 1_000), ("no", "sell", 1_000)]
    assert res.state == "naked" and "x1-L0U0 not at the venue after" in res.reason and "not sent again" in res.reason
    assert safe is not None and "naked" in safe
    assert kal.net == {K: 0}                                # the queued sale: flat at the venue


def test_an_order_found_by_lookup_costs_what_its_fills_cost_not_its_limit(tmp_path):
    """Leg 0's answer is lost; the lookup finds the order filled, but (like Polymarket's GET
    /data/order) knows only its limit: 1,000 lots at 50¢ = $5.00. Its fills say 600 at 48¢ and 400
    at 49¢: $4.84 paid. Before, $5.00 was recorded and counted as spent (the next leg's edge
    check and the exposure on it); now the fills' $4.84."""
    p1 = MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1)
    k1 = MarketInfo(Venue.KALSHI, K, "k", lot_lots=100)

    def behave(venue, req):
        if req.client_order_id.endswith("L0E0"):
            n = len(venue.listed)
            venue.listed += [Fill(Venue.POLYMARKET, f"pf{n + i}", "p-lost", req.market_id, req.side, req.action, px,
                                  lots, 0, True, int(time.time() * 1000), req.client_order_id)
                             for i, (px, lots) in enumerate(((4_800, 600), (4_900, 400)))]
            venue.placed.append(Order(Venue.POLYMARKET, "p-lost", req.client_order_id, req.market_id, req.side,
                                      req.action, req.price_ticks, req.qty_lots, req.qty_lots, 0, OrderStatus.FILLED,
                                      cost_micros=req.price_ticks * req.qty_lots))
            raise OutcomeUnknown("polymarket POST /order: timed out", venue="polymarket")
    poly = FakeVenue(Venue.POLYMARKET, p1, behave=behave)
    kal = FakeVenue(Venue.KALSHI, k1)
    store_path = tmp_path / "o.db"
    res, safe, _fills = execute(tmp_path, poly, kal, [("polymarket:P1", ESide.YES, 5000), ("kalshi:K1", ESide.NO, 4800)],
                                lookup_backoff_cap_s=0.05)
    assert (res.state, safe) == ("complete", None)
    store = OrderStore(str(store_path))
    costs = [(i.leg, i.filled_qty, i.cost) for i in store.intents("x1")]
    store.close()
    assert costs == [(0, 1_000, 4_840_000), (1, 1_000, 4_800_000)]
