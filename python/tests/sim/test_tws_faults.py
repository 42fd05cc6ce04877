"""The simulated TWS's switchable behaviours (`TwsFaults`, connectivity messages), each one a real
TWS/IB behaviour, seen through an unchanged `ib_async.IB`: the API socket dying right after a
placeOrder, the Read-Only API's 321, an order message warning (399) after a fill, TWS's 1100 /
1101 / 1102 and farm messages (2103-2106, 2110), and reqExecutions listing only the current day's
executions. Expected values come from the simulator's own state.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from ib_async import IB, Contract, LimitOrder

from arbbot.sim.forecastex import TwsFaults, start_tws
from arbbot.sim.forecastex.tws import READ_ONLY
from tests.sim.venue_envs import ManualClock, until
from tests.fx_day import SIM_START_MS, EXPIRY

YES, NO = 713900002, 713900003
T0 = int(datetime(2026, 11, 30, 23, 59, 0, tzinfo=timezone.utc).timestamp() * 1000)


def run(coro, limit: float = 20.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


def yes_contract() -> Contract:
    return Contract(secType="OPT", conId=YES, symbol="FF", lastTradeDateOrContractMonth=EXPIRY, strike=4.125,
                    right="C", exchange="FORECASTX", currency="USD")


async def connect(port: int, client_id: int) -> tuple[IB, list[tuple[int, int, str]]]:
    ib = IB()
    errors: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req, code, msg, con: errors.append((req, code, msg))
    await ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=4)
    return ib, errors


def test_socket_dies_right_after_place_order_the_order_is_placed_and_found_again():
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, tws_faults=TwsFaults(drop_after_place=1))
        try:
            ib, _ = await connect(sim.port, 11)
            t = ib.placeOrder(yes_contract(), LimitOrder("BUY", 5, 0.41, tif="IOC", orderRef="drop-1"))
            await until(lambda: not ib.isConnected())
            assert t.orderStatus.status == "PendingSubmit" and t.fills == []      # no answer ever came
            (o,) = sim.backend.orders.values()                                    # ... but TWS took it
            assert (o.order_ref, o.status, o.filled, o.client_id) == ("drop-1", "Filled", 5, 11)
            assert sim.tws_faults.drop_after_place == 0
            ib2, _ = await connect(sim.port, 11)                                  # the same client comes back
            done = [(x.order.orderRef, x.orderStatus.status, x.order.permId) for x in ib2.trades()]
            assert done == [("drop-1", "Filled", o.perm_id)]
            assert [(f.execution.orderRef, f.execution.shares, f.execution.price) for f in ib2.fills()] == \
                [("drop-1", 5.0, 0.41)]
            ib2.disconnect()
        finally:
            await sim.stop()
    run(main())


def test_read_only_api_refuses_every_order_with_321_and_places_nothing():
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None, tws_faults=TwsFaults(read_only=True))
        try:
            ib, errors = await connect(sim.port, 12)
            t = ib.placeOrder(yes_contract(), LimitOrder("BUY", 5, 0.41, tif="IOC", orderRef="ro-1"))
            await until(lambda: errors)
            assert errors == [(t.order.orderId, 321, READ_ONLY)]
            # ib_async classes 321 as a warning: the trade is "ValidationError", with no permId
            assert (t.orderStatus.status, t.order.permId, [e.errorCode for e in t.log]) == \
                ("ValidationError", 0, [0, 321])
            assert sim.backend.orders == {} and sim.by_api == {} and sim.backend.positions() == {}
            ib.disconnect()
        finally:
            await sim.stop()
    run(main())


def test_order_message_warning_after_the_fill_overwrites_filled_in_ib_async():
    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None,
                              tws_faults=TwsFaults(order_message_after_fill=True))
        try:
            ib, errors = await connect(sim.port, 13)
            t = ib.placeOrder(yes_contract(), LimitOrder("BUY", 5, 0.41, tif="IOC", orderRef="w-1"))
            await until(lambda: errors)
            (req, code, msg), = errors
            assert (req, code) == (t.order.orderId, 399) and msg.startswith(f"Order Message:\nBUY 5 FF {EXPIRY} 4.125 YES")
            assert [e.status for e in t.log][-2:] == ["Filled", "ValidationError"]
            assert (t.orderStatus.status, t.orderStatus.filled, t.filled()) == ("ValidationError", 5.0, 5.0)
            (o,) = sim.backend.orders.values()
            assert (o.status, o.filled) == ("Filled", 5)
            ib.disconnect()
        finally:
            await sim.stop()
    run(main())


def test_connectivity_lost_then_restored_with_data_lost_drops_subscriptions():
    async def main():
        sim = await start_tws("forecastex", 3, step_interval=None)
        try:
            ib, errors = await connect(sim.port, 14)
            tk = ib.reqMktData(yes_contract(), "", False, False)
            await until(lambda: tk.bid == float(sim.backend.quote(YES).bid))
            sim.connectivity_lost()
            await until(lambda: errors)
            assert errors == [(-1, 1100, "Connectivity between IB and Trader Workstation has been lost.")]
            first = sim.backend.quote(YES)
            for _ in range(60):                        # the book moves: nothing reaches the client
                sim.step()
                if sim.backend.quote(YES).bid != first.bid:
                    break
            assert sim.backend.quote(YES).bid != first.bid
            await asyncio.sleep(0.2)
            assert tk.bid == float(first.bid)          # frozen
            sim.connectivity_restored(data_lost=True)
            await until(lambda: len(errors) == 2)
            assert errors[1] == (-1, 1101, "Connectivity between IB and Trader Workstation has been restored - data lost.")
            assert all(not c.tickers and not c.positions and not c.account for c in sim.conns)   # subscriptions gone
            for _ in range(60):
                sim.step()
            await asyncio.sleep(0.2)
            assert tk.bid == float(first.bid)          # still frozen: the subscription must be asked for again
            tk2 = ib.reqMktData(yes_contract(), "", False, False)
            await until(lambda: tk2.bid == float(sim.backend.quote(YES).bid))
            ib.disconnect()
        finally:
            await sim.stop()
    run(main())


def test_connectivity_restored_with_data_kept_and_farm_messages():
    async def main():
        sim = await start_tws("forecastex", 3, step_interval=None)
        try:
            ib, errors = await connect(sim.port, 15)
            tk = ib.reqMktData(yes_contract(), "", False, False)
            await until(lambda: tk.bid == float(sim.backend.quote(YES).bid))
            for pause, resume, codes in ((sim.connectivity_lost, lambda: sim.connectivity_restored(data_lost=False),
                                          (1100, 1102)),
                                         (sim.farm_broken, sim.farm_ok, (2103, 2104)),
                                         (sim.server_link_broken, sim.farm_ok, (2110, 2104))):
                errors.clear()
                pause()
                before = tk.bid
                for _ in range(80):
                    sim.step()
                    if float(sim.backend.quote(YES).bid) != before:
                        break
                await asyncio.sleep(0.2)
                assert tk.bid == before != float(sim.backend.quote(YES).bid)
                resume()                                # the subscription was kept: what moved arrives
                await until(lambda: tk.bid == float(sim.backend.quote(YES).bid))
                assert [c for _r, c, _m in errors] == list(codes)
            errors.clear()
            sim.hmds_broken()
            sim.hmds_ok()
            await until(lambda: len(errors) == 2)
            assert errors == [(-1, 2105, "HMDS data farm connection is broken:ushmds"),
                              (-1, 2106, "HMDS data farm connection is OK:ushmds")]
            ib.disconnect()
        finally:
            await sim.stop()
    run(main())


def test_day_roll_executions_before_midnight_are_no_longer_listed():
    async def main():
        clock = ManualClock(T0)                                                # 2026-11-30 23:59 UTC
        sim = await start_tws("forecastex", 1, step_interval=None, start_ms=SIM_START_MS, clock_ms=clock,
                              tws_faults=TwsFaults(day_roll=True))
        try:
            ib, _ = await connect(sim.port, 16)
            t = ib.placeOrder(yes_contract(), LimitOrder("BUY", 5, 0.41, tif="IOC", orderRef="d-1"))
            await until(lambda: t.orderStatus.status == "Filled")
            (x,) = sim.backend.executions()
            assert x.ts_ms == T0 and sim.day_start_ms() == T0 - 23 * 3600_000 - 59 * 60_000
            assert [f.execution.execId for f in await ib.reqExecutionsAsync()] == [x.exec_id]
            clock.ms = T0 + 120_000                                     # 2026-12-01 00:01 UTC: a new day
            assert sim.day_start_ms() == T0 + 60_000
            assert await ib.reqExecutionsAsync() == []
            ib.disconnect()
            ib2, _ = await connect(sim.port, 16)                       # a new session: no fill of yesterday
            assert ib2.fills() == [] and [x.order.orderRef for x in ib2.trades()] == ["d-1"]
            ib2.disconnect()
        finally:
            await sim.stop()
    run(main())


def test_handshake_shows_the_tws_clock_in_its_time_zone_and_its_midnight():
    async def main():
        clock = ManualClock(T0)
        sim = await start_tws("forecastex", 1, step_interval=None, start_ms=SIM_START_MS, clock_ms=clock, tz_offset_min=-300)
        try:
            r, w = await asyncio.open_connection("127.0.0.1", sim.port)
            w.write(b"API\0" + (9).to_bytes(4, "big") + b"v157..178")
            n = int.from_bytes(await r.readexactly(4), "big")
            version, when = (await r.readexactly(n)).decode().split("\0")[:2]
            assert (version, when) == ("178", "20261130 18:59:00 GMT-05:00")
            assert sim.day_start_ms() == int(datetime(2026, 11, 30, 5, tzinfo=timezone.utc).timestamp() * 1000)
            w.close()
        finally:
            await sim.stop()
    run(main())


def test_defaults_are_off():
    f = TwsFaults()
    assert (f.drop_after_place, f.read_only, f.order_message_after_fill, f.day_roll) == (0, False, False, False)
