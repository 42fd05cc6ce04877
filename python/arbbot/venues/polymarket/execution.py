"""Polymarket order entry: V2 orders built and EIP-712-signed by py-clob-client-v2, sent over our
own L2-authenticated transport.

Rules enforced before anything is sent: the price sits on the market's tick grid within
[tick, 1 − tick]; the size is at least the market's minimum; marketable orders (FOK/FAK) are worth
at least $1. The signing library takes floats, so the amounts it signs are compared with the exact
integer amounts (µ$ and 10⁻⁶ shares) and the order is refused locally on any difference.
"""
from __future__ import annotations

import asyncio
from decimal import Decimal

from arbbot.venues.common.errors import NotFound, OrderRejected, ProtocolError
from arbbot.venues.common.model import Action, Order, OrderRequest, OrderStatus, Side, TimeInForce, Venue
from arbbot.units import (LOTS_PER_CONTRACT, MICRO_SHARES_PER_LOT, TICKS_PER_DOLLAR, UnitError, lots_held, money_micros,
                          price_ticks, share_micros)
from arbbot.venues.polymarket.order_hash import order_hash

_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "FAK", TimeInForce.FOK: "FOK"}


class PolymarketExecutionClient:
    def __init__(self, http, config, provider) -> None:
        self.http = http
        self.config = config
        self.provider = provider
        self._builder = None
        self.placed: dict[str, Order] = {}
        # called with (client_order_id, order id) once an order is signed, before it is sent
        self.on_order_id = None

    def _order_builder(self):
        if self._builder is None:
            if not self.config.private_key:
                raise OrderRejected("Polymarket private key is not configured (orders must be signed)",
                                    venue="polymarket")
            from py_clob_client_v2.order_builder.builder import OrderBuilder
            from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
            from py_clob_client_v2.signer import Signer
            signer = Signer(self.config.private_key, self.config.chain_id)
            self._builder = OrderBuilder(signer, SignatureTypeV2(self.config.signature_type),
                                         self.config.funder or signer.address())
        return self._builder

    def prepare(self) -> None:
        """Load and warm what signing an order needs — py-clob-client's modules, the signer and
        builder, one order built and signed and thrown away (never sent) — so that the first order
        does not: importing the client costs 1–2 s of CPU, and inside the order path's worker thread
        that held the GIL away from the event loop (every feed read late, the next leg sent late)
        exactly when the bot first traded on Polymarket. Blocking; run it in a thread at start.
        Without a private key only the modules are loaded (orders are refused anyway)."""
        import importlib
        from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2
        importlib.import_module("py_clob_client_v2.order_utils.model.order_data_v2")     # `_build` reads it
        if not self.config.private_key:
            return
        self._order_builder().build_order(OrderArgsV2(token_id="1", price=0.5, size=5.0, side="BUY"),
                                          CreateOrderOptions(tick_size="0.01", neg_risk=False), version=2)

    def check(self, req: OrderRequest):
        m = self.provider.markets.get(req.market_id)
        if m is None:
            raise NotFound(f"polymarket: unknown market {req.market_id}", venue="polymarket")
        if req.tif not in _TIF:
            raise OrderRejected(f"polymarket: time in force {req.tif.value} is not supported", venue="polymarket")
        t, p, q = m.tick_ticks, req.price_ticks, req.qty_lots
        if p % t or not t <= p <= TICKS_PER_DOLLAR - t:
            raise OrderRejected(f"polymarket: price {p} ticks is off the {t}-tick grid or outside [tick, 1 − tick]",
                                venue="polymarket")
        min_lots = int(dict(m.extra).get("min_order_size_lots", "0"))
        if q <= 0 or q < min_lots:
            raise OrderRejected(f"polymarket: size {q} lots is below the market minimum {min_lots}", venue="polymarket")
        if _TIF[req.tif] in ("FOK", "FAK") and p * q < 1_000_000:
            raise OrderRejected("polymarket: marketable orders must be worth at least $1", venue="polymarket")
        return m

    def _build(self, m, req: OrderRequest) -> dict:
        from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2
        from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
        token = m.yes_token if req.side is Side.YES else m.no_token
        side = "BUY" if req.action is Action.BUY else "SELL"
        tick = format((Decimal(m.tick_ticks) / TICKS_PER_DOLLAR).normalize(), "f")
        order = self._order_builder().build_order(
            OrderArgsV2(token_id=token, price=req.price_ticks / TICKS_PER_DOLLAR, size=req.qty_lots / LOTS_PER_CONTRACT, side=side),
            CreateOrderOptions(tick_size=tick, neg_risk=m.neg_risk), version=2)
        coll, shares = req.price_ticks * req.qty_lots, req.qty_lots * MICRO_SHARES_PER_LOT
        want = (coll, shares) if side == "BUY" else (shares, coll)
        if (int(order.makerAmount), int(order.takerAmount)) != want:
            raise OrderRejected(f"polymarket: signed amounts {order.makerAmount}/{order.takerAmount} differ from the "
                                f"exact {want[0]}/{want[1]}; not sent", venue="polymarket")
        return order_to_json_v2(order, self.config.api_key, _TIF[req.tif], req.post_only, False)

    async def place(self, req: OrderRequest) -> Order:
        m = self.check(req)
        payload = await asyncio.to_thread(self._build, m, req)
        if self.on_order_id is not None:
            self.on_order_id(req.client_order_id, order_hash(payload["order"], m.neg_risk, self.config.chain_id))
        body = await self.http.clob_post("/order", payload, auth=True)
        if not isinstance(body, dict) or not body.get("success"):
            msg = body.get("errorMsg") if isinstance(body, dict) else ""
            raise OrderRejected(f"polymarket order rejected: {msg}", venue="polymarket")
        try:
            making, taking = Decimal(str(body["makingAmount"])), Decimal(str(body["takingAmount"]))
            shares = taking if req.action is Action.BUY else making
            filled = lots_held(share_micros(shares))          # up to 6 decimals: whole lots kept
            cost = money_micros(making) if req.action is Action.BUY else 0
        except (KeyError, UnitError) as exc:
            raise ProtocolError(f"polymarket /order response: {exc}", venue="polymarket") from None
        st = body.get("status")
        if st in ("live", "delayed"):
            status = OrderStatus.RESTING
        elif filled >= req.qty_lots:
            status = OrderStatus.FILLED
        else:
            status = OrderStatus.CANCELED          # FAK remainder killed
        remaining = req.qty_lots - filled if status is OrderStatus.RESTING else 0
        o = Order(Venue.POLYMARKET, str(body["orderID"]), req.client_order_id, req.market_id, req.side, req.action,
                  req.price_ticks, req.qty_lots, filled, remaining, status, cost_micros=cost)
        self.placed[o.order_id] = o
        return o

    async def order(self, order_id: str) -> Order | None:
        """One order by its id (the signed order's hash), whatever its state; None if unknown."""
        try:
            o = await self.http.clob_get(f"/data/order/{order_id}", None, auth=True)
        except NotFound:
            return None
        if not isinstance(o, dict) or not o.get("id"):
            return None
        token = str(o.get("asset_id", ""))
        m = next((m for m in self.provider.markets.values() if token in (m.yes_token, m.no_token)), None)
        mid, side = (m.market_id, Side.YES if token == m.yes_token else Side.NO) if m else (o.get("market", ""), Side.YES)
        try:
            size, matched = lots_held(share_micros(o["original_size"])), lots_held(share_micros(o["size_matched"]))
            price = price_ticks(o["price"])
        except (KeyError, UnitError) as exc:
            raise ProtocolError(f"polymarket /data/order: {exc}", venue="polymarket") from None
        status = {"LIVE": OrderStatus.RESTING, "MATCHED": OrderStatus.FILLED,
                  "CANCELED": OrderStatus.CANCELED}.get(str(o.get("status", "")).upper(), OrderStatus.PENDING)
        if status is OrderStatus.FILLED and matched < size:
            status = OrderStatus.CANCELED                 # FAK: the unmatched rest was killed
        action = Action.SELL if o.get("side") == "SELL" else Action.BUY
        known = self.placed.get(order_id)
        return Order(Venue.POLYMARKET, order_id, known.client_order_id if known else "", mid, side, action, price,
                     size, matched, size - matched if status is OrderStatus.RESTING else 0, status,
                     cost_micros=price * matched if action is Action.BUY else 0)

    async def cancel(self, order_id: str) -> Order:
        body = await self.http.clob_delete("/order", {"orderID": order_id})
        if order_id not in (body.get("canceled") or []):
            reason = (body.get("not_canceled") or {}).get(order_id, "not canceled")
            raise NotFound(f"polymarket cancel {order_id}: {reason}", venue="polymarket")
        o = self.placed.get(order_id)
        if o is None:
            return Order(Venue.POLYMARKET, order_id, "", "", Side.YES, Action.BUY, 0, 0, 0, 0, OrderStatus.CANCELED)
        o = Order(o.venue, o.order_id, o.client_order_id, o.market_id, o.side, o.action, o.price_ticks, o.qty_lots,
                  o.filled_lots, 0, OrderStatus.CANCELED, o.fees_micros, o.cost_micros)
        self.placed[order_id] = o
        return o
