"""ForecastEx simulator fidelity: cash reserved by resting orders, DAY orders expiring at the end
of the trading day, and the $0.02–$0.99 price range for the house quotes as for ours.

Units: engine money in µ$, prices in ticks ($0.0001), quantities in lots (0.01 contract); IB's
own (dollars, whole contracts) at the TWS wire.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from ib_async import IB, Contract, LimitOrder

from arbbot.sim.engine.matching import FULL, HOUSE, Exchange, FeeModel, MarketState, SimReject
from arbbot.sim.forecastex import start_tws
from arbbot.sim.forecastex.backend import DAY_EXPIRED, ForecastExBackend, day_end_ms
from arbbot.sim.scenarios import build
from tests.sim.venue_envs import ManualClock, until
from tests.fx_day import SIM_START_MS, MID, LOW

YES, NO = 713900002, 713900003                  # MID's contracts
LOW_YES = 713900004
ACCT = "DU000001"
TEN_DOLLARS, TWENTY_DOLLARS = 10_000_000, 20_000_000   # µ$
FUNDS = "Order rejected - reason:insufficient funds: insufficient balance"
# 2026-03-10 (US daylight time since 2026-03-08): 16:00 CDT = 21:00 UTC; 2026-01-13: 16:00 CST = 22:00 UTC
DAY_END_CDT = int(datetime(2026, 3, 10, 21, tzinfo=timezone.utc).timestamp() * 1000)
DAY_END_CST = int(datetime(2026, 1, 13, 22, tzinfo=timezone.utc).timestamp() * 1000)
DAY_MS = 86_400_000


def run(coro, limit: float = 30.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


def backend(balance_micros: int = TEN_DOLLARS, clock=lambda: DAY_END_CDT - 3_600_000) -> ForecastExBackend:
    return ForecastExBackend(build("forecastex", 1), 1, balance_micros=balance_micros, clock_ms=clock)


def held(b: ForecastExBackend) -> int:
    return b.exchange.accounts[ACCT].held


@contextlib.asynccontextmanager
async def tws_client(client_id: int, **kw):
    """A TwsSim on the forecastex scenario (seed 1, no stepping) and an unchanged ib_async IB on it."""
    sim = await start_tws("forecastex", 1, step_interval=None, **kw)
    ib = IB()
    try:
        await ib.connectAsync("127.0.0.1", sim.port, clientId=client_id, timeout=10)
        yield sim, ib
    finally:
        ib.disconnect()
        await sim.stop()


def _contract(con_id: int) -> Contract:
    return Contract(conId=con_id, exchange="FORECASTX")


# ---- 1. resting orders reserve their cost -----------------------------------------------------
def test_resting_buys_reserve_their_cost_and_an_order_beyond_the_unreserved_cash_is_refused():
    b = backend(TWENTY_DOLLARS)
    # MID: YES bid 0.37 / ask 0.41, NO bid 0.59 / ask 0.63 (house); ours at the top, not crossing:
    # YES 0.39 + NO 0.60 < $1
    y, code = b.place(YES, "BUY", 20, Decimal("0.39"), "GTC")
    assert (code, y.status) == (0, "Submitted")
    assert (b.cash_micros(), held(b), b.available_micros()) == (TWENTY_DOLLARS, 7_800_000, 12_200_000)
    # 21 × 0.60 = $12.60: alone payable, beside the resting $7.80 not (IB refuses it)
    n, code = b.place(NO, "BUY", 21, Decimal("0.60"), "GTC")
    assert (code, n.status, n.reason) == (201, "Inactive", "insufficient funds: insufficient balance")
    assert held(b) == 7_800_000
    # what is left is spendable: 20 × 0.60 = $12.00 rests
    n, code = b.place(NO, "BUY", 20, Decimal("0.60"), "GTC")
    assert (code, n.status, held(b), b.available_micros()) == (0, "Submitted", 19_800_000, 200_000)
    # another trader fills 5 of the YES bid: $1.95 paid from cash, released from the reservation
    b.exchange.place(HOUSE, MID, "no", "buy", FULL - 3900, 500, "ioc")
    assert b.refresh(y).filled == 5
    assert (b.cash_micros(), held(b), b.available_micros()) == (18_050_000, 17_850_000, 200_000)
    # a cancel releases the rest of it ($5.85)
    b.cancel(y.perm_id)
    assert (b.cash_micros(), held(b), b.available_micros()) == (18_050_000, 12_000_000, 6_050_000)
    assert b.place(YES, "BUY", 15, Decimal("0.39"), "GTC")[1] == 0        # $5.85 ≤ $6.05
    assert held(b) == 17_850_000


def test_day_expiry_and_settlement_release_reservations():
    clock = ManualClock(DAY_END_CDT - 60_000)
    b = backend(clock=clock)
    d, _ = b.place(YES, "BUY", 10, Decimal("0.30"), "DAY")
    assert held(b) == 3_000_000
    clock.ms = DAY_END_CDT
    assert b.expire_day_orders() == [d] and held(b) == 0
    b.place(NO, "BUY", 10, Decimal("0.30"), "GTC")
    b.exchange.settle(MID, FULL)
    assert held(b) == 0 and b.cash_micros() == TEN_DOLLARS


def test_engine_reserves_maker_fee_and_nets_pairs_false_sells_reserve_no_cash():
    """Kalshi (nets pairs; maker fees on quadratic_with_maker_fees series) and Polymarket (tokens:
    a sale is paid, it spends no cash) on the shared engine."""
    ex = Exchange(lambda: 1_000)
    ex.add_market(MarketState("K", FeeModel(70_000, 17_500, 10_000)))
    ex.account("u", 5_000_000)
    o, _ = ex.place("u", "K", "yes", "buy", 3000, 1000, "gtc")
    # 10 × $0.30 + maker fee 0.0175 × 10 × 0.3 × 0.7 = $0.03675, rounded up to the cent: $0.04
    assert (o.status, o.held, ex.accounts["u"].held) == ("resting", 3_040_000, 3_040_000)
    with pytest.raises(SimReject) as e:              # $3.00 + $0.15 taker fee > $5.00 − $3.04
        ex.place("u", "K", "no", "buy", 3000, 1000, "gtc")
    assert (e.value.code, str(e.value)) == ("insufficient_balance", "insufficient balance")
    ex.place(HOUSE, "K", "no", "buy", 7000, 400, "ioc")            # 4 of 10 filled as maker
    # 6 left: $1.80 + rounded(0.0175 × (10 × 0.21)) − $0.02 charged = $1.80 + $0.02
    assert (o.maker_fee, o.held, ex.accounts["u"].held) == (20_000, 1_820_000, 1_820_000)
    assert ex.accounts["u"].balance == 5_000_000 - 1_200_000 - 20_000
    ex.cancel("u", o.order_id)
    assert ex.accounts["u"].held == 0

    poly = Exchange(lambda: 1_000, nets_pairs=False)
    poly.add_market(MarketState("P", FeeModel(30_000, 0, 10), lot=1))      # lots of 0.01 share
    u = poly.account("u", TEN_DOLLARS)
    poly.place(HOUSE, "P", "no", "buy", 5000, 300)
    poly.place("u", "P", "yes", "buy", 5000, 300, "ioc")           # holds 3 YES tokens
    s, _ = poly.place("u", "P", "yes", "sell", 9000, 300, "gtc")   # rests: a sale spends no cash
    assert (s.status, s.held, u.held) == ("resting", 0, 0)
    b, _ = poly.place("u", "P", "no", "buy", 2000, 1000, "gtc")    # 10 NO at $0.20 (no maker fee)
    assert (b.held, u.held) == (2_000_000, 2_000_000)
    left = u.balance - u.held
    with pytest.raises(SimReject, match="insufficient balance"):
        poly.place("u", "P", "no", "buy", 2000, left // 2000 + 1, "gtc")


def test_wire_refuses_an_order_beyond_the_unreserved_cash_with_201_and_reports_available_funds():
    async def main():
        async with tws_client(41, balance_micros=TEN_DOLLARS) as (sim, ib):
            errors: list[tuple[int, int, str]] = []
            ib.errorEvent += lambda req, code, msg, con: errors.append((req, code, msg))
            rest = ib.placeOrder(_contract(YES), LimitOrder("BUY", 20, 0.30, tif="GTC"))
            await until(lambda: rest.orderStatus.status == "Submitted")
            summary = {v.tag: v.value for v in await ib.accountSummaryAsync()}
            assert (summary["TotalCashValue"], summary["AvailableFunds"], summary["BuyingPower"]) == \
                ("10.000000", "4.000000", "4.000000")
            refused = ib.placeOrder(_contract(NO), LimitOrder("BUY", 20, 0.30, tif="GTC"))
            await until(lambda: refused.orderStatus.status == "Inactive")
            assert errors == [(refused.order.orderId, 201, FUNDS)]
            assert rest.orderStatus.status == "Submitted" and held(sim.backend) == 6_000_000
            ib.cancelOrder(rest.order)
            await until(lambda: rest.orderStatus.status == "Cancelled")
            await until(lambda: {v.tag: v.value for v in ib.accountValues() if v.currency == "USD"}
                        .get("AvailableFunds") == "10.000000")
            again = ib.placeOrder(_contract(NO), LimitOrder("BUY", 20, 0.30, tif="GTC"))
            await until(lambda: again.orderStatus.status == "Submitted")
    run(main())


# ---- 2. DAY orders expire at the end of the trading day ---------------------------------------
@pytest.mark.parametrize("ts_ms,end_ms", [
    (DAY_END_CDT - 1, DAY_END_CDT),                          # 15:59:59.999 CDT → 16:00 that day
    (DAY_END_CDT, DAY_END_CDT + DAY_MS),                     # 16:00 CDT sharp: the next day's end
    (DAY_END_CDT - 20 * 3_600_000, DAY_END_CDT),             # 20:00 CDT the day before → 16:00 next day
    (DAY_END_CST - 1, DAY_END_CST),                          # winter: 16:00 CST = 22:00 UTC
    (int(datetime(2026, 3, 7, 23, tzinfo=timezone.utc).timestamp() * 1000),   # Sat 17:00 CST, before
     int(datetime(2026, 3, 8, 21, tzinfo=timezone.utc).timestamp() * 1000)),  # the switch: Sun 16:00 CDT
])
def test_day_end_is_the_next_1600_us_central(ts_ms, end_ms):
    assert day_end_ms(ts_ms) == end_ms


def test_day_order_is_cancelled_at_the_end_of_the_trading_day_and_gtc_stays():
    clock = ManualClock(DAY_END_CDT - 60_000)
    b = backend(clock=clock)
    d, _ = b.place(YES, "BUY", 2, Decimal("0.30"), "DAY")
    g, _ = b.place(NO, "BUY", 2, Decimal("0.30"), "GTC")
    clock.ms = DAY_END_CDT - 1
    assert b.expire_day_orders() == [] and b.refresh(d).status == "Submitted"
    clock.ms = DAY_END_CDT
    assert b.expire_day_orders() == [d]
    assert (d.status, d.reason, d.done_ms) == ("Cancelled", DAY_EXPIRED, DAY_END_CDT)
    assert b.refresh(g).status == "Submitted"
    assert b.exchange.markets[MID].levels("yes").get(3000) is None
    # a DAY order placed at the day's end lives until the next one
    n, _ = b.place(YES, "BUY", 1, Decimal("0.30"), "DAY")
    clock.ms = DAY_END_CDT + DAY_MS - 1
    assert b.expire_day_orders() == [] and b.refresh(n).status == "Submitted"
    clock.ms = DAY_END_CDT + DAY_MS
    assert b.expire_day_orders() == [n]


def test_filled_day_order_is_not_expired():
    clock = ManualClock(DAY_END_CDT - 60_000)
    b = backend(clock=clock)
    d, _ = b.place(YES, "BUY", 2, Decimal("0.39"), "DAY")          # the best YES bid
    b.exchange.place(HOUSE, MID, "no", "buy", FULL - 3900, 200, "ioc")
    clock.ms = DAY_END_CDT
    assert b.expire_day_orders() == [] and (b.refresh(d).status, d.filled) == ("Filled", 2)


def test_wire_day_order_cancelled_at_day_end_on_the_next_request_or_step():
    async def main():
        clock = ManualClock(DAY_END_CDT - 60_000)
        async with tws_client(42, start_ms=SIM_START_MS, clock_ms=clock) as (sim, ib):
            day = ib.placeOrder(_contract(YES), LimitOrder("BUY", 2, 0.30, tif="DAY"))
            day2 = ib.placeOrder(_contract(NO), LimitOrder("BUY", 2, 0.30, tif="DAY"))
            gtc = ib.placeOrder(_contract(NO), LimitOrder("BUY", 2, 0.31, tif="GTC"))
            await until(lambda: [t.orderStatus.status for t in (day, day2, gtc)] == ["Submitted"] * 3)
            clock.ms = DAY_END_CDT
            await ib.reqCurrentTimeAsync()                   # any request: TWS acts on its clock first
            await until(lambda: day.orderStatus.status == day2.orderStatus.status == "Cancelled")
            assert gtc.orderStatus.status == "Submitted"
            late = ib.placeOrder(_contract(YES), LimitOrder("BUY", 1, 0.30, tif="DAY"))
            await until(lambda: late.orderStatus.status == "Submitted")
            clock.ms = DAY_END_CDT + DAY_MS
            sim.step()                                       # the price process's step, no request
            await until(lambda: late.orderStatus.status == "Cancelled")
            done = {t.order.permId: t.orderStatus.status for t in await ib.reqCompletedOrdersAsync(False)}
            assert done == {day.order.permId: "Cancelled", day2.order.permId: "Cancelled",
                            late.order.permId: "Cancelled"}
    run(main())


def test_wire_day_order_cancelled_on_the_wall_clock_without_any_request():
    """The TWS's own timer: a served simulator without a price step still expires DAY orders."""
    async def main():
        t0 = time.time()
        end = day_end_ms(int(t0 * 1000) + 2_500)              # the next 16:00 CT …
        clock = lambda: int((time.time() - t0) * 1000) + end - 2_500   # … 2.5 s after start
        async with tws_client(43, start_ms=SIM_START_MS, clock_ms=clock) as (sim, ib):
            day = ib.placeOrder(_contract(YES), LimitOrder("BUY", 2, 0.30, tif="DAY"))
            await until(lambda: day.orderStatus.status == "Submitted")
            assert clock() < end
            await until(lambda: day.orderStatus.status == "Cancelled", timeout=6.0)
            assert clock() >= end and held(sim.backend) == 0
    run(main())


