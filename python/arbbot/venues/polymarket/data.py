"""Polymarket market data client: the market channel maintained as full shadow books per token.

Rules (VENUES.md): `book` = full snapshot of one token; `price_change` = new absolute size per
level (0 removes; BUY = bid). There are no sequence numbers, so after every change that carries a
`hash` the token book's hash is recomputed (with the frame's timestamp) and compared: a mismatch,
a malformed frame, or a level we cannot parse flags the token (hence its market) untradeable and
re-fetches it over REST (`GET /book`); so does a change after which the book's best bid or ask
is not the `best_bid` / `best_ask` the venue states (checked even where the hash cannot be: a WS
`book` carries no metadata until a REST book supplies it). A change stamped before the whole book
applied last is already in it and is not applied again. A disconnect flags its connection's books until the
resubscription's snapshots arrive, and the feed polls them over REST meanwhile. Nothing is ever
guessed: a distrusted book is published as untradeable.

While the matching engine restarts (the venue's `set_paused`: its order endpoints answer HTTP 425,
then post-only mode) every book is published held: levels kept, untradeable with that reason.
A market the stream says was resolved (`market_resolved`, sent because the subscription enables
custom features) is held for good, and its books are not read over REST again (the CLOB has no
book for its tokens any more: 404): before, its last book stayed tradeable until the listings
were read again, re-snapshots failing meanwhile.

Every book update goes to `feed` (`arbbot.venues.common.feed.BookFeed`): sampled (`on_update`),
then coalesced per market in `updates` (the feed's queue) for the consumer. The feed's polls and
re-snapshots are `refresh_book` (both token books over REST, into the shadow books); every REST
read draws on the feed's read budget. A REST book enters a shadow book only if it is not older
than what the stream delivered for that token (`TokenBook.is_current`: no stream message arrived
during the read, or its venue timestamp is not before theirs); else the stream's book stays.
"""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from typing import Awaitable, Callable

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import NotFound, ProtocolError, VenueError
from arbbot.venues.common.feed import BOOK_READ_SHARE, BookFeed
from arbbot.venues.common.model import BookUpdate, MarketInfo, Book, held
from arbbot.units import UnitError, price_ticks
from arbbot.venues.polymarket.book import TokenBook, native_book
from arbbot.venues.polymarket.schemas.ws import (
    BookMsg, LastTradeMsg, PriceChangeMsg, ResolvedMsg, TickSizeMsg, parse_book, parse_frame,
)
from arbbot.venues.polymarket.websocket.client import PolymarketWebSocket

log = logging.getLogger("arbbot.venues.polymarket.data")

BOOKS_PER_S = 50.0             # the CLOB's POST /books limit: 500 per 10 s (venues factsheet §2.10)
ASSETS_PER_CONNECTION = 500    # the market channel serves up to 500 assets a connection (factsheet §2.7)


async def rest_books(http, m: MarketInfo) -> list[BookMsg]:
    """Both token books of market `m` in one CLOB `POST /books`, parsed (not yet hash-checked)."""
    body = await http.clob_post("/books", [{"token_id": m.yes_token}, {"token_id": m.no_token}])
    if not isinstance(body, list):
        raise ProtocolError("polymarket /books: expected a list", venue="polymarket")
    return [parse_book(raw, "rest book") for raw in body]


