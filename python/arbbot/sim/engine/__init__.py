"""The simulator's venue-side matching engine (shared by the simulated venues, never by adapters)."""
from arbbot.sim.engine.matching import (  # noqa: F401
    Account, BookDelta, Exchange, FeeModel, FillEvent, MarketState, SimOrder, TradeEvent,
)
