"""The read models' position as the database the API reads says it: for a query API in
front of a streaming replica (`QUERY_DATABASE_URL`).

Such an API cannot trust the in-process projection runner's position: that is the
primary's, and the replica may not have replayed it yet, so `min_position` answered from
it would break read-your-writes. The projection commits its rows and its tracking row in
one transaction, and a replica replays commits in order, so a replica whose tracking
row shows position p also shows every row of p: this position is the one to answer with.
A hot standby takes no `LISTEN`, so it is polled: briskly while a request waits on it,
lazily otherwise (a lower position than the truth only understates an answer's position).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg

from services.access.projection.apply import read_position
from services.access.projection.sql import DEFAULT_SCHEMA
from services.common.background import BackgroundLoop
from services.common.connection_lost import CONNECTION_LOST
from services.common.timeouts import wait_for

log = logging.getLogger(__name__)


class TrackedPosition:
    """A `ReadPosition` read from the tracking row of the API's own database."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str = DEFAULT_SCHEMA,
                 wait_interval: float = 0.005, idle_interval: float = 0.2) -> None:
        self._pool = pool
        self._schema = schema
        self._wait_interval = wait_interval
        self._idle_interval = idle_interval
        self._position = 0
        self._waiters = 0
        self._wanted = asyncio.Event()
        self._advanced = asyncio.Event()
        self._background = BackgroundLoop(self._poll, "tracked-position")

    @property
    def position(self) -> int:
        return self._position

    async def refresh(self) -> int:
        """Read the tracking row now; the position (never lower than before)."""
        async with self._pool.acquire() as conn:
            found = await read_position(conn, self._schema)
        if found > self._position:
            self._position = found
            self._advanced.set()
            self._advanced = asyncio.Event()
        return self._position

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def wait_for(self, position: int, timeout: float) -> bool:  # noqa: ASYNC109 (a budget the API passes on)
        """Wait until the API's database shows `position`; False when `timeout` ran out."""
        if self._position >= position:
            return True
        deadline = time.monotonic() + timeout
        self._waiters += 1
        self._wanted.set()
        try:
            while self._position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                advanced = self._advanced
                with contextlib.suppress(TimeoutError):
                    await wait_for(advanced.wait(), remaining)
            return True
        finally:
            self._waiters -= 1

    async def _poll(self) -> None:
        while True:
            try:
                await self.refresh()
            except CONNECTION_LOST:  # the replica may be restarting
                log.warning("reading the query database's position failed", exc_info=True)
                await asyncio.sleep(self._idle_interval)
                continue
            if self._waiters:
                await asyncio.sleep(self._wait_interval)
                continue
            self._wanted.clear()
            with contextlib.suppress(TimeoutError):
                await wait_for(self._wanted.wait(), self._idle_interval)
