"""The universe's update process: every book moves on its own Poisson clock, one scheduler for all.

Each book (a listing of a question on one venue) updates at exponential intervals with its
question's mean (`Question.mean_interval_ms`); one heap of (due time, book) holds the next update
of every book, so 20,000 books cost one timer, not 20,000 tasks. An update is, as on real books,
mostly a size change at one level (one `BookDelta`), sometimes (`MOVE_P`) a move of the
question's fair value by 1¢; a book whose quotes are off its question's fair value is requoted
around it (only the levels that change: 2–4 deltas). Fair values are shared by a question's
listings on every venue (a twin's other book catches up at its own next update); within a
mutually exclusive event a move transfers 1¢ from or to another outcome (the event's sum is
kept); a threshold ladder moves all rungs together (their order is kept). With probability `scenario.mispricing_rate` per update a
book is planted: quoted `plant_ticks` off fair for its next three updates (`Plant`, recorded in
its venue's `PriceProcess.plants`).

Time is simulated seconds since the driver started; `advance(t)` applies every update due by
`t` (tests call it directly), `run()` follows the event loop's clock, skips updates it is
over `MAX_LAG_S` late for and reports rates, lateness, CPU and RSS every `STATS_EVERY_S` to
`on_stats`. Deterministic: the same seed and the same `advance` times give the same books.
Units: prices in ticks ($0.0001), sizes in lots (0.01 contract), times in seconds.
"""
from __future__ import annotations

import asyncio
import heapq
import math
import random
import time
from dataclasses import dataclass

from arbbot.sim.engine.matching import FULL, HOUSE, Exchange
from arbbot.sim.scenarios import EventDef, Listing, Plant, PriceProcess, Question, Scenario

MOVE_P = 0.3                # share of updates that move the question's fair value (then requote)
SIZE_LOTS = (1_000, 50_000)  # a resized level's new size: 10–500 contracts (lots = 0.01 contract)
MAX_BATCH = 5_000           # updates applied per wake-up before yielding to the event loop
STATS_EVERY_S = 10.0        # run(): how often `on_stats` gets the window's figures
MAX_LAG_S = 1.0             # run(): an update this late is skipped (rescheduled), not replayed in a burst


@dataclass
class Book:
    event: EventDef
    question: Question
    listing: Listing
    exchange: Exchange
    process: PriceProcess
    rate: float             # updates per second (1 / mean interval)


@dataclass
class DriverStats:
    updates: int = 0         # book updates applied (cumulative)
    skipped: int = 0         # updates dropped for being over MAX_LAG_S late (cumulative; run() only)
    late_s_max: float = 0.0  # worst lateness of an applied update against its due time, s (this window)
    late_s_sum: float = 0.0  # Σ lateness of this window's applied updates, s


