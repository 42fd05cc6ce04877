"""Simulated Kalshi Trade API v2 on loopback: REST (`rest.py`), WebSocket (`ws.py`), wired in `server.py`."""
from arbbot.sim.kalshi.server import KalshiSim  # noqa: F401
