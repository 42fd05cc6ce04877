"""The simulated venues behave, and fail, the way the real ones do, on the wire: partial fills
come from another trader taking liquidity first (never a capped FOK, never a crossed book), own
orders never trade with each other (self-trade prevention), Kalshi fills report the order's side
and action, and a lost book update loses its content (a copy that misses it goes wrong, or crossed
— the venue's own book never is)."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from decimal import Decimal

import aiohttp

from arbbot.sim.engine.matching import FULL, HOUSE
from arbbot.sim.scenarios import Faults
from arbbot.venues.common.model import Action, OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.kalshi.common.signing import KalshiSigner
from arbbot.venues.kalshi.schemas.ws import parse_fill
from tests.sim.venue_envs import (
    KEY_ID, best, kalshi, kalshi_raw, polymarket, poly_raw, strand_two_best_no_levels,
)

H0 = "KXFEDDECISION-26DEC-H0"


def run(coro, limit: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, limit))


ORDERS = "/portfolio/events/orders"          # Kalshi's V2 order create (the V1 path answers 410)
_coids = itertools.count(1)


def order(count: str, yes_price: str, tif: str, side: str = "bid", **extra) -> dict:
    """A Kalshi V2 order on the YES book: `bid` buys YES, `ask` sells YES (= buys NO at 1 − price)."""
    return {"ticker": H0, "client_order_id": f"vr-{next(_coids)}", "side": side, "count": count,
            "price": yes_price, "time_in_force": tif, "self_trade_prevention_type": "taker_at_cross", **extra}


async def placed(sim, keys, body: dict) -> dict:
    """POST `body` to the V2 create; the order as `GET /portfolio/orders/{order_id}` reads it then."""
    r = await kalshi_raw(sim, keys, "POST", ORDERS, body=body)
    assert r.status_code == 201, r.text
    return (await kalshi_raw(sim, keys, "GET", f"/portfolio/orders/{r.json()['order_id']}")).json()["order"]


# ---- a Kalshi WebSocket client that ignores `seq` ----------------------------------------------

@contextlib.asynccontextmanager
async def kalshi_ws(sim, keys, channels: list[str], tickers: list[str] | None = None):
    hdr = KalshiSigner(KEY_ID, keys[0]).headers("GET", "/trade-api/ws/v2")
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url, headers=hdr) as ws:
        params: dict = {"channels": channels}
        if tickers:
            params["market_tickers"] = tickers
        await ws.send_str(json.dumps({"id": 1, "cmd": "subscribe", "params": params}))
        yield ws


async def frames(ws, quiet: float = 0.3) -> list[dict]:
    """Every frame until none comes for `quiet` seconds."""
    out = []
    with contextlib.suppress(asyncio.TimeoutError):
        while True:
            out.append(json.loads((await ws.receive(timeout=quiet)).data))
    return out


def naive_copy(msgs: list[dict]) -> tuple[dict[str, dict[int, int]], list[int]]:
    """The book a client builds applying every snapshot/delta it gets, ignoring `seq` ({side:
    {price ticks: lots}}), and the seq numbers it saw."""
    book: dict[str, dict[int, int]] = {"yes": {}, "no": {}}
    seqs = []
    ticks = lambda d: int(Decimal(d) * FULL)  # noqa: E731
    for m in msgs:
        if m.get("type") == "orderbook_snapshot":
            book = {s: {ticks(p): int(Decimal(q) * 100) for p, q in m["msg"].get(f"{s}_dollars_fp", [])}
                    for s in ("yes", "no")}
        elif m.get("type") == "orderbook_delta":
            d = m["msg"]
            lv = book[d["side"]]
            p = ticks(d["price_dollars"])
            lv[p] = lv.get(p, 0) + int(Decimal(d["delta_fp"]) * 100)
            if lv[p] == 0:
                del lv[p]
        else:
            continue
        seqs.append(m["seq"])
    return book, seqs


# ---- partial fills ------------------------------------------------------------------------------

def test_kalshi_partial_fill_fault_fok_ioc_gtc(keys):
    """`partial_fill_lots=300`: a FOK is fully filled (or killed); an IOC / GTC gets 3 contracts
    because another trader took the rest of the crossing liquidity first; the venue's book is
    never crossed."""
    async def main():
        async with kalshi(keys, faults=Faults(partial_fill_lots=300)) as (sim, _v, _clock):
            m = sim.exchange.markets[H0]
            ask = f"{(FULL - best(m.levels('no'))) / FULL:.4f}"
            for tif, want in (("fill_or_kill", ("executed", "10.00", "0.00")),
                              ("immediate_or_cancel", ("canceled", "3.00", "0.00")),
                              ("good_till_canceled", ("resting", "3.00", "7.00"))):
                sim.exchange.cancel_all(HOUSE, H0)                       # 100 contracts at the ask
                sim.exchange.place(HOUSE, H0, "no", "buy", FULL - int(Decimal(ask) * FULL), 10_000)
                o = await placed(sim, keys, order("10.00", ask, tif))
                assert (o["status"], o["fill_count_fp"], o["remaining_count_fp"]) == want, tif
                ob = (await kalshi_raw(sim, keys, "GET", f"/markets/{H0}/orderbook")).json()["orderbook_fp"]
                yes, no = ob["yes_dollars"], ob["no_dollars"]
                assert not (yes and no) or Decimal(yes[-1][0]) + Decimal(no[-1][0]) < 1, (tif, yes[-1:], no[-1:])
    run(main())


def test_polymarket_partial_fill_fault_fok_and_fak():
    async def main():
        async with polymarket(faults=Faults(partial_fill_lots=300)) as (sim, v, _clock):
            await v.discover_markets()
            cond = sorted(sim.listings)[2]
            sim.exchange.cancel_all(HOUSE, cond)
            sim.exchange.place(HOUSE, cond, "no", "buy", 4_000, 10_000)          # YES ask 60¢ × 100
            fok = await v.place_order(OrderRequest(cond, Side.YES, 6_000, 1_000, tif=TimeInForce.FOK))
            assert (fok.status, fok.filled_lots) == (OrderStatus.FILLED, 1_000)
            # as the CLOB (py-clob-client #217): a done FAK/FOK is not served by id; its fills are
            assert (await poly_raw(v, "GET", f"/data/order/{fok.order_id}")).json() is None
            assert ((await v.order(fok.order_id)).status, (await v.order(fok.order_id)).filled_lots) == \
                (OrderStatus.FILLED, 1_000)
            fak = await v.place_order(OrderRequest(cond, Side.YES, 6_000, 1_000, tif=TimeInForce.IOC))
            assert (fak.status, fak.filled_lots) == (OrderStatus.CANCELED, 300)
            assert (await poly_raw(v, "GET", f"/data/order/{fak.order_id}")).json() is None
            assert sim.exchange.markets[cond].levels("no") == {}                  # taken by the other trader
    run(main())


# ---- self-trade prevention ----------------------------------------------------------------------

def test_kalshi_self_trade_prevention_on_the_wire(keys):
    """Our own NO bid above the house's, then our YES IOC reaching it: `taker_at_cross` (default)
    cancels the taker; `maker` cancels our resting bid (a user_order says so) and goes on."""
    async def main():
        async with kalshi(keys) as (sim, _v, _clock):
            no = best(sim.exchange.markets[H0].levels("no")) + 100
            rest = await placed(sim, keys, order(                          # a NO bid: an ask at the YES price
                "2.00", f"{(FULL - no) / FULL:.4f}", "good_till_canceled", side="ask"))
            cross = f"{(FULL - no + 100) / FULL:.4f}"                     # reaches ours, then the house's
            r = await placed(sim, keys, order("2.00", cross, "immediate_or_cancel"))
            assert (r["status"], r["fill_count_fp"], r["self_trade_prevention_type"]) == \
                ("canceled", "0.00", "taker_at_cross")
            assert sim.exchange.orders[rest["order_id"]].status == "resting"
            async with kalshi_ws(sim, keys, ["user_orders"]) as ws:
                await frames(ws)
                r = await placed(sim, keys, order("2.00", cross, "immediate_or_cancel",
                                                  self_trade_prevention_type="maker"))
                assert (r["status"], r["fill_count_fp"], r["self_trade_prevention_type"]) == \
                    ("executed", "2.00", "maker")                               # from the house's bid behind ours
                updates = {f["msg"]["order_id"]: f["msg"]["status"] for f in await frames(ws)}
            assert updates == {rest["order_id"]: "canceled", r["order_id"]: "executed"}
            bad = await kalshi_raw(sim, keys, "POST", ORDERS, body=order(
                "1.00", cross, "immediate_or_cancel", self_trade_prevention_type="both"))
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_order"
    run(main())


# ---- Kalshi fills of a sell ---------------------------------------------------------------------

def test_kalshi_sell_fill_reports_the_orders_side_and_action(keys):
    """A SELL of 1 YES held (a V2 ask, reduce_only) at the best YES bid: REST and WS fills say
    side yes / action sell (the WS `purchased_side` is no), `outcome_side` no / `book_side` ask,
    and the adapter reads them as a YES sell at the YES price."""
    async def main():
        async with kalshi(keys) as (sim, v, _clock):
            bid = best(sim.exchange.markets[H0].levels("yes"))
            await placed(sim, keys, order("1.00", "0.9900", "immediate_or_cancel"))          # 1 YES held
            async with kalshi_ws(sim, keys, ["fill"]) as ws:
                await frames(ws)
                r = await placed(sim, keys, order("1.00", f"{bid / FULL:.4f}", "immediate_or_cancel", side="ask",
                                                  reduce_only=True))
                (frame,) = [f["msg"] for f in await frames(ws) if f.get("type") == "fill"]
            assert (r["side"], r["action"], r["outcome_side"], r["book_side"]) == ("yes", "sell", "no", "ask")
            (rest,) = (await kalshi_raw(sim, keys, "GET", "/portfolio/fills",
                                        query={"order_id": r["order_id"]})).json()["fills"]
            assert (rest["side"], rest["action"], rest["yes_price_dollars"], rest["outcome_side"], rest["book_side"]) \
                == ("yes", "sell", f"{bid / FULL:.4f}", "no", "ask")
            assert (frame["side"], frame["action"], frame["purchased_side"], frame["outcome_side"]) == \
                ("yes", "sell", "no", "no")
            (fill,) = await v.fills(order_id=r["order_id"])
            for f in (fill, parse_fill(frame)):
                assert (f.side, f.action, f.price_ticks, f.qty_lots) == (Side.YES, Action.SELL, bid, 100)
            assert sim.exchange.accounts["user"].positions[H0] == 0
    run(main())


# ---- lost book updates --------------------------------------------------------------------------

def test_kalshi_seq_gap_loses_the_delta(keys):
    """`ws_seq_gap_every`: the gap is a lost delta, so a copy that ignores it ends wrong."""
    async def main():
        async with kalshi(keys, faults=Faults(ws_seq_gap_every=3)) as (sim, _v, _clock):
            async with kalshi_ws(sim, keys, ["orderbook_delta"], [H0]) as ws:
                first = await frames(ws, 0.1)
                for k in range(6):                                   # six house changes: six deltas
                    sim.exchange.set_level(HOUSE, H0, "yes", 3_000 + 100 * (k % 3), 500 + 100 * k)
                copy, seqs = naive_copy(first + await frames(ws))
            assert seqs == [1, 2, 4, 5, 7]                           # 3 and 6 never arrived
            venue = {s: sim.exchange.markets[H0].levels(s) for s in ("yes", "no")}
            assert copy != venue and copy["no"] == venue["no"]
    run(main())


def test_kalshi_lost_level_removals_cross_a_copy_not_the_venue(keys):
    """`lost_removals`: the deltas that emptied the two best NO levels are lost (seq gaps); a
    copy ignoring the gaps is crossed by the next YES bid, while the venue's book is not."""
    async def main():
        async with kalshi(keys, faults=Faults(lost_removals=(H0,))) as (sim, _v, _clock):
            async with kalshi_ws(sim, keys, ["orderbook_delta"], [H0]) as ws:
                first = await frames(ws, 0.1)
                stale_no, yes = strand_two_best_no_levels(sim.exchange, H0)
                copy, seqs = naive_copy(first + await frames(ws))
            assert seqs == [1, 4]                                    # the two removals never arrived
            assert (best(copy["yes"]), best(copy["no"])) == (yes, stale_no) and yes + stale_no > FULL
            ob = (await kalshi_raw(sim, keys, "GET", f"/markets/{H0}/orderbook")).json()["orderbook_fp"]
            rest_yes, rest_no = (int(Decimal(ob[f"{s}_dollars"][-1][0]) * FULL) for s in ("yes", "no"))
            assert rest_yes == yes and rest_no < stale_no and rest_yes + rest_no < FULL
    run(main())


