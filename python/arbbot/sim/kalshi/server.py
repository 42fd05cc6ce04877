"""Simulated Kalshi: REST under /trade-api/v2 (`rest.py`) and WebSocket at /trade-api/ws/v2
(`ws.py`) on one aiohttp app.

`KalshiSim` owns the state (one engine `Exchange`, the price process, the RSA key registry) and
the wiring: routes, the middleware (HTTP faults, then RSA-PSS auth on portfolio, order book and
WebSocket requests), start / stop. Errors come in Kalshi's shape
(`{"code","message","details","service"}`; 429 → `{"error":"too many requests"}`).
"""
from __future__ import annotations

import logging
import time

from aiohttp import web

from arbbot.sim.kalshi.auth import AuthFailure, KeyRegistry
from arbbot.sim.kalshi.rest import ACCOUNT, API, KalshiRest, _err
from arbbot.sim.kalshi.ws import WS_PATH, KalshiWs
from arbbot.sim.scenarios import Scenario
from arbbot.sim.venue import HttpVenueSim

__all__ = ["KalshiSim", "API", "WS_PATH", "ACCOUNT"]


class KalshiSim(KalshiRest, KalshiWs, HttpVenueSim):
    """One simulated Kalshi exchange. `starting_balance` µ$ for each registered account."""

    venue = "kalshi"
    ws_path = WS_PATH
    too_many = {"error": "too many requests"}
    unavailable_message = "service temporarily unavailable"
    log = logging.getLogger("arbbot.sim.kalshi")
    _PUBLIC_PREFIXES = ("/markets", "/events", "/series", "/exchange", "/historical/markets",
                        "/historical/cutoff")

    def __init__(self, scenario: Scenario, seed: int = 0, *, registry: KeyRegistry | None = None,
                 starting_balance: int = 10_000 * 1_000_000, clock_ms=lambda: int(time.time() * 1000),
                 step_interval: float | None = None) -> None:
        super().__init__(scenario, seed, starting_balance=starting_balance, clock_ms=clock_ms,
                         step_interval=step_interval)
        self.registry = registry or KeyRegistry(clock_ms=clock_ms)
        self.last_trade_lots: dict[str, int] = {}
        # series fee changes the venue announces (`SeriesFeeChange` objects: id, series_ticker,
        # fee_type, fee_multiplier, scheduled_ts), served by GET /series/fee_changes
        self.fee_changes: list[dict] = []
        # event override changes (`EventFeeChange` objects: id, event_ticker, series_ticker,
        # fee_type_override, fee_multiplier_override (null: that term not overridden),
        # scheduled_ts), in the order made, served by GET /events/fee_changes; the latest come due
        # is in force (`event_fee_override` adds one in force now)
        self.event_fee_changes: list[dict] = []
        # markets whose trading the exchange paused (`pause_market`): their orders are refused,
        # their resting orders stay on the book
        self.paused_markets: set[str] = set()
        self.app = web.Application(middlewares=[self.middleware])
        self.add_rest_routes(self.app.router)
        self.app.router.add_get(WS_PATH, self.ws_handler)
        self.base_url = ""
        self.ws_url = ""

    def register_key(self, key_id: str, public_key_pem: bytes, account: str = "user") -> None:
        self.registry.register(key_id, public_key_pem, account)
        self.exchange.account(account, self.starting_balance)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        h, p = await self.listen(self.app, host, port)
        self.base_url = f"http://{h}:{p}{API}"
        self.ws_url = f"ws://{h}:{p}{WS_PATH}"
        self.start_clock()
        return self.base_url

    def error(self, status: int, message: str, code: str = "") -> web.Response:
        return _err(status, code, message)

    async def authenticate(self, request: web.Request) -> web.Response | None:
        rel = request.path[len(API):]
        if rel.startswith(self._PUBLIC_PREFIXES) and not rel.endswith(("/orderbook", "/orderbooks")):
            return None
        try:
            request[ACCOUNT] = self.registry.verify(request.headers, request.method, request.path)
        except AuthFailure as exc:
            return _err(401, exc.code, str(exc))
        return None
