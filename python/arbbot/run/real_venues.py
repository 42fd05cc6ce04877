"""The real venues for `arbbot run --live` and `--live --paper`: adapters at the production URLs,
built only from the configuration (env / arbbot.toml / key files; never logged).

- `--live` (real money): Kalshi with a key (key id + private key file), Polymarket with its L2
  API credentials and signing key, ForecastEx through TWS / IB Gateway when `forecastex_port` is
  set (host `forecastex_host`, API client `forecastex_client_id`).
- `--live --paper` (market data only; orders are filled locally, never sent): Polymarket always
  (its public feeds need no credentials), Kalshi when a key is configured (a read-only key is
  enough: its WebSocket needs one), ForecastEx as above (market data over the same connection).
"""
from __future__ import annotations

from arbbot.venues.common.errors import VenueError
from arbbot.venues.common.interface import VenueClient


def missing_credentials(settings, *, paper: bool = False) -> dict[str, list[str]]:
    """Per venue, the settings still needed to use it ({} lists nothing missing); with `paper`,
    what market data needs (Polymarket nothing). ForecastEx needs `forecastex_port`."""
    need = {"kalshi": [n for n, ok in (("kalshi_key_id", settings.kalshi_key_id),
                                        ("kalshi_private_key_file", settings.kalshi_private_key_file)) if not ok],
            "polymarket": [] if paper else
            [n for n, ok in (("polymarket_api_key", settings.polymarket_api_key),
                             ("polymarket_api_secret", settings.polymarket_api_secret.get_secret_value()),
                             ("polymarket_api_passphrase", settings.polymarket_api_passphrase.get_secret_value()),
                             ("polymarket_private_key", settings.polymarket_private_key.get_secret_value()))
             if not ok],
            "forecastex": [] if settings.forecastex_port else ["forecastex_port"]}
    return {venue: names for venue, names in need.items() if names}


def real_venues(settings, *, paper: bool = False) -> dict[str, VenueClient]:
    """Kalshi and Polymarket, for those whose settings are complete, at the production URLs."""
    from arbbot.venues.kalshi import factories as kalshi
    from arbbot.venues.polymarket import factories as polymarket
    from arbbot.venues.polymarket.config import PolymarketConfig
    missing = missing_credentials(settings, paper=paper)
    out: dict[str, VenueClient] = {}
    if "kalshi" not in missing:
        from cryptography.exceptions import UnsupportedAlgorithm
        try:
            out["kalshi"] = kalshi.kalshi_venue(kalshi.live_config(settings))
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:   # the key file's content (never shown)
            why = "not an RSA private key" if "RSA" in str(exc) else "not an unencrypted PEM private key"
            raise ValueError(f"kalshi_private_key_file {settings.kalshi_private_key_file}: {why}") from None
    if "polymarket" not in missing:
        # paper: the public configuration, without credentials, even when some are configured
        config = PolymarketConfig() if paper else polymarket.live_config(settings)
        out["polymarket"] = polymarket.polymarket_venue(config)
    return out


async def connect_real_venues(settings, *, paper: bool = False, client_id_offset: int = 0) -> dict[str, VenueClient]:
    """`real_venues` plus ForecastEx when `forecastex_port` is set (client id
    `forecastex_client_id + client_id_offset`; an offset connects an observer beside the bot, which
    sees every client's open orders). An unreachable TWS raises ValueError naming the
    address (the other venues are closed first)."""
    from arbbot.venues.forecastex.factories import connect_forecastex_venue
    out = real_venues(settings, paper=paper)
    if settings.forecastex_port:
        host, port = settings.forecastex_host, settings.forecastex_port
        try:
            out["forecastex"] = await connect_forecastex_venue(host, port, settings.forecastex_client_id
                                                               + client_id_offset, every_client=client_id_offset > 0)
        except (VenueError, OSError) as exc:
            for venue in out.values():
                await venue.close()
            raise ValueError(f"ForecastEx: TWS / IB Gateway at {host}:{port} (forecastex_host, forecastex_port): "
                             f"{exc}") from None
    return out
