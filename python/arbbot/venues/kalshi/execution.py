"""Kalshi order entry (legacy `POST /portfolio/orders`, fixed-point fields) and portfolio reads."""
from __future__ import annotations

import uuid

from arbbot.venues.common.errors import NotFound, OrderRejected, ProtocolError, VenueError
from arbbot.venues.common.model import Balance, Fill, Order, OrderRequest, OrderStatus, Position
from arbbot.units import format_price, format_qty
from arbbot.venues.kalshi.common.enums import STATUS_FROM_WIRE, TIF_TO_WIRE
from arbbot.venues.kalshi.http.client import KalshiHttpClient
from arbbot.venues.kalshi.schemas.rest import created_s, parse_balance, parse_fill, parse_order, parse_position

PAGE_LIMIT = 1000      # OpenAPI maximum of `limit` on GET /portfolio/orders, /fills and /positions
# a status filter (OrderStatus value or Kalshi's own word) → GET /portfolio/orders `status`
STATUS_TO_WIRE = {"resting": "resting", "canceled": "canceled", "filled": "executed", "executed": "executed"}


def order_body(req: OrderRequest) -> dict:
    """The wire body. Prices with 4 decimals, counts with 2; `client_order_id` is always sent
    (generated when absent) so a retried POST cannot double-place. A time in force Kalshi does not
    have (DAY) is OrderRejected: nothing is sent."""
    if req.tif not in TIF_TO_WIRE:
        raise OrderRejected(f"kalshi: time in force {req.tif.value} is not supported", venue="kalshi")
    body = {"ticker": req.market_id, "side": req.side.label, "action": req.action.value,
            "count_fp": f"{req.qty_lots // 100}.{req.qty_lots % 100:02d}",
            f"{req.side.label}_price_dollars": format_price(req.price_ticks),
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

    # ---- list reads: every page ------------------------------------------------------------
    page_limit = PAGE_LIMIT

    async def _all_pages(self, path: str, key: str, params: dict) -> list[dict]:
        """Every item of a cursor-paged list: `limit` = `page_limit`, `cursor` followed until it
        comes back empty. A cursor the venue already gave raises ProtocolError (it would loop)."""
        items: list[dict] = []
        seen: set[str] = set()
        cursor = ""
        while True:
            q = {**params, "limit": self.page_limit}
            if cursor:
                q["cursor"] = cursor
            body = await self.http.get(path, q, auth=True)
            items.extend(body.get(key) or [])
            cursor = body.get("cursor") or ""
            if not cursor:
                return items
            if cursor in seen:
                raise ProtocolError(f"kalshi GET {path}: the venue repeated cursor {cursor!r}", venue="kalshi")
            seen.add(cursor)

    async def orders(self, *, ticker: str | None = None, min_ts_ms: int | None = None,
                     status: str | None = None) -> list[Order]:
        """All the account's orders (every page), newest first as the venue lists them.
        `ticker`: one market. `min_ts_ms`: created in or after the second holding it (the venue
        filters on whole unix seconds; asked one second early in case it reads "after" as
        strict, then trimmed on `created_time`). `status`: `OrderStatus` value (resting /
        filled / canceled / pending / rejected) or Kalshi's `executed`."""
        params: dict = {}
        if ticker:
            params["ticker"] = ticker
        if min_ts_ms is not None:
            params["min_ts"] = max(0, min_ts_ms // 1000 - 1)
        want = None
        if status is not None:
            if status not in STATUS_TO_WIRE and status not in {s.value for s in OrderStatus}:
                raise ValueError(f"unknown order status {status!r}")
            if status in STATUS_TO_WIRE:
                params["status"] = STATUS_TO_WIRE[status]
            want = STATUS_FROM_WIRE.get(status) or OrderStatus(status)
        raw = await self._all_pages("/portfolio/orders", "orders", params)
        if min_ts_ms is not None:
            raw = [o for o in raw if (t := created_s(o)) is None or t >= min_ts_ms // 1000]
        out = [parse_order(o) for o in raw]
        return out if want is None else [o for o in out if o.status is want]

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        """All the account's fills (every page), newest first. `order_id` / `ticker` filter at
        the venue; `min_ts_ms`: fills in or after the second holding it (as for `orders`)."""
        params: dict = {}
        if order_id:
            params["order_id"] = order_id
        if ticker:
            params["ticker"] = ticker
        if min_ts_ms is not None:
            params["min_ts"] = max(0, min_ts_ms // 1000 - 1)
        out = [parse_fill(f) for f in await self._all_pages("/portfolio/fills", "fills", params)]
        if min_ts_ms is not None:
            out = [f for f in out if not f.ts_ms or f.ts_ms // 1000 >= min_ts_ms // 1000]   # 0: time unknown
        return out

    async def balance(self) -> Balance:
        return parse_balance(await self.http.get("/portfolio/balance", auth=True))

    async def positions(self) -> list[Position]:
        """Every market position (every page), as the venue lists them."""
        return [parse_position(p) for p in await self._all_pages("/portfolio/positions", "market_positions", {})]


__all__ = ["KalshiExecutionClient", "order_body", "format_qty"]
