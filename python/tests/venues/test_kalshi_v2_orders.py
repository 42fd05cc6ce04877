"""Kalshi orders through the V2 order API (`/portfolio/events/orders`).

Kalshi retired the legacy order writes (`POST /portfolio/orders` answers `410
deprecated_v1_order_endpoint`): the adapter sent every order there, so live trading was refused.
Now it creates and cancels through V2 — the one YES book (`bid` buys YES, `ask` sells YES = buys NO
at 1 − p), `count` / `price` (the YES price) fixed-point strings, `self_trade_prevention_type`
required — sends every sale IOC and without `reduce_only` (Kalshi nets YES and NO across the
account: a sale must be able to net against lots another execution holds), reads the money of an order that filled from the order itself (the
V2 answer has only rounded averages), and takes a 4xx answer to a create (but 408 and a duplicate
client order id) for what it is, a refusal. The simulator serves V2 with Kalshi's semantics and
answers the V1 writes 410. Each of these changes is pinned by tests that failed on the old code;
a few tests guard what already held (DAY refused, 408 and a duplicate id = outcome unknown).
"""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from arbbot.sim import _keypair
from arbbot.sim.scenarios import Faults
from arbbot.venues.common.errors import NotFound, OrderRejected, OutcomeUnknown
from arbbot.venues.common.model import Action, Order, OrderRequest, OrderStatus, Side, TimeInForce, Venue
from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
from arbbot.venues.kalshi.common.signing import KalshiSigner
from arbbot.venues.kalshi.execution import KalshiExecutionClient, order_body
from arbbot.venues.kalshi.http.client import KalshiHttpClient
from arbbot.venues.kalshi.schemas.rest import parse_fill, parse_order
from tests.venues.kalshi_env import KEY_ID, kalshi_env

H0 = "KXFEDDECISION-26DEC-H0"          # fed scenario: YES bid 50¢ × 100, NO bid 46¢ × 100 (YES ask 54¢)
ROOT = "/trade-api/v2"
BUY, SELL, YES, NO = Action.BUY, Action.SELL, Side.YES, Side.NO
IOC, GTC, FOK = TimeInForce.IOC, TimeInForce.GTC, TimeInForce.FOK


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def req(side, action, price, lots, tif=IOC, coid="c-1", **kw) -> OrderRequest:
    return OrderRequest("KX-T", side, price, lots, action=action, tif=tif, client_order_id=coid, **kw)


# ---- the body: factsheet §1.6.2's direction table, golden values -------------------------------

