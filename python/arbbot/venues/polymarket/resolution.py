"""Polymarket market results from Gamma: a closed market UMA resolved, paying per token.

Final when `closed` is true, `umaResolutionStatus` is "resolved" or "settled" (of the factsheet's
requested|proposed|disputed|resolved|settled, the two final ones) and `outcomePrices` (the payout
of each outcome token, dollars per share, in `outcomes` / `clobTokenIds` order) is exactly
1 / 0, 0 / 1 or 0.5 / 0.5 for the market's YES / NO tokens. Anything else (proposed, disputed,
prices still trading between 0 and 1) is not final. Units: µ$ per YES lot (a share is 100 lots and
pays $1 = 10⁶ µ$ when it wins, so µ$ per lot = the dollar price × 10⁴, as ticks).
"""
from __future__ import annotations

from arbbot.model import utc_ms
from arbbot.units import UnitError, price_ticks
from arbbot.venues.common.model import Resolution, Venue
from arbbot.venues.polymarket.providers import Unrepresentable, yes_index
from arbbot.venues.polymarket.schemas.gamma import GammaMarket

FINAL_STATUSES = ("resolved", "settled")     # `umaResolutionStatus` once the UMA result is final
_PAYOUTS = {(10_000, 0): "yes", (0, 10_000): "no", (5_000, 5_000): "scalar"}   # (YES, NO) µ$ per lot


def resolution(m: GammaMarket, yes_token: str = "") -> Resolution | None:
    """`m`'s result if final, else None. `yes_token`: the market's YES token as discovered (its
    place in `clobTokenIds` is its place in `outcomePrices`); empty: the one discovery takes for
    YES (`providers.yes_index`: "Yes" of Yes/No whatever their order, else the first outcome)."""
    if not m.closed or m.uma_resolution_status not in FINAL_STATUSES:
        return None
    if len(m.outcome_prices) != 2 or len(m.token_ids) != 2:
        return None
    if yes_token in m.token_ids:
        i = m.token_ids.index(yes_token)
    else:                                   # not discovered: YES as discovery would take it
        try:
            i = yes_index(m.outcomes)
        except Unrepresentable:
            return None
    try:
        yes, no = price_ticks(m.outcome_prices[i]), price_ticks(m.outcome_prices[1 - i])
    except UnitError:
        return None
    result = _PAYOUTS.get((yes, no))
    if result is None:
        return None
    try:
        at = utc_ms(m.closed_time) if m.closed_time else 0
    except ValueError:
        at = 0
    # not paid: the winning tokens stay in the wallet until redeemed on chain
    return Resolution(Venue.POLYMARKET, m.condition_id, result, yes, at, paid=False)
