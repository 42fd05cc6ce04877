"""ARB_ENGINE selection: defaults, per-component overrides, errors, loud fallback."""
from __future__ import annotations

import pytest

from arbbot.engine import select


def test_default_is_swift_and_components_override(monkeypatch):
    for var in ("ARB_ENGINE", "ARB_ENGINE_LANES", "ARB_ENGINE_FEES"):
        monkeypatch.delenv(var, raising=False)
    assert select.requested("lanes") == "swift"
    monkeypatch.setenv("ARB_ENGINE", "python")
    assert select.requested("lanes") == "python"
    monkeypatch.setenv("ARB_ENGINE_LANES", "Swift ")
    assert select.requested("lanes") == "swift" and select.requested("fees") == "python"
    assert select.requested("fees", "swift") == "swift"      # an explicit argument wins


def test_bad_values_are_errors(monkeypatch):
    monkeypatch.setenv("ARB_ENGINE_EVAL", "gpu")
    with pytest.raises(select.EngineSelectionError, match="ARB_ENGINE_EVAL='gpu'"):
        select.requested("eval")
    with pytest.raises(ValueError):
        select.requested("nonsense")


def test_missing_native_falls_back_to_python_with_one_warning(monkeypatch, capsys):
    monkeypatch.delenv("ARB_ENGINE", raising=False)
    monkeypatch.setattr(select, "_native", None)
    monkeypatch.setattr(select, "_native_error", "No module named 'arbbot._native'")
    monkeypatch.setattr(select, "_warned", False)
    with pytest.warns(RuntimeWarning, match="not available"):
        assert select.implementation("lanes") == "python"
    assert select.implementation("fees") == "python"      # no second warning
    err = capsys.readouterr().err
    assert err.count("WARNING: arbbot: the Swift engine") == 1
