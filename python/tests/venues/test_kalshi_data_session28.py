"""Kalshi market data, session 28 fixes.

1. A market paused while the connection was down (its `deactivated` frame lost), and not held
   before, stayed tradeable after the reconnect: only markets already held had their Market.status
   read again. Now every streamed market's status is read (GET /markets?tickers=…, 100 a request)
   once the lifecycle channel is subscribed again, and one not `active` is held.
2. A half-open connection (nothing arrives, no close) kept its books live for about 30 s: the
   `websockets` keepalive pinged every 10 s and waited 20 s for the Pong (+ 2 s closing). Now a
   silent connection is dropped, its books marked down, within 2.5 × the venue's 10 s ping interval.
3. One bad book frame resynced every book. Now a book frame that does not parse, carrying its
   sid's next seq and naming its market, resyncs that market only (and counts in the sequence), as
   does a negative level; a seq gap resyncs the books of its sid (the lost frame may be about any
   of them: Kalshi's `seq` is per sid, and all books are on one sid), anything unattributable all.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time

from arbbot.venues.common.backoff import Backoff
from arbbot.venues.common.wsclient import CLOSE_TIMEOUT_S
from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
from arbbot.venues.kalshi.data import KalshiDataClient
from arbbot.venues.kalshi.websocket import client as ws_client
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import kalshi_env
from tests.venues.test_fallback import Consumer
from tests.venues.test_feed_audit_fixes import SUBSCRIBED, kalshi_frame
from tests.venues.test_kalshi_data_review_fixes import Ws, latest_books, subscribed

KALSHI_PING_INTERVAL_S = 10.0       # AsyncAPI control_frames: "Kalshi sends Ping frames every 10 seconds"
LEVELS = {"yes_dollars_fp": [["0.4000", "100.00"]], "no_dollars_fp": [["0.5500", "20.00"]]}


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def snapshots(tickers: list[str], sid: int = 2, first_seq: int = 1) -> list[str]:
    return [json.dumps({"type": "orderbook_snapshot", "sid": sid, "seq": seq,
                        "msg": {"market_ticker": t, "market_id": "u", **LEVELS}})
            for seq, t in enumerate(tickers, first_seq)]


def yes_delta(seq: int, ticker: str, price: str = "0.4000", lots: str = "1.00") -> str:
    return kalshi_frame("orderbook_delta", seq, ticker, price_dollars=price, delta_fp=lots, side="yes")


def snapshot_asks(ws: Ws) -> list[list[str]]:
    return [m["params"]["market_tickers"] for m in ws.commands("get_snapshot")]


# ---- 1. every streamed market's status read after a reconnect ------------------------------------

def test_a_market_paused_during_the_outage_is_held_after_the_reconnect():
    """A, B, C stream, none held. The first lifecycle subscription reads nothing (discovery just
    listed them). After a reconnect the lifecycle resubscription reads all three in one call: B
    `inactive` and C `closed` (paused / closed while no frame could say so) are held and published
    untradeable, A `active` stays tradeable."""
    async def main():
        asked: list[list[str]] = []

        async def market_status(tickers):
            asked.append(list(tickers))
            return {"A": "active", "B": "inactive", "C": "closed"}

        c = KalshiDataClient("ws://unused", None, ["A", "B", "C"], on_fee_update=lambda m: [],
                             market_status=market_status)
        c.ws = Ws()
        await c._subscribe()
        await c.on_frame(SUBSCRIBED, 0)
        await c.on_frame(subscribed(2, "market_lifecycle_v2", 7), 0)
        for frame in snapshots(c.tickers):
            await c.on_frame(frame, 0)
        await asyncio.sleep(0.05)
        assert asked == [] and all(c.native(t).tradeable for t in "ABC")
        await c._on_disconnect()
        await c._subscribe()                                  # reconnect: books, then lifecycle
        await c.on_frame(subscribed(c.ws.sent[-2]["id"], "orderbook_delta", 3), 0)
        for frame in snapshots(c.tickers, sid=3):
            await c.on_frame(frame, 0)
        latest_books(c.feed)
        await c.on_frame(subscribed(c.ws.sent[-1]["id"], "market_lifecycle_v2", 8), 0)
        await wait_for(lambda: c.hold_rereads == 1, timeout=10, what="the REST read")
        assert asked == [["A", "B", "C"]]
        assert c.market_holds == {"B": "kalshi: B not trading (Market.status inactive after a reconnect)",
                                  "C": "kalshi: C not trading (Market.status closed after a reconnect)"}
        published = latest_books(c.feed)
        assert [published[t].tradeable for t in "BC"] == [False, False]
        assert [c.native(t).tradeable for t in "ABC"] == [True, False, False]
        assert c.native("B").reason == c.market_holds["B"]
        await c.on_frame(json.dumps({"type": "market_lifecycle_v2", "sid": 8, "seq": 1, "msg": {
            "market_ticker": "B", "event_type": "activated", "is_deactivated": False}}), 0)
        assert c.native("B").tradeable and "B" not in c.market_holds   # `activated` releases it
        await c.close()
    run(main())


def test_market_statuses_asks_at_most_100_tickers_a_request():
    """The read behind it (`KalshiVenue.market_statuses`): 250 tickers → 3 GET /markets requests
    of 100, 100 and 50 tickers, each through the read bucket (`http.get`)."""
    async def main():
        v = KalshiVenue(KalshiConfig(rest_url="http://127.0.0.1:9/trade-api/v2", ws_url="ws://127.0.0.1:9/unused"))
        asks: list[list[str]] = []

        async def get(path, params, auth=False):
            tickers = params["tickers"].split(",")
            asks.append(tickers)
            return {"markets": [{"ticker": t, "status": "active"} for t in tickers], "cursor": ""}
        v.http.get = get
        ids = [f"T{i}" for i in range(250)]
        assert await v.market_statuses(ids) == dict.fromkeys(ids, "active")
        assert [len(a) for a in asks] == [100, 100, 50] and sum(asks, []) == ids
        await v.close()
    run(main())


def test_end_to_end_a_market_paused_silently_is_held_after_the_reconnect(rsa_keys):
    """Against the simulator: a market paused while its frame is lost (the simulator's pause set
    without a frame), the connection dropped and made again: the status read after the lifecycle
    resubscription holds it (its orders would be refused), the others stay tradeable."""
    async def main():
        async with kalshi_env(rsa_keys, exchange_status_s=3_600, reconnect_base_s=0.05,
                              reconnect_cap_s=0.2) as (sim, cfg):
            v = KalshiVenue(cfg)
            tickers = [m.market_id for m in await v.discover_markets()]
            c = Consumer(v.stream_books(tickers))
            await wait_for(lambda: all(t in c.latest and c.latest[t].tradeable for t in tickers), what="books")
            paused = tickers[1]
            sim.paused_markets.add(paused)                   # deactivated: the frame is lost
            connects = v.data.ws.connects
            for conn in list(sim.connections):
                await conn.ws.close()
            await wait_for(lambda: v.data.ws.connects > connects, what="the reconnect")
            await wait_for(lambda: v.data.hold_rereads == 1, what="the REST read")
            await wait_for(lambda: not c.latest[paused].tradeable, what="the paused market held")
            assert v.data.market_holds == {
                paused: f"kalshi: {paused} not trading (Market.status inactive after a reconnect)"}
            await wait_for(lambda: all(c.latest[t].tradeable for t in tickers if t != paused), what="the others")
            c.task.cancel()
            await v.close()
    run(main())


# ---- 2. a half-open connection ---------------------------------------------------------------------

def test_keepalive_drops_a_silent_connection_within_2_5_venue_ping_intervals(monkeypatch):
    """The settings the connection is opened with: nothing received for ping_interval +
    ping_timeout fails it, and close_timeout later the TCP is dropped and the books marked down.
    That sum is at most 2.5 × Kalshi's 10 s ping interval (before: 10 + 20 + 2 = 32 s)."""
    seen: dict = {}

    def connect(url, **kw):
        seen.update(kw)
        raise OSError("no network")

    monkeypatch.setattr(ws_client.websockets, "connect", connect)

    async def main():
        ws = ws_client.KalshiWebSocket("ws://127.0.0.1:9/unused", None, on_frame=None, on_connect=None,
                                       backoff=Backoff(base=0.01, cap=0.01))
        ws.start()
        await wait_for(lambda: seen, timeout=10, what="a connect")
        await ws.close()
    run(main())
    bound_s = seen["ping_interval"] + seen["ping_timeout"] + seen["close_timeout"]
    assert (seen["ping_interval"], seen["ping_timeout"], seen["close_timeout"]) == (5.0, 15.0, CLOSE_TIMEOUT_S)
    assert 2 * KALSHI_PING_INTERVAL_S <= bound_s == 22.0 <= 2.5 * KALSHI_PING_INTERVAL_S


