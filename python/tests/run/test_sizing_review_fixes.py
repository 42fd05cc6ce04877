"""Money limits a review found loose (each test failed before its fix):

1. fills a venue lists after an execution ended, and orders adopted after it ended, move the
   trader's kept cash (order-level amounts at first, by what the fills change later, never twice);
2. an unwound / naked execution's loss is booked from its orders' order-level amounts while their
   fills are not listed yet (the daily loss cap binds at once, and the fills listed later book
   nothing twice);
3. an unwound or aborted execution left holding lots counts as exposure and is polled for results;
4. a failed portfolio refresh keeps the trader busy (offers refused) and is tried again;
5. no periodic refresh during a resolution poll, and a market resolved and paid after the kept
   cash was read is valued at its payout until the cash is read again (no false drawdown stop);
6. a Polymarket YES+NO pair is worth $1 a contract in equity;
7. a held market the session no longer lists keeps its event and category.

Units: lots, ticks, µ$."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from arbbot.config import Settings
from arbbot.engine import Engine
from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side as ESide
from arbbot.execution.executor import ExecutionResult, Executor, Route
from arbbot.execution.store import NOT_FOUND, OrderStore
from arbbot.risk.gates import RiskGates
from arbbot.risk.limits import DailyLossCap, ExposureLimits
from arbbot.run import trader as trader_module
from arbbot.run.sizer import SessionSizer
from arbbot.run.trader import PaperTrader, held_exposure
from arbbot.sizing import state
from arbbot.sizing.portfolio import Exposure
from arbbot.venues.common.model import Action, Balance, Fill, Order, OrderStatus, Resolution, Side, Venue
from tests.risk.trades import complete_profitable, fill, two_leg_opportunity
from tests.sizing.test_lazy import NOW, _session

CASH = {"kalshi": 10_000_000_000, "polymarket": 10_000_000_000}


def _store(tmp_path, name: str = "s.db") -> OrderStore:
    return OrderStore(str(tmp_path / name), clock_ms=lambda: int(NOW * 1000))


def _sizer(store: OrderStore) -> SessionSizer:
    return SessionSizer(_session("2027-03-01T00:00:00Z"), store, Settings(kill_file=""), clock=lambda: NOW)


def _unlisted_order(store, xid, leg, role, *, venue, market_id, side, action, qty, price, fee, attempt=0):
    """An order the venue filled in full (its answer says so) whose fills it has not listed yet;
    returns (client order id, the fill it lists later)."""
    coid = store.add_intent(xid, leg, role, attempt, venue=venue, market=f"{venue}:{market_id}", market_id=market_id,
                            side=side, action=action, qty=qty, price=price, tif="ioc")
    store.record_order(coid, Order(Venue.parse(venue), f"o-{coid}", coid, market_id, Side.parse(side), Action(action),
                                   price, qty, qty, 0, OrderStatus.FILLED, fee,
                                   price * qty if action == "buy" else 0), [])
    return coid, Fill(Venue.parse(venue), f"f-{coid}", f"o-{coid}", market_id, Side.parse(side), Action(action), price,
                      qty, fee, True, 0)


def _complete_with_leg1_unlisted(store):
    """Execution c1, complete: leg 0 bought 1,000 lots of Kalshi A YES at 42¢ + $0.04 (listed), leg
    1 1,000 lots of Polymarket B NO at 50¢ + $0.05 whose fills are not listed yet; returns
    (leg 1's client order id, the fill listed later)."""
    store.create_execution("c1", two_leg_opportunity("opp-c1"))
    fill(store, "c1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    coid, late = _unlisted_order(store, "c1", 1, "entry", venue="polymarket", market_id="B", side="no",
                                 action="buy", qty=1_000, price=5_000, fee=50_000)
    store.set_execution_state("c1", "complete")
    return coid, late


class FakeVenue:
    """A venue's cash (µ$) and, once, a result it publishes (crediting its payout)."""

    def __init__(self, venue: Venue, cash: int, result: Resolution | None = None, delay: float = 0.0) -> None:
        self.venue, self.cash, self.result, self.delay, self.reads = venue, cash, result, delay, 0

    async def resolutions(self, ids):
        await asyncio.sleep(self.delay)
        if self.result is None:
            return []
        res, self.result = self.result, None
        self.cash += 10_000_000                            # the venue credits the $10 payout
        return [res]

    async def balance(self):
        self.reads += 1
        await asyncio.sleep(0.01)
        return Balance(self.venue, self.cash)


# ---- 1. the kept cash follows late-listed and adopted fills ------------------------------------

def test_kept_cash_moves_by_order_level_amounts_while_fills_are_unlisted_and_equity_stays_whole(tmp_path):
    """Leg 1's order filled 1,000 NO B at 50¢ ($5.00 + $0.05 fee) but its fills are listed late.
    Before: the kept cash did not move by it (only a reconciliation re-read it) while the fills
    recorded later put B's position into the equity: E rose by B's value, the peak with it. Now:
    the cash moves by the order's $5.05 when the execution returns, B's lots count in the
    positions meanwhile, and the fills listed later move neither."""
    store = _store(tmp_path)
    sizer = _sizer(store)
    trader = PaperTrader(SimpleNamespace(answered=[]), None, {}, store, sizer=sizer)
    trader.cash = dict(CASH)
    coid, late = _complete_with_leg1_unlisted(store)
    trader._spent("c1")
    assert trader.cash == {"kalshi": CASH["kalshi"] - 4_240_000, "polymarket": CASH["polymarket"] - 5_050_000}
    sizer.refresh(trader.cash)
    e0 = sizer.portfolio.equity
    b_mid = sizer._mid("polymarket:B")
    a_mid = sizer._mid("kalshi:A")
    assert e0 == sum(trader.cash.values()) + 1_000 * a_mid + 1_000 * (10_000 - b_mid)
    assert sizer.unlisted == {"c1"} and _sizer(store).unlisted == {"c1"}      # a restart finds it too
    store.record_fills(coid, [late])
    trader.cash_changed("c1")                              # the executor's notice: nothing changes
    sizer.refresh(trader.cash)
    assert trader.cash["polymarket"] == CASH["polymarket"] - 5_050_000
    assert sizer.portfolio.equity == e0 and store.drawdown()[0] == e0
    assert sizer.unlisted == set()                         # listed now: forgotten
    store.close()


def test_fills_listed_later_at_other_amounts_move_the_kept_cash_by_the_difference_once(tmp_path):
    """The order's answer said $5.00 + $0.05; its fills, listed later, say 49¢ ($4.90 + $0.049).
    The kept cash moves by the $0.101 difference, once however often it is told; after the
    venue's cash was read again, nothing (the reading holds them)."""
    store = _store(tmp_path)
    venues = {"kalshi": FakeVenue(Venue.KALSHI, CASH["kalshi"]), "polymarket": FakeVenue(Venue.POLYMARKET, 7_000_000)}
    trader = PaperTrader(SimpleNamespace(answered=[]), None, venues, store)
    trader.cash = dict(CASH)
    coid, _ = _complete_with_leg1_unlisted(store)
    trader._spent("c1")
    after_spent = trader.cash["polymarket"]
    assert after_spent == CASH["polymarket"] - 5_050_000
    cheaper = [Fill(Venue.POLYMARKET, "f-1", f"o-{coid}", "B", Side.NO, Action.BUY, 4_900, 600, 29_400, True, 0)]
    store.record_fills(coid, cheaper)                      # 600 listed: 400 still at the order's amounts
    trader.cash_changed("c1")
    # 600 × 49¢ + 400 at the rest of the answer's cost ($5.00 − $2.94 = $2.06), fees $0.05 in all
    assert trader.cash["polymarket"] == after_spent
    store.record_fills(coid, cheaper + [Fill(Venue.POLYMARKET, "f-2", f"o-{coid}", "B", Side.NO, Action.BUY, 4_900,
                                             400, 19_600, True, 0)])
    trader.cash_changed("c1")
    trader.cash_changed("c1")
    assert trader.cash["polymarket"] == CASH["polymarket"] - 4_949_000
    asyncio.run(trader.refresh_balances())
    assert trader.cash["polymarket"] == 7_000_000
    _unlisted_order(store, "c1", 1, "entry", venue="polymarket", market_id="B", side="no", action="buy", qty=10,
                    price=5_000, fee=0, attempt=1)
    trader.cash_changed("c1")                              # read since: the venue's cash holds it
    assert trader.cash["polymarket"] == 7_000_000 and trader._cash_moved == {}
    store.close()


class _Client:
    """A venue client that lists an order's fills (and shows one order when looked up)."""
    venue = "polymarket"

    def __init__(self, fills) -> None:
        self._fills = fills

    async def fills(self, order_id=None, **_):
        return [f for f in self._fills if order_id is None or f.order_id == order_id]


def test_an_order_adopted_after_its_execution_ended_moves_the_kept_cash(tmp_path):
    """Leg 1's order was taken as never sent (the venue did not show it) and the execution unwound
    leg 0; the venue shows it later, filled: 1,000 NO B at 50¢ + $0.05. Before: the executor
    recorded it and the kept cash never moved (until a reconciliation). Now it tells the trader,
    whose kept Polymarket cash moves by $5.05."""
    store = _store(tmp_path)
    executor = Executor(store, {})
    trader = PaperTrader(executor, None, {}, store)
    trader.cash = dict(CASH)
    store.create_execution("a1", two_leg_opportunity("opp-a1"))
    fill(store, "a1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    coid = store.add_intent("a1", 1, "entry", 0, venue="polymarket", market="polymarket:B", market_id="B", side="no",
                            action="buy", qty=1_000, price=5_000, tif="ioc")
    store.set_intent_state(coid, "failed", f"{NOT_FOUND} TimeoutError")
    fill(store, "a1", 0, "unwind", venue="kalshi", market_id="A", side="yes", action="sell", qty=1_000, price=4_100,
         fee=30_000)
    store.set_execution_state("a1", "unwound", "leg 1 not at the venue")
    trader._spent("a1")
    kalshi = trader.cash["kalshi"]
    assert kalshi == CASH["kalshi"] - 170_000 and trader.cash["polymarket"] == CASH["polymarket"]
    found = Order(Venue.POLYMARKET, "o-late", coid, "B", Side.NO, Action.BUY, 5_000, 1_000, 1_000, 0,
                  OrderStatus.FILLED, 50_000, 5_000_000)
    client = _Client([Fill(Venue.POLYMARKET, "f-late", "o-late", "B", Side.NO, Action.BUY, 5_000, 1_000, 50_000,
                           True, 0)])
    asyncio.run(executor._adopt_absent("a1", Route(client, "B"), coid, int(NOW * 1000), found))
    assert store.execution("a1").state == "naked"
    assert trader.cash == {"kalshi": kalshi, "polymarket": CASH["polymarket"] - 5_050_000}
    store.close()


def test_fills_the_executor_fetches_late_move_the_kept_cash_by_what_they_change(tmp_path):
    """The background fetch of late fills (`_record_late_fills`) records fills at 49¢ for an order
    answered at 50¢: the trader hears of it and the kept cash gets the $0.10 back."""
    store = _store(tmp_path)
    executor = Executor(store, {})
    trader = PaperTrader(executor, None, {}, store)
    trader.cash = dict(CASH)
    coid, _ = _complete_with_leg1_unlisted(store)
    trader._spent("c1")
    client = _Client([Fill(Venue.POLYMARKET, "f-x", f"o-{coid}", "B", Side.NO, Action.BUY, 4_900, 1_000, 50_000, True,
                           0)])

    async def main():
        executor._record_late_fills(coid, client, f"o-{coid}", 1_000)
        await asyncio.gather(*executor._late_fills)
    asyncio.run(main())
    assert trader.cash["polymarket"] == CASH["polymarket"] - 4_950_000
    store.close()


# ---- 2. the loss is booked from order-level amounts --------------------------------------------

def test_an_unwound_loss_is_booked_before_its_entry_fills_are_listed(tmp_path):
    """Bought 1,000 YES A at 42¢ (+$0.04), its fills not listed yet; sold back at 10.2¢ (−$0.03):
    $3.25 lost. Before: nothing booked until the entry's fills came (the $1 cap did not bind). Now:
    $3.25 at once, and the fills listed later book no second row."""
    store = _store(tmp_path)
    store.create_execution("u1", two_leg_opportunity("opp-u1"))
    coid, late = _unlisted_order(store, "u1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy",
                                 qty=1_000, price=4_200, fee=40_000)
    fill(store, "u1", 0, "unwind", venue="kalshi", market_id="A", side="yes", action="sell", qty=1_000, price=1_020,
         fee=30_000, reported_side="no")
    store.set_execution_state("u1", "unwound", "leg 1 rejected")
    cap = DailyLossCap(1_000_000, store, clock=lambda: NOW)
    assert cap.loss == 3_250_000 and cap.reason() is not None
    store.record_fills(coid, [late])
    assert cap.loss == store.realised_loss("u1") == 3_250_000
    assert store._db.execute("SELECT COUNT(*) FROM realised_losses WHERE execution_id='u1'").fetchone()[0] == 1
    store.close()


def test_a_naked_loss_is_booked_before_its_fills_are_listed(tmp_path):
    """A naked leg (1,000 YES A at 42¢ + $0.04) whose fills are listed late: $4.24 booked at once."""
    store = _store(tmp_path)
    store.create_execution("n1", two_leg_opportunity("opp-n1"))
    coid, late = _unlisted_order(store, "n1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy",
                                 qty=1_000, price=4_200, fee=40_000)
    store.set_execution_state("n1", "naked", "leg 1 rejected; unwind failed")
    assert store.realised_loss("n1") == 4_240_000
    store.record_fills(coid, [late])
    assert store.realised_loss("n1") == 4_240_000
    assert store._db.execute("SELECT COUNT(*) FROM realised_losses WHERE execution_id='n1'").fetchone()[0] == 1
    store.close()


# ---- 3. unwound / aborted executions that hold lots --------------------------------------------

def _unwound_with_dust(store) -> None:
    """NO B bought (1,000 lots at 50¢), leg 0 failed; the unwind sold 996, 4 lots held as dust."""
    store.create_execution("u1", two_leg_opportunity("opp-u1"))
    fill(store, "u1", 1, "entry", venue="polymarket", market_id="B", side="no", action="buy", qty=1_000, price=5_000,
         fee=0)
    fill(store, "u1", 1, "unwind", venue="polymarket", market_id="B", side="no", action="sell", qty=996, price=4_900,
         fee=0)
    store.set_execution_state("u1", "unwound",
                              "leg 0 rejected; leg 1 holds 4 lots under its venue's minimum order (held)")


def test_an_unwound_execution_holding_dust_counts_as_exposure_and_is_polled(tmp_path):
    store = _store(tmp_path)
    _unwound_with_dust(store)
    _, markets, _, _ = state.exposures(store, {})
    assert markets == {"polymarket:B": Exposure(held=20_000)}          # 4 lots × 50¢
    lim = ExposureLimits(per_venue=1, per_event=1, per_market=1)
    held_exposure(store, lim, lambda m: m)
    assert lim.market == {"polymarket:B": 20_000} and lim.venue == {"polymarket": 20_000}
    assert store.held_markets() == {"polymarket": {"B"}}
    store.close()


def test_the_gate_adds_what_an_unwound_execution_still_holds(tmp_path):
    store = _store(tmp_path)

    async def execute(opp, **kw):
        _unwound_with_dust(store)
        return ExecutionResult("u1", "unwound", "leg 0 rejected", {0: 0, 1: 4}, -5_000_000 + 4_880_400)
    executor = SimpleNamespace(answered=[], execute=execute, pause_gc=lambda: None, resume_gc=lambda: None)
    trader = PaperTrader(executor, RiskGates(exposure=ExposureLimits()), {}, store)
    asyncio.run(trader._execute_once(two_leg_opportunity("opp-u1"), None))
    assert trader.gates.exposure.market == {"polymarket:B": 20_000}
    store.close()


# ---- 4. a failed refresh keeps the trader busy ------------------------------------------------

def test_a_failed_refresh_after_an_execution_keeps_offers_refused_until_it_succeeds(tmp_path):
    """The refresh after an execution fails: offers stay refused (the portfolio is not the new one),
    but the execution's task ends, so a reconciliation or a resolution poll is not held up by it
    (`_in_flight` False); the next refresh that works (the periodic one) frees the trader."""
    store = _store(tmp_path)
    sizer = _sizer(store)

    async def execute(opp, **kw):
        complete_profitable(store, "c1")
        return ExecutionResult("c1", "complete", "", {0: 1_000, 1: 1_000}, -9_290_000)
    executor = SimpleNamespace(answered=[], execute=execute, pause_gc=lambda: None, resume_gc=lambda: None)
    trader = PaperTrader(executor, RiskGates(exposure=ExposureLimits()), {}, store, sizer=sizer, refresh_off_loop=True)
    trader.cash = dict(CASH)
    trader.refresh_sizing()
    opp = next(o for o in Engine(sizer.session.universe, engine="python").scan().opportunities if o.lane is Lane.CROSS)
    real, calls = sizer._read, []

    def failing_read(*a):
        calls.append(1)
        if len(calls) <= 1:
            raise OSError("disk I/O error")
        return real(*a)
    sizer._read = failing_read

    async def main():
        task = asyncio.ensure_future(trader._execute(opp, None, None, 0))
        trader._task = task
        await task
        after = (trader.busy, trader._in_flight)
        trader.offer(opp)                                  # refused: the portfolio is not the new one
        await trader.refresh_sizing_async()                # the periodic refresh's retry
        return after
    busy_after_failure, in_flight = asyncio.run(main())
    assert busy_after_failure and not in_flight and trader.stats.skipped["busy"] == 1 and len(calls) == 2
    assert not trader.busy and set(sizer.portfolio.markets) == {"kalshi:A", "polymarket:B"}
    store.close()


class _FixedBackoff:
    def __init__(self, *a, **k) -> None:
        pass

    def next_delay(self) -> float:
        return 0.2

    def reset(self) -> None:
        pass


def test_a_failed_periodic_refresh_refuses_offers_until_one_succeeds(tmp_path, monkeypatch):
    """Before: a failed periodic refresh left the trader free to size on the old portfolio until
    the next one, 5 s later. Now it is busy (offers refused) until a retry succeeds."""
    monkeypatch.setattr(trader_module, "Backoff", _FixedBackoff, raising=False)
    store = _store(tmp_path)
    sizer = _sizer(store)
    trader = PaperTrader(SimpleNamespace(answered=[]), RiskGates(exposure=ExposureLimits()), {}, store, sizer=sizer,
                         refresh_off_loop=True)
    trader.cash = dict(CASH)
    trader.refresh_sizing()
    real, calls = sizer._read, []

    def failing_read(*a):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk I/O error")
        return real(*a)
    sizer._read = failing_read

    opp = next(o for o in Engine(sizer.session.universe, engine="python").scan().opportunities if o.lane is Lane.CROSS)

    async def main():
        every = asyncio.ensure_future(trader.refresh_sizing_every(0.02))
        while not calls or trader.refreshing:
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)                          # the retry comes 0.2 s after the failure
        busy = trader.busy
        trader.offer(opp)
        while len(calls) < 2 or trader.refreshing:
            await asyncio.sleep(0.002)
        every.cancel()
        return busy
    assert asyncio.run(main()) is True and trader.stats.skipped["busy"] == 1 and not trader.busy
    store.close()


