"""Polymarket share amounts with more than 2 decimals (VENUES.md: amounts are ×10⁶ on chain).

An order states its size in 2 decimals, but fills are on-chain amounts: the venue-factsheet's own
`last_trade_price` example trades "219.217767" shares, and a maker order such a fill partly takes
stays on the book with a 6-decimal size. Before, every such number raised: the book went
untradeable, and an order whose answer or lookup carried one could never be resolved (the executor
looks a lost answer up for as long as it takes). Now they are read exactly and floored to whole
lots (never more than held or offered); fees are computed on the exact size.
"""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from arbbot.units import UnitError, lots_held, share_micros
from arbbot.venues.common import Action, OrderRequest, OrderStatus, Side, TimeInForce
from arbbot.venues.polymarket.book import TokenBook, summary_hash
from arbbot.venues.polymarket.execution import PolymarketExecutionClient
from arbbot.venues.polymarket.schemas.ws import parse_book

TOKEN_YES, TOKEN_NO, COND = "111", "222", "0xcond"


def test_share_amounts_parse_to_micro_shares_and_whole_lots():
    assert share_micros("219.217767") == 219_217_767 and lots_held(219_217_767) == 21_921
    assert share_micros("20") == 20_000_000 and lots_held(20_000_000) == 2_000
    assert share_micros("0.009999") == 9_999 and lots_held(9_999) == 0          # dust: no whole lot
    for bad in ("-1.5", "1.0000001", "abc", 1.5):
        with pytest.raises(UnitError):
            share_micros(bad)