def test_a_half_open_connection_is_dropped_its_books_marked_down_and_reconnected(rsa_keys, caplog):
    """The simulator's connection goes half-open (nothing delivered either way, no close). With the
    keepalive scaled down (ping every 0.2 s, Pong awaited 0.5 s) the client fails the connection on
    its unanswered Ping — the simulator never closed it — marks every book down at once, reconnects
    and streams again. Its bound: 0.2 + 0.5 + CLOSE_TIMEOUT_S = 2.7 s (the wait allows 15 s of load;
    before the fix the connection lived 30 s and the wait ran out)."""
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            tickers = [m.market_id for m in await v.discover_markets()]
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, tickers, backoff=Backoff(base=0.05, cap=0.1))
            dc.ws.ping_interval_s, dc.ws.ping_timeout_s = 0.2, 0.5
            dc.start()
            await wait_for(lambda: all(dc.native(t).tradeable for t in tickers), what="books")
            (stalled,) = sim.connections
            sim.stall_connections()
            stalled_at = time.monotonic()
            await wait_for(lambda: not any(dc.native(t).tradeable for t in tickers), timeout=15, what="books down")
            down_after_s = time.monotonic() - stalled_at
            assert not stalled.ws.closed and stalled in sim.connections    # the venue never closed it
            assert {dc.native(t).reason for t in tickers} == {"disconnected"}
            assert down_after_s < 15
            await wait_for(lambda: dc.ws.connects == 2 and all(dc.native(t).tradeable for t in tickers),
                           timeout=15, what="streaming again")
            assert any("keepalive ping timeout" in r.getMessage() for r in caplog.records
                       if r.name == "arbbot.venues.kalshi.ws")
            await dc.close()
            await v.close()
    caplog.set_level(logging.WARNING, logger="arbbot.venues.kalshi.ws")
    run(main())


