"""The shared HTTP retry policy against a real loopback server: an order is never sent twice once
it may have reached the venue; reads retry; what was never sent is retried and then `NotSent`."""
from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from aiohttp import web

from arbbot.venues.common import http as common_http
from arbbot.venues.common.errors import (
    NotSent, OrderRejected, OutcomeUnknown, RateLimited, TransportError, VenueUnavailable,
)
from arbbot.venues.kalshi import KalshiConfig
from arbbot.venues.kalshi.http.client import KalshiHttpClient
from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.http.client import PolymarketHttpClient


class Server:
    """aiohttp on 127.0.0.1 whose answer to every request is `behaviour` ("drop", "503", "429",
    "slow", "ok", "dup"); counts the requests that arrived."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.hits = 0

    async def handle(self, request: web.Request):
        self.hits += 1
        await request.read()
        if self.behaviour == "drop":            # accepted, then the connection dies without an answer
            request.transport.close()
            raise asyncio.CancelledError
        if self.behaviour == "503":
            return web.json_response({"error": "unavailable"}, status=503)
        if self.behaviour == "429":
            return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "0"})
        if self.behaviour == "slow":
            await asyncio.sleep(2.0)
        if self.behaviour == "dup":
            return web.json_response({"code": "order_already_exists", "message": "client_order_id already used"},
                                     status=409)
        return web.json_response({"ok": True, "order": {}})

    async def __aenter__(self):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _send(url: str, call: common_http.Call, retries: int = 3, timeout: float = 5.0):
    counted = {"prepare": 0, "retry": 0}

    async def prepare() -> dict:
        counted["prepare"] += 1
        return {}

    async with httpx.AsyncClient(timeout=timeout) as http:
        try:
            return await common_http.send(http, "POST", url + "/portfolio/orders", venue="test",
                                          path="/portfolio/orders", call=call, max_retries=retries, prepare=prepare,
                                          content=b"{}", on_retry=lambda: counted.__setitem__("retry",
                                                                                              counted["retry"] + 1))
        finally:
            _send.counted = counted


@pytest.mark.parametrize("behaviour", ["drop", "503", "slow"])
def test_order_that_may_have_arrived_is_sent_once(behaviour):
    async def go():
        async with Server(behaviour) as srv:
            with pytest.raises(OutcomeUnknown):
                await _send(srv.url, common_http.Call.ORDER, timeout=0.5)
            await asyncio.sleep(0.1)
            return srv.hits
    assert asyncio.run(go()) == 1


@pytest.mark.parametrize("behaviour", ["drop", "503"])
def test_reads_retry_then_fail(behaviour):
    async def go():
        async with Server(behaviour) as srv:
            with pytest.raises(TransportError) as info:
                await _send(srv.url, common_http.Call.READ, retries=2)
            assert not isinstance(info.value, OutcomeUnknown)
            return srv.hits
    assert asyncio.run(go()) == 3             # first try + 2 retries


def test_not_sent_is_retried_then_reported_not_sent():
    async def go():
        with pytest.raises(NotSent):
            await _send(f"http://127.0.0.1:{free_port()}", common_http.Call.ORDER, retries=2)
        return _send.counted
    assert asyncio.run(go()) == {"prepare": 3, "retry": 2}


def test_order_refused_with_429_is_retried_then_unavailable_nothing_placed():
    """Every attempt refused with 429 (before processing): after the last, the order is
    `VenueUnavailable` (an `OrderRejected`: nothing was placed, worth sending again later), never
    an outcome to look up; a read still ends `RateLimited`."""
    async def go():
        async with Server("429") as srv:
            with pytest.raises(VenueUnavailable) as refused:
                await _send(srv.url, common_http.Call.ORDER, retries=2)
            assert isinstance(refused.value, OrderRejected) and refused.value.status == 429
            assert refused.value.retry_after == 0.0          # the answer's Retry-After
            with pytest.raises(RateLimited):
                await _send(srv.url, common_http.Call.READ, retries=1)
            return srv.hits
    assert asyncio.run(go()) == 5


def test_order_answered_is_returned():
    async def go():
        async with Server("ok") as srv:
            resp = await _send(srv.url, common_http.Call.ORDER)
            return srv.hits, resp.status_code
    assert asyncio.run(go()) == (1, 200)


def test_kalshi_client_policy_per_call():
    """Order placement is ORDER (one request), a portfolio read is READ (retried); a duplicate
    client_order_id refusal means the order is already there: outcome unknown, not a reject."""
    async def go():
        async with Server("503") as srv:
            c = KalshiHttpClient(KalshiConfig(rest_url=srv.url + "/trade-api/v2", max_retries=2))
            with pytest.raises(OutcomeUnknown):
                await c.request("POST", "/portfolio/orders", body={"ticker": "X"})
            order_hits = srv.hits
            with pytest.raises(TransportError):
                await c.request("GET", "/portfolio/orders")
            read_hits = srv.hits - order_hits
            await c.close()
        async with Server("dup") as srv:
            c = KalshiHttpClient(KalshiConfig(rest_url=srv.url + "/trade-api/v2", max_retries=2))
            with pytest.raises(OutcomeUnknown) as info:
                await c.request("POST", "/portfolio/orders", body={"ticker": "X"})
            await c.close()
        return order_hits, read_hits, info.value.code
    assert asyncio.run(go()) == (1, 3, "order_already_exists")


def test_polymarket_order_post_is_sent_once():
    async def go():
        async with Server("drop") as srv:
            c = PolymarketHttpClient(PolymarketConfig(clob_url=srv.url, gamma_url=srv.url, max_retries=3))
            with pytest.raises(OutcomeUnknown):
                await c.clob_post("/order", {"order": {}})
            await asyncio.sleep(0.1)
            hits_order = srv.hits
            with pytest.raises(TransportError):
                await c.clob_get("/book", {"token_id": "1"})
            await c.close()
            return hits_order, srv.hits - hits_order
    assert asyncio.run(go()) == (1, 4)
