"""The steps of a service's stop, each named in the log when it keeps the stop waiting.

A drain that hangs is killed by its supervisor at the end of its grace (compose's
`stop_grace_period`), and a killed process says nothing of where it hung. A step that
takes longer than it should is logged by name while it still waits, so the next hang
shows its place (6 Dec: an access service's drain hung 40 s twice in `make faults`,
silently).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable

log = logging.getLogger(__name__)

SLOW_STEP_SECONDS = 3.0


@contextlib.asynccontextmanager
async def stop_step(name: str, slow: float = SLOW_STEP_SECONDS) -> AsyncIterator[None]:
    """Run one step of a stop; if it is still running after `slow` seconds, say so (once),
    and again how long it took when it ends."""
    started = time.monotonic()
    warned = False

    def warn() -> None:
        nonlocal warned
        warned = True
        log.warning("stopping: %s is still running after %g s", name, slow)

    handle = asyncio.get_running_loop().call_later(slow, warn)
    try:
        yield
    finally:
        handle.cancel()
        if warned:
            log.warning("stopping: %s took %.1f s", name, time.monotonic() - started)


QUICK_STEP_SECONDS = 2.0
"""The bound of a step that should take no time at all (a cancelled loop ending)."""


async def within(name: str, step: Awaitable[object], seconds: float) -> bool:
    """Await `step` for at most `seconds`; past that it is cancelled, not waited for, the
    log names it and the stop goes on (a stuck step must not hold the process until its
    supervisor kills it, saying nothing). True when it finished in time."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        task.result()
        return True
    task.cancel()
    log.warning("stopping: %s did not finish in %g s; going on without it", name, seconds)
    return False
