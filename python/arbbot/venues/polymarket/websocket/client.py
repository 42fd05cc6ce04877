"""Polymarket market-channel WebSocket transport: reconnect with backoff + jitter, text PING
keep-alive every `ping_interval_s` (the venue answers PONG). Public channel: no auth headers."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Awaitable, Callable

import websockets

from arbbot.venues.common.backoff import Backoff

log = logging.getLogger("arbbot.venues.polymarket.ws")


class PolymarketWebSocket:
    def __init__(self, url: str, *, on_frame: Callable[[str, int], Awaitable[None]],
                 on_connect: Callable[[], Awaitable[None]],
                 on_disconnect: Callable[[], Awaitable[None]] | None = None,
                 backoff: Backoff | None = None, ping_interval_s: float = 10.0) -> None:
        self.url = url
        self.on_frame, self.on_connect, self.on_disconnect = on_frame, on_connect, on_disconnect
        self.backoff = backoff or Backoff()
        self.ping_interval_s = ping_interval_s
        self._ws = None
        self._task: asyncio.Task | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        self.closed = False

    async def send(self, obj) -> None:
        if self._ws is None:
            raise ConnectionError("polymarket ws is not connected")
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

    async def _pinger(self, ws) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            await ws.send("PING")

    async def _run(self) -> None:
        while not self.closed:
            pinger = None
            try:
                async with websockets.connect(self.url, ping_interval=None, max_size=2**24) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.backoff.reset()
                    self.connected.set()
                    pinger = asyncio.create_task(self._pinger(ws))
                    await self.on_connect()
                    async for frame in ws:
                        if isinstance(frame, bytes):
                            frame = frame.decode("utf-8", "replace")
                        await self.on_frame(frame, int(time.time() * 1000))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("polymarket ws disconnected: %s", type(exc).__name__)
            finally:
                if pinger:
                    pinger.cancel()
                self._ws = None
                self.connected.clear()
            if self.on_disconnect:
                await self.on_disconnect()
            if self.closed:
                return
            await asyncio.sleep(self.backoff.next_delay())
