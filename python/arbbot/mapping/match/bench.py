"""Benchmark `arbbot map` on N Kalshi × N Polymarket synthetic listings in the venues' formats.

`python -m arbbot.mapping.match.bench [--n 2000] [--twins 0.5] [--seed 0]` writes a Kalshi
`GET /markets` body and a Polymarket Gamma `/markets` body to a temporary folder, runs the
command's path (load → match) and prints the wall time and the share of planted twins found
and of proposed pairs that are planted. The listings are ladders (one asset, date and city
across many thresholds), so every question has dozens of near-misses: the blocking's hard case.
Questions: crypto price thresholds, city high temperatures, NBA games, nominees, Fed decisions.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from arbbot.mapping.listings import load_listings
from arbbot.mapping.match.matcher import match

ASSETS = ["Bitcoin", "Ethereum", "Solana", "XRP", "Dogecoin", "Cardano", "Litecoin", "Avalanche"]
CITIES = ["NYC", "Chicago", "Miami", "Denver", "Austin", "Philadelphia", "Seattle", "Boston"]
TEAMS = [("Lakers", "Los Angeles L"), ("Celtics", "Boston"), ("Knicks", "New York"), ("Heat", "Miami"),
         ("Warriors", "Golden State"), ("Nuggets", "Denver"), ("Suns", "Phoenix"), ("Mavericks", "Dallas"),
         ("Bucks", "Milwaukee"), ("Bulls", "Chicago"), ("Thunder", "Oklahoma City"), ("Spurs", "San Antonio")]
SYLLABLES = ["ka", "lo", "mi", "ra", "ten", "vos", "dur", "bel", "nor", "sa", "quin", "har"]


def _day(rng: random.Random) -> date:
    return date(2026, 12, 1) + timedelta(days=rng.randrange(0, 120))


def _question(rng: random.Random, k: int) -> tuple[str, str, str, tuple]:
    """(Kalshi title, Polymarket question, close date ISO, the question's identity) for question
    number k (a twin pair); two questions with one identity are the same question."""
    kind = k % 5
    d = _day(rng)
    ds, dl = f"{d:%b} {d.day}, {d.year}", f"{d:%B} {d.day}"
    if kind == 0:
        a, t = rng.choice(ASSETS), rng.randrange(10, 300) * 500
        return f"Will {a} be above ${t:,} on {ds}?", f"{a} above ${t / 1000:g}k on {dl}?", d.isoformat(), (a, t, d)
    if kind == 1:
        c, t = rng.choice(CITIES), rng.randrange(20, 100)
        return f"Will the high temp in {c} be above {t}° on {ds}?", f"Highest temperature in {c} on {dl}: above {t}°F?", \
            d.isoformat(), (c, t, d)
    if kind == 2:
        (na, _), (nb, _) = rng.sample(TEAMS, 2)
        return f"Will the {na} beat the {nb} on {ds}?", f"{na} vs. {nb} on {dl}", d.isoformat(), (frozenset((na, nb)), d)
    if kind == 3:
        name = " ".join("".join(rng.sample(SYLLABLES, 2)).capitalize() for _ in range(2))
        year = rng.choice([2026, 2027, 2028])
        return f"Will {name} be the {year} Senate nominee?", f"Senate nominee {year}: {name}?", f"{year}-08-01", \
            (frozenset(name.split()), year)
    d = date(2026, 12, 16) + timedelta(days=rng.randrange(0, 730))
    action, bp = rng.choice([("cut", 25), ("cut", 50), ("hike", 25)])
    verb = {"cut": "decreases", "hike": "increases"}[action]
    return f"Will the Fed {action} rates by {bp}bps at the {d:%B %Y} meeting?", \
        f"Fed {verb} interest rates by {bp} bps after {d:%B %Y} meeting?", d.isoformat(), (action, bp, d.year, d.month)


def write_bodies(n: int, twin_share: float, seed: int, folder: Path) -> tuple[Path, Path, set[tuple[str, str]]]:
    """The two bodies and the planted (Kalshi ticker, conditionId) twins."""
    rng = random.Random(seed)
    kalshi, poly, planted, seen = [], [], set(), set()
    k = 0
    while len(kalshi) < n:
        kt, pq, close, key = _question(rng, k)
        k += 1
        if key in seen:
            continue
        seen.add(key)
        ticker, cond = f"KXBENCH-{len(kalshi):05d}", f"0x{rng.getrandbits(256):064x}"
        kalshi.append({"ticker": ticker, "event_ticker": f"KXBENCH-E{len(kalshi):05d}", "title": kt,
                       "close_time": f"{close}T23:00:00Z", "status": "active"})
        if rng.random() < twin_share:   # the twin; otherwise Polymarket lists some other question
            poly.append({"conditionId": cond, "question": pq, "endDate": f"{close}T23:00:00Z", "active": True})
            planted.add((ticker, cond))
        else:
            j = k
            while key in seen:   # another kind each try: some kinds have few distinct questions
                j += 1
                _, pq, close, key = _question(rng, j)
            seen.add(key)
            poly.append({"conditionId": cond, "question": pq, "endDate": f"{close}T23:00:00Z", "active": True})
    kp, pp = folder / "kalshi.json", folder / "polymarket.json"
    kp.write_text(json.dumps({"markets": kalshi, "cursor": ""}), encoding="utf-8")
    pp.write_text(json.dumps(poly), encoding="utf-8")
    return kp, pp, planted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m arbbot.mapping.match.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--twins", type=float, default=0.5, help="share of Kalshi questions Polymarket also lists")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-confidence", type=float, default=0.5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        kp, pp, planted = write_bodies(args.n, args.twins, args.seed, Path(tmp))
        start = time.perf_counter()
        listings = {"kalshi": load_listings("kalshi", [str(kp)]), "polymarket": load_listings("polymarket", [str(pp)])}
        pairs = match(listings, args.min_confidence)
        seconds = time.perf_counter() - start
    found = {(p.ids[0], p.ids[1]) for p in pairs if p.relation == "same"}
    hits = len(found & planted)
    print(json.dumps({"kalshi": args.n, "polymarket": args.n, "seconds": round(seconds, 2), "planted_twins": len(planted),
                      "proposed": len(pairs), "planted_found": hits,
                      "recall": round(hits / len(planted), 3) if planted else None,
                      "precision_vs_planted": round(hits / len(pairs), 3) if pairs else None}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
