"""Fault injection for the simulated venues: the `Faults` switches and the code that applies them.

`Faults` is what `arbbot sim --faults '{…}'` takes (its field names are the JSON keys); a running
simulator reads `sim.faults` on every use, so a test may swap it at run time. Faults reach a
simulator only through its public hooks (`FaultHooks`): the HTTP venues count their requests with
`count_request()`, and every venue counts its orders in an `OrderFaults`. WebSocket frame faults
(lost deltas, duplicates, swaps, malformed frames, disconnects, Polymarket bad hashes) are applied
by each venue's own connections, since they depend on its framing. No fault makes a venue publish
a book its engine does not hold: a locked or crossed copy on a client comes from an update it
missed (`lost_removals`).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Callable, Protocol

from aiohttp import web


@dataclass(frozen=True)
class Faults:
    """Fault injection switches (all off by default). Counts are "every Nth" (0 = never)."""
    ws_seq_gap_every: int = 0          # Kalshi: the orderbook_delta numbered N, 2N, … is lost (seq and content)
    ws_duplicate_every: int = 0        # resend a book frame (same seq) every N frames
    ws_out_of_order_every: int = 0     # swap two consecutive book frames every N frames
    ws_malformed_every: int = 0        # send a non-JSON frame every N frames
    ws_disconnect_after: int = 0       # close the socket after N data frames (each connection)
    ws_overflow_after: int = 0         # Kalshi: the Nth book frame of a connection overflows its book
    #   subscription: error 25 "Subscription buffer overflow" (no sid) and nothing more on that sid
    poly_bad_hash_every: int = 0       # Polymarket: corrupt the hash in a price_change every N
    poly_drop_every: int = 0           # Polymarket: lose (never send) every Nth price_change frame
    http_429_every: int = 0            # every Nth request gets 429
    http_429_retry_after: float | None = None   # Polymarket: add Retry-After (seconds) to 429s
    #   (Kalshi's 429 never carries one, VENUES.md)
    http_5xx_every: int = 0            # every Nth request gets 503
    order_reject_every: int = 0        # every Nth order is rejected
    order_ack_delay_s: float = 0.0     # slow acks
    partial_fill_lots: int = 0         # partial fills: just before each order (not FOK, not post-only)
    #   arrives, another trader takes all but this many lots of the liquidity it would cross
    #   (a real trade, published); 0 = off
    # Lost / late order answers (Kalshi POST /portfolio/events/orders and its /batched, Polymarket
    # POST /order, TWS placeOrder). The order is placed and matched at once either way:
    lost_order_response_every: int = 0  # every Nth ACCEPTED order (own counter, see OrderFaults;
    #   each order of a batch counts): HTTP → connection aborted, no response (a whole batch's);
    #   TWS → its openOrder/orderStatus/execDetails never reach the placing connection (later
    #   updates and reqOpenOrders/reqCompletedOrders/reqExecutions do show it)
    order_response_delay_s: float = 0.0  # every order answer (accepted or refused) leaves S s late
    # Book feeds (read on every frame: may be switched at run time):
    lost_removals: tuple[str, ...] = ()  # these markets' updates that empty a level are lost on the
    #   way (Kalshi: with their seq number; Polymarket: the price_change frame): a copy that misses
    #   one keeps the level, and is locked/crossed once the other side bids at or past it
    stale_books: tuple[str, ...] = ()  # these markets' book updates are withheld (no frames at all)
    poly_match_delay_s: float = 0.0    # Polymarket: marketable orders (FAK/FOK) wait this long before
    #   they match, as in sports markets (the CLOB's matching delay): answered at once `delayed` with
    #   empty amounts, GET /data/order says ORDER_STATUS_DELAYED until then; 0 = off
    poly_settle_delay_s: float = 0.0   # Polymarket: tokens a trade bought are the account's to sell
    #   only this long after the match (the trade is MATCHED, then mined on chain: 10–50 s and more
    #   since the CLOB's V2; py-clob-client-v2#34, py-clob-client#247): a SELL of them before is
    #   refused "not enough balance / allowance"; 0 = off (sellable at once)
    poly_trade_fail_every: int = 0     # Polymarket: every Nth trade of a non-house account (a taker
    #   order's match, as GET /data/trades lists it) fails on chain, as the venue reports it
    #   (docs.polymarket.com/developers/CLOB/trades/trades-overview): MATCHED, RETRYING after half
    #   of `poly_trade_fail_after_s`, FAILED after all of it, when the engine reverts it for every
    #   side (cash, tokens, positions, fees; the order keeps its size_matched: py-clob-client-v2#34's
    #   "ghost fills"). While it is on, the other trades of non-house accounts go MATCHED, MINED,
    #   CONFIRMED on the same timing (off: CONFIRMED at once). `sim/polymarket/chain.py`; 0 = off
    poly_trade_fail_after_s: float = 30.0   # seconds from a match to its trade's final status
    poly_restart_s: float = 0.0        # Polymarket's matching engine restarts, as the venue documents
    #   (docs.polymarket.com/trading/matching-engine: weekly, ~90 s, and unscheduled ones): for S
    #   real seconds from when these faults are put in force (`sim.faults = …`, or start-up) every
    #   order-related CLOB endpoint — POST /order, DELETE /order, GET /data/order/{id}, GET
    #   /data/orders — answers HTTP 425 Too Early and does nothing; then, for `poly_post_only_s`,
    #   the engine is in post-only mode: cancels and reads are served, an order without postOnly is
    #   refused 400 (the text is assumed: the docs give none). GET /data/trades is served throughout
    #   (trade history, not an order endpoint: an assumption, the docs list no endpoints). 0 = off
    poly_post_only_s: float = 120.0    # the post-only mode after a restart (documented: 2 minutes)
    kalshi_trading_paused: bool = False  # Kalshi's trading is paused (its weekly maintenance window,
    #   a halt): GET /exchange/status says trading_active false and every order is refused (409
    #   trading_is_paused); the books and their resting orders stay as they were
    kalshi_history_cutoff_ms: int = 0  # Kalshi's historical cutoff (unix ms; 0 = none): GET
    #   /historical/cutoff answers it as trades_created_ts / orders_updated_ts / market_settled_ts;
    #   fills before it are listed by GET /historical/fills only, orders canceled or executed before
    #   it by GET /historical/orders only (resting orders stay in /portfolio/orders)

    @classmethod
    def from_json(cls, obj) -> "Faults":
        """`arbbot sim --faults`' JSON object as Faults; ValueError naming the key whose value is
        not of its switch's kind (counts and ms: whole numbers ≥ 0; seconds: finite numbers ≥ 0;
        on/off: true or false; market lists: lists of strings). Before, `"poly_restart_s": true`
        or `"ws_seq_gap_every": -5` were taken and acted on as 1 and "never", silently."""
        if not isinstance(obj, dict):
            raise ValueError("expected a JSON object of fault switches")
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        out = {}
        for key, value in obj.items():
            if key not in fields:
                raise ValueError(f"unknown fault {key!r} (known: {', '.join(fields)})")
            kind = fields[key]
            if kind == "bool":
                ok = type(value) is bool
            elif kind == "int":
                ok = type(value) is int and value >= 0
            elif kind in ("float", "float | None"):
                ok = (value is None and kind != "float") or (
                    type(value) in (int, float) and math.isfinite(value) and value >= 0)
            else:                                       # tuple[str, ...]: market ids
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
                value = tuple(value) if ok else value
            if not ok:
                want = {"bool": "true or false", "int": "a whole number ≥ 0", "float": "a number ≥ 0",
                        "float | None": "a number ≥ 0 or null"}.get(kind, "a list of market ids")
                raise ValueError(f"{key}: expected {want}, got {json.dumps(value)}")
            out[key] = value
        return cls(**out)


class FaultHooks(Protocol):
    """The public surface of a simulated HTTP venue that fault injection uses."""
    faults: Faults

    def count_request(self) -> int:
        """Count one HTTP request; its number (1, 2, …)."""
        ...


def http_fault(sim: FaultHooks, too_many: dict, unavailable: Callable[[], web.Response], *,
               retry_after: bool = False) -> web.Response | None:
    """Count one HTTP request on `sim` and apply `http_429_every` / `http_5xx_every`: the Nth
    request gets 429 (`too_many` as its JSON body; Retry-After when the venue sends one,
    `retry_after`, and `http_429_retry_after` is set) or 503 (`unavailable()`, the venue's own
    error response). None: serve the request."""
    n = sim.count_request()
    f = sim.faults
    if f.http_429_every and n % f.http_429_every == 0:
        headers = {"Retry-After": str(f.http_429_retry_after)} if retry_after and f.http_429_retry_after else {}
        return web.json_response(too_many, status=429, headers=headers)
    if f.http_5xx_every and n % f.http_5xx_every == 0:
        return unavailable()
    return None


class OrderFaults:
    """The order-entry faults of one venue, each on its own counter: `order_reject_every` counts
    every order received, `lost_order_response_every` only the orders the venue ACCEPTED (placed in
    its engine, filled or not) — a refused order is never a lost one, and the two never shift each
    other's rhythm."""

    def __init__(self) -> None:
        self.received = 0
        self.accepted = 0

    def refuse(self, faults: Faults) -> bool:
        """Count one order received; True if it is an Nth one, to be refused."""
        self.received += 1
        return bool(faults.order_reject_every) and self.received % faults.order_reject_every == 0

    def lose_answer(self, faults: Faults, n: int = 1) -> bool:
        """Count `n` more accepted orders (one request); True if one of them is an Nth, i.e.
        the answer to this request is lost."""
        every = faults.lost_order_response_every
        before, self.accepted = self.accepted, self.accepted + n
        return bool(every) and self.accepted // every > before // every


async def ack_delay(faults: Faults) -> None:
    """`order_ack_delay_s`: hold an order before the venue looks at it."""
    if faults.order_ack_delay_s:
        await asyncio.sleep(faults.order_ack_delay_s)


async def order_answer(request: web.Request, response: web.Response, faults: Faults, lost: bool) -> web.Response:
    """Deliver an order-entry HTTP answer under the response faults (the order is already placed
    and matched): `lost` → the connection is aborted and no HTTP response is sent (the client
    sees a reset / server disconnect); otherwise the answer waits `order_response_delay_s` first."""
    if lost:
        if request.transport is not None:
            request.transport.abort()
        return response                        # written to a closed transport: never arrives
    if faults.order_response_delay_s:
        await asyncio.sleep(faults.order_response_delay_s)
    return response
