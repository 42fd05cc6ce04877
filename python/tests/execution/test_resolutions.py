"""Settled markets: a market's recorded resolution releases the exposure its lots held, books a
naked leg's loss at what its lots paid, values the position at its payout, and reconciles with a
venue that paid it out (Kalshi: position gone, cash credited) or holds it until redemption
(Polymarket: the tokens stay; the cash rises only when redeemed).

Units: lots (100 a contract), ticks (10,000 = $1 a contract), µ$ (a winning lot pays 10,000)."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from arbbot.cli import main as cli_main
from arbbot.execution.reconcile import reconcile_venue, redeemed
from arbbot.execution.store import OrderStore
from arbbot.model import Side, Venue
from arbbot.run.sizer import SessionSizer
from arbbot.venues.common.model import Action, Balance, Fill, Order, OrderStatus, Position, Resolution

DAY = 86_400_000


def leg(market: str, side: str, qty: int, price: int, fee: int):
    return SimpleNamespace(market=market, side=Side.parse(side), qty=qty, worst_price=price, cost=qty * price, fee=fee)


def trade(store: OrderStore, xid: str, legs: list[tuple[str, str, int, int, int]], state: str) -> None:
    """Execution `xid` buying each (market `venue:id`, side, lots, price ticks, fee µ$) in full, then `state`."""
    opp_legs = [leg(*l) for l in legs]
    opp = SimpleNamespace(id=f"opp-{xid}", lane=1, kind=1, qty=legs[0][2], payout=legs[0][2] * 10_000,
                          cost=sum(l.cost for l in opp_legs), fee=sum(l.fee for l in opp_legs), profit=0, legs=opp_legs)
    for i, (market, side, qty, price, fee) in enumerate(legs):
        venue, market_id = market.split(":")
        coid = store.add_intent(xid, i, "entry", 0, venue=venue, market=market, market_id=market_id, side=side,
                                action="buy", qty=qty, price=price, tif="ioc", new_execution=opp if i == 0 else None)
        v = Venue.parse(venue)
        store.record_order(coid, Order(v, f"o-{coid}", coid, market_id, Side.parse(side), Action.BUY, price, qty, qty, 0,
                                       OrderStatus.FILLED, fees_micros=fee, cost_micros=qty * price),
                           [Fill(v, f"f-{coid}", f"o-{coid}", market_id, Side.parse(side), Action.BUY, price, qty, fee,
                                 True, 1, coid)])
    store.set_execution_state(xid, state)


def resolution(market_id: str, result: str, yes_value, venue=Venue.KALSHI, paid=True) -> Resolution:
    return Resolution(venue, market_id, result, yes_value, 1_000, paid=paid)


@pytest.fixture
def store(tmp_path):
    s = OrderStore(str(tmp_path / "o.db"), clock_ms=lambda: 5_000)
    yield s
    s.close()


def test_a_resolved_market_holds_no_exposure(store):
    # a complete parity arb: YES A 1 contract at 40¢ (fee 0.7¢) + YES B at 50¢ (fee 0.8¢)
    trade(store, "x1", [("kalshi:A", "yes", 100, 4_000, 7_000), ("kalshi:B", "yes", 100, 5_000, 8_000)], "complete")
    assert store.held_cost_by_market(("complete", "naked")) == {"kalshi:A": 407_000, "kalshi:B": 508_000}
    assert store.held_markets() == {"kalshi": {"A", "B"}}
    assert store.record_resolution(resolution("A", "yes", 10_000)) is True
    assert store.held_cost_by_market(("complete", "naked")) == {"kalshi:B": 508_000}
    assert store.held_markets() == {"kalshi": {"B"}}
    # a complete execution's loss is unchanged (it locked its profit in when it completed)
    assert store.realised_loss("x1") == 0


@pytest.mark.parametrize("side, result, yes_value, loss", [
    ("yes", "yes", 10_000, 0),           # the naked YES leg won: 1,000,000 back for 305,000 paid
    ("yes", "no", 0, 305_000),           # it lost: the whole cost and fee
    ("yes", "scalar", 2_000, 105_000),   # a split paying 20¢ a YES contract: 200,000 back
    ("no", "yes", 10_000, 305_000),      # a NO lot of a YES market pays nothing
    ("no", "scalar", 2_000, 0),          # a NO lot pays 80¢ a contract: 800,000 back
    ("yes", "void", None, 5_000),        # returned at cost: only the fee is lost
])
def test_a_naked_legs_loss_is_booked_again_at_what_its_lots_paid(store, side, result, yes_value, loss):
    trade(store, "x1", [("kalshi:C", side, 100, 3_000, 5_000)], "naked")
    assert store.realised_loss("x1") == 305_000 and store.daily_loss(0) == 305_000
    store.record_resolution(resolution("C", result, yes_value))
    assert store.realised_loss("x1") == loss and store.daily_loss(0) == loss
    assert store.held_cost_by_market(("complete", "naked")) == {}


def test_a_resolution_is_recorded_once_unless_replaced(store):
    trade(store, "x1", [("kalshi:C", "yes", 100, 3_000, 5_000)], "naked")
    assert store.record_resolution(resolution("C", "no", 0)) is True
    assert store.record_resolution(resolution("C", "yes", 10_000)) is False          # the first result stays
    assert store.resolutions()["kalshi:C"].result == "no" and store.realised_loss("x1") == 305_000
    assert store.record_resolution(resolution("C", "yes", 10_000), source="operator", replace=True) is True
    row = store.resolutions()["kalshi:C"]
    assert (row.result, row.yes_value, row.source, row.recorded_ms) == ("yes", 10_000, "operator", 5_000)
    assert store.realised_loss("x1") == 0
    events = [json.loads(r[0]) for r in store._db.execute("SELECT data FROM events WHERE kind='market_resolved'")]
    assert [(e["result"], e["replaced"]) for e in events] == [("no", False), ("yes", True)]


def test_the_naked_lane_pnl_counts_what_the_lots_paid(store):
    trade(store, "x1", [("kalshi:C", "yes", 100, 3_000, 5_000)], "naked")
    assert store.lane_daily_pnl(0, 0) == {1: (-305_000,)}
    store.record_resolution(resolution("C", "yes", 10_000))
    assert store.lane_daily_pnl(0, 0) == {1: (695_000,)}


def test_a_paid_out_market_is_no_longer_a_position_and_an_unpaid_one_is_worth_its_payout(store):
    trade(store, "x1", [("kalshi:A", "yes", 100, 4_000, 7_000)], "naked")
    trade(store, "x2", [("polymarket:0xc", "no", 200, 3_000, 0)], "naked")
    store.record_resolution(resolution("A", "yes", 10_000, paid=True))
    store.record_resolution(resolution("0xc", "no", 0, venue=Venue.POLYMARKET, paid=False))
    assert store.net_positions() == {"polymarket:0xc": (-200, 600_000)}
    # equity values the unpaid NO lots at their payout (200 × 10,000), not at the mid or the cost
    value = SessionSizer._positions_value(SimpleNamespace(_mid=lambda name: 1_234), store.net_positions(),
                                          store.resolutions())
    assert value == 2_000_000


class SettledVenue:
    """A venue after market A (3 YES contracts held, bought at 40¢, fee 3 µ$) resolved YES: `shows`
    the position or not, and its cash moved by `cash` µ$ since the baseline."""

    def __init__(self, shows: bool, cash: int) -> None:
        self.shows, self.cash = shows, cash

    venue = "kalshi"

    async def discover_markets(self):
        return []

    async def positions(self):
        return [Position(Venue.KALSHI, "A", 300)] if self.shows else [Position(Venue.KALSHI, "A", 0)]

    async def orders(self, **_):
        return []

    async def fills(self, **_):
        return [Fill(Venue.KALSHI, "f-x1-L0E0", "o-x1-L0E0", "A", Side.YES, Action.BUY, 4_000, 300, 3, True, 1,
                     "x1-L0E0")]

    async def balance(self):
        return Balance(Venue.KALSHI, 1_000_000_000 + self.cash)


BOUGHT = -(300 * 4_000 + 3)        # µ$ the order moved: −1,200,003
PAYOUT = 300 * 10_000              # µ$ 3 winning contracts pay


@pytest.mark.parametrize("shows, cash, differences, paid, redeemed_micros", [
    (False, BOUGHT + PAYOUT, [], PAYOUT, 0),          # paid at settlement: position gone, cash credited
    (True, BOUGHT, [], 0, 0),                          # held until redeemed: nothing paid yet
    (True, BOUGHT + PAYOUT, [], 0, PAYOUT),            # ... redeemed: the fills still show the tokens
    (False, BOUGHT, [{"what": "cash", "id": "kalshi", "venue": "-1.200003", "store": "1.799997"}], PAYOUT, 0),
    (True, BOUGHT + 1, [{"what": "cash", "id": "kalshi", "venue": "-1.200002", "store": "-1.200003"}], 0, 0),
])
def test_reconcile_knows_a_resolved_market_may_be_paid(store, shows, cash, differences, paid, redeemed_micros):
    trade(store, "x1", [("kalshi:A", "yes", 300, 4_000, 3)], "naked")
    store.set_cash_baseline("kalshi", 1_000_000_000)
    store.record_resolution(resolution("A", "yes", 10_000, paid=not shows))
    report = asyncio.run(reconcile_venue(store, "kalshi", SettledVenue(shows, cash), markets=[]))
    assert report["differences"] == differences
    assert report["resolved_micros"] == {"paid": paid, "redeemed": redeemed_micros}
    assert report["redeemed"] == (["A"] if redeemed_micros else [])
    assert report["positions"]["store"] == ({"A": "3"} if shows else {})


class PairVenue:
    """Polymarket after an execution bought 10 YES at 60¢ and 10 NO at 45¢ of market 0xp (no
    fees): both tokens held (its positions come from the fills: net 0), its cash moved by `cash`."""

    def __init__(self, cash: int, fills) -> None:
        self.cash, self.listed = cash, fills

    async def positions(self):
        return []

    async def orders(self, **_):
        return []

    async def fills(self, **_):
        return self.listed

    async def balance(self):
        return Balance(Venue.POLYMARKET, 1_000_000_000 + self.cash)


def test_polymarket_holds_a_yes_and_no_pair_until_it_is_redeemed(store):
    """Kalshi and IB net a YES and a NO lot of one market into $0.01 at once; Polymarket's tokens
    stay side by side until merged or redeemed. Before, the store's cash counted the 10 pairs
    paid back ($10) at once: a $10 difference, and the running bot in safe mode, after every
    Polymarket execution holding both sides (the intra lane, an unwind that buys the other side).
    Now: −$10.50 moved, as the venue's. Resolved (YES), the pairs pay $10 on redemption, which
    the reconciliation recognises as that market's payout."""
    trade(store, "x1", [("polymarket:0xp", "yes", 1_000, 6_000, 0), ("polymarket:0xp", "no", 1_000, 4_500, 0)],
          "complete")
    store.set_cash_baseline("polymarket", 1_000_000_000)
    listed = [Fill(Venue.POLYMARKET, f.fill_id, f.order_id, f.market_id, Side.parse(f.side), Action.BUY, f.price,
                   f.qty, f.fee, True, 1, f.client_order_id) for f in store.fills()]
    report = asyncio.run(reconcile_venue(store, "polymarket", PairVenue(-10_500_000, listed), markets=[]))
    assert (report["differences"], report["cash_moved_micros"]) == ([], {"venue": -10_500_000, "store": -10_500_000})
    store.record_resolution(resolution("0xp", "yes", 10_000, venue=Venue.POLYMARKET, paid=False))
    report = asyncio.run(reconcile_venue(store, "polymarket", PairVenue(-10_500_000, listed), markets=[]))
    assert (report["differences"], report["redeemed"]) == ([], [])                   # not redeemed yet
    report = asyncio.run(reconcile_venue(store, "polymarket", PairVenue(-500_000, listed), markets=[]))
    assert (report["differences"], report["redeemed"], report["resolved_micros"]) == \
           ([], ["0xp"], {"paid": 0, "redeemed": 10_000_000})


