"""Money safety found by the risk and recovery audits (session 22), each against the code before:

- trap 7 counted only an IOC short fill: a later leg not sent because its edge went (or its
  re-quote failed) after leg 0 filled unwound leg 0 at a loss, and the arb could come back forever;
- the REST re-quote traded on a book flagged untradeable (crossed, held for a fee change);
- an execution that kept part of its size and unwound the rest booked no realised loss;
- a half-open circuit breaker's one trial was used up by a trade the trader then skipped for cash;
- safe mode that could not be written (the store's disk failed after a fill) did not stop trading;
- two processes could trade with one order store.
"""
from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from arbbot.execution import Executor, OrderStore, Refused, Route
from arbbot.execution.store_lock import StoreBusy
from arbbot.risk import BreakerState, CircuitBreaker, RiskGates
from arbbot.run.command import _db_refusal
from arbbot.run.trader import PaperTrader
from arbbot.venues.common.model import OrderStatus
from arbbot.venues.common.model import held
from tests.execution.harness import A, B
from tests.execution.test_order_answers import Wrapped, _reprice_b_after_leg_0, run_case
from tests.risk.trades import Clock, complete_profitable, fill, two_leg_opportunity


def test_a_later_leg_whose_edge_went_after_leg_0_filled_counts_against_its_market(tmp_path):
    """Leg 0 (YES A) fills, then B's ask jumps: leg 1 is not sent and leg 0 is unwound at a loss.
    Before: `count=False`, no market failure, no breaker failure (trap 7 never fired on this path).
    Now: a leg failure on B, and one for the breaker (`leg_failed`)."""
    res, store, pos, _ = run_case(tmp_path, lambda v: v, on_step=_reprice_b_after_leg_0)
    assert (res.state, res.leg_failed, pos[A], pos[B]) == ("unwound", True, 0, 0)
    assert (store.failure_count(f"kalshi:{B}"), store.failure_count(f"kalshi:{A}")) == (1, 0)
    store.close()


class Untradeable(Wrapped):
    """The venue's REST book of `market` comes back flagged untradeable (as a crossed book or one
    held for a fee change does)."""

    def __init__(self, inner, market: str) -> None:
        super().__init__(inner)
        self.market = market

    async def fetch_book(self, market_id):
        book = await self.inner.fetch_book(market_id)
        return held(book, "crossed book") if market_id == self.market else book


def test_a_re_quote_on_an_untradeable_book_sends_no_leg(tmp_path):
    """Before: the executor priced legs on whatever book the REST re-quote returned. Now an
    untradeable book stops the execution there: before leg 0 an abort with nothing sent and nothing
    counted; before leg 1, leg 0 is unwound and B counts a leg failure."""
    res, store, pos, _ = run_case(tmp_path, lambda v: Untradeable(v, A))
    assert (res.state, res.leg_failed, store.intents("x1"), pos[A]) == ("aborted", False, [], 0)
    assert "untradeable" in res.reason and store.failure_count(f"kalshi:{A}") == 0
    store.close()
    (tmp_path / "b").mkdir()
    res, store, pos, _ = run_case(tmp_path / "b", lambda v: Untradeable(v, B))
    assert (res.state, res.leg_failed, pos[A], pos[B]) == ("unwound", True, 0, 0)
    assert "untradeable" in res.reason and store.failure_count(f"kalshi:{B}") == 1
    store.close()


