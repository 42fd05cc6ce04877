"""Polymarket market data client: the market channel maintained as full shadow books per token.

Rules (VENUES.md): `book` = full snapshot of one token; `price_change` = new absolute size per
level (0 removes; BUY = bid). There are no sequence numbers, so after every change that carries a
`hash` the token book's hash is recomputed (with the frame's timestamp) and compared: a mismatch,
a malformed frame, or a level we cannot parse flags the token (hence its market) untradeable and
re-fetches it over REST (`GET /book`). A disconnect flags everything until the resubscription's
snapshots arrive. Nothing is ever guessed: a distrusted book is published as untradeable.
"""
from __future__ import annotations

import asyncio
import time
import logging
from typing import Awaitable, Callable

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import ProtocolError, VenueError
from arbbot.venues.common.model import BookUpdate, MarketInfo, Book
from arbbot.units import UnitError
from arbbot.venues.polymarket.book import TokenBook, native_book
from arbbot.venues.polymarket.schemas.ws import (
    BookMsg, LastTradeMsg, PriceChangeMsg, TickSizeMsg, parse_book, parse_frame,
)
from arbbot.venues.polymarket.websocket.client import PolymarketWebSocket

log = logging.getLogger("arbbot.venues.polymarket.data")


class PolymarketDataClient:
    def __init__(self, ws_url: str, markets: list[MarketInfo], http=None, *,
                 recorder: Callable[[dict], Awaitable[None] | None] | None = None, backoff: Backoff | None = None,
                 ping_interval_s: float = 10.0, resnapshot_interval_s: float | None = None) -> None:
        self.markets = {m.market_id: m for m in markets}
        self.token_market: dict[str, str] = {}
        self.books: dict[str, TokenBook] = {}
        for m in markets:
            for tok in (m.yes_token, m.no_token):
                self.token_market[tok] = m.market_id
                self.books[tok] = TokenBook(tok, m.market_id)
        self.http = http
        self.recorder = recorder
        self.resnapshot_interval_s = resnapshot_interval_s
        self.updates: asyncio.Queue[BookUpdate] = asyncio.Queue()
        self.hash_mismatches = 0
        self.malformed = 0
        self.resnapshots = 0
        self.updated_ms: dict[str, int] = {}      # market id → receive time of its last frame/snapshot
        self.unverified_changes = 0
        self._pending: dict[str, asyncio.Task] = {}
        self._periodic: asyncio.Task | None = None
        self.ws = PolymarketWebSocket(ws_url, on_frame=self.on_frame, on_connect=self._subscribe,
                                      on_disconnect=self._on_disconnect, backoff=backoff,
                                      ping_interval_s=ping_interval_s)

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self.ws.start()
        if self.resnapshot_interval_s:
            self._periodic = asyncio.create_task(self._periodic_loop())

    async def close(self) -> None:
        if self._periodic:
            self._periodic.cancel()
        for t in list(self._pending.values()):
            t.cancel()
        await self.ws.close()

    def check_stale(self, now_ms: int, max_age_ms: int) -> list[str]:
        """Markets with no frame for `max_age_ms`: flagged untradeable ("stale") and re-fetched
        over REST (the flag clears when that snapshot lands). Returns the stale market ids."""
        stale = [mid for mid, ts in self.updated_ms.items() if ts and now_ms - ts > max_age_ms]
        for mid in stale:
            m = self.markets[mid]
            for tok in (m.yes_token, m.no_token):
                self._resnapshot(tok, f"stale: no update for {now_ms - self.updated_ms[mid]} ms")
        return stale

    def native(self, market_id: str) -> Book:
        m = self.markets[market_id]
        return native_book(market_id, self.books[m.yes_token], self.books[m.no_token])

    def _publish(self, market_id: str, ts: int = 0) -> None:
        self.updates.put_nowait(BookUpdate(self.native(market_id), ts))

    async def _subscribe(self) -> None:
        await self.ws.send({"assets_ids": list(self.books), "type": "market", "custom_feature_enabled": True})

    async def _on_disconnect(self) -> None:
        for mid in self.markets:
            was = self.native(mid).tradeable
            for tok in (self.markets[mid].yes_token, self.markets[mid].no_token):
                self.books[tok].invalidate("disconnected")
            if was:
                self._publish(mid)

    async def _periodic_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resnapshot_interval_s)
            for tok in list(self.books):
                self._resnapshot(tok, "periodic refresh", invalidate=False)

    # ---- resnapshot ---------------------------------------------------------------------
    def _resnapshot(self, token: str, reason: str, *, invalidate: bool = True) -> None:
        book = self.books[token]
        mid = self.token_market[token]
        if invalidate and book.tradeable:
            book.invalidate(reason)
            self._publish(mid)
        if token in self._pending or self.http is None:
            return
        self._pending[token] = asyncio.create_task(self._fetch(token))

    async def _fetch(self, token: str) -> None:
        backoff = Backoff(base=0.1, cap=5.0)
        try:
            for _ in range(5):
                try:
                    body = await self.http.clob_get("/book", {"token_id": token})
                    msg = parse_book(body, "rest book")
                    self.resnapshots += 1
                    if not self.books[token].apply_snapshot(msg):
                        self.hash_mismatches += 1
                        log.warning("polymarket: REST book for token …%s fails its own hash", token[-8:])
                    self.updated_ms[self.token_market[token]] = int(time.time() * 1000)
                    self._publish(self.token_market[token])
                    return
                except (VenueError, UnitError) as exc:
                    log.warning("polymarket: resnapshot of token …%s failed: %s", token[-8:], exc)
                    await asyncio.sleep(backoff.next_delay())
        finally:
            self._pending.pop(token, None)

    # ---- frames -------------------------------------------------------------------------
    async def on_frame(self, text: str, recv_ts: int) -> None:
        """Handle one raw frame (also the replay entry point)."""
        if self.recorder is not None:
            r = self.recorder({"kind": "ws", "venue": "polymarket", "frame": text})
            if asyncio.iscoroutine(r):
                await r
        try:
            msgs = parse_frame(text)
        except ProtocolError as exc:
            self.malformed += 1
            log.warning("%s", exc)
            for tok in list(self.books):          # we cannot know which books that frame touched
                self._resnapshot(tok, "malformed frame")
            return
        touched: set[str] = set()
        for msg in msgs:
            if isinstance(msg, BookMsg):
                book = self.books.get(msg.asset_id)
                if book is None:
                    continue
                try:
                    ok = book.apply_snapshot(msg)
                except UnitError as exc:
                    log.warning("polymarket: bad book level: %s", exc)
                    ok = False
                if not ok:
                    self.hash_mismatches += 1
                    self._resnapshot(msg.asset_id, "bad snapshot")
                elif not book.can_hash():
                    # a WS book without min_order_size/tick_size/neg_risk/last_trade_price: fetch the
                    # REST summary once so later price_change hashes can be verified
                    self._resnapshot(msg.asset_id, "no hash metadata", invalidate=False)
                touched.add(self.token_market[msg.asset_id])
            elif isinstance(msg, PriceChangeMsg):
                for ch in msg.changes:
                    book = self.books.get(ch.asset_id)
                    if book is None:
                        continue
                    touched.add(self.token_market[ch.asset_id])
                    try:
                        book.apply_change(ch.side, ch.price, ch.size)
                    except UnitError as exc:
                        log.warning("polymarket: bad price_change level: %s", exc)
                        self._resnapshot(ch.asset_id, "unparseable level")
                        continue
                    if not book.tradeable:
                        continue                       # a fresh snapshot is on its way
                    if ch.hash and book.can_hash():
                        if book.hash_at(msg.timestamp) != ch.hash:
                            self.hash_mismatches += 1
                            log.warning("polymarket: hash mismatch on token …%s: resnapshot", ch.asset_id[-8:])
                            self._resnapshot(ch.asset_id, "hash mismatch")
                    else:
                        self.unverified_changes += 1
            elif isinstance(msg, LastTradeMsg):
                book = self.books.get(msg.asset_id)
                if book is not None:
                    book.last_trade_price = msg.price
            elif isinstance(msg, TickSizeMsg):
                book = self.books.get(msg.asset_id)
                if book is not None:
                    book.tick_size = msg.new_tick_size
        for mid in touched:
            self.updated_ms[mid] = recv_ts
            self._publish(mid, recv_ts)
