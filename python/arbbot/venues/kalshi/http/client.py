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
        `call`: the retry policy; default ORDER for order placement (POST under /portfolio/orders),
        READ for everything else (reads and cancels are idempotent)."""
        url = self.config.rest_url.rstrip("/") + path
        bucket = self.write_bucket if write else self.read_bucket
        content = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        if call is None:
            call = common_http.Call.ORDER if method == "POST" and path.startswith("/portfolio/orders") \
                else common_http.Call.READ

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
    "message","details","service"}`); bodies nested as `{"error": {"code": …, "message": …}}`
    are reported from the live API. The nested form is read first, the flat one as the fallback;
    a bare `{"error": "text"}` (the 429 body) is the message."""
    if not isinstance(data, dict):
        return "", ""
    err = data.get("error")
    if isinstance(err, dict):
        code, msg = err.get("code"), err.get("message")
    else:
        code, msg = None, err
    if not code:
        code = data.get("code")
    if not msg:
        msg = data.get("message")
    return str(code or ""), str(msg or "")


# the codes an order is refused with while the exchange does not trade (no order is taken)
REFUSED_WHILE_PAUSED = frozenset({"trading_is_paused"})


def _decode(resp: httpx.Response, method: str, path: str) -> Any:
    data = common_http.load_json(resp, "kalshi", method, path)
    if resp.status_code < 400:
        return data
    code, msg = _error_fields(data)
    text = f"kalshi {method} {path}: HTTP {resp.status_code} {code}: {msg}"
    if resp.status_code in (401, 403):
        raise AuthError(text, venue="kalshi", status=resp.status_code, code=code)
    if resp.status_code == 404:
        raise NotFound(text, venue="kalshi", status=404, code=code)
    if method == "POST" and "orders" in path:
        if code in REFUSED_WHILE_PAUSED:
            # 409 trading_is_paused (the weekly maintenance, a halt): no order is taken
            raise OrderRejected(text, venue="kalshi", status=resp.status_code, code=code)
        if resp.status_code in (408, 409) or code == "order_already_exists":
            # 408: the request timed out at the venue, which may still have taken the order; 409
            # (conflict): above all `order_already_exists`, our client_order_id is already there
            # (an earlier send arrived). Either way the order may be at the venue: look it up.
            raise OutcomeUnknown(text, venue="kalshi", status=resp.status_code, code=code)
        raise OrderRejected(text, venue="kalshi", status=resp.status_code, code=code)
    raise VenueError(text, venue="kalshi", status=resp.status_code, code=code)
