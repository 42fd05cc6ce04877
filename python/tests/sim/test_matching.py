"""The simulator's matching engine: complementary matching, partial fills, fees, balances."""
from __future__ import annotations

import pytest

from arbbot.sim.engine.matching import (
    HOUSE, BookDelta, Exchange, FeeModel, MarketState, SelfTradeCancel, SimOrder, SimReject, TradeEvent,
)

KALSHI_FEES = FeeModel(70_000, 0, 10_000)


def ex_with(fees=KALSHI_FEES):
    ex = Exchange(lambda: 1_000)
    ex.add_market(MarketState("M", fees))
    ex.account("u", 1_000 * 1_000_000)
    return ex


@pytest.mark.parametrize("contracts,cents,fee_cents", [(1, 50, 2), (100, 50, 175), (10, 50, 18), (100, 40, 168),
                                                        (1, 1, 1), (25, 62, 42)])
def test_kalshi_fee_examples(contracts, cents, fee_cents):
    """spec/ARBITRAGE.md "Fees" examples, per order rounded up to the cent."""
    ex = ex_with()
    ex.place(HOUSE, "M", "no", "buy", 10_000 - cents * 100, contracts * 100)
    o, fills = ex.place("u", "M", "yes", "buy", cents * 100, contracts * 100, "ioc")
    assert o.status == "executed" and o.taker_fee == fee_cents * 10_000
    assert ex.accounts["u"].balance == 1_000_000_000 - contracts * cents * 10_000 - fee_cents * 10_000


def test_fee_rounded_per_order_across_levels():
    ex = ex_with()
    ex.place(HOUSE, "M", "no", "buy", 5000, 500)
    ex.place(HOUSE, "M", "no", "buy", 4900, 500)
    o, fills = ex.place("u", "M", "yes", "buy", 5100, 1000, "ioc")
    # raw = 0.07×5×0.5×0.5 + 0.07×5×0.51×0.49 = 0.0875 + 0.087465 = 0.174965 → $0.18
    assert o.taker_fee == 180_000 and o.taker_cost == 500 * 5000 + 500 * 5100
    assert [f.price for f in fills if f.is_taker] == [5000, 5100]


def test_complementary_matching_at_maker_price_and_time_priority():
    ex = ex_with(FeeModel())
    a, _ = ex.place(HOUSE, "M", "no", "buy", 4000, 300)
    b, _ = ex.place(HOUSE, "M", "no", "buy", 4000, 300)
    # YES buy at 65¢ crosses NO bids ≥ 35¢ at the maker's price: pays 60¢
    o, fills = ex.place("u", "M", "yes", "buy", 6500, 400, "gtc")
    assert o.status == "executed" and o.taker_cost == 400 * 6000
    assert a.status == "executed" and b.remaining == 200
    assert ex.accounts["u"].positions["M"] == 400
    assert ex.markets["M"].levels("no") == {4000: 200}


def test_partial_fill_rests_remainder_then_cancel():
    ex = ex_with(FeeModel())
    ex.place(HOUSE, "M", "yes", "buy", 3000, 100)
    o, _ = ex.place("u", "M", "no", "buy", 7000, 500, "gtc")
    assert (o.filled, o.remaining, o.status) == (100, 400, "resting")
    assert ex.markets["M"].levels("no") == {7000: 400}
    c, reduced = ex.cancel("u", o.order_id)
    assert reduced == 400 and c.status == "canceled" and ex.markets["M"].levels("no") == {}
    with pytest.raises(SimReject):
        ex.cancel("u", o.order_id)


def test_fok_all_or_nothing_and_rejects():
    ex = ex_with(FeeModel())
    ex.place(HOUSE, "M", "yes", "buy", 3000, 100)
    o, fills = ex.place("u", "M", "no", "buy", 7000, 500, "fok")
    assert o.status == "canceled" and o.filled == 0 and not fills
    with pytest.raises(SimReject) as e:
        ex.place("u", "M", "no", "buy", 7000, 100, post_only=True)
    assert e.value.code == "post_only_cross"
    with pytest.raises(SimReject) as e:
        ex.place("u", "M", "no", "buy", 7050, 100)
    assert e.value.code == "invalid_price"
    ex.accounts["u"].balance = 100
    with pytest.raises(SimReject) as e:
        ex.place("u", "M", "no", "buy", 2000, 100)
    assert e.value.code == "insufficient_balance"


