"""Simulated Polymarket Gamma + CLOB REST + market WebSocket on loopback."""
from arbbot.sim.polymarket.auth import ApiCreds  # noqa: F401
from arbbot.sim.polymarket.server import PolymarketSim  # noqa: F401