# ---- 5. resolutions, cash and the periodic refresh ---------------------------------------------

KEPT = {"kalshi": 15_000_000, "polymarket": 15_000_000}


def test_no_periodic_refresh_runs_during_a_resolution_poll(tmp_path):
    """Kalshi A resolves paid (recorded at once) while Polymarket is slow to answer. Before: the
    periodic refresh ran in between, saw A's lots gone without the payout in the kept cash and
    latched a drawdown stop. Now it waits for the poll, which re-reads the cash first."""
    store = _store(tmp_path)
    complete_profitable(store)
    sizer = _sizer(store)
    venues = {"kalshi": FakeVenue(Venue.KALSHI, KEPT["kalshi"], Resolution(Venue.KALSHI, "A", "yes", 10_000, 0, paid=True)),
              "polymarket": FakeVenue(Venue.POLYMARKET, KEPT["polymarket"], delay=0.6)}
    trader = PaperTrader(SimpleNamespace(answered=[]), RiskGates(exposure=ExposureLimits()), venues, store,
                         sizer=sizer, refresh_off_loop=False)

    async def main():
        await trader.refresh_balances()
        trader.refresh_sizing()
        every = asyncio.ensure_future(trader.refresh_sizing_every(0.02))
        resolving = asyncio.ensure_future(trader.resolve_now())
        await asyncio.sleep(0.1)
        during = trader.refreshes
        await asyncio.sleep(0.1)
        still = trader.refreshes
        await resolving
        every.cancel()
        return during, still
    during, still = asyncio.run(main())
    assert during == still == 1                          # none while the poll ran
    assert store.drawdown()[3] != "stop" and not sizer.portfolio.drawdown_stopped
    assert trader.cash == {"kalshi": 25_000_000, "polymarket": 15_000_000}
    store.close()


