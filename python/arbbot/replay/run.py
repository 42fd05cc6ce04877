"""One replay of a recording under one configuration: the paper bot (detection, sizing, risk
gates, executor, order store, local fills) on the recorded books, in virtual time.

Deterministic: the loop runs on virtual time (`vloop`), every component reads the virtual clock,
execution ids come from a PRNG seeded here, listings are not re-read, and each paper order waits a
fixed latency (`paper_latency_ms`, default `DEFAULT_LATENCY_MS`) instead of a measured one. The
result holds only what follows from the input (no timings).

As the session ran: books start as the stream delivers them (snapshot start: a market is held out
until its first record; nothing is read ahead of the virtual clock), and the generated twins join
at the moment the session had them (its `mappings` records). A recording from before those
records has its twins matched here, before the first book (in this thread: the same every time).
A listing refresh that changed something is replayed as it happened: the markets it found listed
join when the session added them (`listed` records; their books stream from then on), known
markets whose fee schedule changed are re-priced when the session re-priced them (`repriced`), and
the rules from the bodies it re-read, with its twins, apply when the session applied them
(`listings`).
The user's mapping rows and rules the session traded (the header's) are traded here too.

The session takes the configuration's settings as `arbbot run` gives them (`session_options`),
but those about reading the venues (`NOT_REPLAYED`): a replay streams every recorded book from
its first record and applies the listing refreshes the session made, when it made them."""
from __future__ import annotations

import asyncio
import random
from pathlib import Path

from arbbot.config import Settings, usd
from arbbot.run.options import session_options
from arbbot.replay.format import Recording
from arbbot.replay.venue import BookSource, ReplayVenue
from arbbot.replay.vloop import VirtualClock, run_virtual

DEFAULT_LATENCY_MS = 50.0     # a paper order's wait when the configuration sets no paper_latency_ms
GRACE_S = 30.0                # virtual seconds after the last book for executions in flight to end
SEED = 0
# settings about reading the venues, which the recording fixed: a configuration setting them is
# told they are not replayed (`not_replayed`)
NOT_REPLAYED = ("snapshot_start", "tiers", "slow_poll_s", "forecastex_market_data_lines", "listings_refresh_s")


def not_replayed(settings: Settings) -> list[str]:
    """The NOT_REPLAYED keys `settings` sets (its file's own, not the defaults)."""
    return [key for key in NOT_REPLAYED if key in settings.model_fields_set]


def replay(recording: Recording, settings: Settings, workdir: Path, *, engine: str | None = None,
           cache_dir: Path | None = None, read: dict | None = None, on_progress=None) -> dict:
    """Replay `recording` with `settings` (a fresh paper order store in `workdir`); the result.
    `read`, when given, receives what the pass over the file counted: books, venue_books,
    frames, last_ms. `on_progress(bytes read, books)` is called as the file is read."""
    clock = VirtualClock(recording.started_ms / 1000)
    random.seed(SEED)
    return run_virtual(_replay(recording, settings, workdir, clock, engine, cache_dir, read, on_progress), clock)


async def _replay(recording, settings, workdir, clock, engine, cache_dir, read, on_progress) -> dict:
    from arbbot.paper import PaperVenue, open_ledger
    from arbbot.run.live import LiveSession
    from arbbot.run.trader import attach_paper_trader

    db = str(workdir / "replay.db")
    ledger = open_ledger(db, usd(settings.paper_cash_usd), durability="process")
    latency = settings.paper_latency_ms if settings.paper_latency_ms is not None else DEFAULT_LATENCY_MS
    source = BookSource(recording, clock, engine=engine)   # the book records, read from the file as the replay goes
    source.on_progress = on_progress
    feeds = {name: ReplayVenue(name, recording, clock, source) for name in recording.markets}
    venues = {name: PaperVenue(feed, ledger, latency_ms=latency, clock=clock.time) for name, feed in feeds.items()}
    session = LiveSession(venues, recording.user_mappings, rules=recording.rules, engine=engine, clock=clock.time,
                          generate=False, refresh_s=0.0, snapshot_start=True, **session_options(settings))
    try:
        await session.discover()
        loop, reader, generate = asyncio.get_running_loop(), source.reader, settings.generate_mappings

        def at(at_ms: int, call, *args) -> None:     # as the session did it, at that moment
            loop.call_later(max(0.0, at_ms / 1000 - clock.time()), call, *args)
        if generate and recording.recorded_mappings:     # when the session had them
            reader.on_mappings = lambda at_ms, twins: at(at_ms, session.apply_generated, twins)
        elif generate:                      # before the first book, in this thread: the same twins every time
            session.apply_generated(_twins(session.listings, cache_dir))
        listing: list[asyncio.Task] = []
        reader.on_listed = lambda at_ms, markets: _listed(at, at_ms, session, feeds, markets, listing)
        reader.on_repriced = lambda at_ms, markets: _repriced(at, at_ms, session, markets)
        reader.on_listings = lambda at_ms, digest, bodies, twins: at(
            at_ms, _relisted, session, feeds, digest, bodies, twins if generate else None)
        trader = await attach_paper_trader(session, db, settings, clock=clock.time)
        session.book_sampler = None         # the scanner took the samples of every record
        if trader.sizer is not None:        # the samples stay in memory: this store is thrown away
            trader.sizer.samples.persist = False
            source.on_samples = trader.sizer.samples.add_scanned
        session.start_streams()
        for feed in feeds.values():
            await feed.finished.wait()
        if source.failure is not None:      # a bad record reached mid-replay (the file changed since it was read)
            raise source.failure
        await asyncio.sleep(GRACE_S)
        await trader.drain()
        if read is not None:
            read.update(books=source.books, venue_books=dict(sorted(source.venue_books.items())),
                        frames=source.frames, last_ms=source.last_ms, cut_short=source.reader.cut_short)
        return _result(session, trader, feeds) | {"paper_latency_ms": latency}
    finally:
        await session.close()
        ledger.close()
        source.close()


