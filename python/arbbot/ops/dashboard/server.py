"""The dashboard's HTTP server (aiohttp) on its own thread and event loop. In `arbbot run` it
runs in the dashboard's own process (`child.py`), so serving never competes with the bot for
its interpreter lock. Reads go through `StateBuilder` (the bot's samples, the store through a
read-only connection); controls go to `controls.submit` (to the bot's loop).

Routes: `/` (the page), `/static/app.js|app.css`, `GET /api/state` (arbbot.state/1),
`GET /api/stream` (Server-Sent Events: one `state` event per tick), `GET /api/executions/{id}`
(legs, fills, sizing record), `POST /api/halt|resume|ack|config`. Every route needs auth (`auth.py`).
"""
from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import threading
from importlib import resources

from aiohttp import web

from arbbot.json_depth import bounded_nesting
from arbbot import logs
from arbbot.ops.control import ControlError, Controls
from arbbot.ops.dashboard.auth import Auth, base_url, login_url
from arbbot.ops.dashboard.state import StateBuilder

log = logs.get("dashboard")
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
CONTROL_TIMEOUT_S = 10.0
MAX_BODY = 64 * 1024                    # bytes of a control's JSON body (a few dozen in practice)


def _static(name: str) -> str:
    return resources.files("arbbot.ops.dashboard").joinpath("static", name).read_text(encoding="utf-8")


