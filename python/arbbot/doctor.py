"""`arbbot doctor`: which implementation each hot-path component uses, and the native build."""
from __future__ import annotations

import os
import platform
import sys

from arbbot.engine.select import COMPONENTS, implementation, native_error, native_module, requested

EXPECTED_ABI = 4


def report() -> str:
    native = native_module()
    lines = [f"python        {platform.python_implementation()} {platform.python_version()} ({sys.executable})"]
    if native is None:
        lines.append(f"native        MISSING: {native_error()}")
    else:
        abi = native.abi_version()
        status = "ok" if abi == EXPECTED_ABI else f"MISMATCH (Python side expects {EXPECTED_ABI})"
        lines += [f"native        {native.__file__}",
                  f"abi version   {abi} ({status})",
                  f"build flags   {native.BUILD_FLAGS}",
                  f"record sizes  opportunity {native.OPPORTUNITY_SIZE} B, leg {native.LEG_SIZE} B"]
    env = {k: v for k, v in os.environ.items() if k.startswith("ARB_ENGINE")}
    lines.append("environment   " + (", ".join(f"{k}={v}" for k, v in sorted(env.items())) or "(no ARB_ENGINE* set: swift)"))
    for component in COMPONENTS:
        wanted, actual = requested(component), implementation(component)
        note = "" if wanted == actual else f"  (asked for {wanted}; native module missing)"
        lines.append(f"{component:<13} {actual}{note}")
    lines.append(f"secp256k1     {signing_backend()}")
    return "\n".join(lines)


def signing_backend() -> str:
    """Which library signs Polymarket orders (eth-keys' backend): coincurve's libsecp256k1, or
    eth-keys' pure-Python curve (several ms an order: coincurve missing from the install)."""
    from eth_keys.backends import get_backend
    name = type(get_backend()).__name__
    return "coincurve (libsecp256k1)" if name == "CoinCurveECCBackend" else f"{name} (pure Python: slow; install coincurve)"
