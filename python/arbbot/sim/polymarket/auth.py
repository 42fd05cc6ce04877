"""Simulated Polymarket L2 (API key) authentication: the server side of the HMAC check.

A request is accepted when POLY_ADDRESS, POLY_API_KEY and POLY_PASSPHRASE name registered
credentials, POLY_TIMESTAMP is within `max_skew_s` of the server clock, and POLY_SIGNATURE equals
url-safe base64(HMAC-SHA256(url-safe-b64decode(secret), ts + METHOD + path + body)).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field


class L2Failure(Exception):
    pass


@dataclass
class ApiCreds:
    """`address`: the signing key's (L2 auth and every order's `signer`). The account's funds sit
    in one wallet: the key's own (`wallet_type` 0, EOA) or a Polymarket proxy (1) or Gnosis Safe (2)
    at `funder`, which is then every order's `maker`."""
    address: str
    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    account: str = "user"
    wallet_type: int = 0
    funder: str = ""

    def wallet(self) -> tuple[int, str]:
        """(signature type, maker address, lower case) of the wallet holding the account's funds."""
        return self.wallet_type, (self.funder or self.address).lower()


class CredRegistry:
    def __init__(self, *, max_skew_s: int = 30, clock_s=lambda: int(time.time())) -> None:
        self.by_key: dict[str, ApiCreds] = {}
        self.max_skew_s = max_skew_s
        self.clock_s = clock_s

    def register(self, creds: ApiCreds) -> None:
        self.by_key[creds.api_key] = creds

    def verify(self, headers, method: str, path: str, body: str) -> str:
        need = ("POLY_ADDRESS", "POLY_SIGNATURE", "POLY_TIMESTAMP", "POLY_API_KEY", "POLY_PASSPHRASE")
        if any(not headers.get(h) for h in need):
            raise L2Failure("Unauthorized/Invalid api key")
        creds = self.by_key.get(headers["POLY_API_KEY"])
        if creds is None or not hmac.compare_digest(creds.passphrase, headers["POLY_PASSPHRASE"]):
            raise L2Failure("Unauthorized/Invalid api key")
        if headers["POLY_ADDRESS"].lower() != creds.address.lower():
            raise L2Failure("Unauthorized/Invalid api key")
        try:
            ts = int(headers["POLY_TIMESTAMP"])
        except ValueError:
            raise L2Failure("Unauthorized/Invalid api key") from None
        if abs(self.clock_s() - ts) > self.max_skew_s:
            raise L2Failure("Unauthorized/Invalid api key")
        key = base64.urlsafe_b64decode(creds.secret)
        mac = hmac.new(key, f"{headers['POLY_TIMESTAMP']}{method}{path}{body}".encode(), hashlib.sha256).digest()
        want = base64.urlsafe_b64encode(mac).decode()
        if not hmac.compare_digest(want, headers["POLY_SIGNATURE"]):
            raise L2Failure("Unauthorized/Invalid api key")
        return creds.account
