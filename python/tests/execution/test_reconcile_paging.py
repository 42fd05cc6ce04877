"""More than 300 orders on one venue: the venue pages its lists (100 per page by default), the
adapter follows the cursor, and reconciliation of the store with the venue finds 0 differences.
Then a difference planted behind the store's back is found, and `arbbot reconcile` exits 1."""
from __future__ import annotations

import asyncio
import json

from arbbot.execution import Executor, OrderStore
from arbbot.execution.reconcile import reconcile, record_cash_baselines
from arbbot.venues.common import OrderRequest, TimeInForce
from arbbot.venues.common.model import Action, Side
from tests.execution.harness import A, opportunity, routes, sim_config, start_sim, venue

EXECUTIONS = 160            # two orders each: 320 orders, 320 fills on Kalshi


def plant(h) -> None:
    """Re-quote LAL around 40¢ so the parity arbitrage is there again (each trade consumes it)."""
    def go():
        _e, _q, listing = h.kalshi.listings[A]
        h.kalshi.process.quote(listing, 4000)
    h.loop.call_soon_threadsafe(go)
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), h.loop).result(5)


def test_over_300_orders_reconcile_to_zero(tmp_path):
    h = start_sim()

    async def main():
        v = venue(sim_config(h))
        store = OrderStore(tmp_path / "o.db")
        await record_cash_baselines(store, {"kalshi": v})
        executor = Executor(store, routes(v))
        states = []
        for i in range(EXECUTIONS):
            plant(h)
            opp = await opportunity(v, max_qty=100)
            states.append((await executor.execute(opp, execution_id=f"p{i:03d}")).state)
        assert states.count("complete") == EXECUTIONS, states
        # the venue pages: a plain read of its list returns one page of 100
        first = await v.http.get("/portfolio/orders", auth=True)
        assert len(first["orders"]) == 100 and first["cursor"]
        orders, fills = await v.orders(), await v.fills()
        assert len(orders) == len(store.intents()) == 2 * EXECUTIONS
        assert len({o.order_id for o in orders}) == 2 * EXECUTIONS
        assert {f.fill_id for f in fills} == {f.fill_id for f in store.fills()}
        report = await reconcile(store, {"kalshi": v})
        k = report["venues"]["kalshi"]
        assert report["differences"] == 0, k["differences"][:5]
        assert k["fills"] == {"venue": len(store.fills()), "store": len(store.fills())}
        assert k["open_orders"] == {"venue": 0, "store": 0}
        # every execution bought 1 YES LAL and 1 YES BOS: 160 contracts of each
        assert k["positions"]["venue"] == k["positions"]["store"] == {
            "KXNBAGAME-26NOV30LALBOS-BOS": "160", "KXNBAGAME-26NOV30LALBOS-LAL": "160"}
        assert k["cash_moved_micros"]["venue"] == k["cash_moved_micros"]["store"] < 0

        # an order placed behind the store's back: position, fill and cash all differ
        plant(h)
        await v.place_order(OrderRequest(A, Side.YES, 4500, 100, action=Action.BUY, tif=TimeInForce.IOC,
                                         client_order_id="manual-1"))
        report = await reconcile(store, {"kalshi": v})
        whats = sorted(d["what"] for d in report["venues"]["kalshi"]["differences"])
        assert whats == ["cash", "fill", "position"], report["venues"]["kalshi"]["differences"]
        pos = next(d for d in report["venues"]["kalshi"]["differences"] if d["what"] == "position")
        assert (pos["id"], pos["venue"], pos["store"]) == ("KXNBAGAME-26NOV30LALBOS-LAL", "161", "160")
        await v.close()
        store.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 240))
    finally:
        h.stop()


def traded_store(h, db, deposit_micros: int = 0) -> None:
    """Store `db`: the venue's cash baseline, then one complete execution (r1) on Kalshi; a
    deposit made outside trading raises the venue's cash by `deposit_micros` (its baseline lowered
    by as much)."""
    async def trade():
        v = venue(sim_config(h))
        store = OrderStore(db)
        await record_cash_baselines(store, {"kalshi": v})
        res = await Executor(store, routes(v)).execute(await opportunity(v, max_qty=300), execution_id="r1")
        assert res.state == "complete"
        if deposit_micros:
            store.set_cash_baseline("kalshi", store.cash_baseline("kalshi") - deposit_micros)
        await v.close()
        store.close()
    asyncio.run(trade())


