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


def execute(tmp_path, first: FakeVenue, second: FakeVenue, legs, until=None, ended=None, books=None, setup=None,
            **config) -> tuple:
    """Execute the two-leg opportunity `legs` ((market, side, price) each, 1,000 lots) over the
    venues `first` and `second` (one per leg, the same one for both if they are); (result, store's
    safe mode reason, store fills). Then wait 1 s, or up to 20 s until `until(store)` holds.
    `ended`: a list the monotonic time the execution ended is appended to. `books`: the streamed
    books (market → Decomposition) to read instead of the default ones, changed as the test goes.
    `setup(executor)` is called before the execution starts."""
    routes = {m: Route(v, m.split(":")[1], v.infos[m.split(":")[1]]) for v, (m, _s, _p) in zip((first, second), legs)}
    if books is None:
        books = {"polymarket:P1": quote(5000, 5000), "kalshi:K1": quote(5200, 5300), "kalshi:K2": quote(4800, 4900)}
    store = OrderStore(str(tmp_path / "o.db"))
    ex = Executor(store, routes, config=ExecutorConfig(unwind_pause_s=0.01, unwind_pause_cap_s=0.01, **config),
                  book_source=lambda m: books[m])
    if setup is not None:
        setup(ex)
    opp_legs = tuple(Leg(m, s, 1_000, p, p * 1_000, 0) for m, s, p in legs)
    cost = sum(p for _m, _s, p in legs) * 1_000
    opp = Opportunity("00000000000000aa", Lane.CROSS, Kind(0), 1_000, 10_000_000, cost, 0, 10_000_000 - cost, opp_legs)

    async def main():
        res = await ex.execute(opp, execution_id="x1")
        if ended is not None:
            ended.append(time.monotonic())
        await asyncio.sleep(1.0)                            # the background read of late fills; a queued order
        deadline = time.monotonic() + 20
        while until is not None and not until(store) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
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


def test_an_excess_under_the_venues_minimum_size_is_held_beside_every_set_kept(tmp_path):
    """Leg 0 buys 10 Polymarket shares (1,000 lots; minimum 5 shares); leg 1 (Kalshi) fills 7 of
    10. Before session 27: 7 complete sets kept and the 3 excess shares offered 6 times, each
    refused under the minimum: naked, safe mode. Session 27: nothing kept, both legs unwound in
    full. Session 29: 5 sets kept, Polymarket selling 5 shares and Kalshi 2 contracts to make the
    excess sellable. Now all 7 sets are kept and the 3 shares no order can sell are held at cost
    (at most $1.50 at 50¢), no spread paid on a round trip."""
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1,
                                                  extra=(("min_order_size_lots", "500"),)), min_lots=500)
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100), cap=700)
    res, safe, _fills = execute(tmp_path, poly, kal, [("polymarket:P1", ESide.YES, 5000), ("kalshi:K1", ESide.NO, 4800)])
    assert (res.state, res.filled, safe) == ("complete", {0: 1_000, 1: 700}, None)
    assert "kept 700 lots on every leg" in res.reason
    assert "leg 0 holds 300 lots under its venue's minimum order (held)" in res.reason
    assert poly.sent == [("yes", "buy", 1_000)] and kal.sent == [("no", "buy", 1_000)]


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
                                absent_after_s=0.2, lookup_backoff_cap_s=0.05, absent_watch_s=0.01)
    assert kal.sent == [("no", "buy", 1_000), ("yes", "buy", 1_000), ("no", "sell", 1_000)]
    assert res.state == "naked" and "x1-L0U0 not at the venue after" in res.reason and "not sent again" in res.reason
    assert safe is not None and "naked" in safe
    assert kal.net == {K: 0}                                # the queued sale: flat at the venue


def queue_lost(suffix: str, delay_s: float = 0.6):
    """A venue behaviour: the order whose client id ends in `suffix` answers 503 and is run by the
    venue `delay_s` later (a queue in an incident)."""
    def behave(venue, req):
        if req.client_order_id.endswith(suffix):
            async def later():
                await asyncio.sleep(delay_s)
                venue.execute(req)
            asyncio.ensure_future(later())
            raise OutcomeUnknown("kalshi POST /portfolio/orders: HTTP 503", venue="kalshi", status=503)
    return behave


