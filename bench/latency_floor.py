"""P1's latency floor: what a lone command cannot beat on this machine in this run.

A command travels to the service over Kafka, is committed, and its result travels back
over Kafka: two produce → consume round trips and one commit. The floor measures each
raw (aiokafka with the benchmark client's fetch wait, asyncpg with one INSERT per
commit), one at a time like a lone command, and adds their medians.
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


async def kafka_round_trips(bootstrap: str, topic: str, count: int) -> list[float]:
    """`count` produce → consume latencies (s), one message in flight at a time."""
    await ensure_topics(bootstrap, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0,
                                enable_idempotence=False)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    await producer.start()
    await consumer.start()
    latencies: list[float] = []
    try:
        await consumer.topics()
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_end(partition)
        await consumer.position(partition)
        for _ in range(count + 10):  # the first ten warm the connections up
            value = uuid.uuid4().bytes
            sent = time.monotonic()
            await producer.send_and_wait(topic, value, partition=0)
            while not await _arrived(consumer, value):
                pass
            latencies.append(time.monotonic() - sent)
    finally:
        await consumer.stop()
        await producer.stop()
    return latencies[10:]


async def _arrived(consumer: AIOKafkaConsumer, value: bytes) -> bool:
    batches = await consumer.getmany(timeout_ms=1000)
    return any(r.value == value for records in batches.values() for r in records)


_TABLE = """CREATE TABLE IF NOT EXISTS bench_floor_commit (
    id bigserial PRIMARY KEY, originator_id uuid NOT NULL, version int NOT NULL,
    topic text NOT NULL, state bytea NOT NULL)"""
_INSERT = ("INSERT INTO bench_floor_commit (originator_id, version, topic, state) "
           "VALUES ($1, $2, $3, $4)")


async def raw_commits(dsn: str, count: int) -> list[float]:
    """`count` latencies (s) of one event-shaped INSERT committed on its own."""
    conn = await asyncpg.connect(dsn)
    payload = os.urandom(300)
    latencies: list[float] = []
    try:
        await conn.execute(_TABLE)
        for _ in range(count + 10):
            started = time.monotonic()
            await conn.execute(_INSERT, uuid.uuid4(), 1, "bench.Floor", payload)
            latencies.append(time.monotonic() - started)
    finally:
        await conn.close()
    return latencies[10:]


async def measure(bootstrap: str, topic: str, dsn: str,
                  count: int) -> tuple[float, dict[str, float]]:
    """The floor (s) and its parts' medians (ms), for the details."""
    trips = await kafka_round_trips(bootstrap, topic, count)
    commits = await raw_commits(dsn, count)
    return floor(trips, commits), {"kafka_round_trip_ms": median(trips) * 1000,
                                   "commit_ms": median(commits) * 1000}
