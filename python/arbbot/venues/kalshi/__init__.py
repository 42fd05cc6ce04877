"""Kalshi Trade API v2 adapter (REST + WebSocket, RSA-PSS auth, fixed-point units)."""
from arbbot.venues.kalshi.config import KalshiConfig  # noqa: F401
from arbbot.venues.kalshi.venue import KalshiVenue  # noqa: F401
