"""The `universe` scenario: catalog (deterministic, venue proportions and structures, twins and
look-alikes), its update scheduler (rates, invariants), paging and subscriptions at scale, the
existing scenarios unchanged, and `spawn` (the simulator in a child process)."""
from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

import httpx
import pytest

from arbbot.sim import serve, spawn
from arbbot.sim.engine.matching import FULL, HOUSE, BookDelta, Exchange, FeeModel, MarketState
from arbbot.sim.scenarios import PriceProcess, build, make_markets
from arbbot.sim.spawn import SpawnError
from arbbot.sim.universe import UniverseDriver, budgets
from arbbot.sim.universe.catalog import BUSY_INTERVAL_MS, QUIET_INTERVAL_MS

N = 2_000


def _books(s):
    return [(e, q, l) for e in s.events for q in e.questions for l in q.listings]


def _digest(s) -> str:
    rows = [[l.venue, l.market_id, l.title, l.event_id, l.series, l.yes_token, l.no_token, l.strike, l.expiry,
             list(l.con_ids), l.neg_risk_market_id, l.neg_risk_augmented, q.key, q.fair, q.mean_interval_ms,
             e.exclusive, e.exhaustive, e.ladder, e.closes_in_days] for e, q, l in _books(s)]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _driver(s, seed: int = 1) -> UniverseDriver:
    procs = {}
    for venue in ("kalshi", "polymarket", "forecastex"):
        ex = Exchange(lambda: 0)
        make_markets(s, venue, ex)
        procs[venue] = PriceProcess(s, venue, ex, seed)
        procs[venue].seed_books()
    d = UniverseDriver(s, seed, procs)
    d.clock = lambda: 0.0
    return d


# ---- catalog ------------------------------------------------------------------------------
def test_same_seed_same_catalog_other_seed_another():
    assert _digest(build("universe", 7, markets=N)) == _digest(build("universe", 7, markets=N))
    assert _digest(build("universe", 7, markets=N)) != _digest(build("universe", 8, markets=N))


@pytest.mark.parametrize("n", [N, 20_000])
def test_books_per_venue_match_the_stated_proportions(n):
    s = build("universe", 3, markets=n)
    got = collections.Counter(l.venue for _e, _q, l in _books(s))
    assert dict(got) == budgets(n)
    assert budgets(20_000) == {"polymarket": 14_000, "kalshi": 5_700, "forecastex": 300}
    ids = [l.market_id for _e, _q, l in _books(s)]
    assert len(ids) == len(set(ids)) == n
    tokens = [t for _e, _q, l in _books(s) if l.venue == "polymarket" for t in (l.yes_token, l.no_token)]
    assert len(set(tokens)) == 2 * got["polymarket"]


def test_catalog_structures_as_the_venues_publish_them():
    s = build("universe", 3, markets=20_000)
    kalshi_ladders = [e for e in s.events if e.ladder and any(l.venue == "kalshi" for _q in e.questions
                                                              for l in _q.listings)]
    assert len(kalshi_ladders) > 100
    for e in kalshi_ladders:          # "above X" rungs: strikes ascending, fair values non-increasing
        strikes = [float(l.strike) for q in e.questions for l in q.listings if l.venue == "kalshi"]
        assert strikes == sorted(strikes) and len(set(strikes)) == len(strikes)
        fairs = [q.fair for q in e.questions]
        assert fairs == sorted(fairs, reverse=True)
    exclusive = [e for e in s.events if e.exclusive and e.exhaustive]
    assert len(exclusive) > 300
    for e in exclusive:               # one market per outcome, fair values sum to $1
        assert len(e.questions) >= 2 and sum(q.fair for q in e.questions) == FULL
    negrisk = collections.defaultdict(set)
    for _e, _q, l in _books(s):
        if l.neg_risk:
            negrisk[l.event_id].add(l.neg_risk_market_id)
    assert len(negrisk) > 500 and all(len(ids) == 1 for ids in negrisk.values())
    augmented = [e for e in s.events if any(l.neg_risk_augmented for q in e.questions for l in q.listings)]
    assert augmented and all(not e.exhaustive and any(q.key.endswith("Other") for q in e.questions)
                             for e in augmented)
    assert all(sum(q.fair for q in e.questions) < FULL for e in augmented)
    fx = [l for _e, _q, l in _books(s) if l.venue == "forecastex"]
    assert all(l.market_id == f"{l.market_id.split('-')[0]}-{l.expiry}-{l.strike}" for l in fx)
    cons = [c for l in fx for c in l.con_ids]
    assert len(set(cons)) == 2 * len(fx)


