"""Kalshi fee terms and wire details against VENUES.md: the taker rate rounded up (never below the
venue's fee), fee multipliers of any precision, unmodellable fee types left untraded, per-event
`event_fee_update` overrides, an explicit `use_yes_price`, both `market_position` shapes, and a
market's grid following `price_level_structure_updated`.

Units: rates in ppm, prices in ticks ($0.0001), sizes in lots (0.01 contract), money in µ$."""
from __future__ import annotations

import asyncio
import json
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from structlog.testing import capture_logs

from arbbot.engine import order_fee
from arbbot.model import FeeSchedule, utc_ms
from arbbot.venues.common.errors import ProtocolError
from arbbot.venues.common.model import Position, Venue
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.kalshi.data import KalshiDataClient
from arbbot.venues.kalshi.fees import UnmodelledFees, fee_schedule
from arbbot.venues.kalshi.providers import KalshiInstrumentProvider
from arbbot.venues.kalshi.schemas.rest import parse_series
from arbbot.venues.kalshi.schemas.ws import EventFeeUpdate, parse_message
from arbbot.venues.kalshi.user import KalshiUserClient, parse_market_position
from tests.venues.conftest import wait_for


def iso_ms(ms: int) -> str:
    """Unix ms → RFC 3339 UTC with milliseconds."""
    from datetime import datetime, timezone
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
from tests.venues.kalshi_env import kalshi_env

H0 = "KXFEDDECISION-26DEC-H0"
FED_EVENT = "KXFEDDECISION-26DEC"
FED_TICKERS = ["KXFEDDECISION-26DEC-H0", "KXFEDDECISION-26DEC-C25", "KXFEDDECISION-26DEC-C50",
               "KXFEDDECISION-26DEC-H25"]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def _series(fee_type="quadratic", mult=Decimal("1")):
    return parse_series({"ticker": "S", "fee_type": fee_type, "fee_multiplier": mult})


def _terms(series):
    return series.fee_type, series.fee_multiplier


# ---- 1. the taker rate: rounded up, exact multipliers -------------------------------------------

def test_taker_rate_is_rounded_up_so_the_fee_is_never_below_the_venues():
    # 0.07 × 0.333333 = 0.02333331 → 23,333.31 ppm: rounded up to 23,334 (down gave 23,333)
    fees = fee_schedule(*_terms(_series(mult=Decimal("0.333333"))))
    assert fees == FeeSchedule(taker_rate_ppm=23_334, rounding=10_000, maker_rate_ppm=0)
    # 31 contracts at $0.21: the venue charges roundup(0.333333 × 0.07 × 31 × 0.21 × 0.79)
    # = roundup(0.02333331 × 5.1429 = $0.120000...89) = $0.13; at 23,333 ppm the model said
    # roundup(0.023333 × 5.1429 = $0.119999...) = $0.12, one cent short; 23,334 ppm gives $0.13
    assert order_fee(fees, [(2_100, 3_100)], engine="python") == 130_000
    assert order_fee(FeeSchedule(23_333, 0, 10_000), [(2_100, 3_100)], engine="python") == 120_000
    # never below: every whole-cent price, 1…300 contracts
    exact = Fraction(333_333, 10**6) * Fraction(7, 100)
    for cents in range(1, 100):
        p = Fraction(cents, 100)
        for c in range(1, 301):
            venue = math.ceil(exact * c * p * (1 - p) * 100) * 10_000          # µ$, whole cents
            assert order_fee(fees, [(cents * 100, c * 100)], engine="python") >= venue


@pytest.mark.parametrize("wire, taker, maker", [
    # 0.07 × 0.3333333333 = 0.023333333331 → 23,334 ppm; 0.0175 × it = 0.00583333333275 → 5,834
    (Decimal("0.3333333333"), 23_334, 5_834),
    (0.3333333333, 23_334, 5_834),            # a float (json without parse_float): its shortest text
    (1, 70_000, 17_500),
    (Decimal("0.5"), 35_000, 8_750),
    ("0.25", 17_500, 4_375),
])
def test_multipliers_of_any_precision_are_read_exactly(wire, taker, maker):
    s = parse_series({"ticker": "S", "fee_type": "quadratic_with_maker_fees", "fee_multiplier": wire})
    assert fee_schedule(*_terms(s)) == FeeSchedule(taker_rate_ppm=taker, rounding=10_000, maker_rate_ppm=maker)