def test_the_unwound_part_of_a_complete_execution_is_a_realised_loss(tmp_path):
    """Leg 0 bought 1,000 lots YES A at 42¢ (fee $0.04), leg 1 only 500 of NO B at 50¢ (fee
    $0.025); 500 lots of A were sold back at 20¢ (fee $0.01) and 500 sets kept: `complete`.
    The unwound 500 lots cost $2.10 + half the entry fee $0.02 and brought $1.00 − $0.01: a
    realised loss of $1.13, not netted against the kept sets' locked-in profit (SIZING.md). Before:
    0, as for every complete execution. A complete execution that unwound nothing still books 0."""
    store = OrderStore(tmp_path / "o.db")
    store.create_execution("p1", two_leg_opportunity("opp-p1"))
    fill(store, "p1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    fill(store, "p1", 1, "entry", venue="polymarket", market_id="B", side="no", action="buy", qty=500, price=5_000,
         fee=25_000)
    fill(store, "p1", 0, "unwind", venue="kalshi", market_id="A", side="yes", action="sell", qty=500, price=2_000,
         fee=10_000)
    store.set_execution_state("p1", "complete", "leg 1 filled 500/1000 lots; kept 500 lots on every leg")
    assert store.leg_net("p1") == {0: 500, 1: 500}
    assert store.realised_loss("p1") == 1_130_000 == store.daily_loss(0)
    complete_profitable(store)
    assert store.realised_loss("c1") == 0 and store.daily_loss(0) == 1_130_000
    store.close()


def test_a_half_open_breakers_trial_is_not_used_up_by_a_trade_skipped_for_cash(tmp_path):
    """Before: `gates.check` took the one half-open trial, then the balance check skipped the
    trade without giving it back, and the breaker refused every later trade until a restart."""
    store = OrderStore(tmp_path / "o.db")
    mono = Clock(1_000.0)
    breaker = CircuitBreaker(3, 30, clock=mono, persistence=store)
    for _ in range(3):
        breaker.record_failure()
    mono.t += 31
    assert breaker.state is BreakerState.HALF_OPEN
    executor = Executor(store, {"kalshi:A": Route(None, "A"), "polymarket:B": Route(None, "B")})
    trader = PaperTrader(executor, RiskGates(breaker=breaker), {}, store)
    trader.cash = {"kalshi": 0, "polymarket": 0}
    trader.offer(two_leg_opportunity("o1"))
    assert dict(trader.stats.skipped) == {"balance": 1}
    assert breaker._in_trial == 0 and breaker.allow()          # the trial is still there for a real trade
    store.close()


def test_safe_mode_that_cannot_be_written_still_stops_trading(tmp_path, monkeypatch):
    """The store's disk fails after a fill: safe mode cannot be written. Before, the executor's
    next `check` allowed a new execution. Now the flag is latched in the process until an ack."""
    store = OrderStore(tmp_path / "o.db")
    executor = Executor(store, {"kalshi:A": Route(None, "A"), "polymarket:B": Route(None, "B")})
    real_tx = store.tx

    def failing_tx():
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "tx", failing_tx)
    with pytest.raises(sqlite3.OperationalError):
        store.enter_safe_mode("execution x1 failed")
    monkeypatch.setattr(store, "tx", real_tx)                  # the disk has room again
    with pytest.raises(Refused, match="execution x1 failed .not written to the order store"):
        executor.check(two_leg_opportunity("o2"))
    assert store.acknowledge() == [] and store.safe_mode() is None
    executor.check(two_leg_opportunity("o3"))
    store.close()


HOLDER = textwrap.dedent("""
    import sys, time
    from arbbot.execution import OrderStore
    store = OrderStore(sys.argv[1], exclusive=True)
    print("held", flush=True)
    time.sleep(60)
""")


