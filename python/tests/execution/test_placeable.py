"""Quantities every leg's venue accepts: the executor checks every leg before its first order,
instead of filling a leg and then finding a later one cannot be sent.

Polymarket refuses a marketable order worth under $1 and one under the market's minimum size
(venues/polymarket/execution.py `check`). A BUY's amounts no longer refuse sizes on a fine tick:
7 shares at $0.953 spend $6.68 for at least 7.0094 shares (implied $0.9530064).
"""
from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

import pytest

from arbbot.engine.twin.fees import order_fee
from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side
from arbbot.execution import Executor, OrderStore, Route
from arbbot.model import FeeSchedule
from arbbot.paper.venue import PaperVenue
from arbbot.venues.common.errors import OrderRejected
from arbbot.venues.common.model import Fill, MarketInfo, Order, OrderStatus, Venue
from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.venue import PolymarketVenue
from tests.execution.fakes import Filling

POLY = "0xfine"


def _polymarket() -> PolymarketVenue:
    """The real adapter (its `refusal`), knowing one 0.001-tick market; nothing is sent through it."""
    v = PolymarketVenue(PolymarketConfig(private_key="0x" + "3c" * 32))
    v.provider.markets[POLY] = MarketInfo(Venue.POLYMARKET, POLY, "fine", event_id="E", fees=FeeSchedule(),
                                          lot_lots=1, tick_ticks=10, yes_token="1", no_token="2")
    return v


def _opportunity(qty: int) -> Opportunity:
    """NO on Kalshi K at $0.04 + YES on the Polymarket market at $0.953 (a cross pair): $0.007 a contract."""
    legs = (Leg("kalshi:K", Side.NO, qty, 400, 400 * qty, 0), Leg(f"polymarket:{POLY}", Side.YES, qty, 9_530, 9_530 * qty, 0))
    return Opportunity("00000000000000f1", Lane.CROSS, Kind.NO_A_YES_B, qty, 10_000 * qty, 9_930 * qty, 0,
                       70 * qty, legs)


def _execute(tmp_path, qty: int, poly_client):
    kalshi = Filling(Venue.KALSHI)
    kinfo = MarketInfo(Venue.KALSHI, "K", "k", event_id="EK", fees=FeeSchedule(), lot_lots=100)
    store = OrderStore(tmp_path / "o.db")
    books = {"kalshi:K": SimpleNamespace(yes=(), no=((400, 10_000),)),
             f"polymarket:{POLY}": SimpleNamespace(yes=((9_530, 10_000),), no=())}
    pinfo = _polymarket().provider.markets[POLY]
    ex = Executor(store, {"kalshi:K": Route(kalshi, "K", kinfo), f"polymarket:{POLY}": Route(poly_client, POLY, pinfo)},
                  book_source=books.get)
    res = asyncio.run(ex.execute(_opportunity(qty), execution_id="x"))
    return res, kalshi, store


def test_seven_shares_at_0953_on_a_fine_tick_go_whole(tmp_path):
    """Sent as they are (session 24 stepped them down to 6: signed for exactly 7 shares, whole cents
    reached the next tick)."""
    poly = _polymarket()
    client = Filling(Venue.POLYMARKET, poly.refusal)
    res, kalshi, store = _execute(tmp_path, 700, client)
    assert res.state == "complete"
    assert kalshi.sent == [("K", "buy", 700, 400)] and client.sent == [(POLY, "buy", 700, 9_530)]
    assert res.filled == {0: 700, 1: 700}
    store.close()


def test_an_execution_a_leg_of_which_cannot_be_sent_aborts_before_any_order(tmp_path):
    # 1 share at $0.953 is under Polymarket's $1 minimum for a marketable order
    poly = _polymarket()
    client = Filling(Venue.POLYMARKET, poly.refusal)
    res, kalshi, store = _execute(tmp_path, 100, client)
    assert res.state == "aborted" and kalshi.sent == [] and client.sent == []
    assert res.reason == "a leg's venue would refuse 100 lots: polymarket: marketable orders must be worth at least $1"
    store.close()


