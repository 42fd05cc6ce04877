"""Paged list endpoints of the simulators, and the adapters reading every page.

Kalshi (`GET /portfolio/orders|fills|positions`: `limit` ≤ 1000, opaque `cursor`, "" at the end)
and Polymarket (`GET /data/orders|trades`: `next_cursor` "MA==" … "LTE=", 100 a page). Hundreds
of orders and fills are placed on one account; every expected value comes from the simulator's
own record (its matching engine), never from the adapter under test.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib

import pytest
from aiohttp import web

from arbbot.sim.engine.matching import FULL, HOUSE
from arbbot.venues.common import OrderStatus, ProtocolError
from arbbot.venues.common.model import OrderRequest, Side, TimeInForce
from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
from arbbot.venues.polymarket import PolymarketConfig, PolymarketVenue
from tests.sim.venue_envs import T0_MS, kalshi, kalshi_raw, polymarket, poly_raw
from tests.venues.test_kalshi_conformance import _Req, _Resp

# the catalog's original four groups (fed, election, sports, forecastex): the page sizes below were
# worked out on their 11 Kalshi markets, before the lanes' structures and the traps were added
ADDED = {"KXBTCD-26DEC31", "KXHIGHNY-26DEC01", "KXFEDEMERG-27"}
ZERO = "KXMAYOR-26-ALV"          # Kalshi market kept out of the bulk: a flat position (YES and NO bought)


def run(coro, limit: float = 180.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


def place_many(sim, account: str, clock, n: int, *, markets, lots: int, tag: str, rest_every: int = 5) -> None:
    """`n` orders of `account` straight into the simulator's matching engine, round-robin over
    `markets`, YES and NO in turn: every `rest_every`-th rests far below the market (a bid at
    $0.01), the others cross the house at once (IOC at $0.99: one taker fill each). The venue
    clock moves 250 ms per order, so creation times span many seconds."""
    for i in range(n):
        m = markets[i % len(markets)]
        side = "yes" if (i // len(markets)) % 2 == 0 else "no"
        if i % rest_every == 0:
            sim.exchange.place(account, m, side, "buy", 100, lots, "gtc", f"{tag}-{i}")
        else:
            sim.exchange.place(account, m, side, "buy", 9_900, lots, "ioc", f"{tag}-{i}")
        clock.advance(250)


def record_pages(get):
    """Wrap an adapter transport read (`http.get` / `http.clob_get`): log (path, params, body)."""
    log: list[tuple[str, dict, dict]] = []

    async def wrapped(path, params=None, *, auth=False):
        body = await get(path, params, auth=auth)
        log.append((path, dict(params or {}), body))
        return body
    return wrapped, log


# ---- Kalshi -----------------------------------------------------------------------------------
def kalshi_orders(sim) -> list:
    """The account's orders as the venue lists them: newest first."""
    return sorted((o for o in sim.exchange.orders.values() if o.account == "user"), key=lambda o: -o.seq)


@contextlib.asynccontextmanager
async def kalshi_account(keys):
    """(sim, adapter, account, its orders newest first) after 1,300 engine orders on 11 markets
    (1,040 filled, 260 resting, 65 of those cancelled), a flat position on ZERO, and three
    orders through the adapter's REST path."""
    async with kalshi(keys, scenario="all") as (sim, v, clock):
        markets = sorted(t for t, (e, _q, _l) in sim.listings.items() if t != ZERO and e.event_id not in ADDED)
        place_many(sim, "user", clock, 1_300, markets=markets, lots=100, tag="bulk")
        resting = [o for o in kalshi_orders(sim) if o.status == "resting"]
        for o in resting[::4]:
            sim.exchange.cancel("user", o.order_id)
        for side in (Side.YES, Side.NO):
            await v.place_order(OrderRequest(ZERO, side, 9_900, 100, tif=TimeInForce.IOC,
                                             client_order_id=f"zero-{side.value}"))
        await v.place_order(OrderRequest(ZERO, Side.YES, 200, 300, client_order_id="zero-rest"))
        yield sim, v, sim.exchange.accounts["user"], kalshi_orders(sim)


