"""Kalshi batch order endpoints and the `user_orders` / `market_positions` WS channels, adapter
against the simulator over real sockets."""
from __future__ import annotations

import asyncio

import pytest

from arbbot.venues.common import (
    NotFound, Order, OrderRejected, OrderRequest, OrderStatus, Position, Side, TimeInForce,
)
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.kalshi.user import KalshiUserClient, parse_market_position, parse_user_order
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import kalshi_env

H0 = "KXFEDDECISION-26DEC-H0"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_batch_create_and_cancel(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            res = await v.place_orders([
                OrderRequest(H0, Side.YES, 5400, 1000, tif=TimeInForce.IOC, client_order_id="b1"),
                OrderRequest(H0, Side.NO, 4000, 500, client_order_id="b2"),
                OrderRequest(H0, Side.YES, 4550, 100, client_order_id="b3"),          # off-grid
                OrderRequest(H0, Side.NO, 3900, 300, client_order_id="b4"),
            ])
            assert [type(r).__name__ for r in res] == ["Order", "Order", "OrderRejected", "Order"]
            assert (res[0].status, res[0].filled_lots, res[0].fees_micros) == (OrderStatus.FILLED, 1000, 180_000)
            assert res[1].status is OrderStatus.RESTING and res[1].client_order_id == "b2"
            assert res[2].code == "invalid_parameters" or res[2].code
            b = await v.fetch_book(H0)
            assert (4000, 500) in b.no_bids and (3900, 300) in b.no_bids
            out = await v.cancel_orders([res[1].order_id, "no-such-order", res[3].order_id])
            assert isinstance(out[0], Order) and out[0].status is OrderStatus.CANCELED and out[0].remaining_lots == 0
            assert isinstance(out[1], NotFound)
            assert isinstance(out[2], Order) and out[2].status is OrderStatus.CANCELED
            b = await v.fetch_book(H0)
            assert (4000, 500) not in b.no_bids and (3900, 300) not in b.no_bids
            # > 20 orders are split into several batched requests
            many = [OrderRequest(H0, Side.NO, 1000, 100, client_order_id=f"m{i}") for i in range(25)]
            res = await v.place_orders(many)
            assert len(res) == 25 and all(isinstance(r, Order) and r.status is OrderStatus.RESTING for r in res)
            out = await v.cancel_orders([r.order_id for r in res])
            assert all(isinstance(r, Order) and r.status is OrderStatus.CANCELED for r in out)
            await v.close()
    run(main())


def test_batch_rejects_whole_request_when_oversized(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            body = {"orders": [{"ticker": H0, "client_order_id": f"x{i}", "side": "ask", "count": "1.00",
                                "price": "0.9000", "time_in_force": "good_till_canceled",
                                "self_trade_prevention_type": "taker_at_cross"} for i in range(21)]}
            with pytest.raises(OrderRejected) as ei:          # a refusal of the whole request: nothing placed
                await v.http.post("/portfolio/events/orders/batched", body)
            assert ei.value.status == 400 and "at most 20" in str(ei.value)
            assert not any(o.account == "user" for o in sim.exchange.orders.values())   # nothing placed
            await v.close()
    run(main())


def test_user_orders_and_market_positions_channels(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            u = KalshiUserClient(cfg.ws_url, v.http.signer, [H0])
            u.start()
            await wait_for(lambda: set(u.subscribed) == {"user_orders", "market_positions"}, what="subscribed")
            o = await v.place_order(OrderRequest(H0, Side.YES, 5400, 1000, tif=TimeInForce.IOC, client_order_id="u1"))
            await wait_for(lambda: o.order_id in u.orders and H0 in u.positions, what="user frames")
            got = u.orders[o.order_id]
            assert (got.status, got.side, got.price_ticks, got.filled_lots, got.remaining_lots, got.fees_micros,
                    got.cost_micros, got.client_order_id) == \
                (OrderStatus.FILLED, Side.YES, 5400, 1000, 0, 180_000, 5_400_000, "u1")
            assert u.positions[H0] == Position(o.venue, H0, 1000, fees_paid_micros=180_000)
            r = await v.place_order(OrderRequest(H0, Side.NO, 4000, 500, client_order_id="u2"))
            await wait_for(lambda: r.order_id in u.orders, what="resting frame")
            assert u.orders[r.order_id].status is OrderStatus.RESTING and u.orders[r.order_id].price_ticks == 4000
            await v.cancel_order(r.order_id)
            await wait_for(lambda: u.orders[r.order_id].status is OrderStatus.CANCELED, what="cancel frame")
            # a resting order of ours filled by someone else: user_order + position update
            m = await v.place_order(OrderRequest(H0, Side.NO, 4700, 200, client_order_id="u3"))   # best NO bid
            assert m.status is OrderStatus.RESTING
            await wait_for(lambda: m.order_id in u.orders, what="resting frame")
            sim.exchange.account("other", 10**12)
            sim.exchange.place("other", H0, "yes", "buy", 5300, 200, "ioc")
            await wait_for(lambda: u.orders[m.order_id].status is OrderStatus.FILLED, what="maker fill frame")
            await wait_for(lambda: u.positions[H0].yes_lots == 800, what="position after maker fill")
            assert u.malformed == 0 and u.errors == []
            await u.close()
            await v.close()
    run(main())


def test_user_message_parsers_on_asyncapi_examples():
    # the AsyncAPI file's own examples (kalshi-asyncapi.yaml, userOrderCreated / positionUpdate)
    o = parse_user_order({
        "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa", "user_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "ticker": "FED-23DEC-T3.00", "status": "resting", "side": "yes", "is_yes": True,
        "yes_price_dollars": "0.3500", "fill_count_fp": "0.00", "remaining_count_fp": "10.00",
        "initial_count_fp": "10.00", "taker_fill_cost_dollars": "0.0000", "maker_fill_cost_dollars": "0.0000",
        "client_order_id": "my-order-1", "order_group_id": "og_123", "self_trade_prevention_type": "taker_at_cross",
        "created_time": "2024-12-01T10:00:00Z", "expiration_time": "2024-12-01T11:00:00Z", "subaccount_number": 0})
    assert (o.market_id, o.side, o.price_ticks, o.qty_lots, o.remaining_lots, o.status, o.client_order_id) == \
        ("FED-23DEC-T3.00", Side.YES, 3500, 1000, 1000, OrderStatus.RESTING, "my-order-1")
    p = parse_market_position({"user_id": "user123", "market_ticker": "FED-23DEC-T3.00", "position": 100,
                               "position_fp": "100.00", "position_cost": 500000, "realized_pnl": 100000,
                               "fees_paid": 10000, "position_fee_cost": 5000, "volume": 15, "volume_fp": "15.00"})
    assert (p.market_id, p.yes_lots, p.fees_paid_micros) == ("FED-23DEC-T3.00", 10_000, 1_000_000)