def test_a_market_resolved_by_another_process_is_valued_at_its_payout_until_the_cash_is_read(tmp_path):
    """`arbbot resolve kalshi:A yes` (paid) from another process. Before: the bot's next refresh
    dropped A's lots while its kept cash lacked the $10 payout (until the next resolution poll,
    minutes later): a drawdown stop latched. Now A's lots count at their $10 until Kalshi's cash
    is read again, which holds it."""
    store = _store(tmp_path)
    complete_profitable(store)
    sizer = _sizer(store)
    venues = {"kalshi": FakeVenue(Venue.KALSHI, KEPT["kalshi"]), "polymarket": FakeVenue(Venue.POLYMARKET, KEPT["polymarket"])}
    trader = PaperTrader(SimpleNamespace(answered=[]), RiskGates(exposure=ExposureLimits()), venues, store,
                         sizer=sizer, refresh_off_loop=False)
    asyncio.run(trader.refresh_balances())
    trader.refresh_sizing()
    b_value = 1_000 * (10_000 - sizer._mid("polymarket:B"))
    other = _store(tmp_path)                              # the operator's process
    other.record_resolution(Resolution(Venue.KALSHI, "A", "yes", 10_000, 0, paid=True), source="operator")
    other.close()
    trader.refresh_sizing()                               # the periodic refresh, cash not read yet
    assert sizer.portfolio.equity == 30_000_000 + 10_000_000 + b_value
    assert store.drawdown()[3] != "stop" and not sizer.portfolio.drawdown_stopped
    venues["kalshi"].cash += 10_000_000                   # what the venue paid
    asyncio.run(trader.refresh_balances())
    trader.refresh_sizing()
    assert sizer.portfolio.equity == 30_000_000 + 10_000_000 + b_value    # in the cash now, not twice
    store.close()


