"""A paper account is settled as its venue settles a real one: a market resolved on a venue that
pays at settlement (Kalshi) pays the paper account its position's payout and drops the position;
one whose tokens wait for a redemption (Polymarket) stays held. Reconciliation of the paper
database then finds no difference either way."""
from __future__ import annotations

import asyncio

from arbbot.model import Venue
from arbbot.venues.common.model import Resolution
from tests.paper.test_venue import START, DataOnly, buy, ledger, on_kalshi_book  # noqa: F401 (fixture)


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
    async def main():
        _, paper = await on_kalshi_book(ledger)
        await paper.place_order(buy(1_000, 4_300, "x-L0E0"))
        before = (await paper.balance()).cash_micros
        paper.inner = Resolving([Resolution(Venue.KALSHI, "K", "no", 0, 7, paid=False)])
        paper.resolutions = paper._resolutions
        assert [r.paid for r in await paper.resolutions(["K"])] == [False]
        assert (await paper.balance()).cash_micros == before
        assert [(p.market_id, p.yes_lots) for p in await paper.positions()] == [("K", 1_000)]
        assert ledger.store.paper_settlements("kalshi") == {}
    asyncio.run(main())
