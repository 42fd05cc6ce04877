"""Shared fixtures: `engine` runs a test once per implementation (python twin, swift)."""
from __future__ import annotations

import os

import pytest

from arbbot.engine.select import native_error, native_module


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Generated mappings are cached under XDG_CACHE_HOME: one per test session, never the
    user's (subprocesses inherit it)."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(autouse=True, scope="session")
def _one_simulated_calendar():
    """Every in-process simulator of the session dates its scenario from `tests.fx_day.SIM_START_MS`
    (a ForecastEx id carries its question's expiry, counted from the simulator's start day), so the
    ids tests name are the simulators' even when the session crosses midnight UTC."""
    from arbbot.sim import scenarios
    from tests.fx_day import SIM_START_MS
    real, scenarios.now_ms = scenarios.now_ms, lambda: SIM_START_MS
    yield
    scenarios.now_ms = real


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """A clean working directory (no arbbot.toml, no arbbot.db, the kill file's place) and no ARB_* variable."""
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("ARB_")]:
        monkeypatch.delenv(var)
    return tmp_path


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
