"""Kalshi request signing: base64 RSA-PSS(SHA-256, MGF1-SHA-256, salt 32) over ts + METHOD + path."""
from __future__ import annotations

import base64
import time
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class KalshiSigner:
    """Holds the private key; `headers(method, url_or_path)` returns the three auth headers.

    The path signed is the URL path (with `/trade-api/v2`, without the query string)."""

    def __init__(self, key_id: str, private_key_pem: bytes, clock=time.time) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("Kalshi API keys are RSA private keys")
        self.key_id = key_id
        self._key = key
        self._clock = clock

    def __repr__(self) -> str:
        return f"KalshiSigner(key_id={self.key_id[:4]}…)"

    def sign(self, message: str) -> str:
        sig = self._key.sign(message.encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                           salt_length=padding.PSS.DIGEST_LENGTH),
                             hashes.SHA256())
        return base64.b64encode(sig).decode()

    def headers(self, method: str, url_or_path: str) -> dict[str, str]:
        path = urlsplit(url_or_path).path
        ts = str(int(self._clock() * 1000))
        return {"KALSHI-ACCESS-KEY": self.key_id, "KALSHI-ACCESS-TIMESTAMP": ts,
                "KALSHI-ACCESS-SIGNATURE": self.sign(ts + method.upper() + path)}