def test_one_process_trades_with_an_order_store_at_a_time(tmp_path):
    """Before: a second `arbbot run` on the same --db opened it, and its start-up recovery ended
    the first process's in-flight execution `aborted`. Now the trading open is refused, naming
    the holder's pid; read-only opens still work; the lock goes with the process."""
    db = str(tmp_path / "o.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusy, match=f"in use by another arbbot process .pid {holder.pid}"):
            OrderStore(db, exclusive=True)
        assert f"pid {holder.pid}" in _db_refusal(db, paper=True)[0]
        OrderStore(db, create=False).close()                  # operator tools do not take the lock
    finally:
        holder.kill()
        holder.wait()
    first = OrderStore(db, exclusive=True)
    second = OrderStore(db, exclusive=True)                     # the same process again: counted
    first.close()
    with pytest.raises(StoreBusy):                              # still held by `second` ...
        _claim_elsewhere(db)
    second.close()
    _claim_elsewhere(db)                                        # ... and free once it is closed


def _claim_elsewhere(db: str) -> None:
    """Claim `db` from another process; StoreBusy here if that was refused."""
    out = subprocess.run([sys.executable, "-c", HOLDER.replace("time.sleep(60)", ""), db], capture_output=True, text=True)
    if out.returncode:
        raise StoreBusy(out.stderr.strip().splitlines()[-1])


# ---- crash recovery: an order that may still fill is never recorded as done ---------------------

def _recovery_case(tmp_path, venue_records, *, lookups, cancel=None):
    """One open execution whose leg 0 intent ('placed') the venue lists as `venue_records`;
    `order(id)` answers `lookups` in turn (the last one repeats); `cancel` answers a cancel (an
    exception instance is raised). Returns (report, store, coid)."""
    from arbbot.execution import recover
    from arbbot.venues.common.model import Venue

    store = OrderStore(tmp_path / "o.db")
    if store.intents("x1"):                         # the store of an earlier recovery, reopened
        coid = store.intents("x1")[0].client_order_id
    else:
        store.create_execution("x1", two_leg_opportunity("opp-x1"))
        coid = store.add_intent("x1", 0, "entry", 0, venue="kalshi", market="kalshi:A", market_id="A", side="yes",
                                action="buy", qty=1_000, price=4_200, tif="ioc")
        store.set_intent_state(coid, "placed")
    answers = list(lookups)

    class Venue_:
        venue = Venue.KALSHI.label
        cancels = 0

        async def orders(self, **_):
            return [dataclasses.replace(o, client_order_id=coid) for o in venue_records]

        async def fills(self, **_):
            return []

        async def order(self, _order_id):
            return answers.pop(0) if len(answers) > 1 else answers[0]

        async def cancel_order(self, order_id):
            Venue_.cancels += 1
            if isinstance(cancel, Exception):
                raise cancel
            return cancel

    rep = asyncio.run(recover(store, {"kalshi": Venue_()}))
    return rep, store, coid


def _order(status, filled, *, order_id="o1"):
    from arbbot.venues.common.model import Action, Order, Side, Venue
    return Order(Venue.KALSHI, order_id, "", "A", Side.YES, Action.BUY, 4_200, 1_000, filled, 1_000 - filled, status,
                 40 * filled, 4_200 * filled)


def test_recovery_settles_a_resting_order_whose_cancel_was_refused(tmp_path):
    """The venue lists leg 0's IOC as resting with nothing filled; the cancel is refused because
    it matched meanwhile. Before: recorded 'placed' with 0 lots, the execution `aborted`, no safe
    mode (and never looked at again) while 10 contracts were held. Now: looked up until settled,
    1,000 lots recorded, the execution naked (leg 1 never went), safe mode."""
    from arbbot.venues.common.errors import NotFound
    rep, store, coid = _recovery_case(
        tmp_path, [_order(OrderStatus.RESTING, 0)], lookups=[_order(OrderStatus.FILLED, 1_000)],
        cancel=NotFound("cancel o1: already matched", venue="kalshi"))
    assert rep.executions == {"x1": "naked"} and rep.unsettled == []
    assert (store.intent(coid).state, store.intent(coid).filled_qty) == ("filled", 1_000) and store.safe_mode()
    store.close()


def test_recovery_records_the_order_as_looked_up_not_the_cancels_reply(tmp_path):
    """A restarted adapter answers a cancel with nothing filled (Polymarket's cache of what it
    placed is empty), though 400 of the 1,000 lots matched. Before: that reply was recorded (0
    lots) and the execution aborted. Now the order is read again after the cancel: 400 lots."""
    rep, store, coid = _recovery_case(
        tmp_path, [_order(OrderStatus.RESTING, 400)], lookups=[_order(OrderStatus.CANCELED, 400)],
        cancel=_order(OrderStatus.CANCELED, 0))
    assert rep.executions == {"x1": "naked"} and store.intent(coid).filled_qty == 400
    store.close()


def test_recovery_leaves_an_execution_open_while_its_order_is_still_pending(tmp_path, monkeypatch):
    """The venue shows the order pending (it may still fill) for longer than recovery waits.
    Before: adopted as 'placed' with 0 lots and the execution ended `aborted`, so a later fill
    landed on a finished execution. Now the execution stays open, in safe mode naming the order;
    the next recovery, once the venue shows it filled, ends it naked."""
    from arbbot.execution import recovery
    monkeypatch.setattr(recovery, "SETTLE_GIVE_UP_S", 0.3)
    pending = _order(OrderStatus.PENDING, 0)
    rep, store, coid = _recovery_case(tmp_path, [pending], lookups=[pending])
    assert (rep.executions, rep.unsettled, store.execution("x1").state) == ({}, [coid], "executing")
    assert coid in store.safe_mode()
    store.acknowledge()                          # an operator acks; the execution is still open
    store.close()
    filled = _order(OrderStatus.FILLED, 1_000)
    rep, store, coid = _recovery_case(tmp_path, [filled], lookups=[filled])     # the next start
    assert rep.executions == {"x1": "naked"} and store.intent(coid).filled_qty == 1_000
    store.close()


def test_recovery_takes_the_most_settled_of_an_orders_records(tmp_path):
    """IB lists one order twice: its completed record (filled 1,000) and a stale one (canceled,
    0). Before, recovery kept whichever came last (0 lots: aborted); now the most settled, most
    filled one."""
    rep, store, coid = _recovery_case(
        tmp_path, [_order(OrderStatus.FILLED, 1_000), _order(OrderStatus.CANCELED, 0)],
        lookups=[_order(OrderStatus.FILLED, 1_000)])
    assert rep.executions == {"x1": "naked"} and store.intent(coid).filled_qty == 1_000
    store.close()


def test_the_running_bot_decides_an_execution_recovery_left_open(tmp_path, monkeypatch):
    """As above, but the bot keeps running after the operator's ack. Before (crash-recovery review,
    session 33), the execution stayed open until the next start: its leg counted in no exposure
    while the bot traded again. Now the trader's reconciliation first decides executions left open
    (`recover_left_open`): the venue shows the order filled, leg 1 never went: naked, safe mode."""
    from types import SimpleNamespace

    from arbbot.execution import recovery
    monkeypatch.setattr(recovery, "SETTLE_GIVE_UP_S", 0.3)
    pending = _order(OrderStatus.PENDING, 0)
    _rep, store, coid = _recovery_case(tmp_path, [pending], lookups=[pending])
    assert store.execution("x1").state == "executing"
    filled = dataclasses.replace(_order(OrderStatus.FILLED, 1_000), client_order_id=coid)

    class Venue_:
        venue = "kalshi"

        async def orders(self, **_):
            return [filled]

        async def fills(self, **_):
            return []

        async def order(self, _order_id):
            return filled

    from arbbot.risk.limits import ExposureLimits
    exposure = ExposureLimits(per_venue=10**12)
    trader = PaperTrader(SimpleNamespace(routes={}), RiskGates(exposure=exposure), {"kalshi": Venue_()}, store)
    assert exposure.venue == {}                                   # open: in no count
    assert asyncio.run(trader.recover_left_open()) == {}          # in safe mode nothing trades: not yet
    store.acknowledge()                                           # the operator lets trading resume
    assert store.safe_mode() is None
    states = asyncio.run(trader.recover_left_open())
    assert states == {"x1": "naked"} and store.execution("x1").state == "naked"
    assert exposure.venue == {"kalshi": 4_200 * 1_000 + 40_000}    # 10 YES A at 42¢ + its $0.04 fee, held now
    assert store.intent(coid).filled_qty == 1_000 and "x1" in store.safe_mode()
    assert asyncio.run(trader.recover_left_open()) == {}          # nothing open any more
    store.close()
