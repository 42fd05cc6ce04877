"""Which implementation runs each hot-path component: ARB_ENGINE=swift|python (default swift),
overridden per component by ARB_ENGINE_DECOMPOSE, ARB_ENGINE_FEES, ARB_ENGINE_LANES,
ARB_ENGINE_EVAL (the sizing chain), ARB_ENGINE_ESTIMATES (sizing step 5's estimates),
ARB_ENGINE_REPLAY (the replay's record scanner). A missing native module falls back to Python with one loud warning."""
from __future__ import annotations

import os
import sys
import warnings

COMPONENTS = ("decompose", "fees", "lanes", "eval", "estimates", "replay")
IMPLEMENTATIONS = ("swift", "python")

_native = None
_native_error: str | None = None
_warned = False


class EngineSelectionError(ValueError):
    """ARB_ENGINE* holds a value other than swift or python."""


def native_module():
    """The loaded `arbbot._native` module, or None (with the reason in native_error())."""
    global _native, _native_error
    if _native is None and _native_error is None:
        try:
            from arbbot import _native as module
            _native = module
        except ImportError as exc:
            _native_error = str(exc)
    return _native


def native_error() -> str | None:
    native_module()
    return _native_error


def requested(component: str, override: str | None = None) -> str:
    """The implementation asked for (argument, then ARB_ENGINE_<COMPONENT>, then ARB_ENGINE)."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown engine component {component!r}")
    for source in (None, f"ARB_ENGINE_{component.upper()}", "ARB_ENGINE"):
        value = override if source is None else os.environ.get(source)   # read only when needed
        if value:
            value = value.strip().lower()
            if value not in IMPLEMENTATIONS:
                where = f"{source}={value!r}" if source else f"engine {value!r}"
                raise EngineSelectionError(f"{where}: expected 'swift' or 'python'")
            return value
    return "swift"


def implementation(component: str, override: str | None = None) -> str:
    """The implementation that will actually run the component."""
    choice = requested(component, override)
    if choice == "swift" and native_module() is None:
        _warn_fallback()
        return "python"
    return choice


def _warn_fallback() -> None:
    global _warned
    if not _warned:
        _warned = True
        message = (f"arbbot: the Swift engine (arbbot._native) is not available ({_native_error}); "
                   "running the pure-Python twin, which is much slower. Reinstall with "
                   "`pip install -e .` and the Swift toolchain to build it.")
        print(f"WARNING: {message}", file=sys.stderr)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
