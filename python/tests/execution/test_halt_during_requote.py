"""`arbbot halt` written while the first leg is re-quoted over the venue's REST (its streamed book
quiet): the trade stops before its first order, nothing held. The kill switch was checked only
when the opportunity was offered, so both legs went out after the halt."""
import asyncio
import os

from arbbot.execution import Executor, OrderStore
from arbbot.risk import KillSwitch, RiskGates
from arbbot.risk.limits import ExposureLimits
from arbbot.run.trader import PaperTrader
from tests.execution.harness import opportunity, routes, sim_config, start_sim, venue


def test_a_halt_during_the_first_legs_requote_stops_the_trade(tmp_path):
    h = start_sim()

    async def main():
        v = venue(sim_config(h))
        opp = await opportunity(v, max_qty=1000)
        kill = str(tmp_path / "KILL")
        read = v.fetch_book
        quotes = []

        async def fetch_book(mid):            # the REST re-quote, during which the operator halts
            book = await read(mid)
            quotes.append(mid)
            if not os.path.exists(kill):
                with open(kill, "w") as fh:
                    fh.write("operator halt\n")
            return book
        v.fetch_book = fetch_book
        store = OrderStore(str(tmp_path / "o.db"))
        ex = Executor(store, routes(v), book_source=lambda m: None)       # quiet books: re-quoted
        trader = PaperTrader(ex, RiskGates(KillSwitch(kill), None, ExposureLimits(), None), {"kalshi": v}, store,
                             sizer=None)
        trader.cash = {"kalshi": 10**12}
        trader._short_of_rounding = lambda o: None
        trader.offer(opp)
        assert trader._task is not None                                    # offered before the halt: started
        await trader._task
        [x] = store.executions()
        assert len(quotes) == 1 and x.state == "aborted" and "stopped before leg 0: kill switch" in x.reason
        assert [i for i in store.intents(x.id)] == []                     # no order sent
        store.close()
        await v.close()
    try:
        asyncio.run(main())
    finally:
        h.stop()