@pytest.mark.parametrize("bad", ["abc", -1, Decimal("-0.1"), True, None, [1], float("nan"), Decimal("Infinity")])
def test_a_malformed_multiplier_is_a_protocol_error(bad):
    with pytest.raises(ProtocolError):
        parse_series({"ticker": "S", "fee_type": "quadratic", "fee_multiplier": bad})


# ---- 2. fee types -------------------------------------------------------------------------------

def test_fee_types():
    # combo maker fees: quadratic taker (makers pay nothing in any lane; maker rate informational)
    assert fee_schedule("quadratic_with_combo_maker_fees", Decimal(1)) == FeeSchedule(70_000, 0, 10_000, 17_500)
    assert fee_schedule("quadratic", Decimal(0)) == FeeSchedule(0, 0, 10_000, 0)
    for fee_type in ("flat", "perp_linear", ""):
        with pytest.raises(UnmodelledFees, match=repr(fee_type)):
            fee_schedule(fee_type, Decimal(1))
    with pytest.raises(UnmodelledFees, match="rate"):            # 0.07 × 15 = 1.05 ≥ 1: not a fee rate
        fee_schedule("quadratic", Decimal(15))


def test_discovery_skips_series_it_cannot_price_and_keeps_the_rest(rsa_keys):
    """One series whose fee_multiplier is malformed, one `flat` series: their markets are left out
    (with a reason and a count), every other market is discovered with exact fees."""
    async def main():
        async with kalshi_env(rsa_keys, scenario="all") as (sim, cfg):
            def series(name, **terms):
                tickers = []
                for t, (_e, _q, l) in sim.listings.items():
                    if l.series == name:
                        for k, v in terms.items():
                            setattr(l, k, v)
                        tickers.append(t)
                return tickers
            thirds = series("KXMAYOR", fee_multiplier="0.3333333333")      # 10 decimals
            combo = series("KXFED", fee_type="quadratic_with_combo_maker_fees")
            makers = series("KXNBAGAME", fee_type="quadratic_with_maker_fees", fee_multiplier="0.5")
            flat = series("KXHIGHNY", fee_type="flat")
            bad = series("KXFEDEMERG", fee_multiplier='"abc"')              # a string on the wire
            v = KalshiVenue(cfg)
            paths, inner = [], v.http.get

            async def get(path, *a, **k):
                paths.append(path)
                return await inner(path, *a, **k)
            v.http.get = get
            with capture_logs() as events:
                markets = {m.market_id: m for m in await v.discover_markets()}
            assert [p for p in paths if p.startswith("/series")] == ["/series", "/series/fee_changes", "/series/KXFEDEMERG"]
            assert set(markets) == set(sim.listings) - set(flat) - set(bad)
            assert {markets[t].fees for t in thirds} == {FeeSchedule(23_334, 0, 10_000, 0)}
            assert {markets[t].fees for t in combo} == {FeeSchedule(70_000, 0, 10_000, 17_500)}
            assert {markets[t].fees for t in makers} == {FeeSchedule(35_000, 0, 10_000, 8_750)}
            assert markets[H0].fees == FeeSchedule(70_000, 0, 10_000, 0)
            un = v.provider.untradeable
            assert set(un) == set(flat) | set(bad)
            assert all("'flat'" in un[t] for t in flat) and all("fee_multiplier" in un[t] for t in bad)
            warned = [e for e in events if e["event"] == "kalshi.markets_untradeable"]
            assert len(warned) == 1 and warned[0]["log_level"] == "warning" and warned[0]["count"] == 2
            await v.close()
    run(main())


# ---- 3. event_fee_update ------------------------------------------------------------------------

# venues-factsheet.md §1.8 (delivered on the `market_lifecycle_v2` channel)
FACTSHEET_FEE_UPDATE = ('{"type": "event_fee_update", "sid": 5, "seq": 9, "msg": {"event_ticker": '
                        '"KXBTCD-26MAY2018", "fee_type_override": "quadratic", "fee_multiplier_override": 1}}')
EV = "KXBTCD-26MAY2018"
T1, T2 = f"{EV}-T1", f"{EV}-T2"


def fee_frame(fee_type, mult) -> str:
    """An `event_fee_update` for EV; `mult` is written as given (JSON number text)."""
    return ('{"type":"event_fee_update","sid":5,"seq":10,"msg":{"event_ticker":"%s","fee_type_override":%s,'
            '"fee_multiplier_override":%s}}' % (EV, json.dumps(fee_type), mult))


