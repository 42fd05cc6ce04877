"""Polymarket market-channel WebSocket transport: reconnect with backoff + jitter, text PING
keep-alive every `ping_interval_s` (the venue answers PONG). A connection on which nothing
arrived (no PONG, no frame) for a whole interval after a PING is dropped: the reconnect path then
marks its books down, polls them and resubscribes. Public channel: no auth headers."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

import websockets

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.wsclient import CLOSE_TIMEOUT_S, BackgroundWebSocket

log = logging.getLogger("arbbot.venues.polymarket.ws")


class PolymarketWebSocket(BackgroundWebSocket):
    venue = "polymarket"

    def __init__(self, url: str, *, on_frame: Callable[[str, int], Awaitable[None]],
                 on_connect: Callable[[], Awaitable[None]],
                 on_disconnect: Callable[[], Awaitable[None]] | None = None,
                 backoff: Backoff | None = None, ping_interval_s: float = 10.0) -> None:
        self.url = url
        self.on_frame, self.on_connect, self.on_disconnect = on_frame, on_connect, on_disconnect
        self.backoff = backoff or Backoff()
        self.ping_interval_s = ping_interval_s
        super().__init__()
        self.connected = asyncio.Event()
        self.connects = 0


    async def _pinger(self, ws) -> None:
        """PING every `ping_interval_s`; close `ws` once a whole interval after a PING brought no
        frame: so a silent venue is noticed within two intervals of its last frame."""
        pinged = None                   # time.monotonic() of the last PING
        while True:
            await asyncio.sleep(self.ping_interval_s)
            if pinged is not None and self.last_frame_at < pinged:
                log.warning("polymarket ws: nothing received for %.1f s after a PING: reconnecting",
                            time.monotonic() - pinged)
                await ws.close()
                return
            pinged = time.monotonic()
            await ws.send("PING")

    async def _run(self) -> None:
        while not self.closed:
            pinger = None
            try:
                async with websockets.connect(self.url, ping_interval=None, max_size=2**24,
                                              close_timeout=CLOSE_TIMEOUT_S) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.backoff.reset()
                    self.connected.set()
                    pinger = asyncio.create_task(self._pinger(ws))
                    await self.on_connect()
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("polymarket ws disconnected: %s", type(exc).__name__)
            finally:
                if pinger:
                    pinger.cancel()
                self._ws = None
                self.connected.clear()
            if not await self._lost():
                return