def test_a_question_is_listed_once_per_venue():
    """Two independently priced books of one real-world question would be a permanent, fake
    arbitrage: every title is unique on its venue (Polymarket's dateless "A vs. B" game titles
    aside, as on the venue, where the end date tells repeat games apart)."""
    s = build("universe", 1, markets=20_000)
    seen = collections.Counter((l.venue, l.title) for _e, _q, l in _books(s) if " vs. " not in l.title)
    assert seen and max(seen.values()) == 1
    games = collections.Counter((l.title, e.closes_in_days) for e, _q, l in _books(s) if " vs. " in l.title)
    assert games and max(games.values()) == 1


def test_twins_and_look_alikes_give_the_matcher_work():
    s = build("universe", 3, markets=20_000)
    twins = [q for _e in s.events for q in _e.questions if len({l.venue for l in q.listings}) == 2]
    pairs = collections.Counter(tuple(sorted(l.venue for l in q.listings)) for q in twins)
    assert 0.05 <= 2 * len(twins) / 20_000 <= 0.12           # 5–12 % of the books have a twin
    assert pairs[("kalshi", "polymarket")] > 300 and pairs[("forecastex", "kalshi")] > 50
    for q in twins:                   # each venue words the question its own way
        titles = {l.venue: l.title for l in q.listings}
        if "polymarket" in titles and " vs. " not in titles["polymarket"]:
            assert titles["kalshi"] != titles["polymarket"]
    kalshi = {l.market_id: (e, q, l) for e, q, l in _books(s) if l.venue == "kalshi"}
    looks = [(e, q) for e in s.events for q in e.questions if q.key.startswith("lookalike-of-")]
    assert len(looks) >= 10
    for e, q in looks:                # same place and subject, a deadline two months earlier, 25¢ apart
        ke, kq, kl = kalshi[q.key.removeprefix("lookalike-of-")]
        (pl,) = q.listings
        assert pl.venue == "polymarket" and len(kq.listings) == 1
        assert pl.title.split()[0] in kl.title and len(set(pl.title.split()) & set(kl.title.split())) >= 3
        assert e.closes_in_days < ke.closes_in_days - 50
        assert abs(kq.fair - q.fair) == 2_500


def test_existing_scenarios_are_unchanged():
    """Digests of the catalogs and of 25 price-process steps, taken before the universe existed
    (the catalogs with the NBA games since their Polymarket slugs carry the game's day, as
    Gamma's do: `nba-lal-bos-2026-11-30`; books and prices unchanged)."""
    want = {"all:0": "6bdba74655366e7e", "all:7": "f03813c07653d211", "crypto:0": "f044d129ed1407bd",
            "election:0": "654ab7d80b01752e", "election:7": "4f983fff9babdfda", "fed:0": "b2b4f11944cdc49c",
            "fed:7": "779ebc300a73c9a8", "forecastex:0": "774d5b9e0685a514", "politics:0": "32815e68d965a3f4",
            "politics:7": "18aa67f6a88c2a6b", "sports:0": "cb534320b901cfac", "sports:7": "37f1f94e852c0452",
            "weather:0": "514f8215db288b10", "weather:7": "b2b55a4e82843818",
            "books:kalshi": "b2c4d06df6087d78", "books:polymarket": "0731abd6c3825529",
            "books:forecastex": "59f94c4073ab6d4f"}
    # taken with the ForecastEx questions expiring 2026-12-16: a simulator started 2026-11-28 lists them
    start_ms = int(datetime(2026, 11, 28, 12, tzinfo=timezone.utc).timestamp() * 1000)
    got = {}
    for key in want:
        if key.startswith("books:"):
            venue = key.split(":")[1]
            s = build("all", 3, start_ms=start_ms)
            ex = Exchange(lambda: 0)
            make_markets(s, venue, ex)
            p = PriceProcess(s, venue, ex, 3)
            p.clock = lambda: 0.0
            p.seed_books()
            for _ in range(25):
                p.step()
            rows = [[m, sorted(ex.markets[m].levels("yes").items()), sorted(ex.markets[m].levels("no").items())]
                    for m in sorted(ex.markets)]
            rows.append([[pl.market_id, pl.step, pl.shift] for pl in p.plants])
        else:
            name, seed = key.split(":")
            rows = [[e.event_id, e.title, e.exclusive, e.exhaustive, e.series, e.closes_in_days, e.ladder,
                     [[q.key, q.fair, [[l.venue, l.market_id, l.title, l.event_id, l.series, l.yes_token, l.no_token,
                                        l.fee_ppm, l.neg_risk, l.neg_risk_augmented, l.neg_risk_market_id,
                                        list(l.con_ids), l.strike, l.expiry] for l in q.listings]]
                      for q in e.questions]] for e in build(name, int(seed), start_ms=start_ms).events]
        got[key] = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
    assert got == want


