"""Base of the Kalshi clients that subscribe to a set of WS channels over their own
authenticated connection (public market channels, private user channels)."""
from __future__ import annotations

from arbbot.venues.kalshi.websocket.client import KalshiWebSocket


class KalshiChannelClient:
    """`channels` filtered by `tickers` (all markets when empty); resubscribes on every
    (re)connect. Subclasses implement `on_frame(text, recv_ts)` and may extend
    `subscribe_params()` / `on_resubscribe()`."""

    def __init__(self, ws_url: str, signer, tickers: list[str] | None, channels: tuple[str, ...], backoff) -> None:
        self.tickers = list(tickers or [])
        self.channels = tuple(channels)
        self.subscribed: dict[str, int] = {}         # channel → sid
        self.malformed = 0
        self.ws = KalshiWebSocket(ws_url, signer, on_frame=self.on_frame, on_connect=self._subscribe,
                                  backoff=backoff)

    def start(self) -> None:
        self.ws.start()

    async def close(self) -> None:
        await self.ws.close()

    def subscribe_params(self) -> dict:
        params: dict = {"channels": list(self.channels)}
        if self.tickers:
            params["market_tickers"] = self.tickers
        return params

    def on_resubscribe(self) -> None:
        """Forget per-connection state before subscribing again."""

    async def _subscribe(self) -> None:
        self.subscribed.clear()
        self.on_resubscribe()
        await self.ws.send({"id": self.ws.next_id(), "cmd": "subscribe", "params": self.subscribe_params()})

    async def on_frame(self, text: str, recv_ts: int = 0) -> None:   # pragma: no cover - overridden
        raise NotImplementedError