def test_event_fee_update_parses():
    assert parse_message(FACTSHEET_FEE_UPDATE) == EventFeeUpdate(5, 9, EV, "quadratic", Decimal(1))
    assert parse_message(fee_frame(None, "null")) == EventFeeUpdate(5, 10, EV, None, None)
    u = parse_message(fee_frame("quadratic", "0.3333333333"))
    assert u.multiplier == Decimal("0.3333333333") and u.error == ""       # exact, not a float
    u = parse_message(fee_frame("quadratic", '"x"'))
    assert u.event_ticker == EV and "fee_multiplier_override" in u.error   # kept: its event is held
    with pytest.raises(ProtocolError):
        parse_message('{"type":"event_fee_update","sid":5,"seq":1,"msg":{"fee_type_override":"flat"}}')


class FakeHttp:
    """The reads of a discovery: one series (quadratic × 1), one event of two markets showing the
    override fields `event_fields` (none: as before API 3.18), and the event override changes
    `event_changes` (none), in pages of `event_page`."""
    event_fields: dict = {}
    event_changes: tuple = ()
    event_page = 1000

    async def get(self, path, params=None, **_):
        if path == "/series":
            return {"series": [{"ticker": "KXBTCD", "fee_type": "quadratic", "fee_multiplier": 1}]}
        if path == "/series/fee_changes":
            return {"series_fee_change_arr": []}
        if path == "/events/fee_changes":
            start = int((params or {}).get("cursor") or 0)
            end = start + self.event_page
            return {"event_fee_changes": list(self.event_changes[start:end]),
                    "cursor": str(end) if end < len(self.event_changes) else ""}
        assert path == "/events"
        return {"events": [{"event_ticker": EV, "series_ticker": "KXBTCD", "title": "BTC", **self.event_fields,
                            "markets": [{"ticker": t, "event_ticker": EV, "status": "active"} for t in (T1, T2)]}],
                "cursor": ""}


SNAPSHOT = ('{"type":"orderbook_snapshot","sid":2,"seq":%d,"msg":{"market_ticker":"%s",'
            '"yes_dollars_fp":[["0.4000","10.00"]],"no_dollars_fp":[["0.5000","10.00"]]}}')


def test_event_fee_update_holds_the_events_books_while_the_modelled_fee_is_too_low():
    async def main():
        provider = KalshiInstrumentProvider(FakeHttp())
        fees = {m.market_id: m.fees for m in await provider.load()}
        assert fees == {T1: FeeSchedule(70_000, 0, 10_000, 0), T2: FeeSchedule(70_000, 0, 10_000, 0)}
        dc = KalshiDataClient("ws://127.0.0.1:9/unused", None, [T1, T2],
                              on_fee_update=provider.apply_fee_update, holds=provider.fee_holds)
        await dc.on_frame(SNAPSHOT % (1, T1), 0)
        await dc.on_frame(SNAPSHOT % (2, T2), 0)
        await dc.on_frame(FACTSHEET_FEE_UPDATE, 0)          # quadratic × 1: what the session models
        assert dc.native(T1).tradeable and dc.native(T2).tradeable and provider.fee_holds == {}
        # × 2: taker 0.14 = 140,000 ppm > the 70,000 the session's fees say: held
        await dc.on_frame(fee_frame("quadratic", "2"), 0)
        for t in (T1, T2):
            b = dc.native(t)
            assert not b.tradeable and EV in b.reason and "140000 ppm" in b.reason
            assert b.yes_bids == ((4000, 1000),)            # the levels stay; only trading stops
        await dc.on_frame('{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"%s",'
                          '"price_dollars":"0.4000","delta_fp":"1.00","side":"yes"}}' % T1, 0)
        assert not dc.native(T1).tradeable and dc.native(T1).yes_bids == ((4000, 1100),)
        # a later discovery prices the event with the override (new markets of it are right) …
        assert {m.market_id: m.fees.taker_rate_ppm for m in await provider.load()} == {T1: 140_000, T2: 140_000}
        assert not dc.native(T1).tradeable                  # … but the session's copy is the old one
        await dc.on_frame(fee_frame(None, "null"), 0)       # override cleared: the series' terms again
        assert dc.native(T1).tradeable and dc.native(T2).tradeable and provider.fee_holds == {}
        await dc.on_frame(fee_frame("quadratic", "0.5"), 0)  # cheaper than modelled: trading goes on
        assert dc.native(T1).tradeable
        await dc.on_frame(fee_frame("flat", "1"), 0)        # unknown amounts: held
        assert not dc.native(T1).tradeable and "'flat'" in dc.native(T1).reason
        await dc.on_frame(fee_frame("quadratic", '"x"'), 0)  # unreadable: held
        assert not dc.native(T2).tradeable and "fee_multiplier_override" in dc.native(T2).reason
        assert dc.malformed == 0
    run(main())