def test_an_unresolved_position_the_venue_dropped_is_still_a_difference(store):
    trade(store, "x1", [("kalshi:A", "yes", 300, 4_000, 3)], "naked")
    store.set_cash_baseline("kalshi", 1_000_000_000)
    report = asyncio.run(reconcile_venue(store, "kalshi", SettledVenue(False, BOUGHT + PAYOUT), markets=[]))
    assert {d["what"] for d in report["differences"]} == {"position", "cash"}


def test_redeemed_cash_must_be_the_payout_of_some_of_the_markets():
    markets = [("a", 300), ("b", 400), ("c", 900)]
    assert redeemed(0, []) == () and redeemed(700, markets) == ("a", "b") and redeemed(1_600, markets) == ("a", "b", "c")
    assert redeemed(100, markets) is None and redeemed(-300, [("a", 300)]) is None
    # past the subset sums it tries, a payout of one market is still found
    many = [(f"m{i}", 1_000_003 * (2 ** i)) for i in range(20)]
    assert redeemed(1_000_003 * 2 ** 19, many) == ("m19",)


def run_cli(*argv) -> int:
    try:
        return cli_main(list(argv))
    except SystemExit as exc:        # argparse errors
        return int(exc.code)


def test_arbbot_resolve_records_an_operators_result_and_lists(tmp_path, capsys):
    path = str(tmp_path / "o.db")
    s = OrderStore(path, clock_ms=lambda: 5_000)
    trade(s, "x1", [("forecastex:FXCPI-20261210-3.0", "yes", 100, 3_000, 1_000)], "naked")
    s.close()
    assert run_cli("resolve", "--db", path, "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == {"format": "arbbot.resolutions/1", "held": {"forecastex": ["FXCPI-20261210-3.0"]}, "resolved": []}
    assert run_cli("resolve", "--db", path, "forecastex:FXCPI-20261210-9.9", "yes") == 2
    assert "not a market this store has traded" in capsys.readouterr().err
    assert run_cli("resolve", "--db", path, "forecastex:FXCPI-20261210-3.0", "1.5") == 2
    assert "above 1" in capsys.readouterr().err
    assert run_cli("resolve", "--db", path, "forecastex:FXCPI-20261210-3.0") == 2
    assert run_cli("resolve", "--db", path, "forecastex:FXCPI-20261210-3.0", "0.25") == 0
    assert "a YES contract pays $0.250000" in capsys.readouterr().out
    assert run_cli("resolve", "--db", path, "forecastex:FXCPI-20261210-3.0", "no") == 2
    assert "already recorded as scalar (operator); --replace" in capsys.readouterr().err
    assert run_cli("resolve", "--db", path, "forecastex:FXCPI-20261210-3.0", "no", "--replace") == 0
    capsys.readouterr()
    assert run_cli("resolve", "--db", path, "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["held"] == {} and [(r["market"], r["result"], r["yes_value_usd"], r["paid"], r["source"])
                                     for r in listed["resolved"]] == [
        ("forecastex:FXCPI-20261210-3.0", "no", "0.000000", True, "operator")]
    s = OrderStore(path)
    assert s.realised_loss("x1") == 301_000
    s.close()


def test_the_dashboard_shows_an_unpaid_resolution_and_drops_a_paid_one(store):
    from arbbot.ops.dashboard.history import History
    trade(store, "x1", [("kalshi:A", "yes", 100, 4_000, 7_000)], "naked")
    trade(store, "x2", [("polymarket:0xc", "no", 200, 3_000, 0)], "naked")
    history = History(store.path)
    assert set(history.positions()) == {"kalshi:A", "polymarket:0xc"}
    store.record_resolution(resolution("A", "yes", 10_000, paid=True))
    store.record_resolution(resolution("0xc", "no", 0, venue=Venue.POLYMARKET, paid=False))
    assert history.positions() == {"polymarket:0xc": {"venue": "polymarket", "net_lots": -200, "cost_micros": 600_000,
                                                      "resolved": "no"}}
    audit = history.audit()
    assert [(e["kind"], e["data"]["market"]) for e in audit if e["kind"] == "market_resolved"] == [
        ("market_resolved", "polymarket:0xc"), ("market_resolved", "kalshi:A")]
    assert [e["kind"] for e in audit if e["kind"] != "market_resolved"] == ["safe_mode_entered"]   # x1 naked
    history.close()


def test_a_settled_arb_is_released_and_reconciles_with_the_venue_that_paid(tmp_path, sim_factory):
    """The planted Kalshi parity arb (YES LAL + YES BOS, 10 contracts each) completes on the simulator;
    the venue then settles LAL YES and BOS NO and pays 10 × $1. The trader's resolution poll records
    both through the real adapter, the exposure limits hold nothing more, and the store reconciles
    with the venue (positions gone, the payout in the cash) without a difference."""
    from arbbot.execution import Executor
    from arbbot.execution.reconcile import reconcile
    from arbbot.risk import RiskGates
    from arbbot.risk.limits import ExposureLimits
    from arbbot.run.trader import PaperTrader, held_exposure
    from tests.execution.harness import A, B, opportunity, routes, sim_config, venue

    h = sim_factory()

    async def main():
        v = venue(sim_config(h))
        store = OrderStore(tmp_path / "o.db")
        store.set_cash_baseline("kalshi", (await v.balance()).cash_micros)
        opp = await opportunity(v, max_qty=1_000)
        result = await Executor(store, routes(v)).execute(opp, execution_id="x1")
        assert result.state == "complete"
        exposure = ExposureLimits()
        held_exposure(store, exposure, lambda m: m)
        assert set(exposure.market) == {f"kalshi:{A}", f"kalshi:{B}"}
        before = (await v.balance()).cash_micros

        def settle():
            h.kalshi.settle_market(A, "yes")
            h.kalshi.settle_market(B, "no")
        h.loop.call_soon_threadsafe(settle)
        await asyncio.sleep(0.2)
        assert (await v.balance()).cash_micros - before == 1_000 * 10_000      # 10 winning contracts: $10
        trader = PaperTrader(SimpleNamespace(routes={}), RiskGates(exposure=exposure), {"kalshi": v}, store,
                             event_of=lambda m: m)
        assert await trader.resolve_now() == 2
        assert {m: (r.result, r.yes_value, r.paid) for m, r in store.resolutions().items()} == {
            f"kalshi:{A}": ("yes", 10_000, True), f"kalshi:{B}": ("no", 0, True)}
        assert exposure.market == {} and exposure.venue == {} and store.held_markets() == {}
        assert trader.cash["kalshi"] == before + 10_000_000
        assert await trader.resolve_now() == 0                                  # nothing new to record
        report = await reconcile(store, {"kalshi": v})
        assert report["differences"] == 0, report
        assert report["venues"]["kalshi"]["resolved_micros"] == {"paid": 10_000_000, "redeemed": 0}
        assert store.net_positions() == {}
        await v.close()
        store.close()
    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_later_resolution_never_frees_budget_another_executions_loss_used(tmp_path):
    """$60 lost naked on day 10, $40 lost on day 11; on day 11 the day-10 market resolves YES (its
    loss is reversed). Day 11 still counts its own $40: the reversal reduces day 11 by at most what
    that execution lost in it (nothing)."""
    clock = {"ms": 10 * DAY}
    s = OrderStore(str(tmp_path / "o.db"), clock_ms=lambda: clock["ms"])
    trade(s, "x1", [("kalshi:C", "yes", 100, 6_000, 0)], "naked")          # −$0.60 … as 100 lots: 600,000 µ$
    clock["ms"] = 11 * DAY + 1_000
    trade(s, "x2", [("kalshi:D", "yes", 100, 4_000, 0)], "naked")          # −400,000 µ$
    assert (s.daily_loss(10 * DAY, 11 * DAY), s.daily_loss(11 * DAY, 12 * DAY)) == (600_000, 400_000)
    s.record_resolution(resolution("C", "yes", 10_000))                       # x1's lots pay 1,000,000
    assert s.realised_loss("x1") == 0
    assert (s.daily_loss(10 * DAY, 11 * DAY), s.daily_loss(11 * DAY, 12 * DAY)) == (600_000, 400_000)
    s.close()


class ResultsVenue(SettledVenue):
    """SettledVenue that also publishes market A's result (YES), or fails to."""

    def __init__(self, shows: bool, cash: int, fail: bool = False) -> None:
        super().__init__(shows, cash)
        self.fail, self.asked = fail, 0

    async def resolutions(self, market_ids):
        from arbbot.venues.common.errors import TransportError
        self.asked += 1
        if self.fail:
            raise TransportError("venue down", venue="kalshi")
        return [resolution("A", "yes", 10_000, paid=not self.shows)] if "A" in market_ids else []


def trader_on(store, venues, exposure=None):
    from arbbot.risk import RiskGates
    from arbbot.run.trader import PaperTrader
    return PaperTrader(SimpleNamespace(routes={}), RiskGates(exposure=exposure), venues, store, event_of=lambda m: m)


def test_reconciling_first_asks_for_the_results_of_what_the_venue_paid_out(store):
    """Kalshi paid market A out (position gone, cash credited) before the bot's resolution poll:
    the reconciliation asks for results first, so it finds no difference and no safe mode."""
    trade(store, "x1", [("kalshi:A", "yes", 300, 4_000, 3)], "complete")
    store.set_cash_baseline("kalshi", 1_000_000_000)
    trader = trader_on(store, {"kalshi": ResultsVenue(False, BOUGHT + PAYOUT)})
    assert asyncio.run(trader.reconcile_now()) == 0
    assert store.safe_mode() is None and store.resolutions()["kalshi:A"].paid


def test_a_redeemed_market_is_recorded_paid_and_no_longer_valued_twice(store):
    """Polymarket-like: the position still shows, the cash rose by the payout (redeemed). The
    reconciliation finds which market it was and records it paid: equity no longer counts the
    lots beside the cash, and the next reconciliation expects the payout."""
    trade(store, "x1", [("kalshi:A", "yes", 300, 4_000, 3)], "naked")
    store.set_cash_baseline("kalshi", 1_000_000_000)
    store.record_resolution(resolution("A", "yes", 10_000, paid=False))
    assert store.net_positions() == {"kalshi:A": (300, 1_200_000)}
    trader = trader_on(store, {"kalshi": SettledVenue(True, BOUGHT + PAYOUT)})
    assert asyncio.run(trader.reconcile_now()) == 0
    assert store.resolutions()["kalshi:A"].paid and store.net_positions() == {}
    report = asyncio.run(reconcile_venue(store, "kalshi", SettledVenue(True, BOUGHT + PAYOUT), markets=[]))
    assert report["differences"] == [] and report["resolved_micros"] == {"paid": PAYOUT, "redeemed": 0}


def test_one_venue_failing_does_not_keep_the_others_results(store):
    from arbbot.risk.limits import ExposureLimits
    from arbbot.run.trader import held_exposure
    trade(store, "x1", [("kalshi:A", "yes", 300, 4_000, 3)], "naked")
    trade(store, "x2", [("polymarket:0xc", "no", 200, 3_000, 0)], "naked")
    exposure = ExposureLimits()
    held_exposure(store, exposure, lambda m: m)
    down = ResultsVenue(True, 0, fail=True)
    trader = trader_on(store, {"kalshi": ResultsVenue(False, 0), "polymarket": down}, exposure)
    assert asyncio.run(trader.resolve_now()) == 1 and down.asked == 1
    assert exposure.market == {"polymarket:0xc": 600_000}                  # kalshi:A released


def test_an_operators_correction_reaches_the_running_bots_loss_cap(store):
    """`arbbot resolve --replace` from another process turns a win into a loss: the running bot's
    daily loss cap sees it at its next resolution poll."""
    from arbbot.risk.limits import DailyLossCap
    trade(store, "x1", [("kalshi:A", "yes", 300, 4_000, 3)], "naked")
    store.record_resolution(resolution("A", "yes", 10_000))
    cap = DailyLossCap(1_000_000, store, clock=lambda: 5)
    trader = trader_on(store, {})
    assert cap.loss == 0
    other = OrderStore(store.path, clock_ms=lambda: 6_000)
    other.record_resolution(resolution("A", "no", 0), source="operator", replace=True)
    other.close()
    assert cap.loss == 0                                 # not seen yet: the ledger changed elsewhere
    asyncio.run(trader.resolve_now())
    assert cap.loss == 1_200_003 and cap.reason() is not None


class TodaysFillsVenue(SettledVenue):
    """IB-like: `fills()` lists only today's executions (from `fill_history_start_ms`)."""

    def __init__(self) -> None:
        super().__init__(True, BOUGHT)

    def fill_history_start_ms(self):
        return 2 * DAY

    async def fills(self, **_):
        return []                                        # the fill of day 1 is no longer listed


def test_a_venue_listing_only_todays_fills_is_compared_on_those(store):
    trade(store, "x1", [("kalshi:A", "yes", 300, 4_000, 3)], "naked")       # its fill dated 1 ms
    store.set_cash_baseline("kalshi", 1_000_000_000)
    report = asyncio.run(reconcile_venue(store, "kalshi", TodaysFillsVenue(), markets=[]))
    assert report["differences"] == [] and report["fills"] == {"venue": 0, "store": 0}
    # a venue listing every fill still finds the missing one
    everything = TodaysFillsVenue()
    everything.fill_history_start_ms = lambda: None
    report = asyncio.run(reconcile_venue(store, "kalshi", everything, markets=[]))
    assert [d["what"] for d in report["differences"]] == ["fill"]


def test_the_reconcile_task_outlives_an_unexpected_error(store):
    from arbbot.run.trader import PaperTrader

    class Broken(SettledVenue):
        async def positions(self):
            raise ConnectionError("socket closed")
    trader = PaperTrader(SimpleNamespace(routes={}), None, {"kalshi": Broken(True, 0)}, store)

    async def main():
        task = asyncio.create_task(trader.reconcile_every(0.01))
        await asyncio.sleep(0.1)
        alive = not task.done()
        task.cancel()
        return alive
    assert asyncio.run(main())


class ReadingVenue(SettledVenue):
    """SettledVenue (market A held, resolved nowhere yet) whose fills read waits for `release`;
    its second results read and later ones say A resolved YES (not paid: the tokens are held)."""

    def __init__(self) -> None:
        super().__init__(True, BOUGHT)
        self.reading, self.release, self.asked = asyncio.Event(), asyncio.Event(), 0

    async def resolutions(self, market_ids):
        self.asked += 1
        return [resolution("A", "yes", 10_000, paid=False)] if self.asked > 1 and "A" in market_ids else []

    async def fills(self, **kw):
        self.reading.set()
        await self.release.wait()
        return await super().fills(**kw)


def test_a_results_poll_ending_during_a_reconciliation_does_not_let_a_trade_start_under_it(store):
    """The reconciliation task and the results task (`resolve_every`) both keep executions out
    while they read. Before, one flag: the results poll that found A resolved cleared it when it
    ended, while the reconciliation was still reading the venues, and an execution could start
    under it (its fills then a difference: safe mode for nothing). Now a count: still held."""
    trade(store, "x1", [("kalshi:A", "yes", 300, 4_000, 3)], "naked")
    store.set_cash_baseline("kalshi", 1_000_000_000)

    async def main():
        venue = ReadingVenue()
        trader = trader_on(store, {"kalshi": venue})
        reconciling = asyncio.create_task(trader.reconcile_now())
        await venue.reading.wait()
        held_before = trader.reconciling
        found = await trader.resolve_now()                # the results task, meanwhile
        held_during = trader.reconciling
        venue.release.set()
        await reconciling
        return held_before, found, held_during, trader.reconciling
    assert asyncio.run(asyncio.wait_for(main(), 30)) == (True, 1, True, False)


def _intent(store, xid, i, role, market, action, lots, price, fee, opp=None, recorded=True):
    """One order of execution `xid` on Kalshi `market`, filled in full at `price`: its fill recorded
    with it, or (`recorded` False) listed late. Returns its fill."""
    coid = store.add_intent(xid, i, role, 0 if role == "entry" else 1, venue="kalshi", market=f"kalshi:{market}",
                            market_id=market, side="yes", action=action, qty=lots, price=price, tif="ioc",
                            new_execution=opp)
    act = Action.BUY if action == "buy" else Action.SELL
    fill = Fill(Venue.KALSHI, f"f-{coid}", f"o-{coid}", market, Side.YES, act, price, lots, fee, True, 1, coid)
    store.record_order(coid, Order(Venue.KALSHI, f"o-{coid}", coid, market, Side.YES, act, price, lots, lots, 0,
                                   OrderStatus.FILLED, fees_micros=fee, cost_micros=price * lots if act is Action.BUY else 0),
                       [fill] if recorded else [])
    return fill


def test_a_complete_execution_that_locked_in_a_loss_books_it(store):
    """A leg completed after its edge went: YES A at 48¢ + YES B at 53¢ (fees 1¢ each) for a $1
    payout locks in −3¢ a contract, booked as realised (the daily loss cap counts it)."""
    legs = [leg("kalshi:A", "yes", 100, 4_800, 10_000), leg("kalshi:B", "yes", 100, 4_700, 10_000)]
    opp = SimpleNamespace(id="opp-x1", lane=1, kind=1, qty=100, payout=1_000_000, cost=950_000, fee=20_000, profit=30_000,
                          legs=legs)
    _intent(store, "x1", 0, "entry", "A", "buy", 100, 4_800, 10_000, opp)
    _intent(store, "x1", 1, "entry", "B", "buy", 100, 5_300, 10_000)
    store.set_execution_state("x1", "complete")
    assert store.realised_loss("x1") == 30_000 and store.daily_loss(0) == 30_000


def test_a_sale_whose_fills_are_listed_late_books_no_loss_it_would_have_covered(store):
    """Complete at 100 of 200 lots: A and B bought at 48¢ and 47¢, 100 lots of each sold back at
    47¢ and 46¢ (fees 1¢ an order): the unwound lots lost $0.05 (their half of the entries, $0.96,
    against $0.91 back), booked (not netted against the kept sets). While A's sale's fills are listed late the
    listed fills lack its $0.46 of proceeds: the unwound part would read −$0.51 and the locked-in sets
    −$0.47. The sale's order-level amounts stand in for them (its 100 lots at its 47¢ limit, its
    fee): the $0.05 is booked at once, and the fills listed later book nothing more (one row)."""
    legs = [leg("kalshi:A", "yes", 200, 4_800, 10_000), leg("kalshi:B", "yes", 200, 4_700, 10_000)]
    opp = SimpleNamespace(id="opp-x1", lane=1, kind=1, qty=200, payout=2_000_000, cost=1_900_000, fee=20_000,
                          profit=80_000, legs=legs)
    _intent(store, "x1", 0, "entry", "A", "buy", 200, 4_800, 10_000, opp)
    _intent(store, "x1", 1, "entry", "B", "buy", 200, 4_700, 10_000)
    late = _intent(store, "x1", 0, "unwind", "A", "sell", 100, 4_700, 10_000, recorded=False)
    _intent(store, "x1", 1, "unwind", "B", "sell", 100, 4_600, 10_000)
    store.set_execution_state("x1", "complete")
    assert store.leg_net("x1") == {0: 100, 1: 100}
    before = store.realised_loss("x1")
    store.record_fills(late.client_order_id, [late])
    after = store.realised_loss("x1")
    assert (before, after) == (50_000, 50_000)
    assert store._db.execute("SELECT COUNT(*) FROM realised_losses WHERE execution_id = 'x1'").fetchone()[0] == 1


def held_value(store: OrderStore, mid=None, pair_venues=frozenset({"polymarket"})) -> dict[str, int]:
    """Per market, what equity values its position at (`SessionSizer._positions` then
    `_positions_value`), every book without a streamed mid unless `mid` is given."""
    sizer = SimpleNamespace(store=store, _pair_venues=pair_venues, _mid=lambda name: mid)
    positions, resolved, pairs, _ = SessionSizer._positions(sizer)
    return {name: SessionSizer._positions_value(sizer, {name: held}, resolved, pairs)
            for name, held in positions.items()}


def test_equity_values_a_netting_venues_lots_at_what_the_lots_held_cost(store):
    """Kalshi and IB pay a YES+NO pair back as $1 of cash at once, so the lots left cost what is
    left of them (FIFO: a buy of one side nets the oldest lots of the other; a sale of one side is
    a buy of the other). Before, a market without a streamed mid (closed, stale) was valued at
    every fill's cost: the pairs' cost counted twice, with the cash they came back as. Reviewer's
    store: $87.03 of equity that was not there (a −200-lot position worth at most $2 valued at
    $25.08)."""
    # A: 200 NO lots at 60¢, then 100 YES lots at 40¢: 100 pairs are $1.00 of cash; 100 NO lots held at 60¢
    trade(store, "x1", [("kalshi:A", "no", 200, 6_000, 0)], "naked")
    trade(store, "x2", [("kalshi:A", "yes", 100, 4_000, 0)], "naked")
    # B: 100 YES lots at 40¢, 50 of them sold at 50¢ (a buy of NO at 50¢): 50 YES lots held at 40¢
    trade(store, "x3", [("kalshi:B", "yes", 100, 4_000, 0)], "naked")
    coid = store.add_intent("x3", 0, "unwind", 0, venue="kalshi", market="kalshi:B", market_id="B", side="yes",
                            action="sell", qty=50, price=5_000, tif="ioc")
    store.record_order(coid, Order(Venue.KALSHI, "o-s", coid, "B", Side.YES, Action.SELL, 5_000, 50, 50, 0,
                                   OrderStatus.FILLED, cost_micros=50 * 5_000),
                       [Fill(Venue.KALSHI, "f-s", "o-s", "B", Side.YES, Action.SELL, 5_000, 50, 0, True, 2, coid)])
    # C: one side only: its fills' cost is the lots' cost
    trade(store, "x4", [("kalshi:C", "no", 300, 2_000, 0)], "naked")
    # the same as A on Polymarket, which holds the pair as tokens until merged or redeemed
    trade(store, "x5", [("polymarket:0xa", "no", 200, 6_000, 0)], "naked")
    trade(store, "x6", [("polymarket:0xa", "yes", 100, 4_000, 0)], "naked")

    assert store.net_positions() == {"kalshi:A": (-100, 1_600_000), "kalshi:B": (50, 150_000),
                                     "kalshi:C": (-300, 600_000), "polymarket:0xa": (-100, 1_600_000)}
    assert store.netted_markets() == [("kalshi", "A"), ("kalshi", "B"), ("polymarket", "0xa")]
    assert held_value(store) == {"kalshi:A": 600_000, "kalshi:B": 200_000, "kalshi:C": 600_000,
                                 "polymarket:0xa": 1_600_000}       # Polymarket: the pair's $1.00 + 60¢
    # with a mid, the lots are marked as before (NO at 1 − 0.55), Polymarket's pair at $1
    assert held_value(store, mid=5_500) == {"kalshi:A": 450_000, "kalshi:B": 275_000, "kalshi:C": 1_350_000,
                                            "polymarket:0xa": 1_450_000}
    # the dashboard's positions show the same costs
    from arbbot.ops.dashboard.history import History
    history = History(store.path)
    assert {name: (p["net_lots"], p["cost_micros"]) for name, p in history.positions().items()} == {
        "kalshi:A": (-100, 600_000), "kalshi:B": (50, 200_000), "kalshi:C": (-300, 600_000),
        "polymarket:0xa": (-100, 1_600_000)}
    history.close()
    # a void market returns the held lots at cost: what the venue pays back (`resolution_payout`)
    store.record_resolution(resolution("A", "void", None, paid=False))
    assert held_value(store)["kalshi:A"] == 600_000
