"""HTTP response helpers shared by the venue REST clients."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from arbbot.venues.common.errors import ProtocolError


def retry_after(resp: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header (Kalshi's 429 has none: None), never negative."""
    try:
        return max(0.0, float(resp.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def load_json(resp: httpx.Response, venue: str, method: str, path: str) -> Any:
    """The body as JSON with decimals kept exact (`Decimal`, never float); `{}` when empty."""
    try:
        return json.loads(resp.content, parse_float=Decimal) if resp.content else {}
    except ValueError:
        raise ProtocolError(f"{venue} {method} {path}: response is not JSON (HTTP {resp.status_code})",
                            venue=venue, status=resp.status_code) from None