def test_sell_is_buy_of_other_side_and_nets_position():
    ex = ex_with(FeeModel())
    ex.place(HOUSE, "M", "no", "buy", 4000, 1000)
    ex.place("u", "M", "yes", "buy", 6000, 1000, "ioc")
    assert ex.accounts["u"].positions["M"] == 1000
    ex.place(HOUSE, "M", "yes", "buy", 5500, 1000)
    bal = ex.accounts["u"].balance
    o, _ = ex.place("u", "M", "yes", "sell", 5500, 1000, "ioc")     # = buy NO at 45¢
    assert o.side == "no" and o.status == "executed"
    assert ex.accounts["u"].positions["M"] == 0
    assert ex.accounts["u"].balance == bal - 1000 * 4500 + 10 * 1_000_000   # 10 pairs pay $10


def test_where_pairs_are_not_netted_tokens_are_held_side_by_side_and_a_sale_needs_them():
    """Polymarket (`nets_pairs=False`): 10 YES at 60¢ then 10 NO at 45¢ are two holdings, $10.50
    paid and nothing back until they are merged or redeemed (netted: $0.50 net, as above). A SELL
    is of a token held: 10 YES at 55¢ pays $5.50 and leaves 0 YES; 1 more YES is refused, as the
    CLOB refuses it ("not enough balance / allowance"); the house (every other trader) may."""
    ex = Exchange(lambda: 1_000, nets_pairs=False)
    ex.add_market(MarketState("M", FeeModel()))
    u = ex.account("u", 1_000 * 1_000_000)
    ex.place(HOUSE, "M", "no", "buy", 4000, 1000)
    ex.place("u", "M", "yes", "buy", 6000, 1000, "ioc")
    ex.place(HOUSE, "M", "yes", "buy", 5500, 1000)
    ex.place("u", "M", "no", "buy", 4500, 1000, "ioc")
    assert (u.tokens, u.positions["M"]) == ({("M", "yes"): 1000, ("M", "no"): 1000}, 0)
    assert u.balance == 1_000_000_000 - 1000 * 6000 - 1000 * 4500          # −$10.50: no pair paid back
    ex.place(HOUSE, "M", "yes", "buy", 5500, 2000)                        # a YES bid to sell into
    bal = u.balance
    o, _ = ex.place("u", "M", "yes", "sell", 5500, 1000, "ioc")
    assert o.status == "executed" and u.balance == bal + 1000 * 5500 and u.tokens[("M", "yes")] == 0
    with pytest.raises(SimReject) as ei:
        ex.place("u", "M", "yes", "sell", 5500, 100, "ioc")
    assert (ei.value.code, str(ei.value)) == ("insufficient_balance", "not enough balance / allowance")
    assert ex.place(HOUSE, "M", "yes", "sell", 5500, 100, "ioc")[0].status == "executed"   # into that bid


# ---- partial fills as a venue produces them (`leave`, the `partial_fill_lots` fault) ------------

def crossed(ex: Exchange, market: str = "M") -> bool:
    """Is the engine's own book locked or crossed (best YES bid + best NO bid ≥ $1)?"""
    yes, no = ex.markets[market].levels("yes"), ex.markets[market].levels("no")
    return bool(yes and no) and max(yes) + max(no) >= 10_000


def test_partial_fill_fault_never_caps_fok():
    ex = ex_with(FeeModel())
    ex.place(HOUSE, "M", "no", "buy", 6000, 1000)             # YES ask 40¢ × 10
    o, _ = ex.place("u", "M", "yes", "buy", 4000, 1000, "fok", leave=300)
    assert (o.status, o.filled) == ("executed", 1000)           # fully filled …
    ex.place(HOUSE, "M", "no", "buy", 6000, 500)
    o, fills = ex.place("u", "M", "yes", "buy", 4000, 1000, "fok", leave=300)
    assert (o.status, o.filled, fills) == ("canceled", 0, [])   # … or killed, never in between
    assert ex.markets["M"].levels("no") == {6000: 500}