async def raw_walk(sim, keys, rel: str, key: str, openapi, query: dict, *, validate_pages: int = 2):
    """Read a Kalshi list by hand (signed, no adapter): every page; the first `validate_pages`
    pages are validated against the OpenAPI spec. Returns (items, page sizes)."""
    items, sizes, cursor = [], [], ""
    while True:
        q = {**query, **({"cursor": cursor} if cursor else {})}
        r = await kalshi_raw(sim, keys, "GET", rel, q)
        assert r.status_code == 200, r.text
        if len(sizes) < validate_pages:
            openapi.validate_response(_Req("GET", "/trade-api/v2" + rel, q, {}, None), _Resp(r))
        body = r.json()
        items += body[key]
        sizes.append(len(body[key]))
        cursor = body["cursor"]
        if not cursor:
            return items, sizes


def test_kalshi_adapter_reads_every_page_at_the_spec_maximum(keys, openapi):
    async def main():
        async with kalshi_account(keys) as (sim, v, acct, want):
            assert len(want) == 1_303 and len(acct.fills) == 1_042 and acct.positions[ZERO] == 0

            v.http.get, log = record_pages(v.http.get)
            got = await v.orders()
            assert [(o.order_id, o.client_order_id, o.market_id, o.filled_lots, o.remaining_lots) for o in got] == \
                [(o.order_id, o.client_order_id, o.market, o.filled, o.remaining) for o in want]
            wire = {"resting": OrderStatus.RESTING, "executed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELED}
            assert [o.status for o in got] == [wire[o.status] for o in want]
            fills = await v.fills()
            assert [(f.fill_id, f.order_id, f.market_id, f.price_ticks, f.qty_lots, f.fee_micros, f.is_taker)
                    for f in fills] == [(fe.fill_id, fe.order.order_id, fe.order.market, fe.price, fe.lots, fe.fee,
                                         fe.is_taker) for fe in reversed(acct.fills)]
            pos = await v.positions()
            assert [(p.market_id, p.yes_lots, p.fees_paid_micros) for p in pos] == \
                [(t, n, acct.fees_paid[t]) for t, n in sorted(acct.positions.items())]
            # two pages each at limit=1000, both read; the first alone would have missed 303 / 42
            sizes = {p: [len(b[k]) for path, q, b in log if path == p]
                     for p, k in (("/portfolio/orders", "orders"), ("/portfolio/fills", "fills"),
                                  ("/portfolio/positions", "market_positions"))}
            assert sizes == {"/portfolio/orders": [1_000, 303], "/portfolio/fills": [1_000, 42],
                             "/portfolio/positions": [12]}
            assert all(q["limit"] == 1_000 for _p, q, _b in log)

            # an unpaged read (no limit: the venue's 100) sees only the newest 100
            r = await kalshi_raw(sim, keys, "GET", "/portfolio/orders")
            assert len(r.json()["orders"]) == 100 and r.json()["cursor"]
            # by hand at limit=100: pages ≤ limit, spec-valid, same items as the adapter read
            items, page_sizes = await raw_walk(sim, keys, "/portfolio/orders", "orders", openapi, {"limit": "100"})
            assert page_sizes == [100] * 13 + [3] and [o["order_id"] for o in items] == [o.order_id for o in got]
            items, page_sizes = await raw_walk(sim, keys, "/portfolio/fills", "fills", openapi, {"limit": "100"})
            assert page_sizes == [100] * 10 + [42] and [f["fill_id"] for f in items] == [f.fill_id for f in fills]
            items, page_sizes = await raw_walk(sim, keys, "/portfolio/positions", "market_positions", openapi,
                                               {"limit": "5"}, validate_pages=3)
            assert page_sizes == [5, 5, 2] and [p["ticker"] for p in items] == sorted(acct.positions)

            # a lowered page size walks 14 pages through the adapter with the same result
            v.exec.page_limit = 100
            log.clear()
            assert [o.order_id for o in await v.orders()] == [o.order_id for o in want]
            assert [len(b["orders"]) for _p, _q, b in log] == [100] * 13 + [3]
    run(main())


def test_kalshi_filters_return_exactly_the_matching_subset(keys, openapi):
    async def main():
        async with kalshi_account(keys) as (sim, v, acct, want):
            ids = lambda xs: [x.order_id for x in xs]  # noqa: E731
            t = "KXFED-26DEC-T4.125"
            assert ids(await v.orders(ticker=t)) == ids(o for o in want if o.market == t) and \
                len(await v.orders(ticker=t)) == 119
            by = {"resting": [o for o in want if o.status == "resting"],
                  "filled": [o for o in want if o.status == "executed"],
                  "canceled": [o for o in want if o.status == "canceled"]}
            assert [len(x) for x in by.values()] == [196, 1_042, 65]
            for st, sub in by.items():
                assert ids(await v.orders(status=st)) == ids(sub)
            assert ids(await v.orders(status=OrderStatus.RESTING)) == ids(by["resting"])
            assert await v.orders(status="rejected") == []          # Kalshi never lists rejected orders
            with pytest.raises(ValueError):
                await v.orders(status="bogus")
            # creation time: every order created in or after the second holding min_ts_ms
            cut = T0_MS + 150_500
            newer = [o for o in want if o.created_ms // 1000 >= cut // 1000]
            assert ids(await v.orders(min_ts_ms=cut)) == ids(newer) and 0 < len(newer) < len(want)
            assert ids(await v.orders(ticker=t, min_ts_ms=cut, status="resting")) == \
                ids(o for o in newer if o.market == t and o.status == "resting")
            # fills: by order, market, time
            o = next(o for o in want if o.filled)
            assert [f.fill_id for f in await v.fills(order_id=o.order_id)] == \
                [fe.fill_id for fe in acct.fills if fe.order is o]
            assert [f.fill_id for f in await v.fills(ticker=t)] == \
                [fe.fill_id for fe in reversed(acct.fills) if fe.order.market == t]
            got = await v.fills(min_ts_ms=cut)
            assert [f.fill_id for f in got] == [fe.fill_id for fe in reversed(acct.fills) if fe.ts_ms // 1000 >= cut // 1000]
            assert 0 < len(got) < len(acct.fills)

            # the venue's other filters, by hand (spec-valid answers)
            async def raw(rel, q, key):
                r = await kalshi_raw(sim, keys, "GET", rel, q)
                assert r.status_code == 200, r.text
                openapi.validate_response(_Req("GET", "/trade-api/v2" + rel, q, {}, None), _Resp(r))
                return r.json()[key]
            fed = {tk for tk, (_e, _q, l) in sim.listings.items() if l.event_id in ("KXFED-26DEC", "KXMAYOR-26")}
            got = await raw("/portfolio/orders", {"event_ticker": "KXFED-26DEC,KXMAYOR-26", "limit": "1000"}, "orders")
            assert [x["order_id"] for x in got] == ids(o for o in want if o.market in fed)
            lo, hi = (T0_MS + 100_000) // 1000, (T0_MS + 200_000) // 1000
            got = await raw("/portfolio/orders", {"min_ts": str(lo), "max_ts": str(hi), "limit": "1000"}, "orders")
            assert [x["order_id"] for x in got] == ids(o for o in want if lo <= o.created_ms // 1000 <= hi)
            got = await raw("/portfolio/fills", {"min_ts": str(lo), "max_ts": str(hi), "limit": "1000"}, "fills")
            assert [x["fill_id"] for x in got] == \
                [fe.fill_id for fe in reversed(acct.fills) if lo <= fe.ts_ms // 1000 <= hi]
            got = await raw("/portfolio/positions", {"count_filter": "position"}, "market_positions")
            assert [p["ticker"] for p in got] == sorted(t for t, n in acct.positions.items() if n)
            assert ZERO not in [p["ticker"] for p in got] and len(got) == 4       # 8 of 12 are flat
            got = await raw("/portfolio/positions", {"count_filter": "position,total_traded"}, "market_positions")
            assert ZERO in [p["ticker"] for p in got] and len(got) == 12
            got = await raw("/portfolio/positions", {"event_ticker": "KXFED-26DEC"}, "market_positions")
            assert [p["ticker"] for p in got] == sorted(t for t in acct.positions if t.startswith("KXFED-26DEC"))
            got = await raw("/portfolio/positions", {"ticker": t}, "market_positions")
            assert [(p["ticker"], p["position_fp"]) for p in got] == [(t, f"{acct.positions[t] / 100:.2f}")]

            # refused parameters: 400 in the venue's error shape
            for q in ({"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"cursor": "not-a-cursor"},
                      {"status": "open"}, {"min_ts": "yesterday"},
                      {"event_ticker": ",".join(f"E{i}" for i in range(11))}):
                r = await kalshi_raw(sim, keys, "GET", "/portfolio/orders", q)
                assert r.status_code == 400 and r.json()["code"] == "invalid_parameters", (q, r.text)
                openapi.validate_response(_Req("GET", "/trade-api/v2/portfolio/orders", q, {}, None), _Resp(r))
            # a fills cursor is not an orders cursor
            fc = (await kalshi_raw(sim, keys, "GET", "/portfolio/fills", {"limit": "1"})).json()["cursor"]
            r = await kalshi_raw(sim, keys, "GET", "/portfolio/orders", {"cursor": fc})
            assert r.status_code == 400
            r = await kalshi_raw(sim, keys, "GET", "/portfolio/positions", {"count_filter": "volume"})
            assert r.status_code == 400
    run(main())


def test_kalshi_orders_arriving_between_page_reads_neither_repeat_nor_skip(keys):
    async def main():
        async with kalshi(keys, scenario="all") as (sim, v, clock):
            markets = sorted(t for t, (e, _q, _l) in sim.listings.items() if t != ZERO and e.event_id not in ADDED)
            place_many(sim, "user", clock, 450, markets=markets, lots=100, tag="a")
            before = [o.order_id for o in kalshi_orders(sim)]
            v.exec.page_limit = 50
            get = v.http.get
            n = [0]

            async def get_then_trade(path, params=None, *, auth=False):
                body = await get(path, params, auth=auth)
                n[0] += 1                                       # 7 new orders (some filled) after each page
                place_many(sim, "user", clock, 7, markets=markets, lots=100, tag=f"between-{n[0]}")
                return body
            v.http.get = get_then_trade
            got = [o.order_id for o in await v.orders()]
            assert got == before and len(set(got)) == 450       # the list as of the first page, exactly
            fills_before = [fe.fill_id for fe in reversed(sim.exchange.accounts["user"].fills)]
            fills = [f.fill_id for f in await v.fills()]
            assert fills == fills_before and len(set(fills)) == 360 + 9 * 5   # 5 of each 7 placed above filled
            assert n[0] == 9 + 9 and len(kalshi_orders(sim)) == 450 + 7 * 18    # 405 fills: 9 pages of 50
            # an offset from the top would have repeated 7 orders on every later page: it did not
            assert len(got) == len(set(got))
    run(main())


@contextlib.asynccontextmanager
async def broken_venue(routes: dict[str, dict]):
    """A loopback HTTP server answering each path with one fixed JSON body, counting requests."""
    hits: dict[str, int] = {}

    async def handler(request: web.Request):
        hits[request.path] = hits.get(request.path, 0) + 1
        return web.json_response(routes[request.path])
    app = web.Application()
    for p in routes:
        app.router.add_get(p, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    h, port = site._server.sockets[0].getsockname()[:2]  # noqa: SLF001
    try:
        yield f"http://{h}:{port}", hits
    finally:
        await runner.cleanup()


def test_a_venue_repeating_a_cursor_is_a_protocol_error_not_a_loop(keys):
    async def main():
        api = "/trade-api/v2/portfolio"
        async with broken_venue({api + "/orders": {"orders": [], "cursor": "c1"},
                                 api + "/fills": {"fills": [], "cursor": "c1"},
                                 api + "/positions": {"market_positions": [], "event_positions": [],
                                                      "cursor": "c1"}}) as (url, hits):
            v = KalshiVenue(KalshiConfig(rest_url=url + "/trade-api/v2", key_id="k", private_key_pem=keys[0]))
            for call in (v.orders, v.fills, v.positions):
                with pytest.raises(ProtocolError, match="repeated cursor"):
                    await call()
            assert hits == {api + "/orders": 2, api + "/fills": 2, api + "/positions": 2}
            await v.close()
        one = base64.b64encode(b"100").decode()
        async with broken_venue({"/events": [], "/markets": [],
                                 "/data/orders": {"data": [], "next_cursor": one},
                                 "/data/trades": {"data": [], "next_cursor": "MA=="}}) as (url, hits):
            v = PolymarketVenue(PolymarketConfig(gamma_url=url, clob_url=url, address="0x" + "ab" * 20,
                                                 api_key="k", api_secret=base64.urlsafe_b64encode(b"s" * 32).decode(),
                                                 api_passphrase="p"))
            with pytest.raises(ProtocolError, match="repeated next_cursor"):
                await v.orders()
            with pytest.raises(ProtocolError, match="repeated next_cursor"):      # back to the start
                await v.fills()
            assert (hits["/data/orders"], hits["/data/trades"]) == (2, 1)
            await v.close()
    run(main())


# ---- Polymarket -------------------------------------------------------------------------------
def poly_orders(sim) -> list:
    """The account's open orders as the CLOB lists them: oldest first."""
    return sorted((o for o in sim.exchange.orders.values() if o.account == "trader" and o.status == "resting"),
                  key=lambda o: o.seq)


async def poly_account(sim, v, clock) -> str:
    """700 engine orders on 6 markets (350 resting, 350 filled), 3 maker fills on a seventh
    (house quotes pulled, then the house hits our bids), and two orders signed and sent by the
    adapter. Returns the seventh market's condition id."""
    await v.discover_markets()
    conds = sorted(sim.listings)
    maker, bulk = conds[0], conds[1:]
    place_many(sim, "trader", clock, 700, markets=bulk, lots=500, tag="bulk", rest_every=2)
    sim.exchange.cancel_all(HOUSE, maker)
    for px in (4_000, 3_900, 3_800):
        sim.exchange.place("trader", maker, "yes", "buy", px, 500, "gtc")
        sim.exchange.place(HOUSE, maker, "no", "buy", FULL - px, 500, "ioc")
        clock.advance(1_000)
    await v.place_order(OrderRequest(bulk[0], Side.YES, 200, 500, client_order_id="signed-rest"))
    await v.place_order(OrderRequest(bulk[1], Side.NO, 9_900, 500, tif=TimeInForce.IOC, client_order_id="signed-fill"))
    return maker


def test_polymarket_adapter_reads_every_page_and_filters(openapi):
    async def main():
        async with polymarket() as (sim, v, clock):
            maker = await poly_account(sim, v, clock)
            acct = sim.exchange.accounts["trader"]
            rid = lambda o: sim.desk.rev.get(o.order_id, o.order_id)  # noqa: E731  the venue's id (a hash if signed)
            want = poly_orders(sim)
            assert len(want) == 351 and len(acct.fills) == 354
            v.http.clob_get, log = record_pages(v.http.clob_get)
            got = await v.orders()
            tok = {m.yes_token: Side.YES for m in v.provider.markets.values()}
            assert [(o.order_id, o.market_id, o.side, o.price_ticks, o.remaining_lots, o.status) for o in got] == \
                [(rid(o), o.market, Side.parse(o.side), o.price, o.remaining, OrderStatus.RESTING) for o in want]
            assert any(o.order_id.startswith("0x") for o in got) and tok
            fills = await v.fills()
            assert [(f.fill_id, f.order_id, f.market_id, f.price_ticks, f.qty_lots, f.is_taker) for f in fills] == \
                [(fe.trade_id, rid(fe.order), fe.order.market, fe.price, fe.lots, fe.is_taker) for fe in acct.fills]
            assert sum(not f.is_taker for f in fills) == 3
            pos = await v.positions()
            assert [(p.market_id, p.yes_lots) for p in pos] == sorted((c, n) for c, n in acct.positions.items() if n)
            sizes = {p: [len(b["data"]) for path, _q, b in log if path == p] for p in ("/data/orders", "/data/trades")}
            assert sizes["/data/orders"] == [100, 100, 100, 51]
            assert sizes["/data/trades"] == [100, 100, 100, 54] * 2              # fills(), then positions()
            assert [q["next_cursor"] for p, q, _b in log if p == "/data/orders"] == \
                ["MA==", *(base64.b64encode(str(want[k * 100 - 1].seq + 1).encode()).decode() for k in (1, 2, 3))]
            assert [b["next_cursor"] for p, _q, b in log if p == "/data/orders"][-1] == "LTE="
            # the first page alone would have missed 251 orders
            r = await poly_raw(v, "GET", "/data/orders")
            assert r.json()["count"] == 100 and r.json()["next_cursor"] != "LTE="

            # filters: the CLOB's (`market`, `id`, `asset_id`) and the adapter's own
            c = sorted(sim.listings)[3]
            assert [o.order_id for o in await v.orders(ticker=c)] == [rid(o) for o in want if o.market == c]
            one = want[200]
            r = await poly_raw(v, "GET", "/data/orders", {"id": rid(one)})
            assert [d["id"] for d in r.json()["data"]] == [rid(one)]
            no_tok = sim.listings[c][2].no_token
            r = await poly_raw(v, "GET", "/data/orders", {"asset_id": no_tok})
            assert [d["id"] for d in r.json()["data"]] == [rid(o) for o in want if o.market == c and o.side == "no"]
            cut = T0_MS + 100_700
            assert [o.order_id for o in await v.orders(min_ts_ms=cut)] == \
                [rid(o) for o in want if o.created_ms // 1000 >= cut // 1000]
            assert await v.orders(status="canceled") == [] and len(await v.orders(status="resting")) == 351
            assert [f.fill_id for f in await v.fills(ticker=maker)] == \
                [fe.trade_id for fe in acct.fills if fe.order.market == maker]
            o = acct.fills[10].order
            assert [f.fill_id for f in await v.fills(order_id=rid(o))] == \
                [fe.trade_id for fe in acct.fills if fe.order is o]
            got = await v.fills(min_ts_ms=cut)
            assert [f.fill_id for f in got] == [fe.trade_id for fe in acct.fills if fe.ts_ms // 1000 >= cut // 1000]
            assert 0 < len(got) < len(acct.fills)
            lo, hi = (T0_MS + 50_000) // 1000, (T0_MS + 90_000) // 1000
            r = await poly_raw(v, "GET", "/data/trades", {"after": str(lo), "before": str(hi)})
            assert [d["id"] for d in r.json()["data"]] == \
                [fe.trade_id for fe in acct.fills if lo <= fe.ts_ms // 1000 <= hi]
            r = await poly_raw(v, "GET", "/data/trades", {"id": acct.fills[5].trade_id})
            assert [d["id"] for d in r.json()["data"]] == [acct.fills[5].trade_id]
            for bad in ("%%%", base64.b64encode(b"x").decode(), base64.b64encode(b"-7").decode()):
                r = await poly_raw(v, "GET", "/data/orders", {"next_cursor": bad})
                assert r.status_code == 400 and "next_cursor" in r.json()["error"]
            r = await poly_raw(v, "GET", "/data/trades", {"next_cursor": "LTE="})
            assert r.json() == {"data": [], "next_cursor": "LTE=", "limit": 100, "count": 0}
    run(main())


def test_polymarket_changes_between_page_reads_neither_repeat_nor_skip():
    async def main():
        async with polymarket() as (sim, v, clock):
            await v.discover_markets()
            conds = sorted(sim.listings)
            place_many(sim, "trader", clock, 640, markets=conds, lots=500, tag="a", rest_every=2)
            start = poly_orders(sim)
            trades_before = [fe.trade_id for fe in sim.exchange.accounts["trader"].fills]
            assert (len(start), len(trades_before)) == (320, 320)
            get = v.http.clob_get
            served: list[str] = []
            gone: set[str] = set()
            pages: list[str] = []

            async def get_then_change(path, params=None, *, auth=False):
                body = await get(path, params, auth=auth)
                if path == "/data/orders":
                    served.extend(d["id"] for d in body["data"])
                    # cancel 5 orders already served (an offset would now skip 5) and add 5
                    for oid in [i for i in served if i not in gone][:5]:
                        sim.exchange.cancel("trader", oid)
                        gone.add(oid)
                    place_many(sim, "trader", clock, 5, markets=conds, lots=500, tag=f"o{len(served)}", rest_every=1)
                else:
                    pages.append(path)
                    place_many(sim, "trader", clock, 4, markets=conds, lots=500, tag=f"t{len(pages)}", rest_every=9)
                return body
            v.http.clob_get = get_then_change
            got = [o.order_id for o in await v.orders()]
            assert len(got) == len(set(got))                                    # nothing twice
            assert set(got) >= {o.order_id for o in start}                      # nothing that was open missed
            assert set(got) <= {o.order_id for o in sim.exchange.orders.values() if o.account == "trader"}
            assert len(got) == 320 + 5 * 3                                     # plus what arrived before the end
            fills = [f.fill_id for f in await v.fills()]
            assert len(fills) == len(set(fills)) and fills[:320] == trades_before
            assert len(pages) == 4 and len(fills) == 320 + 3 * 3
    run(main())