async def _streaming_fed_books(cfg):
    """A KalshiVenue streaming the Fed event's four books: (venue, latest book by ticker, the
    consuming task), once every book's snapshot is in and tradeable."""
    v = KalshiVenue(cfg)
    await v.discover_markets()
    latest = {}

    async def consume():
        async for u in v.stream_books(FED_TICKERS):
            latest[u.book.market.id] = u.book
    task = asyncio.create_task(consume())
    await wait_for(lambda: len(latest) == 4 and all(b.tradeable for b in latest.values()), what="snapshots")
    return v, latest, task


def test_event_fee_update_from_the_simulator_holds_streamed_and_polled_books(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v, latest, task = await _streaming_fed_books(cfg)
            assert v.data.lifecycle_sid is not None
            sim.push_event_fee_update(FED_EVENT, "quadratic", 3)       # 0.21 > 0.07
            await wait_for(lambda: all(not latest[t].tradeable for t in FED_TICKERS), what="held books")
            assert "210000 ppm" in latest[H0].reason
            polled = await v.fetch_book(H0)                             # the poll path holds it too
            assert not polled.tradeable and polled.reason == latest[H0].reason
            sim.push_event_fee_update(FED_EVENT, None, None)
            await wait_for(lambda: all(latest[t].tradeable for t in FED_TICKERS), what="released books")
            assert (await v.fetch_book(H0)).tradeable and v.data.errors == []
            task.cancel()
            await v.close()
    run(main())



class ChangingSeries(FakeHttp):
    """FakeHttp whose series terms (`multiplier`) and scheduled changes (`changes`) a test sets."""

    def __init__(self) -> None:
        self.multiplier, self.changes, self.reads = 1, [], []

    async def get(self, path, params=None, **kw):
        self.reads.append(path)
        if path == "/series":
            return {"series": [{"ticker": "KXBTCD", "fee_type": "quadratic", "fee_multiplier": self.multiplier}]}
        if path == "/series/fee_changes":
            return {"series_fee_change_arr": self.changes}
        return await super().get(path, params, **kw)


def test_every_discovery_reads_the_series_again_and_holds_the_markets_made_dearer():
    """Kalshi raises a series' multiplier under a running session. Before: the series were read
    once, so every later discovery (a listings refresh) still priced its markets, new ones too,
    at the old 70,000 ppm, and nothing was held. Now each discovery reads `GET /series`: markets
    it lists are priced at the new rate, the ones handed out before are held until the terms are
    back to their rate."""
    async def main():
        http = ChangingSeries()
        provider = KalshiInstrumentProvider(http)
        assert {m.fees.taker_rate_ppm for m in await provider.load()} == {70_000}
        http.multiplier = 2
        assert {m.fees.taker_rate_ppm for m in await provider.load()} == {140_000}
        assert http.reads.count("/series") == 2
        assert set(provider.fee_holds) == {T1, T2}
        assert provider.fee_holds[T1] == f"fee change on {EV}: taker rate 140000 ppm above the 70000 ppm it is priced with"
        http.multiplier = 1
        await provider.load()
        assert provider.fee_holds == {}
    run(main())


def test_a_scheduled_fee_change_holds_the_markets_from_its_time():
    """`GET /series/fee_changes` announces ×2 from 12:00:01. Before: never read, so the session
    priced at ×1 after that time. Now the change is known at discovery; until its time nothing
    changes, from it the markets handed out at ×1 are held (`fee_change_due`, which the venue's
    fee clock calls then); a discovery after it reads the series as the venue shows them."""
    async def main():
        now = [utc_ms("2026-12-01T12:00:00Z")]
        http = ChangingSeries()
        http.changes = [{"id": "fc", "series_ticker": "KXBTCD", "fee_type": "quadratic", "fee_multiplier": 2,
                         "scheduled_ts": "2026-12-01T12:00:01Z"},
                        {"id": "other", "series_ticker": "KXOTHER", "fee_type": "flat", "fee_multiplier": 1,
                         "scheduled_ts": "2026-12-01T11:00:00Z"},          # already in force: the series shows it
                        {"id": "bad", "series_ticker": "KXBTCD", "fee_multiplier": 3, "scheduled_ts": "soon"}]
        provider = KalshiInstrumentProvider(http, clock_ms=lambda: now[0])
        assert {m.fees.taker_rate_ppm for m in await provider.load()} == {70_000}
        assert provider.next_fee_change_ms() == now[0] + 1_000 and list(provider.scheduled) == ["KXBTCD"]
        now[0] += 999
        assert provider.fee_change_due() == [] and provider.fee_holds == {}
        now[0] += 1
        assert sorted(provider.fee_change_due()) == [T1, T2] and "140000 ppm" in provider.fee_holds[T1]
        assert provider.next_fee_change_ms() is None
        http.multiplier, http.changes = 2, []              # in force: the venue's series show it
        assert {m.fees.taker_rate_ppm for m in await provider.load()} == {140_000}
        assert sorted(provider.fee_holds) == [T1, T2]       # the session still prices them at ×1
    run(main())


def test_a_scheduled_change_from_the_simulator_holds_the_streamed_books_when_it_comes_due(rsa_keys):
    """End to end: the simulator announces ×3 for the Fed series 1.5 s ahead; the venue's fee
    clock holds the streamed books at that moment (no discovery in between)."""
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            at = sim.clock_ms() + 1_500
            sim.fee_changes = [{"id": "fc", "series_ticker": "KXFEDDECISION", "fee_type": "quadratic",
                                "fee_multiplier": 3, "scheduled_ts": iso_ms(at)}]
            v, latest, task = await _streaming_fed_books(cfg)
            await wait_for(lambda: all(not latest[t].tradeable for t in FED_TICKERS), timeout=10, what="held books")
            assert sim.clock_ms() >= at and "210000 ppm" in latest[H0].reason
            assert not (await v.fetch_book(H0)).tradeable                # the poll path holds it too
            task.cancel()
            await v.close()
    run(main())


# ---- 4. use_yes_price, stated explicitly --------------------------------------------------------

@pytest.mark.parametrize("use_yes", [False, True])
def test_subscribe_states_use_yes_price(use_yes):
    async def main():
        sent = []
        dc = KalshiDataClient("ws://127.0.0.1:9/unused", None, [H0], use_yes_price=use_yes)

        async def send(obj):
            sent.append(obj)
        dc.ws.send = send
        await dc._subscribe()
        assert sent == [{"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"],
                                                                 "market_tickers": [H0], "use_yes_price": use_yes}}]
        sent.clear()
        dc2 = KalshiDataClient("ws://127.0.0.1:9/unused", None, [H0], use_yes_price=use_yes,
                               on_fee_update=lambda u: [])
        dc2.ws.send = send
        await dc2._subscribe()
        assert sent[1] == {"id": 2, "cmd": "subscribe", "params": {"channels": ["market_lifecycle_v2"]}}
    run(main())


