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
from arbbot.engine import Engine, FeeSchedule, Market, NativeBook, Opportunity, Universe, Venue, unpack_book
from arbbot.engine.select import implementation
from arbbot.run.mapping import MappingRow, default_mappings, relations_for
from arbbot.snapshot import parse_snapshot, snapshot_to_dict
from arbbot.venues.common.model import BookUpdate, MarketInfo
from arbbot.venues.common.model import NativeBook as VenueBook

_VENUES = {"kalshi": Venue.KALSHI, "polymarket": Venue.POLYMARKET, "forecastex": Venue.FORECASTEX}
_EMPTY = NativeBook()
log = logs.get("session")


def engine_book(book: VenueBook) -> NativeBook:
    """The engine's native book for a venue book (levels in any order)."""
    return NativeBook(tuple(book.yes_bids), tuple(book.yes_asks), tuple(book.no_bids), tuple(book.no_asks))


def pack(book: VenueBook) -> array:
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


def engine_market(info: MarketInfo, book: VenueBook | None) -> Market:
    fees = info.fees
    schedule = FeeSchedule(taker_rate_ppm=fees.taker_ppm, per_contract=fees.per_contract_micros,
                           rounding=fees.rounding_micros or 1, maker_rate_ppm=fees.maker_ppm)
    return Market(_VENUES[info.venue.value], info.market_id, schedule, info.lot_lots,
                  engine_book(book) if book is not None and book.tradeable else _EMPTY, info.title)


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
        ordered = sorted(self.latencies_ns)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1_000  # noqa: E731
        return pick(0.50), pick(0.99)


class LiveSession:
    """Holds the venues, the engine and the books' health.

    Quality gate: a book the adapter distrusts (sequence gap, hash mismatch, disconnect) or one
    not updated for `stale_after_s` is replaced by an empty book in the engine, so it takes part
    in no lane until a healthy book arrives. Dedupe: an opportunity id is reported again only
    after `cooldown_s`.
    """

    def __init__(self, venues: dict[str, object], mappings: list[MappingRow], *, stale_after_s: float = 30.0,
                 cooldown_s: float = 5.0, engine: str | None = None, clock=time.monotonic) -> None:
        self.venues = venues
        self.mappings = mappings
        self.stale_after_s = stale_after_s
        self.cooldown_s = cooldown_s
        self.engine_choice = implementation("lanes", engine)
        self.clock = clock
        self.stats = SessionStats()
        self.markets: list[MarketInfo] = []
        self.index: dict[str, int] = {}
        self.books: dict[str, array] = {}             # market name → latest book, packed (see `pack`)
        self.last_seen: dict[str, float] = {}
        self.held: dict[str, str] = {}                 # market name → why it is out of detection
        self.last_reported: dict[str, float] = {}
        self.engine: Engine | None = None
        self.universe = None
        self.on_opportunity = None          # callable(Opportunity) for each newly reported one
        self.trader = None                  # the PaperTrader when trading
        self.max_qty: int | None = None     # lots per opportunity (the per-trade cap)
        self._tasks: list[asyncio.Task] = []
        self.errors: list[str] = []

    # ---- setup ---------------------------------------------------------------------------

    async def discover(self) -> None:
        """Discover markets and events on every venue, fetch books, build the engine."""
        relations: list[dict] = []
        for name, venue in self.venues.items():
            found = [m for m in await venue.discover_markets() if m.active]
            log.info("venue.discovered", venue=name, markets=len(found))
            self.markets += found
            for event in await venue.discover_events():
                members = [f"{name}:{mid}" for mid in event.market_ids]
                if event.mutually_exclusive and len(members) >= 2:
                    relations.append({"kind": "bucket", "members": members, "exhaustive": bool(event.exhaustive)})
        names = [f"{m.venue.value}:{m.market_id}" for m in self.markets]
        self.index = {n: i for i, n in enumerate(names)}
        relations = [r for r in relations if all(m in self.index for m in r["members"])]
        relations += relations_for(self.mappings, set(names))
        now = self.clock()
        initial: dict[str, VenueBook] = {}
        for market in self.markets:
            name = f"{market.venue.value}:{market.market_id}"
            book = await self.venues[market.venue.value].fetch_book(market.market_id)
            initial[name] = book
            self.books[name] = pack(book)
            self.last_seen[name] = now
            if not book.tradeable:
                self.held[name] = book.reason or "distrusted"
        markets = tuple(engine_market(m, initial.get(f"{m.venue.value}:{m.market_id}")) for m in self.markets)
        skeleton = Universe(markets, (), self.max_qty, 10_000)
        doc = snapshot_to_dict(skeleton)
        doc["relations"] = relations
        self.universe = parse_snapshot(doc).universe     # validates the relations like any snapshot
        self.engine = Engine(self.universe, engine=self.engine_choice)
        self._report(self.engine.scan().opportunities, time.perf_counter_ns(), count_latency=False)
        # The universe, books and adapters are long-lived: move them out of the cyclic GC's full
        # collections, whose pauses (tens of ms at U20k) would otherwise land on the hot path.
        tune_gc()

    def start_streams(self) -> None:
        for name, venue in self.venues.items():
            ids = [m.market_id for m in self.markets if m.venue.value == name]
            self._tasks.append(asyncio.create_task(self._pump(venue, ids), name=f"books-{name}"))
        self._tasks.append(asyncio.create_task(self._watch_staleness(), name="staleness"))

    # ---- the hot loop --------------------------------------------------------------------

    async def _pump(self, venue, ids: list[str]) -> None:
        try:
            async for update in venue.stream_books(ids):
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
        name = f"{book.venue.value}:{book.market_id}"
        m = self.index.get(name)
        if m is None:
            return False
        self.stats.book_updates += 1
        packed = pack(book)
        self.books[name] = packed
        self.last_seen[name] = self.clock()
        if book.tradeable:
            if self.held.pop(name, None) is not None:
                log.info("book.healthy", market=name)
            result = packed_update(self.engine, m, packed)
        else:
            reason = book.reason or "distrusted"
            if self.held.get(name) != reason:
                log.info("book.held_out", market=name, reason=reason)
            self.held[name] = reason
            self.stats.held_out[reason] += 1
            result = packed_update(self.engine, m, _EMPTY_PACKED)
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
        """Hold out every book not updated for `stale_after_s`; returns the names held now."""
        now = self.clock()
        newly = [n for n, seen in self.last_seen.items() if now - seen > self.stale_after_s and n not in self.held]
        for name in newly:
            log.info("book.held_out", market=name, reason="stale")
            self.held[name] = "stale"
            self.stats.held_out["stale"] += 1
            self._report(packed_update(self.engine, self.index[name], _EMPTY_PACKED).opportunities,
                         time.perf_counter_ns())
        return newly

    # ---- views and shutdown --------------------------------------------------------------

    def current_opportunities(self) -> tuple[Opportunity, ...]:
        return self.engine.scan().opportunities

    def healthy(self) -> int:
        return len(self.markets) - len(self.held)

    def healthy_book(self, name: str) -> tuple[int, NativeBook] | None:
        """(engine venue, engine book) of market `name` as streamed, or None if it is held out
        (distrusted, stale) or unknown: what the executor re-quotes a leg from."""
        packed = self.books.get(name)
        if packed is None or name in self.held:
            return None
        return int(_VENUES[name.split(":", 1)[0]]), unpack_book(packed[4:], tuple(packed[:4]))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for venue in self.venues.values():
            try:
                await venue.close()
            except Exception as exc:   # closing must not hide the session's result
                self.errors.append(f"close {venue.venue}: {exc}")


