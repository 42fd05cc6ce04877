"""Polymarket REST transport (Gamma + CLOB): L2 headers on account endpoints, the shared retry
policy (venues/common/http.py: honours Retry-After; orders are never re-sent once they may have
reached the venue; HTTP 425, the matching engine restarting, refuses an order and is retried on a
read), exact JSON decoding (numbers → Decimal). Every 425 answered, retried or not, is told to
`on_too_early` (the venue holds its books through the restart)."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from arbbot.venues.common import http as common_http
from arbbot.venues.common.errors import AuthError, NotFound, VenueError
from arbbot.venues.common.ratelimit import TokenBucket
from arbbot.venues.polymarket.common.signing import L2Signer
from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.http import answers


class PolymarketHttpClient:
    def __init__(self, config: PolymarketConfig, *, recorder: Callable[[dict], Awaitable[None] | None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.signer = (L2Signer(config.address, config.api_key, config.api_secret, config.api_passphrase)
                       if config.api_key and config.api_secret else None)
        self.bucket = TokenBucket(150.0, 300.0)        # well under the CLOB's /book 1,500 per 10 s
        self._client = httpx.AsyncClient(timeout=config.timeout_s, transport=transport)
        self.recorder = recorder
        self.retries = 0
        self.on_too_early: Callable[[], None] | None = None   # called on every HTTP 425 answer

    async def close(self) -> None:
        await self._client.aclose()

    async def gamma(self, path: str, params: dict | None = None) -> Any:
        return await self.request("GET", self.config.gamma_url, path, params=params)

    async def clob_get(self, path: str, params: dict | None = None, *, auth: bool = False) -> Any:
        return await self.request("GET", self.config.clob_url, path, params=params, auth=auth)

    async def clob_post(self, path: str, body: Any, *, auth: bool = False) -> Any:
        return await self.request("POST", self.config.clob_url, path, body=body, auth=auth)

    async def clob_delete(self, path: str, body: Any) -> Any:
        return await self.request("DELETE", self.config.clob_url, path, body=body, auth=True)

    async def request(self, method: str, base: str, path: str, *, params: dict | None = None, body: Any = None,
                      auth: bool = False, call: common_http.Call | None = None) -> Any:
        """`call`: the retry policy; default ORDER for `POST /order` (and `/orders`), READ otherwise."""
        url = base.rstrip("/") + path
        sign_path = urlsplit(base).path.rstrip("/") + path
        text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        if call is None:
            call = common_http.Call.ORDER if method == "POST" and path in ("/order", "/orders") \
                else common_http.Call.READ

        async def prepare() -> dict:
            await self.bucket.acquire(1)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if auth:
                if self.signer is None:
                    raise AuthError("Polymarket L2 credentials are not configured (api_key, secret, passphrase)",
                                    venue="polymarket")
                headers.update(self.signer.headers(method, sign_path, text))
            return headers

        resp = await common_http.send(
            self._client, method, url, venue="polymarket", path=path, call=call,
            max_retries=self.config.max_retries, prepare=prepare, params=params,
            content=text.encode() if body is not None else None,
            on_response=lambda resp: self._answered(method, path, resp), on_retry=self._count_retry,
            refusal=lambda resp: answers.order_refusal(resp, f"polymarket {method} {path}"))
        return _decode(resp, method, path)

    def _count_retry(self) -> None:
        self.retries += 1

    async def _answered(self, method: str, path: str, resp: httpx.Response) -> None:
        """Every answer, before the retry policy acts on it: a 425 to `on_too_early`, then to the
        recorder."""
        if (resp.status_code == 425 or answers.is_post_only_mode(resp)) and self.on_too_early is not None:
            self.on_too_early()                   # (post-only mode: the end of a restart, held as one)
        if self.recorder is not None:
            r = self.recorder({"kind": "rest", "venue": "polymarket", "method": method, "path": path,
                               "status": resp.status_code, "body": resp.text})
            if asyncio.iscoroutine(r):
                await r


def _decode(resp: httpx.Response, method: str, path: str) -> Any:
    data = common_http.load_json(resp, "polymarket", method, path)
    if resp.status_code < 400:
        return data
    msg, _ = answers.error_text(data)
    text = f"polymarket {method} {path}: HTTP {resp.status_code}: {msg}"
    if resp.status_code in (401, 403):
        raise AuthError(text, venue="polymarket", status=resp.status_code)
    if resp.status_code == 404:
        raise NotFound(text, venue="polymarket", status=404)
    if method == "POST" and path.startswith("/order"):
        # a refusal, or (an earlier send of the same signed order arrived, the match delayed) an
        # order that may be at the venue: `answers`
        raise answers.rejection(resp.status_code, msg, text)
    raise VenueError(text, venue="polymarket", status=resp.status_code)
