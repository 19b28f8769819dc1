"""Waiting in tests for state other tasks change: plain attributes, no event to wait on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], timeout: float = 30.0,
                every: float = 0.02) -> None:
    """Poll `condition` every `every` seconds; `TimeoutError` after `timeout`."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - polls state other tasks change
            await asyncio.sleep(every)
