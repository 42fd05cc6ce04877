"""Polymarket order entry: V2 orders built and EIP-712-signed by py-clob-client-v2, sent over our
own L2-authenticated transport.

Rules enforced before anything is sent: the price sits on the market's tick grid within
[tick, 1 − tick]; the size is at least the market's minimum; marketable orders (FOK/FAK) are worth
at least $1. The signing library takes floats, so the amounts it signs are compared with the exact
integer amounts (µ$ and 10⁻⁶ shares) and the order is refused locally on any difference.

Amounts (`signed_amounts`). A GTC order signs the exact limit amounts (price × shares, shares).
A marketable order (FAK/FOK) is the CLOB's market order, and its amounts have the CLOB's
precision: maker ≤ 2 decimals, taker ≤ 4 ("invalid amounts, the market buy orders maker amount
supports a max accuracy of 2 decimals, taker amount a max of 4 decimals"; py-clob-client
#121/#253, py-clob-client-v2 #99, rs-clob-client #114).
- BUY: the CLOB spends its maker amount (dollars) and the order receives every share that buys at
  the makers' prices, at least its taker amount: the implied price maker/taker is its limit
  (docs.polymarket.com "Create Order": a market BUY is "the dollar amount you want to spend";
  py-clob-client-v2 #89: a FAK for 5 shares at 0.99 that met 0.98 got 5.051019; rs-clob-client-v2
  #79). So the maker amount is what the fills the order is priced on cost (`spend_micros`, else
  price × shares), rounded UP to whole cents and at least $1, and the taker amount is maker /
  price rounded DOWN to 4 decimals, which puts the implied price at or just above the price and
  below the next tick (py-sdk #291/#292: rounded up, it falls below the price and never lifts an
  ask there). At the book it was priced on the order buys its size, and beyond it what the
  rounding buys: under $0.01 of shares, or up to $1 (or the market's minimum size) of them where
  the $1 minimum raises the amount; on a book that moved up, fewer shares (the executor tops the
  leg up). A budget whose taker amount would be under the market's minimum size spends price ×
  shares instead (the executor prices such an order at the highest level it walks, so that is
  what its fills cost).
- SELL: maker = the shares, taker = price × shares rounded DOWN to 4 decimals (the implied limit
  is ≤ the price by less than $0.0001/shares). A sale receives the makers' prices: more dollars,
  never more shares.
Either way an order whose implied limit would reach the next tick is refused, not sent (a guard:
at the $1 minimum it cannot happen).
"""
from __future__ import annotations

import asyncio
import copy
import logging
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from arbbot.venues.common.errors import NotFound, OrderRejected, ProtocolError
from arbbot.venues.common.model import Action, Order, OrderRequest, OrderStatus, Side, TimeInForce, Venue
from arbbot.units import (LOTS_PER_CONTRACT, MICRO_SHARES_PER_LOT, TICKS_PER_DOLLAR, UnitError, lots_held, money_micros,
                          price_ticks, share_micros)
from arbbot.venues.polymarket.fees import fee_at, order_fee
from arbbot.venues.polymarket.http import answers
from arbbot.venues.polymarket.order_hash import order_hash

log = logging.getLogger("arbbot.venues.polymarket.execution")

_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "FAK", TimeInForce.FOK: "FOK"}
MARKETABLE = ("FAK", "FOK")
# insert statuses of a placed order (docs: "Insert Statuses"); an answer without one placed nothing
_PLACED = ("live", "matched", "delayed", "unmatched")
EXPECTED_MAX = 10_000           # orders `remember`ed at most (the oldest forgotten: a lookup then reads all trades)
CENT_MICROS = 10_000            # $0.01 in µ$: a marketable order's maker amount has ≤ 2 decimals
TAKER_STEP_MICROS = 100         # 10⁻⁴: its taker amount has ≤ 4 decimals
MIN_MARKETABLE_MICROS = 1_000_000   # $1: the least a marketable order may be worth
# GET /data/order `status` → OrderStatus. UNMATCHED (a marketable order that found nothing),
# INVALID, CANCELED_MARKET_RESOLVED and SYSTEM_CLEARED are final: cancelled with `size_matched`
# filled; DELAYED
# (sports / market delay before matching) may still fill. The CLOB's OpenAPI writes them with the
# prefix ORDER_STATUS_ (`ORDER_STATUS_MATCHED`), the user channel and older answers without it:
# both are read (`order_status`).
STATUS_PREFIX = "ORDER_STATUS_"
ORDER_STATUS = {"LIVE": OrderStatus.RESTING, "MATCHED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELED,
                "UNMATCHED": OrderStatus.CANCELED, "INVALID": OrderStatus.CANCELED,
                "CANCELED_MARKET_RESOLVED": OrderStatus.CANCELED, "SYSTEM_CLEARED": OrderStatus.CANCELED,
                "DELAYED": OrderStatus.PENDING}