def settled_state(store) -> str:
    return store.execution("x1").state


def test_an_unwind_order_found_after_it_was_taken_as_absent_is_recorded_and_the_execution_unwound(tmp_path):
    """The queued unwind of the test above is found by the background lookups that go on after the
    execution ended (`absent_watch_s`): the store records its sale (before, the store never knew:
    a reconciliation difference), so leg 0 nets 0 as at the venue and the execution reads unwound.
    Safe mode, entered when it was naked, stays for the operator to acknowledge."""
    k1, k2 = (MarketInfo(Venue.KALSHI, m, m, lot_lots=100) for m in (K, "K2"))
    lost = queue_lost("L0U0")

    def behave(venue, req):
        if req.client_order_id.endswith("L1E0"):
            raise OrderRejected("market paused", venue="kalshi")
        lost(venue, req)
    kal = FakeVenue(Venue.KALSHI, k1, infos=(k2,), behave=behave)
    res, safe, fills = execute(tmp_path, kal, kal, [("kalshi:K1", ESide.NO, 4800), ("kalshi:K2", ESide.YES, 4900)],
                               until=lambda s: settled_state(s) == "unwound",
                               absent_after_s=0.2, lookup_backoff_cap_s=0.05, absent_watch_cap_s=0.1)
    assert res.state == "naked" and safe is not None
    store = OrderStore(str(tmp_path / "o.db"))
    row, net, sale = store.execution("x1"), store.leg_net("x1"), store.intent("x1-L0U0")
    store.close()
    assert (row.state, net, sale.state, sale.filled_qty) == ("unwound", {0: 0, 1: 0}, "filled", 1_000)
    assert "taken as never sent, was at the venue" in row.reason
    assert sorted((f.side, f.action, f.qty) for f in fills) == [("no", "buy", 1_000), ("no", "sell", 1_000)]


def test_an_entry_order_taken_as_absent_that_the_venue_runs_later_leaves_the_execution_naked(tmp_path):
    """Leg 0's order (Kalshi NO, 1,000 lots) answers 503 and lookups do not find it for
    `absent_after_s`: the execution aborts, nothing held. The venue runs it 0.6 s later. Before,
    the store never learned of it: 1,000 lots held at the venue, none in the store (the exposure
    sizing counts, the positions), found only as a reconciliation difference. Now the background
    lookups find it: its fill is recorded, the execution is naked (leg 0 without leg 1) and the
    bot in safe mode, with the reason."""
    k1 = MarketInfo(Venue.KALSHI, K, "k", lot_lots=100)
    p1 = MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1)
    kal = FakeVenue(Venue.KALSHI, k1, behave=queue_lost("L0E0"))
    poly = FakeVenue(Venue.POLYMARKET, p1)
    res, safe, fills = execute(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800), ("polymarket:P1", ESide.YES, 5000)],
                               until=lambda s: settled_state(s) == "naked",
                               absent_after_s=0.2, lookup_backoff_cap_s=0.05, absent_watch_cap_s=0.1)
    assert (res.state, res.filled) == ("aborted", {0: 0, 1: 0})
    assert poly.sent == []
    assert safe is not None and "x1 is naked" in safe and "x1-L0E0, taken as never sent" in safe
    assert [(f.venue, f.side, f.qty) for f in fills] == [("kalshi", "no", 1_000)]
    assert kal.net == {K: -1_000}                           # the venue holds what the store now says


