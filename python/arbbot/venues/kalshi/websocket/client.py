"""Kalshi WebSocket v2 transport: authenticated handshake, reconnect with backoff + jitter.

Each (re)connect signs fresh headers (`GET` + the WS path) and calls `on_connect(send)` so the
owner can resubscribe; every text frame goes to `on_frame(text, recv_ts_ms)`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable
from urllib.parse import urlsplit

import websockets

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.wsclient import CLOSE_TIMEOUT_S, BackgroundWebSocket
from arbbot.venues.kalshi.common.signing import KalshiSigner

log = logging.getLogger("arbbot.venues.kalshi.ws")


class _RedactAuth(logging.Filter):
    """websockets logs handshake headers at DEBUG; a signature is replayable within the venue's
    clock window, so those lines never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return False
        return "KALSHI-ACCESS" not in text and "POLY_" not in text


protocol_log = logging.getLogger("arbbot.venues.kalshi.ws.protocol")
protocol_log.addFilter(_RedactAuth())


class KalshiWebSocket(BackgroundWebSocket):
    venue = "kalshi"

    def __init__(self, url: str, signer: KalshiSigner | None, *,
                 on_frame: Callable[[str, int], Awaitable[None]],
                 on_connect: Callable[[], Awaitable[None]],
                 on_disconnect: Callable[[], Awaitable[None]] | None = None,
                 backoff: Backoff | None = None) -> None:
        self.url = url
        self.signer = signer
        self.on_frame = on_frame
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.backoff = backoff or Backoff()
        super().__init__()
        self._ids = 0
        self.connected = asyncio.Event()
        self.connects = 0

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    async def _run(self) -> None:
        path = urlsplit(self.url).path
        while not self.closed:
            headers = self.signer.headers("GET", path) if self.signer else {}
            try:
                async with websockets.connect(self.url, additional_headers=headers, ping_interval=10,
                                              ping_timeout=20, max_size=2**24, close_timeout=CLOSE_TIMEOUT_S,
                                              logger=protocol_log) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.backoff.reset()
                    self.connected.set()
                    await self.on_connect()
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # network errors, handshake refusals (401), closed sockets
                log.warning("kalshi ws disconnected: %s", type(exc).__name__)
            finally:
                self._ws = None
                self.connected.clear()
            if not await self._lost():
                return
