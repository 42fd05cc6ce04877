"""Exact fixed-point parsing and formatting of venue decimal strings.

Units (spec/ARBITRAGE.md): price ticks (1 tick = $0.0001, 0…10,000), quantity lots
(1 lot = 0.01 contract), money µ$ (1 µ$ = $0.000001), fee rates ppm (0.07 → 70,000).
Nothing here touches binary floating point: a float input is refused, not rounded.
"""
from __future__ import annotations

import re
from decimal import Decimal

TICKS_PER_DOLLAR = 10_000
LOTS_PER_CONTRACT = 100
MICROS_PER_DOLLAR = 1_000_000
PPM = 1_000_000

_DEC = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?$")


class UnitError(ValueError):
    """A venue number that is malformed or not representable exactly in the target unit."""


def _scaled(value: str | int | Decimal, scale_digits: int, what: str) -> int:
    """Parse `value` (decimal string, int or Decimal) × 10**scale_digits exactly."""
    if isinstance(value, bool) or isinstance(value, float):
        raise UnitError(f"{what}: {value!r} is a {type(value).__name__}; venue numbers must be strings")
    if isinstance(value, int):
        return value * 10**scale_digits
    if isinstance(value, Decimal):
        value = format(value, "f")
    if not isinstance(value, str):
        raise UnitError(f"{what}: expected a decimal string, got {type(value).__name__}")
    m = _DEC.match(value.strip())
    if not m or (m.group(2) == "" and not m.group(3)):
        raise UnitError(f"{what}: {value!r} is not a decimal number")
    sign, whole, frac = m.group(1), m.group(2) or "0", m.group(3) or ""
    extra = frac[scale_digits:]
    if extra.strip("0"):
        raise UnitError(f"{what}: {value!r} has more precision than {scale_digits} decimals")
    frac = frac[:scale_digits].ljust(scale_digits, "0")
    n = int(whole) * 10**scale_digits + (int(frac) if frac else 0)
    return -n if sign == "-" else n


def price_ticks(value: str | int | Decimal) -> int:
    """Dollar price string (`"0.5600"`) → ticks (5600). Must lie in 0…10,000."""
    t = _scaled(value, 4, "price")
    if not 0 <= t <= TICKS_PER_DOLLAR:
        raise UnitError(f"price: {value!r} is outside 0…1")
    return t


def qty_lots(value: str | int | Decimal, *, signed: bool = False) -> int:
    """Contract count string (`"10.00"`) → lots (1000). Negative only when `signed`."""
    n = _scaled(value, 2, "quantity")
    if n < 0 and not signed:
        raise UnitError(f"quantity: {value!r} is negative")
    return n


def money_micros(value: str | int | Decimal) -> int:
    """Dollar amount string (`"1234.5600"`) → µ$ (signed)."""
    return _scaled(value, 6, "money")


def rate_ppm(value: str | int | Decimal) -> int:
    """Fee-rate decimal (`"0.07"`) → parts per million (70,000)."""
    return _scaled(value, 6, "rate")


def cents_to_micros(cents: int) -> int:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise UnitError(f"cents: expected an integer, got {cents!r}")
    return cents * 10_000


# ---- formatting (snapshot strings: digits or digits.digits, no sign) -------------------------

def _fmt(n: int, digits: int, *, trim: bool) -> str:
    sign = "-" if n < 0 else ""
    n = abs(n)
    whole, frac = divmod(n, 10**digits)
    s = f"{whole}.{frac:0{digits}d}" if digits else str(whole)
    if trim and "." in s:
        s = s.rstrip("0").rstrip(".")
    return sign + s


def fmt_price(ticks: int) -> str:
    """Ticks → `"0.5600"` (4 decimals)."""
    return _fmt(ticks, 4, trim=False)


def fmt_qty(lots: int) -> str:
    """Lots → shortest contract string (`"12.5"`, `"220"`)."""
    return _fmt(lots, 2, trim=True)


def fmt_money(micros: int, *, trim: bool = False) -> str:
    """µ$ → `"1.750000"` (6 decimals) or shortest with `trim`."""
    return _fmt(micros, 6, trim=trim)


def fmt_rate(ppm: int) -> str:
    """ppm → shortest decimal rate (`70000` → `"0.07"`)."""
    return _fmt(ppm, 6, trim=True)
