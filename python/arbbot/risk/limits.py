"""Daily loss cap (realised µ$ per risk day) and open exposure limits per venue and per event."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

from arbbot.model import MarketId


DAY_S = 86_400


def parse_day_start(text: str) -> int:
    """Parse a day start "HH:MM" (UTC, 00:00–23:59) → seconds after UTC midnight; ValueError otherwise."""
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text if isinstance(text, str) else "")
    if m is None:
        raise ValueError(f"day start must be HH:MM between 00:00 and 23:59 (UTC), not {text!r}")
    return int(m[1]) * 3600 + int(m[2]) * 60


def risk_day_ms(now_s: float, day_start_utc: str = "00:00") -> tuple[int, int]:
    """The risk day containing `now_s` (Unix seconds) as [start_ms, end_ms): days run from
    `day_start_utc` to the same time the next day (e.g. "06:30" → 06:30 UTC to 06:30 UTC)."""
    offset = parse_day_start(day_start_utc)
    start_s = int((now_s - offset) // DAY_S) * DAY_S + offset
    return start_s * 1000, (start_s + DAY_S) * 1000


class DailyLossCap:
    """Blocks trading once the risk day's realised loss (µ$ ≥ 0) reaches `cap_micros`.

    Loss of one execution = max(0, −cash flow) (fees included) of an execution that ended unwound
    or naked, and of a complete one the loss on the lots it unwound or the loss its sets locked in
    (a leg completed after its edge went: `OrderStore._book_loss`); profits of completed executions
    never offset it. The day starts at `day_start_utc`
    ("HH:MM" UTC) and `clock` gives Unix seconds (injectable).

    With `store` (an `OrderStore`) the store's realised-loss ledger is the record: the cap reads
    it again whenever the store wrote to it (and when the day rolls), so it still binds after a
    restart and counts executions that crash recovery ended. Without a store (tests, no persistence) losses
    passed to `record()` are kept in memory for the current day."""

    def __init__(self, cap_micros: int, store=None, *, day_start_utc: str = "00:00",
                 clock: Callable[[], float] = time.time) -> None:
        if cap_micros <= 0:
            raise ValueError("cap_micros must be > 0")
        parse_day_start(day_start_utc)
        self.cap, self.store, self.day_start_utc, self.clock = cap_micros, store, day_start_utc, clock
        self._day = self.day()
        self._loss = 0
        self._read: tuple[tuple, int] | None = None     # ((day, ledger version), loss µ$) of the last read

    def day(self) -> tuple[int, int]:
        """The current risk day as [start_ms, end_ms) (wall ms)."""
        return risk_day_ms(self.clock(), self.day_start_utc)

    def record(self, pnl_micros: int) -> None:
        """In-memory mode: count an unwound/naked execution's cash flow (µ$; only a negative one
        is a loss). With a store this does nothing: the store booked it when the execution ended."""
        if self.store is None:
            self._roll()
            self._loss += max(0, -int(pnl_micros))

    def _roll(self) -> None:
        if self.day() != self._day:
            self._day, self._loss = self.day(), 0

    @property
    def loss(self) -> int:
        """µ$ ≥ 0 realised as loss so far in the current risk day."""
        if self.store is not None:
            # the ledger is written only through this store (one bot per store): re-read it when
            # the store says it changed or the day rolled, keeping a query off every check
            key = (self.day(), self.store.ledger_version)
            if self._read is None or self._read[0] != key:
                # from the day's start with no end (as the sizer's step 10 reads it): a loss stamped
                # after "now" — the wall clock stepped back across the day start — still counts
                self._read = (key, self.store.daily_loss(key[0][0]))
            return self._read[1]
        self._roll()
        return self._loss

    @property
    def realised(self) -> int:
        """The day's realised loss as a signed PnL (µ$ ≤ 0): −loss."""
        return -self.loss

    @property
    def fees(self) -> int | None:
        """µ$ of fees on every fill recorded in the current risk day (None without a store)."""
        return None if self.store is None else self.store.daily_fees(*self.day())

    def reason(self) -> str | None:
        loss = self.loss
        if loss >= self.cap:
            return (f"daily loss cap: realised loss {loss} µ$ ≥ {self.cap} µ$ today "
                    f"(day starts {self.day_start_utc} UTC)")
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
            yield MarketId.parse(leg.market).venue.label, event_of(leg.market), leg.market, leg.cost + leg.fee

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

    def clear(self) -> None:
        """Forget everything held (before seeding again from the store)."""
        self.venue.clear()
        self.event.clear()
        self.market.clear()
