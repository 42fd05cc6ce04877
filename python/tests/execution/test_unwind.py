"""Unwinding a filled leg into a thin book (ExecutorConfig unwind policy), against the Kalshi
simulator: escalating slippage anchored to the first quote, pauses so the book can replenish,
naked + safe mode once the attempts are spent. Prices in ticks (100 = 1¢), quantities in lots
(100 = 1 contract); the opportunity buys 1,000 lots of YES A at 42¢, then leg 1 (YES B) fails."""
from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from arbbot.execution import Executor, ExecutorConfig, OrderStore, Refused, Route
from arbbot.sim import Faults
from arbbot.sim.engine.matching import HOUSE
from arbbot.venues.common.model import Venue
from tests.execution.harness import A, opportunity, routes, sim_config, take_b_asks, venue
from tests.execution.test_executor import assert_store_matches_venue, run, venue_view

# the default policy through A's bid of 38¢: 5, 7.5, 10, 12.5, 15, 15¢ down (30.5 and 25.5¢ floor to the 1¢ grid)
SELL_PRICES = [3300, 3000, 2800, 2500, 2300, 2300]
PAUSES = [0.2, 0.4, 0.8, 1.0, 1.0]          # s before attempts 1..5: 3.4 s in all
OLD_POLICY = ExecutorConfig(unwind_attempts=3, unwind_slippage_step_ticks=0, unwind_pause_s=0.0)


def in_sim(h, fn) -> None:
    """Run `fn()` on the simulator's loop and wait for it (the book is changed before we go on)."""
    async def call():
        fn()
    asyncio.run_coroutine_threadsafe(call(), h.loop).result(5)


THIN = ((3800, 300), (500, 100))             # A's YES bids once thinned: 300 lots at 38¢, a stale 100 at 5¢


def thin_book(h, replenish_after_s: float | None, bids=THIN) -> None:
    """Leg 1 loses its edge (B's YES asks are taken: `take_b_asks`) and A's YES bids thin to `bids`
    ((price, lots), …); after `replenish_after_s` the house quotes A again (10,000 lots at 38¢)."""
    sim = h.kalshi
    ex = sim.process.ex
    take_b_asks(h)
    _e, _q, listing_a = sim.listings[A]
    ex.cancel_all(HOUSE, listing_a.market_id)
    for price, lots in bids:
        ex.place(HOUSE, listing_a.market_id, "yes", "buy", price, lots)
    if replenish_after_s is not None:
        h.loop.call_later(replenish_after_s, sim.process.quote, listing_a, 4000)


def unwinds(store):
    return [i for i in store.intents() if i.role == "unwind"]


def unwind_fills(store):
    """(client order id, lots, price) of the unwinds' fills, as Kalshi reports them: the order's
    own side and action (AsyncAPI `fill`: `purchased_side` is what was bought), so a sale of YES at
    the 38¢ bid is a YES fill at 3,800."""
    return sorted((f.client_order_id, f.qty, f.price) for i in unwinds(store) for f in store.fills(i.client_order_id))


async def execute_into_thin_book(h, store, config, replenish_after_s, bids=THIN):
    """Execute the planted opportunity; A's book thins as leg 0 fills. Returns the result, the
    monotonic time of the thinning and of each unwind intent (written just before its order), the
    lots of A still held at the venue and the opportunity."""
    v = venue(sim_config(h))
    opp = await opportunity(v)
    times: dict[str, list[float]] = {"thinned": [], "unwinds": []}

    def on_step(name):
        if name == "filled:L0":
            in_sim(h, lambda: thin_book(h, replenish_after_s, bids))
            times["thinned"].append(time.monotonic())
        elif name == "unwind_intent:L0":
            times["unwinds"].append(time.monotonic())
    res = await Executor(store, routes(v), config=config, on_step=on_step).execute(opp, execution_id="x1")
    orders, fills = await venue_view(v, store)
    assert_store_matches_venue(store, orders, fills)
    held = {p.market_id: p.yes_lots for p in await v.positions()}.get(A, 0)
    await v.close()
    return res, times["thinned"][0], times["unwinds"], held, opp


def test_thin_book_that_replenishes_later_is_unwound_by_pausing_and_escalating(tmp_path, sim_factory):
    h = sim_factory()
    store = OrderStore(tmp_path / "o.db")
    res, thinned, sent, held, _opp = run(execute_into_thin_book(h, store, ExecutorConfig(), replenish_after_s=1.0))
    assert res.state == "unwound", res.reason
    assert res.filled == {0: 0, 1: 0} and held == 0 and store.safe_mode() is None
    # 300 lots sold at once, the other 700 only after the book came back (1 s): attempts 0-2 come
    # 0, ≥ 0.2 and ≥ 0.6 s after the first, so the fill is at attempt 3 (≥ 1.4 s) or 4 (≥ 2.4 s)
    prices = [i.price for i in unwinds(store)]
    assert len(prices) in (4, 5) and prices == SELL_PRICES[:len(prices)]
    assert sent[-1] - thinned >= 1.0
    for k in range(1, len(sent)):
        assert sent[k] - sent[k - 1] >= PAUSES[k - 1] - 0.01
    # every lot sold at the 38¢ bid: the stale 5¢ bid was never hit (it is below 38 − 15¢)
    coids = [i.client_order_id for i in unwinds(store)]
    assert unwind_fills(store) == [(coids[0], 300, 3800), (coids[-1], 700, 3800)]


