"""Scheduled settlements: markets a simulator settles on its own clock (`Scenario.settlements`).

Given as JSON (`arbbot sim --settlements '[…]'`, `spawn(settlements=[…])`, `start(settlements=…)`),
a list of objects, each exactly:

    {"venue": "kalshi" | "polymarket", "market": "<ticker / condition id>",
     "result": "yes" | "no" | "half", "after_s": <seconds ≥ 0>}

`after_s`: seconds after that venue starts listening (event-loop time); each fires once. `result`
"half" pays 5,000 µ$ per lot of either side (Kalshi: result "scalar" at $0.50; Polymarket: a
50/50). ForecastEx is not settled (its TWS API publishes no result). A bad entry raises ValueError
naming it (`parse_settlements`, `check_listed`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from arbbot.sim.engine.matching import FULL

YES_VALUES = {"yes": FULL, "no": 0, "half": FULL // 2}     # result → µ$ per YES lot
VENUES = ("kalshi", "polymarket")
_KEYS = {"venue", "market", "result", "after_s"}


@dataclass(frozen=True)
class ScheduledSettlement:
    venue: str
    market: str
    result: str               # yes | no | half
    after_s: float            # seconds after the venue starts listening

    @property
    def yes_value(self) -> int:
        """µ$ per YES lot."""
        return YES_VALUES[self.result]


def yes_value(result: str) -> int:
    """µ$ per YES lot of a `settle_market` result (yes | no | half); ValueError otherwise."""
    if result not in YES_VALUES:
        raise ValueError(f"result must be one of {', '.join(YES_VALUES)}, not {result!r}")
    return YES_VALUES[result]


def parse_settlements(raw) -> tuple[ScheduledSettlement, ...]:
    """The decoded JSON list → settlements; ValueError naming the first bad entry."""
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        raise ValueError("settlements must be a list of {venue, market, result, after_s} objects")
    out: list[ScheduledSettlement] = []
    seen: set[tuple[str, str]] = set()
    for i, e in enumerate(raw):
        if isinstance(e, ScheduledSettlement):
            e = {"venue": e.venue, "market": e.market, "result": e.result, "after_s": e.after_s}
        where = f"settlements[{i}]"
        if not isinstance(e, dict):
            raise ValueError(f"{where}: expected an object, got {type(e).__name__}")
        if set(e) != _KEYS:
            missing, extra = sorted(_KEYS - set(e)), sorted(set(e) - _KEYS)
            raise ValueError(f"{where}: " + "; ".join(
                ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(extra)}"] if extra else [])))
        venue, market, result, after = e["venue"], e["market"], e["result"], e["after_s"]
        if venue not in VENUES:
            raise ValueError(f"{where}: venue must be kalshi or polymarket (ForecastEx results are not simulated), "
                             f"not {venue!r}")
        if not isinstance(market, str) or not market:
            raise ValueError(f"{where}: market must be a non-empty string")
        if result not in YES_VALUES:
            raise ValueError(f"{where}: result must be yes, no or half, not {result!r}")
        if isinstance(after, bool) or not isinstance(after, (int, float)) or not math.isfinite(after) or after < 0:
            raise ValueError(f"{where}: after_s must be a number of seconds ≥ 0, not {after!r}")
        if (venue, market) in seen:
            raise ValueError(f"{where}: {venue} market {market} is settled twice")
        seen.add((venue, market))
        out.append(ScheduledSettlement(venue, market, result, float(after)))
    return tuple(out)


def check_listed(settlements, scenario) -> None:
    """ValueError if a settlement names a market its venue does not list in `scenario`."""
    for i, s in enumerate(settlements):
        if not any(l.market_id == s.market for _e, _q, l in scenario.listings(s.venue)):
            raise ValueError(f"settlements[{i}]: {s.venue} lists no market {s.market!r} in scenario {scenario.name}")
