"""The relay: follows the event store's log and publishes each event on `access.events`.

It is a gateway that tracks what it has published, never a dual write from the command
path. It records its position only after the broker acknowledged every event up to it,
so a crash re-publishes some events (consumers dedupe on the event id) and loses none.
Events of one aggregate share a key, hence a partition, and are sent in store order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import asyncpg
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind

from services.access.eventlog.reader import LogReader
from services.access.eventlog.values import LoggedEvent
from services.access.eventlog.watch import keep_publishing
from services.access.messaging.traces import TraceLookup
from services.common import fault_points, tracing
from services.common.tracing import TRACEPARENT

log = logging.getLogger(__name__)

CLOUDEVENTS_JSON = "application/cloudevents+json"
"""The record's value is a whole CloudEvent (structured binding), not bare `data`."""

TRACKING_SQL = """
CREATE TABLE IF NOT EXISTS relay_tracking (
    name text PRIMARY KEY,
    position bigint NOT NULL
)
"""


class GroupOffsets(Protocol):
    """What the broker-state watch reads of a Kafka consumer (aiokafka's has it)."""

    def assignment(self) -> set[Any]: ...

    async def committed(self, partition: Any) -> int | None: ...


class Relay:
    def __init__(
        self, pool: asyncpg.Pool, read_log: LogReader[LoggedEvent], broker: KafkaBroker,
        topic: str, *, name: str = "access.events", batch_size: int = 1000,
        poll_interval: float = 0.5, traces: TraceLookup | None = None,
    ) -> None:
        """`traces`: where the events' commands' trace context is read (only while spans
        are made: without it no record gets a `traceparent`)."""
        self._traces = traces
        self.wake = asyncio.Event()
        self._pool = pool
        self._read_log = read_log
        self._broker = broker
        self._topic = topic
        self._name = name
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self.position = 0
        self.published = 0
        self._lock = asyncio.Lock()
        self._acked: dict[int, int] = {}
        self._also_rewind: Sequence[Callable[[], Awaitable[None]]] = ()

    def notify(self) -> None:
        """New events may be in the store: publish now instead of at the next poll."""
        self.wake.set()

    async def setup(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(TRACKING_SQL)
            stored = await conn.fetchval(
                "SELECT position FROM relay_tracking WHERE name = $1", self._name)
        self.position = int(stored or 0)

    async def run(self) -> None:
        await self.setup()
        await keep_publishing(self.publish_next, self.wake, self._poll_interval,
                              caught_up=lambda published: not published, name="relay",
                              where=lambda: self.position)

    async def publish_next(self) -> int:
        """Publish the next batch; return how many events it held."""
        async with self._lock:
            events = await self._read_log(self.position, self._batch_size)
            if not events:
                return 0
            traces = await self._traces_of(events) if self._traces is not None else {}
            acks = [await self._send(e, traces.get(e.head.commandid or "")) for e in events]
            went_back = self._offsets_went_back(await asyncio.gather(*acks))
            fault_points.reached("relay.after_publish_before_position")
            await self._track(events[-1].position)
            self.published += len(events)
        if went_back:
            log.warning("%s handed out offsets below ones it acknowledged before: the broker "
                        "lost its state; publishing the log again from the start", self._topic)
            await self._broker_lost()
        return len(events)

    def _offsets_went_back(self, acked: Sequence[Any]) -> bool:
        """The broker's own acknowledgements are the surest sign it lost its state: offsets
        in a partition only ever grow on a broker that keeps its log (acks=all), so an ack
        below one seen before means the topic was recreated empty. It is seen at the first
        batch after the loss, however fast the command traffic refills other topics."""
        went_back = False
        for meta in acked:
            partition, offset = getattr(meta, "partition", None), getattr(meta, "offset", None)
            if not isinstance(partition, int) or not isinstance(offset, int):
                continue
            if offset < self._acked.get(partition, -1):
                went_back = True
                self._acked.clear()
            self._acked[partition] = max(self._acked.get(partition, -1), offset)
        return went_back

    async def _broker_lost(self) -> None:
        await self.rewind()
        for rewind in self._also_rewind:
            await rewind()

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
        self.notify()

    async def watch_broker_state(
        self, consumer: Callable[[], GroupOffsets | None], every: float,
        also: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        """Republish the log if the broker lost its state (memory storage restarted).

        The sign is a consumer group's committed offsets (`consumer()`, the service's
        own command consumer) going back or vanishing, which a durable Kafka never does;
        whoever recreated the topics (even a producer's metadata request), what the dead
        broker held is then published again from the store, and consumers dedupe on the
        event id. `also`: the other publishers from the store (local lists) to rewind
        with it, since the dead broker lost their topics too."""
        self._also_rewind = also
        seen: dict[int, int] = {}
        while True:
            await asyncio.sleep(every)
            group = consumer()
            if group is None:
                continue
            try:
                now = {tp.partition: await group.committed(tp) for tp in group.assignment()}
            except Exception as exc:
                log.debug("could not read committed offsets (%s)", exc)
                continue
            if any(p in seen and (o is None or o < seen[p]) for p, o in now.items()):
                seen.clear()
                await self._broker_lost()
                continue
            for partition, offset in now.items():
                if offset is not None:
                    seen[partition] = max(seen.get(partition, 0), offset)

    async def _traces_of(self, events: Sequence[LoggedEvent]) -> dict[str, str]:
        assert self._traces is not None
        commands = {e.head.commandid for e in events if e.head.commandid}
        return await self._traces(commands) if commands else {}

    async def _send(self, event: LoggedEvent, trace: str | None = None) -> Awaitable[Any]:
        """Hand one event to the producer; the returned future resolves on the broker's ack."""
        envelope = event.envelope
        headers = {"content-type": CLOUDEVENTS_JSON}
        span = tracing.start("access.events publish", trace, kind=SpanKind.PRODUCER)
        if span is not None:
            span.set_attribute("event.id", str(envelope.id))
            span.set_attribute("event.type", envelope.type)
            headers[TRACEPARENT] = tracing.traceparent(span)
            span.end()
        return await self._broker.publish(
            envelope.model_dump_json().encode(), self._topic, key=envelope.subject.encode(),
            no_confirm=True, headers=headers,
            correlation_id=str(envelope.id))  # FastStream would draw a uuid4 per record

    async def _track(self, position: int) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO relay_tracking (name, position) VALUES ($1, $2) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                self._name, position)
        self.position = position
