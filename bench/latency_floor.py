"""P1's latency floor: what a lone command cannot beat on this machine in this run.

A command travels to the service over Kafka, is committed, and its result travels back
over Kafka: two produce → consume round trips and one commit. The floor measures each
raw (aiokafka with the benchmark client's fetch wait, asyncpg with one INSERT per
commit), one at a time like a lone command, and adds their medians. Its clients start
once (`Floor`) and sample in chunks, which P1 alternates with chunks of lone commands.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.stats import median
from services.common.kafka import ensure_topics

FETCH_MAX_WAIT_MS = 5  # the benchmark client's (bench.kafka.Commands): the same broker waits


def floor(round_trips: Sequence[float], commits: Sequence[float]) -> float:
    """Two median Kafka round trips plus one median commit (NaN without figures)."""
    return 2 * median(round_trips) + median(commits)


class Floor:
    """The floor's raw clients, started once: `sample` takes round trips and commits in
    chunks, so they can alternate with the lone commands they are compared with and see
    the same machine (a producer, a consumer and a connection, warmed up at start)."""

    def __init__(self, bootstrap: str, topic: str, dsn: str) -> None:
        self._bootstrap, self._topic, self._dsn = bootstrap, topic, dsn
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                          linger_ms=0, enable_idempotence=False)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                          enable_auto_commit=False,
                                          fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        self._conn: asyncpg.Connection | None = None
        self._payload = os.urandom(300)

    async def __aenter__(self) -> Floor:
        await ensure_topics(self._bootstrap, [self._topic])
        await self._producer.start()
        await self._consumer.start()
        await self._consumer.topics()
        partition = TopicPartition(self._topic, 0)
        self._consumer.assign([partition])
        await self._consumer.seek_to_end(partition)
        await self._consumer.position(partition)
        self._conn = await asyncpg.connect(self._dsn)
        await self._conn.execute(_TABLE)
        await self.sample(10)  # warms the connections up; not kept
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()
        await self._producer.stop()
        if self._conn is not None:
            await self._conn.close()

    async def sample(self, count: int) -> tuple[list[float], list[float]]:
        """`count` produce → consume latencies (s), one message in flight at a time, and
        `count` latencies of one event-shaped INSERT committed on its own."""
        assert self._conn is not None, "Floor is used as an async context manager"
        trips: list[float] = []
        for _ in range(count):
            value = uuid.uuid4().bytes
            sent = time.monotonic()
            await self._producer.send_and_wait(self._topic, value, partition=0)
            while not await _arrived(self._consumer, value):
                pass
            trips.append(time.monotonic() - sent)
        commits: list[float] = []
        for _ in range(count):
            started = time.monotonic()
            await self._conn.execute(_INSERT, uuid.uuid4(), 1, "bench.Floor", self._payload)
            commits.append(time.monotonic() - started)
        return trips, commits


async def _arrived(consumer: AIOKafkaConsumer, value: bytes) -> bool:
    batches = await consumer.getmany(timeout_ms=1000)
    return any(r.value == value for records in batches.values() for r in records)


_TABLE = """CREATE TABLE IF NOT EXISTS bench_floor_commit (
    id bigserial PRIMARY KEY, originator_id uuid NOT NULL, version int NOT NULL,
    topic text NOT NULL, state bytea NOT NULL)"""
_INSERT = ("INSERT INTO bench_floor_commit (originator_id, version, topic, state) "
           "VALUES ($1, $2, $3, $4)")
