"""The `access.local-lists` topic: one `LocalListChanged` CloudEvent per list version.

A follower of `read.local_list_versions`, with the relay's guarantees: it walks the
versions in (position, charger_id, version) order, hands a batch to the producer, and
records how far it got (in a table of its own, outside the read schema a rebuild swaps)
only after the broker acknowledged every send (the producer runs with acks=all). A crash
re-publishes some versions, under the same CloudEvent id, and loses none. Events of one
charger share a key, hence a partition, and are sent in version order.

Each event carries the Differential from the version before (0: an empty list, as OCPP's
`GetLocalListVersion` reports none) in both OCPP versions, so a CSMS that holds the
previous version forwards it unchanged; one that missed a version asks the query API.
The projection wakes it (`notify`) whenever the read models advance.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import asyncpg
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind

from services.access.eventlog.watch import keep_publishing
from services.access.local_lists.entries import rfc3339
from services.access.local_lists.reads import ListAt, LocalListReads
from services.access.messaging.traces import PositionTraces
from services.access.projection.sql import DEFAULT_SCHEMA, render
from services.common import tracing
from services.common.tracing import TRACEPARENT

log = logging.getLogger(__name__)

EVENT_TYPE = "LocalListChanged"
CONTENT_TYPE = "application/cloudevents+json"
SOURCE = "charger-access"
_ID_SPACE = UUID("5a0d7c8e-2b1f-4f7e-9c43-6e0b1d2a9f10")
"""CloudEvent ids are uuid5(charger:version) in this space: a re-publication repeats the id."""

TRACKING_SQL = """
CREATE TABLE IF NOT EXISTS local_list_tracking (
    name text PRIMARY KEY,
    position bigint NOT NULL,
    charger_id uuid NOT NULL,
    version integer NOT NULL
)"""

_NEXT = """
    SELECT charger_id, version, position, changed_at FROM {s}.local_list_versions
    WHERE (position, charger_id, version) > ($1, $2, $3)
    ORDER BY position, charger_id, version LIMIT $4"""

_TRACK = """
    INSERT INTO local_list_tracking (name, position, charger_id, version)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (name) DO UPDATE SET position = excluded.position,
        charger_id = excluded.charger_id, version = excluded.version"""

_NIL = UUID(int=0)


@dataclass(frozen=True, order=True)
class Cursor:
    """The last version published, in the follower's order."""

    position: int = 0
    charger_id: UUID = _NIL
    version: int = 0


@dataclass(frozen=True)
class Version:
    charger_id: UUID
    version: int
    position: int
    changed_at: datetime

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.position, self.charger_id, self.version)


def event_id(charger_id: UUID, version: int) -> str:
    return str(uuid5(_ID_SPACE, f"{charger_id}:{version}"))


def local_list_changed(version: Version, diff: ListAt) -> dict[str, Any]:
    """The CloudEvent for one version: `diff`, the Differential from the one before."""
    return {
        "specversion": "1.0",
        "id": event_id(version.charger_id, version.version),
        "source": SOURCE,
        "type": EVENT_TYPE,
        "subject": str(version.charger_id),
        "time": rfc3339(version.changed_at),
        "datacontenttype": "application/json",
        "data": {
            "charger_id": str(version.charger_id),
            "version": version.version,
            "previous_version": version.version - 1,
            "ocpp16": diff.ocpp16(),
            "ocpp201": diff.ocpp201(),
        },
    }


class LocalListPublisher:
    def __init__(self, pool: asyncpg.Pool, broker: KafkaBroker, topic: str, *,
                 schema: str = DEFAULT_SCHEMA, name: str = "access.local-lists",
                 batch_size: int = 500, poll_interval: float = 1.0,
                 traces: PositionTraces | None = None) -> None:
        """`traces`: the trace context of the commands behind the versions (only while
        spans are made)."""
        self.wake = asyncio.Event()
        self._traces = traces
        self._pool = pool
        self._broker = broker
        self._topic = topic
        self._name = name
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._reads = LocalListReads(schema)
        self._next = render(_NEXT, schema)
        self.cursor = Cursor()
        self.published = 0
        self._lock = asyncio.Lock()

    @property
    def position(self) -> int:
        """Position of the last version recorded as published (for `/metrics`' lag)."""
        return self.cursor.position

    def notify(self) -> None:
        """The read models advanced: new versions may be there."""
        self.wake.set()

    async def setup(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(TRACKING_SQL)
            row = await conn.fetchrow(
                "SELECT position, charger_id, version FROM local_list_tracking WHERE name = $1",
                self._name)
        self.cursor = Cursor() if row is None else Cursor(row["position"], row["charger_id"],
                                                          row["version"])

    async def run(self) -> None:
        await self.setup()
        await keep_publishing(self.publish_next, self.wake, self._poll_interval,
                              caught_up=lambda published: published < self._batch_size,
                              name="local-list publisher", where=lambda: self.cursor)

    async def publish_next(self) -> int:
        """Publish the next batch of versions; return how many it held."""
        async with self._lock:
            c = self.cursor
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(self._next, c.position, c.charger_id, c.version,
                                        self._batch_size)
                versions = [Version(r["charger_id"], r["version"], r["position"],
                                    r["changed_at"]) for r in rows]
                diffs = await self._reads.differentials(
                    conn, [(v.charger_id, v.version) for v in versions])
            events = [local_list_changed(v, diffs[v.charger_id, v.version]) for v in versions]
            if not versions:
                return 0
            traces = (await self._traces({v.position for v in versions})
                      if self._traces is not None else {})
            acks = [await self._send(e, traces.get(v.position))
                    for e, v in zip(events, versions, strict=True)]
            await asyncio.gather(*acks)
            await self._track(versions[-1].cursor)
            self.published += len(versions)
            return len(versions)

    async def rewind(self) -> None:
        """Publish every version again: the topic was (re)created empty."""
        async with self._lock:
            log.warning("%s was created empty: publishing every list version again",
                        self._topic)
            await self._track(Cursor())
        self.notify()

    async def _send(self, event: dict[str, Any], trace: str | None = None) -> Awaitable[Any]:
        """Hand one event to the producer; the returned future resolves on the broker's ack."""
        headers = {"content-type": CONTENT_TYPE}
        span = tracing.start("access.local-lists publish", trace, kind=SpanKind.PRODUCER)
        if span is not None:
            span.set_attribute("charger.id", event["subject"])
            headers[TRACEPARENT] = tracing.traceparent(span)
            span.end()
        return await self._broker.publish(
            json.dumps(event, separators=(",", ":")).encode(), self._topic,
            key=event["subject"].encode(), no_confirm=True, headers=headers,
            correlation_id=event["id"])  # FastStream would draw a uuid4 per record

    async def _track(self, cursor: Cursor) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(_TRACK, self._name, cursor.position, cursor.charger_id,
                               cursor.version)
        self.cursor = cursor

