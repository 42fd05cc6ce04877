"""Polymarket L2 (API key) request headers: HMAC-SHA256 over ts + METHOD + path + body."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time


class L2Signer:
    """Holds the API secret; `headers(method, path, body)` returns the five POLY_* headers.
    `path` is the request path without the query string; `body` the exact bytes sent (as text)."""

    def __init__(self, address: str, api_key: str, secret: str, passphrase: str, *, clock=time.time) -> None:
        self.address = address
        self.api_key = api_key
        self._secret = base64.urlsafe_b64decode(secret)
        self._passphrase = passphrase
        self.clock = clock

    def __repr__(self) -> str:
        return f"L2Signer(address={self.address!r})"

    def signature(self, ts: str, method: str, path: str, body: str = "") -> str:
        mac = hmac.new(self._secret, f"{ts}{method.upper()}{path}{body}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode()

    def headers(self, method: str, path: str, body: str = "") -> dict[str, str]:
        ts = str(int(self.clock()))
        return {"POLY_ADDRESS": self.address, "POLY_SIGNATURE": self.signature(ts, method, path, body),
                "POLY_TIMESTAMP": ts, "POLY_API_KEY": self.api_key, "POLY_PASSPHRASE": self._passphrase}
