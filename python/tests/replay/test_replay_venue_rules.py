"""A replay trades paper orders under the live adapters' order rules: `ReplayVenue` over recorded
Polymarket markets has the live `PolymarketVenue`'s `refusal`, `budget` and `buys_by_amount`
(computed by the live code on the recorded MarketInfo: tick, minimum size, fees), which the
`PaperVenue` in front of it takes up, so a replay refuses the small orders and unwinds a live run
would have refused and fills a marketable BUY with the dollar amount the CLOB would spend. A
Kalshi market keeps its rules (its live adapter has no such refusal)."""
import asyncio
import json

import pytest

from arbbot.model import FeeSchedule, MarketInfo, Side, Venue
from arbbot.paper import PaperVenue, open_ledger
from arbbot.paper.fills import order_fee
from arbbot.replay.format import FORMAT, market_to_json, read_recording
from arbbot.replay.venue import BookSource, ReplayVenue
from arbbot.replay.vloop import VirtualClock, run_virtual
from arbbot.venues.common.errors import OrderRejected
from arbbot.venues.common.model import Action, OrderRequest, OrderStatus, TimeInForce
from arbbot.venues.polymarket.config import PolymarketConfig
from arbbot.venues.polymarket.venue import PolymarketVenue

T0 = 1_795_846_592_000
PF = FeeSchedule(taker_rate_ppm=40_000, rounding=10)
POLY = MarketInfo(Venue.POLYMARKET, "0xP", "Poly?", fees=PF, lot_lots=1, tick_ticks=100, yes_token="y", no_token="n",
                  extra=(("min_order_size_lots", "500"),))          # 5-share minimum
LATE = MarketInfo(Venue.POLYMARKET, "0xL", "Listed later?", fees=PF, lot_lots=1, tick_ticks=10, yes_token="ly",
                  no_token="ln", extra=(("min_order_size_lots", "1000"),))
KALSHI = MarketInfo(Venue.KALSHI, "KX-A", "Kalshi?")
# YES asks 1,000 lots at $0.39 and at $0.40 (the NO bids mirror them), YES bid $0.38
POLY_BOOK = [[[3_800, 1_000]], [[3_900, 1_000], [4_000, 1_000]], [[6_100, 1_000], [6_000, 1_000]], [[6_200, 1_000]]]
KALSHI_BOOK = [[[3_800, 500]], [], [[6_000, 500]], []]               # YES asks at $0.40 (10,000 − the NO bid)
CASH = 1_000_000_000


def _line(rec: dict) -> str:
    return json.dumps(rec, separators=(",", ":")) + "\n"


def _recording(path) -> str:
    """Polymarket's POLY and Kalshi's KX-A from the start, LATE listed at T0 + 5."""
    venues = {"polymarket": {"markets": [market_to_json(POLY)], "events": [], "listing_bodies": []},
              "kalshi": {"markets": [market_to_json(KALSHI)], "events": [], "listing_bodies": []}}
    book = {"kind": "book", "tradeable": True, "reason": ""}
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"format": FORMAT, "started_ms": T0, "source": "simulator", "venues": venues}) + "\n")
        fh.write(_line({"recv_ts_ms": T0 + 1, **book, "venue": "polymarket", "market": POLY.market_id,
                        "book": POLY_BOOK}))
        fh.write(_line({"recv_ts_ms": T0 + 2, **book, "venue": "kalshi", "market": KALSHI.market_id,
                        "book": KALSHI_BOOK}))
        fh.write(_line({"recv_ts_ms": T0 + 5, "kind": "listed", "markets": [market_to_json(LATE)]}))
        fh.write(_line({"recv_ts_ms": T0 + 6, **book, "venue": "polymarket", "market": LATE.market_id,
                        "book": POLY_BOOK}))
    return str(path)


