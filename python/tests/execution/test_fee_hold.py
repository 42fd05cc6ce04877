"""Fee holds: the venue charged an order more than the market's fee schedule says.

Kalshi overrides an event's fee terms with `event_fee_update` on the WebSocket only; a client whose
connection was down when it was sent never learns it (there is no REST read of an override). The
simulator plays that: `event_fee_override` makes its exchange charge the new terms and tells only
the connections subscribed then. Here the adapter streams nothing, so the override is missed, and
the executor must notice from the order's fee and hold the event's markets until `arbbot ack`.

The planted opportunity buys 1,000 lots (10 contracts) of YES on each of A (≈ 40¢) and B, a
complement pair of one event. At the listing's terms (0.07) leg 0's fee is
ceil(0.07 × 10 × 0.40 × 0.60 / $0.01) = $0.17; at the override (quadratic × 3: 0.21) the venue
charges ceil(0.504 / $0.01) = $0.51.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from arbbot.engine.twin.fees import order_fee
from arbbot.engine.types import Kind, Lane, Leg, Opportunity, Side
from arbbot.execution import Executor, ExecutorConfig, OrderStore, Refused, Route
from arbbot.model import FeeSchedule
from arbbot.units import format_money
from arbbot.venues.common.model import MarketInfo, Venue
from tests.execution.fakes import Filling
from tests.execution.harness import A, B, EV, opportunity, sim_config, start_sim, venue

QUICK = ExecutorConfig(unwind_pause_s=0.05, unwind_pause_cap_s=0.05)


def _execute(tmp_path, override=None):
    """Plant the opportunity, apply `override` (fee_type, multiplier) to the event on the venue
    (missed: no WebSocket), execute; (result, store, the opportunity, the executor)."""
    h = start_sim()

    async def main():
        v = venue(sim_config(h))
        await v.discover_markets()                           # the rules the session prices with
        opp = await opportunity(v)
        if override is not None:
            done = asyncio.run_coroutine_threadsafe(_apply(h.kalshi, *override), h.loop)
            await asyncio.wrap_future(done)
        store = OrderStore(tmp_path / "o.db")
        ex = Executor(store, {f"kalshi:{A}": Route(v, A), f"kalshi:{B}": Route(v, B)}, config=QUICK)
        res = await ex.execute(opp, execution_id="x1")
        await v.close()
        return res, store, opp, ex
    try:
        return asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        h.stop()


async def _apply(sim, fee_type, multiplier):
    sim.event_fee_override(EV, fee_type, multiplier)


def test_an_override_missed_on_the_websocket_holds_the_event_at_the_first_order_charged_above_the_schedule(tmp_path):
    res, store, opp, ex = _execute(tmp_path, override=("quadratic", 3))
    # both legs were charged the override (leg 1 still had its edge, the fee paid on leg 0 counted)
    expected, reasons = [], []
    for leg, market in ((0, A), (1, B)):
        entry = next(i for i in store.intents("x1") if i.role == "entry" and i.leg == leg)
        fills = [(f.price, f.qty) for f in store.fills(entry.client_order_id)]
        charged = order_fee(FeeSchedule(taker_rate_ppm=210_000, rounding=10_000), fills)
        modelled = order_fee(FeeSchedule(taker_rate_ppm=70_000, rounding=10_000), fills)
        assert entry.filled_qty == 1_000 and entry.fee == charged >= 3 * modelled - 20_000 > modelled + 10_100
        expected.append((f"kalshi:{market}", entry.client_order_id, charged, modelled, EV))
        reasons.append(f"kalshi charged ${format_money(charged, trim=True)} for order {entry.client_order_id} on "
                       f"kalshi:{market} where its fee schedule gives ${format_money(modelled, trim=True)}: the fee "
                       f"terms changed unseen (event {EV})")
    assert res.state == "complete"
    ev = [e["data"] for e in store.events_after(0) if e["kind"] == "fee_mismatch"]
    assert [(d["market"], d["client_order_id"], d["charged_micros"], d["modelled_micros"], d["event"]) for d in ev] == expected
    assert all(d["markets"] == sorted([f"kalshi:{A}", f"kalshi:{B}"]) for d in ev)   # the event's routed markets
    assert store.fee_holds() == {f"kalshi:{A}": reasons[1], f"kalshi:{B}": reasons[1]}   # the latest reason
    with pytest.raises(Refused, match=r"^fee hold: kalshi:"):           # no new execution on the event
        ex.check(dataclasses.replace(opp, id="again"))
    assert store.clear_fee_holds("tester") == sorted([f"kalshi:{A}", f"kalshi:{B}"])
    ex.check(dataclasses.replace(opp, id="again"))                       # the operator looked: trades again
    assert store.fee_holds() == {} and store.clear_fee_holds() == []
    store.close()


def test_orders_charged_at_the_listing_terms_hold_nothing(tmp_path):
    res, store, opp, ex = _execute(tmp_path)
    entries = [i for i in store.intents("x1") if i.role == "entry"]
    assert res.state == "complete" and [i.filled_qty for i in entries] == [1_000, 1_000]
    fills = [(f.price, f.qty) for f in store.fills(entries[0].client_order_id)]
    assert entries[0].fee == order_fee(FeeSchedule(taker_rate_ppm=70_000, rounding=10_000), fills) > 0
    assert store.fee_holds() == {} and not [e for e in store.events() if e["kind"] == "fee_mismatch"]
    store.close()


@pytest.mark.parametrize("extra, held", [(0, False), (1, True)])
def test_the_slack_is_one_cent_an_order_and_a_centicent_a_fill(tmp_path, extra, held):
    """Kalshi rounds each fill's fee up to $0.0001 and the balance change to the cent: up to
    $0.01 + $0.0001 a fill above the schedule is the venue's rounding; one µ$ more is not."""
    schedule = FeeSchedule(taker_rate_ppm=70_000, rounding=10_000)
    modelled = order_fee(schedule, [(4_000, 1_000)])
    assert modelled == 170_000                                # ceil(0.07 × 10 × 0.4 × 0.6 / 1¢) = 17¢
    client = Filling(Venue.KALSHI, fee=modelled + 10_100 + extra, reports_fees=True,
                     info=MarketInfo(Venue.KALSHI, "M", "m", event_id="E", fees=schedule))
    leg = Leg("kalshi:M", Side.YES, 1_000, 4_000, 4_000_000, modelled)
    opp = Opportunity("00000000000000aa", Lane.INTRA, Kind.YES_NO, 1_000, 10_000_000, 4_000_000, modelled,
                      5_830_000, (leg,))
    store = OrderStore(tmp_path / "o.db")
    ex = Executor(store, {"kalshi:M": Route(client, "M")},
                  book_source=lambda _m: SimpleNamespace(yes=((4_000, 1_000),), no=()))
    res = asyncio.run(ex.execute(opp, execution_id="x"))
    assert res.state == "complete" and store.intents("x")[0].fee == modelled + 10_100 + extra
    assert ("kalshi:M" in store.fee_holds()) is held
    store.close()


