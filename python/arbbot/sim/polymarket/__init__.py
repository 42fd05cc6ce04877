"""Simulated Polymarket on loopback: Gamma + CLOB REST (`server.py`), order entry (`orders.py`, with
its own EIP-712 in `eip712.py`), market WebSocket (`ws.py`)."""
from arbbot.sim.polymarket.auth import ApiCreds  # noqa: F401
from arbbot.sim.polymarket.server import PolymarketSim  # noqa: F401
