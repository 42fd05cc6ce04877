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


def stamp(second: int) -> str:
    """Unix second `second` as `YYYY-MM-DDTHH:MM:SSZ`."""
    return datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=4096)
def _epoch(text) -> int | None:
    """A valid stamp's unix second (exact: stamps are whole seconds); None for anything else."""
    if not isinstance(text, str) or not _STAMP.fullmatch(text):
        return None
    parsed = _parse(text)
    return None if parsed is None else int(parsed.timestamp())


def days_to_close(closes_at: list[str | None], decided_at: str | None, unknown_days: float) -> float:
    """Whole seconds (exact integer) / 86400 — one division, so the Swift twin gets the same double."""
    if decided_at is None or not closes_at or any(c is None for c in closes_at):
        return unknown_days
    now = parse_stamp(decided_at, "taken_at")
    latest = max(parse_stamp(c, f"legs[{i}].closes_at") for i, c in enumerate(closes_at))
    return int((latest - now).total_seconds()) / SECONDS_PER_DAY


def latest_close(closes_at) -> tuple[int | None, bool]:
    """(the latest close's unix second, True), the part of T that depends only on the legs (a
    leg set makes it once): T = unknown_days when the second is None (no close, or a leg without
    one), else int(latest − decided_s) / SECONDS_PER_DAY; (None, False) when a close is not a valid
    stamp (`days_to_latest` then gives `days_to_close`'s error)."""
    if not closes_at or any(c is None for c in closes_at):
        return None, True
    epochs = [_epoch(c) for c in closes_at]
    return (None, False) if None in epochs else (max(epochs), True)


def days_to_latest(latest: tuple[int | None, bool], closes_at, decided_s: int, unknown_days: float) -> float:
    """`days_to_close_at(closes_at, decided_s, unknown_days)` from `latest = latest_close(closes_at)`."""
    second, valid = latest
    if not valid:                                     # not a valid stamp: the error days_to_close gives
        return days_to_close(closes_at, stamp(decided_s), unknown_days)
    return unknown_days if second is None else int(second - decided_s) / SECONDS_PER_DAY


def days_to_close_at(closes_at: list[str | None], decided_s: int, unknown_days: float) -> float:
    """`days_to_close(closes_at, stamp(decided_s), unknown_days)` — the same double, the same
    ValueError — without formatting the decision stamp and parsing it back: (latest close − the
    decision second) in whole seconds / 86400."""
    return days_to_latest(latest_close(closes_at), closes_at, decided_s, unknown_days)
