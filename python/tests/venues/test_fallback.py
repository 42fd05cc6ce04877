"""Stream → poll fallback against the simulators: a venue whose stream fails keeps its books
updated by polling (REST, IB snapshots, rate limited) and climbs back to streaming when the stream
returns; a consumer stalled for seconds never stalls the socket and then reads the newest books."""
from __future__ import annotations

import asyncio

from arbbot.sim.scenarios import Faults, build
from arbbot.venues.common.errors import TransportError
from arbbot.venues.forecastex import ForecastExVenue
from arbbot.venues.kalshi import KalshiVenue
from arbbot.venues.polymarket import PolymarketVenue
from tests.venues.conftest import wait_for
from tests.venues.kalshi_env import kalshi_env
from tests.venues.sim_ib_client import SimIBClient, ib_quote
from tests.venues.test_polymarket import as_tuple, expected, poly_env

DEAD_WS = "ws://127.0.0.1:9/down"          # nothing listens on the discard port: connection refused


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


def kalshi_expected(sim, ticker: str) -> tuple:
    desc = lambda d: tuple(sorted(d.items(), reverse=True))  # noqa: E731
    return desc(sim.book_levels(ticker, "yes")), desc(sim.book_levels(ticker, "no"))


class Consumer:
    """Reads a venue's `stream_books` into `latest` (market id → Book); `gate` cleared = stalled."""

    def __init__(self, stream) -> None:
        self.latest: dict = {}
        self.read = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.task = asyncio.create_task(self._run(stream))

    async def _run(self, stream) -> None:
        async for u in stream:
            await self.gate.wait()
            self.latest[u.book.market_id] = u.book
            self.read += 1



async def streams_again(feed, step, synced) -> None:
    """Once the stream is back: stream mode, the books streamed after a `step` of the venue, no
    poll since, and one fallback in all."""
    await wait_for(lambda: feed.stats()["mode"] == "stream", what="stream mode again")
    polled = feed.polled
    step()
    await wait_for(synced, what="streamed books again")
    await asyncio.sleep(0.3)
    assert feed.polled == polled and feed.fallbacks == 1

def test_kalshi_stream_failure_falls_back_to_rest_polling_and_climbs_back(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys, reconnect_base_s=0.05, reconnect_cap_s=0.3) as (sim, cfg):
            v = KalshiVenue(cfg)
            tickers = [m.market_id for m in await v.discover_markets()]
            c = Consumer(v.stream_books(tickers))

            def synced():
                return all(t in c.latest and c.latest[t].tradeable
                           and (c.latest[t].yes_bids, c.latest[t].no_bids) == kalshi_expected(sim, t) for t in tickers)
            await wait_for(synced, what="streamed books")
            feed = v.feed
            assert feed.stats()["mode"] == "stream" and feed.polled == 0
            # the venue's WebSocket fails: every new connection is closed after its first frame
            # (the subscription's ack), before any book frame
            sim.faults = Faults(ws_disconnect_after=1)
            for conn in list(sim.connections):
                await conn.ws.close()
            await wait_for(lambda: feed.stats()["mode"] == "poll", what="poll mode")
            for _ in range(3):
                sim.process.step()                     # the books move while the stream is down
            await wait_for(lambda: synced() and feed.polled >= len(tickers), timeout=15,
                           what="polled books")
            connects = v.data.ws.connects
            await wait_for(lambda: v.data.ws.connects > connects, what="reconnect attempts")
            assert feed.stats()["mode"] == "poll"          # they keep failing: still polling
            # the stream comes back: the subscription's snapshots end the polling
            sim.faults = Faults()
            await streams_again(feed, sim.process.step, synced)
            c.task.cancel()
            await v.close()
    run(main())


