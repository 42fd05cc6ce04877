"""The lifecycle every venue WebSocket client shares: one background task running `_run()`
(connect, read, reconnect with backoff until closed) over the live connection `_ws`.

Closing is prompt under a busy stream: from `close()` on, the reader drops the frames still
arriving unparsed (a market stream may have seconds of them queued ahead of the venue's close
frame, and the closing handshake waits for that frame), and a deliberate close is not a lost
stream (no `on_disconnect`: its books are not marked down, its feed does not start polling)."""
from __future__ import annotations

import asyncio
import json
import time

from arbbot.venues.common.priority import ReaderTurn


CLOSE_TIMEOUT_S = 2.0          # the closing handshake's wait for the venue's close frame, then the TCP is dropped


class BackgroundWebSocket:
    """Subclasses set `venue` (for messages), `on_frame`, `on_disconnect` (or None) and
    `backoff`, and implement `async _run()`, which keeps `_ws` pointing at the live connection
    (None while disconnected), reads it with `_read` and returns once `_lost()` is False."""

    venue = "venue"

    def __init__(self) -> None:
        self._ws = None
        self._task: asyncio.Task | None = None
        self.closed = False
        self.last_frame_at = 0.0        # time.monotonic() when the last frame (any) arrived

    async def send(self, obj) -> None:
        """Send a JSON object (compact) or a text frame as is."""
        if self._ws is None:
            raise ConnectionError(f"{self.venue} ws is not connected")
        await self._ws.send(obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":")))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def drop_connection(self) -> None:
        """End the live connection, not the client: it reconnects as after a lost stream
        (`on_disconnect`, the backoff's delay, then the connect's subscriptions, every one anew)."""
        ws = self._ws
        if ws is not None and not self.closed:
            await ws.close()

    async def close(self) -> None:
        self.closed = True
        if self._ws is not None:
            await self._ws.close()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _read(self, ws) -> None:
        """Hand every frame of connection `ws` to `on_frame(text, recv_ms)` until it ends; once
        closing, drain it to the venue's close frame unread."""
        turn = ReaderTurn()
        async for frame in ws:
            self.last_frame_at = time.monotonic()
            await turn.before()          # an execution's order path goes first; bursts share the loop
            if self.closed:              # checked after the turn: a frame taken before the close is not parsed
                continue
            if isinstance(frame, bytes):
                frame = frame.decode("utf-8", "replace")
            await self.on_frame(frame, int(time.time() * 1000))
            turn.after()

    async def _lost(self) -> bool:
        """After a connection ended: False when closed (a deliberate close is not a lost stream),
        else `on_disconnect()` and the backoff's delay, then True (reconnect)."""
        if self.closed:
            return False
        if self.on_disconnect:
            await self.on_disconnect()
        await asyncio.sleep(self.backoff.next_delay())
        return True

    async def _run(self) -> None:      # pragma: no cover - every subclass overrides it
        raise NotImplementedError