@pytest.mark.parametrize("use_yes, no_price", [(False, "0.4600"), (True, "0.5400")])
def test_both_no_price_conventions_give_the_same_book(use_yes, no_price):
    """A NO bid at 46¢ is sent as 0.46 (NO-leg price) or 0.54 (YES-leg price): the same book."""
    async def main():
        dc = KalshiDataClient("ws://127.0.0.1:9/unused", None, [H0], use_yes_price=use_yes)
        await dc.on_frame('{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"%s",'
                          '"no_dollars_fp":[["%s","10.00"]]}}' % (H0, no_price), 0)
        await dc.on_frame('{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"%s",'
                          '"price_dollars":"%s","delta_fp":"-4.00","side":"no"}}' % (H0, no_price), 0)
        assert dc.native(H0).no_bids == ((4600, 600),)       # 10.00 − 4.00 contracts = 600 lots
    run(main())


def test_yes_price_stream_matches_the_simulators_book(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, [H0], use_yes_price=True)
            dc.start()
            m = sim.exchange.markets[H0]
            want = lambda: tuple(sorted(m.levels("no").items(), reverse=True))     # noqa: E731
            await wait_for(lambda: dc.books[H0].tradeable and dc.native(H0).no_bids == want(), what="snapshot")
            assert dc.native(H0).no_bids[0] == (4600, 10_000)    # NO bid 46¢ (fair 52¢, spread 2¢)
            for _ in range(8):
                sim.process.step()
                await asyncio.sleep(0)
            await wait_for(lambda: dc.native(H0).no_bids == want(), what="deltas")
            await dc.close()
            await v.close()
    run(main())


