"""Markets settle in the simulator: the engine pays holders exactly and closes the market; Kalshi
shows the result on its markets (OpenAPI-valid), lists each payout in `/portfolio/settlements`
and tells `market_lifecycle_v2`; Polymarket shows the UMA resolution on Gamma, refuses orders and
sends `market_resolved`, paying nothing (tokens are redeemed on chain); a Kalshi void refunds
each holder's cost basis; an archived Kalshi market moves to `/historical/markets`; a scenario's
settlements fire on the simulator's own clock, once. Units: ticks, lots, µ$ (Kalshi cents on its wire)."""
from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import aiohttp
import httpx
import pytest

from arbbot.sim import cli_main
from arbbot.sim.engine.matching import FULL, HOUSE, BookDelta, Exchange, FeeModel, MarketSettled, MarketState, SimReject
from arbbot.sim.kalshi import KalshiSim
from arbbot.sim.kalshi.auth import KeyRegistry
from arbbot.sim.scenarios import build
from arbbot.sim.settlements import ScheduledSettlement, parse_settlements
from arbbot.sim.wire import iso_time
from arbbot.venues.common.errors import OrderRejected
from arbbot.venues.common.model import OrderRequest, Side, TimeInForce
from arbbot.venues.kalshi.common.signing import KalshiSigner
from tests.run.test_cli_input import in_process
from tests.sim.venue_envs import KEY_ID, T0_MS, kalshi, kalshi_raw, polymarket, sim_process
from tests.venues.conftest import wait_for
from tests.venues.test_kalshi_conformance import _Req, _Resp

H0, C25, C50 = "KXFEDDECISION-26DEC-H0", "KXFEDDECISION-26DEC-C25", "KXFEDDECISION-26DEC-C50"