def test_paper_trading_refuses_what_the_venue_would(tmp_path):
    """A paper venue over the Polymarket adapter answers the adapter's `refusal` (the executor
    trades the quantity a live run would) and refuses such an order itself; one over an adapter
    without such rules has none (the executor asks it nothing)."""
    from arbbot.paper import open_ledger
    from arbbot.venues.common.model import OrderRequest, TimeInForce
    ledger = open_ledger(str(tmp_path / "p.db"), 1_000_000_000)
    paper = PaperVenue(_polymarket(), ledger)
    req = OrderRequest(POLY, Side.YES, 9_530, 100, tif=TimeInForce.IOC, client_order_id="c1")
    assert paper.refusal(req) == "polymarket: marketable orders must be worth at least $1"
    assert paper.refusal(OrderRequest(POLY, Side.YES, 9_530, 700, tif=TimeInForce.IOC)) is None
    with pytest.raises(OrderRejected, match="at least \\$1"):
        asyncio.run(paper.place_order(req))
    assert not hasattr(PaperVenue(Filling(Venue.KALSHI), ledger), "refusal")
    ledger.close()


class _FillsPart(Filling):
    """Fills its first order's `first` lots only (the book had no more within the limit)."""

    def __init__(self, venue: Venue, first: int) -> None:
        super().__init__(venue)
        self.first = first

    async def place_order(self, req):
        o = await super().place_order(req)
        if len(self.sent) > 1:
            return o
        got = self.first
        self.last = Fill(self._venue, "f1", o.order_id, req.market_id, req.side, req.action, req.price_ticks, got, 0,
                         True, 0, req.client_order_id)
        return Order(o.venue, o.order_id, o.client_order_id, o.market_id, o.side, o.action, o.price_ticks, o.qty_lots,
                     got, 0, OrderStatus.CANCELED, cost_micros=req.price_ticks * got)


def _partial_first_leg(tmp_path, filled: int):
    """Leg 0 (Kalshi NO at $0.04) fills `filled` of 1,000 lots; leg 1 is Polymarket YES at $0.953."""
    kalshi = _FillsPart(Venue.KALSHI, filled)
    poly = _polymarket()
    client = Filling(Venue.POLYMARKET, poly.refusal)
    kinfo = MarketInfo(Venue.KALSHI, "K", "k", event_id="EK", fees=FeeSchedule(), lot_lots=100)
    store = OrderStore(tmp_path / "o.db")
    books = {"kalshi:K": SimpleNamespace(yes=((9_500, 10_000),), no=((400, 10_000),),
                                         quote=SimpleNamespace(best_bid_no=300, best_ask_yes=9_700)),
             f"polymarket:{POLY}": SimpleNamespace(yes=((9_530, 10_000),), no=())}
    ex = Executor(store, {"kalshi:K": Route(kalshi, "K", kinfo),
                          f"polymarket:{POLY}": Route(client, POLY, poly.provider.markets[POLY])},
                  book_source=books.get)
    res = asyncio.run(ex.execute(_opportunity(1_000), execution_id="x"))
    store.close()
    return res, kalshi, client


def test_a_first_leg_filled_in_part_continues_at_what_it_filled(tmp_path):
    res, kalshi, client = _partial_first_leg(tmp_path, 700)
    assert kalshi.sent == [("K", "buy", 1_000, 400)] and client.sent == [(POLY, "buy", 700, 9_530)]
    assert res.state == "complete" and res.filled == {0: 700, 1: 700}


def test_a_first_leg_filled_under_what_a_later_leg_can_be_sent_at_is_unwound(tmp_path):
    """1 contract filled: 1 share at $0.953 is under Polymarket's $1 minimum, so leg 1 cannot follow
    and leg 0's lot is sold (before, leg 1 was sent and refused)."""
    res, kalshi, client = _partial_first_leg(tmp_path, 100)
    assert client.sent == [] and kalshi.sent[1][1:3] == ("sell", 100)
    assert res.state == "unwound" and res.filled == {0: 0, 1: 0}