def test_an_order_taken_as_absent_that_never_appears_changes_nothing(tmp_path):
    """Leg 0's order is lost before the venue: the background lookups go on for `absent_watch_s`
    (0.5 s here) without finding it and stop (the test waits 1 s after the execution ended); the
    execution stays aborted, no safe mode."""
    def behave(venue, req):
        raise OutcomeUnknown("kalshi POST /portfolio/orders: timed out", venue="kalshi")
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100), behave=behave)
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1))
    looked = []
    orders = kal.orders

    async def counted(**kw):
        looked.append(time.monotonic())
        return await orders(**kw)
    kal.orders = counted
    ended: list[float] = []
    res, safe, fills = execute(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800), ("polymarket:P1", ESide.YES, 5000)],
                               ended=ended, absent_after_s=0.2, lookup_backoff_cap_s=0.05, absent_watch_cap_s=0.1,
                               absent_watch_s=0.5)
    assert (res.state, safe, fills) == ("aborted", None, [])
    after = [t - ended[0] for t in looked if t > ended[0]]
    assert len(after) >= 3 and max(after) < 0.8             # looked up after the execution, then stopped


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


def moves_after_leg0(books: dict, market: str, to: Decomposition):
    """A venue behaviour: once leg 0's order is sent, `market`'s book becomes `to` (the edge goes
    between the legs)."""
    def behave(venue, req):
        if req.client_order_id.endswith("L0E0"):
            books[market] = to
    return behave


def leg1_moves(tmp_path, kalshi_book: Decomposition, leg1_to: Decomposition, cap: int | None = None,
               **config) -> tuple:
    """Leg 0 buys 10 Kalshi NO at 48¢ on `kalshi_book`; once it is sent, Polymarket YES (leg 1,
    planned at 50¢) moves to `leg1_to`, Polymarket filling at most `cap` lots. (result, safe mode
    reason, store fills, the Kalshi venue, the Polymarket venue)."""
    books = {"polymarket:P1": quote(5000, 5000), "kalshi:K1": kalshi_book}
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100),
                    behave=moves_after_leg0(books, "polymarket:P1", leg1_to))
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1), cap=cap)
    res, safe, fills = execute(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800), ("polymarket:P1", ESide.YES, 5000)],
                               books=books, **config)
    return res, safe, fills, kal, poly


def test_a_leg_whose_edge_went_is_completed_when_that_loses_less_than_unwinding(tmp_path):
    """Leg 0 buys 10 Kalshi NO at 48¢ (its YES ask is 53¢: NO sells at 47¢); then Polymarket YES
    moves from 50¢ to 51¢, leaving $0.10 where the minimum profit is $0.15: the edge is gone.
    Completing: $10 payout − $5.10 = $4.90 for leg 1; unwinding leg 0 brings at best 10 × 47¢ =
    $4.70. Before, leg 0 was unwound (sold at 47¢ less the slippage: −$0.10 at best). Now leg 1
    is bought at 51¢: complete, +$0.10 locked in, and the reason says why."""
    res, safe, _fills, kal, poly = leg1_moves(tmp_path, quote(5200, 5300), quote(5100, 5100), min_profit=150_000)
    assert (res.state, res.filled, safe) == ("complete", {0: 1_000, 1: 1_000}, None)
    assert poly.sent == [("yes", "buy", 1_000)] and kal.sent == [("no", "buy", 1_000)]
    assert res.cash_flow == -(4_800 + 5_100) * 1_000                 # µ$: $9.90 for a $10 payout
    assert res.leg_failed is False                                   # a profit locked in: no breaker failure
    assert "completed at the books" in res.reason and "$4.9 for legs 1" in res.reason and "$4.7" in res.reason


def test_a_leg_whose_edge_went_far_is_still_unwound(tmp_path):
    """As above, but Polymarket YES jumps to 70¢: completing brings $3.00 for leg 1 where
    unwinding leg 0 brings up to $4.70: leg 0 is sold (unwound), leg 1 never sent."""
    res, safe, _fills, kal, poly = leg1_moves(tmp_path, quote(5200, 5300), quote(7000, 7000))
    assert (res.state, res.filled, safe) == ("unwound", {0: 0, 1: 0}, None)
    assert poly.sent == [] and kal.sent == [("no", "buy", 1_000), ("no", "sell", 1_000)]
    assert "edge gone on polymarket:P1 before leg 1" in res.reason


