"""Unwinds the venue will not take as first tried.

1. Polymarket refuses to SELL tokens whose purchase is not mined yet: a trade is MATCHED at once
   and mined on chain 10–50 s and more later (since the CLOB's V2; py-clob-client-v2#34,
   py-clob-client#247), and until then a SELL of its tokens gets 400 "not enough balance /
   allowance". The executor unwound a Polymarket leg by selling what it had just bought, so
   every attempt (6 within about 3.4 s) was refused: naked, safe mode. Now a refused sale turns
   the leg's next attempts into purchases of the other side (the pair pays $1). The simulator
   refuses such sales with `Faults.poly_settle_delay_s`.
2. A partial unwind can leave a remainder under the venue's minimum order (Polymarket: 5
   shares): the dust check ran only before the first attempt, so the remainder burnt the other
   attempts on refusals and the execution was called naked (safe mode, its whole outflow booked
   as a realised loss). It is held at cost now, as dust found before the first attempt is.
3. Dust (and over-fills) a complete execution holds are held at cost, not lost: the realised loss
   of its unwound lots counted their cost too.
"""
from __future__ import annotations

import asyncio
import dataclasses

from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.model import MarketInfo, Venue
from arbbot.sim.engine.matching import HOUSE
from arbbot.sim.faults import Faults
from arbbot.venues.common.errors import NOT_ENOUGH_BALANCE, OrderRejected
from arbbot.venues.common.model import Action, OrderRequest, TimeInForce
from tests.execution.test_buys_by_amount import _books, _markets, _opportunity
from tests.execution.test_executor_review_fixes import K, P, FakeVenue, quote
from tests.sim.venue_envs import polymarket

FAST = ExecutorConfig(unwind_pause_s=0.01, unwind_pause_cap_s=0.01)


# ---- 1. a sale of tokens not yet delivered -----------------------------------------------------

def _unwind_a_filled_leg(tmp_path, faults: Faults):
    """A's YES fills (30,000 lots at 45–48¢); someone takes all of B's NO asks just before leg 1,
    which matches nothing: leg 0 is unwound. (result, intents, safe mode, the account's tokens)."""
    async def main():
        async with polymarket(faults=faults) as (sim, v, _clock):
            await v.discover_markets()
            a, b = _markets(sim)
            _books(sim, a, b, a_yes_bid=4_400)

            def books_taken(step: str) -> None:
                if step == "intent:L1":
                    sim.exchange.place(HOUSE, b, "no", "buy", 4_000, 100_000, "ioc")
            store = OrderStore(tmp_path / "orders.db")
            ex = Executor(store, {f"polymarket:{c}": Route(v, c, v.provider.markets[c]) for c in (a, b)},
                          config=FAST, on_step=books_taken)
            res = await ex.execute(_opportunity(f"polymarket:{a}", f"polymarket:{b}"), execution_id="x")
            intents = [(i.leg, i.role, i.action, i.side, i.qty, i.state) for i in store.intents("x")]
            tokens = {side: sim.exchange.accounts["trader"].tokens.get((a, side), 0) for side in ("yes", "no")}
            safe = store.safe_mode()
            store.close()
            return res, intents, safe, tokens
    return asyncio.run(main())


def test_a_refused_sale_of_undelivered_tokens_unwinds_by_buying_the_other_side(tmp_path):
    res, intents, safe, tokens = _unwind_a_filled_leg(tmp_path, Faults(poly_settle_delay_s=30.0))
    assert intents == [(0, "entry", "buy", "yes", 30_000, "filled"),
                       (1, "entry", "buy", "no", 30_000, "rejected"),
                       (0, "unwind", "sell", "yes", 30_000, "rejected"),     # not mined: refused
                       (0, "unwind", "buy", "no", 30_000, "filled")]        # the pair pays $1
    assert (res.state, safe) == ("unwound", None)
    assert tokens == {"yes": 30_000, "no": 30_000}


