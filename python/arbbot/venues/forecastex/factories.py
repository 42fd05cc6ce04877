"""Building the ForecastEx venue: one call from a TWS / IB Gateway address to a ready
`ForecastExVenue`, for the simulator (which speaks the TWS API) and live alike."""
from __future__ import annotations

from typing import Sequence

from arbbot.venues.forecastex.venue import ForecastExVenue


async def connect_forecastex_venue(host: str = "127.0.0.1", port: int = 7497, client_id: int = 11, *,
                                   symbols: Sequence[str] = ("FF",), poll_s: float = 1.0, account: str = "",
                                   timeout: float = 4.0, every_client: bool = False) -> ForecastExVenue:
    """Connect an `ib_async.IB` as API client `client_id` and wrap it in a `ForecastExVenue`
    trading the ForecastEx products `symbols`. Reuse the same `client_id` after a restart: IB
    returns that client's open orders (and everyone's completed orders and executions) on
    connect, which `orders()`/`fills()` then report for crash recovery. Raises
    `TransportError` when TWS is unreachable. `every_client`: an observer beside the bot (`arbbot
    reconcile`): open orders are every API client's (reqAllOpenOrders), the bot's included. Close
    with `await venue.close()`."""
    from arbbot.venues.forecastex.ib_async_client import IBAsyncClient   # ib_async only when used
    client = await IBAsyncClient.connect(host, port, client_id, timeout=timeout, account=account,
                                         every_client=every_client)
    return ForecastExVenue(client, list(symbols), poll_s=poll_s)


async def simulated_forecastex_venue(handle, client_id: int, *, every_client: bool = False) -> ForecastExVenue | None:
    """ForecastEx at the simulator's TWS port (`arbbot.sim` handle), or None if it serves none."""
    address = handle.urls.get("forecastex_tws")
    if not address:
        return None
    host, port = address.rsplit(":", 1)
    # the products it lists: the universe names them in its handle; the other scenarios list FF
    symbols = getattr(handle, "forecastex_symbols", ()) or ("FF",)
    return await connect_forecastex_venue(host, int(port), client_id, symbols=symbols, poll_s=0.1,
                                          every_client=every_client)
