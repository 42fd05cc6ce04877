"""Feed benchmark: Kalshi WebSocket frames → decision, at a sustained message rate, on U20k.

Frames are real Kalshi wire messages (`orderbook_snapshot`, then `orderbook_delta` with
contiguous `seq`) handed to the real adapter's `KalshiDataClient.on_frame` (its replay entry
point: parse, sequence check, shadow book), then to `LiveSession.on_book` (quality gate,
`Engine.update`, dedupe). Latency runs from each frame's *scheduled* arrival (start + i / rate) to
the decision, so any backlog when processing falls behind the rate counts in full.

With sizing (the default; `--no-size` to leave it out), every opportunity a frame reports is also
sized by the twelve-step pipeline, as `arbbot run` does (`SessionSizer.size`: with the Swift
chain and engine, the chain, steps 9–12 and the final re-price in one native call on the engine's
own books; with `--legs-in-python`, each leg's book decomposed in Python, the Swift chain and the
Python portfolio steps — the path before, the same answers), against a fresh $10,000-per-venue
portfolio in a temporary order store; `found_p50_us` / `found_p99_us` are frame → sized decision over the
frames that found an opportunity (every opportunity of the frame sized; the decision is the end of
its last sizing: the session counts and logs the opportunities after offering them), beside the
all-frames figures (each frame's whole processing, logging included). A found frame's latency is
split (`found_split`): `wait` (its scheduled arrival → its processing starts: the backlog of
earlier frames), `sizing` (inside `SessionSizer.size`, all its opportunities) and `detect` (the
rest: parse, quality gate, engine update, the opportunities decoded, dedupe). Before the clock
starts, the sizer plans ahead as a session does after its first refresh (`planned_ahead`: U20k has
more leg sets than are all planned, so the NEAREST_PLANNED nearest an arbitrage are planned and
every leg set's LegSet is made).
`pipeline_p50_us` / `pipeline_p99_us`: the sizing pipeline alone, warm
(each recent opportunity sized again 200 times in a row, books unchanged: its legs' decomposed
books are reused); `pipeline_updated_*`: the same, each time after its legs' books were updated
(to equal copies, so every leg is decomposed again, as in a frame that found it).

With `--history N` the sizer's sample rings are full before the clock starts (every market's
depletion per side and mids, every venue's latency: N samples each, one a second), as in a session
that has run for a while: step 5 then cleans real samples instead of returning its priors. Its
estimates run in Swift unless ARB_ENGINE_ESTIMATES=python (the twin), reported as `estimates`.

With `--dashboard sse|browser` the web dashboard (arbbot.ops.dashboard) is served for the session
during the run, its sampler on this loop as in `arbbot run`, and a client in another process is
connected before the clock starts: a Server-Sent Events reader, or headless Chromium showing
the page. The goal (issue 13): frame → decision p99 within 25% of the same run without it.
"""
from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import tempfile
import time
from array import array

from arbbot.bench.universe import build_u20k
from arbbot.engine import Engine
from arbbot.engine.select import implementation
from arbbot.engine.types import Venue
from arbbot.ops.stats import quantile
from arbbot.run.live import LiveSession, tune_gc
from arbbot.venues.kalshi.data import KalshiDataClient


