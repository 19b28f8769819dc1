"""The relay: follows the event store's log and publishes each event on `access.events`.

It is a gateway that tracks what it has published, never a dual write from the command
path. It records its position only after the broker acknowledged every event up to it,
so a crash re-publishes some events (consumers dedupe on the event id) and loses none.
Events of one aggregate share a key, hence a partition, and are sent in store order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.access.eventlog import EventLog, LoggedEvent
from services.access.log_watch import wait_for

log = logging.getLogger(__name__)

Send = Callable[[str, bytes, bytes], Awaitable[Awaitable[Any]]]

TRACKING_SQL = """
CREATE TABLE IF NOT EXISTS relay_tracking (
    name text PRIMARY KEY,
    position bigint NOT NULL
)
"""


class Relay:
    def __init__(
        self, pool: asyncpg.Pool, event_log: EventLog, send: Send, topic: str,
        wake: asyncio.Event, *, name: str = "access.events", batch_size: int = 1000,
        poll_interval: float = 0.5,
    ) -> None:
        self._pool = pool
        self._log = event_log
        self._send = send
        self._topic = topic
        self._wake = wake
        self._name = name
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self.position = 0
        self.published = 0
        self._lock = asyncio.Lock()

    async def setup(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(TRACKING_SQL)
            stored = await conn.fetchval(
                "SELECT position FROM relay_tracking WHERE name = $1", self._name)
        self.position = int(stored or 0)

    async def run(self) -> None:
        await self.setup()
        while True:
            try:
                published = await self.publish_next()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("relay paused at %d: %s", self.position, exc)
                await asyncio.sleep(1)
                continue
            except Exception:
                log.exception("relay failed at %d; retrying", self.position)
                await asyncio.sleep(1)
                continue
            if not published:
                await wait_for(self._wake, self._poll_interval)

    async def publish_next(self) -> int:
        """Publish the next batch; return how many events it held."""
        async with self._lock:
            async with self._pool.acquire() as conn:
                events = await self._log.read(conn, self.position, self._batch_size)
            if not events:
                return 0
            acks = [await self._send(self._topic, _key(e), _value(e)) for e in events]
            await asyncio.gather(*acks)
            await self._track(events[-1].position)
            self.published += len(events)
            return len(events)

    async def rewind(self) -> None:
        """Publish the whole log again: the topic was (re)created empty.

        A broker with memory storage that restarts loses what it held, including events
        consumers had not read yet; the store still has them, and consumers dedupe on the
        event id. (Durable Kafka keeps its topics; this never runs there.)
        """
        async with self._lock:
            log.warning("%s was created empty: publishing the log again from the start",
                        self._topic)
            await self._track(0)
        self._wake.set()

    async def _track(self, position: int) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO relay_tracking (name, position) VALUES ($1, $2) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                self._name, position)
        self.position = position


def _key(event: LoggedEvent) -> bytes:
    return event.envelope.subject.encode()


def _value(event: LoggedEvent) -> bytes:
    return event.envelope.model_dump_json().encode()