def test_markets_is_for_the_universe_only():
    with pytest.raises(ValueError, match="universe scenario only"):
        build("fed", 0, markets=500)
    with pytest.raises(ValueError, match="at least 100"):
        build("universe", 0, markets=50)


# ---- update process -------------------------------------------------------------------------
def test_rates_have_a_heavy_tail_and_the_scheduler_delivers_them():
    s = build("universe", 5, markets=N)
    d = _driver(s)
    intervals = sorted(q.mean_interval_ms for _e, q, _l in _books(s))
    assert QUIET_INTERVAL_MS[0] <= statistics.median(intervals) <= QUIET_INTERVAL_MS[1]
    busy = [i for i in intervals if i <= BUSY_INTERVAL_MS[1]]
    assert 0.005 <= len(busy) / len(intervals) <= 0.03 and min(intervals) < 300
    rate = d.intended_rate()
    assert 250 < rate < 450                                    # ≈ 3,600/s at 20,000 books
    per_book = collections.Counter()
    real = d.update
    d.update = lambda i: (per_book.update([i]), real(i))
    n = d.advance(60.0)
    assert abs(n - rate * 60) < 0.05 * rate * 60              # Poisson: σ ≈ 0.6 % of the mean here
    fastest = max(range(len(d.books)), key=lambda i: d.books[i].rate)
    assert per_book[fastest] > 0.7 * d.books[fastest].rate * 60 >= 0.7 * 60    # ≥ 1/s, many times a second
    slow = [i for i in range(len(d.books)) if d.books[i].rate < 0.1]
    assert statistics.mean(per_book[i] for i in slow) < 6      # a quiet book: every 10–20 s


def test_updates_keep_books_sane_sums_and_ladders():
    s = build("universe", 6, markets=N)
    d = _driver(s)
    d.advance(120.0)
    for e in s.events:
        if e.exclusive and e.exhaustive:
            assert sum(q.fair for q in e.questions) == FULL
        if e.ladder:
            fairs = [q.fair for q in e.questions]
            assert fairs == sorted(fairs, reverse=True)
    for b in d.books:                 # never crossed, never empty, within the depth
        m = b.exchange.markets[b.listing.market_id]
        yes, no = m.levels("yes"), m.levels("no")
        assert yes and no and max(yes) + max(no) < FULL
        assert len(yes) <= s.depth_levels and len(no) <= s.depth_levels
    plants = [p for b in d.books for p in b.process.plants]
    assert plants and all(abs(p.shift) == s.plant_ticks for p in plants)


def test_same_seed_same_updates():
    def run():
        s = build("universe", 9, markets=N)
        d = _driver(s, seed=9)
        d.advance(20.0)
        return [(b.listing.market_id, sorted(b.exchange.markets[b.listing.market_id].levels("yes").items()))
                for b in d.books]
    assert run() == run()


def test_one_scheduler_and_bounded_order_maps():
    s = build("universe", 4, markets=N)
    d = _driver(s)
    sizes = {v: len(p.ex.orders) for v, p in {b.listing.venue: b.process for b in d.books}.items()}
    d.advance(120.0)                   # ≈ 40,000 updates
    assert d.stats.updates > 30_000 and len(d.heap) == len(d.books)
    for b in d.books:
        assert len(b.exchange.orders) <= sizes[b.listing.venue] * 1.05


def test_a_driver_that_fell_behind_skips_updates_rather_than_bursting_them():
    d = _driver(build("universe", 4, markets=N))
    handled = d.advance(10.0, lateness_from=15.0)        # everything due by 10 s is ≥ 5 s late
    assert handled > 1_000 and d.stats.updates == 0 and d.stats.skipped == handled
    assert min(due for due, _i in d.heap) > 10.0
    d.advance(16.0, lateness_from=16.2)                   # on time again: applied
    assert d.stats.updates > 0 and d.stats.late_s_max <= 1.0


