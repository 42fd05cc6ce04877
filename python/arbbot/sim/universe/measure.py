"""Measure the universe simulator at scale, from outside its process:

    python -m arbbot.sim.universe.measure --markets 20000 --seconds 60

Spawns `arbbot sim --scenario universe` (`arbbot.sim.spawn`), then, as a client would: reads
Kalshi's `GET /events` and Polymarket's Gamma `/markets` pages, subscribes every Kalshi market
(`orderbook_delta`, 500 tickers a command) and every Polymarket token (500 assets a connection)
and waits for every snapshot; then counts book frames for `--seconds` while sampling the
simulator's CPU time and RSS (/proc). Prints one JSON object. ForecastEx (TWS, 1.5 % of the
books) is not subscribed. Linux only (/proc).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time

import aiohttp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from arbbot.sim.spawn import spawn

BATCH = 500                 # tickers per Kalshi subscribe command / assets per Polymarket connection


def _proc(pid: int) -> tuple[float, float]:
    """(CPU seconds used, RSS MiB) of process `pid`."""
    with open(f"/proc/{pid}/stat") as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    cpu = (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")       # utime + stime
    with open(f"/proc/{pid}/status") as fh:
        rss = next(int(x.split()[1]) for x in fh if x.startswith("VmRSS:")) / 1024
    return cpu, rss


def _kalshi_headers(handle, path: str) -> dict:
    key = serialization.load_pem_private_key(handle.kalshi_private_key_pem, None)
    ts = str(int(time.time() * 1000))
    sig = key.sign((ts + "GET" + path).encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                   hashes.SHA256())
    return {"KALSHI-ACCESS-KEY": handle.kalshi_key_id, "KALSHI-ACCESS-TIMESTAMP": ts,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode()}


class Counter:
    def __init__(self) -> None:
        self.snapshots = {"kalshi": 0, "polymarket": 0}
        self.updates = {"kalshi": 0, "polymarket": 0}


async def _listings(s: aiohttp.ClientSession, urls: dict) -> tuple[list[str], list[str]]:
    """Every Kalshi ticker (GET /events, nested, 200 a page) and Polymarket token (Gamma
    /markets, 100 a page), read the way the adapters read them."""
    tickers, cursor = [], ""
    while True:
        q = {"with_nested_markets": "true", "limit": "200", "status": "open", **({"cursor": cursor} if cursor else {})}
        async with s.get(urls["kalshi_rest"] + "/events", params=q) as r:
            body = await r.json()
        tickers += [m["ticker"] for e in body["events"] for m in e["markets"]]
        cursor = body["cursor"]
        if not cursor:
            break
    tokens, offset = [], 0
    while True:
        async with s.get(urls["polymarket_gamma"] + "/markets",
                         params={"closed": "false", "limit": "100", "offset": str(offset)}) as r:
            page = await r.json()
        tokens += [t for m in page for t in json.loads(m["clobTokenIds"])]
        offset += len(page)
        if len(page) < 100:
            return tickers, tokens


async def _kalshi(s, handle, tickers: list[str], c: Counter) -> None:
    path = "/trade-api/ws/v2"
    async with s.ws_connect(handle.urls["kalshi_ws"], headers=_kalshi_headers(handle, path),
                            max_msg_size=0) as ws:
        for i in range(0, len(tickers), BATCH):
            await ws.send_json({"id": i // BATCH + 1, "cmd": "subscribe",
                                "params": {"channels": ["orderbook_delta"], "market_tickers": tickers[i:i + BATCH]}})
        async for msg in ws:
            t = msg.data
            if '"type":"orderbook_delta"' in t:
                c.updates["kalshi"] += 1
            elif '"type":"orderbook_snapshot"' in t:
                c.snapshots["kalshi"] += 1


async def _poly(s, url: str, assets: list[str], c: Counter) -> None:
    async with s.ws_connect(url, max_msg_size=0) as ws:
        await ws.send_json({"assets_ids": assets, "type": "market"})
        async for msg in ws:
            t = msg.data
            if t.startswith("["):
                c.snapshots["polymarket"] += t.count('"event_type":"book"')
            elif '"event_type":"price_change"' in t:
                c.updates["polymarket"] += 1


async def measure(markets: int, seconds: float, seed: int) -> dict:
    t0 = time.monotonic()
    sim = spawn("universe", seed, markets=markets, log_json=True)
    out: dict = {"markets": markets, "seed": seed, "start_s": round(time.monotonic() - t0, 2)}
    try:
        async with aiohttp.ClientSession() as s:
            t1 = time.monotonic()
            tickers, tokens = await _listings(s, sim.handle.urls)
            out["listing_read_s"] = round(time.monotonic() - t1, 2)
            out["kalshi_markets"], out["polymarket_tokens"] = len(tickers), len(tokens)
            c = Counter()
            t2 = time.monotonic()
            tasks = [asyncio.create_task(_kalshi(s, sim.handle, tickers, c))]
            tasks += [asyncio.create_task(_poly(s, sim.handle.urls["polymarket_ws"], tokens[i:i + BATCH], c))
                      for i in range(0, len(tokens), BATCH)]
            while (c.snapshots["kalshi"] < len(tickers) or c.snapshots["polymarket"] < len(tokens)) \
                    and time.monotonic() - t2 < 120:
                await asyncio.sleep(0.05)
            out["all_snapshots_s"] = round(time.monotonic() - t2, 2)
            out["snapshots"] = dict(c.snapshots)
            before, cpu0, t3 = dict(c.updates), _proc(sim.pid)[0], time.monotonic()
            await asyncio.sleep(seconds)
            span = time.monotonic() - t3
            cpu1, rss = _proc(sim.pid)
            out["window_s"] = round(span, 1)
            out["frames_per_s"] = {v: round((c.updates[v] - before[v]) / span, 1) for v in before}
            out["sim_cpu_pct"] = round((cpu1 - cpu0) / span * 100, 1)
            out["sim_rss_mib"] = round(rss, 1)
            for t in tasks:
                t.cancel()
    finally:
        out["sim_stats"] = [json.loads(x) for x in sim.log_lines() if '"event": "sim.universe"' in x]
        sim.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m arbbot.sim.universe.measure", description=__doc__.split("\n\n")[0])
    ap.add_argument("--markets", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.markets, args.seconds, args.seed)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
