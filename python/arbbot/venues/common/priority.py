"""The order path's priority over the market-data feeds.

From a decision until its first order is handed to the venue adapter, the execution is the only
latency-critical work in the process; the feeds' readers would otherwise drain whole bursts of
buffered frames ahead of it (a reader whose socket or queue already holds data never yields by
itself). While `order_path_open()`, every feed reader yields to the event loop once per frame
(`await yield_to_orders()`), so the execution task, already queued, runs after at most one frame
per reader instead of after every buffered one. No frame is dropped or reordered; a yield costs a
few µs and happens only during the order path (≈ 0.2–1 ms per execution).

`open_order_path()` / `close_order_path()` are called by the executor (`Executor.pause_gc` /
`resume_gc`); they nest (a count), so several executors in one process (tests) stay correct.
"""
from __future__ import annotations

import asyncio

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


async def yield_to_orders() -> None:
    """Let a queued execution run first while an order path is open (else return at once)."""
    if _open:
        await asyncio.sleep(0)
