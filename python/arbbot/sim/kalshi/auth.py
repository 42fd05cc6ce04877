"""Kalshi request authentication, venue side: verify RSA-PSS signatures on incoming requests."""
from __future__ import annotations

import base64
import binascii
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class AuthFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class KeyRegistry:
    """API key id → (public key, account). `max_skew_ms`: accepted clock difference."""

    def __init__(self, max_skew_ms: int = 30_000, clock_ms=lambda: int(time.time() * 1000)) -> None:
        self.keys: dict[str, tuple[rsa.RSAPublicKey, str]] = {}
        self.max_skew_ms = max_skew_ms
        self.clock_ms = clock_ms

    def register(self, key_id: str, public_key_pem: bytes, account: str) -> None:
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("Kalshi keys are RSA")
        self.keys[key_id] = (key, account)

    def verify(self, headers, method: str, path: str) -> str:
        """Return the account for a correctly signed request, else raise AuthFailure."""
        key_id = headers.get("KALSHI-ACCESS-KEY")
        ts = headers.get("KALSHI-ACCESS-TIMESTAMP")
        sig = headers.get("KALSHI-ACCESS-SIGNATURE")
        if not key_id or not ts or not sig:
            raise AuthFailure("missing_parameters", "authentication headers are missing")
        entry = self.keys.get(key_id)
        if entry is None:
            raise AuthFailure("incorrect_api_key", "unknown API key")
        if not ts.isdigit():
            raise AuthFailure("invalid_timestamp", "timestamp must be milliseconds since the epoch")
        if abs(self.clock_ms() - int(ts)) > self.max_skew_ms:
            raise AuthFailure("invalid_timestamp", "request timestamp is too old or in the future")
        try:
            raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            raise AuthFailure("incorrect_api_key_signature", "signature is not base64") from None
        pub, account = entry
        try:
            pub.verify(raw, (ts + method.upper() + path).encode(),
                       padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        except InvalidSignature:
            raise AuthFailure("incorrect_api_key_signature", "signature does not match") from None
        return account