# ---- 3. one bad frame resyncs what it concerns -------------------------------------------------------

async def _streaming(tickers: list[str]) -> KalshiDataClient:
    """A client subscribed (sid 2) with every book snapshotted (seq 1…n)."""
    c = KalshiDataClient("ws://unused", None, tickers)
    c.ws = Ws()
    await c.on_frame(SUBSCRIBED, 0)
    for frame in snapshots(tickers):
        await c.on_frame(frame, 0)
    assert all(c.native(t).tradeable for t in tickers)
    return c


def test_a_book_frame_that_does_not_parse_resyncs_its_market_only():
    """B's delta (seq 4) has a price that is no price: only B is distrusted and asked again; the
    frame counts in sid 2's sequence, so A's delta seq 5 is no gap and applies."""
    async def main():
        c = await _streaming(["A", "B", "C"])
        await c.on_frame(yes_delta(4, "B", price="forty"), 0)
        await c.on_frame(yes_delta(5, "A", lots="5.00"), 0)
        assert snapshot_asks(c.ws) == [["B"]] and (c.malformed, c.gaps) == (1, 0)
        assert [c.native(t).tradeable for t in "ABC"] == [True, False, True]
        assert c.native("B").reason == "malformed frame" and c.native("A").yes_bids == ((4000, 10_500),)
        await c.close()
    run(main())


def test_a_negative_level_resyncs_its_market_only():
    """A delta taking more than B's level holds (our copy of B is wrong): B alone is asked again."""
    async def main():
        c = await _streaming(["A", "B", "C"])
        await c.on_frame(yes_delta(4, "B", lots="-101.00"), 0)
        assert snapshot_asks(c.ws) == [["B"]]
        assert [c.native(t).tradeable for t in "ABC"] == [True, False, True]
        assert c.native("B").reason == "negative size at yes 4000"
        await c.close()
    run(main())


def test_unattributable_frames_and_seq_gaps_resync_every_book_of_the_subscription():
    """A frame that is not JSON names nothing: every book is asked again. A seq gap on sid 2 (the
    one book subscription: all markets) resyncs all its books: the lost frame may have been about
    any of them. A book frame that does not parse and is numbered past the next (a gap, or a
    corrupt number) resyncs all too, without moving the sequence: the snapshots that follow,
    numbered on from the last good frame, still apply (not dropped as late)."""
    async def main():
        c = await _streaming(["A", "B", "C"])
        await c.on_frame('{"type":"orderbook_delta","sid":', 0)
        assert snapshot_asks(c.ws) == [["A", "B", "C"]] and not any(c.native(t).tradeable for t in "ABC")
        for frame in snapshots(["A", "B", "C"], first_seq=4):
            await c.on_frame(frame, 0)
        await c.on_frame(yes_delta(9, "A"), 0)
        assert snapshot_asks(c.ws)[1:] == [["A", "B", "C"]] and c.gaps == 1
        for frame in snapshots(["A", "B", "C"], first_seq=10):
            await c.on_frame(frame, 0)
        await c.on_frame(yes_delta(10**9, "B", price="forty"), 0)
        assert snapshot_asks(c.ws)[2:] == [["A", "B", "C"]] and (c.gaps, c.malformed) == (1, 2)
        assert not any(c.native(t).tradeable for t in "ABC")
        for frame in snapshots(["A", "B", "C"], first_seq=13):
            await c.on_frame(frame, 0)
        assert all(c.native(t).tradeable for t in "ABC") and c.seq.expected(2) == 16
        await c.close()
    run(main())


def test_a_late_duplicate_that_does_not_parse_is_dropped():
    """A book frame that does not parse, numbered at or below the last of its sid: a late copy of
    a frame already applied, dropped (no resync)."""
    async def main():
        c = await _streaming(["A", "B"])
        await c.on_frame(yes_delta(2, "B", price="forty"), 0)
        assert snapshot_asks(c.ws) == [] and all(c.native(t).tradeable for t in "AB") and c.malformed == 1
        await c.close()
    run(main())
