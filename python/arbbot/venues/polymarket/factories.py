"""Building the Polymarket venue: one function from its configuration, for the simulator and live."""
from __future__ import annotations

from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.venue import PolymarketVenue

CHAIN_ID = 137    # Polygon


def polymarket_venue(config: PolymarketConfig, *, recorder=None) -> PolymarketVenue:
    """Data (Gamma + CLOB books + market WebSocket) and execution (EIP-712 V2 orders, L2 auth)
    clients for `config`'s account, behind the `VenueClient` protocol."""
    return PolymarketVenue(config, recorder=recorder)


def simulated_config(handle) -> PolymarketConfig:
    """The configuration that reaches the simulator's Polymarket (`arbbot.sim` handle): its URLs,
    the L2 credentials it issued and the throwaway signer its account trusts."""
    creds = handle.polymarket_creds
    return PolymarketConfig(gamma_url=handle.urls["polymarket_gamma"], clob_url=handle.urls["polymarket_clob"],
                            ws_url=handle.urls["polymarket_ws"], address=creds.address, api_key=creds.api_key,
                            api_secret=creds.secret, api_passphrase=creds.passphrase,
                            private_key=handle.polymarket_private_key, signature_type=creds.wallet_type,
                            funder=creds.funder, reconnect_base_s=0.05, reconnect_cap_s=1.0)


def live_config(settings) -> PolymarketConfig:
    """The production configuration from the settings' credentials (API key, secret, passphrase,
    signing key; the address is the signing key's: L2 auth names it) and wallet (signature type and
    funder: the orders' maker and the balance read)."""
    from py_clob_client_v2.signer import Signer
    key = settings.polymarket_private_key.get_secret_value()
    return PolymarketConfig(address=Signer(key, CHAIN_ID).address(), api_key=settings.polymarket_api_key,
                            api_secret=settings.polymarket_api_secret.get_secret_value(),
                            api_passphrase=settings.polymarket_api_passphrase.get_secret_value(), private_key=key,
                            signature_type=settings.polymarket_signature_type, funder=settings.polymarket_funder)
