"""Kalshi WebSocket v2 transport: authenticated handshake, reconnect with backoff + jitter.

Each (re)connect signs fresh headers (`GET` + the WS path) and calls `on_connect(send)` so the
owner can resubscribe; every text frame goes to `on_frame(text, recv_ts_ms)`.

A half-open connection (the path is dead, no close reaches us, nothing arrives) is noticed by the
`websockets` keepalive: a Ping of ours every PING_INTERVAL_S, and a connection whose Pong has not
come PING_TIMEOUT_S after its Ping is failed; CLOSE_TIMEOUT_S later the TCP is dropped, the read
ends and the owner's `on_disconnect` marks its books down before the reconnect. So a connection on
which no frame at all arrived for PING_INTERVAL_S + PING_TIMEOUT_S + CLOSE_TIMEOUT_S = 22 s is
gone: at most 2.5 × Kalshi's own ping interval (10 s, AsyncAPI control_frames). A consumer that
leaves the frames unread PING_TIMEOUT_S long (the library then stops reading the socket, Pongs
included) is dropped too: its books are that old.
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

PING_INTERVAL_S = 5.0          # seconds between our keepalive Pings
PING_TIMEOUT_S = 15.0          # seconds a Ping's Pong may take before the connection is failed


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
        self.ping_interval_s = PING_INTERVAL_S     # the keepalive's (s), read at each connect
        self.ping_timeout_s = PING_TIMEOUT_S

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    async def _run(self) -> None:
        path = urlsplit(self.url).path
        while not self.closed:
            headers = self.signer.headers("GET", path) if self.signer else {}
            try:
                async with websockets.connect(self.url, additional_headers=headers,
                                              ping_interval=self.ping_interval_s, ping_timeout=self.ping_timeout_s,
                                              max_size=2**24, close_timeout=CLOSE_TIMEOUT_S,
                                              logger=protocol_log) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.backoff.reset()
                    self.connected.set()
                    await self.on_connect()
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # network errors, handshake refusals (401), closed sockets, keepalive
                log.warning("kalshi ws disconnected: %s: %s", type(exc).__name__, exc)
            finally:
                self._ws = None
                self.connected.clear()
            if not await self._lost():
                return
