"""HTTP plumbing shared by the venue REST clients: one retry policy, chosen per call.

A request ends in one of four ways:
- an answer (any status except 425, 429 and 5xx): returned to the client to decode;
- *not sent*: the connection failed before the request was written (`NotSent`): safe to retry;
- *outcome unknown*: the request may have reached the venue (read/write timeout, reset, server
  disconnect, 5xx): `OutcomeUnknown`;
- *too early* (HTTP 425): the venue is not processing requests for a while (Polymarket's matching
  engine restarting: docs.polymarket.com/trading/matching-engine, "not a permanent error", back
  off and retry). Nothing was done.

`Call.READ` (idempotent reads, cancels by order id) retries everything transient with backoff.
`Call.ORDER` (order placement) retries only what was not sent and 429 (a refusal before
processing; still 429 after the last retry: `VenueUnavailable`, nothing was placed); anything that
may have reached the venue is raised at once as `OutcomeUnknown`,
because sending an order twice can fill it twice — the caller looks it up by client order id.
A 425 on an order is raised at once as `VenueUnavailable` (a refusal: nothing was placed): an
outage lasts minutes, longer than any retry here should hold an order, and the caller decides
whether the order is still worth sending later.
"""
from __future__ import annotations

import asyncio
import enum
import json
import logging
import re
from decimal import Decimal
from typing import Any, Awaitable, Callable

import httpx

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.errors import (
    NotSent, OutcomeUnknown, ProtocolError, RateLimited, TransportError, VenueUnavailable,
)

log = logging.getLogger("arbbot.venues.http")

# httpx errors raised before any byte of the request was written
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


# seconds before an order refused with 425 is worth sending again, when the answer does not say
# (Retry-After): the first step of the backoff Polymarket's docs advise (1–2 s, doubling, ~30 s cap)
TOO_EARLY_RETRY_S = 1.0


class Call(enum.Enum):
    READ = "read"        # idempotent: retried on transport errors, 425, 429 and 5xx
    ORDER = "order"      # order placement: retried only when not sent, or refused with 429


def retry_after(resp: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header (Kalshi's 429 has none: None), never negative."""
    try:
        return max(0.0, float(resp.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def load_json(resp: httpx.Response, venue: str, method: str, path: str) -> Any:
    """The body as JSON with decimals kept exact (`Decimal`, never float); `{}` when empty. A
    lone UTF-16 surrogate in a string ("\\ud83d", half an emoji in a title: JSON allows the
    escape) becomes "?": no UTF-8 writer or tokenizer downstream can take it."""
    try:
        data = json.loads(resp.content, parse_float=Decimal) if resp.content else {}
    except ValueError:
        raise ProtocolError(f"{venue} {method} {path}: response is not JSON (HTTP {resp.status_code})",
                            venue=venue, status=resp.status_code) from None
    return without_lone_surrogates(data) if _SURROGATE.search(resp.content) else data


# a surrogate escape (a pair is decoded into one character; what is left of it is lone) or the
# CESU-8 bytes of one (json.loads decodes bytes with "surrogatepass")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def without_lone_surrogates(data: Any) -> Any:
    """`data` (decoded JSON) with every lone surrogate of its strings, keys too, as "?"."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
            return data
        except UnicodeEncodeError:
            return data.encode("utf-8", "replace").decode("utf-8")
    if isinstance(data, list):
        return [without_lone_surrogates(v) for v in data]
    if isinstance(data, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in data.items()}
    return data


async def send(http: httpx.AsyncClient, method: str, url: str, *, venue: str, path: str, call: Call,
               max_retries: int, prepare: Callable[[], Awaitable[dict]], params: dict | None = None,
               content: bytes | None = None,
               on_response: Callable[[httpx.Response], Awaitable[None] | None] | None = None,
               on_rate_limited: Callable[[float], None] | None = None,
               on_retry: Callable[[], None] | None = None,
               refusal: Callable[[httpx.Response], Exception | None] | None = None) -> httpx.Response:
    """Send one request under `call`'s retry policy and return the venue's answer.

    `prepare()` runs before every attempt (rate-limit bucket, fresh auth headers) and returns the
    headers. `on_rate_limited(delay)` takes over waiting after a 429 (a token-bucket penalty);
    without it the loop sleeps. `refusal(resp)` (orders only) reads an error answer first: the
    venue's documented meaning of a status this policy would otherwise take as "may be at the
    venue" (a 5xx that is a refusal: nothing placed), returned as the exception to raise, or None.
    Raises `NotSent`, `OutcomeUnknown`, `RateLimited` (on a read), `VenueUnavailable` (425 on an
    order, or 429 after the last retry: refusals, nothing placed) or `TransportError` (425 or 5xx
    on a read after the last retry)."""
    backoff = Backoff(base=0.05, cap=2.0)
    what = f"{venue} {method} {path}"
    for attempt in range(max_retries + 1):
        last = attempt == max_retries
        headers = await prepare()
        try:
            resp = await http.request(method, url, params=params, content=content, headers=headers)
        except _NOT_SENT as exc:
            if last:
                raise NotSent(f"{what}: not sent ({type(exc).__name__})", venue=venue) from None
            delay = backoff.next_delay()
        except httpx.HTTPError as exc:
            if call is Call.ORDER:
                raise OutcomeUnknown(f"{what}: no answer ({type(exc).__name__}); the order may be at the venue",
                                     venue=venue) from None
            if last:
                raise TransportError(f"{what}: {type(exc).__name__}", venue=venue) from None
            delay = backoff.next_delay()
        else:
            if on_response is not None:
                r = on_response(resp)
                if asyncio.iscoroutine(r):
                    await r
            status = resp.status_code
            if status >= 400 and call is Call.ORDER and refusal is not None \
                    and (refused := refusal(resp)) is not None:
                raise refused
            if status == 429:
                after = retry_after(resp)
                if last and call is Call.ORDER:     # every attempt refused before processing
                    raise VenueUnavailable(f"{what}: HTTP 429 Too Many Requests after {attempt + 1} attempts; "
                                           "nothing was placed", venue=venue, status=429,
                                           retry_after=TOO_EARLY_RETRY_S if after is None else after)
                if last:
                    raise RateLimited(f"{what}: too many requests", retry_after=after, venue=venue, status=429)
                delay = after if after is not None else backoff.next_delay()
                if on_rate_limited is not None:
                    on_rate_limited(delay)
                    delay = 0.0
            elif status == 425:
                if call is Call.ORDER:
                    after = retry_after(resp)
                    raise VenueUnavailable(f"{what}: HTTP 425 Too Early: the venue is not taking orders now; "
                                           "nothing was placed", venue=venue, status=425,
                                           retry_after=TOO_EARLY_RETRY_S if after is None else after)
                if last:
                    raise TransportError(f"{what}: HTTP 425 Too Early (the venue is not processing requests now)",
                                         venue=venue, status=425)
                delay = backoff.next_delay()
            elif status >= 500:
                if call is Call.ORDER:
                    raise OutcomeUnknown(f"{what}: HTTP {status}; the order may be at the venue", venue=venue,
                                         status=status)
                if last:
                    raise TransportError(f"{what}: HTTP {status}", venue=venue, status=status)
                delay = backoff.next_delay()
            else:
                return resp
        if on_retry is not None:
            on_retry()
        log.info("%s: retry %d in %.2fs", what, attempt + 1, delay)
        if delay:
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
