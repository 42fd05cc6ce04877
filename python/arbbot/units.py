"""Exact fixed-point units shared by every part of arbbot (spec/ARBITRAGE.md "Units").

- price: ticks, 1 tick = $0.0001 per contract, 0 ... 10,000 (a winning contract pays
  TICKS_PER_DOLLAR ticks: the $1 payout)
- quantity: lots, 1 lot = 0.01 contract
- money: µ$ (micro-dollars), 1 µ$ = $0.000001; ticks × lots is exactly µ$
- fee rate: ppm, 0.07 → 70,000

Decimal text is parsed into integers without ever going through binary floating point. Two
families of parsers share one core:
- `parse_*` read snapshot files: decimal *strings* only, never negative, with messages a person
  can act on (`price 1.2 is above 1`);
- `price_ticks`, `qty_lots`, `money_micros`, `rate_ppm` read venue wire values: strings,
  integers or `Decimal` (venues send all three), signed where a venue signs (positions, PnL).
A float is refused by both: it is never exact.
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_FLOOR, Decimal

TICKS_PER_DOLLAR = 10_000     # price unit: ticks in $1, the payout of one winning contract
LOTS_PER_CONTRACT = 100       # quantity unit: lots in one contract
MICROS_PER_DOLLAR = 1_000_000  # money unit: µ$ in $1
PPM = 1_000_000               # fee-rate unit: ppm in a rate of 1
MAX_CONTRACTS = 1_000_000     # largest size a snapshot may state

_STRICT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_SIGNED = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?$")


def shortened(text: str, limit: int = 40) -> str:
    """`text` for a message: shown by its ends when longer than `limit` (a 5,000-digit number)."""
    return text if len(text) <= limit else f"{text[:16]}...{text[-16:]}"


class UnitError(ValueError):
    """A number that is malformed or not exactly representable in its unit (message names it)."""


# ---- snapshot text: strict ----------------------------------------------------------------------

def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def parse_decimal(text: object, max_decimals: int, what: str) -> int:
    """Parse `digits` or `digits.digits` into an integer scaled by 10**max_decimals.

    Decimals are counted on the value ("0.5000" has one decimal), so trailing zeros never
    make a value invalid; nor do leading zeros, however many ("000…01" is 1). A value of more
    than 30 digits before the point (past every bound a unit has: the largest, 2⁶³−1 µ$, has 13)
    is refused as above the maximum before int() reads it (int() refuses past 4,300 digits, and
    is quadratic below). Raises UnitError with a message naming `what`; a long text is shown
    shortened.
    """
    if not isinstance(text, str):
        raise UnitError(f"{what} must be a decimal string like \"0.45\", got {_kind(text)}")
    shown = shortened(text)
    if not _STRICT.fullmatch(text):
        raise UnitError(f"{what} {shown!r} is not a decimal string (digits, optionally .digits)")
    whole, _, frac = text.partition(".")
    whole = whole.lstrip("0")
    frac = frac.rstrip("0")
    if len(frac) > max_decimals:
        raise UnitError(f"{what} {shown} has {len(frac):,} decimals, at most {max_decimals} allowed")
    if len(whole) > 30:
        raise UnitError(f"{what} {shown} is above the maximum ({len(whole):,} digits before the point)")
    return int(whole or "0") * 10**max_decimals + (int(frac.ljust(max_decimals, "0")) if frac else 0)


def parse_price(text: object) -> int:
    """Dollars per contract (≤ 4 decimals, 0 ≤ p ≤ 1) → ticks."""
    ticks = parse_decimal(text, 4, "price")
    if ticks > TICKS_PER_DOLLAR:
        raise UnitError(f"price {text} is above 1")
    return ticks


def parse_size(text: object, what: str = "size") -> int:
    """Contracts (≤ 2 decimals, ≤ 1,000,000) → lots."""
    lots = parse_decimal(text, 2, what)
    if lots > MAX_CONTRACTS * LOTS_PER_CONTRACT:
        raise UnitError(f"{what} {text} is above {MAX_CONTRACTS:,} contracts")
    return lots


def parse_rate(text: object, what: str = "rate") -> int:
    """A p·(1−p) coefficient (≤ 6 decimals, 0 ≤ r < 1) → ppm."""
    ppm = parse_decimal(text, 6, what)
    if ppm >= PPM:
        raise UnitError(f"{what} {text} must be below 1")
    return ppm


def parse_money(text: object, what: str = "amount", maximum: int | None = None) -> int:
    """Dollars (≤ 6 decimals, ≥ 0) → µ$; `maximum` in µ$ if the engine bounds it."""
    micros = parse_decimal(text, 6, what)
    if maximum is not None and micros > maximum:
        raise UnitError(f"{what} {text} is above the supported maximum ${format_money(maximum)}")
    return micros


def parse_unit_interval(text: object, what: str) -> int:
    """A decimal in [0, 1] → millionths (a relation's confidence). SNAPSHOT.md sets no limit on
    its decimals: past the sixth they are dropped (rounded down: a lower confidence never sizes a
    trade larger), after the value is checked against 1 on all of them."""
    if isinstance(text, str) and _STRICT.fullmatch(text):
        whole, _, frac = text.partition(".")
        if len(frac.rstrip("0")) > 6:
            millionths = parse_decimal(f"{whole}.{frac[:6]}", 6, what)
            if millionths >= 1_000_000:           # 1.000000… with a non-zero digit after the sixth
                raise UnitError(f"{what} {shortened(text)} is above 1")
            return millionths
    millionths = parse_decimal(text, 6, what)
    if millionths > 1_000_000:
        raise UnitError(f"{what} {text} is above 1")
    return millionths


# ---- venue wire values: strings, ints or Decimals, signed where venues sign -----------------------

_POW10 = tuple(10**k for k in range(10))


def _plain(value: str, scale_digits: int) -> int | None:
    """`value` × 10**scale_digits for the form venues send in every frame, `[-]D+[.D…]` in ASCII
    digits with at most `scale_digits` decimals; None for any other form (`_decimal_text`'s).
    The same integer the full parser gives, about 3× faster (a book delta carries two). A whole
    part of more than 30 digits (leading zeros, or too large) is left to the full parser too."""
    negative = value[:1] == "-"
    whole, dot, frac = value[negative:].partition(".")
    if not (len(whole) <= 30 and whole.isascii() and whole.isdigit()):   # ASCII and isdigit: [0-9]+
        return None
    n = int(whole) * _POW10[scale_digits]
    if dot:
        if not (0 < len(frac) <= scale_digits and frac.isascii() and frac.isdigit()):
            return None
        n += int(frac) * _POW10[scale_digits - len(frac)]
    return -n if negative else n


def _scaled(value: str | int | Decimal, scale_digits: int, what: str) -> int:
    """`value` × 10**scale_digits exactly (decimal string, int or Decimal; never a float)."""
    if type(value) is str:
        n = _plain(value, scale_digits)
        if n is not None:
            return n
    if isinstance(value, (bool, float)):
        raise UnitError(f"{what}: {value!r} is a {type(value).__name__}; venue numbers must be strings")
    if isinstance(value, int):
        return value * 10**scale_digits
    if isinstance(value, Decimal):
        if value.is_finite() and value.adjusted() >= 30:   # "1E+999999999": refused before written out
            raise UnitError(f"{what}: {value!r} is too large ({value.adjusted() + 1:,} digits before the point)")
        value = format(value, "f")
    if not isinstance(value, str):
        raise UnitError(f"{what}: expected a decimal string, got {type(value).__name__}")
    return _decimal_text(value, scale_digits, what)


def _decimal_text(value: str, scale_digits: int, what: str) -> int:
    """The full parser of a decimal string: a sign, spaces around, any digits `\\d` matches,
    extra decimals only zeros; UnitError otherwise (`_plain` answers its usual form first).
    Leading zeros are read however many; more than 30 digits before the point (no venue value
    comes near) is UnitError before int() reads them (it refuses past 4,300 digits)."""
    shown = shortened(value)
    m = _SIGNED.match(value.strip())
    if not m or (m.group(2) == "" and not m.group(3)):
        raise UnitError(f"{what}: {shown!r} is not a decimal number")
    sign, whole, frac = m.group(1), m.group(2).lstrip("0") or "0", m.group(3) or ""
    if frac[scale_digits:].strip("0"):
        raise UnitError(f"{what}: {shown!r} has more precision than {scale_digits} decimals")
    if len(whole) > 30:
        raise UnitError(f"{what}: {shown!r} is too large ({len(whole):,} digits before the point)")
    frac = frac[:scale_digits].ljust(scale_digits, "0")
    n = int(whole) * 10**scale_digits + (int(frac) if frac else 0)
    return -n if sign == "-" else n


def price_ticks(value: str | int | Decimal) -> int:
    """Dollar price (`"0.5600"`) → ticks (5600). Must lie in 0…10,000."""
    t = _scaled(value, 4, "price")
    if not 0 <= t <= TICKS_PER_DOLLAR:
        raise UnitError(f"price: {value!r} is outside 0…1")
    return t


def qty_lots(value: str | int | Decimal, *, signed: bool = False) -> int:
    """Contract count (`"10.00"`) → lots (1000). Negative only when `signed`."""
    n = _scaled(value, 2, "quantity")
    if n < 0 and not signed:
        raise UnitError(f"quantity: {value!r} is negative")
    return n


MICRO_SHARES_PER_LOT = 10**6 // LOTS_PER_CONTRACT     # Polymarket's on-chain share unit: 10⁻⁶ share


def share_micros(value: str | int | Decimal) -> int:
    """Polymarket share count (`"219.217767"`) → micro-shares (10⁻⁶ share, the on-chain unit).

    An order states its size in 2 decimals, but what the venue matches is on-chain amounts: fills
    (a marketable BUY stated in dollars buys `amount / price` shares), and the book levels such
    fills leave behind, carry up to 6 decimals. `lots_held(share_micros(x))` is the whole lots."""
    n = _scaled(value, 6, "quantity")
    if n < 0:
        raise UnitError(f"quantity: {value!r} is negative")
    return n


def lots_held(micro_shares: int) -> int:
    """Whole lots in `micro_shares`, rounded down: never more than held, filled or offered (the
    rest, under 0.01 share, is dust no order can trade: sizes are whole lots)."""
    return micro_shares // MICRO_SHARES_PER_LOT


def money_micros(value: str | int | Decimal) -> int:
    """Dollar amount (`"1234.5600"`) → µ$ (signed)."""
    return _scaled(value, 6, "money")


def rate_ppm(value: str | int | Decimal) -> int:
    """Fee-rate decimal (`"0.07"`) → parts per million (70,000)."""
    return _scaled(value, 6, "rate")


def cents_to_micros(cents: int) -> int:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise UnitError(f"cents: expected an integer, got {cents!r}")
    return cents * (MICROS_PER_DOLLAR // 100)


# ---- formatting -----------------------------------------------------------------------------------

def config_micros(dollars: float) -> int:
    """A dollar amount from the configuration (a finite float ≥ 0, written by a person as decimal
    text) → µ$, rounded DOWN from its shortest decimal form (0.29 → 290,000, never 289,999; a
    sub-µ$ part is dropped: SIZING.md, every double that becomes an integer does so through a
    floor)."""
    if not math.isfinite(dollars) or dollars < 0:
        raise ValueError(f"{dollars!r} is not a finite amount ≥ 0")
    return int((Decimal(repr(float(dollars))) * MICROS_PER_DOLLAR).to_integral_value(rounding=ROUND_FLOOR))


def format_decimal(value: int, decimals: int) -> str:
    """An integer scaled by 10**decimals → the shortest decimal string ("0.07", "1", "-2.5")."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**decimals)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{decimals}d}".rstrip("0")


def format_money(micros: int, *, trim: bool = False) -> str:
    """µ$ → dollars with exactly 6 decimals ("4.328000"), or the shortest form with `trim`."""
    if trim:
        return format_decimal(micros, 6)
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS_PER_DOLLAR)
    return f"{sign}{whole}.{frac:06d}"


def format_price(ticks: int) -> str:
    """Ticks → dollars with exactly 4 decimals ("0.4500")."""
    sign = "-" if ticks < 0 else ""
    whole, frac = divmod(abs(ticks), TICKS_PER_DOLLAR)
    return f"{sign}{whole}.{frac:04d}"


def format_qty(lots: int) -> str:
    """Lots → the shortest decimal number of contracts ("220", "12.5", "0.37", "-2")."""
    return format_decimal(lots, 2)


def format_rate(ppm: int) -> str:
    """ppm → the shortest decimal rate (70,000 → "0.07")."""
    return format_decimal(ppm, 6)
