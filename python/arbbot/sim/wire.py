"""The simulator's own number formatting and parsing (independent of the adapters' code)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation


def dollars(ticks: int, places: int = 4) -> str:
    """ticks (1e-4 $) → '0.5600'."""
    return str((Decimal(ticks) / Decimal(10_000)).quantize(Decimal(1).scaleb(-places)))


def micros_dollars(micros: int, places: int = 4) -> str:
    """µ$ → dollars string with `places` decimals (µ$ values are exact at 6 places)."""
    d = Decimal(micros) / Decimal(1_000_000)
    return str(d.quantize(Decimal(1).scaleb(-places)))


def count_fp(lots: int) -> str:
    """lots (0.01 contract) → '10.00'."""
    return str((Decimal(lots) / Decimal(100)).quantize(Decimal("0.01")))


def poly_num(ticks_or_lots: int, scale: int) -> str:
    """Polymarket-style shortest decimal ('0.47', '2500', '12.5')."""
    d = Decimal(ticks_or_lots) / Decimal(scale)
    s = format(d.normalize(), "f")
    return s


def parse_dollars(s) -> int:
    """'0.56' → 5600 ticks; raises ValueError on anything else (incl. floats)."""
    if not isinstance(s, str):
        raise ValueError("price must be a string")
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"bad price {s!r}") from None
    t = d * 10_000
    if t != t.to_integral_value():
        raise ValueError(f"price {s!r} finer than $0.0001")
    return int(t)


def parse_count(s) -> int:
    if isinstance(s, bool):
        raise ValueError("bad count")
    if isinstance(s, int):
        return s * 100
    if not isinstance(s, str):
        raise ValueError("count must be a string or integer")
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"bad count {s!r}") from None
    t = d * 100
    if t != t.to_integral_value():
        raise ValueError(f"count {s!r} finer than 0.01")
    return int(t)


async def serve_connection(connections: set, conn, ws, on_text) -> None:
    """Run one simulator WebSocket connection: register it, start its writer task, feed text
    frames to `on_text` until the client closes, then unregister (shared by both venues)."""
    from aiohttp import WSMsgType
    import asyncio
    connections.add(conn)
    writer = asyncio.create_task(conn.writer())
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                on_text(msg.data)
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        connections.discard(conn)
        writer.cancel()


def refresh_crossed_books(sim) -> None:
    """Apply `sim.faults.crossed_books` on a simulated venue (`sim.exchange`, `sim.phantom`,
    `sim._on_event`): publish a phantom YES bid that locks or crosses the best NO bid (ticks,
    `cross_ticks` past locked); remove it (a delta back) once the market is healthy again."""
    from arbbot.sim.engine.matching import FULL, BookDelta
    f = sim.faults
    for m in sorted(set(sim.phantom) | set(f.crossed_books)):
        if m in f.crossed_books and m not in sim.phantom:
            no = sim.exchange.markets[m].levels("no")
            price = min(FULL - 100, FULL - (max(no) if no else FULL - 100) + f.cross_ticks)
            sim.phantom[m] = ("yes", price, 10_000)
            sim._on_event(BookDelta(m, "yes", price, 10_000))
        elif m not in f.crossed_books and m in sim.phantom:
            side, price, lots = sim.phantom.pop(m)
            sim._on_event(BookDelta(m, side, price, -lots))


def injected_http_fault(sim, too_many: dict, unavailable):
    """Count one HTTP request on a simulated venue and apply `sim.faults`: every Nth request gets
    429 (`too_many` as its JSON body, Retry-After when configured) or 503 (`unavailable()`, the
    venue's own error response). Returns the fault response, or None to serve the request."""
    from aiohttp import web
    sim._req_count += 1
    f = sim.faults
    if f.http_429_every and sim._req_count % f.http_429_every == 0:
        headers = {"Retry-After": str(f.http_429_retry_after)} if f.http_429_retry_after else {}
        return web.json_response(too_many, status=429, headers=headers)
    if f.http_5xx_every and sim._req_count % f.http_5xx_every == 0:
        return unavailable()
    return None


def keyset_page(items, key, after, limit: int, *, descending: bool):
    """One page of `items` ordered by `key` (immutable and unique per item: a sequence number,
    an append-only index, a ticker): the first `limit` items strictly past `after` (None = from
    the start) and the key to resume after, or None when nothing is left. Resuming from a key
    rather than an offset, an item added or removed between two reads can neither shift the rest
    into a repeat nor skip one."""
    if descending:
        rest = sorted((x for x in items if after is None or key(x) < after), key=key, reverse=True)
    else:
        rest = sorted((x for x in items if after is None or key(x) > after), key=key)
    page = rest[:limit]
    return page, (key(page[-1]) if len(rest) > limit else None)


POLY_START, POLY_END = "MA==", "LTE="          # base64("0"), base64("-1"): the CLOB's first / no-more cursors


def poly_cursor_page(items, key, cursor: str, limit: int = 100):
    """Polymarket CLOB paging: `cursor` = base64 of the position to resume from ("MA==" = 0 =
    start, "LTE=" = −1 = end), the position being the smallest `key` (an immutable int ≥ 0, items
    ascending) not returned yet. Returns (page, next_cursor); raises ValueError on a bad cursor."""
    import base64
    import binascii
    try:
        pos = int(base64.b64decode(cursor.encode(), validate=True).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"invalid next_cursor {cursor!r}") from None
    if pos == -1:
        return [], POLY_END
    if pos < 0:
        raise ValueError(f"invalid next_cursor {cursor!r}")
    page, last = keyset_page(items, key, pos - 1, limit, descending=False)
    return page, (POLY_END if last is None else base64.b64encode(str(last + 1).encode()).decode())


class LostAnswers:
    """`Faults.lost_order_response_every` on one simulated venue. Counts the orders the venue
    ACCEPTED (placed in its engine, filled or not) with its own counter: the reject fault's counter
    counts every order received, so a refused order is never a lost one and the two never shift
    each other's rhythm."""

    def __init__(self) -> None:
        self.accepted = 0

    def count(self, faults, n: int = 1) -> bool:
        """Count `n` more accepted orders (one request); True if one of them is an Nth, i.e.
        the answer to this request is lost."""
        every = faults.lost_order_response_every
        before, self.accepted = self.accepted, self.accepted + n
        return bool(every) and self.accepted // every > before // every


async def order_answer(request, response, faults, lost: bool):
    """Deliver an order-entry HTTP answer under the response faults (the order is already placed
    and matched): `lost` → the connection is aborted and no HTTP response is sent (the client
    sees a reset / server disconnect); otherwise the answer waits `order_response_delay_s` first."""
    import asyncio
    if lost:
        if request.transport is not None:
            request.transport.abort()
        return response                        # written to a closed transport: never arrives
    if faults.order_response_delay_s:
        await asyncio.sleep(faults.order_response_delay_s)
    return response