def test_a_leg_completed_at_a_loss_books_the_loss_it_locked_in(tmp_path):
    """Leg 0 buys 10 Kalshi NO at 48¢ (NO sells at 45¢ now); Polymarket YES moves to 53¢:
    completing brings $4.70 for leg 1, unwinding at best $4.50, so leg 1 is bought: the sets lock
    in $10 − $4.80 − $5.30 = −$0.10. That loss is as certain as an unwind's: it is booked as
    realised (the daily loss cap counts it), where a complete execution booked none before."""
    res, safe, _fills, _kal, _poly = leg1_moves(tmp_path, quote(5200, 5500), quote(5300, 5300))
    assert (res.state, res.filled, res.cash_flow, safe) == ("complete", {0: 1_000, 1: 1_000}, -10_100_000, None)
    store = OrderStore(str(tmp_path / "o.db"))
    loss, day = store.realised_loss("x1"), store.daily_loss(0)
    store.close()
    assert (loss, day) == (100_000, 100_000)


def test_a_completion_is_not_chosen_when_an_earlier_legs_unwind_could_not_sell_every_lot(tmp_path):
    """As the loss test above, but Polymarket YES jumps to 90¢ and only 900 lots stand behind
    Kalshi NO's 47¢ bid. Before (review of c33e416): the thin side counted as $0 of proceeds, so
    leg 1 was bought at 90¢, locking in −$3.80. The lots the bid cannot take are rated at the best
    bid (`best_sale`: the most the unwind could bring, $4.70), above completing's $1.00: unwound."""
    thin = Decomposition(yes=((5300, 900),), no=((4800, 100_000),), quote=quote(4700, 5300).quote)
    res, _safe, _fills, kal, poly = leg1_moves(tmp_path, thin, quote(9000, 9000))
    assert res.state == "unwound" and poly.sent == [] and kal.sent == [("no", "buy", 1_000), ("no", "sell", 1_000)]


def test_a_completion_is_chosen_when_an_earlier_legs_unwind_could_not_sell_every_lot_and_completing_loses_less(tmp_path):
    """Leg 0 buys 10 Kalshi NO at 48¢; only 3 contracts stand behind its 47¢ bid (YES asks 53¢),
    the next bid is 25¢ (YES asks 75¢, beyond the unwind's 15¢ slippage cap). Polymarket YES moves
    to 52¢: the edge is gone (min profit $0.15). Completing brings $10 − $5.20 = $4.80; the
    unwind could bring at most $4.70 (every lot rated at the 47¢ bid; it would sell 3 there and
    the rest at 25¢, or leave them naked). Before (session 33's demo run: a four-leg Fed bucket
    unwound for −$11.85 where completing it lost about $2), an unwind that could not sell every
    lot within its cap was taken as doubt and unwound: here 3 sold at 47¢, 7 at 25¢."""
    thin = Decomposition(yes=((5300, 300), (7500, 100_000)), no=((4800, 100_000),), quote=quote(4700, 5300).quote)
    res, safe, _fills, kal, poly = leg1_moves(tmp_path, thin, quote(5200, 5200), min_profit=150_000)
    assert (res.state, res.filled, safe) == ("complete", {0: 1_000, 1: 1_000}, None)
    assert poly.sent == [("yes", "buy", 1_000)] and kal.sent == [("no", "buy", 1_000)]
    assert "completed at the books" in res.reason and "$4.8 for legs 1" in res.reason and "$4.7" in res.reason


def test_a_completion_counts_as_a_leg_failure_for_the_blacklist_and_the_breaker(tmp_path):
    """Trap 7 (leg 0 fills, leg 1 moved, a loss, the arbitrage reappears…) must not loop through
    completions: a leg bought after its edge went counts a failure against its market, and, when
    it locked in a loss (−$0.10 here), the result is a leg failure for the circuit breaker, as an
    unwind is."""
    seen = []

    class Risk:
        def on_execution(self, res, failure=False):
            seen.append((res.state, res.leg_failed, failure))

    def setup(ex):
        ex.risk = Risk()
    res, _safe, _fills, _kal, _poly = leg1_moves(tmp_path, quote(5200, 5500), quote(5300, 5300), setup=setup,
                                                 failure_threshold=1)
    assert res.state == "complete" and seen == [("complete", True, True)]
    store = OrderStore(str(tmp_path / "o.db"))
    blacklisted = store.market_blocks("polymarket:P1")[0]
    store.close()
    assert blacklisted