@pytest.mark.parametrize("request_, body", [
    (req(YES, BUY, 4_200, 1_000, GTC),                       # buy YES at 42¢ = bid 42¢
     {"ticker": "KX-T", "client_order_id": "c-1", "side": "bid", "count": "10.00", "price": "0.4200",
      "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}),
    (req(YES, SELL, 4_200, 1_000),                           # sell YES at 42¢ = ask 42¢
     {"ticker": "KX-T", "client_order_id": "c-1", "side": "ask", "count": "10.00", "price": "0.4200",
      "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "taker_at_cross"}),
    (req(NO, BUY, 5_855, 250, FOK),                          # buy NO at 58.55¢ = ask 41.45¢ (YES price)
     {"ticker": "KX-T", "client_order_id": "c-1", "side": "ask", "count": "2.50", "price": "0.4145",
      "time_in_force": "fill_or_kill", "self_trade_prevention_type": "taker_at_cross"}),
    (req(NO, SELL, 5_800, 7),                                # sell NO at 58¢ = bid 42¢
     {"ticker": "KX-T", "client_order_id": "c-1", "side": "bid", "count": "0.07", "price": "0.4200",
      "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "taker_at_cross"}),
    (req(YES, BUY, 9_900, 100, GTC, post_only=True),
     {"ticker": "KX-T", "client_order_id": "c-1", "side": "bid", "count": "1.00", "price": "0.9900",
      "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross", "post_only": True}),
])
def test_v2_body_for_each_direction(request_, body):
    assert order_body(request_) == body


@pytest.mark.parametrize("tif", [GTC, FOK, TimeInForce.DAY])
def test_a_sale_that_is_not_ioc_is_refused_before_sending(tif):
    sent = []
    http = _mock_http(lambda r: sent.append(r) or httpx.Response(201, json={}))
    with pytest.raises(OrderRejected, match="not supported|only as IOC"):
        run(KalshiExecutionClient(http).place(req(YES, SELL, 4_200, 100, tif)))
    assert sent == []
    run(http.close())


def test_order_body_always_carries_a_client_order_id():
    body = order_body(OrderRequest("KX-T", YES, 4_200, 100))
    assert body["client_order_id"].startswith("arb-") and len(body["client_order_id"]) > 20


# ---- reads: the direction of a V2 order / fill ------------------------------------------------

ASK_READ = {"order_id": "o-1", "client_order_id": "c-1", "ticker": "KX-T", "side": "yes", "action": "sell",
            "outcome_side": "no", "book_side": "ask", "type": "limit", "status": "executed",
            "yes_price_dollars": "0.4145", "no_price_dollars": "0.5855", "fill_count_fp": "2.50",
            "remaining_count_fp": "0.00", "initial_count_fp": "2.50", "taker_fill_cost_dollars": "1.4637",
            "maker_fill_cost_dollars": "0.0000", "taker_fees_dollars": "0.0300", "maker_fees_dollars": "0.0000"}
ASK_FILL = {"fill_id": "f-1", "trade_id": "t-1", "order_id": "o-1", "ticker": "KX-T", "side": "yes",
            "action": "sell", "outcome_side": "no", "book_side": "ask", "count_fp": "2.50",
            "yes_price_dollars": "0.4145", "no_price_dollars": "0.5855", "is_taker": True, "fee_cost": "0.0300",
            "ts": 1_790_000_000}


def test_a_v2_order_reads_in_its_reported_direction_or_its_outcome_without_one():
    """A V2 ask reads back side yes / action sell (the legacy fields, still on every record);
    without them, `outcome_side` (else `book_side`) gives the direction: the BUY of that side."""
    assert parse_order(ASK_READ) == Order(Venue.KALSHI, "o-1", "c-1", "KX-T", YES, SELL, 4_145, 250, 250, 0,
                                          OrderStatus.FILLED, fees_micros=30_000, cost_micros=1_463_700)
    bare = {k: v for k, v in ASK_READ.items() if k not in ("side", "action")}
    assert (parse_order(bare).side, parse_order(bare).action, parse_order(bare).price_ticks) == (NO, BUY, 5_855)
    assert parse_order({**bare, "side": "", "outcome_side": None, "book_side": "bid"}).side is YES   # Go's ""
    f = parse_fill({k: v for k, v in ASK_FILL.items() if k not in ("side", "action")})
    assert (f.side, f.action, f.price_ticks, f.qty_lots, f.fee_micros) == (NO, BUY, 5_855, 250, 30_000)


def test_the_orders_this_client_sent_read_back_in_the_direction_it_sent_them():
    """A NO purchase at 58.55¢ goes out as an ask at 41.45¢ and reads back as a YES sale at
    41.45¢: the adapter gives it back as sent — a NO buy at 58.55¢, its fills at 58.55¢ — so the
    fills of a purchase cost what the order cost (the executor reads a looked-up purchase's cost
    from its fills). Money is the venue's, untouched."""
    def handler(r: httpx.Request):
        if r.method == "POST":
            return httpx.Response(201, json={"order_id": "o-1", "client_order_id": "c-1", "fill_count": "2.50",
                                             "remaining_count": "0.00", "ts_ms": 1})
        if r.url.path.endswith("/portfolio/fills"):
            return httpx.Response(200, json={"fills": [ASK_FILL], "cursor": ""})
        if r.url.path.endswith("/portfolio/orders"):
            return httpx.Response(200, json={"orders": [ASK_READ], "cursor": ""})
        return httpx.Response(200, json={"order": ASK_READ})
    http = _mock_http(handler)
    ex = KalshiExecutionClient(http)
    o = run(ex.place(req(NO, BUY, 5_855, 250)))
    (f,) = run(ex.fills(order_id="o-1"))
    listed = run(ex.orders())
    other = KalshiExecutionClient(http)               # a client that did not send it: as reported
    (theirs,) = run(other.fills(order_id="o-1"))
    run(http.close())
    assert (o.side, o.action, o.price_ticks, o.filled_lots, o.cost_micros, o.fees_micros) == \
        (NO, BUY, 5_855, 250, 1_463_700, 30_000)
    assert (f.side, f.action, f.price_ticks, f.qty_lots) == (NO, BUY, 5_855, 250)
    assert listed == [o]
    assert (theirs.side, theirs.action, theirs.price_ticks) == (YES, SELL, 4_145)


# ---- the wire: V2 paths, money read from the order --------------------------------------------

def _mock_http(handler) -> KalshiHttpClient:
    priv, _ = _keypair()
    return KalshiHttpClient(KalshiConfig(rest_url="https://k.test" + ROOT, key_id="k", private_key_pem=priv,
                                         max_retries=1), transport=httpx.MockTransport(handler))


def _order_json(**over) -> dict:
    return {"order_id": "o-1", "user_id": "u", "client_order_id": "c-1", "ticker": "KX-T", "side": "yes",
            "action": "buy", "outcome_side": "yes", "book_side": "bid", "type": "limit", "status": "executed",
            "yes_price_dollars": "0.3400", "no_price_dollars": "0.6600", "fill_count_fp": "3.00",
            "remaining_count_fp": "0.00", "initial_count_fp": "3.00", "taker_fill_cost_dollars": "1.0000",
            "maker_fill_cost_dollars": "0.0000", "taker_fees_dollars": "0.0200", "maker_fees_dollars": "0.0000",
            **over}


def test_create_posts_v2_and_reads_the_money_from_the_order_not_the_rounded_averages():
    """3 YES filled at 33¢, 33¢, 34¢: the answer's average (0.333333) × 3 is $0.999999 and its
    average fee rounded too; the order's own record says $1.0000 and $0.0200: that is what counts.
    The first read lags (Kalshi: "a short delay" before GetOrder reflects a fill): read again."""
    calls = []
    reads = iter([_order_json(status="resting", fill_count_fp="0.00", remaining_count_fp="3.00",
                              taker_fill_cost_dollars="0.0000", taker_fees_dollars="0.0000"), _order_json()])

    def handler(r: httpx.Request):
        calls.append((r.method, r.url.path, json.loads(r.content) if r.content else None))
        if r.method == "POST":
            return httpx.Response(201, json={"order_id": "o-1", "client_order_id": "c-1", "fill_count": "3.00",
                                             "remaining_count": "0.00", "average_fill_price": "0.333333",
                                             "average_fee_paid": "0.006667", "ts_ms": 1_790_000_000_000})
        return httpx.Response(200, json={"order": next(reads)})
    http = _mock_http(handler)
    ex = KalshiExecutionClient(http)
    ex.read_back_s = (0.001,)
    o = run(ex.place(req(YES, BUY, 3_400, 300)))
    run(http.close())
    assert (o.order_id, o.status, o.filled_lots, o.cost_micros, o.fees_micros) == \
        ("o-1", OrderStatus.FILLED, 300, 1_000_000, 20_000)
    assert [(m, p) for m, p, _b in calls] == [("POST", ROOT + "/portfolio/events/orders"),
                                             ("GET", ROOT + "/portfolio/orders/o-1"),
                                             ("GET", ROOT + "/portfolio/orders/o-1")]
    assert calls[0][2]["side"] == "bid" and calls[0][2]["price"] == "0.3400"


def test_an_answer_that_filled_nothing_is_the_order_with_no_read():
    calls = []

    def handler(r: httpx.Request):
        calls.append((r.method, r.url.path))
        return httpx.Response(201, json={"order_id": "o-2", "client_order_id": "c-1", "fill_count": "0.00",
                                         "remaining_count": "0.00", "ts_ms": 1})
    http = _mock_http(handler)
    o = run(KalshiExecutionClient(http).place(req(NO, BUY, 5_800, 500)))     # an IOC that found nothing
    run(http.close())
    assert calls == [("POST", ROOT + "/portfolio/events/orders")]
    assert o == Order(Venue.KALSHI, "o-2", "c-1", "KX-T", NO, BUY, 5_800, 500, 0, 0, OrderStatus.CANCELED)


def test_a_read_back_that_fails_after_a_201_is_outcome_unknown_never_not_sent():
    """The venue answered 201: the order exists (and filled). A read that cannot be made (no
    connection: NotSent from the read) must not tell the executor "not sent"."""
    posts = []

    def handler(r: httpx.Request):
        if r.method == "POST":
            posts.append(r)
            return httpx.Response(201, json={"order_id": "o-3", "client_order_id": "c-1", "fill_count": "1.00",
                                             "remaining_count": "0.00", "ts_ms": 1})
        raise httpx.ConnectError("refused")
    http = _mock_http(handler)
    with pytest.raises(OutcomeUnknown, match="o-3.*look it up by client order id"):
        run(KalshiExecutionClient(http).place(req(YES, BUY, 5_400, 100)))
    run(http.close())
    assert len(posts) == 1


def test_cancel_deletes_on_v2_then_reads_the_order():
    calls = []

    def handler(r: httpx.Request):
        calls.append((r.method, r.url.path))
        if r.method == "DELETE":
            return httpx.Response(200, json={"order_id": "o-1", "client_order_id": "c-1", "reduced_by": "3.00",
                                             "ts_ms": 1})
        return httpx.Response(200, json={"order": _order_json(status="canceled", fill_count_fp="0.00",
                                                              remaining_count_fp="0.00")})
    http = _mock_http(handler)
    o = run(KalshiExecutionClient(http).cancel("o-1"))
    run(http.close())
    assert calls == [("DELETE", ROOT + "/portfolio/events/orders/o-1"), ("GET", ROOT + "/portfolio/orders/o-1")]
    assert (o.status, o.remaining_lots) == (OrderStatus.CANCELED, 0)


# ---- a 4xx answer to a create is a refusal ----------------------------------------------------

@pytest.mark.parametrize("status, body, code", [
    (400, {"error": {"code": "invalid_order", "message": "invalid order", "details": "post only cross"}},
     "invalid_order"),
    (404, {"error": {"code": "market_not_found", "message": "market not found"}}, "market_not_found"),
    (409, {"error": {"code": "market_closed", "message": "market closed"}}, "market_closed"),
    (409, {"error": {"code": "trading_is_paused", "message": "trading is paused"}}, "trading_is_paused"),
    (410, {"error": {"code": "deprecated_v1_order_endpoint", "message": "Please switch to the V2 endpoints"}},
     "deprecated_v1_order_endpoint"),
    (403, {"code": "forbidden", "message": "key lacks the write scope"}, "forbidden"),
])
def test_a_4xx_create_is_order_rejected_sent_once(status, body, code):
    sent = []
    http = _mock_http(lambda r: sent.append(r) or httpx.Response(status, json=body))
    with pytest.raises(OrderRejected) as ei:
        run(KalshiExecutionClient(http).place(req(YES, BUY, 5_400, 100)))
    run(http.close())
    assert (type(ei.value) is OrderRejected or status == 403) and (ei.value.status, ei.value.code, len(sent)) == \
        (status, code, 1)


@pytest.mark.parametrize("status, body", [(408, {}), (409, {"error": {"code": "order_already_exists"}})])
def test_a_create_that_may_be_at_the_venue_is_outcome_unknown(status, body):
    http = _mock_http(lambda r: httpx.Response(status, json=body))
    with pytest.raises(OutcomeUnknown):
        run(KalshiExecutionClient(http).place(req(YES, BUY, 5_400, 100)))
    run(http.close())


def test_an_unknown_market_is_refused_not_looked_up(rsa_keys):
    """The simulator answers 404 `market_not_found`: OrderRejected (it was NotFound, which the
    executor reads as outcome unknown: minutes of lookups for an order that never existed)."""
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            with pytest.raises(OrderRejected) as ei:
                await v.place_order(OrderRequest("KX-NOPE", YES, 5_000, 100, tif=IOC, client_order_id="nope-1"))
            await v.close()
            return ei.value, ("user", "nope-1") in sim.exchange.by_client_id
    exc, placed = run(main())
    assert (type(exc), exc.status, exc.code, placed) == (OrderRejected, 404, "market_not_found", False)
    assert not isinstance(exc, NotFound)


# ---- the simulator: V1 writes are gone, V2 semantics ------------------------------------------

def test_the_simulator_answers_v1_writes_410_and_places_nothing(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            rest = await v.place_order(OrderRequest(H0, NO, 4_000, 500, client_order_id="rest-1"))   # via V2
            signer = KalshiSigner(KEY_ID, rsa_keys[0])
            got = []
            async with httpx.AsyncClient(base_url=sim.base_url.replace(ROOT, "")) as c:
                for method, rel, body in (
                        ("POST", "/portfolio/orders", {"ticker": H0, "side": "yes", "action": "buy", "count_fp": "1.00",
                                                       "yes_price_dollars": "0.9900", "client_order_id": "v1-1"}),
                        ("POST", "/portfolio/orders/batched", {"orders": []}),
                        ("DELETE", f"/portfolio/orders/{rest.order_id}", None),
                        ("DELETE", "/portfolio/orders/batched", {"orders": [{"order_id": rest.order_id}]})):
                    r = await c.request(method, ROOT + rel, headers=signer.headers(method, ROOT + rel),
                                        content=None if body is None else json.dumps(body).encode())
                    got.append((r.status_code, r.json()["error"]["code"]))
            # the adapter's own client, sent to the V1 path, is refused: OrderRejected, not "look it up"
            with pytest.raises(OrderRejected) as ei:
                await v.http.post("/portfolio/orders", {"ticker": H0, "side": "yes", "action": "buy",
                                                        "count_fp": "1.00", "yes_price_dollars": "0.9900",
                                                        "client_order_id": "v1-2"})
            still = (await v.order(rest.order_id)).status
            await v.close()
            return got, ei.value, still, {c for (_a, c) in sim.exchange.by_client_id}
    got, exc, still, coids = run(main())
    assert got == [(410, "deprecated_v1_order_endpoint")] * 4
    assert (exc.status, exc.code) == (410, "deprecated_v1_order_endpoint")
    assert still is OrderStatus.RESTING and coids == {"rest-1"}


def test_buy_no_is_an_ask_on_the_yes_book_and_rests_as_a_no_bid(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            o = await v.place_order(OrderRequest(H0, NO, 4_000, 500, client_order_id="no-1"))
            raw = sim._order_json(sim.exchange.orders[o.order_id])
            book = (await v.fetch_book(H0)).no_bids
            await v.close()
            return o, raw, book
    o, raw, book = run(main())
    assert (o.side, o.action, o.price_ticks, o.status, o.remaining_lots) == (NO, BUY, 4_000, OrderStatus.RESTING, 500)
    assert (raw["book_side"], raw["outcome_side"], raw["yes_price_dollars"], raw["no_price_dollars"]) == \
        ("ask", "no", "0.6000", "0.4000")
    assert (4_000, 500) in book


def test_an_unwind_nets_against_the_other_side_another_execution_holds(rsa_keys):
    """One execution holds 5 NO of a market, another buys 5 YES of it: Kalshi nets them, so the
    account holds nothing there. The second execution's unwind (an IOC sale of its 5 YES: an ask,
    a purchase of NO at 1 − p) must fill, leaving the first execution's 5 NO. With `reduce_only`
    (sent by every sale in the first V2 version of this adapter) the venue refused it, nothing
    being held to reduce: the leg could not be unwound and the execution went naked (seen in the
    lost-order run: a bucket leg on KXFEDDECISION left with 50 contracts)."""
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            acct = sim.exchange.accounts["user"]
            await v.place_order(OrderRequest(H0, NO, 5_000, 500, tif=IOC, client_order_id="a-1"))    # execution A
            await v.place_order(OrderRequest(H0, YES, 5_400, 500, tif=IOC, client_order_id="b-1"))   # execution B
            netted = acct.positions.get(H0, 0)
            sold = await v.place_order(OrderRequest(H0, YES, 4_000, 500, action=SELL, tif=IOC, client_order_id="b-u"))
            await v.close()
            return netted, sold, acct.positions.get(H0, 0)
    netted, sold, after = run(main())
    assert netted == 0
    assert (sold.status, sold.filled_lots) == (OrderStatus.FILLED, 500)
    assert after == -500                                  # A's 5 NO, as before B traded
    # read back as sent (a YES sale at its 40¢ limit), its cost the venue's: 5 sold at the 50¢ YES
    # bid, booked as 5 NO bought at 50¢
    assert (sold.side, sold.action, sold.price_ticks, sold.cost_micros) == (YES, SELL, 4_000, 500 * 5_000)


def test_a_restarted_adapter_reads_a_sale_another_way_and_reconciliation_takes_it_as_the_same_fill(rsa_keys):
    """The adapter that sent a NO sale reads its fill back as sent (sell NO at the 46¢ NO bid); a
    fresh one (a restart: nothing remembered) reads the venue's labels, the bid on the YES book it
    is (buy YES at 54¢). Reconciliation compares the two as the one book order (`fill_form`: "bid@5400"),
    so a restart does not see a difference in every past sale (safe mode). Polymarket's two tokens
    are not one book: there side and action stay part of the fill."""
    from arbbot.execution.reconcile import fill_form

    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            await v.place_order(OrderRequest(H0, NO, 5_000, 300, tif=IOC, client_order_id="n-1"))
            sold = await v.place_order(OrderRequest(H0, NO, 4_000, 300, action=SELL, tif=IOC, client_order_id="n-u"))
            mine = [f for f in await v.fills() if f.order_id == sold.order_id]
            fresh = KalshiVenue(cfg)
            theirs = [f for f in await fresh.fills() if f.order_id == sold.order_id]
            await v.close()
            await fresh.close()
            return mine, theirs
    mine, theirs = run(main())
    assert [(f.side, f.action, f.price_ticks, f.qty_lots) for f in mine] == [(NO, SELL, 4_600, 300)]
    assert [(f.side, f.action, f.price_ticks) for f in theirs] == [(YES, BUY, 5_400)]
    forms = {fill_form("kalshi", f.side.label, f.action.value, f.price_ticks) for f in mine + theirs}
    assert forms == {"bid@5400"}
    assert fill_form("polymarket", "no", "sell", 4_400) != fill_form("polymarket", "yes", "buy", 5_600)


def test_reduce_only_needs_ioc_at_the_simulator_too(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            with pytest.raises(OrderRejected) as ei:
                await v.http.post("/portfolio/events/orders", {
                    "ticker": H0, "client_order_id": "ro-gtc", "side": "ask", "count": "1.00", "price": "0.4000",
                    "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross",
                    "reduce_only": True})
            await v.close()
            return ei.value
    exc = run(main())
    assert (exc.status, exc.code) == (400, "invalid_order") and "immediate_or_cancel" in str(exc)


def test_a_lost_answer_to_a_v2_create_is_found_by_client_id_with_its_own_price(rsa_keys):
    """The simulator places and fills a NO purchase (an ask on the YES book) and drops the
    connection: the adapter says outcome unknown and sends nothing again; the order is found by its
    client order id, at the NO price, and its fills cost what the order says it cost — what the
    executor takes a looked-up purchase's cost from."""
    async def main():
        async with kalshi_env(rsa_keys, faults=Faults(lost_order_response_every=1)) as (sim, cfg):
            v = KalshiVenue(cfg)
            with pytest.raises(OutcomeUnknown):
                await v.place_order(OrderRequest(H0, NO, 5_000, 300, tif=IOC, client_order_id="lost-no"))
            sent = [o for o in sim.exchange.orders.values() if o.client_order_id == "lost-no"]
            (found,) = [o for o in await v.orders(ticker=H0) if o.client_order_id == "lost-no"]
            fills = await v.fills(order_id=found.order_id)
            raw = sim._order_json(sent[0])
            await v.close()
            return sent, found, fills, raw
    sent, found, fills, raw = run(main())
    assert len(sent) == 1 and (raw["book_side"], raw["yes_price_dollars"]) == ("ask", "0.5000")
    assert (found.side, found.action, found.status, found.filled_lots, found.cost_micros) == \
        (NO, BUY, OrderStatus.FILLED, 300, 300 * 5_000)
    assert [(f.side, f.price_ticks) for f in fills] == [(NO, 5_000)]
    assert sum(f.price_ticks * f.qty_lots for f in fills) == found.cost_micros


def test_a_duplicate_client_order_id_is_outcome_unknown_and_places_nothing_more(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            first = await v.place_order(OrderRequest(H0, YES, 5_400, 100, tif=IOC, client_order_id="dup-1"))
            with pytest.raises(OutcomeUnknown) as ei:
                await v.place_order(OrderRequest(H0, YES, 5_400, 100, tif=IOC, client_order_id="dup-1"))
            mine = [o for o in sim.exchange.orders.values() if o.client_order_id == "dup-1"]
            await v.close()
            return first, ei.value, mine
    first, exc, mine = run(main())
    assert (exc.status, exc.code) == (409, "order_already_exists")
    assert len(mine) == 1 and first.filled_lots == 100


def test_batches_go_through_v2_and_report_per_order(rsa_keys):
    """`POST /portfolio/events/orders/batched`: a fill read back with its money, a NO bid resting
    (an ask on the YES book), a GTC sale refused before sending; `DELETE …/batched` cancels. A
    batch whose answer is lost is each of its orders' OutcomeUnknown (returned, not raised: the
    orders are at the venue)."""
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            res = await v.place_orders([
                OrderRequest(H0, YES, 5_400, 1_000, tif=IOC, client_order_id="bt-1"),
                OrderRequest(H0, NO, 4_000, 500, client_order_id="bt-2"),
                OrderRequest(H0, YES, 4_000, 100, action=SELL, tif=GTC, client_order_id="bt-3")])
            raw = sim._order_json(sim.exchange.orders[res[1].order_id])
            out = await v.cancel_orders([res[1].order_id, "nope"])
            sim.faults = Faults(lost_order_response_every=1)
            lost = await v.place_orders([OrderRequest(H0, YES, 5_400, 100, tif=IOC, client_order_id="bt-4")])
            found = [o for o in await v.orders(ticker=H0) if o.client_order_id == "bt-4"]
            await v.close()
            return res, raw, out, lost, found
    res, raw, out, lost, found = run(main())
    assert [type(r).__name__ for r in res] == ["Order", "Order", "OrderRejected"]
    assert (res[0].status, res[0].filled_lots, res[0].cost_micros, res[0].fees_micros) == \
        (OrderStatus.FILLED, 1_000, 5_400_000, 180_000)
    assert (res[1].side, res[1].action, res[1].price_ticks, res[1].status) == (NO, BUY, 4_000, OrderStatus.RESTING)
    assert (raw["book_side"], raw["yes_price_dollars"]) == ("ask", "0.6000")
    assert isinstance(out[0], Order) and out[0].status is OrderStatus.CANCELED and isinstance(out[1], NotFound)
    assert [type(x).__name__ for x in lost] == ["OutcomeUnknown"]
    assert [(o.status, o.filled_lots) for o in found] == [(OrderStatus.FILLED, 100)]
