"""Exact fixed-point units shared by every part of arbbot (spec/ARBITRAGE.md "Units").

- price: ticks, 1 tick = $0.0001 per contract, 0 ... 10,000 (a contract pays 10,000 ticks)
- quantity: lots, 1 lot = 0.01 contract
- money: µ$ (micro-dollars), 1 µ$ = $0.000001; ticks × lots is exactly µ$
- fee rate: ppm, 0.07 → 70,000

Decimal strings are parsed as integers without ever going through binary floating point.
"""
from __future__ import annotations

import re

PRICE_SCALE = 10_000          # ticks per dollar
QTY_SCALE = 100               # lots per contract
MONEY_SCALE = 1_000_000       # µ$ per dollar
RATE_SCALE = 1_000_000        # ppm per unit rate
PAYOUT_TICKS = PRICE_SCALE    # what one winning contract pays, in ticks

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class DecimalFormatError(ValueError):
    """A decimal string is malformed or outside its unit's range (message is user-facing)."""


def parse_decimal(text: object, max_decimals: int, what: str) -> int:
    """Parse `digits` or `digits.digits` into an integer scaled by 10**max_decimals.

    Decimals are counted on the value ("0.5000" has one decimal), so trailing zeros never
    make a value invalid. Raises DecimalFormatError with a message naming `what`.
    """
    if not isinstance(text, str):
        kind = "number" if isinstance(text, (int, float)) and not isinstance(text, bool) else type(text).__name__
        if text is None:
            kind = "null"
        elif isinstance(text, bool):
            kind = "boolean"
        raise DecimalFormatError(f"{what} must be a decimal string like \"0.45\", got {kind}")
    if not _DECIMAL.fullmatch(text):
        raise DecimalFormatError(f"{what} {text!r} is not a decimal string (digits, optionally .digits)")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    if len(frac) > max_decimals:
        raise DecimalFormatError(f"{what} {text} has {len(frac)} decimals, at most {max_decimals} allowed")
    return int(whole) * 10**max_decimals + (int(frac.ljust(max_decimals, "0")) if frac else 0)


def parse_price(text: object) -> int:
    """Dollars per contract (≤ 4 decimals, 0 ≤ p ≤ 1) → ticks."""
    ticks = parse_decimal(text, 4, "price")
    if ticks > PRICE_SCALE:
        raise DecimalFormatError(f"price {text} is above 1")
    return ticks


MAX_CONTRACTS = 1_000_000


def parse_size(text: object, what: str = "size") -> int:
    """Contracts (≤ 2 decimals, ≤ 1,000,000) → lots."""
    lots = parse_decimal(text, 2, what)
    if lots > MAX_CONTRACTS * QTY_SCALE:
        raise DecimalFormatError(f"{what} {text} is above {MAX_CONTRACTS:,} contracts")
    return lots


def parse_rate(text: object, what: str = "rate") -> int:
    """A p·(1−p) coefficient (≤ 6 decimals, 0 ≤ r < 1) → ppm."""
    ppm = parse_decimal(text, 6, what)
    if ppm >= RATE_SCALE:
        raise DecimalFormatError(f"{what} {text} must be below 1")
    return ppm


def parse_money(text: object, what: str = "amount", maximum: int | None = None) -> int:
    """Dollars (≤ 6 decimals, ≥ 0) → µ$; `maximum` in µ$ if the engine bounds it."""
    micros = parse_decimal(text, 6, what)
    if maximum is not None and micros > maximum:
        raise DecimalFormatError(f"{what} {text} is above the supported maximum ${format_money(maximum)}")
    return micros


def parse_unit_interval(text: object, what: str) -> int:
    """A decimal in [0, 1] with ≤ 6 decimals → millionths (e.g. a relation's confidence)."""
    millionths = parse_decimal(text, 6, what)
    if millionths > 1_000_000:
        raise DecimalFormatError(f"{what} {text} is above 1")
    return millionths


def format_money(micros: int) -> str:
    """µ$ → dollars with exactly 6 decimals ("4.328000")."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MONEY_SCALE)
    return f"{sign}{whole}.{frac:06d}"


def format_price(ticks: int) -> str:
    """Ticks → dollars with exactly 4 decimals ("0.4500")."""
    whole, frac = divmod(ticks, PRICE_SCALE)
    return f"{whole}.{frac:04d}"


def format_qty(lots: int) -> str:
    """Lots → the shortest decimal number of contracts ("220", "12.5", "0.37")."""
    whole, frac = divmod(lots, QTY_SCALE)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:02d}".rstrip("0")


def format_decimal(value: int, decimals: int) -> str:
    """An integer scaled by 10**decimals → the shortest decimal string ("0.07", "1")."""
    whole, frac = divmod(value, 10**decimals)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:0{decimals}d}".rstrip("0")
