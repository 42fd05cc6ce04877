"""Input checks shared by the twin's entry points; same codes, same order as the Swift engine.

An integer input is an int, never a bool or a float (the ABI has no such values: the glue would
read True as 1, and a float price would make float money), in the range of its C field; a value
out of it gets the field's own code (a price 2^63 is ARB_E_PRICE, not an overflow)."""
from __future__ import annotations

from arbbot.engine.types import (
    LEVEL_QTY_MAX, MONEY_FEE_MAX, PRICE_MAX, RATE_MAX_PPM, EngineInputError, FeeSchedule,
    Book, Status, Venue,
)


def is_int(value) -> bool:
    """An int (an IntEnum too), not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_venue_code(venue) -> bool:
    return is_int(venue) and venue in (0, 1, 2)


def check_venue(venue: int) -> Venue:
    if not is_venue_code(venue):
        raise EngineInputError(Status.VENUE, f"unknown venue code {venue!r}")
    return Venue(venue)


def check_market(market: int, n_markets: int) -> None:
    """A market index: EngineInputError MARKET, index = the market when it is an int (the Swift
    engine's convention), else -1."""
    if not is_int(market):
        raise EngineInputError(Status.MARKET, f"market index {market!r} is not an int")
    if not 0 <= market < n_markets:
        raise EngineInputError(Status.MARKET, f"market index {market} is out of range", market)


def check_levels(levels) -> None:
    """Each level (price ticks, qty lots): price 0…10,000, qty 0…10^8, both ints."""
    for price, qty in levels:
        if not is_int(price) or not 0 <= price <= PRICE_MAX:
            raise EngineInputError(Status.PRICE, f"price {price!r} ticks is not an int in 0…{PRICE_MAX}")
        if not is_int(qty) or not 0 <= qty <= LEVEL_QTY_MAX:
            raise EngineInputError(Status.QTY, f"quantity {qty!r} lots is not an int in 0…{LEVEL_QTY_MAX}")


def check_book(venue: Venue, book: Book) -> None:
    """Levels in ABI side order, then the bids-only rule for Kalshi and ForecastEx."""
    for side in book.sides():
        check_levels(side)
    if venue.bids_only and (book.yes_asks or book.no_asks):
        raise EngineInputError(Status.BIDS_ONLY, f"{venue.label} books have bids only")


def check_schedule(schedule: FeeSchedule) -> None:
    rate, per_contract, rounding = schedule.taker_rate_ppm, schedule.per_contract, schedule.rounding
    if not is_int(rate) or not 0 <= rate <= RATE_MAX_PPM:
        raise EngineInputError(Status.RATE, f"taker rate {rate!r} ppm is not an int in 0…{RATE_MAX_PPM}")
    if not is_int(per_contract) or not 0 <= per_contract <= MONEY_FEE_MAX:
        raise EngineInputError(Status.MONEY, f"per-contract commission {per_contract!r} µ$ is not an int in range")
    if not is_int(rounding) or not 1 <= rounding <= MONEY_FEE_MAX:
        raise EngineInputError(Status.MONEY, f"rounding {rounding!r} µ$ must be an int in 1…{MONEY_FEE_MAX}")