def test_old_policy_three_immediate_attempts_leaves_the_same_book_naked(tmp_path, sim_factory):
    h = sim_factory()
    store = OrderStore(tmp_path / "o.db")
    res, _thinned, sent, held, _opp = run(execute_into_thin_book(h, store, OLD_POLICY, replenish_after_s=1.0))
    assert sent[-1] - sent[0] < 1.0                  # all three were over before the book came back
    assert res.state == "naked" and res.filled == {0: 700, 1: 0} and held == 700
    assert [i.price for i in unwinds(store)] == [3300] * 3
    assert "x1" in store.safe_mode()


def test_book_that_never_comes_back_ends_naked_with_safe_mode_in_bounded_time(tmp_path, sim_factory):
    h = sim_factory()
    store = OrderStore(tmp_path / "o.db")
    started = time.monotonic()
    res, _thinned, sent, held, opp = run(execute_into_thin_book(h, store, ExecutorConfig(), replenish_after_s=None))
    assert res.state == "naked" and res.filled == {0: 700, 1: 0} and held == 700
    assert store.execution("x1").state == "naked" and "x1" in store.safe_mode()
    # six orders, all at the capped escalation; none reached the stale 5¢ bid
    assert [i.price for i in unwinds(store)] == SELL_PRICES
    assert unwind_fills(store) == [("x1-L0U0", 300, 3800)]
    # bounded: the pauses (3.4 s) plus six quick orders
    assert sum(PAUSES) - 0.05 <= sent[-1] - sent[0] and time.monotonic() - started < sum(PAUSES) + 10

    async def refused():
        v = venue(sim_config(h))
        with pytest.raises(Refused, match="safe mode"):
            await Executor(store, routes(v)).execute(opp)
        await v.close()
    run(refused())


def test_no_bid_to_price_against_sends_no_unwind_order(tmp_path, sim_factory):
    """A's YES bids are all gone: nothing to anchor a price to, so no order (never a blind sale at
    the lowest price); every attempt re-quotes, then naked. Short pauses keep the test quick."""
    h = sim_factory()
    store = OrderStore(tmp_path / "o.db")
    quick = ExecutorConfig(unwind_pause_s=0.01, unwind_pause_cap_s=0.01)
    res, _thinned, sent, held, _opp = run(execute_into_thin_book(h, store, quick, None, bids=()))
    assert res.state == "naked" and res.filled == {0: 1000, 1: 0} and held == 1000
    assert sent == [] and unwinds(store) == [] and "x1" in store.safe_mode()


@pytest.mark.parametrize("way_out", ["sell", "buy_other_side"])
def test_unwind_prices_escalate_on_the_grid_up_to_the_cap(tmp_path, sim_factory, way_out):
    """Every unwind order is rejected; A's book stays at YES bid 38¢ / NO ask 62¢. A sale steps
    down from the bid, a purchase of NO (as on buy-only ForecastEx) steps up from its ask."""
    h = sim_factory()

    async def main():
        v = venue(sim_config(h))
        opp = await opportunity(v)
        store = OrderStore(tmp_path / "o.db")
        rs = routes(v)
        if way_out == "buy_other_side":        # A's rules say buy-only (the adapter's, which orders follow)
            info = dataclasses.replace({m.market_id: m for m in await v.discover_markets()}[A], venue=Venue.FORECASTEX)
            current = v.market_info
            v.market_info = lambda market_id: info if market_id == A else current(market_id)
            rs[f"kalshi:{A}"] = Route(v, A, info)

        def on_step(name):
            if name == "filled:L0":
                h.kalshi.faults = Faults(order_reject_every=1)
        res = await Executor(store, rs, on_step=on_step).execute(opp, execution_id="x1")
        await v.close()
        return res, store
    res, store = run(main())
    assert res.state == "naked" and res.filled == {0: 1000, 1: 0} and "x1" in store.safe_mode()
    got = [(i.side, i.action, i.qty, i.price, i.state) for i in unwinds(store)]
    if way_out == "sell":
        assert got == [("yes", "sell", 1000, p, "rejected") for p in SELL_PRICES]
    else:       # 62¢ + 5, 7.5, 10, 12.5, 15, 15¢, floored to 1¢
        assert got == [("no", "buy", 1000, p, "rejected") for p in [6700, 6900, 7200, 7400, 7700, 7700]]
