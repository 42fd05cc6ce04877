"""The bot's side of the dashboard: the HTTP server runs in a child process (`child.py`), so it
never takes the bot's interpreter lock (a server thread would: each of its wake-ups forces the
trading loop to hand the lock over, which shows in the feed p99). This side, on the bot's loop:

- binds the listening socket (`server.bind`: a port set by the operator must be free; only the
  built-in default falls back to a free one) and hands it to the child;
- once per interval sends the child a sample (`LoopSampler`, ≈ 0.5 ms at U20k) with the kill
  switch, the tunables and — when they changed — the effective config (secrets masked), as one
  JSON line on the child's stdin (buffered by asyncio: never blocks; skipped if the child lags);
- executes the controls the child asks for (JSON lines on its stdout) on this loop, and answers.

The token goes to the child on its stdin (not its command line or environment). The child's
environment is a minimal one (`child_env`): the process basics and the interpreter's own
settings, none of the bot's `ARB_*` variables (venue keys, webhooks, the token).
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

from arbbot import logs
from arbbot.ops.control import ControlError, Controls
from arbbot.ops.dashboard.auth import base_url, login_url
from arbbot.ops.dashboard.sampler import LoopSampler
from arbbot.ops.dashboard.server import bind

log = logs.get("dashboard")
METHODS = ("halt", "resume", "acknowledge", "set", "enable_lane")
MAX_BUFFERED = 1 << 20          # bytes waiting for the child: beyond this, samples are skipped
# what the child inherits of the bot's environment: by name, never the bot's own settings
CHILD_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "VIRTUAL_ENV",
             "LD_LIBRARY_PATH")
CHILD_ENV_PREFIXES = ("LC_", "PYTHON")          # the locale; the interpreter's own (PYTHONPATH, ...)


def child_env(environ=None) -> dict[str, str]:
    """The dashboard child's environment (and the simulator child's: `arbbot.sim.spawn`): the
    variables of `environ` (default: this process's) named in CHILD_ENV or starting with
    CHILD_ENV_PREFIXES — no ARB_* (secrets, the token)."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items()
            if (k in CHILD_ENV or k.startswith(CHILD_ENV_PREFIXES)) and not k.startswith("ARB_")}


def _dumps(obj) -> bytes:
    return (json.dumps(obj, separators=(",", ":"), default=str) + "\n").encode()


class DashboardProcess:
    def __init__(self, settings, session, trader, *, token: str, port: int, db_path: str | None,
                 interval_s: float = 1.0, scan: bool = True, fallback: bool = False) -> None:
        """`fallback`: `port` is the built-in default, which falls back to a free port when taken
        (`server.bind`); otherwise a taken port is a ValueError."""
        self.settings = settings
        self.token = token
        self.interval_s = interval_s
        self.sampler = LoopSampler(session, trader, scan=scan)
        self.controls = Controls(settings, session, trader)       # called on this loop directly
        self.host = settings.dashboard_host
        sock = bind(self.host, port, fallback=fallback)
        self.port: int = sock.getsockname()[1]
        self.proc = subprocess.Popen([sys.executable, "-m", "arbbot.ops.dashboard.child"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, pass_fds=(sock.fileno(),), close_fds=True,
                                     env=child_env())
        init = {"type": "init", "token": token, "fd": sock.fileno(), "host": self.host, "interval_s": interval_s,
                "db_path": db_path if trader is not None else None, "log_json": bool(settings.log_json)}
        self.proc.stdin.write(_dumps(init))
        self.proc.stdin.flush()
        sock.close()                        # the child serves it now
        self._out: asyncio.WriteTransport | None = None
        self._reader: asyncio.StreamReader | None = None
        self._in: asyncio.ReadTransport | None = None
        self._config_version: int | None = None
        self.ready = False
        self._stopped = False
        self.skipped = 0                    # samples not sent: the child was behind
        self.sent = 0

    @property
    def url(self) -> str:
        return base_url(self.host, self.port)

    @property
    def login_url(self) -> str:
        return login_url(self.host, self.port, self.token)

    async def attach(self) -> None:
        """Connect the child's pipes to this loop (call once, on the bot's loop)."""
        loop = asyncio.get_running_loop()
        self._out, _ = await loop.connect_write_pipe(asyncio.Protocol, self.proc.stdin)
        self._reader = asyncio.StreamReader(limit=1 << 20)
        self._in, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self._reader),
                                                   self.proc.stdout)

    # ---- samples to the child -----------------------------------------------------------------
    def publish(self) -> None:
        """One sample to the child (on the bot's loop; never blocks)."""
        if self._out is None or self._out.is_closing():
            return
        if self._out.get_write_buffer_size() > MAX_BUFFERED:
            self.skipped += 1
            self.sampler.resend_all()
            return
        c = self.controls
        msg = {"type": "sample", "sample": self.sampler.sample(), "halted": c.halted(), "trading": c.trading,
               "tunables": c.tunables(), "version": c.version}
        if self._config_version != c.version:
            msg["config"] = self.settings.masked()
            self._config_version = c.version
        self._out.write(_dumps(msg))
        self.sent += 1

    async def run(self) -> None:
        """Samples every interval and the child's requests, until cancelled."""
        requests = asyncio.create_task(self._requests(), name="dashboard-requests")
        try:
            while True:
                try:
                    self.publish()
                except Exception as exc:    # noqa: BLE001 - the dashboard must never take the bot down
                    log.warning("dashboard.sample_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self.interval_s)
        finally:
            requests.cancel()
            await asyncio.gather(requests, return_exceptions=True)

    # ---- controls from the child --------------------------------------------------------------
    async def _requests(self) -> None:
        while True:
            line = await self._reader.readline()
            if not line:
                return                      # the child ended
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("type") == "ready":
                self.ready = True
            elif msg.get("type") == "control":
                self._out.write(self._answer(msg))

    def _answer(self, msg: dict) -> bytes:
        reply = {"type": "reply", "id": msg.get("id")}
        method = msg.get("method")
        try:
            if method not in METHODS:
                raise ControlError(f"unknown control {method!r}")
            result = getattr(self.controls, method)(*msg.get("args", ()))
            self.publish()                  # the child sees the change before the answer
            reply.update(ok=True, result=result)
        except ControlError as exc:
            reply.update(ok=False, error=str(exc), status=exc.status)
        except Exception as exc:            # noqa: BLE001 - answered, logged; the bot goes on
            log.error("dashboard.control_failed", method=method, error=f"{type(exc).__name__}: {exc}")
            reply.update(ok=False, error=f"{type(exc).__name__}: {exc}", status=500)
        return _dumps(reply)

    # ---- shutdown -----------------------------------------------------------------------------
    def stop(self, timeout_s: float = 5.0) -> None:
        """End the child (its stdin closes) and wait for it; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._out is not None:
            self._out.abort()               # off the loop's selector now (no flush: we are stopping)
        if not self.proc.stdin.closed:
            self.proc.stdin.close()         # EOF for the child now, not at the loop's next turn
        deadline = time.monotonic() + timeout_s
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._in is not None:
            self._in.close()


async def start_process(settings, session, trader, *, token: str, port: int, db_path: str | None,
                        interval_s: float = 1.0, scan: bool = True, fallback: bool = False) -> DashboardProcess:
    dp = DashboardProcess(settings, session, trader, token=token, port=port, db_path=db_path,
                          interval_s=interval_s, scan=scan, fallback=fallback)
    await dp.attach()
    dp.publish()                            # the first sample before anyone connects
    return dp
