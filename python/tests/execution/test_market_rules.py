"""The rules an order is priced on: a venue whose rules change while it streams says so through
`market_info` (Polymarket's `tick_size_change`), and the executor and the paper wrapper read them
for every order; a venue without it keeps the rules its route was given."""
from __future__ import annotations

import asyncio
from dataclasses import replace

from arbbot.execution import Executor, OrderStore, Route
from arbbot.model import MarketInfo, Venue, floor_price
from arbbot.paper.venue import PaperVenue

OLD = MarketInfo(Venue.POLYMARKET, "m", "Will it rain?", tick_ticks=100)      # 1¢ grid
NEW = replace(OLD, tick_ticks=10)                                              # 0.1¢ after the change


class Streaming:
    venue = "polymarket"

    def market_info(self, market_id: str) -> MarketInfo | None:
        return NEW if market_id == "m" else None


class Plain:
    venue = "polymarket"


def test_the_executor_prices_on_the_venues_current_rules(tmp_path):
    store = OrderStore(tmp_path / "o.db")
    ex = Executor(store, {"polymarket:m": Route(Streaming(), "m", OLD), "polymarket:p": Route(Plain(), "m", OLD)})
    now, kept = asyncio.run(ex._info("polymarket:m")), asyncio.run(ex._info("polymarket:p"))
    store.close()
    assert (now, kept) == (NEW, OLD)
    # a sale priced at 30.57¢ floors to 30¢ on the stale 1¢ grid, to 30.5¢ on the current one
    assert (floor_price(OLD, 3057), floor_price(now, 3057)) == (3000, 3050)


def test_the_paper_wrapper_forwards_the_current_rules():
    paper = PaperVenue.__new__(PaperVenue)          # only the rules lookup: no account or latency
    paper.inner, paper.markets = Streaming(), {"m": OLD, "x": OLD}
    assert (paper.market_info("m"), paper.market_info("x"), paper.market_info("y")) == (NEW, OLD, None)