def simulated_venues(handle) -> dict[str, object]:
    """Real adapters pointed at a running simulator (arbbot.sim.serve)."""
    from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
    from arbbot.venues.polymarket import PolymarketConfig, PolymarketVenue
    urls = handle.urls
    kalshi = KalshiVenue(KalshiConfig(rest_url=urls["kalshi_rest"], ws_url=urls["kalshi_ws"], key_id=handle.kalshi_key_id,
                                      private_key_pem=handle.kalshi_private_key_pem, reconnect_base_s=0.05,
                                      reconnect_cap_s=1.0))
    creds = handle.polymarket_creds
    poly = PolymarketVenue(PolymarketConfig(gamma_url=urls["polymarket_gamma"], clob_url=urls["polymarket_clob"],
                                            ws_url=urls["polymarket_ws"], address=creds.address, api_key=creds.api_key,
                                            api_secret=creds.secret, api_passphrase=creds.passphrase,
                                            private_key=handle.polymarket_private_key,
                                            reconnect_base_s=0.05, reconnect_cap_s=1.0))
    return {"kalshi": kalshi, "polymarket": poly}


FORECASTEX_CLIENT_ID = 11      # reuse after a restart: IB reports a client's own open orders on connect


async def connect_simulated_venues(handle, *, forecastex_client_id: int = FORECASTEX_CLIENT_ID) -> dict[str, object]:
    """`simulated_venues` plus ForecastEx over the simulator's TWS port (ib-async), when served."""
    venues = simulated_venues(handle)
    address = handle.urls.get("forecastex_tws")
    if address:
        from arbbot.venues.forecastex import connect_forecastex_venue
        host, port = address.rsplit(":", 1)
        venues["forecastex"] = await connect_forecastex_venue(host, int(port), forecastex_client_id, poll_s=0.1)
    return venues


def default_session_mappings() -> list[MappingRow]:
    return default_mappings()


def rebuilt_universe(session: LiveSession) -> Universe:
    """The session's universe with every market's current (gated) book: what a fresh engine
    would scan. Used to check that incremental detection agrees with a full rebuild."""
    import dataclasses
    markets = []
    for market, info in zip(session.universe.markets, session.markets):
        name = f"{info.venue.value}:{info.market_id}"
        packed = session.books.get(name)
        gated = _EMPTY if name in session.held or packed is None else unpack_book(packed[4:], tuple(packed[:4]))
        markets.append(dataclasses.replace(market, book=gated))
    return dataclasses.replace(session.universe, markets=tuple(markets))
