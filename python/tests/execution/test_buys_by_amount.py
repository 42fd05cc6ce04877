"""Polymarket's marketable BUY spends a dollar amount: the executor sends what the leg's fills cost
at the book it was priced on, so the leg buys its size, and tops it up when a thinner book made the
budget buy fewer shares. End to end: executor → the real Polymarket adapter (signed V2 orders) →
the simulated CLOB, which spends a FAK BUY's maker amount at the makers' prices.

Market A's YES asks: 20,000 lots at 0.45 then 40,000 at 0.48; market B's NO asks: 100,000 at 0.40.
The opportunity (as a cross pair would be) buys 30,000 lots of each: A's YES walks 20,000 @ 0.45 +
10,000 @ 0.48 = $138 (worst 0.48), B's NO 30,000 @ 0.40 = $120, for a $300 payout.
"""
from __future__ import annotations

import asyncio

from arbbot.engine import decompose
from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side, Venue
from arbbot.execution import Executor, OrderStore, Route
from arbbot.sim.engine.matching import FULL, HOUSE
from arbbot.venues.common.model import OrderRequest, TimeInForce
from tests.sim.venue_envs import polymarket


A_ASKS, B_ASKS = ((4_500, 20_000), (4_800, 40_000)), ((4_000, 100_000),)


def _books(sim, a: str, b: str, a_yes=A_ASKS, b_no=B_ASKS, a_yes_bid: int = 0) -> None:
    """Only these asks ((price ticks, lots), house bids on the other side at 1 − price): A's YES,
    B's NO; and a deep YES bid on A at `a_yes_bid` (0: none)."""
    ex = sim.exchange
    for cond in (a, b):
        for side in ("yes", "no"):
            for price in list(ex.markets[cond].levels(side)):
                ex.set_level(HOUSE, cond, side, price, 0)
    for cond, side, asks in ((a, "no", a_yes), (b, "yes", b_no)):
        for price, lots in asks:
            ex.set_level(HOUSE, cond, side, FULL - price, lots)
    if a_yes_bid:
        ex.set_level(HOUSE, a, "yes", a_yes_bid, 100_000)


def _markets(sim) -> tuple[str, str]:
    a = next(c for c, (_e, _q, l) in sim.listings.items() if "ALV" in l.title)
    return a, next(c for c in sim.listings if c != a)


def _opportunity(a: str, b: str, qty: int = 30_000, a_leg=(4_800, 138_000_000), b_leg=(4_000, 120_000_000)) -> Opportunity:
    legs = (Leg(a, Side.YES, qty, *a_leg, 0), Leg(b, Side.NO, qty, *b_leg, 0))
    cost = a_leg[1] + b_leg[1]
    return Opportunity("00000000000000b1", Lane.CROSS, Kind.YES_A_NO_B, qty, qty * 10_000, cost, 0,
                       qty * 10_000 - cost, legs)


