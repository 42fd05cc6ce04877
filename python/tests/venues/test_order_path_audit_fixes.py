"""Order-path defects of the Kalshi and Polymarket adapters found by an audit (each reproduced;
every test here failed before the fix).

1. Kalshi: an order POST answered 408, or 409 `order_already_exists` with the live API's nested
   error body (`{"error": {"code", "message"}}`), was OrderRejected (recorded rejected, never
   looked up) although the order may be at the venue (it was, and filled). Now OutcomeUnknown.
   Any other 409 (`market_closed`, `trading_is_paused`) is a refusal: OrderRejected (Kalshi's
   order-errors guide: "On a 400, 403, 404, 409, 410 or 429, treat an unknown code as a
   rejection"; the V2 create, tests/venues/test_kalshi_v2_orders.py).
2. Polymarket: FAK/FOK orders were signed with exact limit-order amounts, which the CLOB refuses
   for marketable orders (maker ≤ 2 decimals, taker ≤ 4). Now: BUY maker rounded up to cents,
   SELL taker rounded down to 4 decimals; a BUY whose implied limit would reach the next tick is
   refused before sending. The simulator refuses what the CLOB refuses and matches on the implied
   limit.
3. Polymarket `place()` / `order()` carried no fee: a leg's spend was under-counted.
4. Polymarket `/data/order` statuses UNMATCHED / INVALID / CANCELED_MARKET_RESOLVED stayed
   pending forever; an unknown one now warns.
5. Polymarket fill fees came from the trade's `fee_rate_bps`, not the market's fee schedule.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from types import SimpleNamespace

import httpx
import pytest

from arbbot.sim import _keypair
from arbbot.venues.common.errors import OrderRejected, OutcomeUnknown, ProtocolError, VenueError
from arbbot.venues.common.model import (
    Action, FeeSchedule, MarketInfo, OrderRequest, OrderStatus, Side, TimeInForce, Venue,
)
from arbbot.venues.kalshi.config import KalshiConfig
from arbbot.venues.kalshi.execution import KalshiExecutionClient
from arbbot.venues.kalshi.http.client import KalshiHttpClient
from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.execution import PolymarketExecutionClient
from arbbot.venues.polymarket.providers import PolymarketInstrumentProvider
from arbbot.venues.polymarket.venue import PolymarketVenue

PRIV = "0x" + "3c" * 32


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


# ---- 1. Kalshi: 408 and 409 on an order POST are outcome unknown ------------------------------

async def _kalshi_post(status: int, body: dict, path: str = "/portfolio/events/orders"):
    """POST one IOC order (or GET `path` when it is not the order path) against a venue answering
    `status` `body`: (the exception raised, how many requests went out)."""
    priv, _ = _keypair()
    sent = []

    def handler(req: httpx.Request):
        sent.append(req.method)
        return httpx.Response(status, json=body)
    http = KalshiHttpClient(KalshiConfig(rest_url="https://k.test/trade-api/v2", key_id="k", private_key_pem=priv),
                            transport=httpx.MockTransport(handler))
    try:
        if path == "/portfolio/events/orders":
            await KalshiExecutionClient(http).place(
                OrderRequest("T", Side.YES, 5000, 100, tif=TimeInForce.IOC, client_order_id="c1"))
        else:
            await http.get(path, auth=True)
    except VenueError as exc:
        return exc, len(sent)
    finally:
        await http.close()
    raise AssertionError("no error raised")


@pytest.mark.parametrize("status, body, code", [
    (408, {"error": {"code": "request_timeout", "message": "request timed out"}}, "request_timeout"),
    (408, {}, ""),
    (409, {"error": {"code": "order_already_exists", "message": "client_order_id already used"}},
     "order_already_exists"),
    (409, {"code": "order_already_exists", "message": "client_order_id already used"},      # the OpenAPI's flat shape
     "order_already_exists"),
])
def test_kalshi_order_post_408_and_409_are_outcome_unknown_sent_once(status, body, code):
    exc, posts = run(_kalshi_post(status, body))
    assert type(exc) is OutcomeUnknown and (exc.status, exc.code, posts) == (status, code, 1)


@pytest.mark.parametrize("body", [{"error": {"code": "market_closed", "message": "market closed"}},
                                  {"code": "market_closed", "message": "market closed"}])
def test_kalshi_order_post_409_other_than_a_duplicate_is_a_refusal_sent_once(body):
    exc, posts = run(_kalshi_post(409, body))
    assert type(exc) is OrderRejected and (exc.status, exc.code, posts) == (409, "market_closed", 1)


def test_kalshi_nested_error_code_is_read_and_a_400_order_is_still_rejected():
    exc, posts = run(_kalshi_post(400, {"error": {"code": "invalid_price", "message": "price off the grid",
                                                  "service": "exchange"}}))
    assert type(exc) is OrderRejected and (exc.code, posts) == ("invalid_price", 1)
    assert "invalid_price: price off the grid" in str(exc)
    exc, _ = run(_kalshi_post(400, {"error": {"code": "invalid_parameters", "message": "bad limit"}},
                              path="/portfolio/fills"))
    assert type(exc) is VenueError and exc.code == "invalid_parameters"


class _Rewrite(httpx.AsyncBaseTransport):
    """The real transport, except that the answer to an order POST (which reached the simulator
    and was processed) is replaced by `status` `body`."""

    def __init__(self, status: int, body: dict) -> None:
        self.inner, self.status, self.body = httpx.AsyncHTTPTransport(), status, body

    async def handle_async_request(self, req):
        resp = await self.inner.handle_async_request(req)
        if req.method == "POST" and req.url.path.endswith("/portfolio/events/orders"):
            await resp.aread()
            return httpx.Response(self.status, json=self.body)
        return resp

    async def aclose(self):
        await self.inner.aclose()


@pytest.mark.parametrize("status, body", [
    (408, {"error": {"code": "request_timeout", "message": "request timed out"}}),
    (409, {"error": {"code": "order_already_exists", "message": "client_order_id already used"}}),
])
def test_kalshi_order_whose_answer_is_408_or_409_is_found_filled_by_client_id(rsa_keys, status, body):
    from tests.sim.venue_envs import kalshi

    async def main():
        async with kalshi(rsa_keys) as (_sim, v0, _clock):
            v = type(v0)(v0.config)
            reads = v.http                                   # discovery and books keep the real answers
            v.http = KalshiHttpClient(v0.config, transport=_Rewrite(status, body))
            v.exec.http = v.http
            await v.discover_markets()
            ticker = next(iter(v.provider.markets))
            ask = 10_000 - (await v.fetch_book(ticker)).no_bids[0][0]
            with pytest.raises(OutcomeUnknown):
                await v.place_order(OrderRequest(ticker, Side.YES, ask, 100, tif=TimeInForce.IOC,
                                                 client_order_id="lost-1"))
            found = [(o.status, o.filled_lots, o.cost_micros) for o in await v.orders(ticker=ticker)
                     if o.client_order_id == "lost-1"]
            await v.close()
            await reads.close()
            return found, ask
    found, ask = run(main())
    assert found == [(OrderStatus.FILLED, 100, ask * 100)]


# ---- 2. Polymarket FAK/FOK amounts ------------------------------------------------------------

class _CaptureHttp:
    """Records each POST /order body; answers matched with nothing filled."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def clob_post(self, path, payload, auth=False):
        self.sent.append(payload)
        return {"success": True, "orderID": "0x0", "status": "matched", "makingAmount": "0", "takingAmount": "0"}


