"""The real venues for `arbbot run --live`: adapters at the production URLs, built only from
credentials in the configuration (env / arbbot.toml / key files; never logged)."""
from __future__ import annotations

from arbbot.venues.common.interface import VenueClient


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


def real_venues(settings) -> dict[str, VenueClient]:
    """Venues whose credentials are complete, built by their factories at the production URLs."""
    from arbbot.venues.kalshi import factories as kalshi
    from arbbot.venues.polymarket import factories as polymarket
    missing = missing_credentials(settings)
    out: dict[str, VenueClient] = {}
    if "kalshi" not in missing:
        out["kalshi"] = kalshi.kalshi_venue(kalshi.live_config(settings))
    if "polymarket" not in missing:
        out["polymarket"] = polymarket.polymarket_venue(polymarket.live_config(settings))
    return out