class PolymarketDataClient:
    def __init__(self, ws_url: str, markets: list[MarketInfo], http=None, *,
                 recorder: Callable[[dict], Awaitable[None] | None] | None = None, backoff: Backoff | None = None,
                 ping_interval_s: float = 10.0, resnapshot_interval_s: float | None = None,
                 on_update: Callable[[BookUpdate], None] | None = None,
                 on_tick_change: Callable[[str, int], None] | None = None) -> None:
        self.markets = {m.market_id: m for m in markets}
        # called with (market id, new tick in ticks) on `tick_size_change`: orders use the new grid
        self.on_tick_change = on_tick_change
        self.token_market: dict[str, str] = {}
        self.books: dict[str, TokenBook] = {}
        # tokens whose `book` their connection delivered since it (re)subscribed, and the
        # connections (groups) that delivered one: a token of a delivering connection without its
        # own book is not streamed (`_unstreamed`), whatever REST says of it
        self.streamed: set[str] = set()
        self.delivering: set[int] = set()
        for m in markets:
            for tok in (m.yes_token, m.no_token):
                self.token_market[tok] = m.market_id
                self.books[tok] = TokenBook(tok, m.market_id)
        self.http = http
        self.recorder = recorder
        self.resnapshot_interval_s = resnapshot_interval_s
        self.feed = BookFeed("polymarket", list(self.markets), self.refresh_book if http is not None else None,
                             BOOKS_PER_S * BOOK_READ_SHARE, on_update=on_update)
        self.updates = self.feed.queue            # one BookUpdate per market at most (coalesced)
        self.paused = ""               # why the venue takes no orders now ("" = it does): every book held
        # markets the stream said were resolved (`market_resolved`) → why: held for good, never read
        # again over REST (their books are gone: the CLOB answers 404)
        self.resolved: dict[str, str] = {}
        self.hash_mismatches = 0
        self.malformed = 0
        self.resnapshots = 0
        self.unverified_changes = 0    # price changes applied without a hash to check (no metadata yet)
        self.best_mismatches = 0       # price changes after which the venue's best bid/ask were not the book's
        self.predating_changes = 0     # price changes older than the whole book applied last: not applied
        self.stale_rest = 0            # REST books not applied: older than the stream's for their token
        self.misdirected = 0           # REST `/book` answers naming another asset than asked for (not applied)
        self._pending: dict[str, asyncio.Task] = {}
        self._periodic: asyncio.Task | None = None
        # the markets spread over connections of at most ASSETS_PER_CONNECTION assets (two a market),
        # each subscribing, failing (its markets polled) and coming back on its own
        per = max(1, ASSETS_PER_CONNECTION // 2)
        ids = list(self.markets)
        self.groups: list[list[str]] = [ids[i:i + per] for i in range(0, len(ids), per)] or [[]]
        self.group_of: dict[str, int] = {tok: g for g, mids in enumerate(self.groups) for mid in mids
                                         for tok in (self.markets[mid].yes_token, self.markets[mid].no_token)}
        self._ws_url, self._backoff, self._ping_interval_s = ws_url, backoff, ping_interval_s
        self._sends: set[asyncio.Task] = set()
        self._started = False
        self.sockets = [self._socket(g) for g in range(len(self.groups))]
        self.ws = self.sockets[0]                 # the first connection (the only one up to 250 markets)

    def _socket(self, group: int) -> PolymarketWebSocket:
        return PolymarketWebSocket(self._ws_url, on_frame=functools.partial(self.on_frame, group=group),
                                   on_connect=functools.partial(self._subscribe, group),
                                   on_disconnect=functools.partial(self._on_disconnect, group),
                                   backoff=dataclasses.replace(self._backoff) if self._backoff else None,
                                   ping_interval_s=self._ping_interval_s)

    def add_markets(self, markets: list[MarketInfo]) -> list[str]:
        """Stream `markets` too (listed or promoted mid-session): they fill the last connection up
        to ASSETS_PER_CONNECTION assets (a `subscribe` operation on it, answered by their books),
        then new connections. Returns the market ids that were new."""
        fresh = list({m.market_id: m for m in markets if m.market_id not in self.markets}.values())
        self.feed.add_markets([m.market_id for m in fresh])   # (a polled market is known to the feed already)
        per = max(1, ASSETS_PER_CONNECTION // 2)
        for m in fresh:
            self.markets[m.market_id] = m
            for tok in (m.yes_token, m.no_token):
                self.token_market[tok] = m.market_id
                self.books[tok] = TokenBook(tok, m.market_id)
        grown: dict[int, list[str]] = {}
        for m in fresh:
            g = len(self.groups) - 1
            if len(self.groups[g]) >= per:
                self.groups.append([])
                g += 1
            self.groups[g].append(m.market_id)
            grown.setdefault(g, []).append(m.market_id)
            for tok in (m.yes_token, m.no_token):
                self.group_of[tok] = g
        for g, mids in grown.items():
            if g >= len(self.sockets):             # a new connection subscribes its group on connect
                self.sockets.append(self._socket(g))
                if self._started:
                    self.sockets[g].start()
            elif self.sockets[g].connected.is_set():
                tokens = [tok for mid in mids for tok in (self.markets[mid].yes_token, self.markets[mid].no_token)]
                task = asyncio.get_running_loop().create_task(self._send_subscribe(g, tokens))
                self._sends.add(task)
                task.add_done_callback(self._sends.discard)
        return [m.market_id for m in fresh]

    async def _send_subscribe(self, group: int, tokens: list[str]) -> None:
        try:
            await self.sockets[group].send({"assets_ids": tokens, "operation": "subscribe"})
        except Exception as exc:        # the connection went away: its resubscription covers them
            log.info("polymarket: subscribe not sent: %s", type(exc).__name__)

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._started = True
        for ws in self.sockets:
            ws.start()
        self.feed.start()
        if self.resnapshot_interval_s:
            self._periodic = asyncio.create_task(self._periodic_loop())

    async def close(self) -> None:
        if self._periodic:
            self._periodic.cancel()
        for t in list(self._pending.values()):
            t.cancel()
        await self.feed.close()
        # every connection at once: each closing handshake waits for the venue's close frame
        await asyncio.gather(*(ws.close() for ws in self.sockets))

    def _tick_changed(self, market_id: str, tick_size: str) -> None:
        """A token's new tick (`tick_size_change`, e.g. "0.001"): to `on_tick_change` in ticks."""
        try:
            tick = price_ticks(tick_size)
        except UnitError:
            self.malformed += 1
            log.warning("polymarket: bad tick_size_change %r on market %s", tick_size, market_id)
            return
        if tick > 0 and self.on_tick_change is not None and market_id in self.markets:
            self.on_tick_change(market_id, tick)

    def native(self, market_id: str) -> Book:
        m = self.markets[market_id]
        book = native_book(market_id, self.books[m.yes_token], self.books[m.no_token])
        missing = self._unstreamed(m)
        if missing and book.tradeable:
            return dataclasses.replace(book, tradeable=False,
                                       reason=f"{missing} token: its connection has not sent its book")
        reason = self.resolved.get(market_id) or self.paused
        return held(book, reason) if reason else book

    def set_paused(self, reason: str, ts: int) -> None:
        """The venue takes no orders (`reason`: its matching engine restarting) or takes them again
        (""): every book published again at `ts` (unix ms), held while paused (its levels kept)."""
        if reason != self.paused:
            self.paused = reason
            for mid in self.markets:
                self._publish(mid, ts)

    def _unstreamed(self, m: MarketInfo) -> str:
        """The side ("yes" / "no") of a token of `m` whose connection, delivering books, has not
        sent its `book` since it subscribed ("" if none). A REST book fills it in, but every update of
        the other token would then keep the market looking fresh while this half stays frozen
        (a phantom YES + NO under $1): the market is held until the stream sends it."""
        for name, tok in (("yes", m.yes_token), ("no", m.no_token)):
            if tok not in self.streamed and self.group_of.get(tok) in self.delivering:
                return name
        return ""

    def _publish(self, market_id: str, ts: int = 0, *, fetched: bool = False) -> None:
        self.feed.publish(BookUpdate(self.native(market_id), ts), fetched=fetched)

    async def _subscribe(self, group: int) -> None:
        self._restart_group(group)
        markets = [self.markets[mid] for mid in self.groups[group]]
        tokens = [tok for m in markets for tok in (m.yes_token, m.no_token)]
        await self.sockets[group].send({"assets_ids": tokens, "type": "market", "custom_feature_enabled": True})

    def _restart_group(self, group: int) -> None:
        """Group `group`'s connection (re)subscribes or dropped: none of its tokens streamed yet."""
        self.delivering.discard(group)
        self.streamed -= {tok for tok, g in self.group_of.items() if g == group}

    async def _on_disconnect(self, group: int) -> None:
        self._restart_group(group)
        for mid in self.groups[group]:
            was = self.native(mid).tradeable
            for tok in (self.markets[mid].yes_token, self.markets[mid].no_token):
                self.books[tok].invalidate("disconnected")
            if was:
                self._publish(mid)
        self.feed.stream_down("polymarket ws disconnected", source=f"ws{group}", market_ids=self.groups[group])

    async def _periodic_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resnapshot_interval_s)
            for tok in list(self.books):
                self._resnapshot(tok, "periodic refresh", invalidate=False)

    # ---- resnapshot ---------------------------------------------------------------------
    async def refresh_book(self, market_id: str) -> Book:
        """Both token books of `market_id` in one `POST /books`, each checked against its own hash
        and applied to its shadow book unless the stream's is newer (`_apply_rest`): the market's
        book now (the feed publishes it). An answer without a token's book (the CLOB leaves out a
        token it serves no book for: a market closed, delisted) raises NotFound: the feed counts
        the venue's word against the market (`BookFeed.failing`) instead of publishing the
        stream's last book as if the venue had confirmed it."""
        m = self.markets[market_id]
        if market_id in self.resolved:
            return self.native(market_id)      # no book to read any more: held as it was
        began = {tok: self.books[tok].version for tok in (m.yes_token, m.no_token)}
        answered = set()
        for msg in await rest_books(self.http, m):
            if msg.asset_id in began:          # (an answer for another token is not applied)
                self._apply_rest(msg, began[msg.asset_id])
                answered.add(msg.asset_id)
        missing = began.keys() - answered
        if missing:
            raise NotFound(f"polymarket: /books has no book for market {market_id}'s "
                           + " and ".join(label for tok, label in ((m.yes_token, "YES"), (m.no_token, "NO"))
                                          if tok in missing) + (" tokens" if len(missing) > 1 else " token"),
                           venue="polymarket")
        return self.native(market_id)

    def _apply_rest(self, msg: BookMsg, version: int) -> bool:
        """Apply REST book `msg`, whose read began when its token's book was at `version`, unless
        it is older than that book (`TokenBook.is_current`: counted in `stale_rest`, False)."""
        book = self.books[msg.asset_id]
        if not book.is_current(msg, version):
            self.stale_rest += 1
            return False
        if not book.apply_snapshot(msg):
            self.hash_mismatches += 1
            log.warning("polymarket: REST book for token …%s fails its own hash", msg.asset_id[-8:])
        book.note(msg.timestamp)
        self._tick_of(msg)
        return True

    def _tick_of(self, msg: BookMsg) -> None:
        """A whole book states its market's tick (`tick_size`): a `tick_size_change` missed while
        the stream was down (or not yet read) reaches `on_tick_change` from it (which ignores a
        tick it already has)."""
        if msg.tick_size:
            self._tick_changed(self.token_market[msg.asset_id], msg.tick_size)

    def _resnapshot(self, token: str, reason: str, *, invalidate: bool = True) -> None:
        book = self.books[token]
        mid = self.token_market[token]
        if invalidate and book.tradeable:
            book.invalidate(reason)
            self._publish(mid)
        if token in self._pending or self.http is None or mid in self.resolved:
            return
        self._pending[token] = asyncio.create_task(self._fetch(token))

    async def _fetch(self, token: str) -> None:
        """`GET /book` of `token` into its shadow book, then its market published; a failed read,
        an answer for another asset or one older than the stream's book is asked again after a
        backoff, 5 reads at most (a book still distrusted then is re-fetched by the session's
        re-snapshots)."""
        backoff = Backoff(base=0.1, cap=5.0)
        try:
            for _ in range(5):
                try:
                    await self.feed.limiter.acquire(1.0)
                    began = self.books[token].version
                    body = await self.http.clob_get("/book", {"token_id": token})
                    msg = parse_book(body, "rest book")
                    if msg.asset_id != token:
                        self.misdirected += 1
                        raise ProtocolError(f"polymarket /book for token …{token[-8:]} answered for asset "
                                            f"…{msg.asset_id[-8:]}", venue="polymarket")
                    if self._apply_rest(msg, began):
                        self.resnapshots += 1
                        self._publish(self.token_market[token], fetched=True)
                        return
                    log.info("polymarket: REST book for token …%s older than the stream's: asked again", token[-8:])
                except (VenueError, UnitError) as exc:
                    log.warning("polymarket: resnapshot of token …%s failed: %s", token[-8:], exc)
                await asyncio.sleep(backoff.next_delay())
        finally:
            self._pending.pop(token, None)

    # ---- frames -------------------------------------------------------------------------
    async def on_frame(self, text: str, recv_ts: int, group: int | None = None) -> None:
        """Handle one raw frame (also the replay entry point); `group`: the connection it came on
        (None: unknown, a replay's)."""
        self.feed.heard()
        if self.recorder is not None:
            r = self.recorder({"kind": "ws", "venue": "polymarket", "frame": text})
            if asyncio.iscoroutine(r):
                await r
        try:
            msgs = parse_frame(text)
        except ProtocolError as exc:
            self.malformed += 1
            log.warning("%s", exc)
            # we cannot know which of its connection's books that frame touched (a connection
            # carries only its own markets' books: the others' are not in doubt)
            tokens = list(self.books) if group is None else \
                [tok for tok, g in self.group_of.items() if g == group and tok in self.books]
            for tok in tokens:
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
                book.note(msg.timestamp)
                self._tick_of(msg)
                self.streamed.add(msg.asset_id)
                self.delivering.add(self.group_of[msg.asset_id])
                if not self.feed.streaming:     # its connection delivers again: its snapshots supersede polls
                    self.feed.stream_up(f"ws{self.group_of[msg.asset_id]}")
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
                    if book.predates_snapshot(msg.timestamp):
                        # in flight when a REST book stamped later was read: that book has it (applied
                        # again, it would undo a later change of the level; checked, its hash is of
                        # the book before the snapshot's: a false mismatch)
                        self.predating_changes += 1
                        continue
                    touched.add(self.token_market[ch.asset_id])
                    book.note(msg.timestamp)
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
                            continue
                    else:
                        self.unverified_changes += 1
                    # the best bid and ask the venue states after the change: checked whether or not
                    # the hash could be (a book whose metadata never arrived is checked by them alone)
                    try:
                        differs = book.best_differs(ch.best_bid, ch.best_ask)
                    except UnitError:
                        differs = False               # not a price: nothing stated to compare
                    if differs:
                        self.best_mismatches += 1
                        log.warning("polymarket: best bid/ask of token …%s differ from the venue's: resnapshot",
                                    ch.asset_id[-8:])
                        self._resnapshot(ch.asset_id, "best price mismatch")
            elif isinstance(msg, LastTradeMsg):
                book = self.books.get(msg.asset_id)
                if book is not None:
                    book.last_trade_price = msg.price
                    book.note(msg.timestamp)
            elif isinstance(msg, TickSizeMsg):
                book = self.books.get(msg.asset_id)
                if book is not None:
                    book.tick_size = msg.new_tick_size
                    book.note(msg.timestamp)
                    self._tick_changed(book.market or self.token_market.get(msg.asset_id, ""), msg.new_tick_size)
            elif isinstance(msg, ResolvedMsg):
                for mid in {self.token_market[a] for a in msg.asset_ids if a in self.token_market} \
                        | ({msg.market} & self.markets.keys()):
                    if mid not in self.resolved:
                        self.resolved[mid] = "market resolved"
                        log.warning("polymarket %s: resolved (market_resolved): held", mid)
                        touched.add(mid)
        for mid in touched:
            self._publish(mid, recv_ts)
