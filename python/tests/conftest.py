"""Shared fixtures: `engine` runs a test once per implementation (python twin, swift)."""
from __future__ import annotations

import os

import pytest

from arbbot.engine.select import native_error, native_module


def require_native() -> None:
    """Fail (not skip) when the Swift engine is missing, unless the install skipped it on purpose."""
    if native_module() is None:
        if os.environ.get("ARBBOT_SKIP_NATIVE") == "1":
            pytest.skip("native engine not built (ARBBOT_SKIP_NATIVE=1)")
        pytest.fail(f"the Swift engine arbbot._native is missing: {native_error()}")


@pytest.fixture(params=["python", "swift"])
def engine(request) -> str:
    if request.param == "swift":
        require_native()
    return request.param


@pytest.fixture
def native():
    require_native()
    return native_module()
