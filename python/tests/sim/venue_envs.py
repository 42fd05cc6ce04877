"""Simulated Kalshi / Polymarket venues with a settable clock, their real adapters, and raw
signed requests, and a book move that strands a level on a lossy feed (shared by the sim and venue tests)."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import time

import httpx
from arbbot.sim import _keypair as pem_pair  # noqa: F401  (RSA key pair, PEM: private, public)
from arbbot.sim.engine.matching import FULL, HOUSE, Exchange
from arbbot.sim.kalshi import KalshiSim
from arbbot.sim.kalshi.auth import KeyRegistry
from arbbot.sim.polymarket import ApiCreds, PolymarketSim
from arbbot.sim.scenarios import Faults, build
from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
from arbbot.venues.kalshi.common.signing import KalshiSigner
from arbbot.venues.polymarket import PolymarketConfig, PolymarketVenue

KEY_ID = "5d0c8a2e-7b1f-4c3a-9e6d-2f8b1a4c7e90"
T0_MS = 1_790_000_000_000                      # 2026-09-21T14:13:20Z: the simulators' clock starts here
POLY_PRIV = "0x" + "3c" * 32                   # simulator-only throwaway signing key
POLY_SECRET = base64.urlsafe_b64encode(b"paging-test-secret-0123456789abc").decode()
POLY_PASS = "paging-passphrase"


@contextlib.contextmanager
def sim_process(*args: str, until: str):
    """`arbbot sim ARGS` in a child process: yields the `key value` lines it prints, once it has
    printed `until`; terminated on exit."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([sys.executable, "-c", "import sys; from arbbot.sim import cli_main; "
                          "sys.exit(cli_main(sys.argv[1:]))", *args], stdout=subprocess.PIPE, text=True, env=env)
    try:
        lines: dict[str, str] = {}
        while until not in lines:
            line = p.stdout.readline()
            assert line, "simulator exited early"
            k, v = line.split(None, 1)
            lines[k] = v.strip()
        yield lines
    finally:
        p.terminate()
        p.wait(10)


class Clock:
    """A venue clock in ms that only moves when told to (`advance`)."""

    def __init__(self, ms: int = T0_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


@contextlib.asynccontextmanager
async def kalshi(keys, *, scenario: str = "fed", seed: int = 7, faults: Faults | None = None, **cfg):
    """(sim, adapter, clock) for account "user"; request signatures are checked on real time."""
    priv, pub = keys
    clock = Clock()
    sim = KalshiSim(build(scenario, seed, faults), seed, registry=KeyRegistry(), clock_ms=clock)
    sim.register_key(KEY_ID, pub, "user")
    await sim.start("127.0.0.1", 0)
    v = KalshiVenue(KalshiConfig(rest_url=sim.base_url, ws_url=sim.ws_url, key_id=KEY_ID, private_key_pem=priv,
                                 tier="prime", **cfg))
    try:
        yield sim, v, clock
    finally:
        await v.close()
        await sim.stop()


async def kalshi_raw(sim: KalshiSim, keys, method: str, rel: str, query: dict | None = None,
                     body: dict | None = None, timeout: float = 10.0) -> httpx.Response:
    """One signed request to the simulator, outside the adapter (no retries, no parsing)."""
    path = "/trade-api/v2" + rel
    h = KalshiSigner(KEY_ID, keys[0]).headers(method, path)
    content = json.dumps(body).encode() if body is not None else None
    if content:
        h["Content-Type"] = "application/json"
    async with httpx.AsyncClient(timeout=timeout) as c:
        return await c.request(method, sim.base_url.replace("/trade-api/v2", "") + path, params=query,
                               content=content, headers=h)


@contextlib.asynccontextmanager
async def polymarket(*, scenario: str = "election", seed: int = 7, faults: Faults | None = None, **cfg):
    """(sim, adapter, clock) for account "trader"; the adapter can sign orders."""
    from py_clob_client_v2.signer import Signer
    address = Signer(POLY_PRIV, 137).address()
    creds = ApiCreds(address, "7a41c0de-0000-4000-8000-00000000be11", POLY_SECRET, POLY_PASS, "trader")
    clock = Clock()
    sim = PolymarketSim(build(scenario, seed, faults), seed, clock_ms=clock)
    sim.register_creds(creds)
    await sim.start()
    v = PolymarketVenue(PolymarketConfig(gamma_url=sim.gamma_url, clob_url=sim.clob_url, ws_url=sim.ws_url,
                                         address=address, api_key=creds.api_key, api_secret=POLY_SECRET,
                                         api_passphrase=POLY_PASS, private_key=POLY_PRIV, **cfg))
    try:
        yield sim, v, clock
    finally:
        await v.close()
        await sim.stop()


async def poly_raw(v: PolymarketVenue, method: str, path: str, query: dict | None = None, body=None,
                   timeout: float = 10.0) -> httpx.Response:
    """One L2-signed CLOB request with the adapter's credentials, outside its transport."""
    text = json.dumps(body, separators=(",", ":")) if body is not None else ""
    h = v.http.signer.headers(method, path, text)
    if body is not None:
        h["Content-Type"] = "application/json"
    async with httpx.AsyncClient(timeout=timeout) as c:
        return await c.request(method, v.config.clob_url + path, params=query,
                               content=text.encode() if body is not None else None, headers=h)


def best(levels: dict[int, int]) -> int:
    """The best (highest) bid price of {price ticks: lots}; 0 if none."""
    return max(levels) if levels else 0


def strand_two_best_no_levels(ex: Exchange, market: str, past: int | None = None) -> tuple[int, int]:
    """The house pulls its two best NO bids (under `Faults.lost_removals` both updates are lost),
    then bids YES 10 contracts `past` ticks (default: one tick) past where the best one was: the
    venue's book stays uncrossed, a copy that missed the removals is crossed (locked at 0).
    (stale NO bid, new YES bid), ticks."""
    m = ex.markets[market]
    q1, q2 = sorted(m.levels("no"), reverse=True)[:2]
    for q in (q1, q2):
        ex.set_level(HOUSE, market, "no", q, 0)
    p = FULL - q1 + (m.tick(q1) if past is None else past)
    ex.place(HOUSE, market, "yes", "buy", p, 1_000)
    assert best(m.levels("yes")) + best(m.levels("no")) < FULL
    return q1, p


async def until(pred, timeout: float = 5.0, what: str = "condition") -> None:
    """Wait until `pred()` (sync or async) holds; the simulators push asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return
        assert time.monotonic() < deadline, f"{what} not reached in time"
        await asyncio.sleep(0.01)


class ManualClock:
    """A wall clock in ms that moves only when a test sets `ms`."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

