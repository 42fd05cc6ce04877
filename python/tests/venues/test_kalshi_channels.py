"""Kalshi public `ticker` / `trade` and private `fill` WS channels: parsers on the AsyncAPI file's
own examples, and the adapter against the simulator over real sockets."""
from __future__ import annotations

import asyncio
import json

import pytest

from arbbot.venues.common import OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.model import Action, Fill, Trade, Venue
from arbbot.units import price_ticks, qty_lots
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.kalshi.market import KalshiMarketClient
from arbbot.venues.kalshi.schemas.ws import (
    ChannelMsg, TickerQuote, parse_fill, parse_message, parse_ticker, parse_trade,
)
from arbbot.venues.kalshi.user import KalshiUserClient
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import kalshi_env
from tests.wire_fixtures import ws_message

H0 = "KXFEDDECISION-26DEC-H0"
V = Venue.KALSHI

# kalshi-asyncapi.yaml components/messages examples (tickerUpdate, tradeNotification, userFill) and
# venues-factsheet.md "latest spec examples" (fixed-point only, ts_ms, fee_cost)
ASYNCAPI_TICKER, ASYNCAPI_TRADE, ASYNCAPI_FILL, FACTSHEET_TICKER, FACTSHEET_TRADE, FACTSHEET_FILL = (
    ws_message("kalshi", name) for name in ("asyncapi_ticker", "asyncapi_trade", "asyncapi_fill",
                                            "factsheet_ticker", "factsheet_trade", "factsheet_fill"))

def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_parsers_on_asyncapi_examples():
    t = parse_ticker(ASYNCAPI_TICKER["msg"])
    assert t == TickerQuote("FED-23DEC-T3.00", 4800, 4500, 5300, None, None, None, 3_389_600, 2_042_200,
                            1_669_149_841_000, "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1")
    assert parse_ticker(FACTSHEET_TICKER["msg"]) == TickerQuote(
        "FED-23DEC-T3.00", 4800, 4500, 5300, 30_000, 15_000, 2_500, 3_389_600, 2_042_200,
        1_669_149_841_000, "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1")
    tr = Trade(V, "HIGHNY-22DEC23-B53.5", "d91bc706-ee49-470d-82d8-11418bda6fed", 3600, 13_600, Side.NO,
               1_669_149_841_000)
    assert parse_trade(ASYNCAPI_TRADE["msg"]) == tr
    assert parse_trade(FACTSHEET_TRADE["msg"]) == tr
    # the AsyncAPI example omits the (required) fee_cost: fee 0; the factsheet's carries $0.01
    f = parse_fill(ASYNCAPI_FILL["msg"])
    assert f == Fill(V, "d91bc706-ee49-470d-82d8-11418bda6fed", "ee587a1c-8b87-4dcf-b721-9f6f790619fa",
                     "HIGHNY-22DEC23-B53.5", Side.YES, Action.BUY, 7500, 27_800, 0, True, 1_671_899_397_000, "")
    g = parse_fill(FACTSHEET_FILL["msg"])
    assert g == Fill(V, f.fill_id, f.order_id, f.market_id, Side.YES, Action.BUY, 7500, 27_800, 10_000, True,
                     1_671_899_397_000, "my-order-1")
    # a NO fill is priced in NO ticks; sub-cent fixed-point values stay exact
    n = parse_fill({**FACTSHEET_FILL["msg"], "side": "no", "yes_price_dollars": "0.7525", "count_fp": "0.37",
                    "fee_cost": "0.001234"})
    assert (n.side, n.price_ticks, n.qty_lots, n.fee_micros) == (Side.NO, 2475, 37, 1_234)
    # whole frames through parse_message keep sid / seq
    for frame, typ, seq in ((FACTSHEET_TICKER, "ticker", None), (FACTSHEET_TRADE, "trade", 2),
                            (ASYNCAPI_FILL, "fill", None)):
        m = parse_message(json.dumps(frame))
        assert isinstance(m, ChannelMsg) and (m.type, m.sid, m.seq) == (typ, frame["sid"], seq)


@pytest.mark.parametrize("bad", [
    {**FACTSHEET_TRADE["msg"], "yes_price_dollars": 0.36},                    # float, not a string
    {**FACTSHEET_TRADE["msg"], "yes_price_dollars": "0.36001"},               # finer than a tick
    {**FACTSHEET_TRADE["msg"], "no_price_dollars": "0.6500"},                 # legs don't sum to $1
    {**FACTSHEET_TRADE["msg"], "taker_side": "up"},
    {**FACTSHEET_TRADE["msg"], "count_fp": "0.00"},
    {k: v for k, v in FACTSHEET_TRADE["msg"].items() if k != "count_fp"},
])
def test_trade_parser_refuses_malformed(bad):
    with pytest.raises(ProtocolError):
        parse_trade(bad)