def _run(tmp_path, on_step=None, books=None, streamed=False, **opportunity):
    """`streamed`: the legs are quoted from a streamed book that never catches up (the books as
    they were before the first order), as a session's stream that has not yet delivered the deltas
    of the execution's own fills; else each quote is fetched."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, b = _markets(sim)
            _books(sim, a, b, **(books or {}))
            store = OrderStore(tmp_path / "o.db")
            held_books = {f"polymarket:{c}": decompose(int(Venue.POLYMARKET), await v.fetch_book(c)) for c in (a, b)}
            ex = Executor(store, {f"polymarket:{c}": Route(v, c, v.provider.markets[c]) for c in (a, b)},
                          on_step=(lambda step: on_step(sim, a, b, step)) if on_step else None,
                          book_source=held_books.get if streamed else None)
            res = await ex.execute(_opportunity(f"polymarket:{a}", f"polymarket:{b}", **opportunity),
                                   execution_id="x")
            orders = [(i.leg, i.role, i.attempt, i.side, i.qty, i.filled_qty) for i in store.intents("x")]
            held = {c: sim.exchange.accounts["trader"].positions.get(c, 0) for c in (a, b)}
            sets = store.hedged_sets("x")
            paid = {}                    # µ$ per (leg, role) its purchases cost, fees included
            for i in store.intents("x"):
                if i.action == "buy":
                    paid[i.leg, i.role] = paid.get((i.leg, i.role), 0) + sum(f.price * f.qty + f.fee
                                                                             for f in store.fills(i.client_order_id))
            store.close()
            return res, orders, (held[a], held[b]), sets, paid
    return asyncio.run(main())


def test_a_leg_priced_over_two_levels_buys_its_size_not_its_limits_worth(tmp_path):
    """The YES order spends $138 (not 30,000 × $0.48 = $144, which buys 31,250 lots: 20,000 at 0.45
    and $54 / 0.48 at 0.48): both legs hold exactly 30,000 lots and nothing is left over."""
    res, orders, held, _, _ = _run(tmp_path)
    assert res.state == "complete" and res.reason == "" and res.filled == {0: 30_000, 1: 30_000}
    assert orders == [(0, "entry", 0, "yes", 30_000, 30_000), (1, "entry", 0, "no", 30_000, 30_000)]
    assert held == (30_000, -30_000)                     # 30,000 YES of A, 30,000 NO of B (signed lots)


def test_spending_the_limits_worth_would_buy_more_than_the_size(tmp_path):
    """What the budget prevents, on the same book through the same adapter: a FAK BUY of 30,000
    lots at 0.48 sent without `spend_micros` spends $144 and receives 31,250 lots."""
    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, b = _markets(sim)
            _books(sim, a, b)
            o = await v.place_order(OrderRequest(a, Side.YES, 4_800, 30_000, tif=TimeInForce.IOC))
            return o.filled_lots, o.cost_micros
    assert asyncio.run(main()) == (31_250, 144_000_000)


def _taker_ahead(lots: int, leg: int = 0, price: int = 4_500):
    """Just before leg `leg`'s order arrives, another trader buys `lots` of its side (A's YES, B's
    NO) at `price`."""
    def take(sim, a, b, step):
        if step == f"intent:L{leg}":
            sim.exchange.place(HOUSE, (a, b)[leg], ("yes", "no")[leg], "buy", price, lots, "ioc")
    return take


def test_a_first_leg_whose_book_thinned_goes_on_at_what_it_filled(tmp_path):
    """Another trader takes the 0.45 level: the $138 budget buys 28,750 lots at 0.48. Leg 0 has
    nothing to match yet, so the execution goes on at 28,750 (no second order on it): complete, no
    lot left over."""
    res, orders, held, _, _ = _run(tmp_path, _taker_ahead(20_000))
    assert res.state == "complete" and res.reason == "" and res.filled == {0: 28_750, 1: 28_750}
    assert orders == [(0, "entry", 0, "yes", 30_000, 28_750), (1, "entry", 0, "no", 28_750, 28_750)]
    assert held == (28_750, -28_750)


def test_a_first_legs_shortfall_under_the_venues_minimum_continues_smaller(tmp_path):
    """Another trader takes 400 lots at 0.45: the budget buys 19,600 there ($88.20) and $49.80 /
    0.48 = 10,375 at 0.48, 29,975 lots. The 25 short are under the 5-share minimum: no top-up; the
    first leg filled in part, the execution continues at 29,975."""
    res, orders, held, _, _ = _run(tmp_path, _taker_ahead(400))
    assert res.state == "complete" and res.filled == {0: 29_975, 1: 29_975}
    assert orders == [(0, "entry", 0, "yes", 30_000, 29_975), (1, "entry", 0, "no", 29_975, 29_975)]
    assert held == (29_975, -29_975)


def test_a_later_legs_shortfall_under_the_venues_minimum_is_topped_up_to_it_and_the_extra_held(tmp_path):
    """B's NO asks 20,000 at 0.40 and 40,000 at 0.41; leg 1 walks 20,000 + 10,000 = $121. Another
    trader takes 400 lots at 0.40 first: $121 buys 19,600 at 0.40 and $42.60 / 0.41 = 10,390 at 0.41,
    29,990. The 10 short are under the 5-share minimum, and leg 0 holds 30,000 already: a top-up of
    500 lots (the least Polymarket accepts at 0.41) completes the leg, its 490 extra lots held and
    named. (Before, both legs' 30,000 minus 29,990 could not be unwound: everything was.)"""
    res, orders, held, sets, paid = _run(tmp_path, _taker_ahead(400, leg=1, price=4_000),
                                   books={"b_no": ((4_000, 20_000), (4_100, 40_000))}, b_leg=(4_100, 121_000_000))
    assert res.state == "complete" and res.filled == {0: 30_000, 1: 30_490}
    assert res.reason == "leg 1 filled 30490 of 30000 lots (held)"
    assert orders == [(0, "entry", 0, "yes", 30_000, 30_000), (1, "entry", 0, "no", 30_000, 29_990),
                      (1, "entry", 1, "no", 500, 500)]
    assert held == (30_000, -30_490) and sets == 30_000
    # the 490 extra lots are held at their leg's average entry cost: not a loss of the execution
    assert res.held_cost == 490 * paid[1, "entry"] // 30_490 > 0 and paid[1, "entry"] > 30_490 * 4_000


def test_a_top_up_is_priced_on_the_book_after_its_legs_first_order_not_the_streamed_one(tmp_path):
    """The same shortfall, with the legs quoted from a streamed book that does not yet show what
    leg 1's first order took: that book still offers 20,000 NO at 0.40, all of which is gone. The
    top-up fetches the book, so it is priced at 0.41 and fills (priced on the streamed book, its 500
    lots at 0.40 filled nothing and the execution ended naked: A has no bid to unwind 10 lots into)."""
    res, orders, held, sets, _ = _run(tmp_path, _taker_ahead(400, leg=1, price=4_000), streamed=True,
                                      books={"b_no": ((4_000, 20_000), (4_100, 40_000))}, b_leg=(4_100, 121_000_000))
    assert res.state == "complete" and res.filled == {0: 30_000, 1: 30_490}
    assert orders == [(0, "entry", 0, "yes", 30_000, 30_000), (1, "entry", 0, "no", 30_000, 29_990),
                      (1, "entry", 1, "no", 500, 500)]
    assert held == (30_000, -30_490) and sets == 30_000


def test_an_unwind_that_buys_the_other_side_holds_what_its_whole_cents_buy_beyond(tmp_path):
    """604 lots of A's YES at 0.25, then B's book empties before leg 1. A's YES bid is 0.20: the sale,
    604 × $0.15 after the slippage, is under $1, so leg 0 is unwound by buying NO at its 0.80 ask
    (limit 0.85): $4.832 in whole cents, $4.84, buys 605 lots. The execution is unwound with the
    extra lot held and named, not naked (no safe mode)."""
    def empty_b(sim, a, b, step):
        if step == "filled:L0":
            for price in list(sim.exchange.markets[b].levels("yes")):
                sim.exchange.set_level(HOUSE, b, "yes", price, 0)
    res, orders, held, sets, paid = _run(tmp_path, empty_b, books={"a_yes": ((2_500, 10_000),), "a_yes_bid": 2_000},
                                   qty=604, a_leg=(2_500, 1_510_000), b_leg=(4_000, 2_416_000))
    assert res.state == "unwound" and res.filled == {0: -1, 1: 0}
    assert res.reason.endswith("; leg 0 unwound 1 lots beyond its excess (held)")
    assert orders == [(0, "entry", 0, "yes", 604, 604), (0, "unwind", 0, "no", 604, 605)]
    assert held == (604 - 605, 0) and sets == 0
    # the extra NO lot is credited as a $1 pair by the cash flow: counted at its cost instead
    assert res.held_cost == paid[0, "unwind"] // 605 - 10_000 < 0


def test_recovery_counts_a_venues_overfill_as_held_not_as_an_unhedged_leg(tmp_path):
    """A crash after both legs filled, leg 0 with 25 lots beyond its 5,000 (whole-cent dust at
    $0.04): recovery finds the legs differ by exactly what a venue filled beyond an order's size and
    records the execution complete, no safe mode. Leg 1 short of leg 0 by more than that would be naked."""
    from arbbot.execution.recovery import recover
    from arbbot.venues.common.model import Action, Fill, Order, OrderStatus, Venue

    class Venue_:
        """What the venue shows after the crash: the two orders and their fills."""
        def __init__(self) -> None:
            self.shown: list[Order] = []
            self.filled: list[Fill] = []

        async def orders(self, **_kw):
            return self.shown

        async def fills(self, **_kw):
            return self.filled

    def crashed(db: str, filled: tuple[int, int]) -> tuple[OrderStore, Venue_]:
        store, venue = OrderStore(db), Venue_()
        opp = _opportunity("polymarket:A", "polymarket:B")
        for leg, (side, got) in enumerate(zip((Side.YES, Side.NO), filled)):
            coid = store.add_intent("x", leg, "entry", 0, venue="polymarket", market=opp.legs[leg].market,
                                    market_id="AB"[leg], side=side.label, action="buy", qty=5_000, price=400,
                                    tif="ioc", new_execution=opp if leg == 0 else None)
            venue.shown.append(Order(Venue.POLYMARKET, f"o{leg}", coid, "AB"[leg], side, Action.BUY, 400, 5_000, got, 0,
                                     OrderStatus.FILLED, cost_micros=400 * got))
            venue.filled.append(Fill(Venue.POLYMARKET, f"f{leg}", f"o{leg}", "AB"[leg], side, Action.BUY, 400, got, 0,
                                     True, 0, coid))
        return store, venue

    store, venue = crashed(str(tmp_path / "a.db"), (5_025, 5_000))
    rep = asyncio.run(recover(store, {"polymarket": venue}))
    assert rep.executions == {"x": "complete"} and store.safe_mode() is None
    assert store.leg_overfill("x") == {0: (25, 0), 1: (0, 0)} and store.hedged_sets("x") == 5_000
    store.close()
    store, venue = crashed(str(tmp_path / "b.db"), (5_025, 4_990))
    rep = asyncio.run(recover(store, {"polymarket": venue}))
    assert rep.executions == {"x": "naked"} and store.safe_mode() is not None and store.hedged_sets("x") is None
    store.close()


def test_lots_a_top_up_holds_beyond_the_leg_are_not_charged_to_the_next_legs_edge(tmp_path):
    """Three legs: A YES 30,000 @ 0.45, B NO 20,000 @ 0.40 + 10,000 @ 0.41, C YES 30,000 @ 0.14,
    the payout $1 above their cost and fees. B ends 10 lots short and is topped up by 500 (490 held,
    ≈ $2.01 of B's NO): C's edge counts the 30,000 lots the execution trades, not the held ones
    (which would take $2 off a $1 edge and send leg 2 nowhere)."""
    from arbbot.engine.twin.fees import order_fee

    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            a, b = _markets(sim)
            c = next(m for m in sim.listings if m not in (a, b))
            _books(sim, a, b, a_yes=((4_500, 30_000),), b_no=((4_000, 20_000), (4_100, 40_000)))
            for price in list(sim.exchange.markets[c].levels("no")):
                sim.exchange.set_level(HOUSE, c, "no", price, 0)
            sim.exchange.set_level(HOUSE, c, "no", FULL - 1_400, 100_000)
            walks = {a: [(4_500, 30_000)], b: [(4_000, 20_000), (4_100, 10_000)], c: [(1_400, 30_000)]}
            legs = tuple(Leg(f"polymarket:{m}", side, 30_000, walk[-1][0], sum(p * q for p, q in walk),
                             order_fee(v.provider.markets[m].fees, walk))
                         for (m, walk), side in zip(walks.items(), (Side.YES, Side.NO, Side.YES)))
            cost, fee = sum(l.cost for l in legs), sum(l.fee for l in legs)
            opp = Opportunity("00000000000000b3", Lane.CROSS, Kind.YES_A_NO_B, 30_000, cost + fee + 1_000_000, cost,
                              fee, 1_000_000, legs)
            store = OrderStore(tmp_path / "o.db")
            ex = Executor(store, {f"polymarket:{m}": Route(v, m, v.provider.markets[m]) for m in (a, b, c)},
                          on_step=lambda step: _taker_ahead(400, leg=1, price=4_000)(sim, a, b, step))
            res = await ex.execute(opp, execution_id="x")
            store.close()
            return res
    res = asyncio.run(main())
    assert res.state == "complete" and res.filled == {0: 30_000, 1: 30_490, 2: 30_000}
    assert res.reason == "leg 1 filled 30490 of 30000 lots (held)"