def _rss_mib() -> float:
    """This process's resident set (MiB; Linux /proc), 0 where unavailable."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(x.split()[1]) for x in fh if x.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration, ValueError):
        return 0.0


class UniverseDriver:
    """Drives the books of `scenario` on the venues' engines (`venues`: name → its PriceProcess,
    whose `ex` is the venue's Exchange)."""

    def __init__(self, scenario: Scenario, seed: int, venues: dict[str, PriceProcess]) -> None:
        self.s = scenario
        self.rng = random.Random(f"{seed}:universe-updates")
        self.books: list[Book] = [
            Book(e, q, l, venues[l.venue].ex, venues[l.venue], 1000.0 / q.mean_interval_ms)
            for e in scenario.events for q in e.questions for l in q.listings if l.venue in venues]
        self.heap = [(self.rng.expovariate(b.rate), i) for i, b in enumerate(self.books)]
        heapq.heapify(self.heap)
        self.skew: dict[int, tuple[int, int]] = {}     # book → (skewed updates left, shift ticks)
        self.centre = [b.question.fair for b in self.books]   # each book's quoted centre, ticks
        self.now = 0.0                                  # simulated seconds
        self.stats = DriverStats()
        self.clock = time.time                          # stamps plants (wall-clock seconds)
        self.task: asyncio.Task | None = None           # run(), when started on a loop
        self.on_stats = None                            # callable(dict) every STATS_EVERY_S in run()

    def intended_rate(self) -> float:
        """Book updates per second the process is set to deliver (Σ of the books' rates)."""
        return math.fsum(b.rate for b in self.books)

    # ---- scheduling ---------------------------------------------------------------------
    def advance(self, t: float, limit: int | None = None, lateness_from: float | None = None) -> int:
        """Apply every update due at or before `t` simulated seconds (at most `limit`); the
        number handled. `lateness_from`: the real elapsed time — record how late each update
        runs, and skip (reschedule from now) any over `MAX_LAG_S` late: a simulator that fell
        behind drops updates rather than bursting a backlog."""
        n = 0
        heap, st = self.heap, self.stats
        while heap and heap[0][0] <= t and (limit is None or n < limit):
            due, i = heap[0]
            n += 1
            if lateness_from is not None:
                late = lateness_from - due
                if late > MAX_LAG_S:
                    st.skipped += 1
                    heapq.heapreplace(heap, (lateness_from + self.rng.expovariate(self.books[i].rate), i))
                    continue
                st.late_s_sum += late
                st.late_s_max = max(st.late_s_max, late)
            self.now = due
            self.update(i)
            heapq.heapreplace(heap, (due + self.rng.expovariate(self.books[i].rate), i))
        return n

    async def run(self) -> None:
        """Follow the event loop's clock: sleep until the next update is due, apply what is due
        (in batches of `MAX_BATCH`, yielding in between), forever."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        window = (0.0, 0, time.process_time())        # start: elapsed s, updates, CPU s
        while True:
            wait = self.heap[0][0] - (loop.time() - t0)
            await asyncio.sleep(max(wait, 0.0))
            elapsed = loop.time() - t0
            self.advance(elapsed, MAX_BATCH, lateness_from=elapsed)
            if elapsed - window[0] >= STATS_EVERY_S:
                window = self._report(elapsed, window)

    def _report(self, elapsed: float, window: tuple[float, int, float]) -> tuple[float, int, float]:
        """Pass the window's figures to `on_stats`, start a new window."""
        t, n, cpu = window
        now_cpu, st = time.process_time(), self.stats
        if self.on_stats is not None:
            span, done = elapsed - t, st.updates - n
            self.on_stats({"elapsed_s": round(elapsed, 1), "updates": st.updates, "skipped": st.skipped,
                           "updates_per_s": round(done / span, 1), "intended_per_s": round(self.intended_rate(), 1),
                           "late_ms_max": round(st.late_s_max * 1000, 1),
                           "late_ms_mean": round(st.late_s_sum / done * 1000, 2) if done else 0.0,
                           "cpu_pct": round((now_cpu - cpu) / span * 100, 1), "rss_mib": round(_rss_mib(), 1)})
        st.late_s_max = st.late_s_sum = 0.0
        return elapsed, st.updates, now_cpu

    # ---- one update ---------------------------------------------------------------------
    def update(self, i: int) -> None:
        b = self.books[i]
        if not b.exchange.markets[b.listing.market_id].open:
            return                            # closed or settled: its book no longer moves
        self.stats.updates += 1
        if i in self.skew:
            self._requote(i)
        elif self.rng.random() < self.s.mispricing_rate:
            self._plant(i)
            self._requote(i)
        else:
            if self.rng.random() < MOVE_P:
                self._move(b.event, b.question)
            if self.centre[i] != b.question.fair:
                self._requote(i)
            else:
                self._resize(b)

    def _move(self, e: EventDef, q: Question) -> None:
        """The question's fair value by ±1¢, keeping an exclusive event's sum and a ladder's order."""
        d = self.rng.choice((-100, 100))
        if e.ladder:
            for x in e.questions:
                x.fair = min(9_900, max(100, x.fair + d))
        elif e.exclusive and len(e.questions) > 1:
            other = self.rng.choice([x for x in e.questions if x is not q])
            if 100 <= q.fair + d <= 9_900 and 100 <= other.fair - d <= 9_900:
                q.fair += d
                other.fair -= d
        else:
            q.fair = min(9_700, max(300, q.fair + d))

    def _plant(self, i: int) -> None:
        b = self.books[i]
        shift = self.s.plant_ticks if self.rng.random() < 0.5 else -self.s.plant_ticks
        room = self.s.spread + 2 * b.listing.tick
        if not room <= b.question.fair + shift <= FULL - room:
            shift = -shift
        self.skew[i] = (3, shift)
        p = b.process
        plant = Plant(b.listing.venue, b.listing.market_id, b.question.key, self.stats.updates, 3, shift, self.clock())
        p.plants.append(plant)
        if p.on_plant is not None:
            p.on_plant(plant)

    def _house(self, b: Book, side: str) -> dict[int, int]:
        """The house's resting lots per price on one side of the book."""
        return {o.price: o.remaining for o in b.exchange.markets[b.listing.market_id].bids[side]
                if o.account == HOUSE}

    def _requote(self, i: int) -> None:
        """Quote book `i` around its question's fair value (+ any plant shift): `depth_levels`
        bids a side from `spread` off the centre; levels kept keep their size, new ones get a
        fresh size. Stale levels go first, so the house never crosses itself."""
        b = self.books[i]
        shift = 0
        if i in self.skew:
            left, shift = self.skew[i]
            if left > 1:
                self.skew[i] = (left - 1, shift)
            else:
                del self.skew[i]
        t, centre, spread = b.listing.tick, b.question.fair + shift, self.s.spread
        self.centre[i] = centre
        yes_top = max(t, ((centre - spread) // t) * t)
        no_top = max(t, ((FULL - centre - spread) // t) * t)
        if yes_top + no_top >= FULL:
            no_top = ((FULL - yes_top - t) // t) * t
        want = {}
        for side, top in (("yes", yes_top), ("no", no_top)):
            want[side] = [p for p in (top - k * t for k in range(self.s.depth_levels)) if t <= p < FULL]
        have = {side: self._house(b, side) for side in ("yes", "no")}
        mid = b.listing.market_id
        for side in ("yes", "no"):
            for p in sorted(set(have[side]) - set(want[side])):
                b.exchange.set_level(HOUSE, mid, side, p, 0)
        for side in ("yes", "no"):
            for p in want[side]:
                if p not in have[side]:
                    b.exchange.set_level(HOUSE, mid, side, p, self._size())

    def _resize(self, b: Book) -> None:
        """One house level of the book gets a fresh size (one delta)."""
        side = "yes" if self.rng.random() < 0.5 else "no"
        levels = sorted(self._house(b, side))
        if levels:
            b.exchange.set_level(HOUSE, b.listing.market_id, side, self.rng.choice(levels), self._size())

    def _size(self) -> int:
        return self.rng.randrange(SIZE_LOTS[0] // 100, SIZE_LOTS[1] // 100 + 1) * 100