def _replay(tmp_path, body, *, until_ms: int = T0 + 10):
    """The recording replayed as `arbbot replay` builds it (a `PaperVenue` over each venue's
    `ReplayVenue`, `listed` records told to the feeds), every book streamed up to `until_ms`
    (virtual), then `await body(venues, feeds)`; its result."""
    rec = read_recording(_recording(tmp_path / "rules.jsonl"))
    clock = VirtualClock(rec.started_ms / 1000)
    source = BookSource(rec, clock)
    feeds = {name: ReplayVenue(name, rec, clock, source) for name in rec.markets}
    source.reader.on_listed = lambda _at, markets: [f.listed(markets) for f in feeds.values()]
    ledger = open_ledger(str(tmp_path / "paper.db"), CASH)
    venues = {name: PaperVenue(feed, ledger, latency_ms=0, clock=clock.time) for name, feed in feeds.items()}

    async def drain(venue):
        async for _ in venue.stream_books([m.market_id for m in rec.markets[venue.venue]]):
            pass

    async def main():
        for venue in venues.values():
            await venue.discover_markets()
        tasks = [asyncio.create_task(drain(v)) for v in venues.values()]
        await asyncio.sleep(until_ms / 1000 - clock.time())
        try:
            return await body(venues, feeds)
        finally:
            for t in tasks:
                t.cancel()
    try:
        return run_virtual(main(), clock)
    finally:
        ledger.close()
        source.close()


def _live(*markets: MarketInfo) -> PolymarketVenue:
    """The live adapter (no I/O: nothing is sent) with `markets` discovered."""
    live = PolymarketVenue(PolymarketConfig())
    live.provider.markets.update((m.market_id, m) for m in markets)
    return live


def _ioc(qty: int, price: int, *, action=Action.BUY, market=POLY.market_id, spend: int = 0, coid: str = "",
         tif=TimeInForce.IOC) -> OrderRequest:
    return OrderRequest(market, Side.YES, price, qty, action=action, tif=tif, spend_micros=spend,
                        client_order_id=coid)


REQUESTS = [
    _ioc(200, 4_000),                                   # 2 shares: below the 5-share minimum
    _ioc(300, 3_900, action=Action.SELL),               # an unwind's 3-share sale: likewise
    _ioc(500, 4_000),                                   # 5 shares, $2
    _ioc(500, 4_000, spend=3_900 * 500),                # priced on the $0.39 asks: under the minimum → $2
    _ioc(600, 4_000, spend=3_900 * 600 + 1),            # spends whole cents: up to $2.35
    _ioc(1_000, 900),                                   # $0.90 marketable: under $1
    _ioc(1_000, 900, tif=TimeInForce.GTC),              # a resting order has no $1 minimum
    _ioc(500, 4_050),                                   # off the 100-tick grid
    _ioc(200, 4_000, market="0xUNKNOWN"),               # not recorded: not refused here (live: not discovered)
]


def test_a_polymarket_replay_venue_has_the_live_adapters_refusal_and_budget(tmp_path):
    live = _live(POLY)

    async def body(venues, feeds):
        feed, paper = feeds["polymarket"], venues["polymarket"]
        assert feed.buys_by_amount is True and paper.buys_by_amount is True
        for req in REQUESTS:
            assert feed.refusal(req) == live.refusal(req), req
            assert paper.refusal(req) == live.refusal(req), req      # what the executor asks (`_refusal`)
            assert feed.budget(req) == live.budget(req), req
        return [(feed.refusal(r), feed.budget(r)) for r in REQUESTS]
    got = _replay(tmp_path, body)
    # (the live `budget` is the signed amount of any marketable BUY `signed_amounts` accepts, one
    # `check` refuses too: paper asks `refusal` first, as the live adapter refuses before signing)
    assert got == [
        ("polymarket: size 200 lots is below the market minimum 500", 800_000),
        ("polymarket: size 300 lots is below the market minimum 500", 0),
        (None, 2_000_000),
        (None, 2_000_000),
        (None, 2_350_000),
        ("polymarket: marketable orders must be worth at least $1", 900_000),
        (None, 0),
        ("polymarket: price 4050 ticks is off the 100-tick grid or outside [tick, 1 − tick]", 2_030_000),
        (None, 0),
    ]


