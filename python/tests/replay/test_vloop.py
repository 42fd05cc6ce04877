"""The virtual-time loop: waits take no real time and happen in virtual-time order."""
import asyncio
import time

from arbbot.replay.vloop import VirtualClock, run_virtual


def test_sleeps_and_timeouts_run_in_virtual_time_at_once():
    clock = VirtualClock(1_795_846_592.0)
    order = []

    async def wait(seconds, tag):
        await asyncio.sleep(seconds)
        order.append((tag, clock.elapsed))

    async def main():
        await asyncio.gather(wait(600, "ten minutes"), wait(0.05, "50 ms"), wait(3_600, "an hour"))
        try:
            await asyncio.wait_for(asyncio.sleep(100), 30)
        except asyncio.TimeoutError:
            order.append(("timeout", clock.elapsed))
        return clock.time()

    started = time.perf_counter()
    end = run_virtual(main(), clock)
    assert order == [("50 ms", 0.05), ("ten minutes", 600.0), ("an hour", 3_600.0), ("timeout", 3_630.0)]
    assert end == 1_795_846_592.0 + 3_630.0
    assert time.perf_counter() - started < 2.0          # an hour and more of waiting, in no real time


def test_a_thread_result_is_waited_for():
    clock = VirtualClock(0.0)

    async def main():
        return await asyncio.to_thread(lambda: (time.sleep(0.05), "done")[1])
    assert run_virtual(main(), clock) == "done"
