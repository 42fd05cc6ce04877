"""A paper account is settled as its venue settles a real one: a market resolved on a venue that
pays at settlement (Kalshi) pays the paper account its position's payout and drops the position;
one whose tokens wait for a redemption (Polymarket) stays held. Reconciliation of the paper
database then finds no difference either way."""
from __future__ import annotations

import asyncio

from arbbot.model import Book, FeeSchedule, MarketInfo, Venue
from arbbot.paper import PaperVenue
from arbbot.venues.common.model import Resolution
from tests.paper.test_venue import START, DataOnly, _nap, buy, ledger, on_kalshi_book  # noqa: F401 (fixture)


class Resolving(DataOnly):
    """The data-only adapter, publishing `results` for the markets asked about."""

    def __init__(self, results: list[Resolution]) -> None:
        super().__init__()
        self.results = results

    async def resolutions(self, market_ids):
        return [r for r in self.results if r.market_id in market_ids]


def test_a_paper_account_is_paid_for_a_market_its_venue_pays_out(ledger):  # noqa: F811
    async def main():
        _, paper = await on_kalshi_book(ledger)
        order = await paper.place_order(buy(1_000, 4_300, "x-L0E0"))         # 10 YES at ≤ 43¢
        assert order.filled_lots == 1_000
        before = (await paper.balance()).cash_micros
        paper.inner = Resolving([Resolution(Venue.KALSHI, "K", "yes", 10_000, 7, paid=True)])
        paper.resolutions = paper._resolutions
        assert [r.paid for r in await paper.resolutions(["K"])] == [True]
        assert (await paper.balance()).cash_micros == before + 1_000 * 10_000   # 10 × $1
        assert await paper.positions() == []
        await paper.resolutions(["K"])                                       # asked again: paid once
        assert (await paper.balance()).cash_micros == before + 10_000_000
        assert ledger.store.paper_settlements("kalshi") == {"K": 10_000_000}
        return before
    before = asyncio.run(main())
    assert before < START


def test_a_paper_account_keeps_a_position_its_venue_does_not_pay_out_yet(ledger):  # noqa: F811
    """Polymarket's tokens stay held after the market resolves (until redeemed, which a paper
    account never is). (A Kalshi result is paid whatever its `paid` says: `paid` tells whether
    the real account was paid, and Kalshi pays every position at settlement.)"""
    poly = MarketInfo(Venue.POLYMARKET, "K", "K?", fees=FeeSchedule(), lot_lots=1)

    class PolyResolving(Resolving):
        def __init__(self) -> None:
            DataOnly.__init__(self, poly, "polymarket")
            self.results = [Resolution(Venue.POLYMARKET, "K", "no", 0, 7, paid=False)]

    async def main():
        paper = PaperVenue(PolyResolving(), ledger, latency_ms=0, sleep=_nap)
        await paper.discover_markets()
        paper.books["K"] = Book(yes_asks=((4_300, 1_000),), no_bids=((5_700, 1_000),), market=poly.id)   # mirrored
        await paper.place_order(buy(1_000, 4_300, "x-L0E0"))
        before = (await paper.balance()).cash_micros
        assert [r.paid for r in await paper.resolutions(["K"])] == [False]
        assert (await paper.balance()).cash_micros == before == START - 4_300_000
        assert [(p.market_id, p.yes_lots) for p in await paper.positions()] == [("K", 1_000)]
        assert ledger.store.paper_settlements("polymarket") == {}
    asyncio.run(main())