def test_set_level_resizes_in_place_with_one_delta():
    ex = Exchange(lambda: 0)
    ex.add_market(MarketState("M", FeeModel()))
    seen = []
    ex.listeners.append(seen.append)
    ex.set_level(HOUSE, "M", "yes", 4_000, 1_000)
    (o,) = ex.markets["M"].bids["yes"]
    ex.set_level(HOUSE, "M", "yes", 4_000, 2_500)
    ex.set_level(HOUSE, "M", "yes", 4_000, 2_500)          # unchanged: no delta
    assert ex.markets["M"].bids["yes"] == [o] and o.remaining == 2_500
    ex.set_level(HOUSE, "M", "yes", 4_000, 0)
    assert seen == [BookDelta("M", "yes", 4_000, 1_000, "", HOUSE), BookDelta("M", "yes", 4_000, 1_500, "", HOUSE),
                    BookDelta("M", "yes", 4_000, -2_500, "", HOUSE)]
    assert not ex.markets["M"].bids["yes"] and o.order_id not in ex.orders   # house history is not kept


# ---- served at scale ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def universe():
    h = serve("universe", 2, step_interval=None, markets=N)
    yield h
    h.stop()


def test_kalshi_events_page_every_market_exactly_once(universe):
    base = universe.urls["kalshi_rest"]
    for limit in ("200", "37"):
        seen, cursor, pages = [], "", 0
        while True:
            q = {"with_nested_markets": "true", "limit": limit, "status": "open", **({"cursor": cursor} if cursor else {})}
            body = httpx.get(base + "/events", params=q, timeout=30).json()
            assert len(body["events"]) <= int(limit)
            seen += [m["ticker"] for e in body["events"] for m in e["markets"]]
            pages += 1
            cursor = body["cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(universe.kalshi.listings)
        assert pages == -(-len(universe.kalshi.event_tickers) // int(limit))
    assert httpx.get(base + "/events", params={"limit": "201"}).status_code == 400
    e = httpx.get(base + "/events", params={"limit": "1", "with_nested_markets": "true"}).json()["events"][0]
    ev = httpx.get(f"{base}/events/{e['event_ticker']}").json()
    assert [m["ticker"] for m in ev["markets"]] == [m["ticker"] for m in e["markets"]]


def test_gamma_pages_every_market_exactly_once(universe):
    base = universe.urls["polymarket_gamma"]
    for path in ("/markets", "/events"):
        seen, offset = [], 0
        while True:
            page = httpx.get(base + path, params={"closed": "false", "limit": "100", "offset": str(offset)},
                             timeout=30).json()
            seen += [m["conditionId"] for m in page] if path == "/markets" else \
                [m["conditionId"] for e in page for m in e["markets"]]
            offset += len(page)
            if len(page) < 100:
                break
        assert sorted(seen) == sorted(universe.polymarket.listings)
    one = httpx.get(base + "/markets", params={"limit": "1", "offset": "1234"}).json()[0]
    assert httpx.get(f"{base}/markets/{one['id']}").json()["conditionId"] == one["conditionId"]


def test_adapters_discover_the_whole_universe(universe):
    from arbbot.venues.kalshi import KalshiConfig, KalshiVenue
    from arbbot.venues.polymarket.config import PolymarketConfig
    from arbbot.venues.polymarket.venue import PolymarketVenue

    async def main():
        k = KalshiVenue(KalshiConfig(rest_url=universe.urls["kalshi_rest"], ws_url=universe.urls["kalshi_ws"],
                                     key_id=universe.kalshi_key_id, private_key_pem=universe.kalshi_private_key_pem))
        p = PolymarketVenue(PolymarketConfig(gamma_url=universe.urls["polymarket_gamma"],
                                             clob_url=universe.urls["polymarket_clob"],
                                             ws_url=universe.urls["polymarket_ws"]))
        try:
            assert {m.market_id for m in await k.discover_markets()} == set(universe.kalshi.listings)
            assert {m.market_id for m in await p.discover_markets()} == set(universe.polymarket.listings)
        finally:
            await k.close()
            await p.close()
    asyncio.run(main())


def test_feeds_push_only_subscribed_books_with_a_snapshot_each(universe):
    import aiohttp

    from arbbot.sim.universe.measure import _kalshi_headers
    tickers = sorted(universe.kalshi.listings)[:3]
    listed = [universe.polymarket.listings[c][2] for c in sorted(universe.polymarket.listings)[:301]]
    tokens = [t for l in listed for t in (l.yes_token, l.no_token)]
    on_loop = lambda: asyncio.run_coroutine_threadsafe(_advance(universe, 30.0), universe.loop).result(30)  # noqa: E731

    async def main():
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(universe.urls["kalshi_ws"], headers=_kalshi_headers(universe, "/trade-api/ws/v2")) as kws, \
                    s.ws_connect(universe.urls["polymarket_ws"]) as pws:
                await kws.send_json({"id": 1, "cmd": "subscribe",
                                     "params": {"channels": ["orderbook_delta"], "market_tickers": tickers}})
                await pws.send_json({"assets_ids": tokens, "type": "market"})
                # the first frame of each proves its subscription is registered before time moves on
                k = [json.loads((await kws.receive(timeout=10)).data)]
                p = [json.loads((await pws.receive(timeout=10)).data)]
                await asyncio.get_running_loop().run_in_executor(None, on_loop)
                k += await _drain(kws)
                p += await _drain(pws)
        return k, p
    k, p = asyncio.run(main())
    snaps = [f for f in k if f.get("type") == "orderbook_snapshot"]
    deltas = [f for f in k if f.get("type") == "orderbook_delta"]
    assert sorted(f["msg"]["market_ticker"] for f in snaps) == tickers
    assert deltas and {f["msg"]["market_ticker"] for f in deltas} <= set(tickers)
    assert [f["seq"] for f in snaps + deltas] == list(range(1, len(snaps) + len(deltas) + 1))
    dumps = [f for f in p if isinstance(f, list)]
    assert [len(x) for x in dumps] == [500, 102]               # the initial dump, 500 books a frame
    changes = [c for f in p if isinstance(f, dict) and f.get("event_type") == "price_change" for c in f["price_changes"]]
    assert changes and {c["asset_id"] for c in changes} <= set(tokens)


async def _advance(h, seconds: float) -> None:
    h.universe.advance(h.universe.now + seconds)


async def _drain(ws) -> list:
    out = []
    while True:
        try:
            msg = await ws.receive(timeout=1.0)
        except asyncio.TimeoutError:
            return out
        out.append(json.loads(msg.data))


# ---- spawn ------------------------------------------------------------------------------
def test_spawn_runs_the_universe_in_its_own_process():
    with spawn("universe", 1, markets=500, step_interval=1.0) as sim:
        assert sim.pid != os.getpid() and sim.alive()
        r = httpx.get(sim.handle.urls["kalshi_rest"] + "/markets", params={"limit": "5"}, timeout=10)
        assert r.status_code == 200 and len(r.json()["markets"]) == 5
        assert sim.handle.forecastex_symbols and sim.handle.kalshi_key_id
        with open(sim.handle_file) as fh:
            assert json.load(fh)["forecastex_symbols"] == list(sim.handle.forecastex_symbols)
        folder = os.path.dirname(sim.handle_file)
    assert not sim.alive() and not os.path.exists(folder)


def test_spawn_reports_a_child_that_dies():
    with pytest.raises(SpawnError, match="unknown scenario"):
        spawn("no-such-scenario", 0, timeout=60)


def test_a_spawned_simulator_stops_when_its_parent_dies():
    parent = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from arbbot.sim import spawn\n"
        "sim = spawn('fed', 0, step_interval=None)\n"
        "print(sim.pid, flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _running(child)
    finally:
        parent.kill()
        parent.wait(10)
    deadline = time.monotonic() + 15
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(child)


def _running(pid: int) -> bool:
    """Alive and not a zombie (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_simulator_whose_parent_died_while_it_started_stops_too(tmp_path):
    """`arbbot.sim.spawn` names its own pid: a child whose parent died before the child got to
    watching it (re-parented already, its parent id told it nothing) stops anyway. Here the named
    parent is not the child's: it serves, then stops by itself within seconds."""
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "arbbot.sim", "--scenario", "fed", "--step", "0",
                           "--handle-file", str(tmp_path / "h.json"), "--exit-with-parent", str(os.getpid() + 4_000_000)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "handle_file" in done.stdout and time.monotonic() - t0 < 30
