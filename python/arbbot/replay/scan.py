"""The replay's record scanner: a recording's lines in, the books its venues' streams deliver out.

One pass over the decompressed bytes of a recording (after its header) does what a replay did
per record in Python before: decode the `book` records, take the sizing samples of each one
(`arbbot.run.samples`: depletion at the best effective ask — a Polymarket token's own asks —
and throttled mids, from every tradeable record, before coalescing), and coalesce the books of one millisecond per venue and market, as a live
feed's queue coalesces a burst read at once. Only the coalesced books reach the replay's session.
Two implementations give the same output: `PyScanner` here (the twin) and the Swift one behind
`arbbot._native.Scanner` (`ARB_ENGINE_REPLAY` / `ARB_ENGINE` pick, as for the engine).

The fast path takes a line only in the recorder's own form, byte for byte:
    {"recv_ts_ms":N,"kind":"book","venue":"V","market":"M","book":[S,S,S,S],"tradeable":B,"reason":"R"}\\n
with N and the levels' numbers plain JSON integers (no sign, no leading zero, at most 18 digits;
each level's price at most PRICE_MAX ticks and its quantity at most LEVEL_QTY_MAX lots, so that a
book superseded within its millisecond is checked too),
V one of the venue labels, M non-empty and V, M, R printable ASCII without `"` or `\\\\`, each S
`[]` or `[[p,q],...]`, B `true`/`false` (`RECORD` is the grammar); and a raw `ws`/`rest` line
(`{"recv_ts_ms":` then `,"kind":"ws"` / `,"kind":"rest"` within the first 48 bytes, ending in a
newline), which is counted and skipped. `feed` stops before any other line (a `mappings`,
`listed` or `listings` record, a blank or bad line, a book in another form, a book whose time
goes back): the caller reads it the general way (`arbbot.replay.format`) and hands a book it
yields to `add`, so every book goes through the same samples and bursts in file order.

Output, in file order: *bursts* `(venue, recv ms, deliveries, samples)`, one per venue and
millisecond, closed once a later millisecond is read (`finish` closes the last): `deliveries`
holds `(market index, records, packed, tradeable, reason)` per market in the order the markets
first appeared in the burst, with its last book (`packed`: an int64 array in the session's packed
layout, `arbbot.run.live.pack`: the four side counts, then the (price ticks, lots) pairs) and how
many records it stands for; `samples` the samples those records produced, in order:
`(DEPLETION, market index, side 0 YES | 1 NO, unix second, value)` and
`(MID, market index, 0, unix s, mid $)`. A market index is the position of `(venue, market)` in
`names`, in order of first appearance. A sample's time is the record's receive time
(recv ms / 1000), the second `recv ms // 1000`."""
from __future__ import annotations

import re
from array import array

from arbbot.engine.types import LEVEL_QTY_MAX, PRICE_MAX
from arbbot.run.samples import DEPLETION, FULL, MID_EVERY_S, effective_ask, removed_lots

MID = 1
VENUES = ("kalshi", "polymarket", "forecastex")

_INT = rb"(?:0|[1-9][0-9]{0,17})"
_TEXT = rb"[\x20\x21\x23-\x5b\x5d-\x7e]"           # printable ASCII but `"` and `\`
_SIDE = rb"\[(?:\[" + _INT + rb"," + _INT + rb"\](?:,\[" + _INT + rb"," + _INT + rb"\])*)?\]"
RECORD = re.compile(
    rb'\{"recv_ts_ms":(' + _INT + rb'),"kind":"book","venue":"(kalshi|polymarket|forecastex)",'
    rb'"market":"(' + _TEXT + rb'+)","book":\[(' + _SIDE + rb'),(' + _SIDE + rb'),(' + _SIDE + rb'),('
    + _SIDE + rb')\],"tradeable":(true|false),"reason":"(' + _TEXT + rb'*)"\}\n')
_LEVEL = re.compile(rb"\[(" + _INT + rb"),(" + _INT + rb")\]")
PREFIX = b'{"recv_ts_ms":'         # how the recorder starts every line
KIND = b',"kind":"'                 # then the kind, within the first 48 bytes


def new_scanner(engine: str | None = None):
    """A fresh scanner: Swift's (`arbbot._native.Scanner`) or the twin, as `engine` or
    ARB_ENGINE_REPLAY / ARB_ENGINE say (`arbbot.engine.select`)."""
    from arbbot.engine.select import implementation, native_module
    if implementation("replay", engine) == "swift":
        return native_module().Scanner()
    return PyScanner()


