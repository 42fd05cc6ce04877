"""The simulator's Kalshi REST responses against Kalshi's own OpenAPI spec (openapi-core) and the
official SDK's response models (kalshi-python-sync 3.2.0) — code no one here wrote."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from arbbot.venues.kalshi.common.signing import KalshiSigner
from tests.venues.kalshi_env import KEY_ID, kalshi_env

SPEC = Path(__file__).resolve().parents[4].parent / "shared" / "spec" / "reference" / "kalshi-openapi.yaml"
if not SPEC.exists():
    SPEC = Path("/work/shared/spec/reference/kalshi-openapi.yaml")
H0 = "KXFEDDECISION-26DEC-H0"


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
    return OpenAPI.from_file_path(str(SPEC))


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
            r = await call("POST", "/portfolio/orders", body={
                "ticker": H0, "side": "yes", "action": "buy", "count_fp": "10.00",
                "yes_price_dollars": "0.5400", "client_order_id": "conf-1", "time_in_force": "good_till_canceled"})
            assert r.status_code == 201
            rest = await call("POST", "/portfolio/orders", body={
                "ticker": H0, "side": "no", "action": "buy", "count": 3, "no_price": 30, "client_order_id": "conf-2"})
            await call("GET", "/portfolio/orders")
            await call("GET", "/portfolio/positions")
            await call("GET", "/portfolio/fills")
            await call("DELETE", f"/portfolio/orders/{rest.json()['order']['order_id']}")
            b = await call("POST", "/portfolio/orders/batched", body={"orders": [
                {"ticker": H0, "side": "no", "action": "buy", "count_fp": "2.00", "no_price_dollars": "0.3000",
                 "client_order_id": "conf-b1", "time_in_force": "good_till_canceled"},
                {"ticker": H0, "side": "yes", "action": "buy", "count_fp": "1.00", "yes_price_dollars": "0.4550",
                 "client_order_id": "conf-b2"}]})
            assert [sorted(o) for o in b.json()["orders"]] == [["client_order_id", "order"], ["client_order_id", "error"]]
            await call("DELETE", "/portfolio/orders/batched", body={"orders": [
                {"order_id": b.json()["orders"][0]["order"]["order_id"]}, {"order_id": "nope"}]})
            # paged reads with every filter we use: a second fill on H0 and a position on C25 first
            for t, coid in ((H0, "conf-3"), ("KXFEDDECISION-26DEC-C25", "conf-4")):
                await call("POST", "/portfolio/orders", body={"ticker": t, "side": "yes", "action": "buy",
                                                              "count_fp": "1.00", "yes_price_dollars": "0.9900",
                                                              "client_order_id": coid,
                                                              "time_in_force": "immediate_or_cancel"})
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
            order_id = r.json()["order"]["order_id"]
            got = await call("GET", "/portfolio/fills", {"order_id": order_id})
            assert {f["order_id"] for f in got.json()["fills"]} == {order_id} and got.json()["cursor"] == ""
            for q in ({"limit": "1001"}, {"cursor": "garbage"}):              # refused: ErrorResponse
                bad = await call("GET", "/portfolio/orders", q)
                assert bad.status_code == 400 and bad.json()["code"] == "invalid_parameters"
    return out


def test_responses_validate_against_openapi(rsa_keys, openapi):
    calls = asyncio.run(_collect(rsa_keys))
    assert len(calls) == 15 + 2 + 8 + 1 + 2 + 1
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