# ---- 5. market_position: both shapes ------------------------------------------------------------

# venues-factsheet.md §1.8 (current shape: fixed-point counts, dollars)
FACTSHEET_POSITION = ('{"type": "market_position", "sid": 14, "msg": {"user_id": "user123", "market_ticker": '
                      '"FED-23DEC-T3.00", "position_fp": "100.00", "position_cost_dollars": "50.0000", '
                      '"realized_pnl_dollars": "10.0000", "fees_paid_dollars": "1.0000", '
                      '"position_fee_cost_dollars": "0.5000", "volume_fp": "15.00"}}')


def test_market_position_current_shape():
    async def main():
        u = KalshiUserClient("ws://127.0.0.1:9/unused", None)
        await u.on_frame(FACTSHEET_POSITION)
        # 100.00 contracts = 10,000 lots; $1.0000 = 1,000,000 µ$
        assert u.positions == {"FED-23DEC-T3.00": Position(Venue.KALSHI, "FED-23DEC-T3.00", 10_000, 1_000_000)}
        assert u.malformed == 0
    run(main())
    # −2.50 contracts = −250 lots (NO); $0.012345 = 12,345 µ$
    p = parse_market_position({"market_ticker": "M", "position_fp": "-2.50", "fees_paid_dollars": "0.012345"})
    assert (p.yes_lots, p.fees_paid_micros) == (-250, 12_345)
    # legacy: fees_paid in centi-cents (1/10,000 $): 123 → 12,300 µ$
    p = parse_market_position({"market_ticker": "M", "position": -3, "fees_paid": 123})
    assert (p.yes_lots, p.fees_paid_micros) == (-300, 12_300)
    for bad in ({"market_ticker": "M", "position_fp": "1.00"},                       # no fees at all
                {"market_ticker": "M", "position_fp": "1.00", "fees_paid_dollars": "x"},
                {"market_ticker": "M", "position_fp": "1.00", "fees_paid": 1.5}):
        with pytest.raises(ProtocolError):
            parse_market_position(bad)


def test_a_malformed_event_or_market_is_skipped_not_fatal():
    class Http(FakeHttp):
        async def get(self, path, params=None, **_):
            body = await super().get(path, params)
            if path == "/events":
                body["events"] += [{"event_ticker": "NOSERIES", "markets": []}, "junk"]
                body["events"][0]["markets"] += [{"event_ticker": EV}, ["junk"]]    # no ticker; not an object
            return body

    async def main():
        with capture_logs() as events:
            markets = await KalshiInstrumentProvider(Http()).load()
        assert sorted(m.market_id for m in markets) == [T1, T2]
        warned = [e for e in events if e["event"] == "kalshi.markets_untradeable"]
        assert warned[0]["count"] == 4 and warned[0]["reasons"]["event without event_ticker or series_ticker"] == 2
    run(main())


# ---- 6. price_level_structure_updated: orders on the market's new grid --------------------------

def structure_frame(ticker: str, structure: str) -> str:
    """The factsheet's `market_lifecycle_v2` example for `ticker`."""
    return ('{"type": "market_lifecycle_v2", "sid": 13, "seq": 4, "msg": {"market_ticker": "%s", '
            '"event_type": "price_level_structure_updated", "price_level_structure": "%s", '
            '"price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}]}}' % (ticker, structure))


