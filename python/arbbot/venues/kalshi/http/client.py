"""Kalshi REST transport: signing, token buckets, the shared retry policy (venues/common/http.py:
orders are never re-sent once they may have reached the venue), exact JSON decoding."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from arbbot.venues.common import http as common_http
from arbbot.venues.common.errors import (
    AuthError, NotFound, OrderRejected, OutcomeUnknown, VenueError,
)
from arbbot.venues.common.ratelimit import KALSHI_TIERS, TokenBucket
from arbbot.venues.kalshi.common.signing import KalshiSigner
from arbbot.venues.kalshi.config import KalshiConfig



# Order writes: the V2 family (`/portfolio/events/orders…`, what the adapter sends) and the legacy
# V1 paths (`/portfolio/orders…`: Kalshi answers their writes 410 `deprecated_v1_order_endpoint`,
# a refusal like any other). A POST under either creates (or amends) an order: never re-sent once
# it may have reached the venue, and its 4xx answers read as `_order_refusal` says.
ORDER_WRITE_PREFIXES = ("/portfolio/events/orders", "/portfolio/orders")


def is_order_post(method: str, path: str) -> bool:
    """A POST that creates (or amends) orders: `ORDER_WRITE_PREFIXES`."""
    return method == "POST" and path.startswith(ORDER_WRITE_PREFIXES)


class KalshiHttpClient:
    """`await get(path, params)`, `post`, `delete`. Paths are relative to the API root
    (`/markets`). Write requests (orders) draw on the write bucket, everything else on read."""

    def __init__(self, config: KalshiConfig, *, signer: KalshiSigner | None = None,
                 recorder: Callable[[dict], Awaitable[None] | None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.signer = signer or (KalshiSigner(config.key_id, config.private_key_pem)
                                 if config.key_id and config.private_key_pem else None)
        read, write = KALSHI_TIERS[config.tier]
        self.read_bucket = TokenBucket(read, read)
        self.write_bucket = TokenBucket(write, write * 2)       # write bucket holds 2 s of budget
        self._client = httpx.AsyncClient(timeout=config.timeout_s, transport=transport)
        self._root_path = urlsplit(config.rest_url).path.rstrip("/")
        self.recorder = recorder
        self.retries = 0

    async def close(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, params: dict | None = None, *, auth: bool = False) -> Any:
        return await self.request("GET", path, params=params, auth=auth)

    async def post(self, path: str, body: dict, *, cost_units: int = 1) -> Any:
        return await self.request("POST", path, body=body, auth=True, write=True, cost_units=cost_units)

    async def delete(self, path: str, body: dict | None = None, *, cost_units: int = 1) -> Any:
        return await self.request("DELETE", path, body=body, auth=True, write=True, cost_units=cost_units)

    async def request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                      auth: bool = False, write: bool = False, cost_units: int = 1,
                      call: common_http.Call | None = None) -> Any:
        """`cost_units`: how many requests this call counts as (a batch counts each order).
        `call`: the retry policy; default ORDER for order placement (`is_order_post`: a POST under
        /portfolio/events/orders or /portfolio/orders), READ for everything else (reads and
        cancels are idempotent)."""
        url = self.config.rest_url.rstrip("/") + path
        bucket = self.write_bucket if write else self.read_bucket
        content = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        if call is None:
            call = common_http.Call.ORDER if is_order_post(method, path) else common_http.Call.READ

        async def prepare() -> dict:
            await bucket.acquire(self.config.request_cost * cost_units)
            headers = {"Content-Type": "application/json"} if content is not None else {}
            if auth:
                if self.signer is None:
                    raise AuthError("Kalshi credentials are not configured (key_id, private key)", venue="kalshi")
                headers.update(self.signer.headers(method, self._root_path + path))
            return headers

        resp = await common_http.send(
            self._client, method, url, venue="kalshi", path=path, call=call, max_retries=self.config.max_retries,
            prepare=prepare, params=params, content=content, on_response=lambda resp: self._record(method, path, resp),
            on_rate_limited=bucket.penalize, on_retry=self._count_retry)
        return _decode(resp, method, path)

    def _count_retry(self) -> None:
        self.retries += 1

    async def _record(self, method: str, path: str, resp: httpx.Response) -> None:
        if self.recorder is not None:
            r = self.recorder({"kind": "rest", "venue": "kalshi", "method": method, "path": path,
                               "status": resp.status_code, "body": resp.text})
            if asyncio.iscoroutine(r):
                await r


def _error_fields(data: Any) -> tuple[str, str]:
    """(code, message) of an error body. The OpenAPI's `ErrorResponse` is flat (`{"code",
    "message","details","service"}`); the order endpoints nest it (`{"error": {"code", "message",
    "details"}}`: docs.kalshi.com/getting_started/order_errors, "read error.code first and fall
    back to a top-level code"). The nested form is read first, the flat one as the fallback; a
    bare `{"error": "text"}` (the 429 body) is the message. `details`, when it adds something
    ("post only cross"), is appended to the message in parentheses."""
    if not isinstance(data, dict):
        return "", ""
    err = data.get("error")
    if isinstance(err, dict):
        code, msg, details = err.get("code"), err.get("message"), err.get("details")
    else:
        code, msg, details = None, err, None
    if not code:
        code = data.get("code")
    if not msg:
        msg = data.get("message")
    if not details:
        details = data.get("details")
    msg = str(msg or "")
    if details and str(details) != msg:
        msg = f"{msg} ({details})" if msg else str(details)
    return str(code or ""), msg


# the codes an order is refused with while the exchange does not trade (no order is taken)
REFUSED_WHILE_PAUSED = frozenset({"trading_is_paused"})
# the codes a create is refused with because our client_order_id is already there: an earlier send
# of this very order arrived, so the order IS at the venue (it may have filled)
ALREADY_THERE = frozenset({"order_already_exists"})


class OrderAuthRefused(OrderRejected, AuthError):
    """An order create refused for its credentials (401/403): nothing was placed (OrderRejected),
    and the key needs looking at (AuthError)."""


def _decode(resp: httpx.Response, method: str, path: str) -> Any:
    data = common_http.load_json(resp, "kalshi", method, path)
    if resp.status_code < 400:
        return data
    code, msg = _error_fields(data)
    text = f"kalshi {method} {path}: HTTP {resp.status_code} {code}: {msg}"
    if is_order_post(method, path):
        raise _order_refusal(resp.status_code, code, text)
    if resp.status_code in (401, 403):
        raise AuthError(text, venue="kalshi", status=resp.status_code, code=code)
    if resp.status_code == 404:
        raise NotFound(text, venue="kalshi", status=404, code=code)
    raise VenueError(text, venue="kalshi", status=resp.status_code, code=code)


def _order_refusal(status: int, code: str, text: str) -> VenueError:
    """What a 4xx answer to an order create means (429 and 5xx never get here: the shared send
    policy retries 429 and reads 5xx as outcome unknown).

    Kalshi's order-errors guide (https://docs.kalshi.com/getting_started/order_errors, for the
    `/portfolio/events/orders` endpoints): "On a 400, 403, 404, 409, 410 or 429, treat an unknown
    code as a rejection. A 408, any 5xx or a dropped connection is different" (the outcome is
    unknown). So:
    - 408 (the request timed out at the venue, which may still have taken it): OutcomeUnknown;
    - 409 `order_already_exists` (our client_order_id is there: an earlier send arrived, the order
      exists and may have filled): OutcomeUnknown, so the caller looks it up by client order id;
    - 401 / 403: nothing placed, credentials refused: `OrderAuthRefused` (an OrderRejected);
    - any other 4xx — 400 (invalid order), 404 (`market_not_found`), 409 (`trading_is_paused`,
      `market_closed`…), 410 (`deprecated_v1_order_endpoint`: the V1 path is retired): the venue
      processed the request and refused it, nothing was placed: OrderRejected. (Before, a 404
      became NotFound and a 409 but `trading_is_paused` OutcomeUnknown, both read by the executor
      as "outcome unknown": minutes of lookups for an order that never existed.)"""
    if status == 408 or code in ALREADY_THERE:
        return OutcomeUnknown(text, venue="kalshi", status=status, code=code)
    if status in (401, 403):
        return OrderAuthRefused(text, venue="kalshi", status=status, code=code)
    if status == 410:
        text += " (Kalshi retired this endpoint: orders go to POST /portfolio/events/orders)"
    return OrderRejected(text, venue="kalshi", status=status, code=code)
