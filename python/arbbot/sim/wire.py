"""The simulator's own number and time formatting and parsing (independent of the adapters' code).

Units: ticks = $0.0001, lots = 0.01 contract, µ$ = $0.000001. Paging lives in `sim.paging`,
fault injection in `sim.faults`.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_CACHE = 1 << 16        # formatted numbers kept (pure functions of small ints: prices, level sizes)


@lru_cache(_CACHE)
def dollars(ticks: int, places: int = 4) -> str:
    """ticks (1e-4 $) → '0.5600'."""
    return str((Decimal(ticks) / Decimal(10_000)).quantize(Decimal(1).scaleb(-places)))


def micros_dollars(micros: int, places: int = 4) -> str:
    """µ$ → dollars string with `places` decimals (µ$ values are exact at 6 places)."""
    d = Decimal(micros) / Decimal(1_000_000)
    return str(d.quantize(Decimal(1).scaleb(-places)))


@lru_cache(_CACHE)
def count_fp(lots: int) -> str:
    """lots (0.01 contract) → '10.00'."""
    return str((Decimal(lots) / Decimal(100)).quantize(Decimal("0.01")))


@lru_cache(_CACHE)
def poly_num(ticks_or_lots: int, scale: int) -> str:
    """Polymarket-style shortest decimal ('0.47', '2500', '12.5')."""
    d = Decimal(ticks_or_lots) / Decimal(scale)
    s = format(d.normalize(), "f")
    return s


def poly_price(ticks: int) -> str:
    """ticks → Polymarket price ('0.47')."""
    return poly_num(ticks, 10_000)


def poly_size(lots: int) -> str:
    """lots (0.01 share) → Polymarket size ('2500', '12.5')."""
    return poly_num(lots, 100)


def iso_time(ms: int) -> str:
    """Unix ms → '2026-10-01T14:00:00Z' (UTC, whole seconds)."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _exact(s: str, scale: int, what: str, finest: str) -> int:
    """The decimal string `s` × `scale` as an exact integer; ValueError if it is not one."""
    try:
        d = Decimal(s)
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        raise ValueError(f"bad {what} {s!r}")
    t = d * scale
    if t != t.to_integral_value():
        raise ValueError(f"{what} {s!r} finer than {finest}")
    return int(t)


def parse_dollars(s) -> int:
    """'0.56' → 5600 ticks; raises ValueError on anything else (incl. floats)."""
    if not isinstance(s, str):
        raise ValueError("price must be a string")
    return _exact(s, 10_000, "price", "$0.0001")


def parse_count(s) -> int:
    """'10.00' (or a whole number 10) → 1000 lots; raises ValueError on anything else."""
    if isinstance(s, bool):
        raise ValueError("bad count")
    if isinstance(s, int):
        return s * 100
    if not isinstance(s, str):
        raise ValueError("count must be a string or integer")
    return _exact(s, 100, "count", "0.01")
