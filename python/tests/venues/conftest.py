"""Fixtures for adapter-vs-simulator tests: RSA keys and a running Kalshi simulator."""
from __future__ import annotations

import asyncio
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _pem_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return priv, pub


@pytest.fixture(scope="session")
def rsa_keys():
    return _pem_pair()


@pytest.fixture(scope="session")
def other_rsa_keys():
    return _pem_pair()


async def wait_for(pred, timeout=10.0, what="condition"):
    """Poll a predicate (state observed through real sockets) until true; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
