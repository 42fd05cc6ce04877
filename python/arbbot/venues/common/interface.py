"""The one interface every venue adapter implements."""
from __future__ import annotations

from typing import AsyncIterator, Callable, Protocol, runtime_checkable

from arbbot.venues.common.model import (
    Balance, BookUpdate, EventInfo, Fill, MarketInfo, Book, Order, OrderRequest, Position,
)


@runtime_checkable
class VenueClient(Protocol):
    """Discovery, market data and trading on one venue, in engine units.

    Implementations: `KalshiVenue`, `PolymarketVenue`, `ForecastExVenue`. Every method raises a
    subclass of `arbbot.venues.common.errors.VenueError` on failure.

    Optional: `async def prepare_orders(self) -> None` — load and warm, before trading starts,
    what the first order would otherwise load in the order path (`arbbot.run.trader.prepare_orders`
    calls it on every venue that has it; Polymarket: the order signer).

    Optional: `async def close_stream(self) -> None` — stop streaming books (the market-data
    connection and its feed) while orders and reads keep working: a session stopping calls it
    before it drains and reconciles (`LiveSession.stop_tasks`). Idempotent.

    Optional: `def market_info(self, market_id: str) -> MarketInfo | None` — the market's rules as
    the adapter knows them now (no I/O), for a venue whose rules change while it streams
    (Polymarket's `tick_size_change`): the executor prices its orders on them.

    Optional: `def refusal(self, req: OrderRequest) -> str | None` — why the adapter would refuse
    `req` before sending it (no I/O), for rules that depend on the quantity (Polymarket: a
    marketable order's $1 minimum and its minimum size): the executor checks every leg before
    the first is sent, and a leg's top-up before sending it.

    Optional: `buys_by_amount: bool` (default False) — a marketable BUY spends a dollar amount
    (`OrderRequest.spend_micros`, the cost of the fills it is priced on) and receives the shares it
    buys (Polymarket's FAK/FOK): the executor prices it at the highest level it walks; on a book
    that moved up the leg fills short and is topped up (at least the venue's minimum where the
    execution cannot go on smaller, the extra lots held); lots beyond a size are held.

    Optional: `reports_fees: bool` (default False) — an order's `fees_micros` is what the venue
    charged, as it reported it (Kalshi, IB), not worked out from the fee schedule (Polymarket's
    adapter, paper's ledger): the executor holds a market charged above its schedule.

    Optional: `outage: str` (default "") — why the venue takes no orders now, for a while
    (Polymarket: its matching engine restarting, from an HTTP 425 until its post-only mode is over;
    Kalshi: trading paused; their books are published held meanwhile): the executor sends no
    unwind order there and waits
    (`ExecutorConfig.unwind_outage_max_s`) without spending an attempt.

    Optional: `def repriced(self, markets: list[MarketInfo]) -> None` — the session re-priced these
    known markets with the fee schedules a listing refresh discovered (no I/O): Kalshi releases a
    market it held while its terms were dearer than it was priced with.

    Optional: `async def resolutions(self, market_ids: list[str]) -> list[Resolution]` — of these
    markets, the ones whose result the venue's public market data shows as final (the others are
    left out), from public endpoints so it works for paper trading too: Kalshi `GET /markets?tickers=`
    (status `finalized`/`settled` with `result`), Polymarket Gamma `/markets?condition_ids=`
    (`umaResolutionStatus` resolved, `outcomePrices`). A venue without it (ForecastEx: the TWS API
    publishes no result) keeps its positions held until the operator records the result.

    Optional: `async def fill_settlement(self, fill_ids: list[str]) -> dict[str, Settlement]` — of
    these fills (ids as `fills` gives them), where the venue says each stands now: PENDING (it may
    still be reverted), FINAL, or FAILED (reverted: it never moved tokens or cash); ids the venue
    does not list are left out. For a venue whose fills are listed before they are final
    (Polymarket: a trade is MATCHED, then CONFIRMED or FAILED on chain; such fills come with
    `Fill.final` False): the executor watches an ended execution's fills until they are final and
    voids a FAILED one (`arbbot.execution.unsettled`). A venue without it lists final fills only.
    """

    venue: str
    # Callback(client_order_id, order_id) run when an order's venue id is known before it is sent
    # (Polymarket: the signed order's hash), so a crash before the answer loses nothing. Venues
    # whose orders carry our client order id never call it (None).
    on_order_id: object

    async def discover_markets(self) -> list[MarketInfo]: ...
    async def discover_events(self) -> list[EventInfo]: ...

    # The listing as the venue sent it at the last discovery, in the formats arbbot.mapping.listings
    # reads (`arbbot rules` / `arbbot map`): Kalshi `GET /events` pages, Polymarket Gamma `/events`
    # and `/markets` bodies, ForecastEx `arbbot.forecastex-contracts/1`.
    def listing_bodies(self) -> list: ...
    async def fetch_book(self, market_id: str) -> Book: ...
    # Book updates of `market_ids`, coalesced per market (the newest book of each, never more than
    # one per market waiting: `arbbot.venues.common.feed.BookFeed`, the adapter's `feed` once
    # streaming); `on_update` is called with every update before coalescing (sizing samples).
    def stream_books(self, market_ids: list[str], *,
                     on_update: Callable[[BookUpdate], None] | None = None) -> AsyncIterator[BookUpdate]: ...
    async def place_order(self, req: OrderRequest) -> Order: ...
    async def cancel_order(self, order_id: str) -> Order: ...
    async def balance(self) -> Balance: ...
    async def positions(self) -> list[Position]: ...
    async def order(self, order_id: str) -> Order | None: ...
    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]: ...
    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]: ...
    async def close(self) -> None: ...
