"""Kalshi adapter against the Kalshi simulator over real loopback sockets."""
from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from arbbot.sim.scenarios import Faults
from arbbot.venues.common.errors import OutcomeUnknown
from arbbot.snapshot import dump_snapshot
from arbbot.venues.common import (
    AuthError, OrderRejected, OrderRequest, OrderStatus, RateLimited, Side, TimeInForce,
)
from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
from arbbot.venues.kalshi.common.signing import KalshiSigner
from arbbot.venues.kalshi.data import KalshiDataClient
from tests.wire_fixtures import ws_frames
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import KEY_ID, kalshi_env

H0 = "KXFEDDECISION-26DEC-H0"
TICKERS = ["KXFEDDECISION-26DEC-H0", "KXFEDDECISION-26DEC-C25", "KXFEDDECISION-26DEC-C50",
           "KXFEDDECISION-26DEC-H25"]


def sim_book(sim, ticker):
    m = sim.exchange.markets[ticker]
    srt = lambda d: tuple(sorted(d.items(), key=lambda x: -x[0]))  # noqa: E731
    return srt(m.levels("yes")), srt(m.levels("no"))


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_discovery_and_fees(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            markets = {m.market_id: m for m in await v.discover_markets()}
            assert sorted(markets) == sorted(TICKERS)
            m = markets[H0]
            assert m.fees.taker_rate_ppm == 70_000 and m.fees.maker_rate_ppm == 0 and m.fees.rounding == 10_000
            assert m.lot_lots == 100 and m.tick_ticks == 100 and m.event_id == "KXFEDDECISION-26DEC"
            events = await v.discover_events()
            assert events[0].market_ids == tuple(TICKERS) and events[0].mutually_exclusive
            await v.close()
    run(main())


def test_discovery_reads_every_series_in_one_request(rsa_keys):
    """One `GET /series` instead of a read per series (10 s for 200 series at the basic tier),
    and the scheduled fee changes; a venue that cannot list them is read series by series, with
    the same fees."""
    from arbbot.venues.common.errors import NotFound

    async def discover(cfg, refuse_list: bool):
        v = KalshiVenue(cfg)
        paths, inner = [], v.http.get

        async def get(path, *a, **k):
            paths.append(path)
            if refuse_list and path == "/series":
                raise NotFound("kalshi: 404 /series", venue="kalshi")
            return await inner(path, *a, **k)
        v.http.get = get
        markets = {m.market_id: m.fees for m in await v.discover_markets()}
        await v.close()
        return markets, [p for p in paths if p.startswith("/series")]

    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            listed, reads = await discover(cfg, False)
            assert reads == ["/series", "/series/fee_changes"] and sorted(listed) == sorted(TICKERS)
            one_by_one, reads = await discover(cfg, True)
            assert reads == ["/series", "/series/fee_changes", "/series/KXFEDDECISION"] and one_by_one == listed
            assert listed[H0].taker_rate_ppm == 70_000
    run(main())


def test_fetch_book_exact(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            b = await v.fetch_book(H0)
            # fair 52¢, half-spread 2¢, three levels of 100/200/300 contracts
            assert b.yes_bids == ((5000, 10_000), (4900, 20_000), (4800, 30_000))
            assert b.no_bids == ((4600, 10_000), (4500, 20_000), (4400, 30_000))
            assert (b.yes_bids, b.no_bids) == sim_book(sim, H0)
            await v.close()
    run(main())


def test_fetch_books_reads_many_books_in_one_request_each_as_fetch_book_does(rsa_keys, monkeypatch):
    """`GET /markets/orderbooks` (authenticated, 1–100 tickers a request): the same books as
    one `fetch_book` each, in ⌈n / per request⌉ requests; unknown tickers are left out; a feed
    with it re-snapshots several books in one read."""
    import arbbot.venues.kalshi.venue as kalshi_venue
    from arbbot.venues.common.feed import BookFeed
    monkeypatch.setattr(kalshi_venue, "ORDERBOOKS_PER_REQUEST", 3)

    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            one_by_one = {t: await v.fetch_book(t) for t in TICKERS}
            before = sim.requests
            many = await v.fetch_books(TICKERS + ["KXNOSUCH-1"])
            assert many == one_by_one and sim.requests - before == 2          # 5 tickers, 3 a request
            async with httpx.AsyncClient() as http:                           # the venue refuses it unsigned
                assert (await http.get(sim.base_url + "/markets/orderbooks", params={"tickers": H0})).status_code == 401
            feed = BookFeed("kalshi", TICKERS, v.fetch_book, 100.0, fetch_many=v.fetch_books, batch=3)
            feed.start()
            before = sim.requests
            feed.resnapshot(TICKERS)
            await wait_for(lambda: feed.resnapshots == 4, what="re-snapshots")
            got = {}
            while not feed.queue.empty():
                u = feed.queue.get_nowait()
                got[u.book.market.id] = u.book
            await feed.close()
            await v.close()
            return got, one_by_one, sim.requests - before
    got, one_by_one, requests = run(main())
    assert got == one_by_one and requests == 2                                # 3 in one read, then 1


def test_order_lifecycle_fees_balance_positions(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            start = (await v.balance()).cash_micros
            assert start == 10_000_000_000
            # IOC buy 10 YES at 54¢ crosses the 46¢ NO bid (YES ask = 54¢): filled at 54¢
            o = await v.place_order(OrderRequest(H0, Side.YES, 5400, 1000, tif=TimeInForce.IOC,
                                                 client_order_id="c1"))
            assert o.status is OrderStatus.FILLED and o.filled_lots == 1000 and o.remaining_lots == 0
            # fee = ceil_to_cent(0.07 × 10 × 0.54 × 0.46) = ceil(0.17388) = $0.18
            assert o.fees_micros == 180_000 and o.cost_micros == 5_400_000
            bal = await v.balance()
            assert bal.cash_micros == start - 5_400_000 - 180_000
            pos = {p.market_id: p for p in await v.positions()}
            assert pos[H0].yes_lots == 1000 and pos[H0].fees_paid_micros == 180_000
            fills = [f for f in await v.fills() if f.order_id == o.order_id]
            assert [(f.price_ticks, f.qty_lots, f.fee_micros, f.is_taker) for f in fills] == [(5400, 1000, 180_000, True)]
            # book lost 10 contracts at NO 46¢
            b = await v.fetch_book(H0)
            assert b.no_bids[0] == (4600, 9_000)
            # GTC that rests, then cancel; while it rests the available balance is less its $2.00
            r = await v.place_order(OrderRequest(H0, Side.NO, 4000, 500, client_order_id="c2"))
            assert r.status is OrderStatus.RESTING and r.remaining_lots == 500
            assert (4000, 500) in (await v.fetch_book(H0)).no_bids
            assert (await v.balance()).cash_micros == bal.cash_micros - 2_000_000
            c = await v.cancel_order(r.order_id)
            assert c.status is OrderStatus.CANCELED and c.remaining_lots == 0
            assert (await v.balance()).cash_micros == bal.cash_micros
            assert (4000, 500) not in (await v.fetch_book(H0)).no_bids
            # partial fill: buy 150 YES at 54¢ IOC against 90 resting → 90 filled, rest canceled
            p = await v.place_order(OrderRequest(H0, Side.YES, 5400, 15_000, tif=TimeInForce.IOC))
            assert p.filled_lots == 9_000 and p.status is OrderStatus.CANCELED
            # FOK that cannot fill entirely fills nothing
            f = await v.place_order(OrderRequest(H0, Side.YES, 5500, 10**6, tif=TimeInForce.FOK))
            assert f.filled_lots == 0 and f.status is OrderStatus.CANCELED
            # duplicate client_order_id is refused (idempotency): the order is already there, so the
            # adapter reports "outcome unknown, look it up", never a plain reject
            with pytest.raises(OutcomeUnknown, match="order_already_exists"):
                await v.place_order(OrderRequest(H0, Side.YES, 100, 100, client_order_id="c1"))
            # off-grid price is refused
            with pytest.raises(OrderRejected):
                await v.place_order(OrderRequest(H0, Side.YES, 4550, 100))
            # netting: buying NO against a YES position releases $1 per pair
            before = (await v.balance()).cash_micros
            n = await v.place_order(OrderRequest(H0, Side.NO, 5100, 1000, tif=TimeInForce.IOC))
            assert n.filled_lots == 1000
            pos = {p.market_id: p for p in await v.positions()}
            assert pos[H0].yes_lots == 1000 + 9_000 - 1000
            assert (await v.balance()).cash_micros == before - n.cost_micros - n.fees_micros + 10_000_000
            await v.close()
    run(main())


def test_auth_refusals_and_no_secret_in_logs(rsa_keys, other_rsa_keys, caplog):
    caplog.set_level(logging.DEBUG)

    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            url = sim.base_url + "/portfolio/balance"
            good = KalshiSigner(KEY_ID, rsa_keys[0])
            async with httpx.AsyncClient() as c:
                r = await c.get(url, headers=good.headers("GET", "/trade-api/v2/portfolio/balance"))
                assert r.status_code == 200
                wrong = KalshiSigner(KEY_ID, other_rsa_keys[0])
                r = await c.get(url, headers=wrong.headers("GET", "/trade-api/v2/portfolio/balance"))
                assert r.status_code == 401 and r.json()["code"] == "incorrect_api_key_signature"
                stale = KalshiSigner(KEY_ID, rsa_keys[0], clock=lambda: time.time() - 3600)
                r = await c.get(url, headers=stale.headers("GET", "/trade-api/v2/portfolio/balance"))
                assert r.status_code == 401 and r.json()["code"] == "invalid_timestamp"
                tampered = good.headers("GET", "/trade-api/v2/portfolio/positions")
                r = await c.get(url, headers=tampered)
                assert r.status_code == 401 and r.json()["code"] == "incorrect_api_key_signature"
                # query string is not signed: same signature valid with ?limit=5
                r = await c.get(url + "?limit=5", headers=good.headers("GET", "/trade-api/v2/portfolio/balance"))
                assert r.status_code == 200
                r = await c.get(url)
                assert r.status_code == 401 and set(r.json()) == {"code", "message", "details", "service"}
            # adapter with the wrong key → AuthError; WS handshake refused
            bad = KalshiVenue(KalshiConfig(rest_url=cfg.rest_url, ws_url=cfg.ws_url, key_id=KEY_ID,
                                           private_key_pem=other_rsa_keys[0]))
            with pytest.raises(AuthError):
                await bad.balance()
            dc = KalshiDataClient(cfg.ws_url, bad.http.signer, [H0])
            dc.start()
            await wait_for(lambda: dc.ws.backoff.attempt >= 1, what="refused ws handshake")
            assert dc.ws.connects == 0
            await dc.close()
            await bad.close()
            assert "PRIVATE KEY" not in repr(cfg) and "PRIVATE KEY" not in repr(bad.http.signer)
    run(main())
    text = caplog.text
    for secret in (rsa_keys[0].decode(), other_rsa_keys[0].decode()):
        body = "".join(secret.splitlines()[1:-1])
        assert body[:40] not in text and "PRIVATE KEY" not in text
    assert "KALSHI-ACCESS-SIGNATURE" not in text


def _check_books(sim, dc, tickers):
    return all(dc.books[t].tradeable and (dc.books[t].native().yes_bids, dc.books[t].native().no_bids)
               == sim_book(sim, t) for t in tickers)


def _stream_case(rsa_keys, faults, steps=12, expect=None):
    async def main():
        async with kalshi_env(rsa_keys, faults=faults) as (sim, cfg):
            v = KalshiVenue(cfg)
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, TICKERS)
            dc.start()
            await wait_for(lambda: _check_books(sim, dc, TICKERS), what="initial snapshots")
            for _ in range(steps):
                sim.process.step()
                await asyncio.sleep(0)
            await wait_for(lambda: _check_books(sim, dc, TICKERS), timeout=20, what="books converge")
            if expect:
                expect(dc)
            await dc.close()
            await v.close()
    run(main())


def test_stream_snapshot_and_deltas(rsa_keys):
    _stream_case(rsa_keys, Faults(), expect=lambda dc: (dc.gaps == 0 and dc.malformed == 0) or pytest.fail("faults"))


def test_stream_seq_gap_detected_and_resynced(rsa_keys):
    def expect(dc):
        assert dc.gaps >= 1
    _stream_case(rsa_keys, Faults(ws_seq_gap_every=25), expect=expect)


def test_stream_duplicates_out_of_order_malformed(rsa_keys):
    def expect(dc):
        assert dc.malformed >= 1
    _stream_case(rsa_keys, Faults(ws_duplicate_every=7, ws_out_of_order_every=11, ws_malformed_every=40),
                 expect=expect)


def test_stream_disconnect_reconnects_with_fresh_auth(rsa_keys):
    def expect(dc):
        assert dc.ws.connects >= 2
    _stream_case(rsa_keys, Faults(ws_disconnect_after=60), steps=15, expect=expect)


def test_a_subscription_that_overflows_is_taken_up_again_on_a_new_connection(rsa_keys):
    """Error 25 names no sid: the books' subscription or the lifecycle's (pauses, fee changes) may
    have ended. The client reconnects and subscribes both anew; the books converge again."""
    async def main():
        async with kalshi_env(rsa_keys, faults=Faults(ws_overflow_after=20)) as (sim, cfg):
            v = KalshiVenue(cfg)
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, TICKERS, on_fee_update=lambda msg: [])
            dc.start()
            await wait_for(lambda: _check_books(sim, dc, TICKERS), what="initial snapshots")
            down = []                             # the books' trust when the error is read
            on_frame = dc.on_frame

            async def reading(text, ts):
                await on_frame(text, ts)
                if "Subscription buffer overflow" in text:
                    down.append({t: dc.books[t].tradeable for t in TICKERS})
            dc.ws.on_frame = reading
            for _ in range(15):
                sim.process.step()
                await asyncio.sleep(0)
            await wait_for(lambda: dc.ws.connects >= 2 and dc.lifecycle_sid is not None, what="a new connection")
            assert down and not any(down[0].values())     # at once, not once the close handshake ended
            for _ in range(3):
                sim.process.step()
            await wait_for(lambda: _check_books(sim, dc, TICKERS), timeout=20, what="books converge")
            assert {e.code for e in dc.errors} == {25} and len(dc.errors) < dc.ws.connects    # one per connection at most
            assert dc.sid is not None and dc.lifecycle_sid is not None
            await dc.close()
            await v.close()
    run(main())


def test_gap_marks_untradeable_until_snapshot(rsa_keys):
    """Feed frames directly: after a gap the book is flagged, and only a snapshot clears it."""
    async def main():
        dc = KalshiDataClient("ws://127.0.0.1:9/unused", None, [H0])
        sent = []

        async def fake_send(obj):
            sent.append(obj)
        dc.ws.send = fake_send
        subscribed, snapshot, gap_delta, held_delta, resnapshot = ws_frames("kalshi", "gap_then_snapshot")
        await dc.on_frame(subscribed, 0)
        await dc.on_frame(snapshot, 0)
        assert dc.books[H0].native().yes_bids == ((4100, 500),)
        await dc.on_frame(gap_delta, 0)                      # seq 3 after 1: a gap
        assert not dc.books[H0].tradeable and "gap" in dc.books[H0].reason
        assert sent[-1]["cmd"] == "update_subscription" and sent[-1]["params"]["action"] == "get_snapshot"
        assert sent[-1]["params"]["sids"] == [2]
        await dc.on_frame(held_delta, 0)
        assert not dc.books[H0].tradeable
        await dc.on_frame(resnapshot, 0)
        b = dc.books[H0].native()
        assert b.tradeable and b.yes_bids == () and b.no_bids == ((5000, 200),)
    run(main())


def test_delta_uses_delta_fields_not_snapshot_fields(rsa_keys):
    """Trap 1: a delta must move the book (parsed from price_dollars/delta_fp)."""
    async def main():
        dc = KalshiDataClient("ws://127.0.0.1:9/unused", None, [H0])
        for frame in ws_frames("kalshi", "delta_fields"):     # snapshot, then deltas on yes and no
            await dc.on_frame(frame, 0)
        b = dc.books[H0].native()
        assert b.yes_bids == ((4200, 950),) and b.no_bids == ((9600, 5400),)
        assert b.tradeable
    run(main())


def test_use_yes_price_no_levels(rsa_keys):
    async def main():
        dc = KalshiDataClient("ws://127.0.0.1:9/unused", None, [H0], use_yes_price=True)
        for frame in ws_frames("kalshi", "use_yes_price"):
            await dc.on_frame(frame, 0)
        assert dc.books[H0].native().no_bids == ((5400, 600),)
    run(main())


def test_429_without_and_with_retry_after_and_5xx(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys, faults=Faults(http_429_every=2, http_5xx_every=5)) as (sim, cfg):
            v = KalshiVenue(cfg)
            for _ in range(6):
                b = await v.fetch_book(H0)
                assert b.yes_bids[0] == (5000, 10_000)
            assert v.http.retries >= 3
            await v.close()
        async with kalshi_env(rsa_keys, faults=Faults(http_429_every=1)) as (sim, cfg):   # Kalshi: no Retry-After
            v = KalshiVenue(KalshiConfig(**{**cfg.__dict__, "max_retries": 2}))
            with pytest.raises(RateLimited) as ei:
                await v.balance()
            assert ei.value.retry_after is None
            await v.close()
    run(main())


def test_order_reject_and_slow_ack_and_partial_fill_fault(rsa_keys):
    async def main():
        f = Faults(order_reject_every=2, order_ack_delay_s=0.05, partial_fill_lots=300)
        async with kalshi_env(rsa_keys, faults=f) as (sim, cfg):
            v = KalshiVenue(cfg)
            o = await v.place_order(OrderRequest(H0, Side.YES, 5400, 1000))
            # another trader took all but 3 contracts of the ask first: 3 filled, 7 rest at 54¢
            assert o.filled_lots == 300 and o.remaining_lots == 700 and o.status is OrderStatus.RESTING
            with pytest.raises(OrderRejected):
                await v.place_order(OrderRequest(H0, Side.YES, 5400, 100))
            await v.close()
    run(main())


def test_snapshot_dump_parses(rsa_keys):
    from arbbot.snapshot import parse_snapshot

    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            markets = await v.discover_markets()
            pairs = [(m, await v.fetch_book(m.market_id)) for m in markets]
            snap = dump_snapshot(pairs, relations=[{"kind": "bucket", "members": [f"kalshi:{t}" for t in TICKERS],
                                                    "exhaustive": True}])
            assert snap["markets"][0]["fees"] == {"taker_rate": "0.07", "rounding": "0.01"}
            assert snap["markets"][0]["book"]["yes_bids"][0] == ["0.5000", "100"]
            parsed = parse_snapshot(snap)
            assert len(parsed.universe.markets) == 4
            await v.close()
    run(main())