def test_polymarket_lost_level_removals_cross_a_copy_not_the_venue():
    """Polymarket (no seq): the price_change frames that emptied the levels never arrive; a copy
    of the YES token's book is then crossed (bid over its stale ask); the venue's book is not."""
    async def main():
        async with polymarket(faults=Faults(lost_removals=())) as (sim, v, _clock):
            cond = sorted(sim.listings)[2]
            yes_token = sim.listings[cond][2].yes_token
            async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url) as ws:
                await ws.send_str(json.dumps({"assets_ids": [yes_token], "type": "market"}))
                (snap,) = json.loads((await ws.receive(timeout=2)).data)
                bids = {p["price"]: p["size"] for p in snap["bids"]}
                asks = {p["price"]: p["size"] for p in snap["asks"]}
                sim.faults = Faults(lost_removals=(cond,))
                stale_no, yes = strand_two_best_no_levels(sim.exchange, cond)
                for f in await frames(ws):
                    for c in f.get("price_changes", []):
                        book = bids if c["side"] == "BUY" else asks
                        book.pop(c["price"], None) if c["size"] == "0" else book.__setitem__(c["price"], c["size"])
            best_bid, best_ask = max(map(Decimal, bids)), min(map(Decimal, asks))
            assert best_bid == Decimal(yes) / FULL and best_ask == Decimal(FULL - stale_no) / FULL
            assert best_bid > best_ask                                         # the copy: crossed
            venue = (await poly_raw(v, "GET", "/book", query={"token_id": yes_token})).json()
            assert Decimal(venue["bids"][-1]["price"]) < Decimal(venue["asks"][-1]["price"])
    run(main())