def _book_message(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> dict:
    ts, fields = "1757908892351", {"min_order_size": "5", "tick_size": "0.01", "neg_risk": False,
                                   "last_trade_price": "0.456"}
    h = summary_hash(COND, TOKEN_YES, ts, bids, asks, fields["min_order_size"], fields["tick_size"],
                     fields["neg_risk"], fields["last_trade_price"])
    return {"event_type": "book", "asset_id": TOKEN_YES, "market": COND, "timestamp": ts, "hash": h,
            "bids": [{"price": p, "size": s} for p, s in bids], "asks": [{"price": p, "size": s} for p, s in asks],
            **fields}


def test_book_levels_with_six_decimals_keep_the_hash_and_trade_whole_lots():
    # the venue's order: bids ascending, asks descending (best last)
    msg = _book_message(asks=[("0.47", "12.5"), ("0.46", "77.777778")], bids=[("0.44", "0.004"), ("0.45", "219.217767")])
    book = TokenBook(TOKEN_YES, COND)
    assert book.apply_snapshot(parse_book(msg)) and book.tradeable
    assert book.ask_levels() == ((4600, 7_777), (4700, 1_250))
    assert book.bid_levels() == ((4500, 21_921),)                 # the 0.004-share level: no whole lot
    assert book.hash_at(msg["timestamp"]) == msg["hash"]          # the dust level still hashes
    book.apply_change("SELL", "0.46", "0.000001")                # a fill leaves one micro-share
    assert book.ask_levels() == ((4700, 1_250),)
    assert book.hash_at("1") == summary_hash(COND, TOKEN_YES, "1", [("0.44", "0.004"), ("0.45", "219.217767")],
                                             [("0.47", "12.5"), ("0.46", "0.000001")], "5", "0.01", False, "0.456")
    book.apply_change("SELL", "0.46", "0")
    assert "0.46" not in [v[1] for v in book.asks.values()]


class _Http:
    """The CLOB's answers, as the venue writes them (strings; amounts up to 6 decimals)."""

    def __init__(self, post: dict, get: dict) -> None:
        self.post, self.get = post, get

    async def clob_post(self, path, payload, auth=False):
        return self.post

    async def clob_get(self, path, params, auth=False):
        return self.get


def _client(post: dict, get: dict) -> PolymarketExecutionClient:
    from arbbot.venues.polymarket.providers import PolymarketInstrumentProvider
    market = SimpleNamespace(market_id=COND, yes_token=TOKEN_YES, no_token=TOKEN_NO, tick_ticks=100,
                             extra=(("min_order_size_lots", "500"),), neg_risk=False)
    provider = PolymarketInstrumentProvider(None)
    provider.markets = {COND: market}
    client = PolymarketExecutionClient(_Http(post, get), SimpleNamespace(), provider)
    client._build = lambda m, req: {"order": {}}                 # signing is tested elsewhere
    return client


def test_a_fill_of_six_decimal_shares_is_read_not_refused():
    """FAK buy of 20.00 at 45¢ that matched 9.999999 shares for $4.499999: 999 whole lots filled,
    the rest killed, the cost exact; the lookup of the same order reads 19.999999 matched of 20."""
    answer = {"success": True, "orderID": "0xabc", "status": "matched", "makingAmount": "4.499999",
              "takingAmount": "9.999999"}
    looked_up = {"id": "0xabc", "asset_id": TOKEN_YES, "market": COND, "original_size": "20",
                 "size_matched": "19.999999", "price": "0.45", "status": "MATCHED", "side": "BUY"}
    client = _client(answer, looked_up)
    req = OrderRequest(COND, Side.YES, 4500, 2_000, tif=TimeInForce.IOC)
    o = asyncio.run(client.place(req))
    assert (o.status, o.filled_lots, o.remaining_lots, o.cost_micros) == (OrderStatus.CANCELED, 999, 0, 4_499_999)
    found = asyncio.run(client.order("0xabc"))
    assert (found.status, found.qty_lots, found.filled_lots, found.side, found.action) == \
           (OrderStatus.CANCELED, 2_000, 1_999, Side.YES, Action.BUY)


def test_fills_of_six_decimal_sizes_carry_the_fee_of_the_exact_size():
    """Two taker fills of one order at 40¢, fee rate 200 bps (fee = size × 0.02 × p(1−p), rounded
    up to $0.00001 on the order's running total): 10.123456 shares → raw $0.0485925888, and
    5.5 shares → total $0.0749925888, charged $0.07500; the first fill carries $0.04860 and the
    second $0.02640. Lots: 1,012 and 550."""
    from arbbot.venues.polymarket.config import PolymarketConfig
    from arbbot.venues.polymarket.venue import PolymarketVenue

    v = PolymarketVenue(PolymarketConfig())
    v.provider.markets = {COND: SimpleNamespace(market_id=COND, yes_token=TOKEN_YES, no_token=TOKEN_NO)}
    trades = [{"id": f"t{i}", "taker_order_id": "0xabc", "asset_id": TOKEN_YES, "side": "BUY", "price": "0.4",
               "size": size, "fee_rate_bps": "200", "status": "CONFIRMED", "match_time": "1757908892",
               "trader_side": "TAKER", "market": COND} for i, size in enumerate(("10.123456", "5.5"))]

    async def pages(path, params):
        for t in trades:
            yield t
    v._pages = pages
    fills = asyncio.run(v.fills())
    assert [(f.qty_lots, f.fee_micros, f.price_ticks) for f in fills] == [(1_012, 48_600, 4000), (550, 26_400, 4000)]


def test_an_orders_fills_add_up_to_its_whole_lots_filled():
    """A budget BUY's fills, 10.123456 + 5.876544 shares, make 16 shares: the order filled 1,600
    lots. Floored one by one they made 1,012 + 587 = 1,599 and the order's fills never added up
    (the executor waited for a lot that never came). On the running total: 1,012 + 588. A maker
    fill of another order in between keeps its own total."""
    from arbbot.venues.polymarket.config import PolymarketConfig
    from arbbot.venues.polymarket.venue import PolymarketVenue

    v = PolymarketVenue(PolymarketConfig(api_key="k"))
    v.provider.markets = {COND: SimpleNamespace(market_id=COND, yes_token=TOKEN_YES, no_token=TOKEN_NO)}

    def taker(i: int, size: str) -> dict:
        return {"id": f"t{i}", "taker_order_id": "0xabc", "asset_id": TOKEN_YES, "side": "BUY", "price": "0.4",
                "size": size, "fee_rate_bps": "0", "status": "CONFIRMED", "match_time": "1757908892",
                "trader_side": "TAKER", "market": COND}
    maker = {"id": "t9", "taker_order_id": "0xother", "asset_id": TOKEN_NO, "side": "SELL", "price": "0.6",
             "size": "3.333333", "status": "CONFIRMED", "match_time": "1757908892", "trader_side": "MAKER",
             "market": COND, "maker_orders": [{"order_id": "0xmine", "owner": "k", "asset_id": TOKEN_NO,
                                               "side": "BUY", "price": "0.6", "matched_amount": "3.333333"}]}
    trades = [taker(0, "10.123456"), maker, taker(1, "5.876544")]

    async def pages(path, params):
        for t in trades:
            yield t
    v._pages = pages
    fills = asyncio.run(v.fills())
    assert [(f.order_id, f.qty_lots) for f in fills] == [("0xabc", 1_012), ("0xabc", 588), ("0xmine", 333)]
    assert sum(f.qty_lots for f in fills if f.order_id == "0xabc") == lots_held(share_micros("16")) == 1_600


def test_an_orders_fills_split_the_same_whichever_order_the_venue_lists_its_trades():
    """One order's three taker trades, a second apart, of 10.123456, 5.876544 and 3.333333 shares.
    Read as the venue lists them oldest first, newest first, and before the last trade came: each
    trade's fill has the same lots and fee every time (the running totals run oldest first).
    Before, a newest-first listing split the lots over other fills than an oldest-first one did,
    and a trade added later moved its older fills' lots: reconciliation found fill differences."""
    from arbbot.venues.polymarket.config import PolymarketConfig
    from arbbot.venues.polymarket.venue import PolymarketVenue

    v = PolymarketVenue(PolymarketConfig(api_key="k"))
    v.provider.markets = {COND: SimpleNamespace(market_id=COND, yes_token=TOKEN_YES, no_token=TOKEN_NO)}
    trades = [{"id": f"t{i}", "taker_order_id": "0xabc", "asset_id": TOKEN_YES, "side": "BUY", "price": "0.4",
               "size": size, "fee_rate_bps": "200", "status": "CONFIRMED", "match_time": str(1757908892 + i),
               "trader_side": "TAKER", "market": COND} for i, size in enumerate(("10.123456", "5.876544", "3.333333"))]

    def read(listed):
        async def pages(path, params):
            for t in listed:
                yield t
        v._pages = pages
        return {f.fill_id: (f.qty_lots, f.fee_micros) for f in asyncio.run(v.fills())}
    oldest_first, newest_first, before_last = read(trades), read(trades[::-1]), read(trades[1::-1])
    assert oldest_first == newest_first
    assert {k: oldest_first[k] for k in before_last} == before_last
    assert [oldest_first[f"t{i}"][0] for i in range(3)] == [1_012, 588, 333]
    # three trades in one second, listed either way, then a fourth a second later: the same split
    # (by trade id within the second), and the earlier fills keep their lots
    for trade in trades:
        trade["match_time"] = "1757908892"
    fourth = {**trades[0], "id": "t3", "size": "7.777777", "match_time": "1757908893"}
    same_second = read(trades)
    assert read(trades[::-1]) == same_second == read(trades[1:] + trades[:1])
    with_fourth = read([fourth] + trades[::-1])
    assert {k: with_fourth[k] for k in same_second} == same_second
