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