def test_a_replayed_paper_order_below_the_market_minimum_is_refused_with_the_live_message(tmp_path):
    live = _live(POLY)

    async def body(venues, _feeds):
        paper = venues["polymarket"]
        out = []
        for req in (_ioc(200, 4_000, coid="small-buy"), _ioc(300, 3_900, action=Action.SELL, coid="small-sale")):
            with pytest.raises(OrderRejected) as err:
                await paper.place_order(req)
            out.append(str(err.value))
        return out, paper.orders_refused, paper.orders_matched, await paper.fills()
    messages, refused, matched, fills = _replay(tmp_path, body)
    assert messages == [f"paper polymarket: {live.refusal(_ioc(200, 4_000))}",
                        f"paper polymarket: {live.refusal(_ioc(300, 3_900, action=Action.SELL))}"]
    assert messages[0] == "paper polymarket: polymarket: size 200 lots is below the market minimum 500"
    assert (refused, matched, fills) == (2, 0, [])


def test_a_replayed_marketable_buy_spends_the_amount_the_live_adapter_signs(tmp_path):
    """5 shares at a $0.40 limit priced on the $0.39 asks ($1.95): its shares at that amount would
    be under the 5-share minimum, so the live adapter signs the limit cost, $2.00; at $0.39 that
    buys 512 lots (µ$ 1,996,800, the $0.0032 left buys no lot), not the 500 asked."""
    req = _ioc(500, 4_000, spend=3_900 * 500, coid="spend")
    assert _live(POLY).budget(req) == 2_000_000

    async def body(venues, _feeds):
        paper = venues["polymarket"]
        order = await paper.place_order(req)
        return order, await paper.fills(order_id=order.order_id), (await paper.balance()).cash_micros
    order, fills, cash = _replay(tmp_path, body)
    fee = order_fee(PF, [(3_900, 512)])
    assert (order.status, order.filled_lots, order.cost_micros, order.fees_micros) == (OrderStatus.FILLED, 512,
                                                                                       1_996_800, fee)
    assert [(f.price_ticks, f.qty_lots, f.fee_micros) for f in fills] == [(3_900, 512, fee)]
    assert cash == CASH - 1_996_800 - fee


def test_a_market_listed_mid_replay_is_checked_under_its_own_recorded_rules(tmp_path):
    live = _live(POLY, LATE)
    small, grid = _ioc(500, 4_000, market=LATE.market_id), _ioc(1_000, 4_010, market=LATE.market_id)

    async def body(_venues, feeds):
        feed = feeds["polymarket"]
        return [feed.refusal(small), feed.refusal(grid)]
    assert live.refusal(small) is not None and _live(POLY).refusal(small) is None
    after = _replay(tmp_path, body)
    assert after == [live.refusal(small), live.refusal(grid)] == [
        "polymarket: size 500 lots is below the market minimum 1000", None]    # its 10-tick grid: 4,010 is on it


def test_a_kalshi_replay_venue_gains_no_refusal_and_fills_a_small_order(tmp_path):
    """Kalshi's live adapter has no `refusal`/`budget` (its rules are the lot and the grid, which
    paper checks itself), and neither has ForecastEx's: the replay of a Kalshi market keeps them,
    a $0.40 order (under Polymarket's $1) fills."""
    from arbbot.venues.kalshi.venue import KalshiVenue
    assert not any(hasattr(KalshiVenue, a) for a in ("refusal", "budget", "buys_by_amount"))
    try:
        from arbbot.venues.forecastex.venue import ForecastExVenue
    except ImportError:                                              # its IB client is optional
        ForecastExVenue = None
    if ForecastExVenue is not None:
        assert not any(hasattr(ForecastExVenue, a) for a in ("refusal", "budget", "buys_by_amount"))

    async def body(venues, feeds):
        feed, paper = feeds["kalshi"], venues["kalshi"]
        assert getattr(feed, "order_rules", None) is None
        assert not any(hasattr(feed, a) for a in ("refusal", "budget"))
        assert not hasattr(paper, "refusal") and not getattr(paper, "buys_by_amount", False)
        order = await paper.place_order(_ioc(100, 4_000, market=KALSHI.market_id, spend=1, coid="k"))
        return order, paper.orders_refused
    order, refused = _replay(tmp_path, body)
    assert (order.status, order.filled_lots, order.cost_micros, refused) == (OrderStatus.FILLED, 100, 400_000, 0)
