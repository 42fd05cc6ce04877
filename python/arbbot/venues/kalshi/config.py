"""Kalshi adapter configuration: base URLs (real or simulator) and credentials."""
from __future__ import annotations

from dataclasses import dataclass, field

PROD_REST = "https://external-api.kalshi.com/trade-api/v2"
PROD_WS = "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
DEMO_REST = "https://external-api.demo.kalshi.co/trade-api/v2"
DEMO_WS = "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"


@dataclass(frozen=True)
class KalshiConfig:
    """`key_id` + `private_key_pem` (RSA, PKCS#1 or PKCS#8). `tier` picks the token bucket
    (basic/advanced/premier/paragon/prime); `request_cost` tokens per request (Kalshi default 10).
    The key material and the key id are excluded from repr so they never reach a log line (the
    signer's repr shows the key id's first 4 characters)."""
    rest_url: str = PROD_REST
    ws_url: str = PROD_WS
    key_id: str = field(default="", repr=False)
    private_key_pem: bytes = field(default=b"", repr=False)
    tier: str = "basic"
    request_cost: int = 10
    max_retries: int = 4
    timeout_s: float = 10.0
    reconnect_base_s: float = 0.25
    reconnect_cap_s: float = 30.0
    exchange_status_s: float = 15.0    # while books stream: GET /exchange/status this often (a pause holds them)
