"""Orders taken as never sent are watched again after a restart (`Executor.watch_absent_since_restart`).

An order whose answer was lost and that lookups did not find is looked up in the background for
`absent_watch_s` after its execution ended. Before, a restart ended that watch: an order the venue
ran while the bot was down was found only as a reconciliation difference, the store never holding
its fills. Units: lots (100 a contract), ticks ($0.0001), µ$."""
from __future__ import annotations

import asyncio
import time

from arbbot.engine.types import Side as ESide
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Route
from arbbot.model import MarketInfo, Venue
from arbbot.venues.common.errors import OutcomeUnknown
from tests.execution.test_executor_review_fixes import K, P, FakeVenue, execute

K1 = MarketInfo(Venue.KALSHI, K, "k", lot_lots=100)
P1 = MarketInfo(Venue.POLYMARKET, P, "p", lot_lots=1)
FAST = dict(absent_after_s=0.2, lookup_backoff_cap_s=0.05, absent_watch_cap_s=0.1)


def lost_before_the_restart(tmp_path):
    """Leg 0 (Kalshi NO, 1,000 lots) answers 503 and lookups do not find it: the execution aborts
    and the process stops before its watch ends (`absent_watch_s` 0.01 s here). Returns the Kalshi
    venue and the lost request, which the venue has not run yet."""
    held = []

    def behave(venue, req):
        held.append(req)
        raise OutcomeUnknown("kalshi POST /portfolio/orders: HTTP 503", venue="kalshi", status=503)
    kal = FakeVenue(Venue.KALSHI, K1, behave=behave)
    poly = FakeVenue(Venue.POLYMARKET, P1)
    res, safe, fills = execute(tmp_path, kal, poly, [("kalshi:K1", ESide.NO, 4800), ("polymarket:P1", ESide.YES, 5000)],
                               absent_watch_s=0.01, **FAST)
    assert (res.state, safe, fills, kal.net) == ("aborted", None, [], {})
    kal.behave = None
    return kal, held[0]


def restart(tmp_path, kal, *, clock=time.time, routed=True, wait_s=1.0, **config):
    """A new executor on the same store (the restart): its `watch_absent_since_restart()`, then
    `wait_s` for the watches. (watches started, safe mode reason, execution x1's state, net lots)."""
    store = OrderStore(str(tmp_path / "o.db"))
    routes = {"kalshi:K1": Route(kal, K, K1)} if routed else {"kalshi:K9": Route(kal, "K9", K1)}
    ex = Executor(store, routes, config=ExecutorConfig(**{**FAST, **config}), book_source=lambda m: None, clock=clock)

    async def main():
        started = ex.watch_absent_since_restart()
        await asyncio.sleep(wait_s)
        return started
    started = asyncio.run(main())
    out = (started, store.safe_mode(), store.execution("x1").state, store.leg_net("x1"))
    store.close()
    return out


def test_an_order_the_venue_ran_while_the_bot_was_down_is_found_after_the_restart(tmp_path):
    """The venue runs the lost order while the bot is down. After the restart the watch finds it:
    its 1,000-lot fill is recorded, the execution (leg 0 without leg 1) is naked, in safe mode."""
    kal, lost = lost_before_the_restart(tmp_path)
    kal.execute(lost)                                     # the venue's queue ran it
    started, safe, state, net = restart(tmp_path, kal)
    assert started == 1
    assert (state, net) == ("naked", {0: 1_000, 1: 0})
    assert safe is not None and "x1-L0E0, taken as never sent" in safe


def test_the_watch_is_through_its_venue_when_the_market_is_no_longer_routed(tmp_path):
    """The restarted session does not route K1 (no longer discovered): the order is looked up
    through the Kalshi client all the same."""
    kal, lost = lost_before_the_restart(tmp_path)
    kal.execute(lost)
    started, safe, state, _net = restart(tmp_path, kal, routed=False)
    assert (started, state) == (1, "naked") and safe is not None


def test_an_order_marked_absent_longer_ago_than_the_watch_is_not_watched(tmp_path):
    """Restarted `absent_watch_s` (600 s) after the order was marked absent: its watch would have
    ended already, so none starts and nothing changes (a reconciliation would still see it)."""
    kal, lost = lost_before_the_restart(tmp_path)
    kal.execute(lost)
    later = time.time() + 601
    started, safe, state, _net = restart(tmp_path, kal, clock=lambda: later, absent_watch_s=600.0, wait_s=0.3)
    assert (started, safe, state) == (0, None, "aborted")


def test_a_restart_watch_ends_when_what_was_left_of_it_has_passed(tmp_path):
    """The order's watch had 0.4 s left at the restart; the venue runs it 0.8 s after: not found
    (the watch ended), no change. The same order run at once is found (test above)."""
    kal, lost = lost_before_the_restart(tmp_path)
    store = OrderStore(str(tmp_path / "o.db"))
    marked_s = store.intent("x1-L0E0").updated_ms / 1000
    store.close()

    async def run_late():
        await asyncio.sleep(0.8)
        kal.execute(lost)

    def clock():
        return marked_s + 1.6 + (time.time() - t0)
    t0 = time.time()
    store = OrderStore(str(tmp_path / "o.db"))
    ex = Executor(store, {"kalshi:K1": Route(kal, K, K1)}, config=ExecutorConfig(**{**FAST, "absent_watch_s": 2.0}),
                  book_source=lambda m: None, clock=clock)

    async def main():
        started = ex.watch_absent_since_restart()
        late = asyncio.ensure_future(run_late())
        await asyncio.sleep(1.2)
        await late
        return started
    started = asyncio.run(main())
    assert (started, store.safe_mode(), store.execution("x1").state) == (1, None, "aborted")
    store.close()
