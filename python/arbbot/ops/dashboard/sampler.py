"""What the dashboard shows of the bot's in-memory state, copied ON the bot's event loop.

`LoopSampler.sample()` reads the session and the trader where they live (no lock, no race with
the hot path) and returns a new dict of plain JSON values, which `process.DashboardProcess`
sends to the dashboard's process once per interval. Parts that did not change (recent and
current opportunities, reason counts) are left out of a sample: the receiver keeps the last. Each sample is small and bounded (≈ 0.1–0.6
ms of the loop at U20k; `costs_ns` keeps them): counters, the most profitable current
opportunities (a full engine scan, ≈ 0.6 ms at U20k, so large universes scan one sample in
markets / 2,000), percentiles over the newest 1,000 detection latencies, the top reasons.
Units: µ$, lots; latencies in µs.
"""
from __future__ import annotations

import heapq
import itertools
import time
from collections import deque

from arbbot import logs

MAX_OPPORTUNITIES = 25          # current opportunities shown, most profitable first
LATENCY_SAMPLES = 1_000         # newest detection latencies the percentiles use
TOP_REASONS = 10                # held-out / skipped reasons sent, largest first
HELD_SMALL = 100                # reason counts (held-out books per venue, held-out updates) over a set this
HELD_REFRESH_S = 10.0           # small: recounted when its size changes and every 10 s; over a larger one
HELD_REFRESH_LARGE_S = 60.0     # (≈ 1 µs a member, 10k+ at U20k) once a minute only
MARKETS_PER_SCAN = 2_000        # full scans for "current opportunities": one sample in max(1, markets / this)


def _newest(samples, n: int = LATENCY_SAMPLES) -> list:
    return list(itertools.islice(reversed(samples), n))


def _pct_us(samples_ns) -> dict | None:
    """{"p50", "p99"} in µs (1 decimal) of ns samples, with their count; None when empty (the
    nearest-rank quantile of `arbbot.ops.stats.quantile`, on one sort)."""
    if not samples_ns:
        return None
    ordered = sorted(samples_ns)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3     # noqa: E731
    return {"p50": round(at(0.5), 1), "p99": round(at(0.99), 1), "n": len(ordered)}


def _top(counts: dict, n: int = TOP_REASONS, cut: bool = True) -> dict:
    """The `n` largest counts; with `cut`, reasons cut at their first ':' (a book's reason may
    carry per-market detail: thousands of distinct keys otherwise)."""
    merged: dict[str, int] = {}
    for reason, k in list(counts.items()):
        key = str(reason).split(":", 1)[0][:60] if cut else str(reason)
        merged[key] = merged.get(key, 0) + k
    return dict(sorted(merged.items(), key=lambda kv: -kv[1])[:n])


def opportunity_view(opp, seen_at: float | None = None) -> dict:
    """One opportunity as plain JSON values (µ$, lots, ticks; `seen_at`: when reported, Unix s)."""
    out = {"id": opp.id, "lane": opp.lane.label, "kind": opp.kind.label, "qty_lots": opp.qty,
           "payout_micros": opp.payout, "cost_micros": opp.cost, "fee_micros": opp.fee, "profit_micros": opp.profit,
           "legs": [{"market": leg.market, "side": leg.side.label, "qty_lots": leg.qty, "worst_price": leg.worst_price,
                     "cost_micros": leg.cost, "fee_micros": leg.fee} for leg in opp.legs]}
    if seen_at is not None:
        out["seen_at"] = round(seen_at, 1)
    return out


def _due(last: tuple | None, size: int, now: float) -> bool:
    """Recount a reason set? `last`: (its size, when (Unix s), …) at the last count, or None."""
    if last is None:
        return True
    if size < HELD_SMALL:
        return last[0] != size or now - last[1] >= HELD_REFRESH_S
    return now - last[1] >= HELD_REFRESH_LARGE_S


