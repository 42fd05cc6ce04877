"""Polymarket simulator conformance: book hash, ordering, mirror books, Gamma shapes, market WS,
L2 auth — checked with py-clob-client-v2 (code no one here wrote) over real loopback sockets."""
from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pytest
import websockets
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import ApiCreds as LibCreds
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.headers.headers import create_level_2_headers
from py_clob_client_v2.signer import Signer
from py_clob_client_v2.utilities import generate_orderbook_summary_hash, parse_raw_orderbook_summary

from arbbot.sim import serve
from arbbot.sim.polymarket import ApiCreds, PolymarketSim
from arbbot.sim.scenarios import build
from tests.sim.venue_envs import sim_process

PRIV = "0x" + "11" * 32
SIGNER = Signer(PRIV, 137)
CREDS = ApiCreds(SIGNER.address(), "4f3c8a7e-0000-4000-8000-00000000c0de",
                 base64.urlsafe_b64encode(b"simulator-only-secret-0123456789").decode(), "sim-passphrase-9f8e")


def lib_hash(book: dict) -> str:
    return generate_orderbook_summary_hash(parse_raw_orderbook_summary(book))


@pytest.fixture(scope="module")
def handle():
    h = serve("all", seed=11, step_interval=None, depth="fixed")    # 100 shares a level: a 10-share order fills
    h.polymarket.register_creds(CREDS)
    yield h
    h.stop()


def _step(h, n=1):
    async def go():
        for _ in range(n):
            h.polymarket.process.step()
    asyncio.run_coroutine_threadsafe(go(), h.loop).result(10)


def _tokens(h):
    ms = httpx.get(h.urls["polymarket_gamma"] + "/markets", params={"limit": "500"}).json()
    return ms, [t for m in ms for t in json.loads(m["clobTokenIds"])]


def test_gamma_fields_are_double_encoded(handle):
    ms, toks = _tokens(handle)
    assert len(ms) == 19 and len(toks) == 38
    m = next(m for m in ms if m["question"] == "LAL vs. BOS")
    for k in ("outcomes", "outcomePrices", "clobTokenIds"):
        assert isinstance(m[k], str) and isinstance(json.loads(m[k]), list)
    assert json.loads(m["outcomes"]) == ["LAL", "BOS"]
    assert m["feesEnabled"] is True and m["feeSchedule"] == {"exponent": 1, "rate": 0.03, "takerOnly": True,
                                                            "rebateRate": 0.25}
    assert m["orderPriceMinTickSize"] == 0.01 and m["orderMinSize"] == 5 and m["negRisk"] is False
    evs = httpx.get(handle.urls["polymarket_gamma"] + "/events").json()
    aug = next(e for e in evs if e["slug"] == "nominee-2026")
    assert aug["negRisk"] and aug["negRiskAugmented"] and all(x["negRiskAugmented"] for x in aug["markets"])
    mayor = next(e for e in evs if e["slug"] == "mayor-2026")
    assert mayor["negRisk"] and not mayor["negRiskAugmented"] and len(mayor["markets"]) == 4
    assert len({x["negRiskMarketID"] for x in mayor["markets"]}) == 1


def test_book_hash_matches_py_clob_client_and_best_is_last(handle):
    _step(handle, 3)
    _ms, toks = _tokens(handle)
    clob = handle.urls["polymarket_clob"]
    for t in toks[:6]:
        b = httpx.get(clob + "/book", params={"token_id": t}).json()
        assert list(b) == ["market", "asset_id", "timestamp", "hash", "bids", "asks", "min_order_size",
                           "tick_size", "neg_risk", "last_trade_price"]
        assert b["hash"] == lib_hash(b)
        bids = [float(x["price"]) for x in b["bids"]]
        asks = [float(x["price"]) for x in b["asks"]]
        assert bids == sorted(bids) and asks == sorted(asks, reverse=True)     # best level last
        assert bids[-1] < asks[-1]
    many = httpx.post(clob + "/books", json=[{"token_id": t} for t in toks[:4]]).json()
    assert [b["asset_id"] for b in many] == toks[:4] and all(b["hash"] == lib_hash(b) for b in many)
    # mirror: YES asks at p ⇔ NO bids at 1 − p
    y, n = many[0], many[1]
    assert {(round(1 - float(a["price"]), 4), a["size"]) for a in y["asks"]} == \
           {(round(float(b["price"]), 4), b["size"]) for b in n["bids"]}
    assert httpx.get(clob + "/tick-size", params={"token_id": toks[0]}).json() == {"minimum_tick_size": 0.01}
    assert httpx.get(clob + "/neg-risk", params={"token_id": toks[0]}).json() == {"neg_risk": True}
    r = httpx.get(clob + "/book", params={"token_id": "123"})
    assert r.status_code == 404 and r.json() == {"error": "No orderbook exists for the requested token id"}


