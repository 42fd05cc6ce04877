"""Daily loss cap (realised µ$ per UTC day) and open exposure limits per venue and per event."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


class DailyLossCap:
    """Blocks trading once the day's realised PnL ≤ −cap (µ$). The day rolls over at UTC midnight."""

    def __init__(self, cap_micros: int, *, clock: Callable[[], float] = time.time) -> None:
        if cap_micros <= 0:
            raise ValueError("cap_micros must be > 0")
        self.cap, self.clock = cap_micros, clock
        self._day = self._today()
        self.realised = 0

    def _today(self) -> int:
        return int(self.clock() // 86_400)

    def record(self, pnl_micros: int) -> None:
        self._roll()
        self.realised += int(pnl_micros)

    def _roll(self) -> None:
        if self._today() != self._day:
            self._day, self.realised = self._today(), 0

    def reason(self) -> str | None:
        self._roll()
        if self.realised <= -self.cap:
            return f"daily loss cap: realised {self.realised} µ$ ≤ −{self.cap} µ$"
        return None


@dataclass(frozen=True)
class Held:
    """Money at risk in one market (µ$ at cost; `fee` µ$ on top)."""
    market: str                 # engine name venue:id
    cost: int
    fee: int = 0


class ExposureLimits:
    """Open exposure (µ$ at cost, fees included) per venue, per event and per market. Anything
    with `.market`, `.cost`, `.fee` counts: an opportunity's planned legs before a trade, `Held`
    records of what an execution really bought after it."""

    def __init__(self, per_venue: int | None = None, per_event: int | None = None,
                 per_market: int | None = None) -> None:
        self.per_venue, self.per_event, self.per_market = per_venue, per_event, per_market
        self.venue: dict[str, int] = {}
        self.event: dict[str, int] = {}
        self.market: dict[str, int] = {}

    @staticmethod
    def _parts(legs, event_of: Callable[[str], str]):
        for leg in legs:
            yield leg.market.split(":", 1)[0], event_of(leg.market), leg.market, leg.cost + leg.fee

    def reason(self, legs, event_of: Callable[[str], str]) -> str | None:
        """Why adding these legs would breach a limit, or None."""
        extra: dict[tuple[str, str], int] = {}
        for v, e, m, amt in self._parts(legs, event_of):
            for key in (("venue", v), ("event", e), ("market", m)):
                extra[key] = extra.get(key, 0) + amt
        for (scope, name), amt in sorted(extra.items(), key=lambda kv: ("venue", "event", "market").index(kv[0][0])):
            limit, held = getattr(self, f"per_{scope}"), getattr(self, scope).get(name, 0)
            if limit is not None and held + amt > limit:
                where = name if scope == "venue" else f"{scope} {name}"
                return f"exposure on {where}: {held} + {amt} µ$ > {limit} µ$"
        return None

    def add(self, legs, event_of, sign: int = 1) -> None:
        for v, e, m, amt in self._parts(legs, event_of):
            self.venue[v] = self.venue.get(v, 0) + sign * amt
            self.event[e] = self.event.get(e, 0) + sign * amt
            self.market[m] = self.market.get(m, 0) + sign * amt

    def release(self, legs, event_of) -> None:
        self.add(legs, event_of, -1)
