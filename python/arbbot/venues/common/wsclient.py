"""The lifecycle every venue WebSocket client shares: one background task running `_run()`
(connect, read, reconnect with backoff until closed) over the live connection `_ws`.

Closing is prompt under a busy stream: from `close()` on, the reader drops the frames still
arriving unparsed (a market stream may have seconds of them queued ahead of the venue's close
frame, and the closing handshake waits for that frame), and a deliberate close is not a lost
stream (no `on_disconnect`: its books are not marked down, its feed does not start polling)."""
from __future__ import annotations

import asyncio
import json


CLOSE_TIMEOUT_S = 2.0          # the closing handshake's wait for the venue's close frame, then the TCP is dropped


class BackgroundWebSocket:
    """Subclasses set `venue` (for messages) and implement `async _run()`, which keeps `_ws`
    pointing at the live connection (None while disconnected) and returns once `closed`."""

    venue = "venue"

    def __init__(self) -> None:
        self._ws = None
        self._task: asyncio.Task | None = None
        self.closed = False

    async def send(self, obj) -> None:
        """Send a JSON object (compact) or a text frame as is."""
        if self._ws is None:
            raise ConnectionError(f"{self.venue} ws is not connected")
        await self._ws.send(obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":")))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

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

    async def _run(self) -> None:      # pragma: no cover - every subclass overrides it
        raise NotImplementedError
