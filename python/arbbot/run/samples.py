"""Raw samples for the sizing estimates, taken from the streamed books (SIZING.md step 5).

Per market and bought side, the *depletion* samples: once per second in which the best effective
ask changed, (size removed from the best ask the second began with) / (its size then), where
removed = what that level lost while it stayed the best ask (a smaller size at the same price:
trades and cancels there; one refilled and taken again counts each time) and, should the second
end with the best ask at a worse price or none, what it still held then. A better price removes
nothing (the level is left beneath it). When the second began without an ask, its first one is
the start. A trade at the best ask also removes its size from the book, so trades are inside
`removed`; counting a trade print as well would count the same contracts twice. The states in
between a level's leaving and the second's end do not count: a venue moves a book one level at a
time (Kalshi's deltas), so a re-quote to a better price passes through a worse best ask, or none,
for a few microseconds, which is no liquidity gone (counted, a market re-quoting once a second
read as ρ ≈ 14/s); a level swept and refilled at its price within the second reads as nothing.
Seconds in which the best ask did not change give no sample (a conservative reading: quiet
seconds would pull ρ down).

Per market, the *mid* observations step 5 turns into volatility (ΔP / √Δt over consecutive
mids, `arbbot.sizing.robust.volatility_samples`): the mid in dollars, recorded when it changed and
at least `MID_EVERY_S` after the previous recorded one (mid = (best YES bid + best YES ask) / 2
from the effective ladders, spec/ARBITRAGE.md: on Polymarket a side's own token asks; elsewhere
min(YES ask, $1 − NO bid)). Throttled so a busy market adds at most one row per second to the store.
A book its adapter distrusts (`Book.tradeable` False: a gap, a crossed copy) gives no sample.

Order latencies per venue come from the executor (`on_latency`). Samples are (unix seconds, value)
pairs, at most `MAX_SAMPLES` per key kept here (the newest: step 5 reads the samples of its window
among those);
every new one is also queued in `pending` as (kind, key, unix s, value) for the store (unless
`persist` is off: a replay's store is thrown away, so nothing is written to it)
(`SessionSizer.flush_samples`; at most `MAX_PENDING`, the oldest dropped). Cleaning, the window
and the statistics (EWMA, RMS) are step 5's (`arbbot.sizing.robust`). Cost per book update: one
pass over the book's levels (`on_packed`) or none (`on_book`: levels are best first), no allocation
besides a sample when one is due.
"""
from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field

from arbbot.model import Side, Venue
from arbbot.units import TICKS_PER_DOLLAR

DEPLETION = 0                                # a scanned sample's kind (arbbot.replay.scan); else a mid
_SIDES = (Side.YES, Side.NO)
MAX_SAMPLES = 512
MAX_PENDING = 200_000
MID_EVERY_S = 1.0
FULL = TICKS_PER_DOLLAR                      # $1 in ticks
POLYMARKET = Venue.POLYMARKET.label + ":"    # the prefix of its market names: ladders are each token's own asks


class SampleRing:
    """The newest `maxlen` samples (unix s, value), oldest first when iterated: both floats in
    one array('d'), 16 bytes a sample (a deque of float pairs takes ≈ 110; 60,000 keys at 20k
    markets made that hundreds of MB within minutes)."""
    __slots__ = ("_data", "_start", "maxlen")

    def __init__(self, samples=(), maxlen: int = MAX_SAMPLES) -> None:
        self._data = array("d")
        self._start = 0                      # index in `_data` of the oldest sample once full
        self.maxlen = maxlen
        for sample in samples:
            self.append(sample)

    def append(self, sample: tuple[float, float]) -> None:
        self.push(*sample)

    def push(self, t: float, x: float) -> None:
        data = self._data
        if len(data) < 2 * self.maxlen:
            data.append(t)
            data.append(x)
            return
        i = self._start
        data[i], data[i + 1] = t, x
        self._start = (i + 2) % len(data)

    def __len__(self) -> int:
        return len(self._data) // 2

    def copy(self) -> "SampleRing":
        """An independent ring holding the same samples."""
        ring = SampleRing(maxlen=self.maxlen)
        ring._data = array("d", self._data)
        ring._start = self._start
        return ring

    def raw(self) -> tuple[array, int]:
        """The samples' own buffer (t, x pairs, float64) and the pair index of the oldest, for
        reading in place (`arbbot.sizing.robust_native`); valid until the next push."""
        return self._data, self._start // 2

    def __iter__(self):
        data, start = self._data, self._start
        n = len(data)
        for k in range(start, start + n, 2):
            j = k % n
            yield data[j], data[j + 1]


