"""T, days to close (SIZING.md "Inputs"): (latest `closes_at` among the legs − decision time) in
fractional days; both are `YYYY-MM-DDTHH:MM:SSZ`. Any leg without `closes_at`, or no decision
time → `unknown_days`."""
from __future__ import annotations

import re
from functools import lru_cache
from datetime import datetime, timezone

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
SECONDS_PER_DAY = 86_400


def parse_stamp(text: str, what: str) -> datetime:
    """`YYYY-MM-DDTHH:MM:SSZ` → an aware UTC datetime; ValueError naming `what` otherwise."""
    if not isinstance(text, str) or not _STAMP.fullmatch(text):
        raise ValueError(f"{what} {text!r} is not YYYY-MM-DDTHH:MM:SSZ")
    parsed = _parse(text)
    if parsed is None:
        raise ValueError(f"{what} {text!r} is not a valid time")
    return parsed


@lru_cache(maxsize=4096)
def _parse(text: str) -> datetime | None:
    """Cached: a running bot reads the same few close times for every opportunity."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def days_to_close(closes_at: list[str | None], decided_at: str | None, unknown_days: float) -> float:
    """Whole seconds (exact integer) / 86400 — one division, so the Swift twin gets the same double."""
    if decided_at is None or not closes_at or any(c is None for c in closes_at):
        return unknown_days
    now = parse_stamp(decided_at, "taken_at")
    latest = max(parse_stamp(c, f"legs[{i}].closes_at") for i, c in enumerate(closes_at))
    return int((latest - now).total_seconds()) / SECONDS_PER_DAY
