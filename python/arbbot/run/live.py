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
from arbbot.engine.types import LEVEL_QTY_MAX, EngineInputError, within_engine
from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.feed import FAILED_READS_STALE
from arbbot.venues.common.priority import ReaderTurn
from arbbot.mapping.generate import generated_mappings_in_worker, listings_digest, merge_mappings, session_listings
from arbbot.mapping.rules import derive_relations
from arbbot.mapping.rules_file import merge_rules, relation_key, relation_names
from arbbot.mapping.table import (DEFAULT_AUTO_APPROVE, MappingRow, contradicting_components, relation_parity,
                                  relations_for, trade_selection, undiscovered_rows)
from arbbot.model import MarketInfo
from arbbot.ops.stats import quantile
from arbbot.quality.gate import BookGate
from arbbot.run.tiers import SLOW_POLL_S, SessionTiers, Tiers
from arbbot.snapshot import parse_relations
from arbbot.units import MICROS_PER_DOLLAR
from arbbot.venues.common.interface import VenueClient
from arbbot.venues.common.model import BookUpdate, PackedBookUpdate

_EMPTY = Book()
log = logs.get("session")

AWAITING = "awaiting snapshot"      # why a market is held out until its first book arrives (snapshot start)
CLOSED = "closed: no longer active on the venue"          # a listing refresh reports it inactive / closed
GONE = "closed: no longer listed by the venue"            # absent from a complete listing refresh
STRUCTURAL = ("structure", "venue")  # relation sources that are the venues' own structure (rules over
                                     # their listings, the adapters' stated groups); the others:
                                     # "mapping" (the mapping CSV), "generated" (twins), "rules" (--rules)
BOOTSTRAP_WAIT_S = 5.0              # snapshot start: markets with no book by then are fetched over REST


def _pair_key(r: dict) -> tuple:
    """One key per related pair of markets for the relations fixing how their YES relate
    (`same`, `inverse`, `complement`, `equivalent`: any kind, either order); the others keep
    their own identity (`relation_key`)."""
    if relation_parity(r) is not None and r["kind"] != "bucket":
        return ("pair", frozenset((r["a"], r["b"])))
    return relation_key(r["kind"], relation_names(r), bool(r.get("exhaustive")))


def _describe(r: dict, source: str) -> str:
    """`same(kalshi:K1, polymarket:0xP1) from mapping` — a relation and where it came from."""
    return f"{r['kind']}({', '.join(map(str, relation_names(r)))}) from {source or 'unknown'}"


def _lists_completely(venue) -> bool:
    """True if `venue` (or the adapter it wraps: `inner`) states `complete_listing`: a
    `discover_markets` that returns lists every market it still trades, so a known market absent
    from it has closed. Without it only markets reported inactive count as closed (a listing may
    be partial: a product whose catalog could not be read, markets kept from earlier reads)."""
    for _ in range(4):                 # a paper or recording wrapper, then the adapter
        if venue is None:
            return False
        stated = getattr(venue, "complete_listing", None)
        if stated is not None:
            return stated is True
        venue = getattr(venue, "inner", None)
    return False


def pack(book: Book) -> array:
    """A venue book as one int64 array: the four side counts (yes_bids, yes_asks, no_bids,
    no_asks), then (price ticks, qty lots) pairs in that side order. Arrays are not tracked by
    the cyclic GC, so holding every market's latest book this way costs no collection time
    (tuples did: ~60k of them at U20k, walked on each young-generation pass)."""
    sides = (book.yes_bids, book.yes_asks, book.no_bids, book.no_asks)
    flat = [len(side) for side in sides]
    for side in sides:
        for level in side:
            flat += level                # (price, qty): one list, then one array (≈ 30 % faster)
    return array("q", flat)


def cap_packed(packed: array) -> bool:
    """Cap, in place, each level's quantity of a packed book at LEVEL_QTY_MAX lots (as
    `within_engine`: a venue may show more at one price); True if any was above. Called once the
    engine refused the book (never on the per-frame path: checking every frame cost 25–45 %)."""
    if len(packed) <= 4 or max(packed[5::2]) <= LEVEL_QTY_MAX:
        return False
    packed[5::2] = array("q", (min(q, LEVEL_QTY_MAX) for q in packed[5::2]))
    return True


_EMPTY_PACKED = array("q", [0, 0, 0, 0])


def packed_update(engine: Engine, market: int, packed: array):
    return engine.update_packed(market, packed)