def _levels(levels) -> list[list[str]]:
    return [[f"{p / 10_000:.4f}", f"{q / 100:.2f}"] for p, q in levels]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _attach_sizer(session, universe, workdir: str, legs_in_python: bool = False, history: int = 0):
    """A `SessionSizer` for the bench universe: MarketInfo from the engine markets (no close
    times: T = unknown_days), an empty order store, $10,000 cash per venue; with `history`,
    every market's sample rings (depletion per side, mids) and every venue's latency ring hold
    that many samples, one a second up to now."""
    from arbbot.config import Settings
    from arbbot.execution.store import OrderStore
    from arbbot.model import MarketInfo
    from arbbot.run.live import pack
    from arbbot.run.sizer import SessionSizer
    session.markets = [MarketInfo(m.venue, m.id, m.title, fees=m.fees, lot_lots=m.lot) for m in universe.markets]
    for m in universe.markets:           # the books of the venues this bench does not stream
        session.books.setdefault(m.name, pack(m.book))
    store = OrderStore(f"{workdir}/bench.db")
    sizer = SessionSizer(session, store, Settings(kill_file=""))
    if history:
        _fill_samples(sizer.samples, universe, history, time.time())
    sizer.refresh({v.label: 10_000_000_000 for v in Venue})
    sizer.on_engine_books = not legs_in_python
    session.on_opportunity = sizer.size
    return sizer, store


def _fill_samples(samples, universe, count: int, now: float) -> None:
    """A session that has run for a while: `count` samples a key (≤ MAX_SAMPLES kept), one a
    second ending at `now` — depletion (exponential, 3 % of them × 40: outliers), mids (a walk
    around $0.50), order latencies (around 0.15 s). One ring of each kind is drawn, then copied
    to every key (each key its own buffer, as a session's)."""
    from arbbot.model import Side
    from arbbot.run.samples import SampleRing
    rng = random.Random(count)
    t0 = now - count + 1
    depletion = SampleRing((t0 + i, rng.expovariate(2.0) * (40 if rng.random() < 0.03 else 1)) for i in range(count))
    mid, mids = 0.5, SampleRing()
    for i in range(count):
        mid = min(max(mid + rng.choice((-0.01, 0.0, 0.0, 0.01)), 0.01), 0.99)
        mids.push(t0 + i, mid)
    latency = SampleRing((t0 + i, rng.uniform(0.08, 0.25)) for i in range(count))
    for m in universe.markets:
        for side in Side:
            samples.depletion[(m.name, side)] = depletion.copy()
        samples.mids[m.name] = mids.copy()
    for venue in Venue:
        samples.latency[venue] = latency.copy()


class _DashboardClient:
    """The web dashboard served for `session` (its own process, as in `arbbot run`), with a client
    process connected (`kind`: "sse" or "browser"); `stop()` returns what to report. The bot's
    side (a sample sent once per interval) runs inline between frames (`between_frames`): as a
    task it would never get this loop, which does not yield between frames at 5,000/s."""

    @classmethod
    async def start(cls, session, kind: str) -> "_DashboardClient":
        import subprocess
        from arbbot.config import Settings
        from arbbot.ops.dashboard import serve_dashboard
        self = cls()
        self.kind = kind
        self.dashboard = await serve_dashboard(Settings(kill_file=""), session, None, port=0)
        self.next_sample = time.monotonic() + self.dashboard.interval_s
        args = [sys.executable, "-m", "arbbot.ops.dashboard.client"]
        self.proc = subprocess.Popen(args + (["--browser"] if kind == "browser" else []), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.proc.stdin.write(self.dashboard.login_url + "\n")     # the token on stdin, never on argv
        self.proc.stdin.flush()
        return self

    async def connected(self, timeout_s: float = 60.0, settle_s: float = 5.0) -> None:
        """Wait for the client's first state (its `{"connected": true}` line), publishing meanwhile,
        then `settle_s` more (a browser's start-up work is not what is measured)."""
        loop = asyncio.get_running_loop()
        line = loop.run_in_executor(None, self.proc.stdout.readline)
        deadline = time.monotonic() + timeout_s
        while not line.done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"dashboard client ({self.kind}) did not connect")
            self.between_frames()
            await asyncio.sleep(0.05)
        if "connected" not in line.result():
            raise RuntimeError(f"dashboard client ({self.kind}) failed: {line.result()!r}")
        settled = time.monotonic() + settle_s
        while time.monotonic() < settled:
            self.between_frames()
            await asyncio.sleep(0.05)

    def between_frames(self) -> None:
        """What `DashboardProcess.run` does on the bot's loop: a sample once per interval."""
        now = time.monotonic()
        if now >= self.next_sample:
            self.dashboard.publish()
            self.next_sample = now + self.dashboard.interval_s

    def stop(self) -> dict:
        out, _ = self.proc.communicate(timeout=60)       # closing stdin stops it
        costs = sorted(list(self.dashboard.sampler.costs_ns)[1:])     # [0]: at the start, not timed
        sent = self.dashboard.sent
        self.dashboard.stop()
        client = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        return {"client": self.kind, "samples_sent": sent, "client_states": client.get("states"),
                "sample_p50_us": round(quantile(costs, 0.5) / 1e3, 1) if costs else None,
                "sample_max_us": round(costs[-1] / 1e3, 1) if costs else None}


