"""Simulated Kalshi Trade API v2 (REST + WebSocket) on loopback."""
from arbbot.sim.kalshi.server import KalshiSim  # noqa: F401
