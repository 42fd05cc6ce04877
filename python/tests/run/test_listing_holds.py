"""A mapped market that stops trading mid-session is held, and its relations dropped.

A listing refresh (`LiveSession.refresh_listings`) that reports a known market inactive (Gamma
closed / not accepting orders, a Kalshi status other than open), or — for a venue that states its
listing complete (`complete_listing`) — no longer lists it, holds it out of detection whatever its
books say, with reason "closed: …", and drops every relation naming it. A refresh that fails holds
nothing; a venue whose listing may be partial holds nothing for an absence. A later refresh that
lists it active again releases it (awaiting a fresh book) and its relations come back.
"""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from arbbot.mapping.table import HEADER, parse_mappings
from arbbot.model import Book, FeeSchedule, MarketInfo
from arbbot.run.live import AWAITING, LiveSession
from arbbot.venues.common.model import BookUpdate, Venue

K = MarketInfo(Venue.KALSHI, "K1", "Will X happen?", fees=FeeSchedule(70_000, 0, 10_000),
               closes_at="2026-12-31T00:00:00Z")
P = MarketInfo(Venue.POLYMARKET, "0xP1", "Will X happen?", fees=FeeSchedule(0, 0, 10), yes_token="1", no_token="2",
               closes_at="2026-12-31T00:00:00Z")
BOOKS = {"K1": Book(yes_bids=((4000, 10000),), no_bids=((5500, 10000),), market=K.id),
         "0xP1": Book(yes_bids=((4400, 10000),), yes_asks=((4700, 10000),), no_bids=((4800, 10000),),
                      no_asks=((5000, 10000),), market=P.id)}
CLOSED = "closed: no longer active on the venue"
GONE = "closed: no longer listed by the venue"
SAME = {"kind": "same", "a": "kalshi:K1", "b": "polymarket:0xP1", "confidence": "0.99"}


class Stub:
    def __init__(self, name, markets):
        self.venue, self.markets, self.fail = name, markets, None

    async def discover_markets(self):
        if self.fail is not None:
            raise self.fail
        return list(self.markets)

    async def discover_events(self):
        return []

    async def fetch_book(self, mid):
        return BOOKS[mid]

    async def close(self):
        pass


class Complete(Stub):
    complete_listing = True


class Wrapper(Stub):
    """A paper venue's shape: the adapter as `inner`, its listing passed through (no
    `complete_listing` of its own)."""
    def __init__(self, inner):
        super().__init__(inner.venue, [])
        self.inner = inner

    async def discover_markets(self):
        return await self.inner.discover_markets()


def opportunity_markets(session) -> set[str]:
    return {leg.market for o in session.current_opportunities() for leg in o.legs}


async def started(polymarket) -> LiveSession:
    rows = parse_mappings([",".join(HEADER), "K1,0xP1,,same,0.99"], "m.csv")
    session = LiveSession({"kalshi": Stub("kalshi", [K]), "polymarket": polymarket}, rows, min_profit=1)
    await session.discover()
    assert session._relations == [SAME]
    assert opportunity_markets(session) == {"kalshi:K1", "polymarket:0xP1"}
    return session


def test_a_market_the_refresh_reports_inactive_is_held_and_its_relations_dropped() -> None:
    """The reviewer's r5: Gamma now lists the mapped market closed; it used to stay in detection
    (its last book, the cross 'arb' with it) for the rest of the session."""
    async def go():
        pv = Stub("polymarket", [P])
        session = await started(pv)
        pv.markets = [dataclasses.replace(P, active=False)]
        assert await session.refresh_listings() is True
        assert session.held == {"polymarket:0xP1": CLOSED}
        assert session.closed == {"polymarket:0xP1": CLOSED}
        assert session._relations == [] and session.universe.relations == ()
        assert opportunity_markets(session) == set()
        # a book the venue still sends (trusted by the adapter) does not bring it back
        session.on_book(BookUpdate(BOOKS["0xP1"]))
        assert session.held["polymarket:0xP1"] == CLOSED
        assert opportunity_markets(session) == set()
        assert session.resnapshot_quiet() == {}
        # a refresh that reads it closed again changes nothing
        assert await session.refresh_listings() is False
        return session
    session = asyncio.run(go())
    assert session.healthy() == 1


