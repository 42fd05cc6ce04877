"""A leg after the first fills in part in a trade of three or more legs (a bucket, a tree).

Before: every leg was unwound at the partial fill — the legs not reached held nothing, so no set
was complete — paying the spread and fees both ways on every lot bought, where the lots the
partial leg filled could still be hedged. Now the later legs go on at the lots it filled (whole
lots of every leg) and, once they are bought, the legs before sell only their excess: the sets
every leg holds are kept, as when the last leg fills in part.

Units: lots (100 a contract), ticks ($0.0001), µ$. The venues are fakes that fill at the limit."""
from __future__ import annotations

import asyncio

from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as ESide
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.model import MarketInfo, Venue
from tests.execution.test_executor_review_fixes import FakeVenue, quote


def _bucket(tmp_path, caps: tuple[int | None, ...], prices=(3000, 3000, 3000)):
    """A three-leg bucket (YES on K1, K2 on Kalshi, P1 on Polymarket; 1,000 lots each at
    `prices`), each leg on its own fake venue filling at most `caps[i]` lots: (result, safe mode,
    the venues)."""
    venues = [FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, "K1", "k1", lot_lots=100), cap=caps[0]),
              FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, "K2", "k2", lot_lots=100), cap=caps[1]),
              FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, "P1", "p1", lot_lots=1), cap=caps[2])]
    markets = ("kalshi:K1", "kalshi:K2", "polymarket:P1")
    routes = {m: Route(v, m.split(":")[1], v.info) for m, v in zip(markets, venues)}
    books = {m: quote(p - 100, p) for m, p in zip(markets, prices)}
    store = OrderStore(str(tmp_path / "o.db"))
    ex = Executor(store, routes, config=ExecutorConfig(unwind_pause_s=0.01, unwind_pause_cap_s=0.01),
                  book_source=lambda m: books[m])
    legs = tuple(Leg(m, ESide.YES, 1_000, p, p * 1_000, 0) for m, p in zip(markets, prices))
    cost = sum(prices) * 1_000
    opp = Opportunity("00000000000000bb", Lane.BUCKET, Kind.ALL_YES, 1_000, 10_000_000, cost, 0,
                      10_000_000 - cost, legs)

    async def main():
        res = await ex.execute(opp, execution_id="x1")
        await asyncio.sleep(0.5)                            # the background read of late fills
        return res
    res = asyncio.run(main())
    safe = store.safe_mode()
    store.close()
    return res, safe, venues


def test_a_middle_leg_filled_in_part_keeps_its_sets_and_unwinds_only_the_excess(tmp_path):
    """Leg 1 fills 600 of 1,000 lots: leg 2 is bought at 600 and leg 0 sells its 400 beyond them.
    600 complete sets (6 contracts, $6 payout for $5.40 plus what the 400 lots' round trip cost)
    instead of nothing kept and both filled legs sold in full."""
    res, safe, (k1, k2, p1) = _bucket(tmp_path, (None, 600, None))
    assert (res.state, res.filled, safe) == ("complete", {0: 600, 1: 600, 2: 600}, None)
    assert k1.sent == [("yes", "buy", 1_000), ("yes", "sell", 400)]
    assert k2.sent == [("yes", "buy", 1_000)]
    assert p1.sent == [("yes", "buy", 600)]
    assert (k1.net, k2.net, p1.net) == ({"K1": 600}, {"K2": 600}, {"P1": 600})
    assert res.reason.startswith("leg 1 filled 600/1000 lots; kept 600 lots on every leg, the rest unwound")
    assert res.leg_failed


def test_the_last_leg_filled_in_part_of_three_keeps_its_sets_as_before(tmp_path):
    """Leg 2 fills 700 of 1,000: legs 0 and 1 sell 300 each; 700 sets kept."""
    res, safe, (k1, k2, p1) = _bucket(tmp_path, (None, None, 700))
    assert (res.state, res.filled, safe) == ("complete", {0: 700, 1: 700, 2: 700}, None)
    assert k1.sent == [("yes", "buy", 1_000), ("yes", "sell", 300)]
    assert k2.sent == [("yes", "buy", 1_000), ("yes", "sell", 300)]
    assert p1.sent == [("yes", "buy", 1_000)]


def test_two_partial_fills_go_on_at_the_least(tmp_path):
    """Leg 0 fills 800 (the execution goes on at 800, nothing to sell), leg 1 fills 500 of those:
    leg 2 is bought at 500 and leg 0 sells its 300 beyond them."""
    res, safe, (k1, k2, p1) = _bucket(tmp_path, (800, 500, None))
    assert (res.state, res.filled, safe) == ("complete", {0: 500, 1: 500, 2: 500}, None)
    assert k1.sent == [("yes", "buy", 1_000), ("yes", "sell", 300)]
    assert k2.sent == [("yes", "buy", 800)]
    assert p1.sent == [("yes", "buy", 500)]


def test_a_middle_leg_whose_lots_are_not_whole_for_a_later_leg_goes_on_at_whole_lots(tmp_path):
    """The bucket reordered so that the Polymarket leg (0.01-share lots) is the middle one and a
    Kalshi leg (whole contracts, 100 lots) comes after it: Polymarket fills 650 of 1,000; the
    Kalshi leg after it is bought at 600 and the 50 Polymarket lots beyond (half a share, under any
    order the venue takes) are held; leg 0 sells its 400."""
    venues = [FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, "K1", "k1", lot_lots=100)),
              FakeVenue(Venue.POLYMARKET, MarketInfo(Venue.POLYMARKET, "P1", "p1", lot_lots=1,
                                                     extra=(("min_order_size_lots", "500"),)), cap=650, min_lots=500),
              FakeVenue(Venue.KALSHI, MarketInfo(Venue.KALSHI, "K2", "k2", lot_lots=100))]
    markets = ("kalshi:K1", "polymarket:P1", "kalshi:K2")
    routes = {m: Route(v, m.split(":")[1], v.info) for m, v in zip(markets, venues)}
    books = {m: quote(2900, 3000) for m in markets}
    store = OrderStore(str(tmp_path / "o.db"))
    ex = Executor(store, routes, config=ExecutorConfig(unwind_pause_s=0.01, unwind_pause_cap_s=0.01),
                  book_source=lambda m: books[m])
    legs = tuple(Leg(m, ESide.YES, 1_000, 3000, 3_000_000, 0) for m in markets)
    opp = Opportunity("00000000000000cc", Lane.BUCKET, Kind.ALL_YES, 1_000, 10_000_000, 9_000_000, 0, 1_000_000, legs)
    res = asyncio.run(ex.execute(opp, execution_id="x1"))
    safe = store.safe_mode()
    store.close()
    k1, p1, k2 = venues
    assert (res.state, safe) == ("complete", None)
    assert res.filled == {0: 600, 1: 650, 2: 600}
    assert k1.sent == [("yes", "buy", 1_000), ("yes", "sell", 400)]
    assert k2.sent == [("yes", "buy", 600)]
    assert p1.sent == [("yes", "buy", 1_000)]
    assert "leg 1 holds 50 lots under its venue's minimum order (held)" in res.reason
