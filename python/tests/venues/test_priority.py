"""Feed readers yield to a decided execution: with a burst of buffered frames, the execution
task starts after at most one more frame per reader, not after the whole burst."""
from __future__ import annotations

import asyncio

from arbbot.venues.common.priority import close_order_path, open_order_path, order_path_open, yield_to_orders


def _started_after(frames: int, decide_at: int, readers: int = 2, prioritise: bool = True) -> int:
    """Frames processed (by all readers) when an execution decided at frame `decide_at` of reader 0 starts."""
    processed: list[int] = []
    started: list[int] = []

    async def execution():
        started.append(len(processed))
        if prioritise:
            close_order_path()                   # its first order is handed off

    async def reader(r: int, queue: asyncio.Queue):
        while not queue.empty():
            item = queue.get_nowait()            # buffered data: no await would yield by itself
            await yield_to_orders()
            processed.append(item)
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


def test_an_execution_runs_before_the_rest_of_a_burst():
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
        await yield_to_orders()                   # closed: returns without running `other`
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