# ---- 6. a Polymarket YES+NO pair is worth $1 a contract ----------------------------------------

def _intra(store, xid: str, yes: int, no: int) -> None:
    legs = (Leg("polymarket:B", ESide.YES, yes, 4_400, 4_400 * yes, 0),
            Leg("polymarket:B", ESide.NO, yes, 5_500, 5_500 * yes, 0))
    store.create_execution(xid, Opportunity(f"intra-{xid}", Lane.INTRA, Kind.YES_NO, yes, 10_000 * yes, 9_900 * yes,
                                            0, 100 * yes, legs))
    fill(store, xid, 0, "entry", venue="polymarket", market_id="B", side="yes", action="buy", qty=yes, price=4_400, fee=0)
    fill(store, xid, 1, "entry", venue="polymarket", market_id="B", side="no", action="buy", qty=no, price=5_500, fee=0)
    store.set_execution_state(xid, "complete")


def test_a_polymarket_pair_is_valued_at_its_payout(tmp_path):
    """100 YES + 100 NO of B for $99 pay $100. Before: E fell by $99 (net lots 0 marked at 0):
    9.9 % drawdown, the caution tier. Now E = $1,000 − $99 + $100."""
    store = _store(tmp_path)
    sizer = _sizer(store)
    trader = PaperTrader(SimpleNamespace(answered=[]), None, {}, store, sizer=sizer)
    trader.cash = {"kalshi": 0, "polymarket": 1_000_000_000, "forecastex": 0}
    sizer.refresh(trader.cash)
    _intra(store, "x1", 10_000, 10_000)
    trader._spent("x1")
    sizer.refresh(trader.cash)
    assert trader.cash["polymarket"] == 901_000_000
    assert sizer.portfolio.equity == 1_001_000_000 and store.drawdown()[3] == "normal"
    # 50 more YES than NO (an over-fill): the pairs at $1, the 50 YES at B's mid
    _intra(store, "x2", 10_000, 5_000)
    trader._spent("x2")
    sizer.refresh(trader.cash)
    mid = sizer._mid("polymarket:B")
    assert sizer.portfolio.equity == trader.cash["polymarket"] + 15_000 * 10_000 + 5_000 * mid
    store.close()


