"""`services.common.timeouts.wait_for`: a cancellation that comes in the same turn of the
loop as the awaited result is kept (Python 3.11's `asyncio.wait_for` drops it), and the
time limit still holds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from services.common.timeouts import wait_for


async def cancelled_as_the_result_arrives(
        waiting: Callable[[Awaitable[Any], float], Awaitable[Any]]) -> bool:
    """Whether a task waiting with `waiting` ends cancelled when its result and its
    cancellation come in the same turn of the loop."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[str] = loop.create_future()

    async def waiter() -> str:
        return str(await waiting(result, 10))

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # the task is now waiting
    result.set_result("arrived")
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return True
    return False


async def test_a_cancellation_as_the_result_arrives_is_kept() -> None:
    assert await cancelled_as_the_result_arrives(wait_for)


async def test_the_standard_wait_for_of_this_python_loses_it() -> None:
    """The control: the bug this helper exists for, on the interpreter the project runs
    (3.11). Should a newer interpreter fix it, this test says so and can go."""
    assert not await cancelled_as_the_result_arrives(asyncio.wait_for)


async def test_the_time_limit_holds_and_a_result_passes_through() -> None:
    with pytest.raises(TimeoutError):
        await wait_for(asyncio.Event().wait(), 0.01)
    assert await wait_for(asyncio.sleep(0, "done"), 1) == "done"
    assert await wait_for(asyncio.sleep(0, "unlimited"), None) == "unlimited"
