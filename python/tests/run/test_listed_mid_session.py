"""Markets listed after the session started: the next listing refresh adds them to the session,
to their venue's running stream (no REST, no new session) and to the engine with the relations
that name them; the trader gets their routes."""
from __future__ import annotations

import asyncio

from arbbot.engine import Engine
from arbbot.engine.twin.candidates import build_candidates
from arbbot.engine.types import Leg, Opportunity
from arbbot.run.trader import attach_paper_trader
from arbbot.run.live import AWAITING, LiveSession, connect_simulated_venues, pack, rebuilt_universe
from arbbot.sim import serve
from tests.mapping.twins import sim_twins
from tests.venues.conftest import wait_for

KALSHI = "KXFEDDECISION-26DEC-H0"


def test_markets_listed_mid_session_are_streamed_detected_and_routed(tmp_path):
    handle = serve("all", 0, step_interval=None)
    cond = next(r.ids[1] for r in sim_twins() if r.ids[0] == KALSHI)
    k_name, p_name = f"kalshi:{KALSHI}", f"polymarket:{cond}"
    markets = {"kalshi": handle.kalshi.exchange.markets[KALSHI], "polymarket": handle.polymarket.exchange.markets[cond]}
    for m in markets.values():
        m.open = False                           # not listed as active yet

    async def main():
        session = LiveSession(await connect_simulated_venues(handle), [], stale_after_s=60.0)
        try:
            await session.discover()
            assert k_name not in session.index and p_name not in session.index
            before = len(session.markets)
            trader = await attach_paper_trader(session, str(tmp_path / "orders.db"))
            assert k_name not in trader.executor.routes
            members_before = {session.universe.markets[i].name for r in session.universe.relations for i in r.members}
            session.start_streams()
            await wait_for(lambda: session.healthy() == before, what="streams")
            fetched: list[str] = []
            for venue in (session.venues["kalshi"], session.venues["polymarket"]):   # (ForecastEx streams by reading)
                real = venue.fetch_book

                async def counting(mid, real=real):
                    fetched.append(mid)
                    return await real(mid)
                venue.fetch_book = counting
            for m in markets.values():
                m.open = True                        # listed now
            changed = await session.refresh_listings()
            assert changed and len(session.markets) == before + 2
            assert session.held.get(k_name) in (AWAITING, None)
            await wait_for(lambda: session.healthy() == before + 2, timeout=20, what="the listed markets' snapshots")
            books = {name: session.books[name] for name in (k_name, p_name)}
            rest = {k_name: pack(await session.venues["kalshi"].fetch_book(KALSHI)),
                    p_name: pack(await session.venues["polymarket"].fetch_book(cond))}
            feeds = {v: session.venues[v].feed.market_ids for v in ("kalshi", "polymarket")}
            full = Engine(rebuilt_universe(session), engine=session.engine_choice).scan().opportunities
            routes = trader.executor.routes
            assert routes[k_name].market_id == KALSHI and routes[p_name].market_id == cond
            assert trader.event_of(k_name) == "kalshi:KXFEDDECISION-26DEC"
            # the sizer knows them too: an opportunity on the Kalshi market (its YES + NO, 1 contract)
            # reaches the chain, which refuses it for its books (a consistent book has no edge), instead
            # of being refused as naming a market the sizer does not know (before: KeyError on the name)
            names = [m.name for m in session.universe.markets]
            intra = next(c for c in build_candidates(session.universe) if names[c.legs[0][0]] == k_name)
            opp = Opportunity(intra.id_hex, intra.lane, intra.kind, 100, 1_000_000, 900_000, 0, 100_000,
                              tuple(Leg(names[m], side, 100, 0, 0, 0) for m, side in intra.legs))
            refused = trader.sizer.size(opp).error
            assert refused.startswith("sizing input: opportunity 0: a quantity") and k_name not in refused, refused
            return session, before, members_before, fetched, books, rest, feeds, full
        finally:
            await session.close()
    try:
        session, before, members_before, fetched, books, rest, feeds, full = asyncio.run(
            asyncio.wait_for(main(), 120))
    finally:
        handle.stop()
    assert fetched == [KALSHI, cond]                 # only the test's own REST reads: books came streamed
    assert books == rest                             # the streamed books are the venue's
    assert KALSHI in feeds["kalshi"] and cond in feeds["polymarket"]
    names = [m.name for m in session.universe.markets]
    assert names[before:] == [k_name, p_name] and len(names) == before + 2
    members = {names[i] for r in session.universe.relations for i in r.members}
    assert k_name in members and p_name in members and not {k_name, p_name} & members_before
    assert [o.id for o in session.engine.scan().opportunities] == [o.id for o in full]
    assert session.errors == []
