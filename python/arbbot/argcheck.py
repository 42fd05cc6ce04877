"""Command-line checks shared by the commands: argparse `type=` functions (a bad value is refused
when the arguments are parsed — exit 2, `argument --x: expected …, got '…'` — before anything
starts) and `unwritable(path)`, which a command asks about an output file before its long work.
Light on imports: `arbbot --help` pays for this module."""
from __future__ import annotations

import argparse
import math
import os


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def _whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive(text: str) -> float:
    """A finite number > 0 (seconds, …)."""
    value = _number(text, "a number > 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def non_negative(text: str) -> float:
    """A finite number ≥ 0."""
    value = _number(text, "a number ≥ 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port, 0-65535 (0: any free port)."""
    value = _whole(text, "a port 0-65535")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 0-65535, got {text!r}")
    return value


def at_least(low: int):
    """A whole number ≥ `low`."""
    def check(text: str) -> int:
        value = _whole(text, f"a whole number ≥ {low}")
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number ≥ {low}, got {text!r}")
        return value
    check.__name__ = f"whole number ≥ {low}"
    return check


def contracts(text: str) -> float:
    """A per-trade cap in contracts: one lot (0.01) to the largest size a snapshot may state."""
    from arbbot.units import MAX_CONTRACTS
    what = f"0.01 to {MAX_CONTRACTS} contracts"
    value = _number(text, what)
    if not 0.01 <= value <= MAX_CONTRACTS:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def unwritable(path: str) -> str | None:
    """Why a file cannot be written at `path` (None: it can, as far as can be told beforehand:
    not a directory, its directory exists and is writable, an existing file is writable)."""
    target = os.path.abspath(path)
    if os.path.isdir(target):
        return "is a directory"
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        return f"directory {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable"
    if os.path.exists(target) and not os.access(target, os.W_OK):
        return "is not writable"
    return None