def engine_market(info: MarketInfo, book: Book | None) -> Market:
    """The engine's market for a discovered one: its book only while the adapter trusts it."""
    return Market(info.venue, info.market_id, info.fees, info.lot_lots,
                  within_engine(book) if book is not None and book.tradeable else _EMPTY, info.title)


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
    in no lane until a healthy book arrives. A book quiet for `resnapshot_after_s` (default half
    of `stale_after_s`), stale or not, is fetched again through its venue's feed (rate limited)
    and restored by that fetch. Dedupe: an opportunity id is reported again only after
    `cooldown_s`.

    Feeds: each venue's books arrive through its adapter's `BookFeed` (coalesced per market; polled
    while the venue's stream is down); `feed_stats()` reports them. Sizing's samples are taken in
    the feeds' readers, from every update before coalescing (`_sample`).
    """

    def __init__(self, venues: dict[str, VenueClient], mappings: list[MappingRow], *, stale_after_s: float = 30.0,
                 cooldown_s: float = 5.0, engine: str | None = None, max_qty: int | None = None,
                 min_profit: int = MICROS_PER_DOLLAR // 100, clock=time.monotonic,
                 rules: list[dict] | None = None, auto_approve: int = DEFAULT_AUTO_APPROVE,
                 approved_only: bool = False, generate: bool = False, cache_dir=None,
                 refresh_s: float = 0.0, resnapshot_after_s: float | None = None,
                 snapshot_start: bool = False, bootstrap_wait_s: float = BOOTSTRAP_WAIT_S,
                 tiers: bool = False, slow_poll_s: float = SLOW_POLL_S,
                 stream_caps: dict[str, int] | None = None) -> None:
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
        `refresh_s` (0: never) the listings are read again, and rules and twins follow a change.

        `snapshot_start`: `discover` fetches no book; every market is held out ("awaiting
        snapshot") until its stream's subscription snapshot arrives, and the books still missing
        `bootstrap_wait_s` after the streams start are fetched through the feeds (REST, rate
        limited). Otherwise `discover` fetches every book over REST, one after another.

        Subscription tiers (`arbbot.run.tiers`): with `tiers`, only the markets that can take part
        in an opportunity are streamed, the rest read every `slow_poll_s` over REST (within the
        venue's read budget) and promoted to the stream when a relation names them; without it
        every market is streamed. `stream_caps` (venue → markets) caps a venue's stream either
        way (IB's market data lines); the overflow is polled."""
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
        self.on_generated = None                # called with the start's `Generated` before it is applied (--record)
        self.on_listed = None                   # called with the markets `add_markets` adds (--record)
        self.on_listings = None                 # called with (digest, twins) before a refresh applies them (--record)
        self.on_repriced = None                 # called with the markets `reprice_markets` re-prices (--record)
        self.listings: dict = {}                # venue → arbbot.mapping.listings.Listing list, from discovery
        self.structural = 0                     # relations derived from the listings by rule
        self._relations: list[dict] = []        # what the universe was built from (relation objects)
        self._sources: list[str] = []           # where each of `_relations` came from (see STRUCTURAL)
        # relations left out because they contradict others (a YES parity cycle that does not close):
        # (relation, source), as of the last assembly plus what generation added since
        self.contradictory: list[tuple[dict, str]] = []
        # traded rows naming markets not discovered, with those markets
        self.mappings_undiscovered: list[tuple[MappingRow, list[str]]] = []
        self.closed: dict[str, str] = {}        # market name → why it is held for good (closed on the venue)
        self.on_closed = None                   # called with {name: reason} of markets a refresh closes (--record)
        self.rules = rules or []
        self.rules_added = 0
        self.rules_dropped = 0
        self.stale_after_s = stale_after_s
        # seconds without an update after which a book is fetched again (stale ones included)
        self.resnapshot_after_s = stale_after_s / 2 if resnapshot_after_s is None else resnapshot_after_s
        self._resnapshot_asked: dict[str, float] = {}   # market name → clock of its last re-snapshot request
        self.snapshot_start, self.bootstrap_wait_s = snapshot_start, bootstrap_wait_s
        self._started: float | None = None      # clock when `discover` began
        self._healthy_at: float | None = None   # clock when every book was first healthy
        self.cooldown_s = cooldown_s
        self.engine_choice = implementation("lanes", engine)
        self.clock = clock
        self.markets: list[MarketInfo] = []
        self.index: dict[str, int] = {}
        self.books: dict[str, array] = {}             # market name → latest book, packed (see `pack`)
        self.gate = BookGate(stale_after_s, clock)
        # stream liveness, from stream frames only (a REST answer proves nothing about the stream):
        # venue → its feed's `BookFeed.frames` at the last sweep, and the clock of the sweep that saw it grow
        self._frames: dict[str, int] = {}
        self._heard: dict[str, float] = {}
        self.subscriptions = SessionTiers(self, by_interest=tiers, slow_poll_s=slow_poll_s, caps=stream_caps)
        self.stats = SessionStats(held_out=self.gate.held_out)
        self.held = self.gate.held                     # market name → why it is out of detection
        # False once `stop_tasks` stopped the streams: the books freeze, so the order path (an
        # execution still draining) re-quotes over REST instead of reading them
        self.books_live = True
        self.last_reported: dict[str, float] = {}
        self.engine: Engine | None = None
        self.universe = None
        self.on_opportunity = None          # callable(Opportunity) for each newly reported one
        self.trader = None                  # the PaperTrader when trading (`trade_with`)
        self.book_sampler = None            # (name, Book) → None: the sizer's stream samples, every update
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
        """Discover markets and events on every venue (the venues at once, each paging its own
        listing), derive the structural rules from their listings, fetch books (unless
        `snapshot_start`), build the engine."""
        self._started = self.clock()
        stated: list[dict] = []

        async def discovered(venue):
            return await venue.discover_markets(), await venue.discover_events()
        answers = await asyncio.gather(*(discovered(v) for v in self.venues.values()))
        for name, (markets, events) in zip(self.venues, answers):
            found = [m for m in markets if m.active]
            log.info("venue.discovered", venue=name, markets=len(found))
            self.markets += found
            for event in events:
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
        if self.snapshot_start:
            for market in self.markets:         # held out until the stream's snapshot (not counted: no update)
                name = str(market.id)
                self.books[name] = array("q", _EMPTY_PACKED)
                self.gate.held[name] = AWAITING
                self.gate.seen(name)
        else:
            for market in self.markets:
                name = str(market.id)
                book = await self.venues[market.venue.label].fetch_book(market.market_id)
                initial[name] = book
                self.books[name] = pack(book)
                self.gate.admit(name, book.tradeable, book.reason)
            self._note_healthy()
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
        for a venue whose listing bodies could not be read; the traded mapping rows (the user's,
        then generated twins); the `--rules` file. Relations naming markets not discovered at the
        start, or closed since (`closed`), are left out. Two markets are related one way only:
        a relation on a pair already related is not added (the earlier source wins: the venues'
        structure, then the mapping CSV, then generated twins, then `--rules`). Then the whole set
        is checked for YES parity cycles that do not close (`_consistent`). Sets `_sources`."""
        known = set(self.index)
        open_ = known - self.closed.keys()
        relations, _ = merge_rules(derive_relations([x for xs in self.listings.values() for x in xs]), open_, ())
        self.structural = len(relations)
        sources = ["structure"] * len(relations)

        def add(candidates: list[dict], source: str) -> list[dict]:
            new = self._new(relations, candidates, source, sources)
            relations.extend(new)
            sources.extend([source] * len(new))
            return new
        add([r for r in self._stated
             if all(m in open_ and m.split(":", 1)[0] not in self.listings for m in r["members"])], "venue")
        user = set(self.user_mappings)
        self.mappings_undiscovered = undiscovered_rows(self.mappings, known)
        for source, rows in (("mapping", [r for r in self.mappings if r in user]),
                             ("generated", [r for r in self.mappings if r not in user])):
            add([r for r in relations_for(rows, known) if r["a"] in open_ and r["b"] in open_], source)
        if self.rules:
            merged, self.rules_dropped = merge_rules(self.rules, open_, self._keys(relations))
            self.rules_added = len(add(merged, "rules"))
            log.info("rules.merged", added=self.rules_added, dropped=self.rules_dropped)
        self.contradictory = []
        relations, self._sources = self._consistent(relations, sources)
        return relations

    def _sources_now(self) -> list[str]:
        """`_sources`, one per relation of `_relations` ("" for any set without one)."""
        return (self._sources + [""] * len(self._relations))[:len(self._relations)]

    def _consistent(self, relations: list[dict], sources: list[str]) -> tuple[list[dict], list[str]]:
        """`relations` (with their `sources`) without the contradictory ones: over the relations
        fixing how two markets' YES relate (`arbbot.mapping.table.relation_parity`), a connected
        group with a cycle whose parities disagree (K~P same, P~F same, K~F inverse) would have
        the engine trade a naked bet as a hedge. Reject, never guess: every such relation of the
        group that is not the venues' own structure is dropped; if the venues' structure alone
        still contradicts itself there, its relations of the group are dropped too. Groups
        without a contradiction are untouched. Each group is logged (`relations.contradictory`,
        error) and the dropped relations added to `contradictory`."""
        edges, at = [], []
        for i, r in enumerate(relations):
            pair = relation_parity(r)
            if pair is not None:
                edges.append(pair)
                at.append(i)
        drop: set[int] = set()
        for group in contradicting_components(edges):
            members = [at[e] for e in group]
            structure = [i for i in members if sources[i] in STRUCTURAL]
            dropped = [i for i in members if sources[i] not in STRUCTURAL]
            own = [e for e in group if sources[at[e]] in STRUCTURAL]    # the venues' structure alone
            for bad in contradicting_components([edges[e] for e in own]):
                dropped += [at[own[k]] for k in bad]
            drop.update(dropped)
            log.error("relations.contradictory",
                      markets=sorted({m for e in group for m in edges[e][:2]}),
                      relations=[_describe(relations[i], sources[i]) for i in members],
                      dropped=[_describe(relations[i], sources[i]) for i in sorted(dropped)],
                      kept=[_describe(relations[i], sources[i]) for i in structure if i not in dropped],
                      detail="these relations make two markets both the same and inverse; "
                             "none of those not stated by the venues is traded")
        if not drop:
            return relations, sources
        self.contradictory += [(relations[i], sources[i]) for i in sorted(drop)]
        keep = [i for i in range(len(relations)) if i not in drop]
        return [relations[i] for i in keep], [sources[i] for i in keep]

    async def refresh_listings(self) -> bool:
        """Read the venues' listings again; when they changed (their digest), derive the rules
        and match the twins again and rebuild the engine with the result (a twin whose listing
        no longer settles like its partner is dropped, a new one added). Markets listed since
        the start join the session first (`add_markets`); known markets whose fee schedule
        changed are re-priced (`reprice_markets`); known markets the venue now reports inactive
        (closed, not taking orders), or no longer lists in a listing it states complete
        (`complete_listing`, see `_lists_completely`), are held (`close_markets`) until a later
        refresh lists them active again (`reopen_markets`). A venue whose read fails raises
        before anything is applied. Returns whether anything changed."""
        if self.listings_digest is None:          # no generation ran: what discovery read
            self.listings_digest = await asyncio.to_thread(listings_digest, self.listings)
        listed: list[MarketInfo] = []
        repriced: list[MarketInfo] = []
        closed: dict[str, str] = {}
        reopened: list[str] = []
        for name, venue in self.venues.items():
            seen = set()
            for m in await venue.discover_markets():      # (one that raises: nothing is applied)
                key = str(m.id)
                seen.add(key)
                at = self.index.get(key)
                if at is None:
                    if m.active:
                        listed.append(m)
                elif not m.active:
                    closed[key] = CLOSED
                else:
                    if key in self.closed:
                        reopened.append(key)
                    if m.fees != self.markets[at].fees:
                        repriced.append(m)
            if _lists_completely(venue):              # its absence from a complete listing says closed
                for m in self.markets:
                    if m.venue.label == name and str(m.id) not in seen:
                        closed.setdefault(str(m.id), GONE)
        if repriced:
            self.reprice_markets([m for m in repriced if str(m.id) not in closed])
        newly_closed = self.close_markets(closed)
        self.reopen_markets(reopened)
        listings = await asyncio.to_thread(session_listings, self.venues)
        digest = await asyncio.to_thread(listings_digest, listings)
        if digest == self.listings_digest and not listed:
            if reopened:                              # their relations come back
                self._relations = self._assemble()
                self._rebuild_engine()
            return bool(repriced or newly_closed or reopened)
        if listed:
            await self.add_markets(listed)
        generated = await generated_mappings_in_worker(listings, self.cache_dir) if self.generate else None
        twins = generated.rows if generated is not None else None
        if self.on_listings is not None:
            self.on_listings(digest, twins)
        self.apply_listings(listings, digest, twins)
        return True

    def close_markets(self, closed: dict[str, str]) -> int:
        """Markets that stopped trading on their venue (name → reason, e.g. CLOSED): held out of
        detection whatever their books say (the quality gate's hold, with that reason, as a Kalshi
        market its venue deactivated is held) until a refresh lists them active again, never
        re-snapshotted meanwhile, and every relation naming them dropped; the engine is rebuilt.
        Returns how many were newly closed."""
        fresh = {n: r for n, r in closed.items() if n in self.index and n not in self.closed}
        if not fresh:
            return 0
        for name, reason in fresh.items():
            self.closed[name] = reason
            self.gate.held[name] = reason
            log.warning("market.closed", market=name, reason=reason)
        keep = [i for i, r in enumerate(self._relations) if not fresh.keys() & set(relation_names(r))]
        dropped = len(self._relations) - len(keep)
        sources = self._sources_now()            # one per relation, before any is dropped
        self._relations = [self._relations[i] for i in keep]
        self._sources = [sources[i] for i in keep]
        log.warning("markets.closed", markets=len(fresh), names=sorted(fresh)[:20], relations_dropped=dropped)
        if self.on_closed is not None:
            self.on_closed(fresh)
        if self.engine is not None:
            self._rebuild_engine()
        return len(fresh)

    def reopen_markets(self, names: list[str]) -> int:
        """Closed markets (`close_markets`) a later refresh lists active again: held until a
        fresh book arrives ("awaiting snapshot", fetched again through their feeds); the caller
        reassembles the relations. Returns how many were reopened."""
        names = [n for n in names if n in self.closed]
        for name in names:
            del self.closed[name]
            self.gate.held[name] = AWAITING
            self._resnapshot_asked.pop(name, None)
            venue, _, mid = name.partition(":")
            feed = getattr(self.venues.get(venue), "feed", None)
            if feed is not None and not self.subscriptions.polls(name):
                feed.resnapshot([mid])
        if names:
            log.warning("markets.reopened", markets=len(names), names=sorted(names)[:20])
        return len(names)

    def apply_listings(self, listings: dict, digest: str, twins: list[MappingRow] | None) -> None:
        """What a refresh read: `listings` (venue → Listing list, digest `digest`) replace the
        ones the rules are derived from, `twins` (the generated rows; None: none generated) the
        generated twins under the user's rows; the engine is rebuilt. A replay calls it with
        what the recording's `listings` record says the refresh read."""
        self.listings, self.listings_digest = listings, digest
        self._select(merge_mappings(self.user_mappings, twins or []))
        self._relations = self._assemble()
        self._rebuild_engine()
        self.refreshes += 1
        log.info("listings.refreshed", digest=digest[:16], relations=len(self._relations),
                 twins=len(twins) if twins is not None else None)

    async def _refresh_listings_every(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.refresh_listings()
            except Exception as exc:       # a venue that cannot be read now: keep what we have
                log.warning("listings.refresh_failed", error=f"{type(exc).__name__}: {exc}")

    def reprice_markets(self, infos: list[MarketInfo]) -> None:
        """Known markets whose fee schedule a listing refresh found changed (new series terms, a
        scheduled change come due, an override, a Polymarket `feeSchedule`): priced with it from
        now on. The session's markets, the trader's routes and sizer, and the engine (rebuilt over
        the current gated books) take it at once, then each venue (`repriced`: a Kalshi
        market held while its terms were dearer than it was priced with is released and its book
        published again, onto the new engine). A replay re-prices them at this moment
        (`on_repriced`)."""
        import dataclasses
        infos = [m for m in infos if str(m.id) in self.index]
        if not infos:
            return
        for m in infos:
            self.markets[self.index[str(m.id)]] = m
        if self.trader is not None:             # before the new engine reports (and offers) anything
            self.trader.markets_repriced(infos)
        current = rebuilt_universe(self)
        markets = list(current.markets)
        for m in infos:
            at = self.index[str(m.id)]
            markets[at] = dataclasses.replace(markets[at], fees=m.fees)
        self._swap(dataclasses.replace(current, markets=tuple(markets)))
        if self.on_repriced is not None:
            self.on_repriced(infos)
        for name, venue in self.venues.items():
            own = [m for m in infos if m.venue.label == name]
            tell = getattr(venue, "repriced", None)
            if own and tell is not None:
                tell(own)
        log.warning("markets.repriced", markets=len(infos), names=[str(m.id) for m in infos][:20])

    async def add_markets(self, listed: list[MarketInfo]) -> int:
        """Markets that joined mid-session (listed since the start): appended to the session
        (their engine indices follow the existing ones), held out until their stream's snapshot
        ("awaiting snapshot"; REST after `bootstrap_wait_s`), added to their venue's running
        stream (`add_markets` of the adapter) and to the trader's routes. The engine is rebuilt
        by the caller with the relations that name them. Returns how many were added."""
        fresh = [m for m in dict.fromkeys(listed) if str(m.id) not in self.index]
        for market in fresh:
            name = str(market.id)
            self.subscriptions.listed(market)
            self.index[name] = len(self.markets)
            self.markets.append(market)
            self.books[name] = array("q", _EMPTY_PACKED)
            self.gate.held[name] = AWAITING
            self.gate.seen(name)
        if not fresh:
            return 0
        if self.on_listed is not None:
            self.on_listed(fresh)
        import dataclasses
        current = rebuilt_universe(self)
        self._swap(dataclasses.replace(current, markets=current.markets + tuple(
            engine_market(m, None) for m in fresh)))
        if self.trader is not None:
            self.trader.markets_added(fresh)
        by_venue: dict[str, list[str]] = {}
        for m in fresh:
            if not self.subscriptions.polls(str(m.id)):
                by_venue.setdefault(m.venue.label, []).append(m.market_id)
        for venue, ids in by_venue.items():
            add = getattr(self.venues[venue], "add_markets", None)
            if add is not None:
                await add(ids)
            log.info("markets.listed", venue=venue, markets=len(ids))
        self._tasks.append(asyncio.create_task(self._bootstrap_fallback(), name="bootstrap-listed"))
        return len(fresh)

    @staticmethod
    def _keys(relations: list[dict]) -> list[tuple]:
        return [relation_key(r["kind"], relation_names(r), bool(r.get("exhaustive"))) for r in relations]

    def _new(self, present: list[dict], candidates: list[dict], source: str = "",
             sources: list[str] | None = None) -> list[dict]:
        """`candidates` (from `source`) not already among `present` (from `sources`, in order).
        Two markets are related one way only: a pair already related by a `same`, `inverse`,
        `complement` or `equivalent` relation, in either order, is not related again by any of
        those (the first wins: two would double the exposure, or make the hedge a naked bet).
        The same kind twice is a silent duplicate; another kind is logged
        (`relations.pair_already_related`: which was kept, whether their YES parities disagree). Other
        relations are not added twice (same kind and markets)."""
        sources = sources or []
        held: dict[tuple, tuple[dict, str]] = {}
        for i, r in enumerate(present):
            held.setdefault(_pair_key(r), (r, sources[i] if i < len(sources) else ""))
        out = []
        for r in candidates:
            key = _pair_key(r)
            first = held.get(key)
            if first is None:
                held[key] = (r, source)
                out.append(r)
                continue
            kept, by = first
            if key[0] == "pair" and kept["kind"] != r["kind"]:
                disagree = relation_parity(kept)[2] != relation_parity(r)[2]    # type: ignore[index]
                log.warning(
                    "relations.pair_already_related", markets=sorted(key[1]), kept=_describe(kept, by),
                    not_added=_describe(r, source), parities_disagree=disagree)
        return out

    # ---- generated twins (background) -----------------------------------------------------

    async def _generate_mappings(self) -> None:
        """Match the discovered listings across venues in a worker process, then trade the
        approved result: merged under the user's rows and added to the running engine."""
        started = time.monotonic()
        try:
            generated = await generated_mappings_in_worker(self.listings, self.cache_dir)
        except Exception as exc:       # the session goes on with what it has
            self.errors.append(f"mapping generation: {type(exc).__name__}: {exc}")
            log.error("mappings.generation_failed", error=f"{type(exc).__name__}: {exc}")
            return
        if self.on_generated is not None:
            self.on_generated(generated)
        added = self.apply_generated(generated.rows)
        self.listings_digest = self.listings_digest or generated.digest
        self.generation = {"proposed": len(generated.rows), "relations_added": added, "cached": generated.cached,
                           "seconds": round(time.monotonic() - started, 3), "digest": generated.digest[:16]}
        log.info("mappings.generated", **self.generation)

    def apply_generated(self, rows: list[MappingRow]) -> int:
        """Trade generated rows (the user's win; the approval rule applies), rebuilding the engine
        with their relations appended. Returns the number of relations added."""
        self._select(merge_mappings(self.user_mappings, rows))
        user = set(self.user_mappings)
        open_ = set(self.index) - self.closed.keys()
        twins = [r for r in relations_for([r for r in self.mappings if r not in user], set(self.index))
                 if r["a"] in open_ and r["b"] in open_]
        added = self._new(self._relations, twins, "generated", self._sources_now())
        if added:
            relations, sources = self._consistent(self._relations + added,
                                                  self._sources_now() + ["generated"] * len(added))
            kept = {id(r) for r in relations}
            added = [r for r in added if id(r) in kept]
            self._relations, self._sources = relations, sources
            self._rebuild_engine()
        return len(added)

    def retune(self) -> None:
        """The engine's `max_qty` (lots) / `min_profit` (µ$) made the session's, an operator's live
        change, in place (`Engine.set_limits`: the candidates and books are kept; rebuilding a
        20,000-market engine held the loop 0.3 s on a quiet machine, seconds on a loaded one, with
        an execution in flight waiting), and what it finds with them reported at once. Raises as
        `set_limits` (then nothing changed), or as the scan after it (the limits are set: the
        caller puts them back, `ops.control`)."""
        import dataclasses
        self.engine.set_limits(self.max_qty, self.min_profit)
        self.universe = dataclasses.replace(self.universe, max_qty=self.max_qty, min_profit=self.min_profit)
        self._report(self.engine.scan().opportunities, time.perf_counter_ns(), count_latency=False)

    def _rebuild_engine(self) -> None:
        """A new engine over the same markets and current (gated) books with `_relations`; the
        trader's relation index follows. (Relations are appended by generation; a listing refresh
        reassembles them, and markets closed mid-session take theirs with them.)"""
        import dataclasses
        current = rebuilt_universe(self)
        self._swap(dataclasses.replace(current, relations=parse_relations(self._relations, current.markets)),
                   relations_changed=True)

    def _swap(self, universe: Universe, relations_changed: bool = False) -> None:
        """Detect on `universe` from now on. Runs on the event loop between frames, so no book
        update is lost; what the new engine finds is reported (and offered) at once, after the
        trader's relation index learnt the new relations."""
        engine = Engine(universe, engine=self.engine_choice)    # built first: a failure changes nothing
        self.universe, self.engine = universe, engine
        if relations_changed and self.trader is not None and self.trader.sizer is not None:
            self.trader.sizer.relations_changed(universe)
        if relations_changed:
            self.subscriptions.promote(self._relations)
        self._report(self.engine.scan().opportunities, time.perf_counter_ns(), count_latency=False)

    def trade_with(self, trader) -> None:
        """Offer every newly reported opportunity to `trader` (a PaperTrader)."""
        self.trader = trader
        self.on_opportunity = trader.offer
        sizer = trader.sizer
        if sizer is not None:
            self.book_sampler = lambda name, book: sizer.samples.on_book(name, book, sizer.clock())

    def spawn(self, coro, name: str) -> None:
        """Run `coro` as one of the session's tasks (stopped by `stop_tasks` / `close`)."""
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def stop_tasks(self) -> None:
        """Stop every spawned task and the venues' book streams (their connections, the feeds'
        polls and re-snapshots): from here on the loop, the venues' read budgets and the
        simulator's CPU are for what follows (an execution draining, the final reconciliation),
        not for books nobody reads. The books freeze where they are, so the order path no longer
        reads them (`books_live`: it re-quotes over REST)."""
        self.books_live = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        venues = list(self.venues.values())
        stopped = await asyncio.gather(*(_stop_stream(venue) for venue in venues), return_exceptions=True)
        for venue, result in zip(venues, stopped):
            if isinstance(result, Exception):      # stopping must not skip the drain that follows
                self.errors.append(f"stop {venue.venue} stream: {result}")

    def start_streams(self) -> None:
        if self.generate:
            self._tasks.append(asyncio.create_task(self._generate_mappings(), name="generate-mappings"))
        if self.refresh_s > 0:
            self._tasks.append(asyncio.create_task(self._refresh_listings_every(self.refresh_s), name="listings"))
        tiers = self.subscriptions.start(self._relations)      # (the polled markets' readers started)
        for name, venue in self.venues.items():
            ids = tiers.streamed.get(name, [])
            self._tasks.append(asyncio.create_task(self._pump(venue, ids), name=f"books-{name}"))
        self._tasks.append(asyncio.create_task(self._watch_staleness(), name="staleness"))
        if self.snapshot_start:
            self._tasks.append(asyncio.create_task(self._bootstrap_fallback(), name="bootstrap"))

    async def _bootstrap_fallback(self) -> None:
        """Snapshot start: once the subscription snapshots stop coming (no awaited book arrived
        for `bootstrap_wait_s`), fetch over REST (the feeds' rate limits) the books still missing.
        A 20,000-market start takes longer than that while its snapshots keep arriving, and must
        not race them with thousands of REST reads."""
        loop = asyncio.get_running_loop()
        step = min(0.25, self.bootstrap_wait_s / 4)
        count, since = -1, loop.time()
        while True:
            missing: dict[str, list[str]] = {}
            for name, reason in self.held.items():
                if reason == AWAITING and not self.subscriptions.polls(name):
                    venue, _, mid = name.partition(":")
                    missing.setdefault(venue, []).append(mid)
            waiting = sum(len(ids) for ids in missing.values())
            if not waiting:
                return
            if waiting != count:
                count, since = waiting, loop.time()
            elif loop.time() - since >= self.bootstrap_wait_s:
                break
            await asyncio.sleep(step)
        for venue, ids in missing.items():
            feed = getattr(self.venues.get(venue), "feed", None)
            if feed is not None:
                log.info("bootstrap.rest_fallback", venue=venue, markets=len(ids))
                feed.resnapshot(ids)

    def _note_healthy(self) -> None:
        """Note the first moment no book is held out (`time_to_healthy_s`)."""
        if self._healthy_at is None and not self.held:
            self._healthy_at = self.clock()

    @property
    def time_to_healthy_s(self) -> float | None:
        """Seconds from the start of `discover` until every book was healthy at once (None: not yet)."""
        if self._healthy_at is None or self._started is None:
            return None
        return round(self._healthy_at - self._started, 3)

    # ---- the hot loop --------------------------------------------------------------------

    async def _pump(self, venue, ids: list[str]) -> None:
        """Apply one venue's book updates. The adapter reconnects and polls by itself; an error
        that still escapes its stream is recorded and the stream started again after a backoff
        (1 s doubling to 30 s): one venue's failure never stops the others, nor itself for good."""
        backoff = Backoff(base=1.0, cap=30.0)
        while True:
            turn = ReaderTurn()
            try:
                async for update in venue.stream_books(ids, on_update=self._sample):
                    await turn.before()                  # a decided execution reaches its first order first
                    if self.on_book(update) and self.trader is not None and self.trader.busy:
                        # an execution was just started: let it run to its first order now instead of
                        # after the rest of a burst of buffered frames (which never yields by itself)
                        await asyncio.sleep(0)
                    turn.after()
                return                                   # the stream ended by itself
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors.append(f"{venue.venue}: {type(exc).__name__}: {exc}")
                log.error("venue.stream_failed", venue=venue.venue, error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(backoff.next_delay())

    def _sample(self, update: BookUpdate) -> None:
        """Called by a feed's reader for every update, before its queue coalesces books."""
        sampler = self.book_sampler
        if sampler is not None:
            sampler(str(update.book.market), update.book)

    def on_book(self, update: BookUpdate | PackedBookUpdate) -> bool:
        """Apply one book update (quality gate, engine, dedupe); True if it reported an
        opportunity (offered to the trader). A replay's updates come packed (no Book built)."""
        received = time.perf_counter_ns()
        packed = update.packed
        if packed is None:
            book = update.book
            market, tradeable, reason = book.market, book.tradeable, book.reason
            name = str(market)
        else:
            name, tradeable, reason = update.name, update.tradeable, update.reason
        m = self.index.get(name)
        if m is None:
            return False
        self.stats.book_updates += 1
        if packed is None:
            packed = pack(book)
        self.books[name] = packed
        closed = self.closed
        if closed and name in closed:            # closed on the venue: held whatever the book says
            tradeable, reason = False, closed[name]
        admitted = self.gate.admit(name, tradeable, reason)
        if admitted and self._healthy_at is None:
            self._note_healthy()
        try:
            result = packed_update(self.engine, m, packed if admitted else _EMPTY_PACKED)
        except EngineInputError:
            if not (admitted and cap_packed(packed)):
                raise
            result = packed_update(self.engine, m, packed)      # the book kept (`books`) is capped too
        return self._report(result.opportunities, received)

    def _report(self, opportunities, received_ns: int, count_latency: bool = True) -> bool:
        """Offer, then count and log, the opportunities not reported within the cooldown; True if
        any was. The offers (the trader's decision, and an execution started up to its first order)
        come first: the bookkeeping and the `opportunity` log line (≈ 35 µs, cold, in a found
        frame) no longer delay them, so a decision's log lines may precede its `opportunity` line."""
        now = self.clock()
        self.stats.detections += len(opportunities)
        last_reported, cooldown = self.last_reported, self.cooldown_s
        new = []
        for opp in opportunities:
            last = last_reported.get(opp.id)
            if last is None or now - last >= cooldown:
                last_reported[opp.id] = now
                new.append(opp)
        try:
            if new and self.on_opportunity is not None:
                for opp in new:
                    self.on_opportunity(opp)
        finally:                         # counted and logged even if an offer raised
            decided = time.perf_counter_ns()
            for opp in new:
                self.stats.found[opp.lane.label] += 1
                self.stats.recent.appendleft((now, opp))
                log.info("opportunity", id=opp.id, lane=opp.lane.label, kind=opp.kind.label, qty=opp.qty,
                         profit=opp.profit, legs=[[leg.market, leg.side.label, leg.worst_price] for leg in opp.legs])
            if count_latency:
                self.stats.latencies_ns.append(decided - received_ns)
        return bool(new)

    async def _watch_staleness(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.stale_after_s / 4))
            self.check_staleness()

    def check_staleness(self) -> list[str]:
        """Hold out every book not updated for `stale_after_s` whose stream is not live (the
        engine sees it empty; `quality.gate`: stale versus quiet), and ask the venues' feeds to
        fetch again every book quiet for `resnapshot_after_s`; returns the names newly held."""
        self._note_heard()
        newly = sorted(self.gate.stale(self._stream_live), key=self.index.__getitem__)    # in market order
        for name in newly:
            self._report(packed_update(self.engine, self.index[name], _EMPTY_PACKED).opportunities,
                         time.perf_counter_ns())
        self.resnapshot_quiet()
        return newly

    def _note_heard(self) -> None:
        """Each venue whose stream delivered since the last sweep (its feed's `frames` grew: stream
        frames and books, never REST answers) was heard now (within one sweep, ≤ 1 s)."""
        now = self.clock()
        for venue, client in self.venues.items():
            feed = getattr(client, "feed", None)
            if feed is not None and feed.frames != self._frames.get(venue, 0):
                self._frames[venue], self._heard[venue] = feed.frames, now

    def book_polled(self, name: str) -> bool:
        """True if market `name`'s book comes from REST reads (a polled tier, or its stream source
        down): a streamed book's silence says nothing changed, a polled book's age says nothing —
        the order path reads it again before trading on it (`StreamedQuotes`)."""
        if self.subscriptions.polls(name):
            return True
        feed, mid = self._feed_of(name)
        return feed is not None and feed.polls(mid)

    def _feed_of(self, name: str) -> tuple:
        """(the book feed of market `name`'s venue, or None where its adapter has none; the
        market's id at its venue)."""
        venue, _, mid = name.partition(":")
        return getattr(self.venues.get(venue), "feed", None), mid

    def _stream_live(self, name: str) -> bool:
        """True if market `name`'s book arrives on a live stream: its venue's stream delivered
        within `stale_after_s` (`_note_heard`) and its feed is not polling it (a stream source down)."""
        if self.subscriptions.polls(name):        # a polled market: fresh enough until a read is missed
            return self.subscriptions.read_in_time(name)
        feed, mid = self._feed_of(name)
        if feed is None or feed.polls(mid) or feed.failing(mid) >= FAILED_READS_STALE:
            return False                          # (its venue no longer serves its book: not confirmed)
        heard = self._heard.get(name.partition(":")[0])
        return heard is not None and self.clock() - heard <= self.stale_after_s

    def resnapshot_quiet(self) -> dict[str, int]:
        """Ask each venue's feed to fetch again (rate limited, `BookFeed.resnapshot`) the books
        not updated for `resnapshot_after_s` — a quiet book is confirmed, a stale or distrusted
        one restored by the fetch — and the held-out ones without a trusted update for as long
        (`BookGate.distrusted_for`: an active market whose updates keep coming distrusted), each
        at most once per `resnapshot_after_s`. Returns the number newly asked for per venue."""
        now = self.clock()
        after = self.resnapshot_after_s
        asked = self._resnapshot_asked
        due: dict[str, list[str]] = {}
        slow = self.subscriptions.slow            # polled markets are read on their own schedule
        names = {*self.gate.older_than(after), *self.gate.distrusted_for(after)}
        for name in sorted(names, key=self.index.__getitem__):
            if name not in slow and name not in self.closed and (name not in asked or now - asked[name] > after):
                asked[name] = now
                venue, _, mid = name.partition(":")
                due.setdefault(venue, []).append(mid)
        out = {}
        for venue, ids in due.items():
            feed = getattr(self.venues.get(venue), "feed", None)
            if feed is not None:
                out[venue] = feed.resnapshot(ids)
        return out

    def feed_stats(self) -> dict[str, dict]:
        """Per venue streaming: its book feed's figures (`BookFeed.stats`): "mode" ("stream", or
        "poll" while a stream is down), "polling" (books polled now), "queue_depth",
        "queue_max_depth", "queue_capacity", "updates", "coalesced", "dropped", "fallbacks",
        "polled", "resnapshots", "fetch_errors"."""
        out = {}
        for name, venue in self.venues.items():
            feed = getattr(venue, "feed", None)
            if feed is not None:
                out[name] = feed.stats()
        return out

    # ---- views and shutdown --------------------------------------------------------------

    @property
    def tiers(self) -> Tiers | None:
        """What `start_streams` planned, promotions and listings included (None before)."""
        return self.subscriptions.plan

    @property
    def promoted(self) -> int:
        return self.subscriptions.promoted

    def current_opportunities(self) -> tuple[Opportunity, ...]:
        return self.engine.scan().opportunities

    def healthy(self) -> int:
        return len(self.markets) - len(self.held)

    async def close(self) -> None:
        await self.stop_tasks()
        for venue in self.venues.values():
            try:
                await venue.close()
            except Exception as exc:   # closing must not hide the session's result
                self.errors.append(f"close {venue.venue}: {exc}")


async def _stop_stream(venue) -> None:
    """`venue.close_stream()` where the adapter has it (its market-data connection and feed), else
    its feed's polls and re-snapshots (a replay's venue)."""
    close_stream = getattr(venue, "close_stream", None)
    if close_stream is not None:
        await close_stream()
        return
    feed = getattr(venue, "feed", None)
    if feed is not None:
        await feed.close()


def simulated_venues(handle) -> dict[str, VenueClient]:
    """Kalshi and Polymarket, built by their factories for a running simulator (arbbot.sim)."""
    from arbbot.venues.kalshi import factories as kalshi
    from arbbot.venues.polymarket import factories as polymarket
    return {"kalshi": kalshi.kalshi_venue(kalshi.simulated_config(handle)),
            "polymarket": polymarket.polymarket_venue(polymarket.simulated_config(handle))}


FORECASTEX_CLIENT_ID = 11      # reuse after a restart: IB reports a client's own open orders on connect


async def connect_simulated_venues(handle, *, forecastex_client_id: int = FORECASTEX_CLIENT_ID
                                   ) -> dict[str, VenueClient]:
    """`simulated_venues` plus ForecastEx over the simulator's TWS port (ib-async), when served
    (under another client id than the bot's: an observer, which sees every client's open orders)."""
    from arbbot.venues.forecastex.factories import simulated_forecastex_venue
    venues = simulated_venues(handle)
    forecastex = await simulated_forecastex_venue(handle, forecastex_client_id,
                                                  every_client=forecastex_client_id != FORECASTEX_CLIENT_ID)
    if forecastex is not None:
        venues["forecastex"] = forecastex
    return venues


def default_session_mappings() -> list[MappingRow]:
    """No hand-written mapping: a session generates its twins from the listings (`generate`)."""
    return []


def gated_book(session: LiveSession, name: str) -> Book | None:
    """The book the engine holds for market `name`: its latest, unpacked; None while the quality
    gate holds it out or none arrived (the engine holds it empty)."""
    packed = session.books.get(name)
    return None if name in session.held or packed is None else within_engine(unpack_book(packed[4:], tuple(packed[:4])))


def rebuilt_universe(session: LiveSession) -> Universe:
    """The session's universe with every market's current (gated) book: what a fresh engine
    would scan. Used to check that incremental detection agrees with a full rebuild."""
    import dataclasses
    markets = []
    for market, info in zip(session.universe.markets, session.markets):
        gated = gated_book(session, str(info.id))
        markets.append(dataclasses.replace(market, book=_EMPTY if gated is None else gated))
    return dataclasses.replace(session.universe, markets=tuple(markets))