def test_price_level_structure_updated_moves_the_markets_grid():
    """A linear_cent market (1¢) becomes deci_cent (0.1¢), then tapered, then a structure not known:
    the adapter's rules (`market_info`, what the executor prices orders on) follow; one not known
    is the coarsest grid (1¢), on which a price is on every grid. Another market is untouched."""
    from arbbot.model import TAPERED, UNIFORM, on_grid
    from arbbot.venues.kalshi.schemas.ws import PriceLevelStructureUpdate

    assert parse_message(structure_frame(T1, "deci_cent")) == PriceLevelStructureUpdate(13, 4, T1, "deci_cent")

    async def main():
        provider = KalshiInstrumentProvider(FakeHttp())
        await provider.load()
        dc = KalshiDataClient("ws://127.0.0.1:9/unused", None, [T1, T2], on_fee_update=provider.apply_fee_update,
                              holds=provider.fee_holds, on_price_structure=provider.apply_price_structure)
        grids = [(provider.markets[T1].tick_ticks, provider.markets[T1].price_grid)]
        for structure in ("deci_cent", "tapered_deci_cent", "quarter_cent"):
            await dc.on_frame(structure_frame(T1, structure), 0)
            grids.append((provider.markets[T1].tick_ticks, provider.markets[T1].price_grid))
        await dc.on_frame(structure_frame("NOT-LISTED", "deci_cent"), 0)      # not ours: nothing
        return grids, provider.markets[T2], provider.markets
    grids, other, markets = run(main())
    assert grids == [(100, UNIFORM), (10, UNIFORM), (10, TAPERED), (100, UNIFORM)]
    assert (other.tick_ticks, other.price_grid) == (100, UNIFORM) and "NOT-LISTED" not in markets
    assert on_grid(markets[T1], 4500) and not on_grid(markets[T1], 4510)


def test_the_venue_reports_its_current_rules():
    v = KalshiVenue.__new__(KalshiVenue)          # only the rules lookup
    v.provider = KalshiInstrumentProvider(FakeHttp())
    run(v.provider.load())
    v.provider.apply_price_structure(parse_message(structure_frame(T2, "deci_cent")))
    assert v.market_info(T2).tick_ticks == 10 and v.market_info(T1).tick_ticks == 100
    assert v.market_info("NOT-LISTED") is None


def test_a_day_order_is_refused_not_sent_as_good_till_canceled():
    from arbbot.venues.common import OrderRejected, OrderRequest, Side, TimeInForce
    from arbbot.venues.kalshi.execution import order_body

    assert order_body(OrderRequest(T1, Side.YES, 4500, 100, tif=TimeInForce.GTC))["time_in_force"] == "good_till_canceled"
    with pytest.raises(OrderRejected, match="time in force day is not supported"):
        order_body(OrderRequest(T1, Side.YES, 4500, 100, tif=TimeInForce.DAY))


def test_the_simulator_charges_the_terms_in_force_scheduled_changes_and_event_overrides(rsa_keys):
    """What the simulated exchange charges follows the venue's terms: the listing's series terms,
    then a scheduled change once it is due (`GET /series/fee_changes`), then an event override
    (`event_fee_update`), which it charges whether or not a client heard it. Each order buys 10
    contracts of YES on H0 at its ask; fee = ceil(rate × Σ q p (1 − p) / $0.01) × $0.01."""
    from arbbot.venues.common.model import OrderRequest, Side, TimeInForce

    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            await v.discover_markets()
            charged = []
            for step in ("listing", "scheduled", "override", "cleared"):
                if step == "scheduled":
                    sim.fee_changes = [{"id": "fc-1", "series_ticker": "KXFEDDECISION", "fee_type": "quadratic",
                                        "fee_multiplier": 2, "scheduled_ts": iso_ms(sim.clock_ms() - 1_000)}]
                elif step == "override":
                    sim.event_fee_override(FED_EVENT, "quadratic_with_maker_fees", 3)
                elif step == "cleared":
                    sim.event_fee_override(FED_EVENT, None, None)
                book = await v.fetch_book(H0)
                ask = 10_000 - book.no_bids[0][0]
                o = await v.place_order(OrderRequest(H0, Side.YES, ask, 1_000, tif=TimeInForce.IOC,
                                                     client_order_id=f"fee-{step}"))
                fills = [(f.price_ticks, f.qty_lots) for f in await v.fills(order_id=o.order_id)]
                assert sum(q for _p, q in fills) == o.filled_lots > 0
                charged.append((o.fees_micros, fills))
            await v.close()
            rates = (70_000, 140_000, 210_000, 140_000)     # listing ×1, scheduled ×2, override ×3, back to ×2
            assert [fee for fee, _ in charged] == [order_fee(FeeSchedule(taker_rate_ppm=r, rounding=10_000), f)
                                                   for r, (_, f) in zip(rates, charged)]
    run(main())