async def run_feed(rate: float, seconds: float, seed: int = 20_000, engine: str | None = None,
                   freeze: bool = True, size: bool = True, dashboard: str | None = None,
                   warm_ms: float = 0.0, legs_in_python: bool = False, history: int = 0) -> dict:
    rss_start = _rss_mib()
    bench = build_u20k(seed)
    universe = bench.universe
    session = LiveSession({}, [], engine=engine)
    session.universe = universe
    session.engine = Engine(universe, engine=session.engine_choice)
    session.index = {m.name: i for i, m in enumerate(universe.markets)}
    session.markets = list(universe.markets)
    rss_built = _rss_mib()
    tickers = [m.id for m in universe.markets if m.venue is Venue.KALSHI]
    client = KalshiDataClient("ws://127.0.0.1:9/unused", None, tickers)
    seq = 0

    found_in: list[bool] = [False]       # did the last delivered frame report an opportunity?
    # the last delivered frame: wait ns, sizing ns, opportunities sized, when its last sizing ended (ns)
    split = [0, 0, 0, 0]

    async def deliver(frame: str, arrival_ns: int) -> int:
        split[0], split[1], split[2], split[3] = time.perf_counter_ns() - arrival_ns, 0, 0, 0
        await client.on_frame(frame, arrival_ns // 1_000_000)
        found = False
        while not client.updates.empty():
            found = session.on_book(client.updates.get_nowait()) or found
        found_in[0] = found
        return time.perf_counter_ns() - arrival_ns

    for m in universe.markets:          # subscribe-time snapshots (not timed)
        if m.venue is Venue.KALSHI:
            seq += 1
            msg = {"market_ticker": m.id, "market_id": m.id}
            if m.book.yes_bids:
                msg["yes_dollars_fp"] = _levels(m.book.yes_bids)
            if m.book.no_bids:
                msg["no_dollars_fp"] = _levels(m.book.no_bids)
            await deliver(json.dumps({"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg}),
                          time.perf_counter_ns())
    rng = random.Random(seed + 7)
    books = {m.id: {"yes": dict(m.book.yes_bids), "no": dict(m.book.no_bids)} for m in universe.markets
             if m.venue is Venue.KALSHI}
    count = int(rate * seconds)
    frames = []
    for _ in range(count):               # realistic deltas: a level's size moves, or a level appears/vanishes
        ticker = rng.choice(tickers)
        side = rng.choice(("yes", "no"))
        levels = books[ticker][side]
        if levels and rng.random() < 0.8:
            price = rng.choice(list(levels))
            delta = rng.choice((-1, 1)) * rng.randint(1, 50) * 100
            delta = max(delta, -levels[price])
        else:
            price = rng.randint(1, 98) * 100
            delta = rng.randint(1, 100) * 100
        levels[price] = levels.get(price, 0) + delta
        if levels[price] == 0:
            del levels[price]
        seq += 1
        frames.append(json.dumps({"type": "orderbook_delta", "sid": 1, "seq": seq, "msg": {
            "market_ticker": ticker, "price_dollars": f"{price / 10_000:.4f}", "delta_fp": f"{delta / 100:.2f}",
            "side": side, "ts_ms": 0}}))
    tmp = tempfile.TemporaryDirectory()
    sizer, store = _attach_sizer(session, universe, tmp.name, legs_in_python, history) if size else (None, None)
    planned_ahead = None
    if sizer is not None:
        # what the session does after each refresh, before the clock starts here (in `arbbot run`
        # within its first seconds): the recent and the nearest leg sets' plans, every LegSet
        t0 = time.perf_counter()
        plans = await sizer.plan_ahead()
        planned_ahead = {"plans": plans, "leg_sets": len(sizer._leg_sets),
                         "seconds": round(time.perf_counter() - t0, 2)}
        def size_timed(opp, size=sizer.size):
            t0 = time.perf_counter_ns()
            try:
                return size(opp)
            finally:
                split[3] = time.perf_counter_ns()
                split[1] += split[3] - t0
                split[2] += 1
        session.on_opportunity = size_timed
    served = None
    if dashboard:
        served = await _DashboardClient.start(session, dashboard)
        await served.connected()
    if freeze:       # as LiveSession does: freeze the long-lived universe, rare full collections
        tune_gc()
    latencies, sized, parts = [], [], []
    start = time.perf_counter_ns()
    period = 1e9 / rate
    warm_ns, warmed, warms = int(warm_ms * 1e6), start, 0
    for i, frame in enumerate(frames):
        arrival = start + int(i * period)
        now = time.perf_counter_ns()
        if warm_ns and sizer is not None and now < arrival and now - warmed >= warm_ns:
            sizer.warm()                 # idle until the frame: keep the sizing path warm
            warms += 1
            warmed = now = time.perf_counter_ns()
        if now < arrival:                # wait for the frame's arrival time (spin: sub-ms precision)
            if arrival - now > 2_000_000:
                await asyncio.sleep((arrival - now - 1_000_000) / 1e9)
            while time.perf_counter_ns() < arrival:
                pass
        latencies.append(await deliver(frame, arrival))
        if found_in[0]:              # frame → its decision: its last opportunity sized (the log line comes after)
            decided = split[3] - arrival if split[2] else latencies[-1]
            sized.append(decided)
            parts.append((split[0], split[1], decided - split[0] - split[1], split[2]))
        if served is not None:
            served.between_frames()
    elapsed = (time.perf_counter_ns() - start) / 1e9
    served_report = served.stop() if served is not None else None
    if store is not None:
        store.close()
    tmp.cleanup()
    latencies.sort()
    pick = lambda q: quantile(latencies, q) / 1_000  # noqa: E731
    sizing = {}
    if sizer is not None:
        again, updated = [], []          # the pipeline alone, on every opportunity found, 200 times each
        for _, opp in list(session.stats.recent):
            for _ in range(200):
                t0 = time.perf_counter_ns()
                sizer.size(opp)
                again.append(time.perf_counter_ns() - t0)
            for _ in range(200):         # each time after its legs' books were updated (to equal copies)
                for leg in opp.legs:
                    if leg.market in session.books:
                        session.books[leg.market] = array("q", session.books[leg.market])
                t0 = time.perf_counter_ns()
                sizer.size(opp)
                updated.append(time.perf_counter_ns() - t0)
        sizing = {"pipeline_p50_us": round(quantile(again, 0.50) / 1_000, 1) if again else None,
                  "pipeline_p99_us": round(quantile(again, 0.99) / 1_000, 1) if again else None,
                  "pipeline_updated_p50_us": round(quantile(updated, 0.50) / 1_000, 1) if updated else None,
                  "pipeline_updated_p99_us": round(quantile(updated, 0.99) / 1_000, 1) if updated else None,
                  "sizing": {"sized": sizer.stats.sized, "traded": sizer.stats.traded,
                             "rejected": dict(sizer.stats.rejected), "lowered": dict(sizer.stats.lowered),
                             "errors": dict(list(sizer.errors.items())[:5])}}
    return {"format": "arbbot.feed-bench/1", "engine": session.engine_choice, "gc_freeze": freeze, "rate_target": rate,
            "rate_achieved": round(count / elapsed, 1), "frames": count, "kalshi_markets": len(tickers),
            "markets": len(universe.markets), "gaps": client.gaps, "malformed": client.malformed,
            "p50_us": round(pick(0.50), 1), "p99_us": round(pick(0.99), 1), "max_us": round(latencies[-1] / 1_000, 1),
            "rss_mib_start": round(rss_start, 1), "rss_mib_u20k_built": round(rss_built, 1),
            "rss_mib_peak": round(_rss_mib(), 1), "found": dict(session.stats.found),
            # frames that reported an opportunity: frame → decision (sized, unless --no-size)
            "found_frames": len(sized),
            "found_p50_us": round(quantile(sized, 0.50) / 1_000, 1) if sized else None,
            "found_p99_us": round(quantile(sized, 0.99) / 1_000, 1) if sized else None,
            "found_split": _split(parts, size), "legs_in_python": legs_in_python, "history": history,
            "estimates": implementation("estimates") if size else None, "planned_ahead": planned_ahead,
            "warm_ms": warm_ms, "warm_sizings": warms, **sizing,
            "dashboard": served_report}


def _split(parts: list[tuple[int, int, int, int]], size: bool) -> dict | None:
    """p50 / p99 (µs) of each part of the found frames' latency: wait, detect, sizing (each over
    the found frames on its own: the parts' quantiles do not add up to the total's)."""
    if not parts:
        return None
    out = {}
    for k, name in ((0, "wait"), (2, "detect"), (1, "sizing")):
        if name == "sizing" and not size:
            continue
        xs = sorted(p[k] for p in parts)
        out[f"{name}_p50_us"] = round(quantile(xs, 0.50) / 1_000, 1)
        out[f"{name}_p99_us"] = round(quantile(xs, 0.99) / 1_000, 1)
    out["opportunities_sized"] = sum(p[3] for p in parts)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m arbbot.bench.feed", description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=5_000.0, help="messages per second (default 5000)")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long to sustain the rate (default 10)")
    ap.add_argument("--engine", choices=("swift", "python"))
    ap.add_argument("--no-gc-freeze", action="store_true", help="leave the universe in the cyclic GC (to compare)")
    ap.add_argument("--no-size", action="store_true", help="detection only: do not size the opportunities found")
    ap.add_argument("--warm-ms", type=float, default=0.0,
                    help="size the last opportunity again (nothing kept) when idle at most every this many ms "
                         "(what the session's `sizing_warm_ms` does; default 0: off)")
    ap.add_argument("--legs-in-python", action="store_true",
                    help="size with every leg's book decomposed in Python and the portfolio steps in Python, not "
                         "in one native call on the Swift engine's own books (the path before; the same answers)")
    ap.add_argument("--history", type=int, default=0, metavar="N",
                    help="size against a session that has run a while: every market's and venue's sample rings "
                         "hold N samples (one a second; at most 512 kept) for step 5's estimates (default 0: a fresh "
                         "portfolio, every estimate its prior); ARB_ENGINE_ESTIMATES=python for the twin's estimates")
    ap.add_argument("--dashboard", choices=("sse", "browser"),
                    help="serve the web dashboard during the run with a client connected: an SSE reader, or "
                         "headless Chromium showing the page (default: no dashboard)")
    args = ap.parse_args(argv)
    print(json.dumps(asyncio.run(run_feed(args.rate, args.seconds, engine=args.engine, freeze=not args.no_gc_freeze,
                                          size=not args.no_size, dashboard=args.dashboard,
                                          warm_ms=args.warm_ms, legs_in_python=args.legs_in_python,
                                          history=args.history))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