def bind(host: str, port: int, *, fallback: bool = False) -> socket.socket:
    """A listening socket on (host, port); port 0 is any free one. A port that cannot be had
    (taken, privileged, an address not on this machine) is a ValueError saying so and what to do
    (`arbbot run: …`, exit 2, never a traceback) — unless `fallback` (the built-in default port,
    which nobody chose): then any free port, with a `dashboard.port_taken` warning naming both."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=32)
    except OSError as exc:
        if not fallback or port == 0 or exc.errno != errno.EADDRINUSE:
            why = os.strerror(exc.errno) if exc.errno else str(exc)     # not create_server's "(while …)"
            raise ValueError(f"dashboard port {port} on {host}: {why}; choose another "
                             f"(--dashboard-port, dashboard_port, ARB_DASHBOARD_PORT; 0 = any free port) or "
                             f"--no-dashboard") from None
    sock = socket.create_server((host, 0), family=family, backlog=32)
    log.warning("dashboard.port_taken", port=port, using=sock.getsockname()[1])
    return sock


def _dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), default=str)


def _late(name: str, fut: asyncio.Future) -> None:
    """The outcome of a control answered after CONTROL_TIMEOUT_S, logged (and retrieved, so asyncio
    does not report an exception nobody read)."""
    if fut.cancelled():
        log.warning("dashboard.control_late", control=name, outcome="no answer")
    elif fut.exception() is not None:
        exc = fut.exception()
        log.warning("dashboard.control_late", control=name, outcome="refused", error=f"{type(exc).__name__}: {exc}")
    else:
        log.warning("dashboard.control_late", control=name, outcome="applied")


class Dashboard:
    def __init__(self, builder: StateBuilder, controls: Controls, auth: Auth, *, host: str = "127.0.0.1",
                 port: int = 0, interval_s: float = 1.0, sock: socket.socket | None = None) -> None:
        """`sock`: a listening socket to serve (else one bound on host:port, see `bind`)."""
        self.builder, self.controls, self.auth = builder, controls, auth
        self.host, self.interval_s = host, interval_s
        self._sock = sock if sock is not None else bind(host, port)
        self.port: int = self._sock.getsockname()[1]
        auth.serve_on(host, self.port)          # the Host names answered: this address's
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._payload: str | None = None        # the newest state, JSON (built once per tick for all clients)
        self._fresh: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._ticker: asyncio.Task | None = None
        self.clients = 0                        # open streams
        self.published = 0                      # states built for the streams
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        return base_url(self.host, self.port)

    @property
    def login_url(self) -> str:
        return login_url(self.host, self.port, self.auth.token)

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Dashboard":
        self._thread = threading.Thread(target=self._serve, name="dashboard", daemon=True)
        self._thread.start()
        if not self._ready.wait(15) or self.error is not None:
            raise RuntimeError(f"dashboard did not start: {self.error!r}")
        return self

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start())
        except BaseException as exc:        # noqa: BLE001 - reported to start()
            self.error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _start(self) -> None:
        self._fresh, self._stopping = asyncio.Event(), asyncio.Event()
        app = web.Application(middlewares=[self.auth.middleware])
        app.add_routes([web.get("/", self._index), web.get("/static/{name}", self._asset),
                        web.get("/api/state", self._state), web.get("/api/stream", self._stream),
                        web.get("/api/executions/{id}", self._execution),
                        web.post("/api/halt", self._halt), web.post("/api/resume", self._resume),
                        web.post("/api/ack", self._ack), web.post("/api/config", self._config),
                        web.post("/api/lane", self._lane)])
        # no access log: a login URL holds the token; a stream open at shutdown gets 1 s
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()
        self._ticker = asyncio.create_task(self._tick_forever())

    def stop(self) -> None:
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        except Exception as exc:            # noqa: BLE001 - stopping must not hide the run's result
            log.warning("dashboard.stop_failed", error=f"{type(exc).__name__}: {exc}")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self.builder.history.close()

    async def _shutdown(self) -> None:
        self._stopping.set()
        self._fresh.set()
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        await self._runner.cleanup()

    # ---- the tick: one PnL point, one state for every stream ---------------------------------------
    async def _tick_forever(self) -> None:
        while True:
            try:
                self.builder.tick()
                if self.clients:
                    self._publish()
            except Exception as exc:        # noqa: BLE001 - a failed tick is retried at the next
                log.warning("dashboard.tick_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.interval_s)

    def _publish(self) -> None:
        self._payload = _dumps(self.builder.state())
        self.published += 1
        fresh, self._fresh = self._fresh, asyncio.Event()
        fresh.set()

    # ---- pages ------------------------------------------------------------------------------------
    async def _index(self, request: web.Request) -> web.Response:
        # (no CSRF token in the page: the sign-in redirect hands it to the tab, `auth._check`)
        return web.Response(text=_static("index.html"), content_type="text/html")

    async def _asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(text=_static(name), content_type=STATIC[name])

    async def _state(self, request: web.Request) -> web.Response:
        return web.Response(text=_dumps(self.builder.state()), content_type="application/json")

    async def _execution(self, request: web.Request) -> web.Response:
        detail = self.builder.history.execution_detail(request.match_info["id"])
        if detail is None:
            return web.json_response({"error": f"no execution {request.match_info['id']}"}, status=404)
        return web.Response(text=_dumps(detail), content_type="application/json")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        self.clients += 1
        sid = self.auth.session_of(request)         # None: a bearer client
        try:
            if self._payload is None or self.clients == 1:
                self._publish()                     # a first client: a state now, not at the next tick
            while not self._stopping.is_set():
                await response.write(f"event: state\ndata: {self._payload}\n\n".encode())
                self.auth.keep(sid)                 # an open page keeps its session
                await self._fresh.wait()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.clients -= 1
        return response

    # ---- controls ----------------------------------------------------------------------------------
    async def _control(self, request: web.Request, method, *args) -> web.Response:
        """Submit a control and wait CONTROL_TIMEOUT_S for the bot's answer. The control the bot runs
        is never cancelled here (shielded: neither by the timeout nor by a client going away); an
        answer later than that is only logged (`_late`), and the caller is told that the control was
        sent but not confirmed (202), not that it failed."""
        submitted = self.controls.submit(method, *args)
        pending = asyncio.wrap_future(submitted)
        try:
            result = await asyncio.wait_for(asyncio.shield(pending), CONTROL_TIMEOUT_S)
        except asyncio.CancelledError:              # the client went away: the bot's answer is only logged
            pending.add_done_callback(lambda fut, name=method.__name__: _late(name, fut))
            raise
        except ControlError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        except asyncio.TimeoutError:
            forget = getattr(self.controls, "forget", None)
            if forget is not None:                  # the dashboard child: its entry dropped, a late reply logged there
                forget(submitted)
            else:                                   # in process: the bot's answer logged when it comes
                pending.add_done_callback(lambda fut, name=method.__name__: _late(name, fut))
            message = (f"{method.__name__}: sent to the bot but not confirmed within {CONTROL_TIMEOUT_S:g} s; it "
                       f"may still take effect: check the state before trying again")
            log.warning("dashboard.control_unconfirmed", control=method.__name__, timeout_s=CONTROL_TIMEOUT_S)
            return web.json_response({"ok": False, "confirmed": False, "message": message}, status=202)
        if self.clients:
            self._publish()                         # the change is on every page at once
        return web.json_response({"ok": True, **result})

    async def _body(self, request: web.Request) -> dict:
        """The JSON object a control POSTs (at most MAX_BODY bytes). A body too large, not JSON,
        nested past the parser's depth or with an integer past its digit limit is refused here (the
        middleware answers JSON with the security headers), never a 500."""
        if not request.can_read_body:
            return {}
        too_large = web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length or 0,
                                                  reason=f"the body is larger than {MAX_BODY} bytes")
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise too_large
        raw = bytearray()
        while len(raw) <= MAX_BODY:
            chunk = await request.content.read(MAX_BODY + 1 - len(raw))
            if not chunk:
                break
            raw += chunk
        if len(raw) > MAX_BODY:
            raise too_large
        try:
            with bounded_nesting():                 # the same depth whatever the process's recursion limit
                body = json.loads(bytes(raw))
        except (ValueError, RecursionError):        # JSONDecodeError, UnicodeDecodeError, > 4300 digits; depth
            raise web.HTTPBadRequest(reason="the body must be JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(reason="the body must be a JSON object")
        return body

    async def _halt(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        return await self._control(request, self.controls.halt, self.auth.who(request),
                                   str(body.get("reason") or "operator halt (dashboard)"))

    async def _resume(self, request: web.Request) -> web.Response:
        return await self._control(request, self.controls.resume, self.auth.who(request))

    async def _ack(self, request: web.Request) -> web.Response:
        return await self._control(request, self.controls.acknowledge, self.auth.who(request))

    async def _lane(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if not isinstance(body.get("lane"), str):
            return web.json_response({"error": 'expected {"lane": "cross"}'}, status=400)
        return await self._control(request, self.controls.enable_lane, body["lane"], self.auth.who(request))

    async def _config(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if "key" not in body or "value" not in body:
            return web.json_response({"error": 'expected {"key": …, "value": …}'}, status=400)
        return await self._control(request, self.controls.set, str(body["key"]), body["value"],
                                   self.auth.who(request))
