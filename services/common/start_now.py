"""Start a coroutine *now*, not at the event loop's next turn.

`asyncio.create_task` only schedules a coroutine: its first step (for a database query,
the write of the query to the socket) runs after whatever else is ready. Recording that an
e-mail was handed to the SMTP server must leave the process in the same instant as the
e-mail's last bytes, so that a crash cannot fall between the two writes; `start_now` runs
the coroutine up to its first suspension before returning, and a task finishes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


def start_now(coroutine: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """Run `coroutine` until it first waits, then let a task take it from there. Call it
    from inside a running event loop (the coroutine may already use it)."""
    loop = asyncio.get_running_loop()
    try:
        waiting_on = coroutine.send(None)
    except StopIteration as finished:
        done: asyncio.Future[T] = loop.create_future()
        done.set_result(finished.value)
        return done
    except BaseException as error:
        failed: asyncio.Future[T] = loop.create_future()
        failed.set_exception(error)
        return failed
    return loop.create_task(_Resumed(coroutine, waiting_on).wait())


class _Resumed:
    """Drives a coroutine that has already taken its first step, as a task would: what it
    yields (the futures it waits on) goes up to the task, what comes back goes down."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self._coroutine = coroutine
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, waiting_on = self._coroutine, self._waiting_on
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as error:  # cancellation included: the coroutine handles it
                try:
                    waiting_on = coroutine.throw(error)
                except StopIteration as finished:
                    return finished.value
            else:
                try:
                    waiting_on = coroutine.send(sent)
                except StopIteration as finished:
                    return finished.value

    async def wait(self) -> Any:
        return await self