def _market(tick: int, fees: FeeSchedule | None = None):
    return SimpleNamespace(market_id="0xc", yes_token="1", no_token="2", tick_ticks=tick, extra=(), neg_risk=False,
                           fees=fees or FeeSchedule())


def _provider(market) -> PolymarketInstrumentProvider:
    """A provider that lists `market` (no venue behind it)."""
    provider = PolymarketInstrumentProvider(None)
    provider.markets = {market.market_id: market}
    return provider


def _client(tick: int, http=None):
    http = http or _CaptureHttp()
    return PolymarketExecutionClient(http, PolymarketConfig(private_key=PRIV),
                                     _provider(_market(tick))), http


AMOUNT_CASES = [   # (tick, price, lots, action, tif) → (orderType, makerAmount, takerAmount)
    # a BUY spends price × shares in whole cents (no `spend_micros`) and takes at least that / price
    # in 4 decimals, down. py-clob-client #121's order, 1.74 @ 0.58: $1.0092 → $1.01, 1.741379 → 1.7413
    (100, 5800, 174, Action.BUY, TimeInForce.IOC, "FAK", 1_010_000, 1_741_300),
    (100, 5800, 174, Action.BUY, TimeInForce.FOK, "FOK", 1_010_000, 1_741_300),
    (100, 5800, 1_234, Action.BUY, TimeInForce.IOC, "FAK", 7_160_000, 12_344_800),      # $7.1572 → $7.16
    (100, 4700, 1_000, Action.BUY, TimeInForce.IOC, "FAK", 4_700_000, 10_000_000),      # already whole cents
    (10, 9530, 1_500, Action.BUY, TimeInForce.IOC, "FAK", 14_300_000, 15_005_200),      # $14.295 → $14.30
    (10, 9530, 1_233, Action.SELL, TimeInForce.IOC, "FAK", 12_330_000, 11_750_400),     # $11.75049 → $11.7504
    (10, 9530, 700, Action.SELL, TimeInForce.FOK, "FOK", 7_000_000, 6_671_000),         # 4 decimals already
    (100, 5800, 174, Action.BUY, TimeInForce.GTC, "GTC", 1_009_200, 1_740_000),         # limit order: exact
]


