"""Durable risk: the daily loss (fees included, never netted against profits) and the circuit
breaker live in the order store, survive restarts and crash recovery, and `arbbot status` shows
them from another process. Real values in µ$; clocks injected."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import types

from arbbot.cli import main
from arbbot.config import load_settings
from arbbot.execution import Executor, OrderStore, Route, recover
from arbbot.ops import status as status_mod
from arbbot.risk import BreakerState, CircuitBreaker, DailyLossCap, RiskGates
from arbbot.run.trader import PaperTrader
from arbbot.venues.common.model import Action, Fill, Order, OrderStatus, Side, Venue
from tests.risk.trades import Clock, complete_profitable, fill, two_leg_opportunity, unwound_losing_3_25, utc_s


def status_json(capsys, monkeypatch, db, now_s: float) -> dict:
    """`arbbot status --db DB --json` in this process, its wall clock pinned at `now_s`."""
    monkeypatch.setattr(status_mod, "time", types.SimpleNamespace(time=lambda: now_s))
    capsys.readouterr()
    assert main(["status", "--db", str(db), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


def status_in_new_process(db, cwd) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    res = subprocess.run([sys.executable, "-m", "arbbot.cli", "status", "--db", str(db), "--json"], cwd=cwd,
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


class VenueRecord:
    """What the venue knows after our crash: its orders and fills (the reads recovery makes)."""
    def __init__(self, orders, fills) -> None:
        self._orders, self._fills = list(orders), list(fills)

    async def orders(self):
        return list(self._orders)

    async def fills(self):
        return list(self._fills)


def crash_with_leg_0_filled(store, xid: str = "n1") -> VenueRecord:
    """Execution `xid`: the intent for leg 0 (500 lots YES A at 50¢) is written, then the process
    dies before the answer. The venue filled it: $2.50 + $0.02 fee. Leg 1 was never sent."""
    store.create_execution(xid, two_leg_opportunity(f"opp-{xid}", qty=500))
    coid = store.add_intent(xid, 0, "entry", 0, venue="kalshi", market="kalshi:A", market_id="A", side="yes",
                            action="buy", qty=500, price=5_000, tif="ioc")
    store.close()
    order = Order(Venue.KALSHI, "o-n1", coid, "A", Side.YES, Action.BUY, 5_000, 500, 500, 0, OrderStatus.FILLED,
                  20_000, 2_500_000)
    return VenueRecord([order], [Fill(Venue.KALSHI, "f-n1", "o-n1", "A", Side.YES, Action.BUY, 5_000, 500, 20_000,
                                      True, 0)])


def test_losses_and_fees_survive_restart_and_recovery_and_the_cap_binds(in_tmp, capsys, monkeypatch):
    db = in_tmp / "o.db"
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(db, clock_ms=clock.ms)
    cap = DailyLossCap(5_000_000, store, clock=clock)                       # $5.00 a day
    unwound_losing_3_25(store)
    assert store.cash_flow("u1") == -3_250_000 and store.realised_loss("u1") == 3_250_000
    assert (cap.loss, cap.fees, cap.realised, cap.reason()) == (3_250_000, 70_000, -3_250_000, None)
    clock.t += 60
    complete_profitable(store)                                             # locks in $0.71: not netted
    assert store.realised_loss("c1") == 0
    assert (cap.loss, cap.fees, cap.reason()) == (3_250_000, 160_000, None)
    clock.t += 60
    venue = crash_with_leg_0_filled(store)                                 # process dies mid-execution

    clock.t += 60                                                          # restart: recovery ends it
    store = OrderStore(db, clock_ms=clock.ms)
    assert DailyLossCap(5_000_000, store, clock=clock).loss == 3_250_000   # n1 still open: no loss yet
    rep = asyncio.run(recover(store, {"kalshi": venue}))
    assert rep.executions == {"n1": "naked"} and rep.fills_added == 1 and store.safe_mode()
    assert store.cash_flow("n1") == -2_520_000 and store.realised_loss("n1") == 2_520_000
    cap = DailyLossCap(5_000_000, store, clock=clock)
    assert (cap.loss, cap.fees) == (3_250_000 + 2_520_000, 70_000 + 90_000 + 20_000)
    assert cap.reason() == "daily loss cap: realised loss 5770000 µ$ ≥ 5000000 µ$ today (day starts 00:00 UTC)"
    gates = RiskGates(loss=cap)
    assert gates.check(two_leg_opportunity("next")) == [cap.reason()]
    expected = {"format": "arbbot.status/1", "safe_mode": True, "halted": False, "daily_loss_usd": "5.770000",
                "daily_fees_usd": "0.180000", "open_executions": 0, "breaker": "closed", "drawdown_tier": "normal",
                "equity_peak_usd": "0.000000", "fee_held_markets": [], "trading_mode": "venue"}
    assert status_json(capsys, monkeypatch, db, clock.t) == expected
    store.close()

    clock.t += 3_600                                                       # another restart, same day
    store = OrderStore(db, clock_ms=clock.ms)
    assert status_json(capsys, monkeypatch, db, clock.t) == expected
    cap = DailyLossCap(5_000_000, store, clock=clock)
    assert cap.loss == 5_770_000 and RiskGates(loss=cap).check(two_leg_opportunity("next"))[0].startswith(
        "daily loss cap")
    (in_tmp / "arbbot.kill").write_text("operator halt\n")                 # `arbbot halt` in this directory
    assert status_json(capsys, monkeypatch, db, clock.t)["halted"] is True
    clock.t = utc_s("2026-03-11 00:00:00")                                 # next UTC day: a fresh budget
    assert (cap.loss, cap.fees, cap.reason()) == (0, 0, None)
    assert status_json(capsys, monkeypatch, db, clock.t)["daily_loss_usd"] == "0.000000"
    store.close()


def test_the_day_starts_at_day_start_utc(in_tmp):
    clock = Clock(utc_s("2026-03-10 06:29:00"))
    store = OrderStore(in_tmp / "o.db", clock_ms=clock.ms)
    cap = DailyLossCap(3_000_000, store, day_start_utc="06:30", clock=clock)
    assert cap.day() == (int(utc_s("2026-03-09 06:30:00")) * 1000, int(utc_s("2026-03-10 06:30:00")) * 1000)
    unwound_losing_3_25(store, "u1")                                       # booked at 06:29:00
    assert cap.loss == 3_250_000 and cap.reason().startswith("daily loss cap: realised loss 3250000 µ$")
    clock.t = utc_s("2026-03-10 06:29:59") + 0.999
    assert cap.loss == 3_250_000 and cap.reason() is not None
    clock.t = utc_s("2026-03-10 06:30:00")                                 # the new risk day
    assert (cap.loss, cap.fees, cap.reason()) == (0, 0, None)
    assert cap.day() == (int(utc_s("2026-03-10 06:30:00")) * 1000, int(utc_s("2026-03-11 06:30:00")) * 1000)
    clock.t = utc_s("2026-03-10 06:45:00")
    unwound_losing_3_25(store, "u2")
    assert (cap.loss, cap.fees) == (3_250_000, 70_000) and cap.reason() is not None
    # the same store seen with a midnight day start: both losses fall in 2026-03-10
    midnight = DailyLossCap(3_000_000, store, clock=clock)
    assert (midnight.loss, midnight.fees) == (6_500_000, 140_000)
    st = status_mod.collect(store, load_settings(day_start_utc="06:30"), now_s=clock.t)
    assert st.to_json()["daily_loss_usd"] == "3.250000" and st.to_json()["daily_fees_usd"] == "0.070000"
    st = status_mod.collect(store, load_settings(), now_s=clock.t)
    assert st.to_json()["daily_loss_usd"] == "6.500000" and st.to_json()["daily_fees_usd"] == "0.140000"


def test_fees_count_every_fill_recorded_today_whatever_the_state(in_tmp):
    clock = Clock(utc_s("2026-03-09 23:59:00"))
    store = OrderStore(in_tmp / "o.db", clock_ms=clock.ms)
    complete_profitable(store, "yesterday")                                # $0.09 fees on 2026-03-09
    clock.t = utc_s("2026-03-10 08:00:00")
    complete_profitable(store, "c1")                                       # $0.09, complete
    unwound_losing_3_25(store, "u1")                                       # $0.07, unwound
    store.create_execution("open", two_leg_opportunity("opp-open", qty=100))
    fill(store, "open", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=100, price=4_200,
         fee=5_000)                                                        # $0.005, still executing
    start, end = DailyLossCap(1, store, clock=clock).day()
    assert store.daily_fees(start, end) == 90_000 + 70_000 + 5_000
    assert store.daily_fees(start - 86_400_000, start) == 90_000
    assert store.daily_loss(start, end) == 3_250_000 and store.count_executions() == 1


def test_the_ledger_follows_late_fills_and_a_hedged_naked_execution(in_tmp):
    clock = Clock(utc_s("2026-03-10 12:00:00"))
    store = OrderStore(in_tmp / "o.db", clock_ms=clock.ms)
    cap = DailyLossCap(50_000_000, store, clock=clock)
    store.create_execution("n1", two_leg_opportunity("opp-n1"))
    fill(store, "n1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    assert cap.loss == 0                                                   # open: nothing booked
    store.set_execution_state("n1", "naked", "leg 1 rejected; unwind failed")
    assert cap.loss == 4_240_000
    # an operator hedges it later: leg 1 fills and the execution is complete: the loss is reversed
    fill(store, "n1", 1, "entry", venue="polymarket", market_id="B", side="no", action="buy", qty=1_000,
         price=5_000, fee=50_000)
    assert store.realised_loss("n1") == 9_290_000                         # still naked: more paid
    store.set_execution_state("n1", "complete", "hedged by operator")
    assert store.realised_loss("n1") == 0 and cap.loss == 0
    # fills the venue reports after an execution ended unwound: the unwind sold 1,000 lots at 40¢
    # but only the first 600 were in the venue's fill list when it ended. The other 400 count at
    # the order-level amounts the venue answered (the sale at its 40¢ limit, the rest of its fee)
    # from the start: the loss binds the cap at once, and the fills listed later book nothing twice
    store.create_execution("u1", two_leg_opportunity("opp-u1"))
    fill(store, "u1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    coid = store.add_intent("u1", 0, "unwind", 0, venue="kalshi", market="kalshi:A", market_id="A", side="yes",
                            action="sell", qty=1_000, price=4_000, tif="ioc")
    order = Order(Venue.KALSHI, "o-u1", coid, "A", Side.YES, Action.SELL, 4_000, 1_000, 1_000, 0, OrderStatus.FILLED,
                  30_000, 4_000_000)
    first = Fill(Venue.KALSHI, "f-u1-a", "o-u1", "A", Side.YES, Action.SELL, 4_000, 600, 18_000, True, 0)
    store.record_order(coid, order, [first])
    store.set_execution_state("u1", "unwound")
    assert cap.loss == 4_240_000 - 4_000_000 + 30_000 == 270_000
    rest = Fill(Venue.KALSHI, "f-u1-b", "o-u1", "A", Side.YES, Action.SELL, 4_000, 400, 12_000, True, 0)
    assert store.record_fills(coid, [rest, first]) == 1                   # idempotent by fill id
    assert store.realised_loss("u1") == 270_000 and cap.loss == 270_000
    rows = store._db.execute("SELECT execution_id, state, loss, total FROM realised_losses ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows] == [("n1", "naked", 4_240_000, 4_240_000), ("n1", "naked", 5_050_000, 9_290_000),
                                        ("n1", "complete", -9_290_000, 0), ("u1", "unwound", 270_000, 270_000)]


def test_breaker_state_is_persisted_and_restored(in_tmp, capsys, monkeypatch):
    db = in_tmp / "o.db"
    wall, mono = Clock(utc_s("2026-03-10 09:00:00")), Clock(1_000.0)
    store = OrderStore(db, clock_ms=wall.ms)
    b = CircuitBreaker(3, 30, persistence=store, clock=mono, wall=wall)
    b.record_failure(); b.record_failure()
    row = store.breaker_state()
    assert (row.state, row.failures, row.opened_at_ms, row.cooldown_ms) == ("closed", 2, 0, 30_000)
    b.record_failure()
    row = store.breaker_state()
    assert (row.state, row.failures, row.opened_at_ms) == ("open", 3, wall.ms())
    assert status_json(capsys, monkeypatch, db, wall.t + 29.999)["breaker"] == "open"
    assert status_json(capsys, monkeypatch, db, wall.t + 30)["breaker"] == "half_open"
    store.close()

    wall.t += 10                                                           # restart 10 s later
    mono2 = Clock(5.0)                                                     # a new process's monotonic clock
    store = OrderStore(db, clock_ms=wall.ms)
    b = CircuitBreaker(3, 30, persistence=store, clock=mono2, wall=wall)
    assert b.state is BreakerState.OPEN and b.failures == 3 and not b.allow()
    mono2.t += 19.9
    assert b.state is BreakerState.OPEN
    mono2.t += 0.1                                                         # 30 s after it opened
    assert b.state is BreakerState.HALF_OPEN and store.breaker_state().state == "half_open"
    assert b.allow() and not b.allow()
    b.record_success()
    row = store.breaker_state()
    assert (row.state, row.failures) == ("closed", 0) and b.state is BreakerState.CLOSED
    writes = store._db.execute("SELECT COUNT(*) FROM events WHERE kind='breaker'").fetchone()[0]
    b.record_success()                                                     # no change, no write
    assert store._db.execute("SELECT COUNT(*) FROM events WHERE kind='breaker'").fetchone()[0] == writes
    assert CircuitBreaker(3, 30).state is BreakerState.CLOSED             # the old constructor still works


class BrokenVenue:
    """An adapter with a bug: reading a book raises something that is not a VenueError; its
    account reads work (nothing was ever placed)."""
    venue = "kalshi"

    async def fetch_book(self, market_id):
        raise RuntimeError(f"adapter bug reading {market_id}")

    async def orders(self, **filters):
        return []

    async def fills(self, **filters):
        return []


def test_an_execution_exception_feeds_the_breaker_and_status_sees_it_open(in_tmp):
    """An unexpected error inside an execution is reconciled by the executor (nothing filled:
    aborted, reason "error: …") and counts as a failure: the breaker opens after 2 and another
    process reads it open from the store."""
    db = in_tmp / "o.db"
    store = OrderStore(db)
    gates = RiskGates(breaker=CircuitBreaker(2, 300, persistence=store))
    broken = BrokenVenue()
    executor = Executor(store, {"kalshi:A": Route(broken, "A"), "polymarket:B": Route(broken, "B")})
    trader = PaperTrader(executor, gates, {"kalshi": broken, "polymarket": broken}, store)
    trader.cash = {"kalshi": 10**12, "polymarket": 10**12}

    async def offer_twice():
        for n in range(2):
            trader.offer(two_leg_opportunity(f"opp{n}"))
            await trader.drain()
    asyncio.run(offer_twice())
    assert trader.stats.executions["aborted"] == 2
    assert [x.reason for x in store.executions()] == ["error: RuntimeError: adapter bug reading A: flat"] * 2
    assert gates.breaker.state is BreakerState.OPEN and gates.breaker.failures == 2
    assert store.safe_mode() is None                      # nothing was held: no reason to stop
    trader.offer(two_leg_opportunity("opp3"))                              # refused by the gate
    assert trader.stats.skipped["circuit breaker"] == 1
    assert status_in_new_process(db, in_tmp)["breaker"] == "open"
    store.close()


def test_status_without_json_is_a_table(in_tmp, capsys, monkeypatch):
    db = in_tmp / "o.db"
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(db, clock_ms=clock.ms)
    unwound_losing_3_25(store)
    store.close()
    monkeypatch.setattr(status_mod, "time", types.SimpleNamespace(time=lambda: clock.t))
    assert main(["status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "$3.250000 of $50.000000 cap" in out and "$0.070000" in out
    assert "2026-03-10 00:00 UTC → 2026-03-11 00:00 UTC" in out and "closed" in out


def test_status_refuses_a_missing_store_without_creating_it(in_tmp, capsys):
    db = in_tmp / "nowhere.db"
    assert main(["status", "--db", str(db), "--json"]) == 2
    assert capsys.readouterr().err == f"arbbot status: no order store at {db}\n"
    assert not db.exists() and not (in_tmp / "nowhere.db-wal").exists()
    (in_tmp / "arbbot.toml").write_text('day_start_utc = "25:00"\n')
    assert main(["status", "--db", str(db)]) == 2
    assert "day_start_utc" in capsys.readouterr().err


def test_a_wall_clock_stepped_back_across_the_day_start_keeps_the_days_loss(tmp_path):
    """A $3.25 loss booked 30 s into the risk day, then the clock steps back 40 s (an NTP
    correction): the previous day's window ended before the loss was stamped. Before, the gate read
    [day start, day end) and saw no loss until the clock caught up (the sizer's step 10, reading
    from the day start with no end, still saw it); now both count it."""
    from arbbot.sizing.portfolio import day_start_ms
    from tests.risk.trades import Clock, unwound_losing_3_25, utc_s
    clock = Clock(utc_s("2026-03-10 00:00:30"))
    store = OrderStore(str(tmp_path / "o.db"), clock_ms=clock.ms)
    cap = DailyLossCap(3_000_000, store, clock=clock)
    unwound_losing_3_25(store, "u1")
    assert cap.loss == 3_250_000 and cap.reason() is not None
    clock.t = utc_s("2026-03-09 23:59:50")
    assert cap.loss == 3_250_000 == store.daily_loss(day_start_ms(clock.ms(), "00:00"))
    assert cap.reason().startswith("daily loss cap: realised loss 3250000 µ$ ≥ 3000000 µ$")
    store.close()


def test_an_unwound_execution_holding_dust_books_the_lots_it_sold_not_those_it_holds(tmp_path):
    """Bought 1,000 lots YES A at 42¢ (+$0.04 fee), sold 900 back at 10.2¢ (−$0.03 fee), 100 held
    as dust under the venue's minimum: cash flow −$3.352. The 100 lots held cost $0.424 (their
    share of the entry, fee included) and count as held exposure, so the loss booked is what the
    900 sold lost: $2.928. Before, the whole −$3.352 was booked and the $0.424 also counted as held:
    twice against the rooms. Without dust the loss is the whole cash flow, as before."""
    clock = Clock(utc_s("2026-03-10 10:00:00"))
    store = OrderStore(str(tmp_path / "o.db"), clock_ms=clock.ms)
    store.create_execution("u1", two_leg_opportunity("opp-u1"))
    fill(store, "u1", 0, "entry", venue="kalshi", market_id="A", side="yes", action="buy", qty=1_000, price=4_200,
         fee=40_000)
    fill(store, "u1", 0, "unwind", venue="kalshi", market_id="A", side="yes", action="sell", qty=900, price=1_020,
         fee=30_000)
    store.hold_dust("u1", 0, 100)
    store.set_execution_state("u1", "unwound", "leg 1 rejected")
    assert store.cash_flow("u1") == -3_352_000
    assert [(m, cost) for m, cost, _fee in store.held_at_cost(("unwound",), "u1")] == [("kalshi:A", 420_000)]
    assert store.realised_loss("u1") == 3_352_000 - 424_000 == 2_928_000
    unwound_losing_3_25(store, "u2")                        # nothing held: the whole cash flow
    assert store.realised_loss("u2") == 3_250_000
    assert store.daily_loss(int(utc_s("2026-03-10 00:00:00")) * 1000) == 2_928_000 + 3_250_000
    store.close()
