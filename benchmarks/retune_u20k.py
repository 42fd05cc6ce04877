"""A live limit change (dashboard: max_contracts / min_profit) on the 20,000-market universe:
`LiveSession.retune` (the engine's limits changed in place, then one scan) against what it did
before (`rebuilt`: a new engine built over the current books, then one scan), in the same run.
Prints p50 / p95 / max in ms over `--rounds` changes each.

    .venv/bin/python benchmarks/retune_u20k.py --rounds 20
"""
from __future__ import annotations

import argparse
import dataclasses
import time

from arbbot.bench.universe import build_u20k
from arbbot.engine import Engine
from arbbot.ops.stats import quantile
from arbbot.run.live import LiveSession, rebuilt_universe


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=20)
    rounds = p.parse_args().rounds
    universe = build_u20k(20_000).universe
    session = LiveSession({}, [], engine=None)
    session.universe, session.markets = universe, list(universe.markets)
    session.index = {m.name: i for i, m in enumerate(universe.markets)}
    session.engine = Engine(universe, engine=session.engine_choice)
    in_place, rebuilt = [], []
    for r in range(rounds):
        session.max_qty = 5_000 if r % 2 else 3_000
        t0 = time.perf_counter()
        session.retune()
        in_place.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        session._swap(dataclasses.replace(rebuilt_universe(session), max_qty=session.max_qty))
        rebuilt.append(time.perf_counter() - t0)
    for name, xs in (("in place (set_limits)", in_place), ("rebuilt (before)", rebuilt)):
        xs.sort()
        print(f"{name:<22} p50 {1e3 * quantile(xs, 0.5):8.2f} ms  p95 {1e3 * quantile(xs, 0.95):8.2f} ms  "
              f"max {1e3 * xs[-1]:8.2f} ms  (n={len(xs)}, engine {session.engine_choice})")


if __name__ == "__main__":
    main()
