"""Kalshi order entry (the V2 order API, `/portfolio/events/orders`) and portfolio reads.

Kalshi retired the legacy order writes (`POST /portfolio/orders`, `DELETE /portfolio/orders/{id}`,
`/portfolio/orders/batched`): deprecated "no earlier than May 6, 2026" (factsheet §1.6), removed
from the OpenAPI in 3.22.0 (TexasCoding/kalshi-python-sdk docs/migration.md "v4 → v5.0.0"), and
answered `410 deprecated_v1_order_endpoint` since. Orders are created and cancelled here through
the V2 endpoints (Kalshi OpenAPI 3.20.0, `CreateOrderV2`, `CancelOrderV2`, `BatchCreateOrdersV2`,
`BatchCancelOrdersV2`; https://docs.kalshi.com/api-reference/orders/create-order-v2):

- `POST /portfolio/events/orders` (CreateOrderV2Request): `ticker`, `client_order_id`, `side`
  (`bid` | `ask`: the YES leg of the one book — bid buys YES, ask sells YES, i.e. buys NO at 1 − p),
  `count` (fixed-point contracts, "10.00"), `price` (the YES price, fixed-point dollars "0.5600"),
  `time_in_force` and `self_trade_prevention_type` (both required), optional `post_only`,
  `reduce_only` ("the order place count should be capped by the member's current position").
  Answer 201 CreateOrderV2Response: `order_id`, `client_order_id`, `fill_count`,
  `remaining_count` ("for IOC orders … the final state after unfilled contracts are canceled"),
  `average_fill_price` / `average_fee_paid` (only when something filled), `ts_ms`.
- `DELETE /portfolio/events/orders/{order_id}` (query `subaccount`, `exchange_index`: both
  optional, default 0): 200 `{order_id, client_order_id, reduced_by, ts_ms}`.
- batched: `POST` / `DELETE /portfolio/events/orders/batched`, `{"orders": [...]}`, per-order
  answers (an item has `error` instead when that order failed).

Order reads are unchanged: `GET /portfolio/orders/{order_id}`, `GET /portfolio/orders`,
`GET /portfolio/fills`. Those two list only what is newer than Kalshi's historical cutoff (older
fills are served by `GET /historical/fills` only, orders canceled or executed before it by
`GET /historical/orders` only; docs getting_started/historical_data: a live window of about 3
months): every complete fill listing is followed by a read of `GET /historical/cutoff`
(`read_history_start`), which `KalshiVenue.fill_history_start_ms` reports. The V2 answers carry no money but an average price and an average fee per
contract (rounded), so the cost and fees of an order that filled are read from the order itself
(`GET /portfolio/orders/{order_id}`: `taker/maker_fill_cost_dollars`, `taker/maker_fees_dollars`,
exact) — never worked out from the averages.

Direction. A buy of NO at q and a sale of YES at 1 − q are one and the same V2 order (an ask at
1 − q), and the venue reports it one way (a V2 ask reads back side yes / action sell). The orders
this client sent are read back in the direction they were sent (`as_sent`: by client order id,
then order id), so a NO purchase found after its answer was lost shows its fills at the NO price it
paid — what the executor takes a looked-up purchase's cost from.
"""
from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import OrderedDict

from arbbot import logs
from arbbot.units import TICKS_PER_DOLLAR, format_price, format_qty
from arbbot.venues.common.errors import NotFound, OrderRejected, OutcomeUnknown, ProtocolError, VenueError
from arbbot.venues.common.model import (
    Action, Balance, Fill, Order, OrderRequest, OrderStatus, Position, Side, TimeInForce, Venue,
)
from arbbot.venues.kalshi.common.enums import STATUS_FROM_WIRE, TIF_TO_WIRE
from arbbot.venues.kalshi.http.client import ALREADY_THERE, KalshiHttpClient
from arbbot.venues.kalshi.schemas.rest import (
    OrderAck, as_direction, created_s, parse_balance, parse_fill, parse_history_cutoff, parse_order, parse_order_ack,
    parse_position,
)

log = logs.get("kalshi")

PAGE_LIMIT = 1000      # OpenAPI maximum of `limit` on GET /portfolio/orders, /fills and /positions
# a status filter (OrderStatus value or Kalshi's own word) → GET /portfolio/orders `status`
STATUS_TO_WIRE = {"resting": "resting", "canceled": "canceled", "filled": "executed", "executed": "executed"}

