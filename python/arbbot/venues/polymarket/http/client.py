"""Polymarket REST transport (Gamma + CLOB): L2 headers on account endpoints, 429/5xx retries
with backoff (honouring Retry-After), exact JSON decoding (numbers → Decimal)."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from arbbot.venues.common import http as common_http
from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import (
    AuthError, NotFound, OrderRejected, RateLimited, TransportError, VenueError,
)
from arbbot.venues.common.ratelimit import TokenBucket
from arbbot.venues.polymarket.common.signing import L2Signer
from arbbot.venues.polymarket.config import PolymarketConfig

log = logging.getLogger("arbbot.venues.polymarket.http")


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
                      auth: bool = False) -> Any:
        url = base.rstrip("/") + path
        sign_path = urlsplit(base).path.rstrip("/") + path
        backoff = Backoff(base=0.05, cap=2.0)
        text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        for attempt in range(self.config.max_retries + 1):
            await self.bucket.acquire(1)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if auth:
                if self.signer is None:
                    raise AuthError("Polymarket L2 credentials are not configured (api_key, secret, passphrase)",
                                    venue="polymarket")
                headers.update(self.signer.headers(method, sign_path, text))
            try:
                resp = await self._client.request(method, url, params=params,
                                                  content=text.encode() if body is not None else None,
                                                  headers=headers)
            except httpx.HTTPError as exc:
                if attempt == self.config.max_retries:
                    raise TransportError(f"polymarket {method} {path}: {type(exc).__name__}", venue="polymarket") from None
                self.retries += 1
                await asyncio.sleep(backoff.next_delay())
                continue
            if self.recorder is not None:
                r = self.recorder({"kind": "rest", "venue": "polymarket", "method": method, "path": path,
                                   "status": resp.status_code, "body": resp.text})
                if asyncio.iscoroutine(r):
                    await r
            if resp.status_code == 429 or resp.status_code >= 500:
                retry_after = common_http.retry_after(resp)
                delay = retry_after if (resp.status_code == 429 and retry_after is not None) else backoff.next_delay()
                if attempt == self.config.max_retries:
                    if resp.status_code == 429:
                        raise RateLimited(f"polymarket {method} {path}: too many requests", retry_after=retry_after,
                                          venue="polymarket", status=429)
                    raise TransportError(f"polymarket {method} {path}: HTTP {resp.status_code}", venue="polymarket",
                                         status=resp.status_code)
                self.retries += 1
                log.info("polymarket %s %s → %s, retrying in %.2fs", method, path, resp.status_code, delay)
                await asyncio.sleep(delay)
                continue
            return _decode(resp, method, path)
        raise AssertionError("unreachable")


def _decode(resp: httpx.Response, method: str, path: str) -> Any:
    data = common_http.load_json(resp, "polymarket", method, path)
    if resp.status_code < 400:
        return data
    msg = str(data.get("error", "")) if isinstance(data, dict) else ""
    text = f"polymarket {method} {path}: HTTP {resp.status_code}: {msg}"
    if resp.status_code in (401, 403):
        raise AuthError(text, venue="polymarket", status=resp.status_code)
    if resp.status_code == 404:
        raise NotFound(text, venue="polymarket", status=404)
    if method == "POST" and path.startswith("/order"):
        raise OrderRejected(text, venue="polymarket", status=resp.status_code)
    raise VenueError(text, venue="polymarket", status=resp.status_code)