def test_a_completion_that_fills_short_keeps_the_most_sets_and_holds_the_dust(tmp_path):
    """As the loss test, but the completion fills 981 of Polymarket's 1,000 lots. Before (review of
    c33e416): both legs were sold in full, the completion's spread paid twice. Session 29: 700
    sets kept, 3 Kalshi contracts and 2.81 Polymarket shares sold so that Polymarket's excess met
    its $1 minimum. Now 900 sets are kept (Kalshi's excess must be whole contracts): Kalshi sells
    its 1 extra contract, and Polymarket's 81-lot excess (0.81 share, $0.43 at 53¢, under the $1
    minimum) is held at cost."""
    res, _safe, _fills, kal, poly = leg1_moves(tmp_path, quote(5200, 5500), quote(5300, 5300), cap=981)
    assert (res.state, res.filled) == ("complete", {0: 900, 1: 981})
    assert "kept 900 lots on every leg" in res.reason and "leg 1 holds 81 lots under its venue's minimum" in res.reason
    assert kal.sent == [("no", "buy", 1_000), ("no", "sell", 100)]
    assert poly.sent == [("yes", "buy", 1_000)]


def test_an_order_found_late_whose_recording_fails_still_leaves_the_bot_in_safe_mode(tmp_path):
    """The entry order taken as never sent is found filled, and the store refuses to record it (a
    disk error). Before (review of c33e416): the error ended the background lookup and safe mode,
    entered only after the recording, never was: a held leg unsaid. Now safe mode is entered before
    the recording (a crash there still stops trading) and again on the error, naming the order."""
    import sqlite3
    k1 = MarketInfo(Venue.KALSHI, K, "k", lot_lots=100)
    kal = FakeVenue(Venue.KALSHI, k1, behave=queue_lost("L0E0"))
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1))

    def setup(ex):
        def broken(*_a, **_k):
            raise sqlite3.OperationalError("disk I/O error")
        ex.store.record_order = broken
    res, safe, _fills = execute(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800), ("polymarket:P1", ESide.YES, 5000)],
                                until=lambda s: s.safe_mode() is not None, setup=setup,
                                absent_after_s=0.2, lookup_backoff_cap_s=0.05, absent_watch_cap_s=0.1)
    assert res.state == "aborted"
    assert safe is not None and "x1-L0E0, taken as never sent" in safe and "could not be recorded" in safe


def test_a_remainder_under_the_venues_minimum_order_is_held_not_left_naked(tmp_path):
    """Leg 0 buys 10 Kalshi NO; leg 1's Polymarket FAK buy fills 0.58 of 10 shares (58 lots; the
    market's minimum is 5 shares, and $1 for a marketable order). 58 sets cannot be kept (Kalshi
    would have to sell 9.42 contracts), so everything is unwound: Kalshi's 10 contracts are sold,
    and the 0.58 shares, which no order the venue accepts could sell or hedge, are held at cost.
    Before: six sales of 58 lots, each refused, then naked and safe mode for $0.29 of shares."""
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1,
                                                  extra=(("min_order_size_lots", "500"),)), min_lots=500, cap=58)
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100))
    res, safe, _fills = execute(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800), ("polymarket:P1", ESide.YES, 5000)])
    assert (res.state, res.filled, safe) == ("unwound", {0: 0, 1: 58}, None)
    assert "leg 1 holds 58 lots under its venue's minimum order (held)" in res.reason
    assert kal.sent == [("no", "buy", 1_000), ("no", "sell", 1_000)] and poly.sent == [("yes", "buy", 1_000)]
    assert res.held_cost == 5_000 * 58
