"""`arbbot.sim.serve` / `cli_main` / recording + replay through the adapter's code path."""
from __future__ import annotations

import asyncio

import httpx

from arbbot.replay.format import raw_records
from arbbot.replay.recorder import SessionRecorder
from arbbot.sim import serve
from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
from arbbot.venues.kalshi.data import KalshiDataClient
from tests.sim.venue_envs import sim_process
from tests.venues.conftest import wait_for


def test_serve_in_background_and_adapter_reads_it():
    h = serve("fed", seed=3, step_interval=None)
    try:
        assert h.urls["kalshi_rest"].startswith("http://127.0.0.1:")

        async def main():
            v = KalshiVenue(KalshiConfig(rest_url=h.urls["kalshi_rest"], ws_url=h.urls["kalshi_ws"],
                                         key_id=h.kalshi_key_id, private_key_pem=h.kalshi_private_key_pem))
            ms = await v.discover_markets()
            assert len(ms) == 4
            bal = await v.balance()
            assert bal.cash_micros == 10_000 * 1_000_000
            await v.close()
        asyncio.run(main())
    finally:
        h.stop()


def test_cli_main_prints_urls_that_answer(tmp_path):
    with sim_process("--scenario", "sports", "--seed", "1", "--key-file", str(tmp_path / "k.pem"),
                     until="kalshi_key_file") as lines:
        r = httpx.get(lines["kalshi_rest"] + "/markets", timeout=10)
        assert r.status_code == 200
        assert {m["ticker"] for m in r.json()["markets"]} >= {"KXNBAGAME-26NOV30LALBOS-LAL"}
        assert (tmp_path / "k.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY")


def test_record_and_replay_reproduces_books(tmp_path):
    h = serve("fed", seed=5, step_interval=None)
    path = tmp_path / "rec.jsonl"
    try:
        async def main():
            cfg = KalshiConfig(rest_url=h.urls["kalshi_rest"], ws_url=h.urls["kalshi_ws"],
                               key_id=h.kalshi_key_id, private_key_pem=h.kalshi_private_key_pem)
            tickers = list(h.kalshi.listings)
            rec = SessionRecorder(path, "simulator")
            v = KalshiVenue(cfg, recorder=rec.raw)
            dc = KalshiDataClient(cfg.ws_url, v.http.signer, tickers, recorder=rec.raw)
            dc.start()
            await wait_for(lambda: all(b.tradeable for b in dc.books.values()), what="snapshots")
            fut = asyncio.run_coroutine_threadsafe(_steps(h, 5), h.loop)
            await asyncio.wrap_future(fut)
            await wait_for(lambda: all(
                (dc.books[t].native().yes_bids, dc.books[t].native().no_bids) == _sim_book(h, t) for t in tickers),
                what="live books")
            await v.fetch_book(tickers[0])
            live = {t: dc.books[t].native() for t in tickers}
            await dc.close()
            await v.close()
            rec.close()
            records = list(raw_records(path))
            assert {r["kind"] for r in records} == {"ws", "rest"}
            assert all("recv_ts_ms" in r for r in records)
            replayed = KalshiDataClient("ws://127.0.0.1:9/none", None, tickers)
            frames = [r for r in records if r["kind"] == "ws" and r["venue"] == "kalshi"]
            for r in frames:                  # the recorded frames through the live code path again
                await replayed.on_frame(r["frame"], r["recv_ts_ms"])
            assert len(frames) > len(tickers)
            assert {t: replayed.books[t].native() for t in tickers} == live
            assert b"PRIVATE KEY" not in path.read_bytes() and b"KALSHI-ACCESS" not in path.read_bytes()
        asyncio.run(main())
    finally:
        h.stop()


async def _steps(h, n):
    for _ in range(n):
        h.kalshi.process.step()


def _sim_book(h, t):
    m = h.kalshi.exchange.markets[t]
    srt = lambda d: tuple(sorted(d.items(), key=lambda x: -x[0]))  # noqa: E731
    return srt(m.levels("yes")), srt(m.levels("no"))


def _house_levels(h) -> dict[tuple[str, str, int], int]:
    """Every Kalshi book level (market, side, price ticks) → lots."""
    return {(t, side, p): lots for t, m in h.kalshi.exchange.markets.items()
            for side in ("yes", "no") for p, lots in m.levels(side).items()}


def test_a_served_simulator_quotes_varied_depth_kept_while_the_price_stays():
    from arbbot.sim.scenarios import VARIED_LEVEL_CONTRACTS
    lo, hi = VARIED_LEVEL_CONTRACTS
    fixed, varied = serve("all", seed=4, step_interval=None, depth="fixed"), serve("all", seed=4, step_interval=None)
    try:
        # fixed: 100 contracts a level times its depth (the protocol tests' books)
        assert set(_house_levels(fixed).values()) == {10_000, 20_000, 30_000}
        before = _house_levels(varied)
        sizes = list(before.values())
        assert all(lots % 100 == 0 and lo * 100 <= lots <= hi * 100 for lots in sizes)
        assert len(set(sizes)) > len(sizes) // 2                          # sizes vary level to level
        assert sum(lots < 5_000 for lots in sizes) >= len(sizes) // 5        # many levels under 50 contracts
        moved = 0
        for _ in range(3):                                                    # step by step: a level quoted
            asyncio.run_coroutine_threadsafe(_steps(varied, 1), varied.loop).result(30)   # before and after
            after = _house_levels(varied)                                     # a step keeps its size
            kept = before.keys() & after.keys()
            assert kept and all(after[k] == before[k] for k in kept)
            moved += len(after.keys() - before.keys())
            before = after
        assert moved > 0                                                      # and prices did move
    finally:
        fixed.stop()
        varied.stop()


def test_a_bad_depth_is_refused():
    import pytest
    with pytest.raises(ValueError, match="depth must be one of varied, fixed"):
        serve("fed", seed=1, step_interval=None, depth="deep")