def test_a_smaller_leg_is_checked_at_its_own_per_order_fee_not_the_planned_one_pro_rata(tmp_path):
    """Kalshi rounds a fee up to 1¢ per order. Leg 0 (YES K1 at $0.50) fills 700 of 1,000 lots
    ($3.50, fee $0.131 as reported). Leg 1, NO K2 at $0.463, was planned at 1,000 lots with fee
    ceil(0.07 × 10 × 0.463 × 0.537 / 1¢) = $0.18, i.e. $0.126 pro rata for 700; its own order of 7
    contracts pays ceil(0.1218 / 1¢) = $0.13. $7 − $3.631 − $3.241 = $0.128 before leg 1's fee:
    +$0.002 on the pro rata fee, −$0.002 on the real one: the edge is gone. Leg 1 is still sent, as
    completing (−$0.002) loses less than unwinding: $7 − $3.241 − $0.13 = $3.629 for leg 1, where
    selling leg 0's 7 contracts at the 49¢ bid brings at best $3.43 − $0.13 = $3.30; the reason
    says so (on the pro rata fee it would have been sent without one)."""
    kfees = FeeSchedule(taker_rate_ppm=70_000, rounding=10_000)

    class Charged(_FillsPart):
        async def place_order(self, req):
            o = await super().place_order(req)
            return dataclasses.replace(o, fees_micros=131_000) if len(self.sent) == 1 else o

    k1, k2 = Charged(Venue.KALSHI, 700), Filling(Venue.KALSHI)
    infos = {m: MarketInfo(Venue.KALSHI, m, m, event_id="E" + m, fees=kfees, lot_lots=100) for m in ("K1", "K2")}
    legs = (Leg("kalshi:K1", Side.YES, 1_000, 5_000, 5_000_000, 180_000),
            Leg("kalshi:K2", Side.NO, 1_000, 4_630, 4_630_000, 180_000))
    assert order_fee(kfees, [(4_630, 1_000)]) == 180_000 and order_fee(kfees, [(4_630, 700)]) == 130_000
    opp = Opportunity("00000000000000f2", Lane.CROSS, Kind.YES_A_NO_B, 1_000, 10_000_000, 9_630_000, 360_000,
                      10_000, legs)
    books = {"kalshi:K1": SimpleNamespace(yes=((5_000, 10_000),), no=((5_100, 10_000),),
                                          quote=SimpleNamespace(best_bid_yes=4_900)),
             "kalshi:K2": SimpleNamespace(yes=(), no=((4_630, 10_000),))}
    store = OrderStore(tmp_path / "o.db")
    ex = Executor(store, {"kalshi:K1": Route(k1, "K1", infos["K1"]), "kalshi:K2": Route(k2, "K2", infos["K2"])},
                  book_source=books.get)
    res = asyncio.run(ex.execute(opp, execution_id="x"))
    assert [s[1:3] for s in k2.sent] == [("buy", 700)] and len(k1.sent) == 1
    assert res.state == "complete" and res.filled == {0: 700, 1: 700}
    assert "leg 1's edge went: completed at the books then ($3.629 for legs 1… against $3.3 unwinding" in res.reason
    store.close()


class _Overfilling(Filling):
    """Fills a BUY with `extra` lots more than asked (Polymarket spends a marketable BUY's whole
    dollar budget: fills at prices under the limit buy more shares than the order's size)."""

    def __init__(self, venue: Venue, extra: int, refusal=None) -> None:
        super().__init__(venue, refusal)
        self.extra = extra

    async def place_order(self, req):
        o = await super().place_order(req)
        got = req.qty_lots + self.extra
        self.last = dataclasses.replace(self.last, qty_lots=got)
        return dataclasses.replace(o, filled_lots=got, cost_micros=req.price_ticks * got)


def test_a_leg_the_venue_fills_beyond_its_size_completes_and_says_so(tmp_path):
    """The extra lots are held (an order is never sent to undo a venue's rounding of a size below its
    minimum); the execution is complete and its reason names the leg, the store has the lots."""
    poly = _polymarket()
    client = _Overfilling(Venue.POLYMARKET, 31, poly.refusal)
    res, kalshi, store = _execute(tmp_path, 1_000, client)
    assert res.state == "complete" and res.filled == {0: 1_000, 1: 1_031}
    assert res.reason == "leg 1 filled 1031 of 1000 lots (held)"
    assert store.execution("x").reason == res.reason
    store.close()
