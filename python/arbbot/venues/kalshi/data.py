"""Kalshi market data client: `orderbook_delta` subscription maintained as shadow books.

Rules (VENUES.md): snapshot then signed deltas; `seq` contiguous per `sid`. On a gap the sid's
books are flagged untradeable and a fresh snapshot is requested (`update_subscription` /
`get_snapshot`); duplicates and late frames (seq ≤ last) are dropped; malformed frames flag the
sid's books too (we cannot know what they carried). On disconnect every book is untradeable
until the resubscription's snapshots arrive, and the feed polls the books meanwhile (`BookFeed`).

Every book update goes to `feed` (`arbbot.venues.common.feed.BookFeed`): sampled, then coalesced
per market in `updates` (the feed's queue) for the consumer.

`use_yes_price` is stated in every subscription (Kalshi's default, NO levels at the NO-leg price,
is to flip): the parser reads NO levels in the convention it asked for. With `on_fee_update`, the
connection also subscribes to `market_lifecycle_v2` (all markets) for `event_fee_update`: the
callback (the instrument provider) returns the tickers whose fee hold changed, and their books are
published again; a book whose ticker is in `holds` is published untradeable with that reason. The
same channel says when the venue stops trading a market (`deactivated`, `determined`, `settled`)
and starts again (`activated`): such a market's book is published held meanwhile (`market_holds`),
as is every book while the exchange's trading is paused (`set_paused`).
The same channel's `price_level_structure_updated` goes to `on_price_structure` (the provider:
orders are priced on the market's new grid).

`add_markets` and `get_snapshot` commands are remembered by id: one the venue refuses (an `error`
answering it, e.g. 27 too many requests) is sent again after a backoff on the same connection.
The markets of a refused `add_markets` are not streamed meanwhile: the feed polls them (a stream
source of their own, down until the venue accepts the batch) and they never count as live.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Awaitable, Callable

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import BookUpdate, Book
from arbbot.venues.kalshi.book import KalshiBook, SeqTracker, checked, held
from arbbot.venues.kalshi.schemas.ws import (
    EventFeeUpdate, MarketTrading, OrderbookDelta, OrderbookSnapshot, Other, PriceLevelStructureUpdate, Subscribed,
    WsError, parse_message,
)
from arbbot.venues.kalshi.websocket.client import KalshiWebSocket

log = logging.getLogger("arbbot.venues.kalshi.data")

# tickers per `subscribe` / `add_markets` command: a whole listing in one command is refused
# (error 26, subscription market limit exceeded); the first batch subscribes, the others are
# added to its sid once it is known, each answered by its markets' snapshots
SUBSCRIBE_BATCH = 500
LIFECYCLE = "market_lifecycle_v2"      # carries `event_fee_update` (not a channel of its own)
# update_subscription commands remembered for a refusal; the venue answers within seconds, and
# `get_snapshot` is answered by snapshots only (no `ok`), so the oldest are forgotten past this
TRACKED_COMMANDS = 1_024


class KalshiDataClient:
    def __init__(self, ws_url: str, signer, tickers: list[str], *, use_yes_price: bool = False,
                 recorder: Callable[[dict], Awaitable[None] | None] | None = None, backoff=None,
                 feed: BookFeed | None = None,
                 on_fee_update: Callable[[EventFeeUpdate], list[str]] | None = None,
                 holds: dict[str, str] | None = None,
                 on_price_structure: Callable[[PriceLevelStructureUpdate], None] | None = None) -> None:
        self.tickers = list(tickers)
        self.use_yes_price = use_yes_price
        self.on_fee_update = on_fee_update
        self.on_price_structure = on_price_structure       # `price_level_structure_updated` (lifecycle)
        self.holds: dict[str, str] = holds if holds is not None else {}   # ticker → why it is not traded
        self.paused = ""                          # why the exchange trades nothing now ("" = it trades)
        self.market_holds: dict[str, str] = {}    # ticker → why the venue does not trade it (lifecycle)
        self._ended: set[str] = set()             # tickers determined or settled: they never trade again
        self.lifecycle_sid: int | None = None
        self.books: dict[str, KalshiBook] = {t: KalshiBook(t) for t in tickers}
        self.seq = SeqTracker()
        self.sid: int | None = None
        self.feed = feed or BookFeed("kalshi", self.tickers)
        self.feed.on_resnapshot = self.request_snapshots
        self.updates = self.feed.queue            # one BookUpdate per market at most (coalesced)
        self._sends: set[asyncio.Task] = set()
        self._batches: list[list[str]] = []       # ticker batches still to add to the subscription
        self.recorder = recorder
        self.gaps = 0
        self.malformed = 0
        self.refused = 0                          # add_markets / get_snapshot commands the venue refused (retried)
        self.errors: list[WsError] = []
        # command id → (action, tickers, refusals before it) of the update_subscription commands sent
        # on this connection and not yet answered `ok` (nor forgotten: TRACKED_COMMANDS)
        self._commands: OrderedDict[int, tuple[str, list[str], int]] = OrderedDict()
        self._epoch = 0                           # +1 on every (re)subscription: a retry of an older one is dropped
        self._unstreamed: set[str] = set()        # feed sources (one per refused add_markets batch) down now
        self.ws = KalshiWebSocket(ws_url, signer, on_frame=self.on_frame, on_connect=self._subscribe,
                                  on_disconnect=self._on_disconnect, backoff=backoff)

    def start(self) -> None:
        self.ws.start()

    async def close(self) -> None:
        await self.ws.close()

    async def _subscribe(self) -> None:
        # a market paused while no lifecycle frame could be heard may trade again: the holds of
        # paused markets lapse with the connection (before, such a pause was never held at all)
        self.market_holds = {t: why for t, why in self.market_holds.items() if t in self._ended}
        self.seq.reset()
        self.sid = None
        self._epoch += 1
        self._commands.clear()
        for source in self._unstreamed:           # the subscription names every ticker again
            self.feed.stream_up(source)
        self._unstreamed.clear()
        batches = [self.tickers[i:i + SUBSCRIBE_BATCH] for i in range(0, len(self.tickers), SUBSCRIBE_BATCH)]
        self._batches = batches[1:]
        params = {"channels": ["orderbook_delta"], "market_tickers": batches[0] if batches else [],
                  "use_yes_price": self.use_yes_price}     # always stated: the venue's default is to flip
        await self.ws.send({"id": self.ws.next_id(), "cmd": "subscribe", "params": params})
        if self.on_fee_update is not None and self.lifecycle_sid is None:
            await self.ws.send({"id": self.ws.next_id(), "cmd": "subscribe", "params": {"channels": [LIFECYCLE]}})

    async def _on_disconnect(self) -> None:
        self.lifecycle_sid = None
        for b in self.books.values():
            if b.tradeable:
                b.invalidate("disconnected")
                self._publish(b, 0)
        self.feed.stream_down("kalshi ws disconnected")

    def native(self, ticker: str) -> Book:
        """The shadow book as the engine may use it: also untradeable while locked/crossed, held
        for its fees, or while the exchange's trading is paused."""
        return self.held_book(checked(self.books[ticker].native()))

    def held_book(self, b: Book) -> Book:
        """`b` untradeable while the exchange's trading is paused, while the venue does not trade
        its market (`market_holds`), or while it is held for its fees (`holds`), in that order."""
        reason = self.paused or self.market_holds.get(b.market.id) or self.holds.get(b.market.id)
        return held(b, reason) if reason else b

    def set_paused(self, reason: str, ts: int) -> None:
        """The exchange's trading is paused (`reason`) or trades again (""): every book published
        again at `ts` (unix ms), held while paused (its resting orders stay on the book, and no
        order is taken)."""
        if reason != self.paused:
            self.paused = reason
            self.republish(list(self.books), ts)

    def republish(self, tickers, ts: int) -> None:
        """Publish these markets' books again at `ts` (unix ms): their fee hold changed, and a
        book is published held (untradeable) or not by `holds` as it stands now."""
        for ticker in tickers:
            book = self.books.get(ticker)
            if book is not None:
                self._publish(book, ts)

    def _publish(self, book: KalshiBook, ts: int) -> None:
        self.feed.publish(BookUpdate(self.held_book(checked(book.native())), ts))

    async def _resync(self, reason: str) -> None:
        for b in self.books.values():
            if b.tradeable:
                b.invalidate(reason)
                self._publish(b, 0)
        if self.sid is not None:
            try:
                await self._update("get_snapshot", self.tickers)
            except ConnectionError:
                pass

    async def _update(self, action: str, tickers: list[str], refusals: int = 0) -> None:
        """`update_subscription` `action` ("add_markets", "get_snapshot") of `tickers` on the book
        subscription, remembered by its id so that a refusal is retried (`_refused`)."""
        cid = self.ws.next_id()
        self._commands[cid] = (action, tickers, refusals)
        if len(self._commands) > TRACKED_COMMANDS:
            self._commands.popitem(last=False)
        await self.ws.send({"id": cid, "cmd": "update_subscription",
                            "params": {"sids": [self.sid], "market_tickers": tickers, "action": action}})

    def _refused(self, err: WsError) -> None:
        """The venue refused command `err.id`: sent again after a backoff (1 s doubling to 30 s,
        jittered, per refusal of the same tickers). A refused `add_markets` batch is polled until
        the venue accepts it."""
        action, tickers, refusals = self._commands.pop(err.id)
        self.refused += 1
        log.warning("kalshi: %s of %d markets refused (error %d: %s): retrying", action, len(tickers),
                    err.code, err.msg)
        if action == "add_markets":
            source = _batch_source(tickers)
            self._unstreamed.add(source)
            self.feed.stream_down(f"add_markets refused (error {err.code})", source=source, market_ids=tickers)
        delay = Backoff(base=1.0, cap=30.0, attempt=refusals).next_delay()
        self._spawn(self._retry(action, tickers, refusals + 1, delay, self._epoch))

    async def _retry(self, action: str, tickers: list[str], refusals: int, delay: float, epoch: int) -> None:
        await asyncio.sleep(delay)
        if epoch != self._epoch or self.sid is None:
            return                                # resubscribed since: that named every ticker again
        if action == "get_snapshot":              # only the books still waiting for one
            tickers = [t for t in tickers if not self.books[t].tradeable]
            if not tickers:
                return
        try:
            await self._update(action, tickers, refusals)
        except ConnectionError:
            pass                                  # the resubscription covers them

    def _accepted(self, cid) -> None:
        """The venue answered command `cid` `ok`: a refused `add_markets` batch now streams."""
        command = self._commands.pop(cid, None)
        if command is not None and command[0] == "add_markets":
            source = _batch_source(command[1])
            if source in self._unstreamed:
                self._unstreamed.discard(source)
                self.feed.stream_up(source)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _add_batches(self) -> None:
        """Add the remaining ticker batches to the subscription (`add_markets`); a lost connection
        drops the rest (the resubscription starts over)."""
        while self._batches and self.sid is not None:
            batch = self._batches.pop(0)
            try:
                await self._update("add_markets", batch)
            except ConnectionError:
                self._batches.clear()

    def add_tickers(self, tickers: list[str]) -> list[str]:
        """Stream `tickers` too (markets listed or promoted mid-session): added to the running
        subscription in batches (`add_markets`, each answered by its markets' snapshots); while
        disconnected the resubscription includes them. Returns the tickers that were new."""
        added = [t for t in dict.fromkeys(tickers) if t not in self.books]
        self.feed.add_markets(added)          # (a polled market is known to the feed already)
        for t in added:
            self.tickers.append(t)
            self.books[t] = KalshiBook(t)
        if added and self.sid is not None and self.ws.connected.is_set():
            self._batches += [added[i:i + SUBSCRIBE_BATCH] for i in range(0, len(added), SUBSCRIBE_BATCH)]
            self._spawn(self._add_batches())
        return added

    def request_snapshots(self, tickers: list[str]) -> None:
        """Ask the stream for fresh `orderbook_snapshot`s of `tickers` (`get_snapshot`), so the
        shadow books follow a re-snapshot in sequence; nothing while disconnected (the
        resubscription sends every snapshot)."""
        if self.sid is None or not self.ws.connected.is_set():
            return
        self._spawn(self._get_snapshot(tickers))

    async def _get_snapshot(self, tickers: list[str]) -> None:
        try:
            await self._update("get_snapshot", tickers)
        except Exception as exc:        # the connection went away: the resubscription covers it
            log.info("kalshi: get_snapshot not sent: %s", type(exc).__name__)

    async def on_frame(self, text: str, recv_ts: int) -> None:
        """Handle one raw frame (also the replay entry point)."""
        self.feed.heard()
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
                await self._add_batches()
            elif msg.channel == LIFECYCLE:
                self.lifecycle_sid = msg.sid
            return
        if isinstance(msg, PriceLevelStructureUpdate):
            if self.on_price_structure is not None:
                self.on_price_structure(msg)
            return
        if isinstance(msg, MarketTrading):
            if msg.market_ticker in self.books and self.market_holds.get(msg.market_ticker, "") != msg.held:
                if msg.held:
                    self.market_holds[msg.market_ticker] = msg.held
                    if msg.ended:
                        self._ended.add(msg.market_ticker)
                else:
                    del self.market_holds[msg.market_ticker]
                log.warning("kalshi %s: %s", msg.market_ticker, msg.held or "trades again")
                self.republish([msg.market_ticker], recv_ts)
            return
        if isinstance(msg, EventFeeUpdate):
            if self.on_fee_update is not None:
                self.republish(self.on_fee_update(msg), recv_ts)
            return
        if isinstance(msg, WsError):
            self.errors.append(msg)
            if msg.code in (10, 25):            # terminal: resubscribe
                await self._resync(f"ws error {msg.code}")
                await self._subscribe()
            elif msg.id in self._commands:
                self._refused(msg)
            return
        if isinstance(msg, Other) and msg.type == "ok":
            self._accepted(msg.raw.get("id"))
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
                if not self.feed.streaming:
                    self.feed.stream_up()       # the stream delivers again: its snapshots supersede polls
            else:
                book.apply_delta(msg.side, msg.price, msg.delta)
                if not book.tradeable and book.reason.startswith("negative"):
                    await self._resync(book.reason)
            self._publish(book, recv_ts)


def _batch_source(tickers: list[str]) -> str:
    """The feed source polling a refused `add_markets` batch (the same over its retries)."""
    return f"add_markets {tickers[0]}"
