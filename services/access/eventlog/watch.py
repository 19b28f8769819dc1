"""Wake-ups when the event store or the read models commit: PostgreSQL LISTEN.

The store NOTIFYs inside each inserting transaction, and the projection inside each
batch's (`READ_MODELS_CHANNEL`), so a notification arrives only after the commit. Every
follower of the log (the relay, the projection) or of the read models (the local-list
publisher, which may run in another process than the projection: `ACCESS_ROLE`) is woken
the same way, through its `notify()`; followers also poll on a short timer, because a
notification can be missed while the listening connection reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.access.store.application import EVENTS_TABLE
from services.common.connection_lost import CONNECTION_LOST
from services.common.timeouts import wait_for

log = logging.getLogger(__name__)

Notify = Callable[[], None]
"""A follower's `notify()`: new events may be in the store, read now."""


class LogWatch:
    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._followers: dict[str, list[Notify]] = {}
        self._task: asyncio.Task[None] | None = None

    def wake(self, notify: Notify, channel: str = EVENTS_TABLE) -> None:
        """Call `notify` after every commit that NOTIFYs `channel` (the store's, unless
        told: `READ_MODELS_CHANNEL` for the read models) and once on each (re)connect."""
        self._followers.setdefault(channel, []).append(notify)

    def _notifier(self, channel: str) -> Callable[..., None]:
        followers = self._followers[channel]

        def notify_all(*_: Any) -> None:
            for notify in followers:
                notify()
        return notify_all

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="log-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._database_url)
                closed = asyncio.Event()
                try:
                    conn.add_termination_listener(lambda _conn, done=closed: done.set())
                    for channel in self._followers:
                        notify_all = self._notifier(channel)
                        await conn.add_listener(channel, notify_all)
                        notify_all()
                    await closed.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except CONNECTION_LOST as exc:
                log.warning("listening for store commits failed (%s); retrying", exc)
                await asyncio.sleep(1)


async def nap(wake: asyncio.Event, seconds: float) -> None:
    """Sleep until `wake` is set or `seconds` pass, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await wait_for(wake.wait(), seconds)


async def keep_publishing(
    publish_next: Callable[[], Awaitable[int]], wake: asyncio.Event, poll: float, *,
    caught_up: Callable[[int], bool], name: str, where: Callable[[], object],
) -> None:
    """A publisher's loop from the store to Kafka (the relay, the local lists): publish a
    batch, nap when caught up until woken or the poll interval passes; the database or
    broker away pauses it a second, never ends it (at least once: nothing is skipped)."""
    while True:
        wake.clear()
        try:
            published = await publish_next()
        except CONNECTION_LOST as exc:
            log.warning("%s paused at %s: %s", name, where(), exc)
            await asyncio.sleep(1)
            continue
        except Exception:
            log.exception("%s failed at %s; retrying", name, where())
            await asyncio.sleep(1)
            continue
        if caught_up(published):
            await nap(wake, poll)