class PyScanner:
    """The pure-Python scanner (see the module); state carries over from one `feed` to the next."""

    def __init__(self) -> None:
        self.names: list[tuple[str, str]] = []      # market index → (venue, market) as written
        self._index: dict[tuple[str, str], int] = {}
        self.last: int | None = None                 # recv ms of the last book record (fed or added)
        self.frames = 0                              # raw ws/rest lines skipped
        self.books = 0                               # book records (fed or added)
        self._open_at: int | None = None             # the millisecond of the open bursts
        self._open: dict[str, tuple] = {}            # venue → (deliveries {index: [n, sides, t, r]}, samples)
        self._closed: list[tuple] = []
        # (index, side) → [second, price, size, start price, start size, changed, removed, left] (`_Depletion`)
        self._ask: dict[tuple[int, int], list] = {}
        self._mid: dict[int, list] = {}              # index → [2 × mid ticks, unix s]

    def feed(self, data: bytes, start: int = 0) -> tuple[int, int, bool]:
        """Scan the complete lines of `data` from offset `start`: (offset after the last line
        taken, lines taken, stopped). `stopped`: the line at that offset is not for the fast
        path (read it the general way, then feed on after it); else the rest of `data` is an
        incomplete last line."""
        pos, lines, n = start, 0, len(data)
        match = RECORD.match
        while pos < n:
            nl = data.find(b"\n", pos)
            if nl < 0:
                return pos, lines, False
            m = match(data, pos, nl + 1)
            if m is not None and m.end() == nl + 1:
                at = int(m.group(1))
                if self.last is not None and at < self.last:
                    return pos, lines, True          # the general path reports it
                sides = tuple(tuple((int(p), int(q)) for p, q in _LEVEL.findall(m.group(k))) for k in (4, 5, 6, 7))
                if any(p > PRICE_MAX or q > LEVEL_QTY_MAX for side in sides for p, q in side):
                    return pos, lines, True          # out of the engine's bounds: the general path names it
                try:
                    venue, market, reason = m.group(2).decode(), m.group(3).decode(), m.group(9).decode()
                except UnicodeDecodeError:
                    return pos, lines, True          # not UTF-8: the general path names the line
                self._record(at, venue, market, sides, m.group(8) == b"true", reason)
            elif data.startswith(PREFIX, pos) and self._raw(data, pos, nl):
                self.frames += 1
            else:
                return pos, lines, True
            pos = nl + 1
            lines += 1
        return pos, lines, False

    @staticmethod
    def _raw(data: bytes, pos: int, nl: int) -> bool:
        k = data.find(KIND, pos + 14, min(pos + 48, nl + 1))
        if k < 0:
            return False
        k += 9
        return data.startswith(b'ws"', k, nl + 1) or data.startswith(b'rest"', k, nl + 1)

    def add(self, at: int, venue: str, market: str, sides, tradeable: bool, reason: str) -> None:
        """A book record read the general way (its time already checked), in file order."""
        sides = tuple(tuple((int(p), int(q)) for p, q in side) for side in sides)
        if len(sides) > 4:
            raise ValueError(f"a book has four sides, not {len(sides)}")
        sides += ((),) * (4 - len(sides))
        self._record(at, venue, market, sides, bool(tradeable), reason)

    def take(self) -> list[tuple]:
        """The bursts closed since the last call, in order."""
        out, self._closed = self._closed, []
        return out

    def finish(self) -> list[tuple]:
        """Close the open bursts (the file ended); every burst not yet taken."""
        self._close()
        return self.take()

    # ---- per record -----------------------------------------------------------------------------
    def _record(self, at: int, venue: str, market: str, sides, tradeable: bool, reason: str) -> None:
        self.books += 1
        self.last = at
        key = (venue, market)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.names)
            self.names.append(key)
        if self._open_at is not None and at != self._open_at:
            self._close()
        self._open_at = at
        burst = self._open.get(venue)
        if burst is None:
            burst = self._open[venue] = ({}, [])
        deliveries, samples = burst
        d = deliveries.get(index)
        if d is None:
            deliveries[index] = [1, sides, tradeable, reason]
        else:
            d[0] += 1
            d[1], d[2], d[3] = sides, tradeable, reason
        if tradeable:                        # it may be missing updates: not sampled (as the session)
            self._sample(index, venue, sides, at, samples)

    def _close(self) -> None:
        at = self._open_at
        for venue, (deliveries, samples) in self._open.items():
            self._closed.append((venue, at, [(i, n, _packed(s), t, r) for i, (n, s, t, r) in deliveries.items()],
                                 samples))
        self._open = {}
        self._open_at = None

    def _sample(self, index: int, venue: str, sides, at: int, out: list) -> None:
        """`arbbot.run.samples.StreamSamples._on_best` on the first level of each side."""
        yb, ya, nb, na = (side[0] if side else None for side in sides)
        if venue == "polymarket":            # the other token's bids mirror these asks: never added
            yes_ask, no_ask = ya, na
        else:
            yes_ask, no_ask = effective_ask(ya, nb), effective_ask(na, yb)
        second = at // 1000
        self._ask_update(index, 0, yes_ask, second, out)
        self._ask_update(index, 1, no_ask, second, out)
        if yb is not None and yes_ask is not None:
            self._mid_update(index, yb[0] + yes_ask[0], at / 1000, out)

    def _ask_update(self, index: int, side: int, best, second: int, out: list) -> None:
        st = self._ask.get((index, side))
        if st is None:
            st = self._ask[(index, side)] = [-1, 0, 0, 0, 0, False, 0, 0]
        if st[0] != second:
            if st[5] and st[4] > 0:
                out.append((DEPLETION, index, side, float(st[0]), removed_lots(st[3], st[6], st[7], st[1]) / st[4]))
            st[0], st[5], st[6] = second, False, 0
            st[3], st[4] = st[1], (st[2] if st[1] else 0)
            st[7] = st[4]
        price, size = best if best is not None else (0, 0)
        if price != st[1] or size != st[2]:
            st[5] = True
            if st[3] == 0:                   # the second began without an ask: measured from its first
                st[3], st[4], st[7] = price, size, size
            elif price == st[1] == st[3] and size < st[2]:
                st[6] += st[2] - size        # taken (or cancelled) at the first best ask's price
            if price == st[3]:
                st[7] = size
            st[1], st[2] = price, size

    def _mid_update(self, index: int, mid2: int, now_s: float, out: list) -> None:
        m = self._mid.get(index)
        if m is None:
            m = self._mid[index] = [-1, 0.0]
        elif mid2 == m[0] or now_s - m[1] < MID_EVERY_S:
            return
        m[0], m[1] = mid2, now_s
        out.append((MID, index, 0, now_s, mid2 / 2 / FULL))



def _packed(sides) -> array:
    """Four sides of (price, lots) pairs as one int64 array: the counts, then the pairs."""
    return array("q", [len(side) for side in sides] + [v for side in sides for level in side for v in level])
