"""One call from a TWS / IB Gateway address to a ready `ForecastExVenue` (real IB or the simulator)."""
from __future__ import annotations

from typing import Sequence

from arbbot.venues.forecastex.venue import ForecastExVenue


async def connect_forecastex_venue(host: str = "127.0.0.1", port: int = 7497, client_id: int = 11, *,
                                   symbols: Sequence[str] = ("FF",), poll_s: float = 1.0, account: str = "",
                                   timeout: float = 4.0) -> ForecastExVenue:
    """Connect an `ib_async.IB` as API client `client_id` and wrap it in a `ForecastExVenue`
    trading the ForecastEx products `symbols`. Reuse the same `client_id` after a restart: IB
    returns that client's open orders (and everyone's completed orders and executions) on
    connect, which `orders()`/`fills()` then report for crash recovery. Raises
    `TransportError` when TWS is unreachable. Close with `await venue.close()`."""
    from arbbot.venues.forecastex.ib_async_client import IBAsyncClient   # ib_async only when used
    client = await IBAsyncClient.connect(host, port, client_id, timeout=timeout, account=account)
    return ForecastExVenue(client, list(symbols), poll_s=poll_s)
