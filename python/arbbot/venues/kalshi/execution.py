"""Kalshi order entry (legacy `POST /portfolio/orders`, fixed-point fields) and portfolio reads."""
from __future__ import annotations

import uuid

from arbbot.venues.common.errors import NotFound, OrderRejected, VenueError
from arbbot.venues.common.model import Balance, Fill, Order, OrderRequest, Position
from arbbot.venues.common.units import fmt_price, fmt_qty
from arbbot.venues.kalshi.common.enums import TIF_TO_WIRE
from arbbot.venues.kalshi.http.client import KalshiHttpClient
from arbbot.venues.kalshi.schemas.rest import parse_balance, parse_fill, parse_order, parse_position


def order_body(req: OrderRequest) -> dict:
    """The wire body. Prices with 4 decimals, counts with 2; `client_order_id` is always sent
    (generated when absent) so a retried POST cannot double-place."""
    body = {"ticker": req.market_id, "side": req.side.value, "action": req.action.value,
            "count_fp": f"{req.qty_lots // 100}.{req.qty_lots % 100:02d}",
            f"{req.side.value}_price_dollars": fmt_price(req.price_ticks),
            "time_in_force": TIF_TO_WIRE[req.tif],
            "client_order_id": req.client_order_id or f"arb-{uuid.uuid4()}"}
    if req.post_only:
        body["post_only"] = True
    return body


class KalshiExecutionClient:
    def __init__(self, http: KalshiHttpClient) -> None:
        self.http = http

    async def place(self, req: OrderRequest) -> Order:
        body = await self.http.post("/portfolio/orders", order_body(req))
        return parse_order(body["order"])

    async def cancel(self, order_id: str) -> Order:
        body = await self.http.delete(f"/portfolio/orders/{order_id}")
        return parse_order(body["order"])

    BATCH_MAX = 20     # Kalshi: "the limit is 20 orders per batch"

    @staticmethod
    def _item_error(e: dict | None, what: str) -> VenueError:
        e = e or {}
        code = str(e.get("code", ""))
        cls = NotFound if code.startswith("not_found") or code.endswith("not_found") else OrderRejected
        return cls(f"kalshi {what}: {e.get('message') or code or 'failed'}", venue="kalshi", code=code)

    async def place_batch(self, reqs: list[OrderRequest]) -> list[Order | VenueError]:
        """`POST /portfolio/orders/batched` (≤ 20 per request; each order costs one write).
        Returns, in request order, the placed `Order` or the per-order error (not raised: the
        other orders of the batch did go through)."""
        out: list[Order | VenueError] = []
        for i in range(0, len(reqs), self.BATCH_MAX):
            chunk = [order_body(r) for r in reqs[i:i + self.BATCH_MAX]]
            body = await self.http.post("/portfolio/orders/batched", {"orders": chunk}, cost_units=len(chunk))
            items = body.get("orders", [])
            if len(items) != len(chunk):
                raise OrderRejected(f"kalshi batch create: {len(items)} results for {len(chunk)} orders",
                                    venue="kalshi")
            for sent, it in zip(chunk, items):
                if it.get("order"):
                    out.append(parse_order(it["order"]))
                else:
                    out.append(self._item_error(it.get("error"), f"order {sent['client_order_id']}"))
        return out

    async def cancel_batch(self, order_ids: list[str]) -> list[Order | VenueError]:
        """`DELETE /portfolio/orders/batched` with `{"orders":[{"order_id":…}]}`."""
        out: list[Order | VenueError] = []
        for i in range(0, len(order_ids), self.BATCH_MAX):
            chunk = order_ids[i:i + self.BATCH_MAX]
            body = await self.http.delete("/portfolio/orders/batched",
                                          {"orders": [{"order_id": o} for o in chunk]}, cost_units=len(chunk))
            by_id = {it.get("order_id"): it for it in body.get("orders", [])}
            for oid in chunk:
                it = by_id.get(oid)
                if it is not None and it.get("order"):
                    out.append(parse_order(it["order"]))
                else:
                    out.append(self._item_error((it or {}).get("error"), f"cancel {oid}"))
        return out

    async def orders(self, status: str | None = None) -> list[Order]:
        body = await self.http.get("/portfolio/orders", {"status": status} if status else None, auth=True)
        return [parse_order(o) for o in body.get("orders", [])]

    async def fills(self) -> list[Fill]:
        body = await self.http.get("/portfolio/fills", auth=True)
        return [parse_fill(f) for f in body.get("fills", [])]

    async def balance(self) -> Balance:
        return parse_balance(await self.http.get("/portfolio/balance", auth=True))

    async def positions(self) -> list[Position]:
        body = await self.http.get("/portfolio/positions", auth=True)
        return [parse_position(p) for p in body.get("market_positions", [])]


__all__ = ["KalshiExecutionClient", "order_body", "fmt_qty"]
