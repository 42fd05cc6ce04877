"""Start a Kalshi simulator and a matching adapter config (used by the tests)."""
from __future__ import annotations

import contextlib

from arbbot.sim.kalshi import KalshiSim
from arbbot.sim.scenarios import Faults, build
from arbbot.venues.kalshi import KalshiConfig

KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


@contextlib.asynccontextmanager
async def kalshi_env(rsa_keys, scenario="fed", seed=7, faults: Faults | None = None, **cfg):
    priv, pub = rsa_keys
    sim = KalshiSim(build(scenario, seed, faults), seed)
    sim.register_key(KEY_ID, pub, "user")
    await sim.start("127.0.0.1", 0)
    config = KalshiConfig(rest_url=sim.base_url, ws_url=sim.ws_url, key_id=KEY_ID, private_key_pem=priv, **cfg)
    try:
        yield sim, config
    finally:
        await sim.stop()