def test_partial_fill_fault_is_another_trader_taking_the_liquidity_first():
    ex = ex_with(FeeModel())
    ex.place(HOUSE, "M", "no", "buy", 6000, 1000)             # YES ask 40¢ × 10
    ex.place(HOUSE, "M", "no", "buy", 5000, 500)              # YES ask 50¢: beyond our limit
    seen: list = []
    ex.listeners.append(seen.append)
    o, _ = ex.place("u", "M", "yes", "buy", 4000, 1000, "ioc", leave=300)
    assert (o.status, o.filled, o.taker_cost) == ("canceled", 300, 300 * 4000)
    # the other trader's 7 contracts came first, published as a trade and a book change
    assert [(e.delta, e.account) for e in seen if isinstance(e, BookDelta)] == [(-700, HOUSE), (-300, HOUSE)]
    assert [e.lots for e in seen if isinstance(e, TradeEvent)] == [700, 300]
    assert ex.markets["M"].levels("no") == {5000: 500}          # nothing left at 60¢: no liquidity left behind
    # a GTC's remainder rests, and the venue's book is never locked or crossed
    ex.place(HOUSE, "M", "no", "buy", 6000, 1000)
    g, _ = ex.place("u", "M", "yes", "buy", 4000, 1000, "gtc", leave=300)
    assert (g.status, g.filled, g.remaining) == ("resting", 300, 700)
    assert ex.markets["M"].levels("yes") == {4000: 700} and not crossed(ex)


# ---- self-trade prevention ----------------------------------------------------------------------

def own_order_between_others(ex: Exchange) -> SimOrder:
    """NO bids 61¢ × 2 (house), 60¢ × 5 (ours), 59¢ × 5 (house): a YES buy at 45¢ crosses all."""
    ex.place(HOUSE, "M", "no", "buy", 6100, 200)
    mine, _ = ex.place("u", "M", "no", "buy", 6000, 500)
    ex.place(HOUSE, "M", "no", "buy", 5900, 500)
    return mine


@pytest.mark.parametrize("tif", ["ioc", "gtc"])
def test_self_trade_taker_at_cross_cancels_the_taker_and_keeps_its_fills(tif):
    ex = ex_with(FeeModel())
    mine = own_order_between_others(ex)
    o, fills = ex.place("u", "M", "yes", "buy", 4500, 1000, tif)
    assert (o.status, o.filled, o.remaining, o.taker_cost) == ("canceled", 200, 0, 200 * 3900)
    assert all(f.order.account != "u" or f.order is o for f in fills)           # never matched its own
    assert (mine.status, mine.remaining) == ("resting", 500) and ex.markets["M"].levels("yes") == {}
    assert not crossed(ex)


def test_self_trade_taker_at_cross_fok_counts_only_what_it_can_take():
    ex = ex_with(FeeModel())
    mine = own_order_between_others(ex)
    o, fills = ex.place("u", "M", "yes", "buy", 4500, 300, "fok")
    assert (o.status, o.filled, fills) == ("canceled", 0, []) and mine.remaining == 500


def test_self_trade_maker_cancels_the_resting_order_and_goes_on():
    ex = ex_with(FeeModel())
    mine = own_order_between_others(ex)
    seen: list = []
    ex.listeners.append(seen.append)
    o, _ = ex.place("u", "M", "yes", "buy", 4500, 1000, "ioc", stp="maker")
    assert (o.status, o.filled, o.taker_cost) == ("canceled", 700, 200 * 3900 + 500 * 4100)
    assert (mine.status, mine.filled, mine.remaining) == ("canceled", 0, 0)
    assert [e.order for e in seen if isinstance(e, SelfTradeCancel)] == [mine]
    assert ex.markets["M"].levels("no") == {} and o.stp == "maker"
    with pytest.raises(SimReject) as e:
        ex.place("u", "M", "yes", "buy", 4500, 100, stp="cancel_both")
    assert e.value.code == "invalid_parameters"


