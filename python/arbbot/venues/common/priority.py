"""The order path's priority over the market-data feeds.

From a decision until its first order is handed to the venue adapter, the execution is the only
latency-critical work in the process; the feeds' readers would otherwise drain whole bursts of
buffered frames ahead of it (a reader whose socket or queue already holds data never yields by
itself). While `order_path_open()`, every feed reader yields to the event loop once per frame
(`await ReaderTurn.before()`), so the execution task, already queued, runs after at most one frame
per reader instead of after every buffered one. No frame is dropped or reordered; a yield costs a
few µs and happens only during the order path (≈ 0.2–1 ms per execution).

`open_order_path()` / `close_order_path()` are called by the executor (`Executor.pause_gc` /
`resume_gc`); they nest (a count), so several executors in one process (tests) stay correct.

Outside an order path a reader still gives the loop a turn after `SLICE_NS` of buffered items
handled without a pause (`ReaderTurn`): a burst on one venue's socket (a reconnect's snapshots, a
busy minute) would otherwise hold every other task for its whole length (20–50 ms seen in
`arbbot run`): the other venue's reader, whose books then age while a cross-venue leg is
compared against them, the timers, the trader.
"""
from __future__ import annotations

import asyncio
from time import perf_counter_ns

_open = 0          # executors between a decision and their first order (or the end of the execution)
enabled = True     # False: readers never yield (the A/B of `python -m arbbot.bench.order_path --feed-priority both`)


def open_order_path() -> None:
    global _open
    if enabled:
        _open += 1


def close_order_path() -> None:
    global _open
    _open = max(0, _open - 1)


def order_path_open() -> bool:
    return _open > 0


SLICE_NS = 2_000_000   # ns: the longest run of buffered items a reader handles before a turn of the loop
IDLE_NS = 100_000      # ns: a gap this long between two items means the reader waited (others ran)


class ReaderTurn:
    """One reader's share of the event loop: `await turn.before()` ahead of each item (a frame, a
    book update) and `turn.after()` once it is handled. `before` yields one turn of the loop
    while an order path is open (every item), or when the reader has handled items for
    `SLICE_NS` without waiting for one; otherwise it returns at once. No item is dropped or
    reordered."""
    __slots__ = ("_start", "_end")

    def __init__(self) -> None:
        self._start = 0        # perf_counter ns: when this run of items without a wait began
        self._end = 0          # perf_counter ns: when the last item was handled

    async def before(self) -> None:
        now = perf_counter_ns()
        if _open or (now - self._end <= IDLE_NS and now - self._start >= SLICE_NS):
            await asyncio.sleep(0)
            self._start = perf_counter_ns()
        elif now - self._end > IDLE_NS:
            self._start = now              # it waited for this item: the loop was free meanwhile

    def after(self) -> None:
        self._end = perf_counter_ns()