def trade_outside_the_store(h, coid: str) -> None:
    """A trade the store never hears of: 1 YES of A bought straight at the venue."""
    async def sneak():
        v = venue(sim_config(h))
        plant(h)
        await v.place_order(OrderRequest(A, Side.YES, 4500, 100, action=Action.BUY, tif=TimeInForce.IOC,
                                         client_order_id=coid))
        await v.close()
    asyncio.run(sneak())


def test_reconcile_command_reports_and_exits(tmp_path, capsys):
    """`arbbot reconcile --connect HANDLE --db D --json`: arbbot.reconcile/1, exit 0 / 1 / 2."""
    from arbbot.cli import main as cli
    from arbbot.sim import write_handle
    h = start_sim()
    try:
        handle = tmp_path / "sim.json"
        write_handle(h, str(handle))
        db = tmp_path / "o.db"
        traded_store(h, db)
        assert cli(["reconcile", "--db", str(db), "--connect", str(handle), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["format"] == "arbbot.reconcile/1" and report["differences"] == 0
        assert report["venues"]["kalshi"]["positions"]["store"] == {
            "KXNBAGAME-26NOV30LALBOS-BOS": "3", "KXNBAGAME-26NOV30LALBOS-LAL": "3"}
        assert set(report["venues"]) >= {"kalshi", "polymarket"}

        trade_outside_the_store(h, "manual-2")
        assert cli(["reconcile", "--db", str(db), "--connect", str(handle), "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        assert report["differences"] == 3
        assert cli(["reconcile", "--db", str(tmp_path / "missing.db"), "--connect", str(handle)]) == 2
        assert "no order store" in capsys.readouterr().err
    finally:
        h.stop()


def test_accept_cash_takes_a_deposit_and_refuses_a_gap_beside_a_trade(tmp_path, capsys):
    """A venue's cash moved outside trading (a deposit, a withdrawal, ForecastEx's coupon) is a
    cash difference at every reconciliation, so the running bot enters safe mode each time and no
    command could say why. `--accept-cash VENUE --reason TEXT` moves the venue's cash baseline by
    the difference, with an event; refused without a reason, and while the venue has another
    difference (a cash gap beside an unrecorded trade is that trade, not a deposit)."""
    from arbbot.cli import main as cli
    from arbbot.sim import write_handle
    h = start_sim()
    try:
        handle = tmp_path / "sim.json"
        write_handle(h, str(handle))
        db = tmp_path / "o.db"
        traded_store(h, db, deposit_micros=25_000_000)                           # $25 deposited
        args = ["reconcile", "--db", str(db), "--connect", str(handle), "--json"]
        assert cli(args) == 1
        [gap] = json.loads(capsys.readouterr().out)["venues"]["kalshi"]["differences"]
        assert gap["what"] == "cash"
        assert cli(args + ["--accept-cash", "kalshi"]) == 2
        assert "needs --reason" in capsys.readouterr().err
        assert cli(args + ["--accept-cash", "kalshi", "--reason", "deposit"]) == 0
        out = capsys.readouterr()
        assert json.loads(out.out)["differences"] == 0
        assert "kalshi: accepted +$25.000000 of cash moved outside trading (deposit)" in out.err
        assert cli(args) == 0                                   # the next reading agrees
        capsys.readouterr()
        store = OrderStore(db, create=False)
        [event] = [e for e in store.events() if e["kind"] == "cash_accepted"]
        assert json.loads(event["data"])["amount_micros"] == 25_000_000
        store.set_cash_baseline("kalshi", store.cash_baseline("kalshi") - 5_000_000)       # $5 more ...
        store.close()
        trade_outside_the_store(h, "manual-3")                                            # ... and a trade
        assert cli(args + ["--accept-cash", "kalshi", "--reason", "deposit"]) == 2
        assert "other difference(s)" in capsys.readouterr().err
        store = OrderStore(db, create=False)
        assert [e["kind"] for e in store.events()].count("cash_accepted") == 1               # nothing accepted
        store.close()
    finally:
        h.stop()
