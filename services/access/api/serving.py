"""The query API as a part of the access service: a pool of its own, the position it
answers at, and its uvicorn server, started and stopped with the service.

A pool of the API's own: readers waiting on `min_position` all wake when the projection
advances, and on the service's pool their queries queued the projection's next read behind
them (15-90 ms a step at P2's load, 6 Dec).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import uvicorn

from services.access.api.context import Metrics, Readiness, ReadPosition
from services.access.api.tracked_position import TrackedPosition
from services.access.config import AccessSettings
from services.common.pools import keep_session
from services.common.stopping import QUICK_STEP_SECONDS, within

POOL_CLOSE_SECONDS = 5.0
"""How long a stop waits for the API's connections to come back before cutting them."""


class QueryApi:
    def __init__(self, settings: AccessSettings) -> None:
        self._settings = settings
        self.pool: asyncpg.Pool | None = None
        self._tracked: TrackedPosition | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, projection: ReadPosition | None, readiness: Readiness,
                    metrics: Callable[[ReadPosition], Metrics]) -> None:
        """Serve at the in-process `projection`'s position; without one (`ACCESS_ROLE`
        commands), or reading a replica (`QUERY_DATABASE_URL`), at the position the
        read models' own tracking row shows. `metrics` is given the position answered at."""
        from services.access.api import create_app  # noqa: PLC0415 - the API is optional

        replica = self._settings.query_database_url
        self.pool = await asyncpg.create_pool(replica or self._settings.database_url,
                                              min_size=2, max_size=8, reset=keep_session)
        position: ReadPosition
        if projection is not None and not replica:
            position = projection
        else:
            self._tracked = TrackedPosition(self.pool)
            await self._tracked.refresh()
            self._tracked.start()
            position = self._tracked
        app = create_app(self.pool, self._settings, position, readiness,
                         metrics=metrics(position))
        config = uvicorn.Config(app, host="0.0.0.0", port=self._settings.api_port,  # noqa: S104
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(), name="api")

    def stop_serving(self) -> None:
        """Refuse new requests from now on (the stop's first step)."""
        if self._server is not None:
            self._server.should_exit = True

    async def stop(self) -> None:
        """The server, the position poller, then the pool (bounded: a stuck request must
        not hold a stop; asyncpg's close waits for every connection to come back)."""
        self.stop_serving()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await within("the query API's server", self._task, QUICK_STEP_SECONDS)
        if self._tracked is not None:
            await within("the tracked position's poller", self._tracked.stop(),
                         QUICK_STEP_SECONDS)
        if self.pool is not None and not await within(
                "the query API's pool", self.pool.close(), POOL_CLOSE_SECONDS):
            self.pool.terminate()  # close waits for every connection back: cut them