def test_polymarket_marketable_orders_are_signed_with_amounts_the_clob_accepts():
    from py_clob_client_v2.signer import Signer
    from arbbot.venues.polymarket.order_hash import recover_signer
    got, want = [], []
    for tick, price, lots, action, tif, wire, maker, taker in AMOUNT_CASES:
        client, http = _client(tick)
        run(client.place(OrderRequest("0xc", Side.YES, price, lots, action=action, tif=tif, client_order_id="c")))
        body = http.sent[-1]
        order = body["order"]
        got.append((body["orderType"], int(order["makerAmount"]), int(order["takerAmount"]), order["side"]))
        want.append((wire, maker, taker, action.value.upper()))
        assert recover_signer(order, False, 137) == Signer(PRIV, 137).address()     # these amounts are signed
    assert got == want


def test_polymarket_fine_tick_buy_in_whole_cents_keeps_its_implied_price_on_its_tick():
    """7 shares at 0.953 on a 0.001-tick market: $6.671 in whole cents is $6.68. Signed for 7 shares,
    its implied price 0.95429 would reach 0.954 (it could buy a tick above the price); signed for
    6.68 / 0.953 = 7.009443 → 7.0094 shares, it is 0.9530064: on the 0.953 tick. A limit order
    (exact amounts) is not concerned."""
    client, http = _client(10)
    run(client.place(OrderRequest("0xc", Side.YES, 9530, 700, tif=TimeInForce.IOC, client_order_id="c")))
    run(client.place(OrderRequest("0xc", Side.YES, 9530, 700, tif=TimeInForce.GTC, client_order_id="g")))
    assert [(int(b["order"]["makerAmount"]), int(b["order"]["takerAmount"])) for b in http.sent] == \
           [(6_680_000, 7_009_400), (6_671_000, 7_000_000)]
    maker, taker = 6_680_000, 7_009_400
    assert 9530 * taker <= maker * 10_000 < 9540 * taker


def test_polymarket_marketable_buy_spends_what_its_fills_cost_not_its_limit():
    """A leg priced on 5 shares at 0.45 and 5 at 0.48 (limit 0.48) costs $4.65: the FAK spends
    $4.65 and takes at least 4.65 / 0.48 = 9.6875 shares (implied 0.48 exactly), so on that book it
    buys its 10 shares. Spending the limit's $4.80 would buy 10.3125. A budget rounds up to whole
    cents and to the $1 minimum, never past the limit's cost; one whose least shares would be under
    the market's minimum size spends the limit's cost."""
    client, http = _client(100)
    for spend in (4_650_000, 4_645_001, 400_000, 9_000_000):
        run(client.place(OrderRequest("0xc", Side.YES, 4800, 1_000, tif=TimeInForce.IOC, spend_micros=spend)))
    assert [(int(b["order"]["makerAmount"]), int(b["order"]["takerAmount"])) for b in http.sent] == [
        (4_650_000, 9_687_500), (4_650_000, 9_687_500), (1_000_000, 2_083_300), (4_800_000, 10_000_000)]
    client.provider.markets["0xc"].extra = (("min_order_size_lots", "500"),)
    run(client.place(OrderRequest("0xc", Side.YES, 4800, 1_000, tif=TimeInForce.IOC, spend_micros=2_000_000)))
    assert (int(http.sent[-1]["order"]["makerAmount"]), int(http.sent[-1]["order"]["takerAmount"])) == \
           (4_800_000, 10_000_000)             # $2 takes 4.1666 shares, under the 5-share minimum


def _force_amounts(monkeypatch, maker: int, taker: int) -> None:
    """Sign the next orders with these amounts whatever the request (to probe the simulator)."""
    import arbbot.venues.polymarket.execution as ex
    monkeypatch.setattr(ex, "signed_amounts", lambda req, tick, *_: (maker, taker))