def test_a_larger_resting_order_joins_the_back_of_the_queue():
    ex = ex_with(FeeModel())
    ex.account("other", 10**12)
    ex.set_level(HOUSE, "M", "no", 6000, 300)
    ex.place("other", "M", "no", "buy", 6000, 100)
    ex.set_level(HOUSE, "M", "no", 6000, 200)                  # smaller: keeps its place
    _, fills = ex.place("u", "M", "yes", "buy", 4000, 100, "ioc")
    assert [f.order.account for f in fills if not f.is_taker] == [HOUSE]
    ex.set_level(HOUSE, "M", "no", 6000, 10_000)               # larger: behind "other" now
    _, fills = ex.place("u", "M", "yes", "buy", 4000, 100, "ioc")
    assert [f.order.account for f in fills if not f.is_taker] == ["other"]


def test_a_budget_buy_spends_its_budget_at_the_makers_prices_in_whole_lots():
    """Polymarket's market BUY: $4.80 against 500 lots at 0.45 and 1,000 at 0.48 buys 500 for $2.25
    and $2.55 / 0.48 = 531 lots for $2.5488 (the $0.0012 a lot would not take stays unspent): 1,031
    lots, executed. A FOK whose budget the book cannot take is killed; a FAK spends what it can."""
    ex = Exchange(lambda: 1_000)
    ex.add_market(MarketState("M", FeeModel(), lot=1))        # Polymarket: shares to 2 decimals
    ex.account("u", 1_000 * 1_000_000)
    ex.place(HOUSE, "M", "no", "buy", 5500, 500)
    ex.place(HOUSE, "M", "no", "buy", 5200, 1_000)
    o, _ = ex.place("u", "M", "yes", "buy", 4800, 1_000, "ioc", budget=4_800_000)
    assert (o.status, o.filled, o.taker_cost, o.initial) == ("executed", 1_031, 500 * 4500 + 531 * 4800, 1_031)
    killed, fills = ex.place("u", "M", "yes", "buy", 4800, 1_000, "fok", budget=4_800_000)   # 469 lots left
    assert (killed.status, killed.filled, fills) == ("canceled", 0, [])
    part, _ = ex.place("u", "M", "yes", "buy", 4800, 1_000, "ioc", budget=4_800_000)
    assert (part.status, part.filled, part.initial) == ("canceled", 469, 1_000)
    with pytest.raises(SimReject, match="budget"):
        ex.place("u", "M", "yes", "buy", 4800, 1_000, "gtc", budget=4_800_000)


def test_a_budget_buys_balance_check_bounds_the_fee_of_everything_it_could_buy():
    """A $10 budget at limit 0.90 meets asks at 0.10: 10,000 lots, fee 2 % × 100 × 0.1 × 0.9 = $0.18
    (priced at the limit, $0.018). The check bounds the fee of the lots the budget buys at the cheapest
    ask at ¼ per contract ($0.50): $10.10 is refused, $10.60 trades and keeps $0.42."""
    for balance, after in ((10_100_000, None), (10_600_000, 420_000)):
        ex = Exchange(lambda: 1_000)
        ex.add_market(MarketState("M", FeeModel(20_000, 0, 1), lot=1))
        ex.account("u", balance)
        ex.place(HOUSE, "M", "no", "buy", 9000, 20_000)
        if after is None:
            with pytest.raises(SimReject, match="insufficient balance"):
                ex.place("u", "M", "yes", "buy", 9000, 1_111, "ioc", budget=10_000_000)
        else:
            o, _ = ex.place("u", "M", "yes", "buy", 9000, 1_111, "ioc", budget=10_000_000)
            assert (o.filled, o.taker_fee, ex.accounts["u"].balance) == (10_000, 180_000, after)
