"""The dashboard's own process: `python -m arbbot.ops.dashboard.child`, started by
`process.DashboardProcess` with the listening socket passed down and the protocol on its pipes
(one JSON object per line):

- stdin (from the bot): `init` (token, socket fd, host, store path, interval, log format), then
  `sample` (the bot's state: `LoopSampler` output, kill switch, tunables, config when changed)
  and `reply` (the answer to a control);
- stdout (to the bot): `ready`, then `control` requests (halt, resume, acknowledge, set).

It serves until its stdin closes (the bot stopping, or dying); Ctrl-C is left to the bot.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import sys
import threading
from types import SimpleNamespace
from urllib.parse import quote

from arbbot import logs
from arbbot.ops.control import ControlError
from arbbot.ops.dashboard.auth import Auth
from arbbot.ops.dashboard.history import History
from arbbot.ops.dashboard.server import Dashboard
from arbbot.ops.dashboard.state import StateBuilder

log = logs.get("dashboard")


class RemoteControls:
    """The bot's `Controls` as the child sees them: reads from the newest sample, changes sent to
    the bot (`submit` → a `control` line; the future resolves on its `reply`)."""

    def __init__(self, out) -> None:
        self.out = out
        self.trading = False
        self.version = 0
        self.config: dict = {}
        self._halted: str | None = None
        self._tunables: dict = {}
        self._pending: dict[int, concurrent.futures.Future] = {}
        self._next = 0
        self._lock = threading.Lock()

    # the names the server submits (the bot runs its own methods of these names)
    def halt(self, *args): raise NotImplementedError       # noqa: E704
    def resume(self, *args): raise NotImplementedError     # noqa: E704
    def acknowledge(self, *args): raise NotImplementedError    # noqa: E704
    def set(self, *args): raise NotImplementedError        # noqa: E704
    def enable_lane(self, *args): raise NotImplementedError    # noqa: E704

    def update(self, msg: dict) -> None:
        self.trading, self._halted = msg["trading"], msg["halted"]
        self._tunables, self.version = msg["tunables"], msg["version"]
        if "config" in msg:
            self.config = msg["config"]

    def halted(self) -> str | None:
        return self._halted

    def value(self, key: str):
        return self._tunables.get(key)

    def submit(self, method, *args) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            self._next += 1
            self._pending[self._next] = fut
            send(self.out, {"type": "control", "id": self._next, "method": method.__name__, "args": list(args)})
        return fut

    def forget(self, fut: concurrent.futures.Future) -> None:
        """Stop waiting for the reply to the control behind `fut` (the server's wait timed out): its
        entry is dropped and `fut` cancelled; the bot still runs the control, and a reply that
        arrives later is only logged (`resolve`)."""
        with self._lock:
            for key, pending in list(self._pending.items()):
                if pending is fut:
                    del self._pending[key]
        fut.cancel()

    def resolve(self, msg: dict) -> None:
        with self._lock:
            fut = self._pending.pop(msg.get("id"), None)
        if fut is None or fut.done():        # dropped (timed out) or already settled: a late reply
            log.warning("dashboard.control_reply_late", id=msg.get("id"),
                        outcome="applied" if msg.get("ok") else f"refused: {str(msg.get('error', ''))[:200]}")
            return
        try:
            if msg.get("ok"):
                fut.set_result(msg.get("result") or {})
            else:
                exc = ControlError(msg.get("error", "refused"))
                exc.status = msg.get("status", 400)
                fut.set_exception(exc)
        except concurrent.futures.InvalidStateError:     # cancelled between the check and here
            log.warning("dashboard.control_reply_late", id=msg.get("id"),
                        outcome="applied" if msg.get("ok") else "refused")


def handle(msg: dict, view, controls: RemoteControls) -> None:
    """One message from the bot: a `sample` (the newest state) or a `reply` (to a control)."""
    if msg["type"] == "sample":
        view.latest = {**(view.latest or {}), **msg["sample"]}     # a sample omits what did not change
        controls.update(msg)
    elif msg["type"] == "reply":
        controls.resolve(msg)


def send(out, msg: dict) -> None:
    out.write(json.dumps(msg, separators=(",", ":"), default=str) + "\n")
    out.flush()


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # the bot stops us by closing our stdin
    init = json.loads(sys.stdin.readline())
    logs.configure(json=init.get("log_json", False))
    logs.register_secret(init["token"], quote(init["token"], safe=""))   # and as the login URL carries it
    out = sys.stdout
    controls = RemoteControls(out)
    view = SimpleNamespace(latest=None)
    builder = StateBuilder(view, History(init.get("db_path")), controls,
                           SimpleNamespace(masked=lambda: controls.config))
    sock = socket.socket(fileno=init["fd"])
    dashboard = Dashboard(builder, controls, Auth(init["token"]), host=init["host"], sock=sock,
                          interval_s=init.get("interval_s", 1.0)).start()
    try:
        send(out, {"type": "ready", "port": dashboard.port})
        for line in sys.stdin:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:        # a line cut short when the bot stopped
                continue
            try:
                handle(msg, view, controls)
            except Exception as exc:            # noqa: BLE001 - one bad message must not take the dashboard down
                log.error("dashboard.message_failed", type=msg.get("type") if isinstance(msg, dict) else None,
                          error=f"{type(exc).__name__}: {exc}"[:300])
    except BrokenPipeError:                     # the bot is gone (killed): end quietly, as on EOF
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())    # nothing left to flush at exit
    finally:
        dashboard.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
