"""The simulator's Kalshi REST responses against Kalshi's own OpenAPI spec (openapi-core) and the
official SDK's response models (kalshi-python-sync 3.2.0) — code no one here wrote.

The reference spec (v3.13.0) predates the V2 order endpoints the adapter now writes orders with;
their paths and schemas are added from Kalshi's OpenAPI 3.20.0 (`V2_SPEC`, transcribed as
published: `CreateOrderV2`, `CancelOrderV2`, `BatchCreateOrdersV2`, `BatchCancelOrdersV2`; a copy
is kept in TexasCoding/kalshi-python-sdk specs/openapi.yaml). The retired V1 writes answer 410."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from arbbot.venues.kalshi.common.signing import KalshiSigner
from tests.venues.kalshi_env import KEY_ID, kalshi_env

SPEC = Path(__file__).resolve().parents[4].parent / "shared" / "spec" / "reference" / "kalshi-openapi.yaml"
if not SPEC.exists():
    SPEC = Path("/work/shared/spec/reference/kalshi-openapi.yaml")
H0 = "KXFEDDECISION-26DEC-H0"

# Kalshi OpenAPI 3.20.0: the V2 order writes (paths, their parameters and schemas), as published.
V2_SPEC = yaml.safe_load("""
paths:
  /portfolio/events/orders:
    post:
      operationId: CreateOrderV2
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/CreateOrderV2Request'}
      responses:
        '201':
          description: Order created successfully
          content:
            application/json:
              schema: {$ref: '#/components/schemas/CreateOrderV2Response'}
        '400': {$ref: '#/components/responses/BadRequestError'}
        '401': {$ref: '#/components/responses/UnauthorizedError'}
        '409': {$ref: '#/components/responses/ConflictError'}
        '429': {$ref: '#/components/responses/RateLimitError'}
        '500': {$ref: '#/components/responses/InternalServerError'}
  /portfolio/events/orders/batched:
    post:
      operationId: BatchCreateOrdersV2
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/BatchCreateOrdersV2Request'}
      responses:
        '201':
          description: Batch order creation completed
          content:
            application/json:
              schema: {$ref: '#/components/schemas/BatchCreateOrdersV2Response'}
        '400': {$ref: '#/components/responses/BadRequestError'}
        '401': {$ref: '#/components/responses/UnauthorizedError'}
        '403': {$ref: '#/components/responses/ForbiddenError'}
        '500': {$ref: '#/components/responses/InternalServerError'}
    delete:
      operationId: BatchCancelOrdersV2
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/BatchCancelOrdersV2Request'}
      responses:
        '200':
          description: Batch order cancellation completed
          content:
            application/json:
              schema: {$ref: '#/components/schemas/BatchCancelOrdersV2Response'}
        '400': {$ref: '#/components/responses/BadRequestError'}
        '401': {$ref: '#/components/responses/UnauthorizedError'}
        '403': {$ref: '#/components/responses/ForbiddenError'}
        '500': {$ref: '#/components/responses/InternalServerError'}
  /portfolio/events/orders/{order_id}:
    delete:
      operationId: CancelOrderV2
      parameters:
        - $ref: '#/components/parameters/OrderIdPath'
        - $ref: '#/components/parameters/SubaccountQueryDefaultPrimary'
        - $ref: '#/components/parameters/ExchangeIndexQuery'
      responses:
        '200':
          description: Order cancelled successfully
          content:
            application/json:
              schema: {$ref: '#/components/schemas/CancelOrderV2Response'}
        '401': {$ref: '#/components/responses/UnauthorizedError'}
        '404': {$ref: '#/components/responses/NotFoundError'}
        '500': {$ref: '#/components/responses/InternalServerError'}
parameters:
  ExchangeIndexQuery:
    name: exchange_index
    in: query
    schema: {$ref: '#/components/schemas/ExchangeIndex'}