@dataclass(slots=True)
class _Depletion:
    """The best ask of one (market, side) within the current one-second bucket."""
    second: int = -1                         # unix second of the bucket
    price: int = 0                           # best ask, ticks (0 = none)
    size: int = 0                            # its size now, lots
    start_price: int = 0                     # the best ask when the bucket began (or its first), ticks
    start_size: int = 0                      # its size then, lots
    changed: bool = False                    # the best ask changed within the bucket
    removed: int = 0                         # lots it lost while it stayed the best ask, at its price
    left: int = 0                            # its size the last time it was the best ask, lots


def removed_lots(start_price: int, removed: int, left: int, price: int) -> int:
    """Lots of the bucket's first best ask (at `start_price`) gone by its end, when the best ask is
    at `price` (0: none): what it lost while it stayed the best (`removed`), and, should the best
    ask end worse or gone, what it still held then (`left`)."""
    return removed + left if price == 0 or price > start_price else removed


@dataclass(slots=True)
class _Mid:
    mid2: int = -1                           # 2 × mid, ticks, as last recorded
    at: float = 0.0                          # unix s it was recorded


@dataclass
class StreamSamples:
    depletion: dict[tuple[str, Side], SampleRing] = field(default_factory=dict)   # (unix s, per-second sample)
    mids: dict[str, SampleRing] = field(default_factory=dict)                     # (unix s, mid $)
    latency: dict = field(default_factory=dict)                                   # Venue → (unix s, seconds)
    pending: deque = field(default_factory=lambda: deque(maxlen=MAX_PENDING))
    persist: bool = True                     # False: nothing is queued for the store (a replay's throwaway one)
    _ask: dict[tuple[str, Side], _Depletion] = field(default_factory=dict)
    _mid: dict[str, _Mid] = field(default_factory=dict)
    _scanned: dict[int, SampleRing] = field(default_factory=dict)   # add_scanned's rings (`load` clears it)

    def on_packed(self, market: str, packed, now_s: float) -> None:
        """One book update, packed as `arbbot.run.live.pack` writes it: four side counts
        (yes_bids, yes_asks, no_bids, no_asks) then (price ticks, lots) pairs in that order."""
        yb_n, ya_n, nb_n, _ = packed[0], packed[1], packed[2], packed[3]
        yb, ya, nb, na = _best(packed, 4, yb_n, True), _best(packed, 4 + 2 * yb_n, ya_n, False), \
            _best(packed, 4 + 2 * (yb_n + ya_n), nb_n, True), _best(packed, 4 + 2 * (yb_n + ya_n + nb_n), packed[3], False)
        self._on_best(market, yb, ya, nb, na, now_s)

    def on_book(self, market: str, book, now_s: float) -> None:
        """One book update as the adapter published it (an `arbbot.model.Book`, levels best
        first): what the session's feeds call for every update, before their queues coalesce
        books (a coalesced update would hide the size that left the best ask in between)."""
        if not book.tradeable:
            return                           # it may be missing updates: the next trusted book is compared instead
        self._on_best(market, book.yes_bids[0] if book.yes_bids else None,
                      book.yes_asks[0] if book.yes_asks else None, book.no_bids[0] if book.no_bids else None,
                      book.no_asks[0] if book.no_asks else None, now_s)

    def _on_best(self, market: str, yb, ya, nb, na, now_s: float) -> None:
        """The best (price ticks, lots) of each side (None: empty) at `now_s` unix seconds."""
        if market.startswith(POLYMARKET):    # the other token's bids mirror these asks: never added
            yes_ask, no_ask = ya, na
        else:
            yes_ask, no_ask = effective_ask(ya, nb), effective_ask(na, yb)
        second = int(now_s)
        self._ask_update(market, Side.YES, yes_ask, second)
        self._ask_update(market, Side.NO, no_ask, second)
        if yb is not None and yes_ask is not None:
            self._mid_update(market, yb[0] + yes_ask[0], now_s)

    def _ask_update(self, market: str, side: Side, best: tuple[int, int] | None, second: int) -> None:
        key = (market, side)
        st = self._ask.get(key)
        if st is None:
            st = self._ask[key] = _Depletion()
        if st.second != second:
            if st.changed and st.start_size > 0:
                value = removed_lots(st.start_price, st.removed, st.left, st.price) / st.start_size
                _push(self.depletion, key, (float(st.second), value))
                if self.persist:
                    self.pending.append(("depletion", f"{market}#{side.label}", float(st.second), value))
            st.second, st.changed, st.removed = second, False, 0
            st.start_price, st.start_size = st.price, (st.size if st.price else 0)
            st.left = st.start_size
        price, size = best if best is not None else (0, 0)
        if price != st.price or size != st.size:
            st.changed = True
            if st.start_price == 0:          # the second began without an ask: measured from its first
                st.start_price, st.start_size, st.left = price, size, size
            elif price == st.price == st.start_price and size < st.size:
                st.removed += st.size - size     # taken (or cancelled) at the first best ask's price
            if price == st.start_price:
                st.left = size
            st.price, st.size = price, size

    def _mid_update(self, market: str, mid2: int, now_s: float) -> None:
        m = self._mid.get(market)
        if m is None:
            m = self._mid[market] = _Mid()
        elif mid2 == m.mid2 or now_s - m.at < MID_EVERY_S:
            return
        m.mid2, m.at = mid2, now_s
        mid = mid2 / 2 / FULL
        _push(self.mids, market, (now_s, mid))
        if self.persist:
            self.pending.append(("mid", market, now_s, mid))

    def add_scanned(self, samples, source, wanted) -> None:
        """Samples a replay's scanner took (`arbbot.replay.scan`: the same rules, per record):
        `(kind, market index, side, unix s, value)` with the market named in `source.names` /
        `source.mids`; those of markets not in `wanted` (market ids; it only grows) are left out.
        Each wanted (market, side) finds its ring through `_scanned` (keyed by the scanner's
        index: no key tuple built per sample)."""
        names, mids, persist, rings = source.names, source.mids, self.persist, self._scanned
        for kind, index, side, t, value in samples:
            slot = 3 * index + (2 if kind else side)       # kind: DEPLETION 0 (side 0 | 1), MID 1
            ring = rings.get(slot)
            if ring is None:
                if mids[index].id not in wanted:
                    continue
                name = names[index]
                store, key = (self.mids, name) if kind else (self.depletion, (name, _SIDES[side]))
                ring = store.get(key)
                if ring is None:
                    ring = store[key] = SampleRing()
                rings[slot] = ring
            ring.push(t, value)
            if persist:
                name = names[index]
                self.pending.append(("mid", name, t, value) if kind else
                                    ("depletion", f"{name}#{_SIDES[side].label}", t, value))

    def on_latency(self, venue, seconds: float, now_s: float) -> None:
        """One order's round trip (`venue` a Venue): kept here and queued for the store."""
        _push(self.latency, venue, (now_s, seconds))
        if self.persist:
            self.pending.append(("latency", venue.label, now_s, seconds))

    def load(self, latency: dict, depletion: dict, mids: dict) -> None:
        """Resume from stored samples (oldest first; each key keeps its newest MAX_SAMPLES)."""
        for target, source in ((self.latency, latency), (self.depletion, depletion), (self.mids, mids)):
            for key, samples in source.items():
                target[key] = SampleRing(samples)
        self._scanned.clear()

    def drain(self) -> list[tuple[str, str, float, float]]:
        """The queued samples, oldest first; the queue is left empty."""
        out = list(self.pending)
        self.pending.clear()
        return out


def _best(packed, start: int, count: int, highest: bool) -> tuple[int, int] | None:
    """The best (price, lots) of one side: the highest bid or the lowest ask."""
    best = None
    for i in range(start, start + 2 * count, 2):
        price, lots = packed[i], packed[i + 1]
        if lots > 0 and (best is None or (price > best[0] if highest else price < best[0])):
            best = (price, lots)
    return best


def effective_ask(ask: tuple[int, int] | None, opposite_bid: tuple[int, int] | None) -> tuple[int, int] | None:
    """The better of the side's own ask and $1 − the opposite side's bid (same size on a tie)."""
    via_bid = (FULL - opposite_bid[0], opposite_bid[1]) if opposite_bid is not None else None
    if ask is None:
        return via_bid
    if via_bid is None or ask[0] < via_bid[0]:
        return ask
    if via_bid[0] < ask[0]:
        return via_bid
    return ask[0], ask[1] + via_bid[1]


def _push(store: dict, key, sample: tuple[float, float]) -> None:
    q = store.get(key)
    if q is None:
        q = store[key] = SampleRing()
    q.append(sample)
