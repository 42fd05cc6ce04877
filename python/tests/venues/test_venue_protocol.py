"""Every venue satisfies `VenueClient`, and every Protocol method really runs against the
simulator; Polymarket fills/positions from `GET /data/trades`."""
from __future__ import annotations

import asyncio
import inspect

from py_clob_client_v2.signer import Signer

from arbbot.sim.polymarket import ApiCreds
from arbbot.sim.scenarios import build
from arbbot.venues.common import (
    Action, Balance, BookUpdate, EventInfo, Fill, MarketInfo, Book, Order, OrderRequest, OrderStatus, Position,
    Side, TimeInForce, VenueClient,
)
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.polymarket import PolymarketConfig, PolymarketVenue
from tests.venues.kalshi_env import kalshi_env
from tests.venues.sim_ib_client import SimIBClient
from tests.venues.test_polymarket import PASSPHRASE, SECRET, by_title, poly_env
from tests.fx_day import MID

PRIV = "0x" + "5a" * 32
PROTOCOL_METHODS = [n for n, _ in inspect.getmembers(VenueClient, inspect.isfunction) if not n.startswith("_")]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


async def exercise(v, mid: str, req: OrderRequest, resting: OrderRequest) -> None:
    """Call every Protocol method once and check the types it returns."""
    assert isinstance(v, VenueClient)
    assert set(PROTOCOL_METHODS) == {"discover_markets", "discover_events", "fetch_book", "stream_books",
                                     "place_order", "cancel_order", "balance", "positions", "order", "orders",
                                     "fills", "close", "listing_bodies"}
    for name in PROTOCOL_METHODS:
        assert callable(getattr(v, name)), name
    ms = await v.discover_markets()
    assert ms and all(isinstance(m, MarketInfo) for m in ms) and mid in {m.market_id for m in ms}
    evs = await v.discover_events()
    assert evs and all(isinstance(e, EventInfo) for e in evs)
    # the discovery's own bodies read back, by the listings reader, to the same markets
    from arbbot.mapping.listings import listings_from_bodies
    listed = {x.market_id for x in listings_from_bodies(v.venue, v.listing_bodies()) if x.active}
    assert listed >= {m.market_id for m in ms if m.active} and mid in listed
    b = await v.fetch_book(mid)
    assert isinstance(b, Book) and b.tradeable and (b.yes_bids or b.no_bids)
    stream = v.stream_books([mid])
    u = await asyncio.wait_for(stream.__anext__(), 10)
    assert isinstance(u, BookUpdate) and u.book.market_id == mid
    await stream.aclose()
    bal = await v.balance()
    assert isinstance(bal, Balance) and bal.cash_micros > 0
    o = await v.place_order(req)
    assert isinstance(o, Order) and o.filled_lots == req.qty_lots
    again = await v.order(o.order_id)                       # looked up by the venue's own id
    assert (again.order_id, again.filled_lots, again.status) == (o.order_id, o.filled_lots, o.status)
    assert await v.order("no-such-order") is None
    r = await v.place_order(resting)
    assert r.status is OrderStatus.RESTING
    assert r.order_id in {x.order_id for x in await v.orders()}
    c = await v.cancel_order(r.order_id)
    assert c.status is OrderStatus.CANCELED
    # Kalshi lists orders of every status (other callers rely on it), the others open orders only
    assert all(x.status is OrderStatus.CANCELED for x in await v.orders() if x.order_id == r.order_id)
    fills = await v.fills()
    assert fills and all(isinstance(f, Fill) for f in fills)
    assert sum(f.qty_lots for f in fills if f.order_id == o.order_id) == req.qty_lots
    pos = await v.positions()
    assert all(isinstance(p, Position) for p in pos)
    assert {p.market_id: p.yes_lots for p in pos}[mid] == (req.qty_lots if req.side is Side.YES else -req.qty_lots)
    await v.close()


