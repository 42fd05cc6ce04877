"""Kalshi's 2026 fee rounding in the simulator (docs.kalshi.com/getting_started/fee_rounding,
factsheet §1 "Rounding (2026)"): per fill, the trade fee rounded up to $0.0001; the balance change
floored to the member's precision ($0.01), the difference charged as a rounding fee; a per-order
accumulator refunds $0.01 on the fill that takes it above $0.01. Units: ticks ($0.0001), lots
(0.01 contract), µ$."""
from __future__ import annotations

import pytest

from arbbot.sim.engine.matching import HOUSE, Exchange, FeeModel, MarketState
from arbbot.sim.scenarios import build, make_markets
from arbbot.venues.kalshi.fees import ROUNDING_ALLOWANCE_MICROS, fill_fees


def fills_of(fees: FeeModel, ppm: int, fills: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(net fee, accumulator after) of each (lots, price) fill of one order, in order."""
    out, acc = [], 0
    for lots, price in fills:
        fee, acc = fees.fill_fee(ppm, lots, price, acc)
        out.append((fee, acc))
    return out


# Kalshi's worked examples, their trade fees reproduced by a rate that rounds up to them
# (the page's fees illustrate the mechanics; they are not 0.07 × p(1 − p)): (rate ppm, fills
# (lots, price ticks), expected (net fee µ$, accumulator µ$) per fill, balance change per fill µ$:
# the page's "Balance Change" column, −$0.07 / −$0.16 / −$0.02, is before a fill's rebate)
DOC = {
    "subpenny": (162_000, [(100, 550)] * 3, [(15_000, 6_500), (5_000, 3_000), (15_000, 9_500)],
                 [-70_000, -60_000, -70_000]),
    "fractional": (54_000, [(30, 5_000)] * 3, [(10_000, 5_900), (0, 1_800), (10_000, 7_700)],
                   [-160_000, -150_000, -160_000]),
    "both": (70_000, [(3, 3_301)] * 3, [(10_097, 9_597), (97, 9_194), (97, 8_791)],
             [-20_000, -10_000, -10_000]),
}


@pytest.mark.parametrize("case", list(DOC))
def test_the_venues_worked_examples(case):
    ppm, fills, expected, change = DOC[case]
    fees = FeeModel.kalshi(ppm, 0)
    got = fills_of(fees, ppm, fills)
    assert got == expected
    # every fill moves the balance by whole cents: its cost and net fee together
    assert [-(lots * price) - fee for (lots, price), (fee, _acc) in zip(fills, got)] == change


def test_an_order_filled_by_three_resting_orders_pays_a_cent_more_than_one_rounded_once():
    """Buy 3 YES at 5¢ against three one-contract NO bids at 95¢ (0.07 × 0.05 × 0.95 = $0.003325
    a contract). Each fill: trade fee $0.0034, balance change −$0.0534 floored to −$0.06, rounding
    fee $0.0066; the second fill's accumulator ($0.0132) refunds $0.01. Net fees 1¢, 0¢, 1¢: the
    order costs $0.17, where ARBITRAGE.md's model (rounded up once per order, ceil($0.009975))
    says $0.16. One fill of 3 contracts costs the model's $0.16."""
    def order(house_orders: int) -> tuple[int, int]:
        ex = Exchange(lambda: 1_000)
        ex.add_market(MarketState("M", FeeModel.kalshi(70_000, 0)))
        ex.account("u", 1_000_000_000)
        for _ in range(house_orders):
            ex.place(HOUSE, "M", "no", "buy", 9_500, 300 // house_orders)
        o, fills = ex.place("u", "M", "yes", "buy", 500, 300, "ioc")
        assert o.status == "executed" and [f.fee for f in fills if f.is_taker] == \
            ([10_000, 0, 10_000] if house_orders == 3 else [10_000])
        return o.taker_fee, 1_000_000_000 - ex.accounts["u"].balance
    assert order(3) == (20_000, 170_000)
    assert order(1) == (10_000, 160_000)


def test_kalshis_schedule_in_the_simulator_is_the_2026_rule():
    ex = Exchange(lambda: 1_000)
    make_markets(build("all", 1), "kalshi", ex)
    assert ex.markets and {(m.fees.rounding_micros, m.fees.balance_micros) for m in ex.markets.values()} == {(10_000, 10_000)}


def test_sub_cent_fills_converge_to_one_fills_fee():
    """Ten one-contract fills at 9.1¢ (a deci-cent market): each fill's fee is under a cent
    ($0.0058 trade + $0.0032 rounding), the accumulator refunds $0.01 each time it passes $0.01.
    The order pays $0.06, what one fill of 10 contracts rounded up once costs; each fill's balance
    change is whole cents. Before (review of the first version): the refund waited for a fill whose
    fee reached $0.01, none did, and the order paid $0.09."""
    fees = fill_fees(70_000, [(910, 100)] * 10)
    assert fees == [9_000, 9_000, 9_000, -1_000, 9_000, 9_000, -1_000, 9_000, 9_000, -1_000]
    assert sum(fees) == 60_000 and all((910 * 100 + f) % 10_000 == 0 for f in fees)


def test_the_simulator_and_the_bots_model_of_the_venue_agree():
    """The simulator (the venue here) and `venues.kalshi.fees.fill_fees` (what paper trading and
    the trader's allowance assume) are written apart on purpose; they must agree, fill by fill."""
    import random
    rng = random.Random(7)
    model = FeeModel.kalshi(0, 0)
    for _ in range(2_000):
        rate = rng.choice([70_000, 17_500, 23_334, 162_000])
        fills = [(rng.randint(1, 9_999), rng.randint(1, 2_000)) for _ in range(rng.randint(1, 12))]
        acc, sim = 0, []
        for price, lots in fills:
            fee, acc = model.fill_fee(rate, lots, price, acc)
            sim.append(fee)
        assert sim == fill_fees(rate, [(p, q) for p, q in fills]), fills
        assert sum(sim) - (-(-sum(rate * q * p * (10_000 - p) for p, q in fills) // 10**12) * 100) \
            <= ROUNDING_ALLOWANCE_MICROS + 100 * max(0, len(fills) - 10)


def test_a_resting_order_on_a_maker_fee_market_reserves_its_remaining_fee():
    """A YES bid at 50¢ × 100 rests on a maker-fee market; the house takes 10 contracts nine times.
    Before (review of the first version), the per-fill fees no longer fed the order's accumulator
    the reservation reads: it fell to $46.50 for $50 of remaining bid. Now: $50, its maker fee
    ($0.04375 → $0.05) and $0.01 of rounding."""
    ex = Exchange(lambda: 1_000)
    ex.add_market(MarketState("M", FeeModel.kalshi(70_000, 17_500)))
    ex.account("u", 1_000_000_000)
    o, _ = ex.place("u", "M", "yes", "buy", 5_000, 10_000, "gtc")
    for _ in range(9):
        ex.place(HOUSE, "M", "no", "buy", 5_000, 1_000, "ioc")
    assert (o.remaining, ex.accounts["u"].held) == (1_000, 5_000_000 + 50_000 + 10_000)