schemas:
  ExchangeIndex: {type: integer, description: Identifier for an exchange shard. Defaults to 0 if unspecified.}
  BookSide: {type: string, enum: [bid, ask]}
  CreateOrderV2Request:
    type: object
    required: [ticker, side, count, price, time_in_force, self_trade_prevention_type]
    properties:
      ticker: {type: string}
      client_order_id: {type: string}
      side: {$ref: '#/components/schemas/BookSide'}
      count: {$ref: '#/components/schemas/FixedPointCount'}
      price: {$ref: '#/components/schemas/FixedPointDollars'}
      expiration_time: {type: integer, format: int64}
      time_in_force: {type: string, enum: [fill_or_kill, good_till_canceled, immediate_or_cancel]}
      post_only: {type: boolean}
      self_trade_prevention_type: {allOf: [{$ref: '#/components/schemas/SelfTradePreventionType'}]}
      cancel_order_on_pause: {type: boolean}
      reduce_only: {type: boolean}
      subaccount: {type: integer, minimum: 0, default: 0}
      order_group_id: {type: string}
      exchange_index: {allOf: [{$ref: '#/components/schemas/ExchangeIndex'}], default: 0}
  CreateOrderV2Response:
    type: object
    required: [order_id, fill_count, remaining_count, ts_ms]
    properties:
      order_id: {type: string}
      client_order_id: {type: string}
      fill_count: {$ref: '#/components/schemas/FixedPointCount'}
      remaining_count: {$ref: '#/components/schemas/FixedPointCount'}
      average_fill_price: {$ref: '#/components/schemas/FixedPointDollars'}
      average_fee_paid: {$ref: '#/components/schemas/FixedPointDollars'}
      ts_ms: {type: integer, format: int64}
  CancelOrderV2Response:
    type: object
    required: [order_id, reduced_by, ts_ms]
    properties:
      order_id: {type: string}
      client_order_id: {type: string}
      reduced_by: {$ref: '#/components/schemas/FixedPointCount'}
      ts_ms: {type: integer, format: int64}
  BatchCreateOrdersV2Request:
    type: object
    required: [orders]
    properties:
      orders:
        type: array
        items: {$ref: '#/components/schemas/CreateOrderV2Request'}
  BatchCreateOrdersV2Response:
    type: object
    required: [orders]
    properties:
      orders:
        type: array
        items:
          type: object
          properties:
            order_id: {type: string}
            client_order_id: {type: string, nullable: true}
            fill_count: {allOf: [{$ref: '#/components/schemas/FixedPointCount'}], nullable: true}
            remaining_count: {allOf: [{$ref: '#/components/schemas/FixedPointCount'}], nullable: true}
            average_fill_price: {allOf: [{$ref: '#/components/schemas/FixedPointDollars'}], nullable: true}
            average_fee_paid: {allOf: [{$ref: '#/components/schemas/FixedPointDollars'}], nullable: true}
            ts_ms: {type: integer, format: int64, nullable: true}
            error: {allOf: [{$ref: '#/components/schemas/ErrorResponse'}], nullable: true}
  BatchCancelOrdersV2Request:
    type: object
    required: [orders]
    properties:
      orders:
        type: array
        items:
          type: object
          required: [order_id]
          properties:
            order_id: {type: string}
            subaccount: {type: integer, minimum: 0, default: 0}
            exchange_index: {allOf: [{$ref: '#/components/schemas/ExchangeIndex'}], default: 0}
  BatchCancelOrdersV2Response:
    type: object
    required: [orders]
    properties:
      orders:
        type: array
        items:
          type: object
          required: [order_id, reduced_by]
          properties:
            order_id: {type: string}
            client_order_id: {type: string, nullable: true}
            reduced_by: {$ref: '#/components/schemas/FixedPointCount'}
            ts_ms: {type: integer, format: int64, nullable: true}
            error: {allOf: [{$ref: '#/components/schemas/ErrorResponse'}], nullable: true}
""")


def spec_with_v2() -> dict:
    """The reference spec with `V2_SPEC`'s paths, parameters and schemas added."""
    spec = yaml.safe_load(SPEC.read_text())
    spec["paths"].update(V2_SPEC["paths"])
    for part in ("parameters", "schemas"):
        spec["components"][part].update(V2_SPEC[part])
    return spec


class _Req:
    def __init__(self, method: str, path: str, query: dict, headers: dict, body: bytes | None):
        self.host_url = "https://api.elections.kalshi.com"
        self.path = path
        self.method = method.lower()
        self.parameters = RequestParameters(query=ImmutableMultiDict(query), header=Headers(headers),
                                            cookie=ImmutableMultiDict())
        self.body = body
        self.content_type = "application/json"


class _Resp:
    def __init__(self, r: httpx.Response):
        self.data = r.content
        self.status_code = r.status_code
        self.content_type = r.headers.get("content-type", "").split(";")[0]
        self.headers = Headers(dict(r.headers))


@pytest.fixture(scope="module")
def openapi():
    return OpenAPI.from_dict(spec_with_v2())


