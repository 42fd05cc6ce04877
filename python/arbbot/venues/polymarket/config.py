"""Polymarket adapter configuration: base URLs (real or simulator) and L2 API credentials."""
from __future__ import annotations

from dataclasses import dataclass, field

PROD_GAMMA = "https://gamma-api.polymarket.com"
PROD_CLOB = "https://clob.polymarket.com"
PROD_WS = "wss://ws-subscriptions-clob.polymarket.com/ws/market"


@dataclass(frozen=True)
class PolymarketConfig:
    """`address` + L2 creds (`api_key`, `api_secret`, `api_passphrase`) for account endpoints.
    Key, secret and passphrase are excluded from repr so they never reach a log line.
    `resnapshot_interval_s`: also re-fetch every book this often (no sequence numbers on the
    market channel: a lost frame is otherwise only caught by the next hash on that token)."""
    gamma_url: str = PROD_GAMMA
    clob_url: str = PROD_CLOB
    ws_url: str = PROD_WS
    address: str = ""
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)
    api_passphrase: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)   # signs V2 orders (EIP-712) via py-clob-client-v2
    chain_id: int = 137
    signature_type: int = 0                             # 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE
    funder: str = ""                                    # the orders' maker: the wallet holding the funds (default: the signer)
    max_retries: int = 4
    timeout_s: float = 10.0
    ping_interval_s: float = 10.0
    reconnect_base_s: float = 0.25
    reconnect_cap_s: float = 30.0
    resnapshot_interval_s: float | None = None
    page_limit: int = 100
