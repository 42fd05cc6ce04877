"""Polymarket adapter: Gamma discovery, CLOB REST books, market-channel shadow books, L2 auth."""
from arbbot.venues.polymarket.config import PolymarketConfig  # noqa: F401
from arbbot.venues.polymarket.venue import PolymarketVenue  # noqa: F401
