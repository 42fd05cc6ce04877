"""Property: any valid stream of market-channel frames applied to the adapter's shadow books equals
the book rebuilt from a fresh REST snapshot, and every hash the venue sends verifies.

The stream comes from the simulator's own serializer driven by random engine activity (resting
orders, crossing orders, cancels, requotes); frames are fed to the adapter's frame handler (the
same entry point the WebSocket uses). A second property drives `TokenBook` with arbitrary
absolute-size changes against a plain dict model.
"""
from __future__ import annotations

import asyncio
import copy
import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from py_clob_client_v2.utilities import generate_orderbook_summary_hash, parse_raw_orderbook_summary
from hypothesis import strategies as st

from arbbot.sim.polymarket import PolymarketSim
from arbbot.sim.scenarios import build
from arbbot.venues.polymarket.book import TokenBook
from arbbot.venues.polymarket.data import PolymarketDataClient
from arbbot.venues.polymarket.providers import market_info
from arbbot.venues.polymarket.schemas.gamma import parse_market
from arbbot.venues.polymarket.schemas.ws import BookMsg, parse_book

SCENARIO = build("sports", 3)


class _Tap:
    """Stands where a WebSocket connection stands in the simulator and keeps the frames."""

    def __init__(self, assets) -> None:
        self.assets = set(assets)          # subscribed to every token (the simulator builds frames for them)
        self.frames: list[str] = []

    def on_price_change(self, frame: dict) -> None:
        self.frames.append(json.dumps(frame, separators=(",", ":")))

    def on_asset_event(self, token: str, frame: dict) -> None:
        self.frames.append(json.dumps(frame, separators=(",", ":")))


op = st.one_of(
    st.tuples(st.just("place"), st.sampled_from(["yes", "no"]), st.integers(1, 99), st.integers(1, 30),
              st.sampled_from(["gtc", "ioc"])),
    st.tuples(st.just("cancel"), st.integers(0, 10_000)),
    st.tuples(st.just("step")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, max_size=25), market_ix=st.integers(0, 1))
def test_any_stream_equals_fresh_snapshot(ops, market_ix):
    sim = PolymarketSim(copy.deepcopy(SCENARIO), 3)
    tap = _Tap(sim.tokens)
    sim.connections.add(tap)
    infos = [market_info(parse_market(json.loads(json.dumps(sim.market_json(c)), parse_float=Decimal)))
             for c in sim.listings]
    dc = PolymarketDataClient("ws://127.0.0.1:9/unused", infos, None)
    cond = list(sim.listings)[market_ix]
    sim.exchange.account("trader", 10**15)

    async def main():
        await dc.on_frame(json.dumps([sim.book_event(t) for t in dc.books]), 0)
        for o in ops:
            if o[0] == "place":
                _, side, cents, n, tif = o
                sim.exchange.place("trader", cond, side, "buy", cents * 100, n * 100, tif=tif)
            elif o[0] == "cancel":
                resting = [x for x in sim.exchange.orders.values() if x.status == "resting" and x.market == cond]
                if resting:
                    x = resting[o[1] % len(resting)]
                    sim.exchange.cancel(x.account, x.order_id)
            else:
                sim.process.step()
            for f in tap.frames:
                await dc.on_frame(f, 0)
            tap.frames.clear()
    asyncio.run(main())
    assert dc.hash_mismatches == 0 and dc.malformed == 0 and dc.unverified_changes == 0
    for tok, book in dc.books.items():
        fresh = TokenBook(tok)
        rest = sim.book(tok)
        assert fresh.apply_snapshot(parse_book(rest))
        # the adapter's own hash of its shadow book is the one py-clob-client-v2 computes
        assert book.hash_at(rest["timestamp"]) == generate_orderbook_summary_hash(parse_raw_orderbook_summary(rest))
        assert book.tradeable
        assert (book.bid_levels(), book.ask_levels()) == (fresh.bid_levels(), fresh.ask_levels())


levels = st.dictionaries(st.integers(1, 99), st.integers(1, 10_000), max_size=8)


@settings(max_examples=200, deadline=None)
@given(bids=levels, asks=levels,
       changes=st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(1, 99), st.integers(0, 10_000)),
                        max_size=40))
def test_absolute_changes_match_model(bids, asks, changes):
    def s(lots):
        return f"{lots / 100:.2f}".rstrip("0").rstrip(".")
    book = TokenBook("1", "0xm")
    book.apply_snapshot(BookMsg("1", "0xm", "1", "", tuple((f"0.{p:02d}", s(q)) for p, q in bids.items()),
                                tuple((f"0.{p:02d}", s(q)) for p, q in asks.items())))
    model = {"BUY": {p * 100: q for p, q in bids.items()}, "SELL": {p * 100: q for p, q in asks.items()}}
    for side, p, q in changes:
        book.apply_change(side, f"0.{p:02d}", s(q))
        if q:
            model[side][p * 100] = q
        else:
            model[side].pop(p * 100, None)
    assert book.bid_levels() == tuple(sorted(model["BUY"].items(), reverse=True))
    assert book.ask_levels() == tuple(sorted(model["SELL"].items()))