ORDERS_V2 = "/portfolio/events/orders"            # POST create; DELETE …/{order_id} cancel
BATCH_V2 = ORDERS_V2 + "/batched"                  # POST create, DELETE cancel (`{"orders": [...]}`)
# Self-trade prevention, required by V2: `taker_at_cross` "cancels the taker order when it would
# trade against another order from the same user; execution stops and any partial fills already
# matched are executed" (OpenAPI SelfTradePreventionType) — what the legacy endpoint applied.
STP = "taker_at_cross"
# Reading back an order that filled at placement: Kalshi notes "a short delay before exchange events
# are reflected" in GetOrder(s)/GetFills (GET /exchange/user_data_timestamp), so a read that does
# not show the fills the answer reported yet is repeated after these pauses (s), then given up.
READ_BACK_S = (0.05, 0.1, 0.2, 0.4)
SENT_MAX = 200_000     # orders whose direction is remembered (the oldest forgotten first)


def book_side(req: OrderRequest) -> tuple[str, int]:
    """(V2 `side`, YES price in ticks) of `req` — factsheet §1.6.2 "Order direction": buy YES and
    sell NO are bids, buy NO and sell YES asks, every price the YES leg's:

    | request           | side | price   |
    | buy YES at p      | bid  | p       |
    | sell YES at p     | ask  | p       |
    | buy NO at q       | ask  | 1 − q   |
    | sell NO at q      | bid  | 1 − q   |"""
    yes = req.side is Side.YES
    side = "bid" if yes == (req.action is Action.BUY) else "ask"
    return side, req.price_ticks if yes else TICKS_PER_DOLLAR - req.price_ticks


def order_body(req: OrderRequest) -> dict:
    """The V2 create body (CreateOrderV2Request). `count` with 2 decimals, `price` (YES) with 4;
    `client_order_id` always sent (generated when absent) so a lost answer can be looked up and a
    repeated send is refused as a duplicate; `self_trade_prevention_type` always (required).

    Refused before sending (OrderRejected, nothing sent):
    - a time in force Kalshi does not have (DAY: as good_till_canceled it would outlive the day);
    - a SELL that is not IOC: the executor's unwinds are IOC sales and no caller sends another; a
      resting sale could fill after the lots it was for are gone.
    No sale carries `reduce_only`. Kalshi nets YES and NO across the account, so selling YES is the
    same book order as buying NO, and an unwind must be able to net against the other side that
    another execution holds in the same market (the account then holds less than the leg, or
    nothing): `reduce_only` is refused there, and the leg would be left naked. A sale is never sent
    twice for the same lots (the executor does not resend an unwind whose answer was lost), which
    is what would otherwise open the opposite position."""
    if req.tif not in TIF_TO_WIRE:
        raise OrderRejected(f"kalshi: time in force {req.tif.value} is not supported", venue="kalshi")
    if req.action is Action.SELL and req.tif is not TimeInForce.IOC:
        raise OrderRejected(f"kalshi: a sale is sent only as IOC (a resting one could fill after its lots are "
                            f"gone), not {req.tif.value}", venue="kalshi")
    if req.qty_lots <= 0:
        raise OrderRejected(f"kalshi: order size must be positive, not {req.qty_lots} lots", venue="kalshi")
    side, yes_price = book_side(req)
    body = {"ticker": req.market_id, "client_order_id": req.client_order_id or f"arb-{uuid.uuid4()}",
            "side": side, "count": f"{req.qty_lots // 100}.{req.qty_lots % 100:02d}",
            "price": format_price(yes_price), "time_in_force": TIF_TO_WIRE[req.tif],
            "self_trade_prevention_type": STP}
    if req.post_only:
        body["post_only"] = True
    return body


def _unfilled(req: OrderRequest, ack: OrderAck) -> Order:
    """The order of an answer that filled nothing, exactly as the venue has it (no cost, no fee):
    resting with what is left, else done (an IOC/FOK killed); in the direction it was sent."""
    status = OrderStatus.RESTING if ack.remaining_lots > 0 else OrderStatus.CANCELED
    return Order(Venue.KALSHI, ack.order_id, ack.client_order_id, req.market_id, req.side, req.action, req.price_ticks,
                 max(req.qty_lots, ack.remaining_lots), 0, ack.remaining_lots, status)