@pytest.mark.parametrize("bad", [
    {**FACTSHEET_FILL["msg"], "fee_cost": "0.0000001"},                       # finer than 1 µ$
    {**FACTSHEET_FILL["msg"], "is_taker": "true"},
    {**FACTSHEET_FILL["msg"], "action": "hold"},
    {k: v for k, v in FACTSHEET_FILL["msg"].items() if k != "order_id"},
])
def test_fill_parser_refuses_malformed(bad):
    with pytest.raises(ProtocolError):
        parse_fill(bad)
    with pytest.raises(ProtocolError):
        parse_ticker({**FACTSHEET_TICKER["msg"], "yes_bid_dollars": "1.5000"})


def test_malformed_frames_do_not_stop_the_streams():
    async def main():
        m = KalshiMarketClient("ws://127.0.0.1:9/unused", None, [H0])
        u = KalshiUserClient("ws://127.0.0.1:9/unused", None, [H0], channels=KalshiUserClient.ALL_CHANNELS)
        for text in ('{"type":"trade","sid":', '{"type":"trade","sid":1,"seq":1,"msg":{}}',
                     json.dumps({**FACTSHEET_TICKER, "msg": {**FACTSHEET_TICKER["msg"], "price_dollars": 0.48}}),
                     json.dumps({**FACTSHEET_TRADE, "seq": 1}), json.dumps({**FACTSHEET_TRADE, "seq": 1}),
                     json.dumps(FACTSHEET_TICKER), json.dumps({**FACTSHEET_TRADE, "seq": 5})):
            await m.on_frame(text, 0)
        assert (m.malformed, m.duplicates, m.trade_gaps) == (3, 1, 1)
        got = [m.updates.get_nowait() for _ in range(m.updates.qsize())]
        assert [type(x).__name__ for x in got] == ["Trade", "TickerQuote", "Trade"]
        assert m.quotes["FED-23DEC-T3.00"].yes_bid_lots == 30_000
        for text in ('{"type":"fill"', json.dumps({**FACTSHEET_FILL, "msg": {**FACTSHEET_FILL["msg"], "count_fp": "x"}}),
                     json.dumps(FACTSHEET_FILL)):
            await u.on_frame(text, 0)
        assert u.malformed == 2 and u.fills == [parse_fill(FACTSHEET_FILL["msg"])]
        assert u.updates.get_nowait() == u.fills[0]
    run(main())


async def _collect(gen, out: list) -> None:
    async for x in gen:
        out.append(x)


def _sim_quote(sim, t: str) -> tuple:
    m = sim.ticker_msg(t)
    return (price_ticks(m["price_dollars"]), price_ticks(m["yes_bid_dollars"]), price_ticks(m["yes_ask_dollars"]),
            qty_lots(m["yes_bid_size_fp"]), qty_lots(m["yes_ask_size_fp"]), qty_lots(m["volume_fp"]),
            qty_lots(m["open_interest_fp"]))


def _quote(q: TickerQuote) -> tuple:
    return (q.last_price_ticks, q.yes_bid_ticks, q.yes_ask_ticks, q.yes_bid_lots, q.yes_ask_lots,
            q.volume_lots, q.open_interest_lots)


def _book_top(sim, t: str) -> tuple:
    yes, no = sim.book_levels(t, "yes"), sim.book_levels(t, "no")
    return max(yes), 10_000 - max(no), yes[max(yes)], no[max(no)]