# ---- 7. a held market's event and category outlive the session's listing -----------------------

def test_a_held_market_the_session_no_longer_lists_keeps_its_event(tmp_path):
    store = _store(tmp_path)
    _sizer(store)                                         # lists kalshi:A (event E): its legs record it
    complete_profitable(store)
    assert store.execution("c1").legs[0]["event"] == "E"
    _, _, events, _ = state.exposures(store, {"kalshi:A2": ("E", None)})   # a later session lists A2, not A
    assert events == {"E": Exposure(held=4_240_000)}
    lim = ExposureLimits()
    held_exposure(store, lim, lambda m: m)                # the session's event_of knows neither market
    assert lim.event == {"kalshi:E": 4_240_000, "polymarket:B": 5_050_000}
    store.close()


def test_a_position_keeps_its_mark_while_its_book_is_held_out(tmp_path):
    """Equity marks a position at the streamed mid. While the book is held out (quiet, awaiting its
    snapshot after a reconnect) it was marked at cost: 1,000 YES A bought at 56¢ with the mid at
    42¢ read $140 richer, the peak kept that, and once the book came back a drawdown of marking
    alone stayed. Now the last mid stands in."""
    store = _store(tmp_path)
    sizer = _sizer(store)
    session = sizer.session
    a_mid = sizer._mid("kalshi:A")
    assert a_mid is not None
    positions = {"kalshi:A": (1_000, 1_000 * 5_600)}
    marked = sizer._positions_value(positions, {}, {})
    assert marked == 1_000 * a_mid
    session.held["kalshi:A"] = "stale: no update for 30 s"
    assert sizer._quotes("kalshi:A") is None                     # no streamed book now
    assert sizer._mid("kalshi:A") == a_mid and sizer._positions_value(positions, {}, {}) == marked
    assert _sizer(store)._mid("kalshi:B") is None                # never had one: cost, as before
    store.close()