def test_tokens_delivered_are_sold(tmp_path):
    res, intents, safe, tokens = _unwind_a_filled_leg(tmp_path, Faults())
    assert [i[1:4] for i in intents[2:]] == [("unwind", "sell", "yes")]
    assert (res.state, safe, tokens) == ("unwound", None, {"yes": 0, "no": 0})


def test_the_simulator_refuses_a_sale_until_the_purchase_is_mined():
    async def main():
        async with polymarket(faults=Faults(poly_settle_delay_s=20.0)) as (sim, v, clock):
            await v.discover_markets()
            a, b = _markets(sim)
            _books(sim, a, b, a_yes_bid=4_400)
            bought = await v.place_order(OrderRequest(a, Side.YES, 4_800, 1_000, action=Action.BUY,
                                                      tif=TimeInForce.IOC, client_order_id="b1"))
            sale = OrderRequest(a, Side.YES, 4_400, 1_000, action=Action.SELL, tif=TimeInForce.IOC,
                                client_order_id="s1")
            try:
                await v.place_order(sale)
                raise AssertionError("sold before the purchase was mined")
            except OrderRejected as exc:
                refused = (exc.code, "not enough balance / allowance" in str(exc))
            clock.advance(20_001)
            sold = await v.place_order(dataclasses.replace(sale, client_order_id="s2"))
            return bought.filled_lots, refused, sold.filled_lots
    bought, refused, sold = asyncio.run(main())
    assert bought >= 1_000                     # a market BUY spends its amount: 1,066 lots at 45–48¢
    assert (refused, sold) == ((NOT_ENOUGH_BALANCE, True), 1_000)


# ---- 2 and 3. a remainder under the venue's minimum --------------------------------------------

class ThinBids(FakeVenue):
    """Polymarket whose bids take at most 300 lots of a sale."""

    def execute(self, req):
        if req.action is Action.SELL and req.qty_lots > 300:
            return dataclasses.replace(super().execute(dataclasses.replace(req, qty_lots=300)), qty_lots=req.qty_lots)
        return super().execute(req)


def test_a_partial_unwind_leaving_less_than_the_minimum_holds_it(tmp_path):
    """Leg 0: 10 Polymarket YES (1,000 lots; minimum 5 shares = 500 lots) at 50¢; leg 1 (Kalshi NO
    at 48¢) fills 4 of 10. 400 sets are kept; leg 0's 600-lot excess is sold at 45¢ (anchor 50¢ −
    5¢ slippage), the book takes 300, and 300 lots remain: under the minimum as a sale and as a
    purchase. Before: 5 more refused attempts, naked, safe mode, a loss of $16.50. Now: complete,
    300 lots held, and the loss is the 300 lots sold 5¢ under what they cost: $0.15."""
    poly = ThinBids(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1,
                                                 extra=(("min_order_size_lots", "500"),)), min_lots=500)
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100), cap=400)
    books = {"polymarket:P1": quote(5000, 5000), "kalshi:K1": quote(5200, 5300)}
    routes = {"polymarket:P1": Route(poly, P, poly.info), "kalshi:K1": Route(kal, K, kal.info)}
    store = OrderStore(str(tmp_path / "o.db"))
    ex = Executor(store, routes, config=FAST, book_source=lambda m: books[m])
    legs = (Leg("polymarket:P1", Side.YES, 1_000, 5000, 5_000_000, 0), Leg("kalshi:K1", Side.NO, 1_000, 4800, 4_800_000, 0))
    opp = Opportunity("00000000000000aa", Lane.CROSS, Kind(0), 1_000, 10_000_000, 9_800_000, 0, 200_000, legs)
    res = asyncio.run(ex.execute(opp, execution_id="x1"))
    assert res.filled == {0: 700, 1: 400}
    assert res.state == "complete" and store.safe_mode() is None
    assert "leg 0 holds 300 lots under its venue's minimum order (held)" in res.reason
    assert poly.sent == [("yes", "buy", 1_000), ("yes", "sell", 600)]
    assert store.realised_loss("x1") == 300 * (5_000 - 4_500)          # µ$: $0.15, not the dust's cost
    store.close()