@pytest.mark.parametrize("action, maker, taker, text", [
    (Action.BUY, 43_208_000, 98_200_000,       # $43.208: 3 decimals (the audit's accepted FAK)
     "invalid amounts, the market buy orders maker amount supports a max accuracy of 2 decimals, "
     "taker amount a max of 4 decimals"),
    (Action.SELL, 10_000_000, 3_900_010,       # $3.90001: 5 decimals
     "invalid amounts, the market sell orders maker amount supports a max accuracy of 2 decimals, "
     "taker amount a max of 4 decimals"),
])
def test_polymarket_sim_refuses_marketable_amounts_with_too_many_decimals(monkeypatch, action, maker, taker, text):
    from tests.sim.venue_envs import polymarket
    _force_amounts(monkeypatch, maker, taker)

    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            alv = next(c for c, (_e, _q, l) in sim.listings.items() if "ALV" in l.title)
            n = len(sim.desk.ids)
            with pytest.raises(OrderRejected) as refused:
                await v.place_order(OrderRequest(alv, Side.YES, 4400 if action is Action.BUY else 3900, 1_000,
                                                 action=action, tif=TimeInForce.IOC, client_order_id="c"))
            return refused.value, len(sim.desk.ids) - n
    exc, accepted = run(main())
    assert (exc.status, accepted) == (400, 0) and str(exc).endswith(f"HTTP 400: {text}")


def test_polymarket_sim_matches_a_marketable_order_on_its_implied_limit(monkeypatch):
    """ALV YES asks: 10,000 lots at 0.43, 20,000 at 0.44; YES bids 10,000 at 0.39, 20,000 at 0.38.
    A FAK BUY of 120 shares for $52.20 (implied 0.435, between ticks) takes the 0.43 level only; a
    FAK SELL of 150 shares for at least $57.75 (implied 0.385) the 0.39 level only."""
    from tests.sim.venue_envs import polymarket
    import arbbot.venues.polymarket.execution as ex
    amounts = {Action.BUY: (52_200_000, 120_000_000), Action.SELL: (150_000_000, 57_750_000)}
    monkeypatch.setattr(ex, "signed_amounts", lambda req, tick, *_: amounts[req.action])

    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            alv = next(c for c, (_e, _q, l) in sim.listings.items() if "ALV" in l.title)
            sim.exchange.accounts["trader"].tokens[(alv, "yes")] = 5_000     # 50 shares from before: a sale is of tokens held
            b = await v.place_order(OrderRequest(alv, Side.YES, 4300, 12_000, tif=TimeInForce.IOC, client_order_id="b"))
            s = await v.place_order(OrderRequest(alv, Side.YES, 3900, 15_000, action=Action.SELL,
                                                 tif=TimeInForce.IOC, client_order_id="s"))
            fills = await v.fills()
            return b, s, fills
    b, s, fills = run(main())
    assert (b.status, b.filled_lots, b.cost_micros) == (OrderStatus.CANCELED, 10_000, 43_000_000)
    assert (s.status, s.filled_lots) == (OrderStatus.CANCELED, 10_000)
    assert sorted((f.order_id == b.order_id, f.action, f.price_ticks, f.qty_lots) for f in fills) == \
           [(False, Action.SELL, 3900, 10_000), (True, Action.BUY, 4300, 10_000)]


