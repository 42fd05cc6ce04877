"""Kalshi market data client: `orderbook_delta` subscription maintained as shadow books.

Rules (VENUES.md): snapshot then signed deltas; `seq` contiguous per `sid`. On a gap the sid's
books are flagged untradeable and a fresh snapshot is requested (`update_subscription` /
`get_snapshot`); duplicates and late frames (seq ≤ last) are dropped; malformed frames flag the
sid's books too (we cannot know what they carried). On disconnect every book is untradeable
until the resubscription's snapshots arrive.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.model import BookUpdate, Book
from arbbot.venues.kalshi.book import KalshiBook, SeqTracker, checked
from arbbot.venues.kalshi.schemas.ws import OrderbookDelta, OrderbookSnapshot, Subscribed, WsError, parse_message
from arbbot.venues.kalshi.websocket.client import KalshiWebSocket

log = logging.getLogger("arbbot.venues.kalshi.data")


class KalshiDataClient:
    def __init__(self, ws_url: str, signer, tickers: list[str], *, use_yes_price: bool = False,
                 recorder: Callable[[dict], Awaitable[None] | None] | None = None, backoff=None) -> None:
        self.tickers = list(tickers)
        self.use_yes_price = use_yes_price
        self.books: dict[str, KalshiBook] = {t: KalshiBook(t) for t in tickers}
        self.seq = SeqTracker()
        self.sid: int | None = None
        self.updates: asyncio.Queue[BookUpdate] = asyncio.Queue()
        self.recorder = recorder
        self.gaps = 0
        self.malformed = 0
        self.errors: list[WsError] = []
        self.ws = KalshiWebSocket(ws_url, signer, on_frame=self.on_frame, on_connect=self._subscribe,
                                  on_disconnect=self._on_disconnect, backoff=backoff)

    def start(self) -> None:
        self.ws.start()

    async def close(self) -> None:
        await self.ws.close()

    async def _subscribe(self) -> None:
        self.seq.reset()
        self.sid = None
        params = {"channels": ["orderbook_delta"], "market_tickers": self.tickers}
        if self.use_yes_price:
            params["use_yes_price"] = True
        await self.ws.send({"id": self.ws.next_id(), "cmd": "subscribe", "params": params})

    async def _on_disconnect(self) -> None:
        for b in self.books.values():
            if b.tradeable:
                b.invalidate("disconnected")
                self._publish(b, 0)

    def native(self, ticker: str) -> Book:
        """The shadow book as the engine may use it: also untradeable while locked/crossed."""
        return checked(self.books[ticker].native())

    def _publish(self, book: KalshiBook, ts: int) -> None:
        self.updates.put_nowait(BookUpdate(checked(book.native()), ts))

    async def _resync(self, reason: str) -> None:
        for b in self.books.values():
            if b.tradeable:
                b.invalidate(reason)
                self._publish(b, 0)
        if self.sid is not None:
            try:
                await self.ws.send({"id": self.ws.next_id(), "cmd": "update_subscription",
                                    "params": {"sids": [self.sid], "market_tickers": self.tickers,
                                               "action": "get_snapshot"}})
            except ConnectionError:
                pass

    async def check_stale(self, now_ms: int, max_age_ms: int) -> list[str]:
        """Flag books with no frame for `max_age_ms` as untradeable ("stale") and ask for fresh
        snapshots of them (again at every check while none arrives); the next snapshot makes them
        tradeable again. Returns the stale tickers."""
        stale = [t for t, b in self.books.items() if b.updated_ms and now_ms - b.updated_ms > max_age_ms]
        for t in stale:
            b = self.books[t]
            if b.tradeable:
                b.invalidate(f"stale: no update for {now_ms - b.updated_ms} ms")
                self._publish(b, now_ms)
        if stale and self.sid is not None:
            try:
                await self.ws.send({"id": self.ws.next_id(), "cmd": "update_subscription",
                                    "params": {"sids": [self.sid], "market_tickers": stale,
                                               "action": "get_snapshot"}})
            except ConnectionError:
                pass
        return stale

    async def on_frame(self, text: str, recv_ts: int) -> None:
        """Handle one raw frame (also the replay entry point)."""
        if self.recorder is not None:
            r = self.recorder({"kind": "ws", "venue": "kalshi", "frame": text})
            if asyncio.iscoroutine(r):
                await r
        try:
            msg = parse_message(text, use_yes_price=self.use_yes_price)
        except ProtocolError as exc:
            self.malformed += 1
            log.warning("%s", exc)
            await self._resync("malformed frame")
            return
        if isinstance(msg, Subscribed):
            if msg.channel == "orderbook_delta":
                self.sid = msg.sid
            return
        if isinstance(msg, WsError):
            self.errors.append(msg)
            if msg.code in (10, 25):            # terminal: resubscribe
                await self._resync(f"ws error {msg.code}")
                await self._subscribe()
            return
        if isinstance(msg, (OrderbookSnapshot, OrderbookDelta)):
            state = self.seq.check(msg.sid, msg.seq)
            if state == "stale":
                return
            if state == "gap":
                self.gaps += 1
                await self._resync(f"seq gap on sid {msg.sid}")
                if isinstance(msg, OrderbookDelta):
                    return
            book = self.books.get(msg.ticker)
            if book is None:
                return
            book.updated_ms = recv_ts
            if isinstance(msg, OrderbookSnapshot):
                book.apply_snapshot(msg.yes, msg.no)
            else:
                book.apply_delta(msg.side, msg.price, msg.delta)
                if not book.tradeable and book.reason.startswith("negative"):
                    await self._resync(book.reason)
            self._publish(book, recv_ts)
