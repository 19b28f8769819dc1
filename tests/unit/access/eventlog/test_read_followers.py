"""How the log's followers read and wake: the pooled reader every follower takes, and the
relay's watch on the broker's state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.access.eventlog.reader import pooled
from services.access.messaging.relay import Relay
from tests.unit.access.event_builders import ScriptedLog


class FakeConnection:
    def __init__(self) -> None:
        self.executed: list[tuple[Any, ...]] = []

    async def execute(self, *args: Any) -> None:
        self.executed.append(args)


class FakePool:
    def __init__(self) -> None:
        self.conn = FakeConnection()
        self.acquired = 0
        self.held = 0

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        self.acquired += 1
        self.held += 1
        try:
            yield self.conn
        finally:
            self.held -= 1


class RecordingLog:
    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.reads: list[tuple[Any, int, int]] = []

    async def read(self, conn: Any, after: int, limit: int) -> list[Any]:
        self.reads.append((conn, after, limit))
        return [e for e in self.events if e.position > after][:limit]


async def test_each_batch_is_read_on_a_connection_of_its_own_and_given_back() -> None:
    script = ScriptedLog()
    script.user()
    script.user()
    pool, log = FakePool(), RecordingLog(script.take())
    read_log = pooled(pool, log)  # type: ignore[arg-type]
    first = await read_log(0, 3)
    rest = await read_log(first[-1].position, 10)
    assert [e.position for e in first + rest] == [1, 2, 3, 4]
    assert [(after, limit) for _, after, limit in log.reads] == [(0, 3), (3, 10)]
    assert all(conn is pool.conn for conn, _, _ in log.reads)
    assert (pool.acquired, pool.held) == (2, 0)


async def test_upto_leaves_out_what_came_after_it() -> None:
    script = ScriptedLog()
    script.user()
    script.user()
    read_log = pooled(FakePool(), RecordingLog(script.take()), upto=3)  # type: ignore[arg-type]
    assert [e.position for e in await read_log(0, 10)] == [1, 2, 3]
    assert await read_log(3, 10) == []


class Partition:
    def __init__(self, partition: int) -> None:
        self.partition = partition


class FakeConsumer:
    """A Kafka consumer whose committed offsets the test sets."""

    def __init__(self) -> None:
        self.offsets: dict[int, int | None] = {}

    def assignment(self) -> set[Any]:
        return {Partition(p) for p in self.offsets}

    async def committed(self, partition: Partition) -> int | None:
        return self.offsets[partition.partition]


async def test_the_relay_republishes_when_committed_offsets_go_back() -> None:
    pool, consumer = FakePool(), FakeConsumer()
    relay = Relay(pool, pooled(pool, RecordingLog([])), broker=None, topic="access.events")  # type: ignore[arg-type]
    relay.position = 40
    rewound: list[str] = []

    async def rewind_local_lists() -> None:
        rewound.append("local lists")

    watch = asyncio.create_task(relay.watch_broker_state(lambda: consumer, every=0.001,
                                                         also=[rewind_local_lists]))
    try:
        consumer.offsets = {0: 10, 1: 7}
        await asyncio.sleep(0.02)
        assert relay.position == 40  # offsets only grew
        assert not relay.wake.is_set()
        assert rewound == []
        consumer.offsets = {0: 12, 1: None}  # partition 1's offset vanished
        for _ in range(100):
            if rewound:  # set after the relay's own rewind
                break
            await asyncio.sleep(0.005)
    finally:
        watch.cancel()
    assert relay.position == 0  # tracked from the start: everything is published again
    assert relay.wake.is_set()  # and the relay was woken to do it
    assert rewound == ["local lists"]  # the other publishers from the store too


class Ack:
    def __init__(self, partition: int, offset: int) -> None:
        self.partition, self.offset = partition, offset


class AckingBroker:
    """Acknowledges each publish with the next offset of partition 0, as a broker does."""

    def __init__(self) -> None:
        self.next_offset = 0

    async def publish(self, *args: Any, **kwargs: Any) -> asyncio.Future[Ack]:
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        future.set_result(Ack(0, self.next_offset))
        self.next_offset += 1
        return future


async def test_the_relay_republishes_when_the_broker_acknowledges_lower_offsets() -> None:
    # A restarted memory broker hands out offsets from 0 again; the committed-offset watch
    # can miss it when command traffic refills its group's offsets between two checks.
    log = ScriptedLog()
    owner = log.user()
    log.charger(owner)
    events = log.take()
    pool, broker = FakePool(), AckingBroker()
    relay = Relay(pool, pooled(pool, RecordingLog(events)), broker=broker,  # type: ignore[arg-type]
                  topic="access.events", batch_size=1)
    rewound: list[str] = []

    async def rewind_local_lists() -> None:
        rewound.append("local lists")

    relay._also_rewind = [rewind_local_lists]
    assert await relay.publish_next() == 1
    assert await relay.publish_next() == 1
    assert relay.position == events[1].position
    assert rewound == []

    broker.next_offset = 0  # the broker came back empty
    assert await relay.publish_next() == 1
    assert relay.position == 0  # published again from the start
    assert rewound == ["local lists"]
    assert await relay.publish_next() == 1  # and the new offsets are the reference now
    assert relay.position == events[0].position
    assert rewound == ["local lists"]
