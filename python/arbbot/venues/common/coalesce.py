"""A bounded, per-key coalescing queue between a feed's socket reader and its consumer.

The reader calls `put_nowait(item, key)` for every update and never waits: an item whose key is
already queued *replaces* the queued one in place (the latest book for a market wins, its place
in line is the one it first arrived at), a new key joins the end. The consumer takes items in
order of first arrival (`await get()` / `get_nowait()`). So a consumer that falls behind holds at
most one item per key: with one key per market the queue never holds more than the number of
markets, and the consumer always decides on the newest book of each market it reads.

Invariants: `len(queue) <= capacity`; every `put_nowait` is either queued, coalesced (counted in
`coalesced`) or, only when a new key arrives at a full queue, pushes out the oldest item (counted
in `dropped`; a book queue sized to its markets never drops). The key None marks an item that is
never coalesced (e.g. a trade print). One consumer at a time.
"""
from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

T = TypeVar("T")


class CoalescingQueue(Generic[T]):
    """`capacity` > 0 items at most; an item's key names what it supersedes (None: nothing)."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be > 0")
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()   # key → latest item, in order of first arrival
        self._unique = itertools.count()           # keys of items that are never coalesced
        self._waiter: asyncio.Future | None = None
        self.puts = 0                              # items offered by the producer
        self.coalesced = 0                         # items that replaced a queued one of their key
        self.dropped = 0                           # oldest items pushed out by a new key at capacity
        self.max_depth = 0                         # the most items ever held at once

    def __len__(self) -> int:
        return len(self._items)

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T, key: Hashable | None) -> None:
        """Queue `item`, replacing the queued item of `key` if any (never blocks, never awaits
        the consumer)."""
        self.puts += 1
        items = self._items
        if key is None:
            key = ("#", next(self._unique))
        elif key in items:
            items[key] = item                      # OrderedDict keeps the key's position
            self.coalesced += 1
            return
        if len(items) >= self.capacity:
            items.popitem(last=False)
            self.dropped += 1
        items[key] = item
        if len(items) > self.max_depth:
            self.max_depth = len(items)
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def get_nowait(self) -> T:
        """The oldest queued item; `asyncio.QueueEmpty` when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popitem(last=False)[1]

    async def get(self) -> T:
        """Wait for an item and return the oldest."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popitem(last=False)[1]

    def stats(self) -> dict:
        """Depth now and at most, capacity, items offered / coalesced / dropped (counters grow)."""
        return {"depth": len(self._items), "max_depth": self.max_depth, "capacity": self.capacity,
                "puts": self.puts, "coalesced": self.coalesced, "dropped": self.dropped}
