"""`PolymarketVenue`: discovery, books and account reads on Polymarket (Gamma + CLOB).

Orders: V2 orders signed by py-clob-client-v2 (`execution.py`). Positions and fills (Data API,
`/data/trades`) are not implemented yet.
"""
from __future__ import annotations

from typing import AsyncIterator

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.model import (
    Action, Balance, BookUpdate, EventInfo, MarketInfo, NativeBook, Order, OrderRequest, OrderStatus, Side, Venue,
)
from arbbot.venues.common.snapshot import dump_snapshot
from arbbot.venues.common.units import price_ticks, qty_lots
from arbbot.venues.polymarket.book import TokenBook, native_book
from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.data import PolymarketDataClient
from arbbot.venues.polymarket.execution import PolymarketExecutionClient
from arbbot.venues.polymarket.http.client import PolymarketHttpClient
from arbbot.venues.polymarket.providers import PolymarketInstrumentProvider
from arbbot.venues.polymarket.schemas.ws import parse_book


class PolymarketVenue:
    venue = "polymarket"

    def __init__(self, config: PolymarketConfig, *, recorder=None) -> None:
        self.config = config
        self.http = PolymarketHttpClient(config, recorder=recorder)
        self.provider = PolymarketInstrumentProvider(self.http, page_limit=config.page_limit)
        self.recorder = recorder
        self.data: PolymarketDataClient | None = None
        self.exec = PolymarketExecutionClient(self.http, config, self.provider)

    async def discover_markets(self) -> list[MarketInfo]:
        return await self.provider.load()

    async def discover_events(self) -> list[EventInfo]:
        if not self.provider.events:
            await self.provider.load()
        return list(self.provider.events.values())

    def relations(self) -> list[dict]:
        return self.provider.relations()

    async def _market(self, market_id: str) -> MarketInfo:
        if market_id not in self.provider.markets:
            await self.provider.load()
        return self.provider.markets[market_id]

    async def fetch_book(self, market_id: str) -> NativeBook:
        """Both token books in one `POST /books`; each verified against its own hash."""
        m = await self._market(market_id)
        body = await self.http.clob_post("/books", [{"token_id": m.yes_token}, {"token_id": m.no_token}])
        if not isinstance(body, list):
            raise ProtocolError("polymarket /books: expected a list", venue="polymarket")
        books = {t: TokenBook(t, market_id) for t in (m.yes_token, m.no_token)}
        for raw in body:
            msg = parse_book(raw, "rest book")
            if msg.asset_id in books:
                books[msg.asset_id].apply_snapshot(msg)
        return native_book(market_id, books[m.yes_token], books[m.no_token])

    def data_client(self, markets: list[MarketInfo]) -> PolymarketDataClient:
        c = self.config
        return PolymarketDataClient(c.ws_url, markets, self.http, recorder=self.recorder,
                                    backoff=Backoff(base=c.reconnect_base_s, cap=c.reconnect_cap_s),
                                    ping_interval_s=c.ping_interval_s, resnapshot_interval_s=c.resnapshot_interval_s)

    async def stream_books(self, market_ids: list[str]) -> AsyncIterator[BookUpdate]:
        markets = [await self._market(mid) for mid in market_ids]
        self.data = self.data_client(markets)
        self.data.start()
        while True:
            yield await self.data.updates.get()

    async def place_order(self, req: OrderRequest) -> Order:
        if req.market_id not in self.provider.markets:
            await self.provider.load()
        return await self.exec.place(req)

    async def cancel_order(self, order_id: str) -> Order:
        return await self.exec.cancel(order_id)

    async def balance(self) -> Balance:
        """pUSD collateral (6 decimals on the wire = µ$)."""
        body = await self.http.clob_get("/balance-allowance", {"asset_type": "COLLATERAL"}, auth=True)
        try:
            return Balance(Venue.POLYMARKET, int(str(body["balance"])))
        except (KeyError, TypeError, ValueError):
            raise ProtocolError("polymarket /balance-allowance: bad balance", venue="polymarket") from None

    async def orders(self) -> list[Order]:
        """Open orders (`GET /data/orders`, cursor-paged)."""
        out: list[Order] = []
        cursor = "MA=="
        by_token = {}
        for m in self.provider.markets.values():
            by_token[m.yes_token] = (m.market_id, Side.YES)
            by_token[m.no_token] = (m.market_id, Side.NO)
        while cursor != "LTE=":
            body = await self.http.clob_get("/data/orders", {"next_cursor": cursor}, auth=True)
            for o in body.get("data", []):
                mid, side = by_token.get(o.get("asset_id"), (o.get("market", ""), Side.YES))
                size, matched = qty_lots(o["original_size"]), qty_lots(o["size_matched"])
                out.append(Order(Venue.POLYMARKET, o["id"], "", mid, side,
                                 Action.BUY if o.get("side") == "BUY" else Action.SELL,
                                 price_ticks(o["price"]), size, matched, size - matched, OrderStatus.RESTING))
            cursor = body.get("next_cursor") or "LTE="
        return out

    def snapshot(self, books: dict[str, NativeBook] | None = None, **kw) -> dict:
        """`arbbot.snapshot/1` of the discovered markets, their books and neg-risk buckets."""
        books = books or {}
        if self.data is not None:
            books = {mid: self.data.native(mid) for mid in self.data.markets} | books
        return dump_snapshot([(m, books.get(m.market_id)) for m in self.provider.markets.values()],
                             relations=self.relations() or None, **kw)

    async def close(self) -> None:
        if self.data is not None:
            await self.data.close()
        await self.http.close()