async def _collect(rsa_keys):
    """Make one real request per endpoint; return [(method, path, query, body, response)]."""
    out = []
    async with kalshi_env(rsa_keys) as (sim, cfg):
        signer = KalshiSigner(KEY_ID, rsa_keys[0])
        root = "/trade-api/v2"
        async with httpx.AsyncClient(base_url=sim.base_url.replace(root, "")) as c:
            async def call(method, rel, query=None, body=None):
                path = root + rel
                content = json.dumps(body).encode() if body is not None else None
                h = signer.headers(method, path)
                if content:
                    h["Content-Type"] = "application/json"
                r = await c.request(method, path, params=query, content=content, headers=h)
                out.append((method, path, query or {}, content, r))
                return r
            await call("GET", "/markets", {"limit": "2"})
            await call("GET", f"/markets/{H0}")
            await call("GET", "/events", {"with_nested_markets": "true"})
            await call("GET", "/series/KXFEDDECISION")
            await call("GET", "/series")
            sim.fee_changes = [{"id": "fc-1", "series_ticker": "KXFEDDECISION", "fee_type": "quadratic_with_maker_fees",
                                "fee_multiplier": 1.5, "scheduled_ts": "2099-01-01T00:00:00Z"}]
            changes = await call("GET", "/series/fee_changes")
            assert changes.json()["series_fee_change_arr"] == sim.fee_changes
            await call("GET", f"/markets/{H0}/orderbook")
            await call("GET", "/portfolio/balance")
            r = await call("POST", "/portfolio/events/orders", body={
                "ticker": H0, "client_order_id": "conf-1", "side": "bid", "count": "10.00", "price": "0.5400",
                "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"})
            assert r.status_code == 201 and r.json()["fill_count"] == "10.00"
            rest = await call("POST", "/portfolio/events/orders", body={   # buy NO at 30¢ = ask YES at 70¢
                "ticker": H0, "client_order_id": "conf-2", "side": "ask", "count": "3", "price": "0.70",
                "time_in_force": "good_till_canceled", "self_trade_prevention_type": "maker"})
            assert (rest.status_code, rest.json()["fill_count"], rest.json()["remaining_count"]) == \
                (201, "0.00", "3.00")
            await call("GET", "/portfolio/orders")
            await call("GET", f"/portfolio/orders/{rest.json()['order_id']}")
            await call("GET", "/portfolio/positions")
            await call("GET", "/portfolio/fills")
            gone = await call("DELETE", f"/portfolio/events/orders/{rest.json()['order_id']}",
                              {"subaccount": "0", "exchange_index": "0"})
            assert gone.json()["reduced_by"] == "3.00"
            b = await call("POST", "/portfolio/events/orders/batched", body={"orders": [
                {"ticker": H0, "client_order_id": "conf-b1", "side": "ask", "count": "2.00", "price": "0.7000",
                 "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"},
                {"ticker": H0, "client_order_id": "conf-b2", "side": "bid", "count": "1.00", "price": "0.4550",
                 "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}]})
            placed, refused = b.json()["orders"]
            assert sorted(placed) == ["client_order_id", "fill_count", "order_id", "remaining_count", "ts_ms"]
            assert sorted(refused) == ["client_order_id", "error"] and refused["error"]["code"] == "invalid_price"
            await call("DELETE", "/portfolio/events/orders/batched", body={"orders": [
                {"order_id": placed["order_id"]}, {"order_id": "nope"}]})
            # paged reads with every filter we use: a second fill on H0 and a position on C25 first
            for t, coid in ((H0, "conf-3"), ("KXFEDDECISION-26DEC-C25", "conf-4")):
                await call("POST", "/portfolio/events/orders", body={
                    "ticker": t, "client_order_id": coid, "side": "bid", "count": "1.00", "price": "0.9900",
                    "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "taker_at_cross"})
            ts = {"min_ts": str(sim.clock_ms() // 1000 - 60), "max_ts": str(sim.clock_ms() // 1000 + 60)}
            for rel, key, q in (("/portfolio/orders", "orders", {"limit": "2", "ticker": H0, **ts}),
                                ("/portfolio/orders", "orders", {"limit": "1", "status": "executed",
                                                                 "event_ticker": "KXFEDDECISION-26DEC"}),
                                ("/portfolio/fills", "fills", {"limit": "1", "ticker": H0, **ts}),
                                ("/portfolio/positions", "market_positions",
                                 {"limit": "1", "count_filter": "position,total_traded",
                                  "event_ticker": "KXFEDDECISION-26DEC"})):
                first = await call("GET", rel, q)
                assert len(first.json()[key]) == int(q["limit"]) and first.json()["cursor"], (rel, first.text)
                second = await call("GET", rel, {**q, "cursor": first.json()["cursor"]})
                assert second.json()[key] and len(second.json()[key]) <= int(q["limit"])
                assert not {json.dumps(x) for x in first.json()[key]} & {json.dumps(x) for x in second.json()[key]}
            order_id = r.json()["order_id"]
            got = await call("GET", "/portfolio/fills", {"order_id": order_id})
            assert {f["order_id"] for f in got.json()["fills"]} == {order_id} and got.json()["cursor"] == ""
            for q in ({"limit": "1001"}, {"cursor": "garbage"}):              # refused: ErrorResponse
                bad = await call("GET", "/portfolio/orders", q)
                assert bad.status_code == 400 and bad.json()["code"] == "invalid_parameters"
            # the retired V1 writes: 410, nothing placed or cancelled (not in `out`: no 410 in the spec)
            for method, rel, body in (("POST", "/portfolio/orders", {"ticker": H0, "side": "yes", "action": "buy",
                                                                    "count_fp": "1.00", "yes_price_dollars": "0.9900",
                                                                    "client_order_id": "conf-v1"}),
                                      ("DELETE", f"/portfolio/orders/{placed['order_id']}", None),
                                      ("POST", "/portfolio/orders/batched", {"orders": []}),
                                      ("DELETE", "/portfolio/orders/batched", {"orders": []})):
                h = signer.headers(method, root + rel)
                gone = await c.request(method, root + rel, headers=h,
                                       content=json.dumps(body).encode() if body is not None else None)
                assert (gone.status_code, gone.json()["error"]["code"]) == (410, "deprecated_v1_order_endpoint")
            assert ("user", "conf-v1") not in sim.exchange.by_client_id
    return out


def test_responses_validate_against_openapi(rsa_keys, openapi):
    calls = asyncio.run(_collect(rsa_keys))
    assert len(calls) == 17 + 2 + 8 + 1 + 2
    for method, path, query, body, r in calls:
        assert r.status_code in ((400,) if query.get("limit") == "1001" or "garbage" in query.values()
                                 else (200, 201)), (path, r.text)
        openapi.validate_response(_Req(method, path, query, {}, body), _Resp(r))


def test_responses_parse_with_official_sdk_models(rsa_keys):
    from kalshi_python_sync.models.get_balance_response import GetBalanceResponse
    from kalshi_python_sync.models.get_fills_response import GetFillsResponse
    from kalshi_python_sync.models.get_market_response import GetMarketResponse
    from kalshi_python_sync.models.get_markets_response import GetMarketsResponse
    from kalshi_python_sync.models.get_orders_response import GetOrdersResponse

    calls: dict = {}
    for m, p, _q, _b, r in asyncio.run(_collect(rsa_keys)):
        calls.setdefault((m, p), r)                    # the first (unfiltered) call of each endpoint
    # SDK 3.2.0's Market model still requires the integer-cent fields Kalshi removed from
    # responses on 2026-03-12 (yes_bid, notional_value, tick_size...): the spec wins, so the
    # SDK must refuse our (spec-valid) market, exactly as it refuses Kalshi's live responses.
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="notional_value|tick_size|yes_bid"):
        GetMarketResponse.from_json(calls[("GET", f"/trade-api/v2/markets/{H0}")].text)
    with pytest.raises(ValidationError):
        GetMarketsResponse.from_json(calls[("GET", "/trade-api/v2/markets")].text)
    bal = GetBalanceResponse.from_json(calls[("GET", "/trade-api/v2/portfolio/balance")].text)
    assert bal.balance == 1_000_000
    with pytest.raises(ValidationError, match="yes_price|fill_count"):   # same 2026 migration
        GetOrdersResponse.from_json(calls[("GET", "/trade-api/v2/portfolio/orders")].text)
    from kalshi_python_sync.models.get_positions_response import GetPositionsResponse
    with pytest.raises(ValidationError, match="position|total_traded"):
        GetPositionsResponse.from_json(calls[("GET", "/trade-api/v2/portfolio/positions")].text)
    with pytest.raises(ValidationError, match="count|yes_price"):
        GetFillsResponse.from_json(calls[("GET", "/trade-api/v2/portfolio/fills")].text)