def test_polymarket_an_orders_fills_are_read_from_its_market_since_it_was_sent():
    """The executor reads an order's fills after every order (up to 20 times until they add up).
    Before, each read listed the account's whole trade history (every market, every day: 30
    signed pages at 3,000 trades, while the next leg waited). Now the CLOB is asked for the
    order's market since ORDER_FILLS_SLACK_S before the latest match time read when the order was
    sent (the venue's clock); the fills are the same."""
    from tests.sim.venue_envs import polymarket
    from arbbot.venues.polymarket.venue import ORDER_FILLS_SLACK_S

    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            alv, other = [c for c, (_e, _q, l) in sim.listings.items()][:2]
            x = await v.place_order(OrderRequest(other, Side.YES, 9_900, 500, tif=TimeInForce.IOC, client_order_id="x"))
            (earlier,) = {f.ts_ms // 1000 for f in await v.fills(order_id=x.order_id)}   # match time read, unix s
            o = await v.place_order(OrderRequest(alv, Side.YES, 9_900, 500, tif=TimeInForce.IOC, client_order_id="c"))
            sent = []
            read = v.http.clob_get

            async def spy(path, params=None, auth=False):
                sent.append((path, dict(params or {})))
                return await read(path, params, auth=auth)
            v.http.clob_get = spy
            mine = await v.fills(order_id=o.order_id)
            v.http.clob_get = read
            every = [f for f in await v.fills() if f.order_id == o.order_id]
            return o, mine, every, sent, earlier
    o, mine, every, sent, earlier = run(main())
    assert mine == every and sum(f.qty_lots for f in mine) == o.filled_lots > 0
    (path, params), = sent
    assert (path, params["market"]) == ("/data/trades", o.market_id)
    assert params["after"] == earlier - ORDER_FILLS_SLACK_S


def test_polymarket_a_delayed_match_is_waited_for_and_its_fills_read():
    """Sports markets hold a marketable order a few seconds before it matches: the CLOB answers
    `delayed` with empty amounts, and GET /data/order says ORDER_STATUS_DELAYED until it matched.
    Before: the empty amounts were a crash. Now the order is pending with nothing filled (never
    cancelled while it waits), `settle` (what the executor calls on an unsettled order) waits,
    and it ends filled (a FAK at a price that takes the ask) with its fills; one at a price
    nothing meets ends unmatched."""
    from arbbot.execution.settle import settle
    from arbbot.sim.scenarios import Faults
    from tests.sim.venue_envs import polymarket

    async def main():
        async with polymarket(faults=Faults(poly_match_delay_s=0.3)) as (sim, v, _clock):
            await v.discover_markets()
            alv = next(c for c, (_e, _q, l) in sim.listings.items() if "ALV" in l.title)
            first = await v.place_order(OrderRequest(alv, Side.YES, 9_900, 500, tif=TimeInForce.IOC,
                                                     client_order_id="d"))
            looked = await v.order(first.order_id)
            done = await settle(v, first, timeout_s=5, backoff_cap_s=0.05)
            fills = await v.fills(order_id=first.order_id)
            miss = await v.place_order(OrderRequest(alv, Side.YES, 100, 10_000, tif=TimeInForce.IOC,
                                                    client_order_id="m"))          # $1 at 1¢: no ask there
            missed = await settle(v, miss, timeout_s=5, backoff_cap_s=0.05)
            return first, looked, done, fills, missed
    first, looked, done, fills, missed = run(main())
    assert (first.status, first.filled_lots, first.remaining_lots, first.cost_micros) == (OrderStatus.PENDING, 0, 500, 0)
    assert (looked.status, looked.filled_lots) == (OrderStatus.PENDING, 0)
    assert done.status in (OrderStatus.FILLED, OrderStatus.CANCELED) and done.filled_lots >= 500
    assert sum(f.qty_lots for f in fills) == done.filled_lots
    assert (missed.status, missed.filled_lots) == (OrderStatus.CANCELED, 0)


# ---- 3. Polymarket orders carry their fee ------------------------------------------------------

def test_polymarket_placed_order_carries_the_fee_of_its_fills():
    """The audit's FAK: 98.2 shares at ≤ 0.44 that all match at 0.43, fee rate 4 %: the fills'
    fee $0.96276 (98.2 × 0.04 × 0.43 × 0.57 = 0.9627576, rounded up), and now the Order's."""
    from tests.sim.venue_envs import polymarket

    async def main():
        async with polymarket() as (sim, v, _clock):
            await v.discover_markets()
            alv = next(c for c, (_e, _q, l) in sim.listings.items() if "ALV" in l.title)
            o = await v.place_order(OrderRequest(alv, Side.YES, 4400, 9_820, tif=TimeInForce.IOC, client_order_id="c1",
                                                 spend_micros=9_820 * 4300))    # priced on the 0.43 level
            fills = await v.fills(order_id=o.order_id)
            looked_up = await v.order(o.order_id)
            return o, fills, looked_up, sim.exchange.accounts["trader"].fees_paid[alv]
    o, fills, looked_up, charged = run(main())
    assert (o.status, o.filled_lots, o.cost_micros, o.fees_micros) == (OrderStatus.FILLED, 9_820, 42_226_000, 962_760)
    assert [(f.price_ticks, f.qty_lots, f.fee_micros) for f in fills] == [(4300, 9_820, 962_760)]
    assert charged == 962_760
    # the CLOB no longer serves the matched FAK by id: the lookup reads it from its fills, their
    # exact cost and fee (before, from GET /data/order: at the order's 0.44, $43.208 and $0.96786)
    assert (looked_up.status, looked_up.filled_lots, looked_up.cost_micros, looked_up.fees_micros) == \
           (OrderStatus.FILLED, 9_820, 42_226_000, 962_760)


def test_polymarket_order_fee_over_several_prices_is_never_below_its_fills():
    """An answer of 98.2 shares for $42.278 (93 at 0.43 + 5.2 at 0.44): only the totals are known;
    the fee at the average price, $0.96305, bounds the fills' $0.96303 from above (p(1−p) is
    concave) — exact for one price, as above. A SELL's fee comes from its proceeds."""
    http = SimpleNamespace(answer={})

    async def clob_post(path, payload, auth=False):
        return http.answer
    http.clob_post = clob_post
    fees = FeeSchedule(taker_rate_ppm=40_000, rounding=10)
    client = PolymarketExecutionClient(http, PolymarketConfig(private_key=PRIV),
                                       _provider(_market(100, fees)))
    client._build = lambda m, req: {"order": {}}
    http.answer = {"success": True, "orderID": "0x1", "status": "matched", "makingAmount": "42.278",
                   "takingAmount": "98.2"}
    o = run(client.place(OrderRequest("0xc", Side.YES, 4400, 9_820, tif=TimeInForce.IOC)))
    assert (o.filled_lots, o.cost_micros, o.fees_micros) == (9_820, 42_278_000, 963_050)
    http.answer = {"success": True, "orderID": "0x2", "status": "matched", "makingAmount": "100", "takingAmount": "39"}
    s = run(client.place(OrderRequest("0xc", Side.YES, 3900, 10_000, action=Action.SELL, tif=TimeInForce.IOC)))
    assert (s.filled_lots, s.cost_micros, s.fees_micros) == (10_000, 0, 951_600)     # 100 × 0.04 × 0.39 × 0.61


def test_polymarket_answer_with_nothing_matched_yet_is_read_not_a_crash():
    """A `live` or `delayed` answer (a GTC resting, a FAK held by a sports market's matching delay)
    writes `makingAmount` and `takingAmount` as "". Before: decimal.InvalidOperation escaped
    `place`, so the executor took the order for an error and never waited for it to settle. Now:
    resting, nothing filled. An amount that is not one is a ProtocolError: the outcome is
    unknown and the executor looks the order up."""
    http = SimpleNamespace()

    async def clob_post(path, payload, auth=False):
        return http.answer
    http.clob_post = clob_post
    client = PolymarketExecutionClient(http, PolymarketConfig(private_key=PRIV), _provider(_market(100)))
    client._build = lambda m, req: {"order": {}}
    got = []
    for status in ("live", "delayed"):
        http.answer = {"success": True, "orderID": f"0x{status}", "status": status, "makingAmount": "",
                       "takingAmount": ""}
        o = run(client.place(OrderRequest("0xc", Side.YES, 4400, 1_000, tif=TimeInForce.IOC)))
        got.append((o.status, o.filled_lots, o.remaining_lots, o.cost_micros, o.fees_micros))
    assert got == [(OrderStatus.RESTING, 0, 1_000, 0, 0), (OrderStatus.PENDING, 0, 1_000, 0, 0)]
    for bad in ("abc", "-1", "NaN"):
        http.answer = {"success": True, "orderID": "0xbad", "status": "matched", "makingAmount": bad,
                       "takingAmount": "10"}
        with pytest.raises(ProtocolError, match="makingAmount"):
            run(client.place(OrderRequest("0xc", Side.YES, 4400, 1_000, tif=TimeInForce.IOC)))


# ---- 4. Polymarket order statuses ---------------------------------------------------------------

OID = "0x" + "ab" * 32
MARKET = MarketInfo(Venue.POLYMARKET, "0xc", "m", fees=FeeSchedule(taker_rate_ppm=40_000, rounding=10),
                    lot_lots=1, tick_ticks=100, yes_token="1", no_token="2")


class _ReadHttp:
    def __init__(self, order=None, trades=()) -> None:
        self.order, self.trades = order, list(trades)

    async def clob_get(self, path, params=None, auth=False):
        if path.startswith("/data/order/"):
            return self.order
        return {"data": self.trades, "next_cursor": "LTE="}

    async def close(self):
        pass


def _venue(http) -> PolymarketVenue:
    v = PolymarketVenue(PolymarketConfig(private_key=PRIV))
    v.http = v.provider.http = http
    v.exec.http = http
    v.provider.markets["0xc"] = MARKET
    return v


def _order_body(status: str, matched: str) -> dict:
    return {"id": OID, "status": status, "market": "0xc", "asset_id": "1", "side": "BUY", "original_size": "10",
            "size_matched": matched, "price": "0.5", "created_at": 1790000000}


STATUS_CASES = [     # /data/order status, size_matched → status, filled lots, fee µ$
    ("UNMATCHED", "0", OrderStatus.CANCELED, 0, 0),
    ("INVALID", "0", OrderStatus.CANCELED, 0, 0),
    ("CANCELED_MARKET_RESOLVED", "4", OrderStatus.CANCELED, 400, 40_000),    # 4 × 0.04 × 0.25
    ("unmatched", "0", OrderStatus.CANCELED, 0, 0),
    ("DELAYED", "0", OrderStatus.PENDING, 0, 0),
    ("MATCHED", "10", OrderStatus.FILLED, 1_000, 100_000),                   # 10 × 0.04 × 0.25
    # the CLOB OpenAPI's names (GET /data/order): before, all of them read as unknown → PENDING, so
    # an order whose answer was lost was looked up forever
    ("ORDER_STATUS_MATCHED", "10", OrderStatus.FILLED, 1_000, 100_000),
    ("ORDER_STATUS_CANCELED", "4", OrderStatus.CANCELED, 400, 40_000),
    ("ORDER_STATUS_INVALID", "0", OrderStatus.CANCELED, 0, 0),
    ("ORDER_STATUS_CANCELED_MARKET_RESOLVED", "0", OrderStatus.CANCELED, 0, 0),
    ("ORDER_STATUS_SYSTEM_CLEARED", "0", OrderStatus.CANCELED, 0, 0),
]


def test_polymarket_order_statuses():
    got = []
    for wire, matched, *_ in STATUS_CASES:
        o = run(_venue(_ReadHttp(_order_body(wire, matched))).order(OID))
        got.append((wire, matched, o.status, o.filled_lots, o.fees_micros))
        assert (o.remaining_lots, o.cost_micros) == (0, 5000 * o.filled_lots)
    assert got == STATUS_CASES



def test_polymarket_order_price_between_ticks_is_read_as_the_tick_it_trades_at():
    """A FAK's rounded amounts imply a price between ticks (1.01/1.74 = 0.58045977…): should the
    CLOB report that as the order's price, the lookup reads the tick it can trade at (a BUY's
    below, a SELL's above) instead of failing (before: ProtocolError on every lookup, so an
    order whose answer was lost could never be resolved)."""
    got = []
    for side, price in (("BUY", "0.58045977"), ("SELL", "0.38499")):
        body = {**_order_body("MATCHED", "10"), "side": side, "price": price}
        o = run(_venue(_ReadHttp(body)).order(OID))
        got.append((o.action, o.price_ticks, o.status, o.filled_lots))
    assert got == [(Action.BUY, 5800, OrderStatus.FILLED, 1_000), (Action.SELL, 3900, OrderStatus.FILLED, 1_000)]

def test_polymarket_unknown_order_status_is_pending_and_loud(caplog):
    with caplog.at_level(logging.WARNING, logger="arbbot.venues.polymarket.execution"):
        o = run(_venue(_ReadHttp(_order_body("SOMETHING_NEW", "0"))).order(OID))
    assert o.status is OrderStatus.PENDING
    assert [r.levelno for r in caplog.records if "SOMETHING_NEW" in r.getMessage()] == [logging.WARNING]


def test_polymarket_unmatched_order_settles_at_once():
    """Before: UNMATCHED stayed pending, so `settle` (unbounded, as the executor calls it after
    its alert) never returned."""
    from arbbot.execution.settle import settle
    v = _venue(_ReadHttp(_order_body("UNMATCHED", "0")))

    async def main():
        first = await v.order(OID)
        return await settle(v, first, timeout_s=1, backoff_cap_s=0.05)
    o = run(main())
    assert (o.status, o.filled_lots) == (OrderStatus.CANCELED, 0)


# ---- 5. Polymarket fill fees from the market's fee schedule -------------------------------------

def _trade(tid: str, bps: str, asset: str = "1", size: str = "10") -> dict:
    return {"id": tid, "taker_order_id": OID, "market": "0xc", "asset_id": asset, "side": "BUY", "size": size,
            "price": "0.5", "fee_rate_bps": bps, "status": "CONFIRMED", "match_time": "1790000000",
            "trader_side": "TAKER", "maker_orders": []}


def test_polymarket_fill_fee_comes_from_the_markets_schedule_not_the_trades_bps():
    """Schedule rate 4 %: 10 shares at 0.50 pay $0.10 whatever `fee_rate_bps` the trade states."""
    got = {}
    for bps in ("0", "400", "1000"):
        fills = run(_venue(_ReadHttp(None, [_trade("t1", bps)])).fills())
        got[bps] = [(f.qty_lots, f.price_ticks, f.fee_micros) for f in fills]
    assert got == {bps: [(1_000, 5000, 100_000)] for bps in ("0", "400", "1000")}


class _GammaHttp(_ReadHttp):
    """_ReadHttp with Gamma's `/markets?condition_ids=` listing `gamma` (closed markets)."""

    def __init__(self, order=None, trades=(), gamma=()) -> None:
        super().__init__(order, trades)
        self.gamma_markets, self.gamma_reads = list(gamma), []

    async def gamma(self, path, params=None):
        self.gamma_reads.append((path, params.get("closed")))
        want = set(params.get("condition_ids") or ())
        return [m for m in self.gamma_markets if m["conditionId"] in want and str(m["closed"]).lower() == params["closed"]]


UNLISTED = {"conditionId": "0xnot-discovered", "question": "closed since", "clobTokenIds": '["999", "998"]',
            "outcomes": '["Yes", "No"]', "feesEnabled": True, "feeSchedule": {"rate": "0.02", "exponent": 1},
            "closed": True}


def test_polymarket_fill_fees_round_once_per_order_on_the_schedule():
    """Two fills of one order, 3.333333 shares each at 0.50, rate 4 % (fee_rate_bps says 0): raw
    $0.03333333 then $0.06666666 in all, rounded up per order to $0.00001: $0.03334, then
    $0.06667 − $0.03334 = $0.03333. A trade in a market not listed now (closed) is priced with the
    schedule Gamma shows for it (2 %: 10 × 0.02 × 0.25 = $0.05), not the trade's legacy
    `fee_rate_bps` (1000)."""
    fills = run(_venue(_GammaHttp(None, [
        _trade("t1", "0", size="3.333333"), _trade("t2", "0", size="3.333333"),
        {**_trade("t3", "1000", asset="999"), "taker_order_id": "0xother", "market": "0xnot-discovered"}],
        [UNLISTED])).fills())
    assert [(f.fill_id, f.qty_lots, f.fee_micros) for f in fills] == \
           [("t1", 333, 33_340), ("t2", 333, 33_330), ("t3", 1_000, 50_000)]


def test_polymarket_taker_fills_are_priced_at_each_makers_price_not_the_trades_limit():
    """A FAK BUY of YES, limit 0.60, matched in one trade (the CLOB's: top-level `price` is the
    taker's limit): 4 shares from a YES seller at 0.55 and 6 from a NO buyer at 0.42 (a mint: we
    pay 1 − 0.42 = 0.58). Before: one fill of 10 at 0.60, $6.00 where $5.68 moved, and the fee at
    the wrong p. Now two fills at 0.55 and 0.58; fee 4 % on the order's running total:
    4 × 0.04 × 0.2475 = 0.0396, + 6 × 0.04 × 0.2436 = 0.058464 → $0.09807 rounded up.
    Makers that do not add up to the size: one fill at the top-level price, as before."""
    trade = {**_trade("t1", "0"), "price": "0.6", "maker_orders": [
        {"order_id": "m1", "owner": "x", "asset_id": "1", "side": "SELL", "price": "0.55", "matched_amount": "4"},
        {"order_id": "m2", "owner": "y", "asset_id": "2", "side": "BUY", "price": "0.42", "matched_amount": "6"}]}
    fills = run(_venue(_ReadHttp(None, [trade])).fills())
    assert [(f.fill_id, f.price_ticks, f.qty_lots, f.fee_micros) for f in fills] == \
           [("t1:0", 5500, 400, 39_600), ("t1:1", 5800, 600, 58_470)]
    assert sum(f.price_ticks * f.qty_lots for f in fills) == 5_680_000           # µ$: what the account paid
    short = {**trade, "maker_orders": trade["maker_orders"][:1]}
    assert [(f.price_ticks, f.qty_lots) for f in run(_venue(_ReadHttp(None, [short])).fills())] == [(6000, 1_000)]


def test_polymarket_fills_of_a_market_no_longer_listed_keep_their_side():
    """A NO buy of 10 shares at 0.60 in a market that closed after it traded: the listing no
    longer has it. Before, its token fell back to (the trade's market, YES): +1,000 YES lots and
    the trade's legacy fee_rate_bps (1000: $0.24). Now a market listed once stays known (a
    re-listing drops it), and one never listed in this process is looked up on Gamma (closed, then
    open): NO, at its schedule's 2 % ($0.048). A token Gamma does not know is an error, never YES."""
    def no_buy(tid, asset, market):
        return {**_trade(tid, "1000", asset=asset), "price": "0.6", "market": market}
    v = _venue(_GammaHttp(None, [no_buy("t1", "2", "0xc")]))
    v.provider.known["0xc"] = MARKET
    v.provider.tokens.update({"1": ("0xc", Side.YES), "2": ("0xc", Side.NO)})
    v.provider.markets = {"0xd": replace(MARKET, market_id="0xd", yes_token="3", no_token="4")}   # re-listed without it
    got = run(v.fills())
    assert [(f.market_id, f.side, f.qty_lots, f.fee_micros) for f in got] == [("0xc", Side.NO, 1_000, 96_000)]
    http = _GammaHttp(None, [no_buy("t2", "998", "0xnot-discovered")], [UNLISTED])
    v = _venue(http)
    got = run(v.fills())
    assert [(f.market_id, f.side, f.qty_lots, f.fee_micros) for f in got] == [("0xnot-discovered", Side.NO, 1_000, 48_000)]
    assert http.gamma_reads == [("/markets", "true")]
    run(v.fills())
    assert len(http.gamma_reads) == 1                     # known from then on
    v = _venue(_GammaHttp(None, [no_buy("t3", "777", "0xnowhere")], [UNLISTED]))
    with pytest.raises(ProtocolError, match="token 777 of market 0xnowhere"):
        run(v.fills())
