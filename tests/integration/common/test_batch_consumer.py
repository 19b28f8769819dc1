"""The batch consumer on the real broker: offsets are committed only once a batch's
handler has returned; a failed batch comes again; a stop lets the batch in hand finish
and commits it, or cuts it after its grace and commits nothing (the group's next member
starts at the batch again)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from services.common.batch_consumer import BatchConsumer
from services.common.config import Settings
from services.common.kafka import ensure_topics
from services.common.timeouts import wait_for
from tests.polling import until

pytestmark = pytest.mark.integration

TIMEOUT = 40.0
"""A group join on Tansu takes ~5 s; several may come one after another."""


class Handler:
    """Records the values of every batch handed to it; fails while told to, or waits on
    `release` while it is not set."""

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[bytes]] = []
        self.failures = failures
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.finished = 0

    async def __call__(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        self.batches.append([r.value for r in records])
        self.entered.set()
        await self.release.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the store is away")
        self.finished += 1

    def values(self) -> list[bytes]:
        return [v for batch in self.batches for v in batch]


async def topic_with(bootstrap: str, values: list[bytes]) -> str:
    topic = f"test.batch-consumer.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], 1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()
    return topic


def consumer(bootstrap: str, topic: str, handler: Handler, group: str,
             graceful_seconds: float = 15.0) -> BatchConsumer:
    return BatchConsumer(topic, handler, group_id=group, max_records=100,
                         settings=Settings(kafka_bootstrap_servers=bootstrap),
                         graceful_seconds=graceful_seconds)


async def committed(bootstrap: str, group: str, topic: str) -> int | None:
    """The group's committed offset on the topic's partition, read by a consumer that is
    assigned the partition rather than joining the group (a join takes seconds here)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                              enable_auto_commit=False)
    await reader.start()
    try:
        partition = TopicPartition(topic, 0)
        reader.assign([partition])
        offset: int | None = await reader.committed(partition)
        return offset
    finally:
        await reader.stop()


async def test_a_failed_batch_comes_again_and_offsets_follow_the_handler(
    kafka_bootstrap: str,
) -> None:
    values = [f"command {i}".encode() for i in range(5)]
    topic = await topic_with(kafka_bootstrap, values)
    handler = Handler(failures=1)
    handler.release.clear()
    member = consumer(kafka_bootstrap, topic, handler, f"g-{uuid.uuid4().hex[:8]}")
    await member.start()
    try:
        await wait_for(handler.entered.wait(), TIMEOUT)
        kafka = member.kafka
        assert kafka is not None
        partition = TopicPartition(topic, 0)
        assert await kafka.committed(partition) is None  # in hand: nothing committed
        handler.release.set()
        await until(lambda: handler.finished == 1, TIMEOUT)
        async with asyncio.timeout(TIMEOUT):  # committed in the background
            while await kafka.committed(partition) != len(values):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await member.stop()
    assert handler.values() == values + values  # the failed batch, then again whole


async def test_a_stop_lets_the_batch_in_hand_finish_and_commits_it(
    kafka_bootstrap: str,
) -> None:
    values = [b"a", b"b", b"c"]
    topic = await topic_with(kafka_bootstrap, values)
    group = f"g-{uuid.uuid4().hex[:8]}"
    handler = Handler()
    handler.release.clear()
    member = consumer(kafka_bootstrap, topic, handler, group)
    await member.start()
    await wait_for(handler.entered.wait(), TIMEOUT)
    stopping = asyncio.create_task(member.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done()  # waiting for the batch
    handler.release.set()
    await wait_for(stopping, TIMEOUT)
    assert handler.finished == 1
    assert member.kafka is None
    assert await committed(kafka_bootstrap, group, topic) == len(values)


async def test_a_batch_cut_at_its_grace_is_not_committed(
    kafka_bootstrap: str,
) -> None:
    values = [b"x", b"y"]
    topic = await topic_with(kafka_bootstrap, values)
    group = f"g-{uuid.uuid4().hex[:8]}"
    stuck = Handler()
    stuck.release.clear()  # never set: the handler outlives the grace
    member = consumer(kafka_bootstrap, topic, stuck, group, graceful_seconds=0.2)
    await member.start()
    await wait_for(stuck.entered.wait(), TIMEOUT)
    await wait_for(member.stop(), TIMEOUT)
    assert stuck.finished == 0
    assert await committed(kafka_bootstrap, group, topic) is None