def test_py_clob_client_reads_books_and_orders(handle):
    c = ClobClient(handle.urls["polymarket_clob"], 137, key=PRIV,
                   creds=LibCreds(CREDS.api_key, CREDS.secret, CREDS.passphrase))
    _ms, toks = _tokens(handle)
    b = c.get_order_book(toks[2])
    assert b["asset_id"] == toks[2] and b["hash"] == lib_hash(b)
    assert c.get_open_orders() == []
    bad = ClobClient(handle.urls["polymarket_clob"], 137, key=PRIV,
                     creds=LibCreds(CREDS.api_key, base64.urlsafe_b64encode(b"x" * 32).decode(), CREDS.passphrase))
    with pytest.raises(Exception) as ei:
        bad.get_open_orders()
    assert "401" in str(ei.value) or "Unauthorized" in str(ei.value)


def _l2(path="/data/orders", method="GET", creds=CREDS, ts=None, body=None):
    return create_level_2_headers(SIGNER, LibCreds(creds.api_key, creds.secret, creds.passphrase),
                                  RequestArgs(method, path, body), timestamp=ts)


def test_l2_auth_refusals(handle):
    url = handle.urls["polymarket_clob"] + "/data/orders"
    assert httpx.get(url, headers=_l2()).status_code == 200
    refused = [
        {},                                                                   # no headers
        _l2(path="/data/trades"),                                             # tampered path
        _l2(ts=int(time.time()) - 3600),                                      # stale
        _l2(creds=ApiCreds(CREDS.address, CREDS.api_key, base64.urlsafe_b64encode(b"y" * 32).decode(),
                           CREDS.passphrase)),                                # wrong secret
        {**_l2(), "POLY_PASSPHRASE": "nope"},                                 # wrong passphrase
        {**_l2(), "POLY_API_KEY": "00000000-0000-4000-8000-000000000000"},    # unknown key
        {**_l2(), "POLY_ADDRESS": "0x" + "22" * 20},                          # wrong address
        _l2(method="POST"),                                                   # tampered method
    ]
    for h in refused:
        r = httpx.get(url, headers=h)
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized/Invalid api key"}, h
    r = httpx.get(handle.urls["polymarket_clob"] + "/balance-allowance", params={"asset_type": "COLLATERAL"},
                  headers=_l2("/balance-allowance"))
    assert r.status_code == 200 and r.json()["balance"] == str(10_000 * 1_000_000)


def test_market_ws_protocol_and_price_change_hash():
    async def main():
        sim = PolymarketSim(build("sports", 2), 2)
        await sim.start()
        try:
            cond = next(iter(sim.listings))
            l = sim.listings[cond][2]
            async with websockets.connect(sim.ws_url) as ws:
                await ws.send("PING")
                assert await ws.recv() == "PONG"
                await ws.send("not json")
                assert await ws.recv() == "INVALID OPERATION"
                await ws.send(json.dumps({"assets_ids": [l.yes_token, l.no_token], "type": "market",
                                          "custom_feature_enabled": True}))
                dump = json.loads(await ws.recv())
                assert [d["event_type"] for d in dump] == ["book", "book"]
                assert all(d["hash"] == lib_hash(d) for d in dump)
                sim.process.quote(l, 6100)          # requote: cancels + new orders → price_change frames
                (conn,) = sim.connections
                n = conn.price_changes
                assert n >= 6
                for _ in range(n):
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert msg["event_type"] == "price_change" and msg["market"] == cond
                    assert {c["side"] for c in msg["price_changes"]} == {"BUY", "SELL"}
                    last = msg
                for c in last["price_changes"]:        # the final hashes describe the current books
                    book = dict(sim.book(c["asset_id"]), timestamp=last["timestamp"])
                    assert c["hash"] == lib_hash(book)
                    bids = {x["price"]: x["size"] for x in book["bids"]}
                    asks = {x["price"]: x["size"] for x in book["asks"]}
                    side = bids if c["side"] == "BUY" else asks
                    assert side.get(c["price"], "0") == c["size"]
        finally:
            await sim.stop()
    asyncio.run(asyncio.wait_for(main(), 30))


