"""Subscription tiers: which markets a session streams and which it polls on a slow schedule.

- **Streamed** (tier 1): with `by_interest`, every market some relation names and every market of
  a venue where one market alone can hold an arb (`INTRA_VENUES`: Polymarket's YES and NO token
  books stream separately, so lane 1 can fire there); without it, every market. In subscription
  order: the members of bucket groups by the bucket selector's Thompson priority first (so the
  groups that paid get their snapshots first), then the other related markets, then the rest.
- **Capped:** a venue with a subscription limit (`caps`, markets; IB's market data lines: two per
  ForecastEx market) streams the first `cap` markets of that order; the rest are polled.
- **Polled** (tier 2): the others, each read over REST (an IB snapshot) every `slow_poll_s` within
  the venue's read budget; a polled book is healthy while its last read is within twice that.
- **Promotion:** a polled market that a new relation names (generated twins, a listing refresh)
  is added to its venue's running stream, within the venue's cap. A market leaves the polled
  tier only so, never comes back, and its stream starts only after it left: so a REST answer
  for a market no longer polled may be older than a book its stream already published, and is
  dropped (a read begun before the promotion never overwrites the stream's newer book).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from arbbot import logs
from arbbot.mapping.rules_file import relation_names
from arbbot.venues.common.model import BookUpdate

log = logs.get("session")

INTRA_VENUES = frozenset({"polymarket"})
SLOW_POLL_S = 60.0          # seconds between two reads of a polled market
POLL_CONCURRENCY = 8        # reads of polled markets in flight at once, per venue


@dataclass
class Tiers:
    streamed: dict[str, list[str]] = field(default_factory=dict)   # venue → market ids, subscription order
    polled: dict[str, list[str]] = field(default_factory=dict)     # venue → market ids, polling order

    def counts(self) -> dict[str, dict[str, int]]:
        venues = sorted(set(self.streamed) | set(self.polled))
        return {v: {"streamed": len(self.streamed.get(v, ())), "polled": len(self.polled.get(v, ()))} for v in venues}


def interesting(names: list[str], relation_members: list[list[str]]) -> set[str]:
    """Markets (`venue:id`) that can take part in an opportunity: named by a relation, or on an
    intra venue."""
    out = {m for members in relation_members for m in members}
    out.update(n for n in names if n.split(":", 1)[0] in INTRA_VENUES)
    return out


def plan(names: list[str], relation_members: list[list[str]], *, by_interest: bool,
         bucket_order: list[list[str]] = (), caps: dict[str, int] | None = None) -> Tiers:
    """The tiers of markets `names` (`venue:id`, discovery order) given the relations' members
    (`relation_members`, one list per relation) and `bucket_order` (bucket groups' members,
    highest priority first)."""
    related = {m for members in relation_members for m in members}
    wanted = interesting(names, relation_members) if by_interest else set(names)
    rank: dict[str, int] = {}
    for members in bucket_order:
        for m in members:
            rank.setdefault(m, len(rank))
    first, last = len(rank), len(rank) + 1
    # stable: discovery order within a rank
    order = sorted(names, key=lambda n: rank.get(n, first if n in related else last))
    tiers = Tiers()
    caps = caps or {}
    for name in order:
        venue, _, mid = name.partition(":")
        if name in wanted and len(tiers.streamed.get(venue, ())) < caps.get(venue, len(names) + 1):
            tiers.streamed.setdefault(venue, []).append(mid)
        else:
            tiers.polled.setdefault(venue, []).append(mid)
    return tiers


class SessionTiers:
    """A live session's tiers at run time: `start` plans them (buckets in the trader's bucket
    selection order) and starts one reader per venue with polled markets; `promote` moves polled
    markets a relation now names to their venue's stream; `listed` places a market listed
    mid-session. `slow` (market name → venue) are the markets polled now."""

    def __init__(self, session, *, by_interest: bool, slow_poll_s: float = SLOW_POLL_S,
                 caps: dict[str, int] | None = None) -> None:
        self.session = session
        self.by_interest, self.slow_poll_s, self.caps = by_interest, slow_poll_s, dict(caps or {})
        self.plan: Tiers | None = None            # what `start` planned, then promotions and listings
        self.slow: dict[str, str] = {}
        self.promoted = 0                         # polled markets moved to their venue's stream

    def polls(self, name: str) -> bool:
        return name in self.slow

    def read_in_time(self, name: str) -> bool:
        """A polled market's last read is within two polling intervals (its book is current)."""
        seen = self.session.gate.last_seen.get(name)
        return seen is not None and self.session.clock() - seen <= 2 * self.slow_poll_s

    def _cap(self, venue: str) -> int:
        return self.caps.get(venue, len(self.session.markets) + 2)

    def start(self, relations: list[dict]) -> Tiers:
        """Plan the tiers of the session's markets under `relations`; start the polled markets'
        readers. Returns the plan (the streamed markets per venue)."""
        session = self.session
        names = [str(m.id) for m in session.markets]
        buckets = [relation_names(r) for r in relations if r["kind"] == "bucket"]
        selector = getattr(session.trader, "buckets", None)
        if selector is not None and buckets:
            from arbbot.mapping.selection import group_key
            by_key = {group_key(b): b for b in buckets}
            buckets = [by_key[k] for k in selector.priority(list(by_key), session.trader.clock())]
        tiers = self.plan = plan(names, [relation_names(r) for r in relations], by_interest=self.by_interest,
                                 bucket_order=buckets, caps=self.caps)
        for venue, polled in tiers.polled.items():
            self.slow.update((f"{venue}:{mid}", venue) for mid in polled)
            session.spawn(self._poll(venue, polled), name=f"polled-{venue}")
        if self.slow:
            log.info("tiers.planned", **tiers.counts())
        return tiers

    def listed(self, market) -> bool:
        """Place a market listed mid-session: streamed, unless its venue's stream is at its cap;
        then polled (a reader started for the venue if it had none). True if it is polled."""
        if self.plan is None:
            return False
        venue = market.venue.label
        streamed = self.plan.streamed.setdefault(venue, [])
        if len(streamed) < self._cap(venue):
            streamed.append(market.market_id)
            return False
        polled = self.plan.polled.setdefault(venue, [])
        polled.append(market.market_id)
        self.slow[str(market.id)] = venue
        if len(polled) == 1:
            self.session.spawn(self._poll(venue, polled), name=f"polled-{venue}")
        return True

    def promote(self, relations: list[dict]) -> int:
        """Polled markets that `relations` name join their venue's running stream (within its
        cap); returns how many."""
        if not self.slow or self.plan is None:
            return 0
        named = {m for r in relations for m in relation_names(r)}
        due: dict[str, list[str]] = {}
        for name in [n for n in self.slow if n in named]:
            venue = self.slow[name]
            streamed = self.plan.streamed.setdefault(venue, [])
            if len(streamed) >= self._cap(venue):
                continue
            mid = name.partition(":")[2]
            del self.slow[name]
            streamed.append(mid)
            self.plan.polled[venue].remove(mid)
            due.setdefault(venue, []).append(mid)
        for venue, ids in due.items():
            add = getattr(self.session.venues[venue], "add_markets", None)
            if add is not None:
                self.session.spawn(add(ids), name=f"promote-{venue}")
            self.promoted += len(ids)
            log.info("tiers.promoted", venue=venue, markets=len(ids))
        return sum(len(ids) for ids in due.values())

    async def _poll(self, venue_name: str, ids: list[str]) -> None:
        """Read the polled markets of one venue every `slow_poll_s` (an IB snapshot where the
        venue has one, else its REST book; many in one read where the venue's feed has a batch
        read, `BookFeed.fetch_many`), within its feed's read budget and with at most
        `POLL_CONCURRENCY` reads in flight (a read's latency must not set the pace), and publish
        them through the feed (sampled, recorded, coalesced like streamed books). `ids` shrinks
        as markets are promoted; the answer of a market promoted while its read was under way is
        dropped. The first pass starts at once: it is their bootstrap."""
        venue = self.session.venues[venue_name]
        feed = None
        while feed is None:                       # the feed exists once the venue's stream started
            feed = getattr(venue, "feed", None)
            if feed is None:
                await asyncio.sleep(0.05)
        feed.add_markets(ids)
        read = getattr(venue, "snapshot_book", None) or venue.fetch_book
        many = feed.fetch_many if feed.batch > 1 else None     # one read for up to `batch` books (Kalshi)
        size = feed.batch if many is not None else 1
        slots = asyncio.Semaphore(POLL_CONCURRENCY)
        pending: set[asyncio.Task] = set()

        async def poll(chunk: list[str]) -> None:
            try:
                books = await many(chunk) if many is not None else {chunk[0]: await read(chunk[0])}
            except Exception as exc:              # the staleness rule holds the books out if reads keep failing
                log.warning("tiers.poll_failed", venue=venue_name, markets=len(chunk), first=chunk[0],
                            error=f"{type(exc).__name__}: {exc}")
                return
            finally:
                slots.release()
            now_ms = int(time.time() * 1000)
            for mid, book in books.items():
                if self.polls(f"{venue_name}:{mid}"):     # else promoted during the read: its stream's book is newer
                    # a REST answer (not stream liveness), as the venue sent it: a paper venue's
                    # answer less its fills' lots keeps the venue's as `raw` (recorded so; the
                    # paper venue cuts it again on its way to the session)
                    feed.publish(BookUpdate(getattr(book, "raw", None) or book, now_ms), fetched=True)
        clock = self.session.clock
        try:
            while True:
                started = clock()
                due = [mid for mid in ids if f"{venue_name}:{mid}" in self.slow]   # not promoted meanwhile
                for k in range(0, len(due), size):
                    await slots.acquire()
                    await feed.limiter.acquire(1.0)
                    task = asyncio.create_task(poll(due[k:k + size]))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                if pending:
                    await asyncio.gather(*pending)
                await asyncio.sleep(max(0.0, self.slow_poll_s - (clock() - started)))
        finally:
            for task in pending:
                task.cancel()
