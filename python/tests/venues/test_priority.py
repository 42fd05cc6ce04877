"""Feed readers yield to a decided execution: with a burst of buffered frames, the execution
task starts after at most one more frame per reader, not after the whole burst. Outside an
order path, a reader gives the loop a turn after `SLICE_NS` of buffered frames."""
from __future__ import annotations

import asyncio
import time

import pytest

from arbbot.venues.common import priority
from arbbot.venues.common.priority import ReaderTurn, close_order_path, open_order_path, order_path_open


@pytest.fixture
def no_slices(monkeypatch):
    """Readers yield only to an order path (no time slice however slow the machine)."""
    monkeypatch.setattr(priority, "SLICE_NS", 10**15)


def _started_after(frames: int, decide_at: int, readers: int = 2, prioritise: bool = True) -> int:
    """Frames processed (by all readers) when an execution decided at frame `decide_at` of reader 0 starts."""
    processed: list[int] = []
    started: list[int] = []

    async def execution():
        started.append(len(processed))
        if prioritise:
            close_order_path()                   # its first order is handed off

    async def reader(r: int, queue: asyncio.Queue):
        turn = ReaderTurn()
        while not queue.empty():
            item = queue.get_nowait()            # buffered data: no await would yield by itself
            await turn.before()
            processed.append(item)
            turn.after()
            if r == 0 and item == decide_at:
                if prioritise:
                    open_order_path()
                asyncio.get_running_loop().create_task(execution())

    async def main():
        queues = []
        for _ in range(readers):
            q: asyncio.Queue = asyncio.Queue()
            for i in range(frames):
                q.put_nowait(i)
            queues.append(q)
        await asyncio.gather(*(reader(r, q) for r, q in enumerate(queues)))
    asyncio.run(main())
    assert not order_path_open()
    return started[0]


def test_an_execution_runs_before_the_rest_of_a_burst(no_slices):
    # decided at reader 0's 4th frame: every reader yields before its next frame, so the execution runs next
    assert _started_after(frames=200, decide_at=3) == 4
    # without the priority, both readers drain their whole bursts first
    assert _started_after(frames=200, decide_at=3, prioritise=False) == 2 * 200


def test_nesting_and_no_yield_when_closed():
    open_order_path()
    open_order_path()
    close_order_path()
    assert order_path_open()
    close_order_path()
    close_order_path()                            # never below zero
    assert not order_path_open()

    async def count_switches() -> int:
        switched = 0

        async def other():
            nonlocal switched
            switched += 1
        task = asyncio.get_running_loop().create_task(other())
        await ReaderTurn().before()               # closed, no burst: returns without running `other`
        before = switched
        await task
        return before
    assert asyncio.run(count_switches()) == 0


def test_disabled_for_an_ab_measurement(monkeypatch):
    from arbbot.venues.common import priority
    monkeypatch.setattr(priority, "enabled", False)
    open_order_path()
    assert not order_path_open()          # readers never yield: the benchmark's "off" arm
    close_order_path()
    assert not order_path_open()


def _burst(items: int, work_s: float) -> tuple[list[int], int]:
    """A reader handles `items` buffered items of `work_s` each; a task queued before the first
    records how many were handled when it ran. Returns (the items in the order handled, that count)."""
    handled: list[int] = []
    ran_after: list[int] = []

    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        for i in range(items):
            queue.put_nowait(i)
        asyncio.get_running_loop().call_soon(lambda: ran_after.append(len(handled)))
        turn = ReaderTurn()
        while not queue.empty():
            item = queue.get_nowait()
            await turn.before()
            deadline = time.perf_counter() + work_s
            while time.perf_counter() < deadline:     # the item's work, holding the loop
                pass
            handled.append(item)
            turn.after()
    asyncio.run(main())
    return handled, ran_after[0]


def test_a_long_burst_gives_the_loop_a_turn_after_the_slice():
    assert priority.SLICE_NS == 2_000_000
    handled, ran_after = _burst(items=40, work_s=0.0005)
    assert handled == list(range(40))               # nothing dropped or reordered
    # 0.5 ms an item: the waiting task runs once the reader has worked 2 ms (4 items), not after all 40
    assert 1 <= ran_after <= 10, ran_after


def test_a_short_burst_keeps_the_loop(no_slices):
    handled, ran_after = _burst(items=40, work_s=0.0005)
    assert handled == list(range(40)) and ran_after == 40


def test_an_item_after_a_wait_starts_a_new_slice(monkeypatch):
    async def switches_at_before(waited_s: float) -> int:
        switched = 0

        async def other():
            nonlocal switched
            switched += 1
        turn = ReaderTurn()
        turn._start = 0                              # a run of items that began long ago …
        turn.after()
        time.sleep(waited_s)                          # … then a pause before the next item
        task = asyncio.get_running_loop().create_task(other())
        await turn.before()
        before = switched
        await task
        return before
    monkeypatch.setattr(priority, "IDLE_NS", 50_000_000)   # 50 ms: no pause of 0 s counts as a wait
    assert asyncio.run(switches_at_before(0.0)) == 1        # no wait: the slice is spent, a turn
    monkeypatch.setattr(priority, "IDLE_NS", 100_000)
    assert asyncio.run(switches_at_before(0.002)) == 0      # waited 2 ms: a new slice, no turn