def test_cli_prints_polymarket_urls(tmp_path):
    with sim_process("--scenario", "election", "--seed", "1", "--poly-creds-file", str(tmp_path / "c.json"),
                     until="polymarket_creds_file") as lines:
        assert {"kalshi_rest", "kalshi_ws", "kalshi_key_id", "polymarket_gamma", "polymarket_clob",
                "polymarket_ws", "polymarket_api_key"} <= set(lines)
        assert len(httpx.get(lines["polymarket_gamma"] + "/events", timeout=10).json()) == 2
        creds = json.loads((tmp_path / "c.json").read_text())
        assert creds["apiKey"] == lines["polymarket_api_key"] and creds["secret"] not in "".join(lines.values())


def test_serve_handle_points_the_adapter_at_polymarket(handle):
    from arbbot.venues.polymarket import PolymarketConfig, PolymarketVenue
    assert handle.urls["polymarket_ws"].startswith("ws://127.0.0.1:") and handle.urls["polymarket_ws"].endswith("/ws/market")
    c = handle.polymarket_creds

    async def main():
        v = PolymarketVenue(PolymarketConfig(gamma_url=handle.urls["polymarket_gamma"],
                                             clob_url=handle.urls["polymarket_clob"], ws_url=handle.urls["polymarket_ws"],
                                             address=c.address, api_key=c.api_key, api_secret=c.secret,
                                             api_passphrase=c.passphrase))
        assert len(await v.discover_markets()) == 19
        assert (await v.balance()).cash_micros == 10_000 * 1_000_000
        await v.close()
    asyncio.run(main())


def test_py_clob_client_places_and_cancels_an_order(handle):
    from py_clob_client_v2.clob_types import OrderArgsV2, OrderPayload, OrderType
    c = ClobClient(handle.urls["polymarket_clob"], 137, key=PRIV,
                   creds=LibCreds(CREDS.api_key, CREDS.secret, CREDS.passphrase))
    sim = handle.polymarket
    cond = next(c_ for c_, (_e, _q, l) in sim.listings.items() if "MIA" in l.title)
    tok = sim.listings[cond][2].yes_token
    book = c.get_order_book(tok)
    best_ask = book["asks"][-1]["price"]
    r = c.post_order(c.create_order(OrderArgsV2(token_id=tok, price=float(best_ask), size=10.0, side="BUY")),
                     OrderType.GTC)
    assert r["success"] and r["status"] == "matched" and r["takingAmount"] == "10" and r["transactionsHashes"]
    assert r["makingAmount"] == str(float(best_ask) * 10).rstrip("0").rstrip(".")
    r = c.post_order(c.create_order(OrderArgsV2(token_id=tok, price=0.05, size=10.0, side="BUY")), OrderType.GTC)
    assert r["status"] == "live"
    assert [o["id"] for o in c.get_open_orders()] == [r["orderID"]]
    assert c.cancel_order(OrderPayload(orderID=r["orderID"])) == {"canceled": [r["orderID"]], "not_canceled": {}}
    assert c.get_open_orders() == []
    # a V1-shaped order body is refused
    v1 = {"order": {"salt": 1, "maker": CREDS.address, "signer": CREDS.address, "taker": "0x" + "0" * 40,
                    "tokenId": tok, "makerAmount": "500000", "takerAmount": "10000000", "side": "BUY",
                    "expiration": "0", "nonce": "0", "feeRateBps": "0", "signatureType": 0, "signature": "0x00"},
          "owner": CREDS.api_key, "orderType": "GTC"}
    body = json.dumps(v1, separators=(",", ":"))
    resp = httpx.post(handle.urls["polymarket_clob"] + "/order", content=body,
                      headers={**_l2("/order", "POST", body=body), "Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["errorMsg"] == "order_version_mismatch"
