"""A live detection session: venues → quality gate → engine (incremental) → deduped opportunities.

Against the embedded simulator by default (`LiveSession.start_simulated`): the simulator runs in
a background thread on loopback and the real adapters connect to it over HTTP and WebSocket, so
this is the same code path as live trading. Units as everywhere: ticks, lots, µ$.
"""
from __future__ import annotations

import asyncio
import gc
import time
from array import array
from collections import Counter, deque
from dataclasses import dataclass, field

from arbbot import logs
from arbbot.engine import Book, Engine, Market, Opportunity, Universe, unpack_book
from arbbot.engine.select import implementation
from arbbot.venues.common.priority import yield_to_orders
from arbbot.mapping.generate import generated_mappings, listings_digest, merge_mappings, session_listings
from arbbot.mapping.rules import derive_relations
from arbbot.mapping.rules_file import merge_rules, relation_key, relation_names
from arbbot.mapping.table import DEFAULT_AUTO_APPROVE, MappingRow, relations_for, trade_selection
from arbbot.model import MarketId, MarketInfo
from arbbot.ops.stats import quantile
from arbbot.quality.gate import BookGate
from arbbot.snapshot import parse_relations
from arbbot.units import MICROS_PER_DOLLAR
from arbbot.venues.common.interface import VenueClient
from arbbot.venues.common.model import BookUpdate

_EMPTY = Book()
log = logs.get("session")


def pack(book: Book) -> array:
    """A venue book as one int64 array: the four side counts (yes_bids, yes_asks, no_bids,
    no_asks), then (price ticks, qty lots) pairs in that side order. Arrays are not tracked by
    the cyclic GC, so holding every market's latest book this way costs no collection time
    (tuples did: ~60k of them at U20k, walked on each young-generation pass)."""
    sides = (book.yes_bids, book.yes_asks, book.no_bids, book.no_asks)
    out = array("q", [len(side) for side in sides])
    for side in sides:
        for price, qty in side:
            out.append(price)
            out.append(qty)
    return out


_EMPTY_PACKED = array("q", [0, 0, 0, 0])


def packed_update(engine: Engine, market: int, packed: array):
    return engine.update_packed(market, memoryview(packed)[4:], tuple(packed[:4]))


def engine_market(info: MarketInfo, book: Book | None) -> Market:
    """The engine's market for a discovered one: its book only while the adapter trusts it."""
    return Market(info.venue, info.market_id, info.fees, info.lot_lots,
                  book if book is not None and book.tradeable else _EMPTY, info.title)