def test_a_refresh_that_fails_holds_nothing() -> None:
    async def go():
        pv = Stub("polymarket", [P])
        session = await started(pv)
        session.venues["kalshi"].markets = [dataclasses.replace(K, active=False)]
        pv.fail = RuntimeError("gamma 503")          # read after kalshi: nothing may be applied
        with pytest.raises(RuntimeError):
            await session.refresh_listings()
        return session
    session = asyncio.run(go())
    assert session.held == {} and session.closed == {}
    assert session._relations == [SAME]
    assert opportunity_markets(session) == {"kalshi:K1", "polymarket:0xP1"}


def test_an_absence_counts_only_from_a_venue_stating_its_listing_complete() -> None:
    async def go(venue):
        session = await started(venue)
        venue_inner = getattr(venue, "inner", venue)
        venue_inner.markets = []                     # no longer listed
        changed = await session.refresh_listings()
        return session, changed
    partial, changed = asyncio.run(go(Stub("polymarket", [P])))
    assert changed is False and partial.held == {} and partial._relations == [SAME]
    for venue in (Complete("polymarket", [P]), Wrapper(Complete("polymarket", [P]))):
        complete, changed = asyncio.run(go(venue))
        assert changed is True
        assert complete.held == {"polymarket:0xP1": GONE}
        assert complete._relations == [] and opportunity_markets(complete) == set()


def test_a_market_listed_active_again_is_released_and_its_relations_come_back() -> None:
    async def go():
        pv = Stub("polymarket", [P])
        session = await started(pv)
        pv.markets = [dataclasses.replace(P, active=False)]
        await session.refresh_listings()
        assert session._relations == []
        pv.markets = [P]
        assert await session.refresh_listings() is True
        assert session.closed == {}
        assert session.held == {"polymarket:0xP1": AWAITING}     # until a fresh book
        assert session._relations == [SAME]
        session.on_book(BookUpdate(BOOKS["0xP1"]))
        return session
    session = asyncio.run(go())
    assert session.held == {}
    assert opportunity_markets(session) == {"kalshi:K1", "polymarket:0xP1"}


def test_closing_a_market_of_the_first_relation_keeps_the_others_and_their_sources() -> None:
    """Two mapped pairs; the first one's Polymarket market closes. Its relation is dropped and the
    second kept with its own source (the closing read the sources after shortening the relations:
    IndexError, the engine never rebuilt, the closed market's book and relation left in detection)."""
    K2 = dataclasses.replace(K, market_id="K2", title="Will Y happen?")
    P2 = dataclasses.replace(P, market_id="0xP2", title="Will Y happen?", yes_token="3", no_token="4")
    BOOKS.update({"K2": dataclasses.replace(BOOKS["K1"], market=K2.id),
                  "0xP2": dataclasses.replace(BOOKS["0xP1"], market=P2.id)})
    second = {"kind": "same", "a": "kalshi:K2", "b": "polymarket:0xP2", "confidence": "0.99"}

    async def go():
        pv = Stub("polymarket", [P, P2])
        rows = parse_mappings([",".join(HEADER), "K1,0xP1,,same,0.99", "K2,0xP2,,same,0.99"], "m.csv")
        session = LiveSession({"kalshi": Stub("kalshi", [K, K2]), "polymarket": pv}, rows, min_profit=1)
        await session.discover()
        assert session._relations == [SAME, second]
        sources = list(session._sources_now())
        assert opportunity_markets(session) == {"kalshi:K1", "polymarket:0xP1", "kalshi:K2", "polymarket:0xP2"}
        pv.markets = [dataclasses.replace(P, active=False), P2]
        assert await session.refresh_listings() is True
        assert session.closed == {"polymarket:0xP1": CLOSED}
        assert session._relations == [second] and session._sources == sources[1:]
        assert len(session.universe.relations) == 1
        assert opportunity_markets(session) == {"kalshi:K2", "polymarket:0xP2"}
        return session
    try:
        asyncio.run(go())
    finally:
        for mid in ("K2", "0xP2"):
            BOOKS.pop(mid, None)
