"""Following the event log into the read models, and telling readers how far it got.

The runner reads a batch after its position, applies it, and otherwise sleeps until
woken (`notify()`: the log watch calls it after each commit, as it does the relay's) or
a short poll interval passes. Readers that hold a command result wait on
`wait_for(position)` for read-your-writes. A failing database or log reader is
logged and retried with backoff; the loop itself never dies of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg

from services.access.eventlog.reader import LogReader
from services.access.eventlog.watch import nap
from services.access.latency import PROJECTION_LAG_SECONDS
from services.access.projection.apply import apply, read_position
from services.access.projection.changes import Foldable
from services.access.projection.sql import DEFAULT_SCHEMA
from services.common.background import BackgroundLoop
from services.common.timeouts import wait_for

log = logging.getLogger(__name__)


class ProjectionRunner:
    """Keeps the read models current; its `position` is what they reflect at least."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        read_log: LogReader[Foldable],
        *,
        schema: str = DEFAULT_SCHEMA,
        batch_size: int = 1000,
        poll_interval: float = 0.5,
        max_backoff: float = 10.0,
        stall_after: float = 30.0,
    ) -> None:
        self.wake = asyncio.Event()
        self._pool = pool
        self._read_log = read_log
        self._schema = schema
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._stall_after = stall_after
        self._position = 0
        self._loaded = False
        self._advanced = asyncio.Event()
        self._on_advance: list[Callable[[], None]] = []
        self._last_success = time.monotonic()
        self._background = BackgroundLoop(self.run, "projection-runner")

    @property
    def position(self) -> int:
        return self._position

    def notify(self) -> None:
        """New events may be in the store: read now instead of at the next poll."""
        self.wake.set()

    def on_advance(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever the read models advance (a follower of them wakes)."""
        self._on_advance.append(callback)

    def start(self) -> None:
        """Run the loop as a background task (idempotent)."""
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def run(self) -> None:
        """Loop until cancelled: apply batches, back off on errors, sleep when caught up."""
        backoff = 0.1
        while True:
            self.wake.clear()
            try:
                count = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # any failure of the DB or the log: log it, retry later
                log.exception("projection step failed; retrying in %.1f s", backoff)
                self._loaded = False  # e.g. a rebuild swapped the tables: read the position again
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.1
            if count < self._batch_size:
                await nap(self.wake, self._poll_interval)

    async def step(self) -> int:
        """Read and apply one batch; return how many events were read."""
        if not self._loaded:
            async with self._pool.acquire() as conn:
                self._advance(await read_position(conn, self._schema))
            self._loaded = True
        events = await self._read_log(self._position, self._batch_size)
        if events:
            async with self._pool.acquire() as conn:
                self._advance(await apply(conn, events, self._schema,
                                          may_continue=len(events) >= self._batch_size))
            # Once a batch, for its newest event: the lag a reader of the models sees.
            PROJECTION_LAG_SECONDS.observe(time.time() - events[-1].head.time.timestamp())
        self._last_success = time.monotonic()
        if events and self._position < events[-1].position:
            return self._batch_size  # a command was left for the next read: read again now
        return len(events)

    async def catch_up(self) -> int:
        """Apply until the log has nothing more; return the position (errors propagate)."""
        while await self.step() >= self._batch_size:
            pass
        return self._position

    async def wait_for(self, position: int, timeout: float) -> bool:  # noqa: ASYNC109 (a budget the API passes on)
        """Wait until the read models reflect `position`; False when `timeout` ran out."""
        deadline = time.monotonic() + timeout
        while self._position < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.notify()
            advanced = self._advanced
            with contextlib.suppress(TimeoutError):
                await wait_for(advanced.wait(), remaining)
        return True

    def stalled(self) -> bool:
        """True when no step has succeeded for `stall_after` seconds."""
        return time.monotonic() - self._last_success > self._stall_after

    async def readiness(self) -> dict[str, bool]:
        """A readiness check for `/readyz`: the projection is making progress."""
        return {"projection": not self.stalled()}

    def _advance(self, position: int) -> None:
        if position > self._position:
            self._position = position
            self._advanced.set()
            self._advanced = asyncio.Event()
            for callback in self._on_advance:
                callback()