# ---- 3. the price range $0.02–$0.99 ------------------------------------------------------------
def _resting_prices(b: ForecastExBackend) -> set[int]:
    return {o.price for m in b.exchange.markets.values() for side in ("yes", "no") for o in m.bids[side]}


def test_house_never_quotes_below_two_cents():
    sc = build("forecastex", 1)
    low = next(q for _e, q, _l in sc.listings("forecastex") if q.key == "FF-4.375")
    low.fair = 400                       # house YES levels 0.02 and 0.01 (depth 3, spread 0.02)
    b = ForecastExBackend(sc, 1)
    assert b.exchange.markets[LOW].levels("yes") == {200: 10_000}
    q = b.quote(LOW_YES)
    assert (q.bid, q.bid_size) == (Decimal("0.02"), 100)
    assert min(_resting_prices(b)) >= 200


def test_house_quotes_stay_within_the_range_while_prices_move():
    sc = build("forecastex", 5)
    sc.mispricing_rate = 0.5            # plants push quotes towards the edges
    for _e, q, _l in sc.listings("forecastex"):
        q.fair = 300
    b = ForecastExBackend(sc, 5)
    for _ in range(300):
        b.process.step()
        prices = _resting_prices(b)
        assert 200 <= min(prices) and max(prices) <= 9_900


