"""`wait_for`: a time limit on an await that never loses a cancellation.

Python 3.11's `asyncio.wait_for` returns the awaited result when its task is cancelled in
the same turn of the loop as the result arrives, and the cancellation is lost (CPython
gh-86296, fixed in 3.12). A loop that waits with it (the leadership's check of its lock's
session every `check_seconds`, a follower's nap) can then outlive the `cancel()` that was
to stop it, and whoever awaits the task waits for ever: the hung leadership test seen in
CI, and a stop that would hang the same way. `asyncio.timeout` keeps the cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(awaitable: Awaitable[T], seconds: float | None) -> T:
    """`await awaitable`, or `TimeoutError` after `seconds` (None: no limit)."""
    async with asyncio.timeout(seconds):
        return await awaitable