class LoopSampler:
    """Samples `session` (a LiveSession) and `trader` (a PaperTrader, or None: detection only)."""

    def __init__(self, session, trader=None, *, scan: bool = True) -> None:
        self.session = session
        self.trader = trader
        self.scan = scan                  # False: current opportunities from the recent reports only
        self.started = time.time()
        self.cost_ns = 0                  # time the last sample took on the loop
        self.costs_ns: deque = deque(maxlen=3_600)    # every sample's time on the loop, ns
        self._counts: tuple[int, dict[str, int]] | None = None      # (len(markets), venue → markets)
        self._held: tuple[int, float, dict] | None = None   # (len(held), when, venue → (held, top reasons))
        self._current: list[dict] | None = None
        self._recent_key: tuple | None = None
        self._held_out: tuple[int, float] | None = None      # (distinct reasons, when) of the last count
        self._samples = 0

    def resend_all(self) -> None:
        """The next sample carries every part (the last one did not reach the dashboard)."""
        self._current = self._recent_key = self._held_out = self._held = None

    def sample(self) -> dict:
        t0 = time.perf_counter_ns()
        s, st = self.session, self.session.stats
        now = s.clock()
        out = {"t": time.time(), "uptime_s": round(time.time() - self.started, 1),
               "book_updates": st.book_updates, "detections": st.detections, "found": dict(st.found),
               "detect_us": _pct_us(_newest(st.latencies_ns)),
               "markets": len(s.markets), "healthy": s.healthy() if s.markets else 0,
               "errors": [logs.scrub(e) for e in s.errors[-5:]], "engine": getattr(s, "engine_choice", None),
               "min_profit_micros": s.min_profit, "max_qty_lots": s.max_qty}
        t_now = time.time()
        if _due(self._held_out, len(st.held_out), t_now):
            self._held_out = (len(st.held_out), t_now)
            out["held_out"] = _top(st.held_out)
        # what did not change since the last sample is left out (the dashboard keeps the last)
        recent = list(st.recent)
        key = tuple(id(opp) for _, opp in recent)
        if key != self._recent_key:
            self._recent_key = key
            out["recent"] = [opportunity_view(opp, seen_at=t_now - (now - at)) for at, opp in recent]
        self._samples += 1
        every = max(1, len(s.markets) // MARKETS_PER_SCAN)
        if self.scan and s.engine is not None and (self._current is None or (self._samples - 1) % every == 0):
            # a full scan (≈ 0.6 ms at U20k, decoding every live opportunity): every sample on
            # small universes, one in markets / 2,000 on large ones (the others reuse it)
            best = heapq.nlargest(MAX_OPPORTUNITIES, s.engine.scan().opportunities, key=lambda o: o.profit)
            current = [opportunity_view(o) for o in best]
            if current != self._current:
                self._current = out["current"] = current
        out["venues"] = self._venues()
        out["trading"] = self._trading() if self.trader is not None else None
        self.cost_ns = time.perf_counter_ns() - t0
        self.costs_ns.append(self.cost_ns)
        out["sample_us"] = round(self.cost_ns / 1e3, 1)
        return out

    def _venues(self) -> dict:
        """Per venue: markets, healthy books, held-out books by reason. The market counts are
        computed once (the universe is fixed after discovery); the held ones from `session.held`
        (market name → reason: usually a handful; a large set is recounted every 10 s only)."""
        s = self.session
        if self._counts is None or self._counts[0] != len(s.markets):
            counts: dict[str, int] = {}
            for m in s.markets:
                counts[m.venue.label] = counts.get(m.venue.label, 0) + 1
            self._counts = (len(s.markets), counts)
        now = time.time()
        if _due(self._held, len(s.held), now):
            held: dict[str, dict[str, int]] = {}
            for name, why in list(s.held.items()):
                per = held.setdefault(name.split(":", 1)[0], {})
                per[why] = per.get(why, 0) + 1
            self._held = (len(s.held), now, {v: (sum(per.values()), _top(per)) for v, per in held.items()})
        venues = {}
        for v, n in self._counts[1].items():
            count, top = self._held[2].get(v, (0, {}))
            venues[v] = {"markets": n, "healthy": n - count, "held": top}
        return venues

    def _trading(self) -> dict:
        t = self.trader
        gates = t.gates
        breaker = gates.breaker
        out = {"executions": dict(t.stats.executions), "skipped": _top(t.stats.skipped, cut=False),
               "offered": t.stats.offered,
               "locked_in_micros": t.stats.locked_in, "realised_micros": t.stats.realised,
               "busy": t.busy, "cash_micros": dict(t.cash),
               "kill_switch": gates.kill.reason() if gates.kill is not None else None,
               "breaker": None if breaker is None else {"state": breaker.state.value, "failures": breaker.failures,
                                                        "threshold": breaker.threshold},
               "daily_loss_micros": gates.loss.loss if gates.loss is not None else None,
               "daily_loss_cap_micros": gates.loss.cap if gates.loss is not None else None,
               "exposure_limits_micros": None if gates.exposure is None else {
                   "venue": gates.exposure.per_venue, "event": gates.exposure.per_event,
                   "market": gates.exposure.per_market},
               "order_latency_us": {v: _pct_us(list(d)) for v, d in t.executor.order_latencies_ns.items()},
               "first_order_us": _pct_us(list(t.executor.first_order_ns)),
               "reconcile_differences": t.reconcile_differences,
               "drift": t.drift.summary() if getattr(t, "drift", None) is not None else None}
        return out
