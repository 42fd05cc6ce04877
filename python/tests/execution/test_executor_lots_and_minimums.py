"""The executor against Polymarket's $1 minimum and mixed lot sizes (a review of leg sequencing):

1. An unwind is sent when either way clears the venue's $1 minimum: a sale of the leg's tokens
   at its price, or a purchase of the other side at 1 − its price. Before, both had to (`min`
   of the two): 10 YES bought at 95¢ with the next leg refused were called dust and held, $9.50
   unhedged, the execution "unwound" without safe mode.
2. Leg 0 filled a quantity that is not whole lots of every leg's market (950 Polymarket lots,
   0.01 share each, against Kalshi's whole contracts of 100 lots): the execution goes on at the
   whole lots (900), the rest (50 lots, under any order the venue takes) held as an over-fill's.
   Before, all 950 lots were unwound: spread and fees paid both ways on 9.5 contracts instead of
   locking in 9 sets.
Units: lots (a contract = 100 lots; a Polymarket share = 100 lots of 0.01), ticks ($0.0001), µ$."""
from __future__ import annotations

from arbbot.engine.types import Side as ESide
from arbbot.execution import OrderStore
from arbbot.venues.common.errors import OrderRejected
from arbbot.venues.common.model import MarketInfo, Venue
from tests.execution.test_executor_review_fixes import FakeVenue, K, P, execute, quote


def _refused(v, req):
    raise OrderRejected("market paused", venue="kalshi")


def test_a_leg_worth_a_dollar_sold_is_unwound_however_little_its_other_side_costs(tmp_path):
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1))
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100), behave=_refused)
    books = {"polymarket:P1": quote(9400, 9500), "kalshi:K1": quote(9600, 9700)}
    res, safe, _fills = execute(tmp_path, poly, kal, [("polymarket:P1", ESide.YES, 9500), ("kalshi:K1", ESide.NO, 400)],
                                books=books)
    # 10 YES bought at 95¢; the sale at the 94¢ bid less the first attempt's slippage is worth ≈ $9
    assert (res.state, res.filled, safe) == ("unwound", {0: 0, 1: 0}, None)
    assert poly.sent == [("yes", "buy", 1_000), ("yes", "sell", 1_000)] and poly.net == {P: 0}
    assert res.held_cost == 0


def test_leg_0_filled_in_part_goes_on_at_the_whole_lots_of_every_leg(tmp_path):
    poly = FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1), cap=950)
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100))
    res, safe, _fills = execute(tmp_path, poly, kal, [("polymarket:P1", ESide.YES, 5000), ("kalshi:K1", ESide.NO, 4800)])
    assert (res.state, res.filled, safe) == ("complete", {0: 950, 1: 900}, None)
    assert poly.sent == [("yes", "buy", 1_000)] and kal.sent == [("no", "buy", 900)]
    assert res.reason == "leg 0 filled 950 of 1000 lots: going on at 900 (50 held)"
    # the 50 lots beyond the sets held at what they cost: 50 × 50¢
    assert res.held_cost == 250_000
    store = OrderStore(str(tmp_path / "o.db"))
    assert store.execution("x1").state == "complete"
    store.close()


class _PolymarketMinimum(FakeVenue):
    """Refuses a marketable order worth under $1, as Polymarket's adapter does."""
    def refusal(self, req):
        from arbbot.venues.common.model import Action
        amount = (req.spend_micros or req.price_ticks * req.qty_lots) if req.action is Action.BUY \
            else req.price_ticks * req.qty_lots
        return f"marketable order under $1: {amount} µ$" if amount < 1_000_000 else None


def test_a_sale_refused_for_tokens_not_yet_delivered_is_sent_again_when_the_purchase_is_under_a_dollar(tmp_path):
    """10 YES at 99¢; the next leg refused; the first sale refused (tokens not delivered yet). The
    way out through the other side (10 NO at ≈ 2¢: $0.20) is under the minimum, refused every time:
    the sale is sent again, and goes. Before (with "either way will do"): purchases until the
    attempts ran out, the leg naked and safe mode."""
    from arbbot.venues.common.errors import NOT_ENOUGH_BALANCE
    from arbbot.venues.common.model import Action

    def not_delivered(v, req):
        if req.action is Action.SELL and not getattr(v, "sold_once", False):
            v.sold_once = True
            raise OrderRejected("not enough balance / allowance", venue="polymarket", code=NOT_ENOUGH_BALANCE)
    poly = _PolymarketMinimum(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1), behave=not_delivered)
    kal = FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, K, "k", lot_lots=100), behave=_refused)
    books = {"polymarket:P1": quote(9800, 9900), "kalshi:K1": quote(9600, 9700)}
    res, safe, _fills = execute(tmp_path, poly, kal, [("polymarket:P1", ESide.YES, 9900), ("kalshi:K1", ESide.NO, 50)],
                                books=books)
    assert (res.state, res.filled, safe) == ("unwound", {0: 0, 1: 0}, None)
    assert poly.sent == [("yes", "buy", 1_000), ("yes", "sell", 1_000), ("yes", "sell", 1_000)]