def tune_gc() -> None:
    """Keep the cyclic GC off the hot path: freeze what exists now (the universe, books,
    adapters: long-lived), and make full collections rare. Young-generation collections stay
    automatic (cheap; they also untrack the int tuples of book levels). Measured at U20k with
    5,000 frames/s (benchmarks/RESULTS.md): default settings pause the loop 15–60 ms on full
    collections; this keeps the p99 in the tens of µs."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 1_000)


@dataclass
class SessionStats:
    """What the live view shows; counters only grow."""
    book_updates: int = 0
    held_out: Counter = field(default_factory=Counter)        # reason → updates kept out of detection
    found: Counter = field(default_factory=Counter)           # lane → opportunities reported (after dedupe)
    detections: int = 0                                       # engine results before dedupe
    latencies_ns: deque = field(default_factory=lambda: deque(maxlen=20_000))   # book received → decision
    recent: deque = field(default_factory=lambda: deque(maxlen=12))             # (time, Opportunity)

    def latency_percentiles_us(self) -> tuple[float, float]:
        if not self.latencies_ns:
            return (0.0, 0.0)
        return quantile(self.latencies_ns, 0.50) / 1_000, quantile(self.latencies_ns, 0.99) / 1_000


class LiveSession:
    """Holds the venues, the engine and the books' health.

    Quality gate: a book the adapter distrusts (sequence gap, hash mismatch, disconnect) or one
    not updated for `stale_after_s` is replaced by an empty book in the engine, so it takes part
    in no lane until a healthy book arrives. Dedupe: an opportunity id is reported again only
    after `cooldown_s`.
    """

    def __init__(self, venues: dict[str, VenueClient], mappings: list[MappingRow], *, stale_after_s: float = 30.0,
                 cooldown_s: float = 5.0, engine: str | None = None, max_qty: int | None = None,
                 min_profit: int = MICROS_PER_DOLLAR // 100, clock=time.monotonic,
                 rules: list[dict] | None = None, auto_approve: int = DEFAULT_AUTO_APPROVE,
                 approved_only: bool = False, generate: bool = False, cache_dir=None,
                 refresh_s: float = 0.0) -> None:
        """`max_qty`: the per-trade cap in lots (every opportunity is sized within it);
        `min_profit`: µ$ an opportunity must make after fees (default $0.01); `rules`: relations
        of an arbbot.relations/1 file (`arbbot.mapping.rules_file.load_rules`), merged at
        `discover` (those naming undiscovered markets dropped and counted in `rules_dropped`).
        `mappings` are filtered here, the one place they become the session's relations
        (`arbbot.mapping.table.trade_selection`): approved rows, unreviewed rows at confidence ≥
        `auto_approve` (millionths; config `auto_approve_confidence`) unless `approved_only`
        (`--live`), never rejected rows; `mappings_left_out` counts the others by reason.

        Structural rules are derived from the venues' listings at `discover` (`structural`
        counts them); with `generate`, cross-venue twins are generated from the listings in the
        background once the streams start (`arbbot.mapping.generate`, cached in `cache_dir`),
        merged under the user's `mappings` (theirs win) and added to the running engine. Every
        `refresh_s` (0: never) the listings are read again, and rules and twins follow a change."""
        self.venues = venues
        self.user_mappings = mappings
        self.auto_approve, self.approved_only = auto_approve, approved_only
        self._select(mappings)
        self.generate, self.cache_dir = generate, cache_dir
        self.refresh_s = refresh_s              # seconds between re-reads of the listings (0: never)
        self.refreshes = 0                      # re-reads that found changed listings
        self.listings_digest: str | None = None # arbbot.mapping.generate.listings_digest of `listings`
        self._stated: list[dict] = []           # the adapters' own exclusive groups (bucket relations)
        self.generation: dict | None = None     # what the background generation did (None: not run yet)
        self.listings: dict = {}                # venue → arbbot.mapping.listings.Listing list, from discovery
        self.structural = 0                     # relations derived from the listings by rule
        self._relations: list[dict] = []        # what the universe was built from (relation objects)
        self.rules = rules or []
        self.rules_added = 0
        self.rules_dropped = 0
        self.stale_after_s = stale_after_s
        self.cooldown_s = cooldown_s
        self.engine_choice = implementation("lanes", engine)
        self.clock = clock
        self.markets: list[MarketInfo] = []
        self.index: dict[str, int] = {}
        self.books: dict[str, array] = {}             # market name → latest book, packed (see `pack`)
        self.gate = BookGate(stale_after_s, clock)
        self.stats = SessionStats(held_out=self.gate.held_out)
        self.held = self.gate.held                     # market name → why it is out of detection
        self.last_reported: dict[str, float] = {}
        self.engine: Engine | None = None
        self.universe = None
        self.on_opportunity = None          # callable(Opportunity) for each newly reported one
        self.trader = None                  # the PaperTrader when trading (`trade_with`)
        self.book_sampler = None            # (name, packed book) → None: the sizer's stream samples
        self.max_qty = max_qty
        self.min_profit = min_profit
        self._tasks: list[asyncio.Task] = []
        self.errors: list[str] = []

    # ---- setup ---------------------------------------------------------------------------

    def _select(self, rows: list[MappingRow]) -> None:
        """The mapping rows traded (`mappings`) and those left out, by reason."""
        selection = trade_selection(rows, auto_approve=self.auto_approve, approved_only=self.approved_only)
        self.mappings = selection.rows
        self.mappings_left_out = selection.left_out
        self.mappings_left_out_text = selection.describe(self.auto_approve)
        if selection.left_out:
            log.info("mappings.left_out", kept=len(selection.rows), **dict(selection.left_out))

    async def discover(self) -> None:
        """Discover markets and events on every venue, derive the structural rules from their
        listings, fetch books, build the engine."""
        stated: list[dict] = []
        for name, venue in self.venues.items():
            found = [m for m in await venue.discover_markets() if m.active]
            log.info("venue.discovered", venue=name, markets=len(found))
            self.markets += found
            for event in await venue.discover_events():
                members = [f"{name}:{mid}" for mid in event.market_ids]
                if event.mutually_exclusive and len(members) >= 2:
                    stated.append({"kind": "bucket", "members": members, "exhaustive": bool(event.exhaustive)})
        names = [str(m.id) for m in self.markets]
        self.index = {n: i for i, n in enumerate(names)}
        self.listings = session_listings(self.venues)
        self._stated = stated
        relations = self._relations = self._assemble()
        log.info("relations.derived", structural=self.structural, total=len(relations))
        initial: dict[str, Book] = {}
        for market in self.markets:
            name = str(market.id)
            book = await self.venues[market.venue.label].fetch_book(market.market_id)
            initial[name] = book
            self.books[name] = pack(book)
            self.gate.admit(name, book)
        markets = tuple(engine_market(m, initial.get(str(m.id))) for m in self.markets)
        # the relations are checked as a snapshot's would be (unknown market, duplicate member, …)
        self.universe = Universe(markets, parse_relations(relations, markets), self.max_qty, self.min_profit)
        self.engine = Engine(self.universe, engine=self.engine_choice)
        self._report(self.engine.scan().opportunities, time.perf_counter_ns(), count_latency=False)
        # The universe, books and adapters are long-lived: move them out of the cyclic GC's full
        # collections, whose pauses (tens of ms at U20k) would otherwise land on the hot path.
        tune_gc()

    def _assemble(self) -> list[dict]:
        """The session's relations from what it knows now, in this order: the rules over each
        venue's listings (a complete two-outcome group is a complement there: parity lane; an
        augmented group's "Other" and placeholders left out); the adapters' stated groups, only
        for a venue whose listing bodies could not be read; the traded mapping rows; the
        `--rules` file. Relations naming markets not discovered at the start are left out."""
        known = set(self.index)
        relations, _ = merge_rules(derive_relations([x for xs in self.listings.values() for x in xs]), known, ())
        self.structural = len(relations)
        stated = [r for r in self._stated
                  if all(m in known and m.split(":", 1)[0] not in self.listings for m in r["members"])]
        relations += self._new(relations, stated)
        relations += self._new(relations, relations_for(self.mappings, known))
        if self.rules:
            added, self.rules_dropped = merge_rules(self.rules, known, self._keys(relations))
            self.rules_added = len(added)
            relations += added
            log.info("rules.merged", added=self.rules_added, dropped=self.rules_dropped)
        return relations

    async def refresh_listings(self) -> bool:
        """Read the venues' listings again; when they changed (their digest), derive the rules
        and match the twins again and rebuild the engine with the result (a twin whose listing
        no longer settles like its partner is dropped, a new one added). Markets listed since
        the start are not streamed and take part in nothing. Returns whether anything changed."""
        if self.listings_digest is None:          # no generation ran: what discovery read
            self.listings_digest = await asyncio.to_thread(listings_digest, self.listings)
        for venue in self.venues.values():
            await venue.discover_markets()
        listings = await asyncio.to_thread(session_listings, self.venues)
        digest = await asyncio.to_thread(listings_digest, listings)
        if digest == self.listings_digest:
            return False
        generated = await asyncio.to_thread(generated_mappings, listings, self.cache_dir) if self.generate else None
        self.listings, self.listings_digest = listings, digest
        self._select(merge_mappings(self.user_mappings, generated.rows if generated else []))
        self._relations = self._assemble()
        self._rebuild_engine()
        self.refreshes += 1
        log.info("listings.refreshed", digest=digest[:16], relations=len(self._relations),
                 twins=len(generated.rows) if generated else None)
        return True

    async def _refresh_listings_every(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.refresh_listings()
            except Exception as exc:       # a venue that cannot be read now: keep what we have
                log.warning("listings.refresh_failed", error=f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _keys(relations: list[dict]) -> list[tuple]:
        return [relation_key(r["kind"], relation_names(r), bool(r.get("exhaustive"))) for r in relations]

    def _new(self, present: list[dict], candidates: list[dict]) -> list[dict]:
        """`candidates` not already among `present` (same kind and markets)."""
        seen = set(self._keys(present))
        out = []
        for r in candidates:
            key = relation_key(r["kind"], relation_names(r), bool(r.get("exhaustive")))
            if key not in seen:
                seen.add(key)
                out.append(r)
        return out

    # ---- generated twins (background) -----------------------------------------------------

    async def _generate_mappings(self) -> None:
        """Match the discovered listings across venues in a worker thread, then trade the
        approved result: merged under the user's rows and added to the running engine."""
        started = time.monotonic()
        try:
            generated = await asyncio.to_thread(generated_mappings, self.listings, self.cache_dir)
        except Exception as exc:       # the session goes on with what it has
            self.errors.append(f"mapping generation: {type(exc).__name__}: {exc}")
            log.error("mappings.generation_failed", error=f"{type(exc).__name__}: {exc}")
            return
        added = self.apply_generated(generated.rows)
        self.listings_digest = self.listings_digest or generated.digest
        self.generation = {"proposed": len(generated.rows), "relations_added": added, "cached": generated.cached,
                           "seconds": round(time.monotonic() - started, 3), "digest": generated.digest[:16]}
        log.info("mappings.generated", **self.generation)

    def apply_generated(self, rows: list[MappingRow]) -> int:
        """Trade generated rows (the user's win; the approval rule applies), rebuilding the engine
        with their relations appended. Returns the number of relations added."""
        self._select(merge_mappings(self.user_mappings, rows))
        added = self._new(self._relations, relations_for(self.mappings, set(self.index)))
        if added:
            self._relations = self._relations + added
            self._rebuild_engine()
        return len(added)

    def retune(self) -> None:
        """A new engine for a changed `max_qty` (lots) / `min_profit` (µ$), an operator's live
        change (the engine takes both at construction), over the current (gated) books."""
        import dataclasses
        self._swap(dataclasses.replace(rebuilt_universe(self), max_qty=self.max_qty, min_profit=self.min_profit))

    def _rebuild_engine(self) -> None:
        """A new engine over the same markets and current (gated) books with `_relations`; the
        trader's relation index follows. Relations are only appended, so earlier opportunities
        keep theirs."""
        import dataclasses
        current = rebuilt_universe(self)
        self._swap(dataclasses.replace(current, relations=parse_relations(self._relations, current.markets)),
                   relations_changed=True)

    def _swap(self, universe: Universe, relations_changed: bool = False) -> None:
        """Detect on `universe` from now on. Runs on the event loop between frames, so no book
        update is lost; what the new engine finds is reported (and offered) at once, after the
        trader's relation index learnt the new relations."""
        self.universe = universe
        self.engine = Engine(universe, engine=self.engine_choice)
        if relations_changed and self.trader is not None and self.trader.sizer is not None:
            self.trader.sizer.relations_changed(universe)
        self._report(self.engine.scan().opportunities, time.perf_counter_ns(), count_latency=False)

    def trade_with(self, trader) -> None:
        """Offer every newly reported opportunity to `trader` (a PaperTrader)."""
        self.trader = trader
        self.on_opportunity = trader.offer
        if trader.sizer is not None:
            self.book_sampler = trader.sizer.on_book

    def spawn(self, coro, name: str) -> None:
        """Run `coro` as one of the session's tasks (stopped by `stop_tasks` / `close`)."""
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def stop_tasks(self) -> None:
        """Stop the streams and every spawned task (the books freeze where they are)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def start_streams(self) -> None:
        if self.generate:
            self._tasks.append(asyncio.create_task(self._generate_mappings(), name="generate-mappings"))
        if self.refresh_s > 0:
            self._tasks.append(asyncio.create_task(self._refresh_listings_every(self.refresh_s), name="listings"))
        for name, venue in self.venues.items():
            ids = [m.market_id for m in self.markets if m.venue.label == name]
            self._tasks.append(asyncio.create_task(self._pump(venue, ids), name=f"books-{name}"))
        self._tasks.append(asyncio.create_task(self._watch_staleness(), name="staleness"))

    # ---- the hot loop --------------------------------------------------------------------

    async def _pump(self, venue, ids: list[str]) -> None:
        try:
            async for update in venue.stream_books(ids):
                await yield_to_orders()              # a decided execution reaches its first order first
                if self.on_book(update) and self.trader is not None and self.trader.busy:
                    # an execution was just started: let it run to its first order now instead of
                    # after the rest of a burst of buffered frames (which never yields by itself)
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:        # the adapter reconnects internally; record what escapes
            self.errors.append(f"{venue.venue}: {type(exc).__name__}: {exc}")
            log.error("venue.stream_failed", venue=venue.venue, error=f"{type(exc).__name__}: {exc}")

    def on_book(self, update: BookUpdate) -> bool:
        """Apply one book update (quality gate, engine, dedupe); True if it reported an
        opportunity (offered to the trader)."""
        received = time.perf_counter_ns()
        book = update.book
        name = str(book.market)
        m = self.index.get(name)
        if m is None:
            return False
        self.stats.book_updates += 1
        packed = pack(book)
        self.books[name] = packed
        if self.book_sampler is not None:
            self.book_sampler(name, packed)
        result = packed_update(self.engine, m, packed if self.gate.admit(name, book) else _EMPTY_PACKED)
        return self._report(result.opportunities, received)

    def _report(self, opportunities, received_ns: int, count_latency: bool = True) -> bool:
        """Log and offer the opportunities not reported within the cooldown; True if any was."""
        now = self.clock()
        reported = False
        self.stats.detections += len(opportunities)
        for opp in opportunities:
            last = self.last_reported.get(opp.id)
            if last is None or now - last >= self.cooldown_s:
                self.last_reported[opp.id] = now
                self.stats.found[opp.lane.label] += 1
                self.stats.recent.appendleft((now, opp))
                log.info("opportunity", id=opp.id, lane=opp.lane.label, kind=opp.kind.label, qty=opp.qty,
                         profit=opp.profit, legs=[[leg.market, leg.side.label, leg.worst_price] for leg in opp.legs])
                reported = True
                if self.on_opportunity is not None:
                    self.on_opportunity(opp)
        if count_latency:
            self.stats.latencies_ns.append(time.perf_counter_ns() - received_ns)
        return reported

    async def _watch_staleness(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.stale_after_s / 4))
            self.check_staleness()

    def check_staleness(self) -> list[str]:
        """Hold out every book not updated for `stale_after_s` (the engine sees it empty);
        returns the names newly held."""
        newly = self.gate.stale()
        for name in newly:
            self._report(packed_update(self.engine, self.index[name], _EMPTY_PACKED).opportunities,
                         time.perf_counter_ns())
        return newly

    # ---- views and shutdown --------------------------------------------------------------

    def current_opportunities(self) -> tuple[Opportunity, ...]:
        return self.engine.scan().opportunities

    def healthy(self) -> int:
        return len(self.markets) - len(self.held)

    def healthy_book(self, name: str) -> tuple[int, Book] | None:
        """(engine venue, engine book) of market `name` as streamed, or None if it is held out
        (distrusted, stale) or unknown: what the executor re-quotes a leg from."""
        packed = self.books.get(name)
        if packed is None or name in self.held:
            return None
        return int(MarketId.parse(name).venue), unpack_book(packed[4:], tuple(packed[:4]))

    async def close(self) -> None:
        await self.stop_tasks()
        for venue in self.venues.values():
            try:
                await venue.close()
            except Exception as exc:   # closing must not hide the session's result
                self.errors.append(f"close {venue.venue}: {exc}")


def simulated_venues(handle) -> dict[str, VenueClient]:
    """Kalshi and Polymarket, built by their factories for a running simulator (arbbot.sim)."""
    from arbbot.venues.kalshi import factories as kalshi
    from arbbot.venues.polymarket import factories as polymarket
    return {"kalshi": kalshi.kalshi_venue(kalshi.simulated_config(handle)),
            "polymarket": polymarket.polymarket_venue(polymarket.simulated_config(handle))}


FORECASTEX_CLIENT_ID = 11      # reuse after a restart: IB reports a client's own open orders on connect


async def connect_simulated_venues(handle, *, forecastex_client_id: int = FORECASTEX_CLIENT_ID
                                   ) -> dict[str, VenueClient]:
    """`simulated_venues` plus ForecastEx over the simulator's TWS port (ib-async), when served."""
    from arbbot.venues.forecastex.factories import simulated_forecastex_venue
    venues = simulated_venues(handle)
    forecastex = await simulated_forecastex_venue(handle, forecastex_client_id)
    if forecastex is not None:
        venues["forecastex"] = forecastex
    return venues


def default_session_mappings() -> list[MappingRow]:
    """No hand-written mapping: a session generates its twins from the listings (`generate`)."""
    return []


def rebuilt_universe(session: LiveSession) -> Universe:
    """The session's universe with every market's current (gated) book: what a fresh engine
    would scan. Used to check that incremental detection agrees with a full rebuild."""
    import dataclasses
    markets = []
    for market, info in zip(session.universe.markets, session.markets):
        name = str(info.id)
        packed = session.books.get(name)
        gated = _EMPTY if name in session.held or packed is None else unpack_book(packed[4:], tuple(packed[:4]))
        markets.append(dataclasses.replace(market, book=gated))
    return dataclasses.replace(session.universe, markets=tuple(markets))