class KalshiExecutionClient:
    def __init__(self, http: KalshiHttpClient) -> None:
        self.http = http
        self.read_back_s = READ_BACK_S
        # the direction (side, action) each order was sent in, by client order id and by order id
        self._sent: OrderedDict[str, tuple[Side, Action]] = OrderedDict()
        self._sent_ids: OrderedDict[str, tuple[Side, Action]] = OrderedDict()
        # unix ms from which /portfolio/fills and /portfolio/orders list everything (the historical
        # cutoff, `read_history_start`); None until a read of it succeeds
        self.history_start_ms: int | None = None

    @staticmethod
    def _keep(memo: OrderedDict, key: str, direction: tuple[Side, Action]) -> None:
        memo[key] = direction
        memo.move_to_end(key)
        while len(memo) > SENT_MAX:
            memo.popitem(last=False)

    def _sending(self, req: OrderRequest, body: dict) -> None:
        """Remember the direction of an order about to be sent (before: its answer may be lost)."""
        self._keep(self._sent, body["client_order_id"], (req.side, req.action))

    def _direction_sent(self, order_id: str, client_order_id: str) -> tuple[Side, Action] | None:
        want = self._sent_ids.get(order_id) or (self._sent.get(client_order_id) if client_order_id else None)
        if want is not None and order_id not in self._sent_ids:
            self._keep(self._sent_ids, order_id, want)
        return want

    def as_sent(self, x: Order | Fill) -> Order | Fill:
        """An order or a fill of an order this client sent, in the direction it sent the order
        (unchanged for one it did not send)."""
        want = self._direction_sent(x.order_id, x.client_order_id)
        if want is None or (x.side, x.action) == want:
            return x
        got = as_direction(x.side, x.action, x.price_ticks, want)
        if got is None:
            log.warning("kalshi.direction_mismatch", what=type(x).__name__, order_id=x.order_id,
                        sent=f"{want[1].value} {want[0].label}", read=f"{x.action.value} {x.side.label}")
            return x
        return dataclasses.replace(x, side=got[0], action=got[1], price_ticks=got[2])

    async def place(self, req: OrderRequest) -> Order:
        """Create one order (`POST /portfolio/events/orders`, sent once: never again once it may
        have arrived) and return it as the venue has it. An answer that filled nothing is the
        order (no money moved); one that filled is followed by a read of the order for its exact
        cost and fees. Once the venue has answered 201 the order exists: a read-back that fails
        is OutcomeUnknown (look it up by client order id), never a refusal or "not sent"."""
        body = order_body(req)
        self._sending(req, body)
        ack = parse_order_ack(await self.http.post(ORDERS_V2, body), body["client_order_id"])
        self._keep(self._sent_ids, ack.order_id, (req.side, req.action))
        if ack.filled_lots == 0:
            return _unfilled(req, ack)
        return await self._read_back(ack, req.tif)

    async def _read_back(self, ack: OrderAck, tif: TimeInForce) -> Order:
        """`GET /portfolio/orders/{order_id}` once it shows the `ack`'s fills (and, for IOC/FOK,
        the order done), retried after each `read_back_s` pause; OutcomeUnknown when it never
        does, or a read fails."""
        why = ""
        for pause in (0.0, *self.read_back_s):
            if pause:
                await asyncio.sleep(pause)
            try:
                order = await self.read_order(ack.order_id)
            except NotFound as exc:
                why = str(exc)
                continue
            except (VenueError, KeyError, TypeError) as exc:
                raise OutcomeUnknown(f"kalshi: order {ack.order_id} ({ack.client_order_id}) was placed and filled "
                                     f"{format_qty(ack.filled_lots)} contracts, but reading it failed ({exc}); "
                                     f"look it up by client order id", venue="kalshi") from None
            if order.order_id != ack.order_id:
                raise OutcomeUnknown(f"kalshi: GET /portfolio/orders/{ack.order_id} answered order {order.order_id}",
                                     venue="kalshi")
            done = tif is TimeInForce.GTC or order.status is not OrderStatus.RESTING     # IOC/FOK never rest
            if order.filled_lots >= ack.filled_lots and done:
                return order
            why = f"it shows {format_qty(order.filled_lots)} filled, {order.status.value}"
        raise OutcomeUnknown(f"kalshi: order {ack.order_id} ({ack.client_order_id}) was placed and filled "
                             f"{format_qty(ack.filled_lots)} contracts, but GET /portfolio/orders/{ack.order_id} does "
                             f"not show it yet ({why}); look it up by client order id", venue="kalshi")

    async def read_order(self, order_id: str) -> Order:
        """`GET /portfolio/orders/{order_id}`, in the direction it was sent (NotFound if the venue
        does not have it)."""
        body = await self.http.get(f"/portfolio/orders/{order_id}", auth=True)
        if not isinstance(body, dict) or "order" not in body:
            raise ProtocolError(f"kalshi GET /portfolio/orders/{order_id}: no order in the answer", venue="kalshi")
        return self.as_sent(parse_order(body["order"]))

    async def cancel(self, order_id: str) -> Order:
        """`DELETE /portfolio/events/orders/{order_id}` (CancelOrderV2: answers only
        `{order_id, client_order_id, reduced_by, ts_ms}`), then the order as the venue has it now
        (read once more when the read still shows it resting). NotFound when the venue has no
        resting order of that id."""
        await self.http.delete(f"{ORDERS_V2}/{order_id}")
        order = await self.read_order(order_id)
        for pause in self.read_back_s:
            if order.status is not OrderStatus.RESTING:
                break
            await asyncio.sleep(pause)
            order = await self.read_order(order_id)
        return order

    BATCH_MAX = 20     # orders a batched request (V2: "scales with your tier's write budget"; 20 fits every tier)

    @staticmethod
    def _item_error(e: dict | None, what: str, *, create: bool = False) -> VenueError:
        """A batch item's ErrorResponse → the error for that order: NotFound for a `not_found`
        code; on a create, OutcomeUnknown when the order is already there (`order_already_exists`)
        and OrderRejected otherwise; OrderRejected for a failed cancel of another kind."""
        e = e or {}
        code = str(e.get("code", ""))
        text = f"kalshi {what}: {e.get('message') or code or 'failed'}"
        if create and code in ALREADY_THERE:
            return OutcomeUnknown(text, venue="kalshi", code=code)
        cls = NotFound if code.startswith("not_found") or code.endswith("not_found") else OrderRejected
        return cls(text, venue="kalshi", code=code)

    async def place_batch(self, reqs: list[OrderRequest]) -> list[Order | VenueError]:
        """`POST /portfolio/events/orders/batched` (≤ BATCH_MAX per request; each order costs one
        write). Returns, in request order, the placed `Order` (read back as `place` does when it
        filled) or the per-order error (not raised: the other orders of the batch did go through);
        a request the venue refused, or whose answer was lost, is each of its orders' error. An
        order the adapter would refuse before sending is refused alone (OrderRejected)."""
        out: list[Order | VenueError | None] = [None] * len(reqs)
        bodies: list[tuple[int, dict]] = []
        for i, r in enumerate(reqs):
            try:
                bodies.append((i, order_body(r)))
            except OrderRejected as exc:
                out[i] = exc
            else:
                self._sending(r, bodies[-1][1])
        for k in range(0, len(bodies), self.BATCH_MAX):
            chunk = bodies[k:k + self.BATCH_MAX]
            try:
                answer = await self.http.post(BATCH_V2, {"orders": [b for _i, b in chunk]}, cost_units=len(chunk))
            except VenueError as exc:       # the whole request: refused, not sent, or outcome unknown
                for i, _b in chunk:
                    out[i] = exc
                continue
            items = answer.get("orders") if isinstance(answer, dict) else None
            if not isinstance(items, list) or len(items) != len(chunk):
                # the orders were sent and may be at the venue: look them up, never send them again
                n = len(items) if isinstance(items, list) else 0
                for i, b in chunk:
                    out[i] = OutcomeUnknown(f"kalshi batch create: {n} results for {len(chunk)} orders; order "
                                            f"{b['client_order_id']} may be at the venue", venue="kalshi")
                continue
            for (i, sent), it in zip(chunk, items):
                coid = sent["client_order_id"]
                if isinstance(it, dict) and it.get("error"):
                    out[i] = self._item_error(it["error"], f"order {coid}", create=True)
                    continue
                if not isinstance(it, dict) or not it.get("order_id"):
                    # neither an order nor an error in a request the venue accepted: the order may
                    # be there (and filled); look it up, never call it refused
                    out[i] = OutcomeUnknown(f"kalshi batch create: result {it!r:.80} for order {coid} "
                                            f"names no order or error; it may be at the venue", venue="kalshi")
                    continue
                try:
                    ack = parse_order_ack(it, coid)
                    self._keep(self._sent_ids, ack.order_id, (reqs[i].side, reqs[i].action))
                    out[i] = _unfilled(reqs[i], ack) if ack.filled_lots == 0 else \
                        await self._read_back(ack, reqs[i].tif)
                except VenueError as exc:          # placed (201): anything after is outcome unknown
                    out[i] = exc if isinstance(exc, OutcomeUnknown) else \
                        OutcomeUnknown(f"kalshi batch order {coid}: {exc}", venue="kalshi")
        return out                                   # type: ignore[return-value]  (every slot set)

    async def cancel_batch(self, order_ids: list[str]) -> list[Order | VenueError]:
        """`DELETE /portfolio/events/orders/batched` with `{"orders":[{"order_id":…}]}` (answers
        `{order_id, client_order_id, reduced_by, ts_ms}` or `error` per order); each order
        cancelled is then read (`GET /portfolio/orders/{order_id}`), a failed read being that
        order's error."""
        out: list[Order | VenueError] = []
        for i in range(0, len(order_ids), self.BATCH_MAX):
            chunk = order_ids[i:i + self.BATCH_MAX]
            body = await self.http.delete(BATCH_V2, {"orders": [{"order_id": o} for o in chunk]},
                                          cost_units=len(chunk))
            by_id = {it.get("order_id"): it for it in (body.get("orders") or []) if isinstance(it, dict)}
            for oid in chunk:
                it = by_id.get(oid)
                if it is None or it.get("error"):
                    out.append(self._item_error((it or {}).get("error"), f"cancel {oid}"))
                    continue
                try:
                    out.append(await self.read_order(oid))
                except VenueError as exc:
                    out.append(exc)
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
        """All the account's orders (every page), newest first as the venue lists them; those this
        client sent in the direction it sent them (`as_sent`). `ticker`: one market. `min_ts_ms`:
        created in or after the second holding it (the venue filters on whole unix seconds; asked
        one second early in case it reads "after" as strict, then trimmed on `created_time`).
        `status`: `OrderStatus` value (resting / filled / canceled / pending / rejected) or
        Kalshi's `executed`."""
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
        out = [self.as_sent(parse_order(o)) for o in raw]
        return out if want is None else [o for o in out if o.status is want]

    async def fills(self, *, order_id: str | None = None, ticker: str | None = None,
                    min_ts_ms: int | None = None) -> list[Fill]:
        """All the account's fills (every page), newest first, those of orders this client sent in
        the direction it sent them (`as_sent`). `order_id` / `ticker` filter at the venue;
        `min_ts_ms`: fills in or after the second holding it (as for `orders`). Only the fills
        newer than the historical cutoff: a complete listing (no filter) is followed by a read of
        it (`read_history_start`), so `history_start_ms` is never older than the cutoff this
        listing was served under."""
        params: dict = {}
        if order_id:
            params["order_id"] = order_id
        if ticker:
            params["ticker"] = ticker
        if min_ts_ms is not None:
            params["min_ts"] = max(0, min_ts_ms // 1000 - 1)
        out = [self.as_sent(parse_fill(f)) for f in await self._all_pages("/portfolio/fills", "fills", params)]
        if min_ts_ms is not None:
            out = [f for f in out if not f.ts_ms or f.ts_ms // 1000 >= min_ts_ms // 1000]   # 0: time unknown
        if not params:
            await self.read_history_start()
        return out

    async def read_history_start(self) -> int | None:
        """Read `GET /historical/cutoff` (public) into `history_start_ms`: the later of
        `trades_created_ts` and `orders_updated_ts` in unix ms (`parse_history_cutoff`). Read
        after a listing, never before: the cutoff only advances, so a value read after it is at
        least the one the listing was served under (a fill at or after it was listed). A read that
        fails keeps the last value (logged). Returns `history_start_ms`."""
        try:
            # through `request` (not `get`): a read of its own, not a page of the listing before it
            start = parse_history_cutoff(await self.http.request("GET", "/historical/cutoff"))
        except VenueError as exc:
            log.warning("kalshi.history_cutoff_failed", error=str(exc), kept=self.history_start_ms)
            return self.history_start_ms
        self.history_start_ms = start
        return start

    async def balance(self) -> Balance:
        return parse_balance(await self.http.get("/portfolio/balance", auth=True))

    async def positions(self) -> list[Position]:
        """Every market position (every page), as the venue lists them."""
        return [parse_position(p) for p in await self._all_pages("/portfolio/positions", "market_positions", {})]


__all__ = ["KalshiExecutionClient", "book_side", "order_body", "format_qty"]
