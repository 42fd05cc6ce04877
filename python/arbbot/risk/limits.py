"""Daily loss cap (realised µ$ per UTC day) and open exposure limits per venue and per event."""
from __future__ import annotations

import time
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


class ExposureLimits:
    """Open exposure (µ$ at cost, fees included) per venue and per event."""

    def __init__(self, per_venue: int | None = None, per_event: int | None = None) -> None:
        self.per_venue, self.per_event = per_venue, per_event
        self.venue: dict[str, int] = {}
        self.event: dict[str, int] = {}

    @staticmethod
    def _parts(legs, event_of: Callable[[str], str]):
        for leg in legs:
            yield leg.market.split(":", 1)[0], event_of(leg.market), leg.cost + leg.fee

    def reason(self, legs, event_of: Callable[[str], str]) -> str | None:
        """Why adding these legs would breach a limit, or None."""
        dv: dict[str, int] = {}
        de: dict[str, int] = {}
        for v, e, amt in self._parts(legs, event_of):
            dv[v] = dv.get(v, 0) + amt
            de[e] = de.get(e, 0) + amt
        for v, amt in dv.items():
            if self.per_venue is not None and self.venue.get(v, 0) + amt > self.per_venue:
                return f"exposure on {v}: {self.venue.get(v, 0)} + {amt} µ$ > {self.per_venue} µ$"
        for e, amt in de.items():
            if self.per_event is not None and self.event.get(e, 0) + amt > self.per_event:
                return f"exposure on event {e}: {self.event.get(e, 0)} + {amt} µ$ > {self.per_event} µ$"
        return None

    def add(self, legs, event_of, sign: int = 1) -> None:
        for v, e, amt in self._parts(legs, event_of):
            self.venue[v] = self.venue.get(v, 0) + sign * amt
            self.event[e] = self.event.get(e, 0) + sign * amt

    def release(self, legs, event_of) -> None:
        self.add(legs, event_of, -1)