def run(coro, limit: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


# ---- the engine --------------------------------------------------------------------------------

def _exchange(fees: FeeModel = FeeModel()) -> tuple[Exchange, MarketState, list]:
    """One market "M" (whole contracts), the house bidding NO 0.40 ×10 and YES 0.50 ×10, accounts
    a and b with $1,000 each; every engine event recorded."""
    ex = Exchange(lambda: 1_234_000)
    m = MarketState("M", fees)
    ex.add_market(m)
    for name in ("a", "b"):
        ex.account(name, 1_000_000_000)
    ex.place(HOUSE, "M", "no", "buy", 4_000, 1_000)
    ex.place(HOUSE, "M", "yes", "buy", 5_000, 1_000)
    events: list = []
    ex.listeners.append(events.append)
    return ex, m, events


def test_settle_yes_pays_yes_holders_cancels_every_order_and_closes_the_market():
    ex, m, events = _exchange()
    a, b = ex.accounts["a"], ex.accounts["b"]
    ex.place("a", "M", "yes", "buy", 6_000, 300, "ioc")            # takes the NO 0.40 bid: 3 YES at 0.60
    ex.place("b", "M", "no", "buy", 5_000, 200, "ioc")             # takes the YES 0.50 bid: 2 NO at 0.50
    resting, _ = ex.place("a", "M", "yes", "buy", 1_000, 500)      # rests: 5 YES at 0.10
    assert (a.balance, b.balance) == (1_000_000_000 - 1_800_000, 1_000_000_000 - 1_000_000)
    events.clear()
    ev = ex.settle("M", FULL)
    # payouts: 300 YES lots × 10,000 µ$ = $3.00 to a; b's NO lots pay 0
    assert a.balance == 1_000_000_000 - 1_800_000 + 3_000_000 and b.balance == 1_000_000_000 - 1_000_000
    assert a.positions["M"] == 0 and b.positions["M"] == 0
    rec_a, rec_b = a.settlements[0], b.settlements[0]
    assert (rec_a.result, rec_a.yes_value, rec_a.yes_lots, rec_a.no_lots, rec_a.yes_cost, rec_a.revenue,
            rec_a.settled_ms) == ("yes", 10_000, 300, 0, 1_800_000, 3_000_000, 1_234_000)
    assert (rec_b.yes_lots, rec_b.no_lots, rec_b.no_cost, rec_b.revenue) == (0, 200, 1_000_000, 0)
    # every resting order cancelled, the house's too, each published as a book delta
    assert resting.status == "canceled" and m.bids == {"yes": [], "no": []}
    deltas = sorted((e.side, e.price, e.delta) for e in events if isinstance(e, BookDelta))
    assert deltas == [("no", 4_000, -700), ("yes", 1_000, -500), ("yes", 5_000, -800)]
    assert isinstance(events[-1], MarketSettled) and events[-1] is ev and resting in ev.cancelled
    assert (m.result, m.yes_value, m.settled_ms, m.open) == ("yes", 10_000, 1_234_000, False)
    with pytest.raises(SimReject) as refused:
        ex.place("b", "M", "yes", "buy", 5_000, 100)
    assert refused.value.code == "market_closed"
    with pytest.raises(SimReject):
        ex.settle("M", 0)                                          # once only


def test_settle_half_pays_both_sides_and_costs_the_lots_still_held():
    ex, _m, _ = _exchange(FeeModel(70_000, 0, 10_000))
    a = ex.accounts["a"]
    ex.place("a", "M", "yes", "buy", 6_000, 300, "ioc")            # 3 YES at 0.60
    ex.place("a", "M", "no", "buy", 5_000, 100, "ioc")             # 1 NO at 0.50: nets one pair ($1 back)
    assert a.positions["M"] == 200
    before = a.balance
    ex.settle("M", 5_000)
    rec = a.settlements[0]
    # the 2 YES still held cost 0.60 each (first in, first out); half pays 5,000 µ$ a lot
    assert (rec.result, rec.yes_lots, rec.yes_cost, rec.revenue) == ("scalar", 200, 1_200_000, 1_000_000)
    assert rec.fees == a.fees_paid["M"] > 0 and a.balance == before + 1_000_000


def test_settle_without_payment_keeps_positions_and_cash():
    ex, m, _ = _exchange()
    a, b = ex.accounts["a"], ex.accounts["b"]
    ex.place("a", "M", "yes", "buy", 6_000, 300, "ioc")
    ex.place("b", "M", "no", "buy", 1_000, 200)                    # rests
    cash = (a.balance, b.balance)
    ex.settle("M", 0, pay=False)
    assert (a.balance, b.balance) == cash and a.positions["M"] == 300 and not a.settlements
    assert m.bids == {"yes": [], "no": []} and (m.result, m.open) == ("no", False)


def test_settle_void_refunds_each_holder_the_cost_of_the_lots_it_holds():
    ex, m, events = _exchange(FeeModel(70_000, 0, 10_000))
    a, b = ex.accounts["a"], ex.accounts["b"]
    ex.place("a", "M", "yes", "buy", 6_000, 300, "ioc")            # 3 YES at 0.60 = 1,800,000 µ$
    ex.place("a", "M", "no", "buy", 5_000, 100, "ioc")             # 1 NO at 0.50: nets one pair ($1 back)
    ex.place("b", "M", "no", "buy", 5_000, 200, "ioc")             # 2 NO at 0.50 = 1,000,000 µ$
    resting, _ = ex.place("b", "M", "yes", "buy", 1_000, 100)      # rests
    assert (a.positions["M"], b.positions["M"]) == (200, -200)
    cash = (a.balance, b.balance)
    fees = (a.fees_paid["M"], b.fees_paid["M"])
    assert fees[0] > 0 and fees[1] > 0
    events.clear()
    ev = ex.settle("M", refund_cost=True)
    # a: the 2 YES still held cost 0.60 each (first in, first out) → 1,200,000 back; b: 2 NO at 0.50
    assert (a.balance - cash[0], b.balance - cash[1]) == (1_200_000, 1_000_000)
    rec_a, rec_b = a.settlements[0], b.settlements[0]
    assert (rec_a.result, rec_a.yes_value, rec_a.yes_lots, rec_a.no_lots, rec_a.yes_cost, rec_a.no_cost,
            rec_a.revenue, rec_a.fees, rec_a.settled_ms) == ("void", None, 200, 0, 1_200_000, 0, 1_200_000,
                                                              fees[0], 1_234_000)
    assert (rec_b.result, rec_b.yes_value, rec_b.no_lots, rec_b.no_cost, rec_b.revenue) == \
        ("void", None, 200, 1_000_000, 1_000_000)
    assert a.positions["M"] == b.positions["M"] == 0                # fees are not refunded
    assert (m.result, m.yes_value, m.open, m.settled) == ("void", None, False, True)
    assert resting.status == "canceled" and m.bids == {"yes": [], "no": []}
    assert isinstance(events[-1], MarketSettled) and (ev.result, ev.yes_value) == ("void", None)
    assert resting in ev.cancelled and dict(ev.records)["a"] is rec_a
    with pytest.raises(SimReject):
        ex.settle("M", refund_cost=True)                           # once only


def test_settle_refuses_a_yes_value_with_a_void_and_a_payout_without_one():
    ex, m, _ = _exchange()
    with pytest.raises(ValueError, match="no yes_value"):
        ex.settle("M", 5_000, refund_cost=True)
    with pytest.raises(ValueError, match="yes_value must be an integer"):
        ex.settle("M")
    assert m.open and not m.settled
    ex.settle("M", 0)                                              # the existing call, unchanged
    assert m.result == "no"


# ---- Kalshi ------------------------------------------------------------------------------------

async def _buy(sim, keys, ticker: str, count: str, coid: str, price: str = "0.9900", tif="immediate_or_cancel"):
    """Buy YES (a V2 bid at the YES price); the order as `GET /portfolio/orders/{order_id}` reads it."""
    r = await kalshi_raw(sim, keys, "POST", "/portfolio/events/orders", body={
        "ticker": ticker, "client_order_id": coid, "side": "bid", "count": count, "price": price,
        "time_in_force": tif, "self_trade_prevention_type": "taker_at_cross"})
    assert r.status_code == 201, r.text
    return (await kalshi_raw(sim, keys, "GET", f"/portfolio/orders/{r.json()['order_id']}")).json()["order"]


def signed_calls(keys, checked: list):
    """`call(sim, method, rel, query, body)`: a signed Kalshi request, its answer kept in `checked`."""
    async def call(sim, method, rel, query=None, body=None):
        r = await kalshi_raw(sim, keys, method, rel, query, body)
        checked.append((method, "/trade-api/v2" + rel, query or {}, body, r))
        return r
    return call


def assert_valid(openapi, checked: list) -> None:
    """Every successful answer in `checked` is valid against the Kalshi OpenAPI."""
    for method, path, query, body, r in checked:
        if r.status_code < 300:
            openapi.validate_response(_Req(method, path, query, {}, json.dumps(body).encode() if body else None),
                                      _Resp(r))


def test_kalshi_settled_markets_and_settlements_follow_the_openapi_schema(keys, openapi):
    async def main():
        checked = []
        call = signed_calls(keys, checked)

        async with kalshi(keys) as (sim, _v, clock):
            bought = await _buy(sim, keys, H0, "3.00", "k-1")
            six = Decimal("0.000001")
            cost = Decimal(bought["taker_fill_cost_dollars"]).quantize(six)           # what the 3 YES cost, $
            fee = Decimal(bought["taker_fees_dollars"]).quantize(six)
            assert bought["fill_count_fp"] == "3.00" and cost > 0
            rest = await _buy(sim, keys, H0, "2.00", "k-2", price="0.0500", tif="good_till_canceled")
            await _buy(sim, keys, C25, "1.00", "k-3")
            cents = (await call(sim, "GET", "/portfolio/balance")).json()["balance"]
            ws = await _lifecycle_ws(sim, keys)
            clock.advance(60_000)
            sim.settle_market(H0, "yes")
            clock.advance(60_000)
            sim.settle_market(C25, "half")
            # the result on the market: finalized, the YES payout per contract, when
            m = (await call(sim, "GET", f"/markets/{H0}")).json()["market"]
            assert (m["status"], m["result"], m["settlement_value_dollars"], m["settlement_ts"]) == \
                ("finalized", "yes", "1.0000", iso_time(T0_MS + 60_000))
            both = (await call(sim, "GET", "/markets", {"tickers": f"{H0},{C25},NOPE"})).json()["markets"]
            assert [(x["ticker"], x["result"], x["settlement_value_dollars"]) for x in both] == \
                [(H0, "yes", "1.0000"), (C25, "scalar", "0.5000")]
            settled = (await call(sim, "GET", "/markets", {"status": "settled"})).json()["markets"]
            assert {x["ticker"] for x in settled} == {H0, C25}
            open_ = (await call(sim, "GET", "/markets", {"status": "open"})).json()["markets"]
            assert open_ and not {H0, C25} & {x["ticker"] for x in open_}
            assert "settlement_value_dollars" not in open_[0] and open_[0]["result"] == ""
            events = (await call(sim, "GET", "/events", {"with_nested_markets": "true", "status": "open"})).json()
            nested = {x["ticker"]: x["status"] for e in events["events"] for x in e["markets"]}
            assert nested[H0] == "finalized" and nested[C50] == "active"
            # the payouts: 3 YES at yes = 300 cents; 1 YES at 0.50 = 50 cents; and the 10 cents the
            # resting order reserved (read while it rested) released as settlement cancelled it
            assert (await call(sim, "GET", "/portfolio/balance")).json()["balance"] == cents + 300 + 50 + 10
            body = (await call(sim, "GET", "/portfolio/settlements")).json()
            first, second = body["settlements"]                                   # newest first
            assert body["cursor"] == "" and first["ticker"] == C25 and second["ticker"] == H0
            assert second == {"ticker": H0, "event_ticker": "KXFEDDECISION-26DEC", "market_result": "yes",
                              "yes_count_fp": "3.00", "no_count_fp": "0.00",
                              "yes_total_cost_dollars": str(cost), "no_total_cost_dollars": "0.000000",
                              "revenue": 300, "settled_time": iso_time(T0_MS + 60_000),
                              "fee_cost": str(fee), "value": 100}
            assert (first["market_result"], first["revenue"], first["value"]) == ("scalar", 50, 50)
            page = (await call(sim, "GET", "/portfolio/settlements", {"limit": "1"})).json()
            assert [s["ticker"] for s in page["settlements"]] == [C25] and page["cursor"]
            page2 = (await call(sim, "GET", "/portfolio/settlements", {"limit": "1", "cursor": page["cursor"]})).json()
            assert [s["ticker"] for s in page2["settlements"]] == [H0] and page2["cursor"] == ""
            t1 = (T0_MS + 60_000) // 1000
            window = (await call(sim, "GET", "/portfolio/settlements", {"min_ts": str(t1), "max_ts": str(t1)})).json()
            assert [s["ticker"] for s in window["settlements"]] == [H0]
            assert [s["ticker"] for s in (await call(sim, "GET", "/portfolio/settlements",
                                                     {"ticker": C25})).json()["settlements"]] == [C25]
            positions = (await call(sim, "GET", "/portfolio/positions")).json()["market_positions"]
            assert {p["ticker"]: p["position_fp"] for p in positions}[H0] == "0.00"
            order = (await call(sim, "GET", f"/portfolio/orders/{rest['order_id']}")).json()["order"]
            assert order["status"] == "canceled"
            refused = await call(sim, "POST", "/portfolio/events/orders", body={
                "ticker": H0, "client_order_id": "k-4", "side": "bid", "count": "1.00", "price": "0.5000",
                "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"})
            assert refused.status_code == 409 and refused.json()["error"]["code"] == "market_closed"
            # WebSocket: our order's cancel, then determined and settled
            got = await _frames(ws)
            await ws.close()
            assert any(f["type"] == "user_order" and f["msg"]["order_id"] == rest["order_id"]
                       and f["msg"]["status"] == "canceled" for f in got)
            life = [f["msg"] for f in got if f["type"] == "market_lifecycle_v2"]
            assert life[:2] == [{"market_ticker": H0, "event_type": "determined", "result": "yes",
                                 "determination_ts": (T0_MS + 60_000) // 1000, "settlement_value": "1.0000"},
                                {"market_ticker": H0, "event_type": "settled", "settled_ts": (T0_MS + 60_000) // 1000}]
            assert life[2]["result"] == "scalar" and life[2]["settlement_value"] == "0.5000"
        return checked

    checked = run(main())
    assert_valid(openapi, checked)
    assert len(checked) == 15


def test_kalshi_void_shows_no_result_on_the_market_and_refunds_cost_in_settlements(keys, openapi):
    async def main():
        checked = []
        call = signed_calls(keys, checked)

        async with kalshi(keys) as (sim, _v, clock):
            bought = await _buy(sim, keys, H0, "3.00", "v-1")
            assert bought["taker_fill_cost_dollars"] == "1.6200"                    # 3 YES at 0.54
            rest = await _buy(sim, keys, H0, "2.00", "v-2", price="0.0500", tif="good_till_canceled")
            cents = (await call(sim, "GET", "/portfolio/balance")).json()["balance"]
            ws = await _lifecycle_ws(sim, keys)
            clock.advance(60_000)
            ev = sim.settle_market(H0, "void")
            assert (ev.result, ev.yes_value) == ("void", None)
            with pytest.raises(ValueError, match="already settled"):
                sim.settle_market(H0, "void")
            m = (await call(sim, "GET", f"/markets/{H0}")).json()["market"]
            # finalized; Market.result has no "void": "", and no settlement value
            assert (m["status"], m["result"], m["settlement_ts"]) == ("finalized", "", iso_time(T0_MS + 60_000))
            assert "settlement_value_dollars" not in m
            settled = (await call(sim, "GET", "/markets", {"status": "settled"})).json()["markets"]
            assert [x["ticker"] for x in settled] == [H0]
            # the 3 contracts' cost back: 162 cents; and the resting order's 10 cents, reserved when the
            # balance was read, released as the void cancelled it
            assert (await call(sim, "GET", "/portfolio/balance")).json()["balance"] == cents + 162 + 10
            body = (await call(sim, "GET", "/portfolio/settlements", {"ticker": H0})).json()
            [s] = body["settlements"]
            assert (s["market_result"], s["revenue"], s["value"], s["yes_count_fp"], s["yes_total_cost_dollars"]) \
                == ("void", 162, None, "3.00", "1.620000")
            order = (await call(sim, "GET", f"/portfolio/orders/{rest['order_id']}")).json()["order"]
            assert order["status"] == "canceled"
            got = await _frames(ws)
            assert any(f["type"] == "user_order" and f["msg"]["order_id"] == rest["order_id"]
                       and f["msg"]["status"] == "canceled" for f in got)
            with pytest.raises(ValueError, match="result must be one of"):
                sim.settle_market(C25, "maybe")
        return checked

    checked = run(main())
    assert_valid(openapi, checked)
    assert len(checked) == 6


def test_kalshi_archived_markets_move_to_the_public_historical_endpoints(keys, openapi):
    async def main():
        checked = []

        async def public(sim, rel, query=None):          # unsigned: the OpenAPI gives them no security
            async with httpx.AsyncClient() as c:
                r = await c.get(sim.base_url + rel, params=query)
            checked.append(("GET", "/trade-api/v2" + rel, query or {}, None, r))
            return r

        async with kalshi(keys) as (sim, _v, clock):
            with pytest.raises(ValueError, match="not settled"):
                sim.archive_market(H0)
            await _buy(sim, keys, H0, "1.00", "h-1")
            clock.advance(10_000)
            sim.settle_market(H0, "yes")
            sim.settle_market(C25, "half")
            clock.advance(10_000)
            sim.settle_market(C50, "no")
            assert sim.archive_settled_before(T0_MS + 15_000) == [H0, C25]
            sim.archive_market(H0)                                                # idempotent
            live = (await public(sim, "/markets", {"tickers": f"{H0},{C25},{C50}"})).json()
            assert [x["ticker"] for x in live["markets"]] == [C50]
            assert (await public(sim, f"/markets/{H0}")).status_code == 404
            old = (await public(sim, "/historical/markets", {"tickers": f"{H0},{C25},{C50}"})).json()
            assert [(x["ticker"], x["status"], x["result"], x["settlement_value_dollars"]) for x in old["markets"]] \
                == [(H0, "finalized", "yes", "1.0000"), (C25, "finalized", "scalar", "0.5000")]
            assert old["cursor"] == ""
            one = (await public(sim, f"/historical/markets/{C25}")).json()["market"]
            assert (one["ticker"], one["settlement_ts"]) == (C25, iso_time(T0_MS + 10_000))
            assert (await public(sim, f"/historical/markets/{C50}")).status_code == 404
            page = (await public(sim, "/historical/markets", {"limit": "1"})).json()
            assert [x["ticker"] for x in page["markets"]] == [H0] and page["cursor"]
            page2 = (await public(sim, "/historical/markets", {"limit": "1", "cursor": page["cursor"]})).json()
            assert [x["ticker"] for x in page2["markets"]] == [C25] and page2["cursor"] == ""
            ev = (await public(sim, "/historical/markets", {"event_ticker": "KXFEDDECISION-26DEC"})).json()
            assert [x["ticker"] for x in ev["markets"]] == [H0, C25]
            both = await public(sim, "/historical/markets", {"tickers": H0, "event_ticker": "KXFEDDECISION-26DEC"})
            assert both.status_code == 400 and both.json()["code"] == "invalid_parameters"
            nested = (await public(sim, "/events", {"with_nested_markets": "true"})).json()["events"]
            tickers = {x["ticker"] for e in nested for x in e["markets"]}
            assert C50 in tickers and not {H0, C25} & tickers
            # the payout made before it was archived stays listed
            settled = (await kalshi_raw(sim, keys, "GET", "/portfolio/settlements")).json()["settlements"]
            assert [(x["ticker"], x["market_result"], x["revenue"]) for x in settled] == [(H0, "yes", 100)]
        return checked

    checked = run(main())
    assert_valid(openapi, checked)
    assert len(checked) == 10


async def _lifecycle_ws(sim, keys):
    """A signed connection subscribed to market_lifecycle_v2 (all markets) and user_orders."""
    hdr = KalshiSigner(KEY_ID, keys[0]).headers("GET", "/trade-api/ws/v2")
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(sim.ws_url, headers=hdr)
    ws._test_session = session                                    # closed with the socket (`_frames`)
    await ws.send_str(json.dumps({"id": 1, "cmd": "subscribe",
                                  "params": {"channels": ["market_lifecycle_v2", "user_orders"]}}))
    await wait_for(lambda: len(sim.connections) == 1, what="the lifecycle connection")
    await asyncio.sleep(0.1)
    return ws


async def _frames(ws, quiet: float = 0.3) -> list[dict]:
    out = []
    try:
        while True:
            out.append(json.loads((await ws.receive(timeout=quiet)).data))
    except asyncio.TimeoutError:
        pass
    finally:
        await ws.close()
        await ws._test_session.close()
    return out


# ---- Polymarket --------------------------------------------------------------------------------

def test_polymarket_resolution_shows_on_gamma_refuses_orders_and_pays_nothing():
    async def main():
        async with polymarket() as (sim, v, clock):
            await v.discover_markets()
            alv, brk, cho, dvs = sim.event_conds["mayor-2026"]
            l = sim.listings[alv][2]
            acct = sim.exchange.accounts["trader"]
            await v.place_order(OrderRequest(alv, Side.YES, 4_300, 1_000, tif=TimeInForce.IOC))   # 10 YES at the ask
            cash, held = acct.balance, acct.positions[alv]
            async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url) as plain, \
                    s.ws_connect(sim.ws_url) as custom:
                await plain.send_str(json.dumps({"assets_ids": [l.yes_token], "type": "market"}))
                await custom.send_str(json.dumps({"assets_ids": [l.no_token], "type": "market",
                                                  "custom_feature_enabled": True}))
                await wait_for(lambda: sum(bool(c.assets) for c in sim.connections) == 2, what="subscriptions")
                clock.advance(5_000)
                sim.settle_market(alv, "yes")
                sim.settle_market(brk, "no")
                sim.settle_market(cho, "half")
                got = {"plain": [], "custom": []}
                for name, ws in (("plain", plain), ("custom", custom)):
                    try:
                        while True:
                            msg = json.loads((await ws.receive(timeout=0.3)).data)
                            got[name] += msg if isinstance(msg, list) else [msg]
                    except asyncio.TimeoutError:
                        pass
            resolved = [m for m in got["custom"] if m["event_type"] == "market_resolved"]
            assert resolved == [{"event_type": "market_resolved", "id": sim.market_ids[alv], "market": alv,
                                 "assets_ids": [l.yes_token, l.no_token], "winning_asset_id": l.yes_token,
                                 "winning_outcome": "Yes", "timestamp": str(T0_MS + 5_000)}]
            assert not [m for m in got["plain"] if m["event_type"] == "market_resolved"]
            # Gamma: closed, resolved, paying 1/0, 0/1, 0.5/0.5 (yes first, as `outcomes`)
            async with httpx.AsyncClient() as c:
                r = await c.get(sim.gamma_url + "/markets", params=[("condition_ids", x) for x in (alv, brk, cho, dvs)]
                                + [("closed", "true")])
                by = {m["conditionId"]: m for m in r.json()}
                assert set(by) == {alv, brk, cho}
                for cond, prices in ((alv, ["1", "0"]), (brk, ["0", "1"]), (cho, ["0.5", "0.5"])):
                    m = by[cond]
                    assert (m["closed"], m["active"], m["acceptingOrders"], m["umaResolutionStatus"]) == \
                        (True, True, False, "resolved")
                    assert json.loads(m["outcomePrices"]) == prices and json.loads(m["outcomes"]) == ["Yes", "No"]
                    assert m["closedTime"] == "2026-09-21 14:13:25+00"
                assert json.dumps(["0.5", "0.5"]) == by[cho]["outcomePrices"] == '["0.5", "0.5"]'
                open_ = (await c.get(sim.gamma_url + "/markets", params=[("condition_ids", alv), ("condition_ids", dvs),
                                                                         ("closed", "false")])).json()
                assert [m["conditionId"] for m in open_] == [dvs] and "umaResolutionStatus" not in open_[0]
                ev = (await c.get(sim.gamma_url + "/events", params={"slug": "mayor-2026"})).json()[0]
                assert ev["closed"] is False and {m["conditionId"]: m["closed"] for m in ev["markets"]}[alv] is True
                sim.settle_market(dvs, "no")
                assert [e["slug"] for e in (await c.get(sim.gamma_url + "/events", params={"closed": "true"})).json()] \
                    == ["mayor-2026"]
                # its books are gone: GET /book answers 404, POST /books leaves its tokens out
                r = await c.get(v.config.clob_url + "/book", params={"token_id": l.yes_token})
                assert (r.status_code, r.json()) == (404, {"error": "No orderbook exists for the requested token id"})
                other = next(cond for cond, m in sim.exchange.markets.items() if m.open)
                ol = sim.listings[other][2]
                r = await c.post(v.config.clob_url + "/books", json=[{"token_id": t} for t in
                                                                      (l.yes_token, ol.yes_token, l.no_token)])
                assert [b["asset_id"] for b in r.json()] == [ol.yes_token]
            # an order on it is refused (the CLOB has no book for a resolved market's tokens)
            with pytest.raises(OrderRejected, match="No orderbook exists for the requested token id"):
                await v.place_order(OrderRequest(alv, Side.YES, 5_000, 1_000, tif=TimeInForce.IOC))
            # nothing is paid: the tokens stay until redeemed
            assert (acct.balance, acct.positions[alv]) == (cash, held) == (cash, 1_000)
            assert not sim.exchange.markets[alv].bids["yes"] and not sim.exchange.markets[alv].bids["no"]
    run(main())


# ---- scheduled settlements ---------------------------------------------------------------------

@pytest.mark.parametrize("raw, message", [
    ({"venue": "kalshi"}, "settlements must be a list"),
    (["x"], r"settlements\[0\]: expected an object, got str"),
    ([{"venue": "kalshi", "market": H0, "result": "yes"}], r"settlements\[0\]: missing after_s"),
    ([{"venue": "kalshi", "market": H0, "result": "yes", "after_s": 1, "when": 2}], r"unknown when"),
    ([{"venue": "forecastex", "market": "FF", "result": "yes", "after_s": 1}], "venue must be kalshi or polymarket"),
    ([{"venue": "kalshi", "market": "", "result": "yes", "after_s": 1}], "market must be a non-empty string"),
    ([{"venue": "kalshi", "market": H0, "result": "maybe", "after_s": 1}], "result must be yes, no or half"),
    ([{"venue": "kalshi", "market": H0, "result": "yes", "after_s": -1}], "after_s must be a number"),
    ([{"venue": "kalshi", "market": H0, "result": "yes", "after_s": True}], "after_s must be a number"),
    ([{"venue": "kalshi", "market": H0, "result": "yes", "after_s": 1},
      {"venue": "kalshi", "market": H0, "result": "no", "after_s": 2}], r"settlements\[1\]: .* settled twice"),
])
def test_bad_settlement_entries_are_refused_by_name(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_settlements(raw)


def test_a_scheduled_settlement_fires_once_when_due(keys):
    async def main():
        sc = build("fed", 7)
        sc.settlements = parse_settlements([{"venue": "kalshi", "market": H0, "result": "no", "after_s": 0.4},
                                            {"venue": "polymarket", "market": "0xnot-this-venue", "result": "yes",
                                             "after_s": 0}])
        sim = KalshiSim(sc, 7, registry=KeyRegistry())
        calls = []
        real = sim.settle_market
        sim.settle_market = lambda *a: calls.append((time.monotonic(), a)) or real(*a)
        await sim.start("127.0.0.1", 0)
        t0 = time.monotonic()
        try:
            await asyncio.sleep(0.25)
            assert not sim.exchange.markets[H0].settled and not calls
            await wait_for(lambda: sim.exchange.markets[H0].settled, timeout=5, what="the settlement")
            await asyncio.sleep(0.5)
            assert [a for _t, a in calls] == [(H0, "no")]
            assert 0.35 <= calls[0][0] - t0 < 1.5
            assert sim.exchange.markets[H0].result == "no"
        finally:
            await sim.stop()
    run(main())


def test_the_cli_refuses_bad_settlements_before_starting(capsys):
    code, out, err = in_process(cli_main, ["--settlements", "[{\"venue\": \"kalshi\"}]"], capsys)
    assert code == 2 and out == "" and err.strip().endswith("missing after_s, market, result")
    assert err.startswith("arbbot sim: bad --settlements: settlements[0]")
    code, out, err = in_process(cli_main, ["--settlements", "not json"], capsys)
    assert code == 2 and err.startswith("arbbot sim: bad --settlements:")
    code, out, err = in_process(cli_main, ["--scenario", "fed", "--step", "0", "--settlements", json.dumps(
        [{"venue": "kalshi", "market": "KXNOPE", "result": "yes", "after_s": 1}])], capsys)
    assert code == 2 and "kalshi lists no market 'KXNOPE' in scenario fed" in err and "Traceback" not in err


def test_a_simulator_process_settles_on_its_own_clock():
    plan = [{"venue": "kalshi", "market": H0, "result": "half", "after_s": 6.0}]   # (startup takes ~2 s)
    with sim_process("--scenario", "fed", "--step", "0", "--settlements", json.dumps(plan),
                     until="kalshi_key_id") as lines:
        url = lines["kalshi_rest"] + f"/markets/{H0}"
        first = httpx.get(url).json()["market"]
        assert first["status"] == "active"
        deadline = time.monotonic() + 20
        while (m := httpx.get(url).json()["market"])["status"] != "finalized":
            assert time.monotonic() < deadline, "never settled"
            time.sleep(0.1)
        assert (m["result"], m["settlement_value_dollars"]) == ("scalar", "0.5000")


def test_scheduled_settlement_records_round_trip():
    s = ScheduledSettlement("polymarket", "0xabc", "half", 2.0)
    assert parse_settlements([s]) == (s,) and s.yes_value == 5_000
