"""Kalshi market data client: `orderbook_delta` subscription maintained as shadow books.

Rules (VENUES.md): snapshot then signed deltas; `seq` contiguous per `sid` (AsyncAPI
sequenceNumber: per subscription, not per market). On a gap the sid's books are flagged
untradeable and fresh snapshots are requested (`update_subscription` / `get_snapshot`): the lost
frame may have been about any of them, and every book is on the one book subscription. Duplicates
and late frames (seq ≤ last) are dropped. A book frame that does not parse but carries the sid's
next seq and names its market counts in the sequence and distrusts that market's book only; a
negative level too (`_resync`); any other frame that does not parse flags every book. On
disconnect every book is untradeable until the resubscription's snapshots arrive, and the feed
polls the books meanwhile (`BookFeed`).

Every book update goes to `feed` (`arbbot.venues.common.feed.BookFeed`): sampled, then coalesced
per market in `updates` (the feed's queue) for the consumer.

`use_yes_price` is stated in every subscription (Kalshi's default, NO levels at the NO-leg price,
is to flip): the parser reads NO levels in the convention it asked for. With `on_fee_update`, the
connection also subscribes to `market_lifecycle_v2` (all markets) for `event_fee_update`: the
callback (the instrument provider) returns the tickers whose fee hold changed, and their books are
published again; a book whose ticker is in `holds` is published untradeable with that reason. The
same channel says when the venue stops trading a market (`deactivated`, `determined`, `settled`)
and starts again (`activated`): such a market's book is published held meanwhile (`market_holds`),
as is every book while the exchange's trading is paused (`set_paused`). The venue re-sends no
lifecycle state on subscribe, so a hold outlives a reconnect, and a market paused while no
connection was subscribed is known from no frame: once the channel is subscribed again (not the
first time: discovery has just read the markets), every streamed market's `Market.status` is read
over REST (`market_status`, GET /markets?tickers=…, 100 tickers a request through the read
bucket): `active` releases a hold, any other status holds the market. Determined and settled
markets stay held and are not read.
(The lifecycle frames' `seq` is not checked: the AsyncAPI's marketLifecycleV2Payload defines none,
and `sequenceNumber` is documented for snapshot/delta consistency only.)
The same channel's `price_level_structure_updated` goes to `on_price_structure` (the provider:
orders are priced on the market's new grid).

`subscribe`, `add_markets` and `get_snapshot` commands are remembered by id: one the venue refuses
(an `error` answering it, e.g. 27 too many requests; a `subscribe` also when no `subscribed`
answers it within SUBSCRIBE_TIMEOUT_S) is sent again after a backoff on the same connection.
The markets of a refused `add_markets` are not streamed meanwhile: the feed polls them (a stream
source of their own, down until the venue accepts the batch) and they never count as live. A
refused book `subscribe` streams no book at all: every book is published untradeable and polled
(source SUBSCRIBE_SOURCE) until a `subscribed` answers a retry.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Awaitable, Callable

from arbbot.venues.common import wire_json
from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.feed import BookFeed
from arbbot.venues.common.model import BookUpdate, Book, held
from arbbot.venues.kalshi.book import KalshiBook, SeqTracker, checked
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
# a `subscribe` answered neither `subscribed` nor `error` within this many seconds counts as refused
# (the venue answers within seconds; error 18 is its own command timeout)
SUBSCRIBE_TIMEOUT_S = 10.0
BOOKS = "orderbook_delta"
SNAPSHOT, DELTA = "orderbook_snapshot", "orderbook_delta"   # the book channel's frame types
# the feed source of every book while the book subscription is refused (polled meanwhile)
SUBSCRIBE_SOURCE = "orderbook_delta subscribe"
ACTIVE = "active"                      # Market.status of a market that trades (OpenAPI Market.status)


# WebSocket errors that end a subscription (venues-factsheet: 10 channel error, 25 subscription
# buffer overflow), unless the error answers a command of ours (then that command was refused)
OVERFLOW = 25
TERMINAL_ERRORS = (10, OVERFLOW)


class KalshiDataClient:
    def __init__(self, ws_url: str, signer, tickers: list[str], *, use_yes_price: bool = False,
                 recorder: Callable[[dict], Awaitable[None] | None] | None = None, backoff=None,
                 feed: BookFeed | None = None,
                 on_fee_update: Callable[[EventFeeUpdate], list[str]] | None = None,
                 holds: dict[str, str] | None = None,
                 on_price_structure: Callable[[PriceLevelStructureUpdate], None] | None = None,
                 market_status: Callable[[list[str]], Awaitable[dict[str, str]]] | None = None) -> None:
        self.tickers = list(tickers)
        self.use_yes_price = use_yes_price
        self.on_fee_update = on_fee_update
        self.on_price_structure = on_price_structure       # `price_level_structure_updated` (lifecycle)
        self.holds: dict[str, str] = holds if holds is not None else {}   # ticker → why it is not traded
        self.paused = ""                          # why the exchange trades nothing now ("" = it trades)
        self.market_holds: dict[str, str] = {}    # ticker → why the venue does not trade it (lifecycle)
        self._ended: set[str] = set()             # tickers determined or settled: they never trade again
        # tickers → their Market.status over REST (`KalshiVenue.market_statuses`): how the paused
        # markets' holds are checked after a reconnect (None: they are kept until `activated`)
        self.market_status = market_status
        # ticker → True once a lifecycle frame about it came, for the markets of the status read under
        # way (that frame is newer than the REST answer); {} while none is
        self._status_reading: dict[str, bool] = {}
        self._holds_task: asyncio.Task | None = None       # `_reread_holds`, while it runs
        self.hold_rereads = 0                     # REST reads of the markets' state answered
        self.lifecycle_sid: int | None = None
        self._lifecycle_subscribed = False        # once subscribed: a later subscription rereads the state
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
        # command id → (channel, refusals before it) of the `subscribe` commands sent on this
        # connection and answered neither `subscribed` nor `error` yet (nor given up: SUBSCRIBE_TIMEOUT_S)
        self._subscribing: dict[int, tuple[str, int]] = {}
        self.subscribe_timeout_s = SUBSCRIBE_TIMEOUT_S
        self._epoch = 0                           # +1 on every (re)subscription: a retry of an older one is dropped
        # feed sources down now: one per refused add_markets batch, SUBSCRIBE_SOURCE while the book
        # subscription is refused
        self._unstreamed: set[str] = set()
        self.ws = KalshiWebSocket(ws_url, signer, on_frame=self.on_frame, on_connect=self._subscribe,
                                  on_disconnect=self._on_disconnect, backoff=backoff)

    def start(self) -> None:
        self.ws.start()

    async def close(self) -> None:
        for task in list(self._sends):            # retries, deadlines, the holds' re-read
            task.cancel()
        await self.ws.close()

    async def _subscribe(self) -> None:
        # market holds are kept: the venue re-sends no lifecycle state, so a market paused before
        # the connection was lost is still paused for all we know; its state is read again over
        # REST once the lifecycle channel is subscribed (`_reread_holds`)
        self.seq.reset()
        self.sid = None
        self._epoch += 1
        self._commands.clear()
        self._subscribing.clear()
        for source in self._unstreamed:           # the subscription names every ticker again
            self.feed.stream_up(source)
        self._unstreamed.clear()
        await self._subscribe_books(0)
        if self.on_fee_update is not None and self.lifecycle_sid is None:
            await self._send_subscribe(LIFECYCLE, {"channels": [LIFECYCLE]}, 0)

    async def _subscribe_books(self, refusals: int) -> None:
        """`subscribe` the first SUBSCRIBE_BATCH tickers' books; the others are added to its sid
        once `subscribed` names it (`_add_batches`)."""
        batches = [self.tickers[i:i + SUBSCRIBE_BATCH] for i in range(0, len(self.tickers), SUBSCRIBE_BATCH)]
        self._batches = batches[1:]
        params = {"channels": [BOOKS], "market_tickers": batches[0] if batches else [],
                  "use_yes_price": self.use_yes_price}     # always stated: the venue's default is to flip
        await self._send_subscribe(BOOKS, params, refusals)

    async def _send_subscribe(self, channel: str, params: dict, refusals: int) -> None:
        """Send a `subscribe` of `channel`, remembered by its id until answered (`_subscribing`):
        an `error` answering it, or no answer within `subscribe_timeout_s`, is a refusal
        (`_subscribe_refused`)."""
        cid = self.ws.next_id()
        self._subscribing[cid] = (channel, refusals)
        self._spawn(self._subscribe_deadline(cid, self._epoch))
        await self.ws.send({"id": cid, "cmd": "subscribe", "params": params})

    async def _subscribe_deadline(self, cid: int, epoch: int) -> None:
        await asyncio.sleep(self.subscribe_timeout_s)
        if epoch == self._epoch and cid in self._subscribing and self.ws.connected.is_set():
            self._subscribe_refused(cid, f"not answered within {self.subscribe_timeout_s:g} s",
                                    int(time.time() * 1000))

    def _subscribe_refused(self, cid: int, why: str, ts: int) -> None:
        """The venue refused `subscribe` `cid` (`why`), at `ts` (unix ms): sent again after a
        backoff (1 s doubling to 30 s, jittered, per refusal). A refused book subscription streams
        no book: every book is published untradeable and polled (SUBSCRIBE_SOURCE) until a
        `subscribed` answers (the lifecycle frames the connection still carries are no sign of
        live books)."""
        channel, refusals = self._subscribing.pop(cid)
        self.refused += 1
        log.warning("kalshi: %s subscribe refused (%s): retrying", channel, why)
        if channel == BOOKS and self.sid is None and SUBSCRIBE_SOURCE not in self._unstreamed:
            reason = f"kalshi: book subscription refused ({why})"
            for book in self.books.values():       # (one never snapshotted too: REST may have shown it)
                book.invalidate(reason)
                self._publish(book, ts)
            self._unstreamed.add(SUBSCRIBE_SOURCE)
            self.feed.stream_down(reason, source=SUBSCRIBE_SOURCE, market_ids=list(self.tickers))
        delay = Backoff(base=1.0, cap=30.0, attempt=refusals).next_delay()
        self._spawn(self._resubscribe(channel, refusals + 1, delay, self._epoch))

    async def _resubscribe(self, channel: str, refusals: int, delay: float, epoch: int) -> None:
        await asyncio.sleep(delay)
        if epoch != self._epoch:
            return                                # reconnected since: that subscribed again
        try:
            if channel == BOOKS and self.sid is None:
                await self._subscribe_books(refusals)
            elif channel == LIFECYCLE and self.lifecycle_sid is None:
                await self._send_subscribe(LIFECYCLE, {"channels": [LIFECYCLE]}, refusals)
        except ConnectionError:
            pass                                  # the reconnect subscribes again

    async def _unsubscribe(self, sid: int) -> None:
        """Drop subscription `sid`: a late `subscribed` to a `subscribe` given up on, when its
        retry's is in use already (one subscription per channel: a book's deltas counted once)."""
        try:
            await self.ws.send({"id": self.ws.next_id(), "cmd": "unsubscribe", "params": {"sids": [sid]}})
        except ConnectionError:
            pass

    def _reread_holds(self) -> None:
        """Read again the state of every streamed market (not determined / settled), replacing a
        read under way: the lifecycle frames of the time no connection was subscribed are lost."""
        if self.market_status is None:
            return
        if self._holds_task is not None:
            self._holds_task.cancel()
        self._holds_task = asyncio.get_running_loop().create_task(self._read_holds())
        self._sends.add(self._holds_task)
        self._holds_task.add_done_callback(self._sends.discard)

    async def _read_holds(self) -> None:
        """`market_status` of the streamed markets until a read is answered (failures retried after
        1 s doubling to 30 s, jittered), each market's hold then set by its status (`_hold_by_status`).
        A market a lifecycle frame spoke of during the read keeps what the frame said (it is newer)."""
        backoff = Backoff(base=1.0, cap=30.0)
        while True:
            tickers = [t for t in self.tickers if t not in self._ended]
            if not tickers:
                return
            spoken = self._status_reading = dict.fromkeys(tickers, False)
            try:
                statuses = await self.market_status(tickers)
            except asyncio.CancelledError:
                raise
            except Exception as exc:              # a venue error, a lost connection: read again later
                log.warning("kalshi: paused markets' state not read (%s: %s): retrying", type(exc).__name__, exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            finally:
                if self._status_reading is spoken:   # (a read replacing this one keeps its own)
                    self._status_reading = {}
            self.hold_rereads += 1
            changed = [t for t in tickers if not spoken[t] and self._hold_by_status(t, statuses.get(t))]
            self.republish(changed, int(time.time() * 1000))
            return

    def _hold_by_status(self, ticker: str, status: str | None) -> bool:
        """Set `ticker`'s hold by its Market.status read after a reconnect: `active` releases a hold
        (activated while no frame could say so), another status (`inactive`, `closed`, …) holds it
        (a hold already there keeps its reason), None (not returned) changes nothing. True if the
        hold changed."""
        if status == ACTIVE and ticker in self.market_holds:
            del self.market_holds[ticker]
            log.warning("kalshi %s: trades again (Market.status active after a reconnect)", ticker)
            return True
        if status not in (None, ACTIVE) and ticker not in self.market_holds:
            self.market_holds[ticker] = f"kalshi: {ticker} not trading (Market.status {status} after a reconnect)"
            log.warning("%s", self.market_holds[ticker])
            return True
        return False

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

    async def _resync(self, reason: str, tickers: list[str] | None = None) -> None:
        """Distrust `tickers`' books (None: every book) for `reason` and ask the stream for fresh
        snapshots of them (`get_snapshot`; none before the subscription names its sid: its
        snapshots are on the way)."""
        tickers = list(self.tickers if tickers is None else tickers)
        for t in tickers:
            b = self.books[t]
            if b.tradeable:
                b.invalidate(reason)
                self._publish(b, 0)
        if self.sid is not None:
            try:
                await self._update("get_snapshot", tickers)
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
        if added and self.ws.connected.is_set():
            # (before `subscribed`, e.g. while the subscribe is refused, the batches wait for its sid)
            self._batches += [added[i:i + SUBSCRIBE_BATCH] for i in range(0, len(added), SUBSCRIBE_BATCH)]
            if self.sid is not None:
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
            await self._malformed(text)
            return
        if isinstance(msg, Subscribed):
            self._subscribing.pop(msg.id, None)
            if msg.channel == BOOKS:
                if self.sid is not None and msg.sid != self.sid:
                    self._spawn(self._unsubscribe(msg.sid))
                    return
                self.sid = msg.sid
                if SUBSCRIBE_SOURCE in self._unstreamed:   # the books stream again (their snapshots follow)
                    self._unstreamed.discard(SUBSCRIBE_SOURCE)
                    self.feed.stream_up(SUBSCRIBE_SOURCE)
                await self._add_batches()
            elif msg.channel == LIFECYCLE:
                if self.lifecycle_sid is not None and msg.sid != self.lifecycle_sid:
                    self._spawn(self._unsubscribe(msg.sid))
                    return
                self.lifecycle_sid = msg.sid
                if self._lifecycle_subscribed:
                    self._reread_holds()          # what was missed while not subscribed
                self._lifecycle_subscribed = True
            return
        if isinstance(msg, PriceLevelStructureUpdate):
            if self.on_price_structure is not None:
                self.on_price_structure(msg)
            return
        if isinstance(msg, MarketTrading):
            if msg.market_ticker in self._status_reading:
                self._status_reading[msg.market_ticker] = True
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
            if msg.code != OVERFLOW and msg.id in self._subscribing:
                self._subscribe_refused(msg.id, f"error {msg.code}: {msg.msg}", recv_ts)
            elif msg.code != OVERFLOW and msg.id in self._commands:
                self._refused(msg)
            elif msg.code in TERMINAL_ERRORS:
                # a subscription ended, and the frame does not say which (no sid): the books' or the
                # lifecycle's (pauses, determinations, fee changes). Every channel anew, on a new
                # connection: subscribing again beside a live one is refused "already subscribed"
                log.warning("kalshi ws error %s (%s): a subscription ended; reconnecting", msg.code, msg.msg)
                await self._on_disconnect()       # the books down now, not once the close handshake ends
                self._spawn(self.ws.drop_connection())
            return
        if isinstance(msg, Other) and msg.type == "ok":
            sid, seq = msg.raw.get("sid"), msg.raw.get("seq")
            if type(sid) is int and type(seq) is int:
                self.seq.answered(sid, seq)     # not a lost book frame when the next one skips it
            self._accepted(msg.raw.get("id"))
            return
        if isinstance(msg, (OrderbookSnapshot, OrderbookDelta)):
            state = await self._in_sequence(msg.sid, msg.seq)
            if state is None or (state == "gap" and isinstance(msg, OrderbookDelta)):
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
                    await self._resync(book.reason, [msg.ticker])    # our copy of this market is wrong
            self._publish(book, recv_ts)

    async def _in_sequence(self, sid: int, seq: int) -> str | None:
        """Place a book frame numbered `seq` in sid `sid`'s sequence: None to drop it (a subscription
        being dropped (`_unsubscribe`), a duplicate or a late frame), "ok", or "gap" once every
        book was resynced (a frame of the sid was lost, about any of its markets: all of ours)."""
        if self.sid is not None and sid != self.sid:
            return None
        state = self.seq.check(sid, seq)
        if state == "stale":
            return None
        if state == "gap":
            self.gaps += 1
            await self._resync(f"seq gap on sid {sid}")
        return state

    async def _malformed(self, text: str) -> None:
        """A frame that does not parse. A book frame numbered next in its sid's sequence counts
        there (the next frame is no gap) and distrusts its market's book only (every book when it
        names no market streamed); one numbered below is a late duplicate, dropped. Any other frame
        (not a book frame, no sid / seq, or a number past the next: a gap, or a corrupt number that
        must not move the sequence) may have carried anything: every book."""
        origin = _book_frame_origin(text)
        if origin is not None:
            sid, seq, ticker = origin
            expected = self.seq.expected(sid)
            if (self.sid is not None and sid != self.sid) or (expected is not None and seq < expected):
                return                            # a subscription being dropped, a late duplicate
            if seq == expected:
                self.seq.check(sid, seq)
                await self._resync("malformed frame", [ticker] if ticker in self.books else None)
                return
        await self._resync("malformed frame")


def _book_frame_origin(text: str) -> tuple[int, int, str] | None:
    """(sid, seq, market ticker or "") of a book frame (`orderbook_snapshot` / `orderbook_delta`)
    that names its sid and seq as integers; None for any other frame, or one that is not JSON."""
    try:
        d = wire_json.decode(text)
    except ValueError:
        return None
    if not isinstance(d, dict) or d.get("type") not in (SNAPSHOT, DELTA):
        return None
    sid, seq, msg = d.get("sid"), d.get("seq"), d.get("msg")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (sid, seq)):
        return None
    ticker = msg.get("market_ticker") if isinstance(msg, dict) else None
    return sid, seq, ticker if isinstance(ticker, str) else ""


def _batch_source(tickers: list[str]) -> str:
    """The feed source polling a refused `add_markets` batch (the same over its retries)."""
    return f"add_markets {tickers[0]}"