@pytest.mark.parametrize("limit,code,reason", [
    ("0.01", 201, "the limit price must be within 0.02-0.99"),
    ("1.00", 201, "the limit price must be within 0.02-0.99"),
    ("0.02", 0, ""),
    ("0.99", 0, ""),
])
def test_orders_outside_the_range_are_refused(limit, code, reason):
    b = ForecastExBackend(build("forecastex", 1), 1)
    o, got = b.place(LOW_YES, "BUY", 1, Decimal(limit), "IOC")
    assert (got, o.reason) == (code, reason)


def test_engine_refuses_a_traders_order_outside_the_markets_range_and_never_rests_the_houses():
    ex = Exchange(lambda: 1_000)
    ex.add_market(MarketState("F", FeeModel(), min_price=200, max_price=9_900))
    ex.account("u", TEN_DOLLARS)
    with pytest.raises(SimReject) as e:
        ex.place("u", "F", "yes", "buy", 100, 100)
    assert (e.value.code, str(e.value)) == ("invalid_price", "price is outside the market's price range")
    o, fills = ex.place(HOUSE, "F", "yes", "buy", 100, 100)
    assert (o.status, o.remaining, fills, ex.markets["F"].levels("yes")) == ("canceled", 0, [], {})
    ex.set_level(HOUSE, "F", "no", 100, 100)
    assert ex.markets["F"].levels("no") == {} and ex.orders == {}
