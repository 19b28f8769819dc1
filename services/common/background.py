"""One background loop a component owns: started once, stopped by cancelling it.

The projection, the scheduler and the replica's tracked position each run a loop beside
the service; starting one twice must not run it twice, and stopping must wait until the
loop has really ended, so a restarted component never overlaps its old loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class BackgroundLoop:
    def __init__(self, loop: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._loop = loop
        self._name = name
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop unless it is running (idempotent)."""
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        """Cancel the loop and wait until it has ended."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    def alive(self) -> bool:
        return self.task is not None and not self.task.done()
