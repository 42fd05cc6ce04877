"""Fixtures the simulator tests share: a Kalshi API key pair and the Kalshi OpenAPI document."""
from __future__ import annotations

import pytest
from openapi_core import OpenAPI

from tests.sim.venue_envs import pem_pair
from tests.venues.test_kalshi_conformance import SPEC


@pytest.fixture(scope="module")
def keys():
    return pem_pair()


@pytest.fixture(scope="module")
def openapi():
    return OpenAPI.from_file_path(str(SPEC))
