"""`start_eager`: a coroutine runs synchronously up to its first suspension, then as a Task."""
import asyncio

import pytest

from arbbot.execution.eager import start_eager


def run(coro):
    return asyncio.run(coro)


def test_runs_synchronously_until_the_first_wait_then_continues_as_a_task():
    steps = []

    async def work(gate):
        steps.append("before")               # runs inside start_eager, before it returns
        got = await gate
        steps.append(f"after {got}")
        return got * 2

    async def main():
        gate = asyncio.get_running_loop().create_future()
        task = start_eager(work(gate), name="w")
        assert steps == ["before"] and not task.done() and task.get_name() == "w"
        gate.set_result(21)
        assert await task == 42
        return steps
    assert run(main()) == ["before", "after 21"]


def test_ahead_of_callbacks_already_queued():
    order = []

    async def work():
        order.append("eager")
        await asyncio.sleep(0)
        order.append("rest")

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_soon(order.append, "queued")
        task = start_eager(work())
        plain = asyncio.ensure_future(work())   # the same coroutine as a plain task, for contrast
        await asyncio.gather(task, plain)
    run(main())
    assert order[:2] == ["eager", "queued"] and order.count("eager") == 2


def test_a_coroutine_that_never_suspends_gives_a_finished_future():
    async def quick():
        return "done"

    async def failing():
        raise ValueError("bad leg")

    async def main():
        ok, bad = start_eager(quick()), start_eager(failing())
        assert ok.done() and ok.result() == "done"
        assert bad.done() and isinstance(bad.exception(), ValueError)
    run(main())


def test_cancelling_the_task_cancels_the_coroutine_where_it_waits():
    seen = []

    async def work():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled inside")
            raise

    async def main():
        task = start_eager(work())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    run(main())
    assert seen == ["cancelled inside"]


def test_an_exception_after_the_first_wait_reaches_the_awaiter():
    async def work(gate):
        await gate
        raise RuntimeError("venue down")

    async def main():
        gate = asyncio.get_running_loop().create_future()
        task = start_eager(work(gate))
        gate.set_result(None)
        with pytest.raises(RuntimeError, match="venue down"):
            await task
    run(main())


def test_a_waited_future_that_fails_raises_inside_the_coroutine():
    caught = []

    async def work(gate):
        try:
            await gate
        except KeyError as exc:
            caught.append(exc.args[0])
            return "handled"

    async def main():
        gate = asyncio.get_running_loop().create_future()
        task = start_eager(work(gate))
        gate.set_exception(KeyError("order 7"))
        assert await task == "handled"
    run(main())
    assert caught == ["order 7"]
