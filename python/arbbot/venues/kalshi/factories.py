"""Building the Kalshi venue: one function from its configuration, for the simulator and live."""
from __future__ import annotations

from arbbot.venues.kalshi.config import KalshiConfig
from arbbot.venues.kalshi.venue import KalshiVenue


def kalshi_venue(config: KalshiConfig, *, recorder=None) -> KalshiVenue:
    """Data (REST + WebSocket books) and execution (signed orders, portfolio) clients for
    `config`'s account, behind the `VenueClient` protocol."""
    return KalshiVenue(config, recorder=recorder)


def simulated_config(handle) -> KalshiConfig:
    """The configuration that reaches the simulator's Kalshi (`arbbot.sim` handle): its URLs and
    the throwaway RSA key it trusts; reconnects are quick on loopback."""
    return KalshiConfig(rest_url=handle.urls["kalshi_rest"], ws_url=handle.urls["kalshi_ws"],
                        key_id=handle.kalshi_key_id, private_key_pem=handle.kalshi_private_key_pem,
                        reconnect_base_s=0.05, reconnect_cap_s=1.0)


def live_config(settings) -> KalshiConfig:
    """The production configuration from the settings' credentials (key id + private key file)."""
    return KalshiConfig(key_id=settings.kalshi_key_id, private_key_pem=settings.kalshi_private_key())
