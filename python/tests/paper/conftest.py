from __future__ import annotations

import os

import pytest


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """A clean working directory (no arbbot.toml, no arbbot.db) and no ARB_* variable."""
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("ARB_")]:
        monkeypatch.delenv(var)
    return tmp_path
