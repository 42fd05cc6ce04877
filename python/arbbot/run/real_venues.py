"""The real venues for `arbbot run --live`: adapters at the production URLs, built only from
credentials in the configuration (env / arbbot.toml / key files; never logged)."""
from __future__ import annotations


def missing_credentials(settings) -> dict[str, list[str]]:
    """Per venue, the settings still needed to trade it ({} lists nothing missing)."""
    need = {"kalshi": [n for n, ok in (("kalshi_key_id", settings.kalshi_key_id),
                                        ("kalshi_private_key_file", settings.kalshi_private_key_file)) if not ok],
            "polymarket": [n for n, ok in (("polymarket_api_key", settings.polymarket_api_key),
                                           ("polymarket_api_secret", settings.polymarket_api_secret.get_secret_value()),
                                           ("polymarket_api_passphrase",
                                            settings.polymarket_api_passphrase.get_secret_value()),
                                           ("polymarket_private_key",
                                            settings.polymarket_private_key.get_secret_value())) if not ok]}
    return {venue: names for venue, names in need.items() if names}


def real_venues(settings) -> dict[str, object]:
    """Adapters for every venue whose credentials are complete (production URLs)."""
    from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
    from arbbot.venues.polymarket import PolymarketConfig, PolymarketVenue
    missing = missing_credentials(settings)
    out: dict[str, object] = {}
    if "kalshi" not in missing:
        out["kalshi"] = KalshiVenue(KalshiConfig(key_id=settings.kalshi_key_id,
                                                 private_key_pem=settings.kalshi_private_key()))
    if "polymarket" not in missing:
        from py_clob_client_v2.signer import Signer
        key = settings.polymarket_private_key.get_secret_value()
        out["polymarket"] = PolymarketVenue(PolymarketConfig(
            address=Signer(key, 137).address(), api_key=settings.polymarket_api_key,
            api_secret=settings.polymarket_api_secret.get_secret_value(),
            api_passphrase=settings.polymarket_api_passphrase.get_secret_value(), private_key=key))
    return out