def test_polymarket_stream_failure_falls_back_to_rest_polling_and_climbs_back():
    async def main():
        async with poly_env() as (sim, cfg):
            v = PolymarketVenue(cfg)
            ids = [m.market_id for m in await v.discover_markets()]
            c = Consumer(v.stream_books(ids))

            def synced():
                return all(m in c.latest and c.latest[m].tradeable and as_tuple(c.latest[m]) == expected(sim, m)
                           for m in ids)
            await wait_for(synced, what="streamed books")
            feed = v.feed
            v.data.ws.url = DEAD_WS                   # the market channel is unreachable
            for conn in list(sim.connections):
                await conn.ws.close()
            await wait_for(lambda: feed.stats()["mode"] == "poll", what="poll mode")
            for _ in range(3):
                sim.process.step()
            await wait_for(lambda: synced() and feed.polled >= len(ids), timeout=15, what="polled books")
            assert feed.stats()["mode"] == "poll" and not sim.connections
            v.data.ws.url = cfg.ws_url                # back
            await streams_again(feed, sim.process.step, synced)
            c.task.cancel()
            await v.close()
    run(main())


def test_forecastex_stream_error_falls_back_to_snapshots_and_climbs_back():
    async def main():
        ib = SimIBClient(build("forecastex", 1), 1)
        v = ForecastExVenue(ib, ["FF"], poll_s=0.02)
        ids = [m.market_id for m in await v.discover_markets()]
        c = Consumer(v.stream_books(ids))

        def want(m):                                   # the simulator's L1 now, as the adapter prices it
            yes, no = v.con[m]
            return v._book(m, ib_quote(ib.backend.quote(yes)), ib_quote(ib.backend.quote(no)))

        def synced():
            return all(m in c.latest and c.latest[m] == want(m) for m in ids)
        await wait_for(synced, what="streamed books")
        assert v.feed.stats()["mode"] == "stream" and ib.snapshots == 0
        # the streaming market data fails (IB error, lost farm): once, the old stream ended for good
        ib.streaming_error = TransportError("forecastex: market data farm connection is broken", venue="forecastex")
        await wait_for(lambda: v.feed.stats()["mode"] == "poll", what="poll mode")
        before = {m: c.latest[m] for m in ids}
        for _ in range(50):                            # the books move while streaming fails
            ib.process.step()
            if any(want(m) != before[m] for m in ids):
                break
        moved = [m for m in ids if want(m) != before[m]]
        assert moved
        await wait_for(lambda: synced() and v.feed.polled >= len(ids), what="snapshot-polled books")
        assert ib.snapshots >= 2 * len(ids) and v.stream_errors >= 1
        assert all(c.latest[m] != before[m] for m in moved)
        ib.streaming_error = None                    # the stream works again
        await wait_for(lambda: v.feed.stats()["mode"] == "stream", what="stream mode again")
        snapshots = ib.snapshots
        ib.process.step()
        await wait_for(synced, what="streamed books again")
        await asyncio.sleep(0.2)
        assert ib.snapshots == snapshots and v.feed.fallbacks == 1
        c.task.cancel()
        await v.close()
    run(main())


def test_stalled_consumer_never_stalls_the_socket_and_then_reads_the_newest_books(rsa_keys):
    async def main():
        async with kalshi_env(rsa_keys) as (sim, cfg):
            v = KalshiVenue(cfg)
            tickers = [m.market_id for m in await v.discover_markets()]
            c = Consumer(v.stream_books(tickers))
            await wait_for(lambda: len(c.latest) == len(tickers), what="first books")
            c.gate.clear()                             # the consumer stalls (a slow decision)
            read, updates = c.read, v.feed.queue.puts
            ws = v.data.ws._ws
            for _ in range(30):                        # 3 s of busy books
                sim.process.step()
                await asyncio.sleep(0.1)
            # the reader kept reading: every frame applied, one queued book per market at most
            assert v.feed.queue.puts - updates > 3 * len(tickers) and c.read == read
            q = v.feed.queue
            assert len(q) <= len(tickers) and q.max_depth <= len(tickers) and q.coalesced > 0
            # the socket is serviced: a ping is answered while the consumer is stalled
            pong = await ws.ping()
            await asyncio.wait_for(pong, 1.0)
            assert v.data.ws.connects == 1 and v.data.ws._ws is ws
            c.gate.set()                               # the consumer resumes
            await wait_for(lambda: len(q) == 0, what="queue drained")
            await asyncio.sleep(0.05)
            for t in tickers:                          # what it reads is the newest book of each market
                assert (c.latest[t].yes_bids, c.latest[t].no_bids) == kalshi_expected(sim, t)
                assert c.latest[t] == v.data.native(t)
            c.task.cancel()
            await v.close()
    run(main())