def test_trade_ticker_and_fill_streams_against_simulator(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            public: list = []
            private: list = []
            tasks = [asyncio.create_task(_collect(v.stream_market([H0]), public)),
                     asyncio.create_task(_collect(v.stream_user([H0]), private))]
            await wait_for(lambda: v.market is not None and v.user is not None
                           and set(v.market.subscribed) == {"ticker", "trade"}
                           and set(v.user.subscribed) == {"user_orders", "market_positions", "fill"},
                           what="subscribed")
            # initial ticker snapshot = the simulator's book (no trade yet: last price 0)
            await wait_for(lambda: H0 in v.market.quotes, what="initial ticker")
            q0 = v.market.quotes[H0]
            by, ya, bsz, asz = _book_top(sim, H0)
            assert (q0.yes_bid_ticks, q0.yes_ask_ticks, q0.yes_bid_lots, q0.yes_ask_lots) == (by, ya, bsz, asz)
            assert (q0.last_price_ticks, q0.volume_lots, q0.market_id) == (0, 0, H0)

            # our IOC buy of 10 YES at 54¢ takes the 46¢ NO bid: one trade, one taker fill, fee $0.18
            o = await v.place_order(OrderRequest(H0, Side.YES, 5400, 1000, tif=TimeInForce.IOC, client_order_id="k1"))
            assert o.status is OrderStatus.FILLED and o.fees_micros == 180_000
            (fe,) = [f for f in sim.exchange.accounts["user"].fills if f.order.order_id == o.order_id]
            want_trade = Trade(V, H0, fe.trade_id, 5400, 1000, Side.YES, fe.ts_ms)
            want_fill = Fill(V, fe.trade_id, o.order_id, H0, Side.YES, Action.BUY, 5400, 1000, 180_000, True,
                             fe.ts_ms, "k1")
            await wait_for(lambda: want_trade in public, what="public trade")
            await wait_for(lambda: want_fill in private, what="private fill")
            assert [x for x in public if isinstance(x, Trade)] == [want_trade]
            assert [x for x in private if isinstance(x, Fill)] == [want_fill]
            # the same fill over REST (REST has its own fill_id, second-resolution ts, no client id)
            (rest,) = [f for f in await v.fills() if f.order_id == o.order_id]
            key = lambda f: (f.order_id, f.market_id, f.side, f.action, f.price_ticks, f.qty_lots,  # noqa: E731
                             f.fee_micros, f.is_taker, f.ts_ms // 1000)
            assert key(rest) == key(want_fill)
            # the ticker caught up with the trade: last price, volume, OI, top of book
            await wait_for(lambda: v.market.quotes[H0].last_price_ticks == 5400
                           and v.market.quotes[H0].open_interest_lots == 1000, what="ticker after trade")
            await wait_for(lambda: _quote(v.market.quotes[H0]) == _sim_quote(sim, H0), what="ticker = sim")
            q = v.market.quotes[H0]
            assert (q.last_price_ticks, q.volume_lots, q.open_interest_lots, q.last_trade_lots) == (5400, 1000, 1000, 1000)
            assert (q.yes_bid_ticks, q.yes_ask_ticks, q.yes_bid_lots, q.yes_ask_lots) == _book_top(sim, H0)

            # another account takes our resting NO bid: a maker fill for us, a public trade with
            # taker side YES; no fill for us from the other account's side
            m = await v.place_order(OrderRequest(H0, Side.NO, 4700, 200, client_order_id="k2"))
            assert m.status is OrderStatus.RESTING
            sim.exchange.account("other", 10**12)
            sim.exchange.place("other", H0, "yes", "buy", 5300, 200, "ioc")
            (me,) = [f for f in sim.exchange.accounts["user"].fills if f.order.order_id == m.order_id]
            maker_fill = Fill(V, me.trade_id, m.order_id, H0, Side.NO, Action.BUY, 4700, 200, me.fee, False,
                              me.ts_ms, "k2")
            await wait_for(lambda: maker_fill in private, what="maker fill")
            await wait_for(lambda: Trade(V, H0, me.trade_id, 5300, 200, Side.YES, me.ts_ms) in public,
                           what="second public trade")
            await wait_for(lambda: _quote(v.market.quotes[H0]) == _sim_quote(sim, H0)
                           and v.market.quotes[H0].last_price_ticks == 5300, what="ticker after maker trade")
            assert [x.order_id for x in private if isinstance(x, Fill)] == [o.order_id, m.order_id]
            assert (v.market.malformed, v.market.duplicates, v.market.trade_gaps, v.user.malformed) == (0, 0, 0, 0)
            assert v.market.errors == [] and v.user.errors == []
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await v.close()
    run(main())


def test_fill_channel_is_per_account_and_filtered_by_ticker(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            others = [t for t in sim.listings if t != H0]
            u = KalshiUserClient(cfg.ws_url, v.http.signer, [others[0]], channels=("fill",))
            u.start()
            await wait_for(lambda: set(u.subscribed) == {"fill"}, what="subscribed")
            o = await v.place_order(OrderRequest(H0, Side.YES, 5400, 1000, tif=TimeInForce.IOC))
            assert o.filled_lots == 1000
            sim.exchange.account("other", 10**12)
            sim.exchange.place("other", H0, "yes", "buy", 5400, 500, "ioc")
            await asyncio.sleep(0.3)
            assert u.fills == [] and u.malformed == 0     # H0 is not in the filter; "other" is not us
            await u.close()
            await v.close()
    run(main())