def order_status(wire) -> OrderStatus | None:
    """An order's `status` as the CLOB writes it (any case, with or without ORDER_STATUS_) →
    OrderStatus; None if unknown."""
    name = str(wire or "").upper()
    return ORDER_STATUS.get(name.removeprefix(STATUS_PREFIX))


def matched_amount(body: dict, key: str) -> Decimal:
    """`makingAmount` / `takingAmount` of a POST /order answer: decimal text, a number, or "" when
    nothing matched yet (a `live` or `delayed` order) → 0. ProtocolError otherwise."""
    value = body[key]
    if value == "" or value is None:
        return Decimal(0)
    try:
        amount = Decimal(str(value))
    except ArithmeticError:         # decimal.InvalidOperation: not a number
        raise ProtocolError(f"polymarket /order response: {key} {value!r} is not an amount", venue="polymarket") from None
    if not amount.is_finite() or amount < 0:
        raise ProtocolError(f"polymarket /order response: {key} {value!r} is not an amount", venue="polymarket")
    return amount


def signed_amounts(req: OrderRequest, tick: int, min_lots: int = 0) -> tuple[int, int]:
    """(makerAmount, takerAmount) the order is signed with, 10⁻⁶ units (µ$ / micro-shares), as
    the CLOB accepts them for its time in force (module doc); `min_lots` is the market's minimum
    size. A FAK/FOK whose rounded amounts would let it trade a tick beyond its price is
    OrderRejected here: nothing is sent."""
    shares, coll = req.qty_lots * MICRO_SHARES_PER_LOT, req.price_ticks * req.qty_lots    # µ$ = ticks × lots
    buy = req.action is Action.BUY
    if _TIF.get(req.tif) not in MARKETABLE:
        return (coll, shares) if buy else (shares, coll)
    if buy:
        limit_cost = -(-coll // CENT_MICROS) * CENT_MICROS
        spend = req.spend_micros if 0 < req.spend_micros < coll else coll
        maker = min(max(-(-spend // CENT_MICROS) * CENT_MICROS, MIN_MARKETABLE_MICROS), limit_cost)
        taker = _shares_for(maker, req.price_ticks)
        if taker < min_lots * MICRO_SHARES_PER_LOT:
            maker, taker = limit_cost, _shares_for(limit_cost, req.price_ticks)
        if maker * TICKS_PER_DOLLAR >= (req.price_ticks + tick) * taker:       # implied limit ≥ price + tick
            raise OrderRejected(
                f"polymarket: a marketable BUY of {req.qty_lots} lots at {req.price_ticks} ticks would be signed "
                f"{maker} µ$ for {taker} µshares, whose implied price reaches the next {tick}-tick step; not sent",
                venue="polymarket")
        return maker, taker
    taker = coll // TAKER_STEP_MICROS * TAKER_STEP_MICROS
    if taker <= (req.price_ticks - tick) * req.qty_lots:              # implied limit ≤ price − tick
        raise OrderRejected(
            f"polymarket: a marketable SELL of {req.qty_lots} lots at {req.price_ticks} ticks needs a taker amount "
            f"of 4 decimals ({taker} µ$ for {coll} µ$), whose implied price reaches the {tick}-tick step "
            f"below; not sent", venue="polymarket")
    return shares, taker


def _shares_for(maker: int, price: int) -> int:
    """The micro-shares `maker` µ$ buys at `price` ticks, down to the CLOB's 4 decimals."""
    return maker * TICKS_PER_DOLLAR // price // TAKER_STEP_MICROS * TAKER_STEP_MICROS


def _order_price(o: dict, action: Action, tick: int) -> int:
    """The order's price in ticks. A marketable order's price (maker/taker of its rounded
    amounts) may fall between ticks: read as the tick it can trade at (a BUY's down, a SELL's up)."""
    try:
        return price_ticks(o["price"])
    except UnitError:
        dollars = Decimal(str(o["price"]))
        if not dollars.is_finite() or not 0 <= dollars <= 1:
            raise
        steps = (dollars * TICKS_PER_DOLLAR / tick).to_integral_value(ROUND_FLOOR if action is Action.BUY
                                                                      else ROUND_CEILING)
        return int(steps) * tick


class PolymarketExecutionClient:
    def __init__(self, http, config, provider) -> None:
        self.http = http
        self.config = config
        self.provider = provider
        self._builder = None
        self.placed: dict[str, Order] = {}
        # the latest match time (unix s, the venue's clock) of any trade of ours read so far, and for
        # each order sent since, what it was then: the order's fills match at or after it
        self.venue_now_s: int | None = None
        self.sent_after_s: dict[str, int] = {}
        # called with (client_order_id, order id) once an order is signed, before it is sent
        self.on_order_id = None
        # order id → (condition id, the venue's clock (unix s) before it was sent, None: unknown): an
        # order whose answer may not have come (signed and sent, or sent by a process before a
        # restart: `remember`), so that reading it from its fills asks for its market's trades (since
        # then, when the venue's clock is known), not the account's whole history
        self.expected: dict[str, tuple[str, int | None]] = {}

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
        if _TIF[req.tif] in MARKETABLE and p * q < MIN_MARKETABLE_MICROS:
            raise OrderRejected("polymarket: marketable orders must be worth at least $1", venue="polymarket")
        signed_amounts(req, t, min_lots)  # a FAK/FOK its rounded amounts would let trade beyond its price
        return m

    def _build(self, m, req: OrderRequest) -> dict:
        from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2
        from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
        token = m.yes_token if req.side is Side.YES else m.no_token
        side = "BUY" if req.action is Action.BUY else "SELL"
        from py_clob_client_v2.order_utils import Side as WireSide
        tick = format((Decimal(m.tick_ticks) / TICKS_PER_DOLLAR).normalize(), "f")
        want = signed_amounts(req, m.tick_ticks, int(dict(m.extra).get("min_order_size_lots", "0")))
        builder = self._order_builder()
        if _TIF[req.tif] in MARKETABLE:
            # the library's limit-order amounts are exact products; a marketable order signs the
            # amounts the CLOB accepts for it (`signed_amounts`): a per-call copy of the builder
            # (the worker threads share the original) that returns them
            builder = copy.copy(builder)
            wire_side = WireSide.BUY if side == "BUY" else WireSide.SELL
            builder.get_order_amounts = lambda *_a, **_k: (wire_side, want[0], want[1])
        order = builder.build_order(
            OrderArgsV2(token_id=token, price=req.price_ticks / TICKS_PER_DOLLAR, size=req.qty_lots / LOTS_PER_CONTRACT, side=side),
            CreateOrderOptions(tick_size=tick, neg_risk=m.neg_risk), version=2)
        if (int(order.makerAmount), int(order.takerAmount)) != want:
            raise OrderRejected(f"polymarket: signed amounts {order.makerAmount}/{order.takerAmount} differ from the "
                                f"exact {want[0]}/{want[1]}; not sent", venue="polymarket")
        return order_to_json_v2(order, self.config.api_key, _TIF[req.tif], req.post_only, False)

    async def place(self, req: OrderRequest) -> Order:
        m = self.check(req)
        payload = await asyncio.to_thread(self._build, m, req)
        seen_s = self.venue_now_s                     # before it is sent: its fills match at or after it
        signed_id = None
        if self.on_order_id is not None:              # (the trader always listens: the store records the id)
            signed_id = order_hash(payload["order"], m.neg_risk, self.config.chain_id)
            self.on_order_id(req.client_order_id, signed_id)
            # known before its answer (which may be lost): a lookup of it reads its market's trades from then
            self.remember(signed_id, req.market_id, seen_s)
        body = await self.http.clob_post("/order", payload, auth=True)
        if not isinstance(body, dict):
            raise ProtocolError(f"polymarket /order response is not an object: {body!r:.200}", venue="polymarket")
        msg, _ = answers.error_text(body)
        if not body.get("success") or (msg and body.get("status") not in _PLACED):
            # a 200 that places nothing ({"success": false, "errorMsg": …}, or a per-order error
            # with no insert status): read as the same message answered with an error status
            raise answers.rejection(None, msg, f"polymarket POST /order: {msg or 'not placed'}",
                                    success=bool(body.get("success")))
        # the id is the signed order's hash (an answer may leave it empty)
        order_id = str(body.get("orderID") or "") or signed_id or order_hash(payload["order"], m.neg_risk,
                                                                            self.config.chain_id)
        if signed_id is not None and order_id != signed_id:
            log.warning("polymarket: the venue's order id %s is not the signed order's hash %s", order_id, signed_id)
        try:
            making, taking = matched_amount(body, "makingAmount"), matched_amount(body, "takingAmount")
            shares, money = (taking, making) if req.action is Action.BUY else (making, taking)
            exact = share_micros(shares)
            filled = lots_held(exact)                         # up to 6 decimals: whole lots kept
            cost = money_micros(making) if req.action is Action.BUY else 0
            # the taker fee of what matched now, from the market's schedule as the fills' fees
            fee = order_fee(getattr(m, "fees", None), exact, money_micros(money)) if filled else 0
        except (KeyError, UnitError) as exc:
            raise ProtocolError(f"polymarket /order response: {exc}", venue="polymarket") from None
        st = body.get("status")
        if st == "live":
            status = OrderStatus.RESTING
        elif st == "delayed":                      # held by the market's matching delay: it will match
            status = OrderStatus.PENDING           # (not cancelled while it waits: `settle` looks it up)
        elif filled >= req.qty_lots:
            status = OrderStatus.FILLED
        else:
            status = OrderStatus.CANCELED          # FAK remainder killed
        remaining = req.qty_lots - filled if status in (OrderStatus.RESTING, OrderStatus.PENDING) else 0
        o = Order(Venue.POLYMARKET, order_id, req.client_order_id, req.market_id, req.side, req.action,
                  req.price_ticks, req.qty_lots, filled, remaining, status, fees_micros=fee, cost_micros=cost)
        self.placed[o.order_id] = o
        if seen_s is not None:
            self.sent_after_s[o.order_id] = seen_s
        return o

    def remember(self, order_id: str, market_id: str, venue_since_s: int | None = None) -> None:
        """Order `order_id` (its hash) was sent on `market_id` (after `venue_since_s`, the venue's
        clock, when known): a lookup of it from its fills reads that market's trades (since then)
        (`PolymarketVenue.fills`)."""
        self.expected[order_id] = (market_id, venue_since_s)
        while len(self.expected) > EXPECTED_MAX:
            del self.expected[next(iter(self.expected))]

    async def order(self, order_id: str, failed_shares=None) -> Order | None:
        """One order by its id (the signed order's hash), whatever its state; None if unknown.
        `failed_shares(order_id)` (async, µshares): what the order matched in trades that FAILED on
        chain, asked when it matched anything: GET /data/order keeps counting those in
        `size_matched` ("ghost fills", py-clob-client-v2 #34; `trades` module doc), which are no
        fills: no tokens, no cash moved."""
        try:
            o = await self.http.clob_get(f"/data/order/{order_id}", None, auth=True)
        except NotFound:
            return None
        if not isinstance(o, dict) or not o.get("id"):
            return None
        found = await self.provider.token(str(o.get("asset_id", "")), str(o.get("market") or ""))
        if found is None:
            raise ProtocolError(f"polymarket /data/order: token {o.get('asset_id')!r} of order {order_id} is not "
                                "listed on Gamma: its side is unknown", venue="polymarket")
        mid, side = found
        m = self.provider.info(mid)
        action = Action.SELL if o.get("side") == "SELL" else Action.BUY
        try:
            size, exact = lots_held(share_micros(o["original_size"])), share_micros(o["size_matched"])
            price = _order_price(o, action, max(1, m.tick_ticks) if m else 1)
        except (KeyError, UnitError, ArithmeticError) as exc:
            raise ProtocolError(f"polymarket /data/order: {exc}", venue="polymarket") from None
        if exact and failed_shares is not None:
            exact = max(0, exact - await failed_shares(order_id))
        matched = lots_held(exact)
        status = order_status(o.get("status"))
        if status is None:
            log.warning("polymarket: order %s has status %r, unknown to this adapter: kept pending (still "
                        "looked up; check the CLOB's order statuses)", order_id, o.get("status"))
            status = OrderStatus.PENDING
        if status is OrderStatus.FILLED and matched < size:
            status = OrderStatus.CANCELED                 # FAK: the unmatched rest was killed
        known = self.placed.get(order_id)
        # what matched, priced at the order's price (the lookup says no more), its taker fee from
        # the market's schedule as the fills'
        fee = fee_at(getattr(m, "fees", None), exact, price) if m is not None and matched else 0
        return Order(Venue.POLYMARKET, order_id, known.client_order_id if known else "", mid, side, action, price,
                     size, matched, size - matched if status is OrderStatus.RESTING else 0, status,
                     fees_micros=fee, cost_micros=price * matched if action is Action.BUY else 0)

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
