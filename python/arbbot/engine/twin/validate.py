"""Input checks shared by the twin's entry points; same codes, same order as the Swift engine."""
from __future__ import annotations

from arbbot.engine.types import (
    LEVEL_QTY_MAX, MONEY_FEE_MAX, PRICE_MAX, RATE_MAX_PPM, EngineInputError, FeeSchedule,
    Book, Status, Venue,
)


def check_venue(venue: int) -> Venue:
    if isinstance(venue, bool) or not isinstance(venue, int) or venue not in (0, 1, 2):
        raise EngineInputError(Status.VENUE, f"unknown venue code {venue!r}")
    return Venue(venue)


def check_levels(levels) -> None:
    """Each level (price ticks, qty lots): price 0…10,000, qty 0…10^8."""
    for price, qty in levels:
        if not 0 <= price <= PRICE_MAX:
            raise EngineInputError(Status.PRICE, f"price {price} ticks is outside 0…{PRICE_MAX}")
        if not 0 <= qty <= LEVEL_QTY_MAX:
            raise EngineInputError(Status.QTY, f"quantity {qty} lots is outside 0…{LEVEL_QTY_MAX}")


def check_book(venue: Venue, book: Book) -> None:
    """Levels in ABI side order, then the bids-only rule for Kalshi and ForecastEx."""
    for side in book.sides():
        check_levels(side)
    if venue.bids_only and (book.yes_asks or book.no_asks):
        raise EngineInputError(Status.BIDS_ONLY, f"{venue.label} books have bids only")


def check_schedule(schedule: FeeSchedule) -> None:
    if not 0 <= schedule.taker_rate_ppm <= RATE_MAX_PPM:
        raise EngineInputError(Status.RATE, f"taker rate {schedule.taker_rate_ppm} ppm is outside 0…{RATE_MAX_PPM}")
    if not 0 <= schedule.per_contract <= MONEY_FEE_MAX:
        raise EngineInputError(Status.MONEY, f"per-contract commission {schedule.per_contract} µ$ is out of range")
    if not 1 <= schedule.rounding <= MONEY_FEE_MAX:
        raise EngineInputError(Status.MONEY, f"rounding {schedule.rounding} µ$ must be 1…{MONEY_FEE_MAX}")