def test_arbbot_ack_releases_fee_holds_and_status_lists_them(tmp_path):
    db = tmp_path / "o.db"
    store = OrderStore(db)
    store.hold_for_fees(["kalshi:X-1", "kalshi:X-2"], "kalshi charged $0.51 where its fee schedule gives $0.17")
    store.close()

    def run(*args):
        return subprocess.run([sys.executable, "-m", "arbbot.cli", *args], capture_output=True, text=True,
                              env=os.environ, cwd=tmp_path, timeout=60)
    st = run("status", "--db", str(db), "--json")
    assert st.returncode == 0 and json.loads(st.stdout)["fee_held_markets"] == ["kalshi:X-1", "kalshi:X-2"]
    table = run("status", "--db", str(db))
    assert "fee hold" in table.stdout and "kalshi:X-1" in table.stdout
    ack = run("ack", "--db", str(db))
    assert ack.returncode == 0
    assert "fee hold released: kalshi:X-1" in ack.stdout and "fee hold released: kalshi:X-2" in ack.stdout
    st = run("status", "--db", str(db), "--json")
    assert json.loads(st.stdout)["fee_held_markets"] == []
    store = OrderStore(db)
    released = [e for e in store.events_after(0) if e["kind"] == "fee_holds_released"]
    assert len(released) == 1 and released[0]["data"]["markets"] == ["kalshi:X-1", "kalshi:X-2"]
    store.close()


def test_a_venue_whose_fees_the_adapter_works_out_is_never_held(tmp_path):
    """Polymarket's order fee is the adapter's own sum from the schedule (a multi-price order's
    is an upper bound of its fills'), paper's the ledger's: comparing it with the schedule finds
    nothing the venue did and could only misfire. Only a venue that `reports_fees` is checked."""
    schedule = FeeSchedule(taker_rate_ppm=70_000, rounding=10_000)
    client = Filling(Venue.POLYMARKET, fee=999_999, info=MarketInfo(Venue.POLYMARKET, "M", "m", event_id="E", fees=schedule))
    leg = Leg("polymarket:M", Side.YES, 1_000, 4_000, 4_000_000, 0)
    opp = Opportunity("00000000000000ab", Lane.INTRA, Kind.YES_NO, 1_000, 10_000_000, 4_000_000, 0, 5_000_000, (leg,))
    store = OrderStore(tmp_path / "o.db")
    ex = Executor(store, {"polymarket:M": Route(client, "M")},
                  book_source=lambda _m: SimpleNamespace(yes=((4_000, 1_000),), no=()))
    assert asyncio.run(ex.execute(opp, execution_id="x")).state == "complete"
    assert store.intents("x")[0].fee == 999_999 and store.fee_holds() == {}
    store.close()
