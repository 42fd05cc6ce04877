"""What the simulated HTTP venues (Kalshi, Polymarket) have in common: one engine `Exchange` with
its price process, aiohttp listeners on loopback, the fault + auth middleware, the published book
(the engine's own levels: never locked or crossed) and the WebSocket connection loop.

A venue subclass sets `venue` (its name in the scenario), `ws_path`, its 429 body and 503 text,
and implements `error(...)` (its error shape), `authenticate(...)` and `on_engine_event(...)`
(turn engine events into its feed frames). This is simulator plumbing only: nothing here is shared
with the adapters (DESIGN.md).
"""
from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import WSMsgType, web

from arbbot.sim.engine.matching import Exchange, MarketSettled
from arbbot.sim.faults import Faults, OrderFaults, http_fault
from arbbot.sim.scenarios import PriceProcess, Scenario, make_markets
from arbbot.sim.settlements import yes_value


class BadRequest(ValueError):
    """A request parameter the venue refuses: answered 400 in the venue's error shape."""


class HttpVenueSim:
    """One simulated venue over HTTP (+ WebSocket). `starting_balance` µ$ for each account;
    `step_interval` seconds between price-process steps (None: only when `process.step()` is
    called)."""

    venue = ""                                  # "kalshi" | "polymarket"
    ws_path = ""
    too_many: dict = {}                         # the venue's 429 body
    retry_after = False                         # its 429 may carry Retry-After (`http_429_retry_after`)
    unavailable_message = "service unavailable"   # the venue's 503 message
    settle_pays = True                          # settlement credits holders (False: they redeem later)
    nets_pairs = True                           # a YES lot and a NO lot of one market net into $0.01 at once
    log = logging.getLogger("arbbot.sim")

    def __init__(self, scenario: Scenario, seed: int = 0, *, starting_balance: int = 10_000 * 1_000_000,
                 clock_ms=lambda: int(time.time() * 1000), step_interval: float | None = None) -> None:
        self.scenario = scenario
        self.faults: Faults = scenario.faults   # read on every use: may be swapped at run time
        self.clock_ms = clock_ms
        self.started_ms = clock_ms()             # anchors the listed close times (`scenarios.close_ms`)
        self.starting_balance = starting_balance
        self.step_interval = step_interval
        self.exchange = Exchange(clock_ms, nets_pairs=self.nets_pairs)
        make_markets(scenario, self.venue, self.exchange)
        self.listings = {l.market_id: (e, q, l) for e, q, l in scenario.listings(self.venue)}
        self.process = PriceProcess(scenario, self.venue, self.exchange, seed)
        self.process.seed_books()
        self.exchange.listeners.append(self.on_engine_event)
        self.connections: set = set()           # live WebSocket connections (`WsConnection`)
        self.requests = 0                       # HTTP requests served or faulted (`count_request`)
        self.order_faults = OrderFaults()       # order_reject_every / lost_order_response_every counters
        self._runners: list[web.AppRunner] = []
        self._stepper: asyncio.Task | None = None
        self._settlers: list[asyncio.TimerHandle] = []   # `scenario.settlements` of this venue, pending

    # ---- hooks for fault injection (arbbot.sim.faults.FaultHooks) -------------------------
    def count_request(self) -> int:
        """Count one HTTP request; its number (1, 2, …): `http_429_every` / `http_5xx_every`."""
        self.requests += 1
        return self.requests

    def on_engine_event(self, ev: object) -> None:
        """Publish an engine event (book delta, trade, fill) on the venue's feeds."""
        raise NotImplementedError

    def book_levels(self, market: str, side: str) -> dict[int, int]:
        """The published bids of `side` as {price ticks: lots}: the engine's own, as a venue
        publishes the book it holds."""
        return self.exchange.markets[market].levels(side)

    # ---- lifecycle ------------------------------------------------------------------------
    async def listen(self, app: web.Application, host: str, port: int) -> tuple[str, int]:
        """Serve `app` on host:port (0 = any free port); the (host, port) it listens on."""
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runners.append(runner)
        return site._server.sockets[0].getsockname()[:2]  # noqa: SLF001 (aiohttp exposes no public accessor)

    def start_clock(self) -> None:
        """Once listening: start the price-process steps, and time this venue's scheduled
        settlements (`scenario.settlements`: each fires once, `after_s` seconds from now)."""
        if self.step_interval:
            self._stepper = asyncio.create_task(self._step_loop())
        loop = asyncio.get_running_loop()
        self._settlers = [loop.call_later(s.after_s, self._scheduled_settlement, s)
                          for s in self.scenario.settlements if s.venue == self.venue]

    def _scheduled_settlement(self, s) -> None:
        m = self.exchange.markets.get(s.market)
        if m is not None and m.settled:
            self.log.info("%s sim: %s already settled; scheduled settlement skipped", self.venue, s.market)
            return
        try:
            self.settle_market(s.market, s.result)
        except Exception:  # pragma: no cover - a bad entry must not stop the loop
            self.log.exception("%s sim: scheduled settlement of %s failed", self.venue, s.market)
            return
        self.log.info("%s sim: settled %s (%s)", self.venue, s.market, s.result)

    def settle_market(self, market_id: str, result: str) -> MarketSettled:
        """Settle a listed market now: `result` yes (YES pays $1), no, or half (either side pays
        $0.50: Kalshi result "scalar" at 0.5000, Polymarket a 50/50). Its resting orders are
        cancelled, orders on it refused from now on, holders paid when the venue pays at
        settlement (`settle_pays`), and the venue publishes the result (`on_engine_event`).
        ValueError on an unknown market, a market already settled or another result."""
        if market_id not in self.listings:
            raise ValueError(f"{self.venue} lists no market {market_id!r}")
        if self.exchange.markets[market_id].settled:
            raise ValueError(f"{self.venue} market {market_id} is already settled")
        return self.exchange.settle(market_id, yes_value(result), pay=self.settle_pays)

    async def _step_loop(self) -> None:
        while True:
            await asyncio.sleep(self.step_interval)
            self.process.step()

    async def stop(self) -> None:
        if self._stepper:
            self._stepper.cancel()
        for h in self._settlers:
            h.cancel()
        for conn in list(self.connections):
            await conn.ws.close()
        for r in self._runners:
            await r.cleanup()

    # ---- middleware: faults, auth, errors -------------------------------------------------
    def error(self, status: int, message: str, code: str = "") -> web.Response:
        """An error response in the venue's shape (`code`: its machine-readable code, if any)."""
        raise NotImplementedError

    async def authenticate(self, request: web.Request) -> web.Response | None:
        """Check the request's credentials where the venue wants them (and note the account on the
        request); an error response to refuse it, None to serve it."""
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        if request.path == self.ws_path:
            return await handler(request)
        fault = http_fault(self, self.too_many,
                           lambda: self.error(503, self.unavailable_message, "service_unavailable"),
                           retry_after=self.retry_after)
        if fault is not None:
            return fault
        refused = await self.authenticate(request)
        if refused is not None:
            return refused
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except BadRequest as exc:
            return self.error(400, str(exc), "invalid_parameters")
        except Exception:  # pragma: no cover - a simulator bug must not hang the client
            self.log.exception("%s sim handler failed", self.venue)
            return self.error(500, "internal error", "internal_server_error")

    # ---- WebSocket ------------------------------------------------------------------------
    async def serve_ws(self, request: web.Request, conn_factory, *,
                       heartbeat: float | None = None) -> web.WebSocketResponse:
        """Run one WebSocket connection: `conn_factory(ws)` makes its `WsConnection`, which is
        registered in `connections` and gets every text frame until the client closes."""
        ws = web.WebSocketResponse(heartbeat=heartbeat)
        await ws.prepare(request)
        conn = conn_factory(ws)
        self.connections.add(conn)
        writer = asyncio.create_task(conn.writer())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    conn.on_text(msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.connections.discard(conn)
            writer.cancel()
        return ws


YIELD_EVERY = 64       # frames a writer sends before letting the event loop run others


class WsConnection:
    """One client connection: an outgoing queue drained by `writer()`, which counts data frames
    and closes the socket after `ws_disconnect_after` of them. Subclasses send each queued item
    with `write` and read the client's text frames in `on_text`. A writer with a backlog yields
    every `YIELD_EVERY` items (sending to a socket that is not full never suspends), so one busy
    feed cannot hold up the venue's HTTP answers or its other connections."""

    def __init__(self, sim: HttpVenueSim, ws: web.WebSocketResponse) -> None:
        self.sim, self.ws = sim, ws
        self.q: asyncio.Queue = asyncio.Queue()
        self.frames = 0                 # data frames sent

    async def writer(self) -> None:
        f = self.sim.faults             # the faults in force when the connection opened
        sent = 0
        while True:
            item = await self.q.get()
            sent += 1
            if sent % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if not await self.write(item, f):
                continue
            self.frames += 1
            if f.ws_disconnect_after and self.frames >= f.ws_disconnect_after:
                await self.ws.close()
                return

    async def write(self, item, faults: Faults) -> bool:
        """Send one queued item under the frame faults; True if it counts as a data frame."""
        raise NotImplementedError

    def on_text(self, text: str) -> None:
        """One text frame from the client."""
        raise NotImplementedError