def _listed(at, at_ms: int, session, feeds: dict, markets: list, tasks: list) -> None:
    """A `listed` record, as it is read: the venues stream the markets' books (they follow in the
    file), and the markets join the session half a millisecond before `at_ms` — after every book
    the session had before them, before any of theirs (their first arrived in that millisecond
    at the earliest)."""
    for feed in feeds.values():
        feed.listed(markets)
    at(at_ms - 0.5, lambda: tasks.append(asyncio.ensure_future(session.add_markets(markets))))


def _repriced(at, at_ms: int, session, markets: list) -> None:
    """A `repriced` record: at `at_ms` the markets are re-priced as the session re-priced them
    (its paper venues tell the replayed ones: discovery lists them with their new schedules)."""
    at(at_ms, session.reprice_markets, markets)


def _relisted(session, feeds: dict, digest: str, bodies: dict, twins: list | None) -> None:
    """A `listings` record: the rules from the bodies as re-read, and the twins, applied."""
    from arbbot.mapping.generate import session_listings
    for name, feed in feeds.items():
        feed.relisted(bodies.get(name, []))
    session.apply_listings(session_listings(session.venues), digest, twins)


def _twins(listings: dict, cache_dir: Path | None) -> list:
    """The twins matched now from the recording's listings (cached in `cache_dir`)."""
    from arbbot.mapping.generate import generated_mappings
    return generated_mappings(listings, cache_dir).rows


def _result(session, trader, feeds) -> dict:
    """What a replay produced: executions by final state, locked-in and realised PnL (µ$), the
    largest drop of cumulative PnL over the executions in order, the fill rate of entry orders.
    (`replay` adds `paper_latency_ms`, each paper order's wait: the recording does not carry the
    live run's, and what trades depends on it.)"""
    store = trader.store
    executions = store.executions()
    ordered = filled = 0
    for x in executions:
        for intent in store.intents(x.id):
            if intent.role == "entry":
                ordered += intent.qty
                # lots a venue filled beyond the order's size (Polymarket's budget BUY at cheaper
                # levels) are held extra, not a fuller fill: the rate is at most 1
                filled += min(intent.qty, sum(f.qty for f in store.fills(intent.client_order_id)))
    peak = cumulative = drawdown = 0
    for pnl in trader.stats.pnl_path:
        cumulative += pnl
        peak = max(peak, cumulative)
        drawdown = max(drawdown, peak - cumulative)
    st = trader.stats
    return {"books": sum(f.delivered for f in feeds.values()),
            "coalesced": sum(f.coalesced for f in feeds.values()), "markets": len(session.markets),
            "relations": len(session.universe.relations), "found": dict(sorted(session.stats.found.items())),
            "executions": dict(sorted(st.executions.items())), "skipped": dict(sorted(st.skipped.items())),
            "locked_in_micros": st.locked_in, "realised_micros": st.realised,
            "max_drawdown_micros": drawdown,
            "fill_rate": round(filled / ordered, 6) if ordered else None,
            "orders": {"entry_lots": ordered, "filled_lots": filled}}