def test_kalshi_satisfies_protocol(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (_sim, cfg):
            h0 = "KXFEDDECISION-26DEC-H0"
            await exercise(KalshiVenue(cfg), h0, OrderRequest(h0, Side.YES, 5400, 1000, tif=TimeInForce.IOC),
                           OrderRequest(h0, Side.NO, 4000, 500))
    run(main())


def test_forecastex_satisfies_protocol():
    async def main():
        mid = MID
        v = ForecastExVenue(SimIBClient(build("forecastex", 1), 1), ["FF"], poll_s=0.01)
        await exercise(v, mid, OrderRequest(mid, Side.YES, 4100, 500, tif=TimeInForce.IOC),
                       OrderRequest(mid, Side.NO, 3000, 200))
    run(main())


async def _poly_trader(sim, cfg):
    address = Signer(PRIV, 137).address()
    sim.register_creds(ApiCreds(address, "9d3e1f00-0000-4000-8000-0000000000b2", SECRET, PASSPHRASE, "trader"))
    return PolymarketConfig(**{**cfg.__dict__, "address": address, "api_key": "9d3e1f00-0000-4000-8000-0000000000b2",
                               "api_secret": SECRET, "api_passphrase": PASSPHRASE, "private_key": PRIV})


def test_polymarket_satisfies_protocol():
    async def main():
        async with poly_env() as (sim, cfg):
            cfg = await _poly_trader(sim, cfg)
            alv = by_title(sim, "ALV")
            await exercise(PolymarketVenue(cfg), alv, OrderRequest(alv, Side.YES, 4300, 2_500),
                           OrderRequest(alv, Side.YES, 3000, 1_000))
    run(main())


def test_polymarket_fills_and_positions_from_data_trades():
    async def main():
        async with poly_env() as (sim, cfg):
            cfg = await _poly_trader(sim, cfg)
            v = PolymarketVenue(cfg)
            await v.discover_markets()
            alv = by_title(sim, "ALV")
            acct = sim.exchange.accounts["trader"]
            info = v.provider.markets[alv]
            assert await v.fills() == [] and await v.positions() == []
            # taker BUY 25 YES at 0.43: one fill; its fee is what the venue charged
            o = await v.place_order(OrderRequest(alv, Side.YES, 4300, 2_500))
            (f,) = await v.fills()
            assert (f.order_id, f.market_id, f.side, f.action, f.price_ticks, f.qty_lots, f.is_taker) == \
                (o.order_id, alv, Side.YES, Action.BUY, 4300, 2_500, True)
            assert f.fee_micros == acct.fees_paid[alv] > 0
            # our resting bid at 0.42 (inside the spread) is hit by someone selling YES: maker fill
            m = await v.place_order(OrderRequest(alv, Side.YES, 4200, 1_000))
            assert m.status is OrderStatus.RESTING
            sim.exchange.account("other", 10**12).tokens[(alv, "yes")] = 1_000    # it sells YES it holds
            sim.exchange.place("other", alv, "yes", "sell", 4200, 1_000, "ioc")
            # taker SELL 10 YES at the 0.39 bid level or better
            s = await v.place_order(OrderRequest(alv, Side.YES, 3900, 1_000, action=Action.SELL))
            assert s.status is OrderStatus.FILLED
            fills = await v.fills()
            mk = [x for x in fills if x.order_id == m.order_id]
            assert [(x.side, x.action, x.price_ticks, x.qty_lots, x.is_taker, x.fee_micros) for x in mk] == \
                [(Side.YES, Action.BUY, 4200, 1_000, False, 0)]
            sl = [x for x in fills if x.order_id == s.order_id]
            assert sum(x.qty_lots for x in sl) == 1_000 and all(
                (x.side, x.action, x.is_taker) == (Side.YES, Action.SELL, True) and x.price_ticks >= 3900 for x in sl)
            pos = await v.positions()
            assert [(p.market_id, p.yes_lots) for p in pos] == [(alv, acct.positions[alv])] == [(alv, 2_500)]
            assert pos[0].fees_paid_micros == sum(x.fee_micros for x in fills)
            assert info.yes_token and len(fills) == 1 + 1 + len(sl)
            await v.close()
    run(main())
