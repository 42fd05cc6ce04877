"""Fixtures shared by the executor tests."""
from __future__ import annotations

import pytest

from tests.execution.harness import start_sim


@pytest.fixture
def sim_factory():
    """`make(faults=None)`: a started simulator (harness.start_sim), stopped after the test."""
    handles = []

    def make(faults=None):
        h = start_sim(faults)
        handles.append(h)
        return h
    yield make
    for h in handles:
        h.stop()