def test_forecastex_over_tws_reconnects_after_a_lost_connection_and_streams_again():
    """The real ib-async client against the simulated TWS: the connection dies (the socket is
    aborted); the next market-data read connects again and re-subscribes, and the books move again."""
    from arbbot.sim.forecastex import start_tws
    from arbbot.venues.forecastex import connect_forecastex_venue

    async def main():
        sim = await start_tws("forecastex", 1, step_interval=None)
        try:
            v = await connect_forecastex_venue("127.0.0.1", sim.port, client_id=61, poll_s=0.02)
            ids = [m.market_id for m in await v.discover_markets()]
            c = Consumer(v.stream_books(ids))

            def want(m):
                yes, no = v.con[m]
                return v._book(m, ib_quote(sim.backend.quote(yes)), ib_quote(sim.backend.quote(no)))

            def synced():
                return all(m in c.latest and c.latest[m] == want(m) for m in ids)
            await wait_for(synced, what="streamed books")
            v.client.ib.client.conn.transport.abort()    # TWS is gone without a goodbye
            # seen down, or already back (a quick reconnect can come between two polls on a loaded machine)
            await wait_for(lambda: not v.client.ib.isConnected() or v.client.reconnects >= 1, what="disconnect seen")
            before = {m: want(m) for m in ids}
            for _ in range(50):                          # the books move meanwhile
                sim.step()
                if any(want(m) != before[m] for m in ids):
                    break
            assert any(want(m) != before[m] for m in ids)
            await wait_for(lambda: v.client.reconnects == 1 and synced(), timeout=15, what="books after reconnect")
            assert v.client.ib.isConnected() and v.feed.stats()["mode"] == "stream"
            sim.step()
            await wait_for(synced, what="books streamed on the new connection")
            # the poll fallback's read: one-off snapshot requests (reqMktData snapshot) give the same book
            assert [await v.snapshot_book(m) for m in ids] == [want(m) for m in ids]
            c.task.cancel()
            await v.close()
        finally:
            await sim.stop()
    run(main())


def test_polymarket_spreads_markets_over_connections_and_polls_only_a_failed_ones(monkeypatch):
    import arbbot.venues.polymarket.data as poly_data
    monkeypatch.setattr(poly_data, "ASSETS_PER_CONNECTION", 4)        # two markets a connection

    async def main():
        async with poly_env() as (sim, cfg):
            v = PolymarketVenue(cfg)
            ids = [m.market_id for m in await v.discover_markets()]
            c = Consumer(v.stream_books(ids))

            def synced():
                return all(m in c.latest and c.latest[m].tradeable and as_tuple(c.latest[m]) == expected(sim, m)
                           for m in ids)
            await wait_for(synced, what="streamed books")
            dc, feed = v.data, v.feed
            assert len(ids) >= 5 and len(dc.sockets) == (len(ids) + 1) // 2 == len(sim.connections)
            assert sorted(len(conn.assets) for conn in sim.connections) == \
                sorted(2 * len(g) for g in dc.groups) and max(len(conn.assets) for conn in sim.connections) == 4
            broken = dc.sockets[1]                     # one connection fails and stays down
            tokens = {t for mid in dc.groups[1] for t in (dc.markets[mid].yes_token, dc.markets[mid].no_token)}
            broken.url = DEAD_WS
            for conn in [conn for conn in sim.connections if conn.assets & tokens]:
                await conn.ws.close()
            await wait_for(lambda: feed.stats()["polling"] == 2, what="its two markets polled")
            for _ in range(3):
                sim.process.step()
            await wait_for(lambda: synced() and feed.polled >= 2, timeout=15, what="books (streamed and polled)")
            assert feed.stats()["polling"] == 2 and feed.fallbacks == 1
            assert all(ws.connects == 1 for ws in dc.sockets if ws is not broken)
            broken.url = cfg.ws_url
            await wait_for(lambda: feed.stats()["mode"] == "stream" and feed.stats()["polling"] == 0,
                           what="stream mode again")
            sim.process.step()
            await wait_for(synced, what="streamed books again")
            c.task.cancel()
            await v.close()
    run(main())
