"""How a Kafka round trip's cost grows with what a partition already holds, on this broker.

`make bench`'s figures slow down rep after rep, ours and the peer's alike, and a lone
command after load costs more than on a fresh system while the latency floor's topic,
kept near empty, does not. This isolates the broker: a topic is filled, step by step,
with small batches (records of `--size` bytes, `--in-flight` sent at a time with no
linger, as our results and events are produced), and at each depth it times a produce
until acked and a produce until consumed (median of `--trips`), on that topic and on a
control topic kept empty, with idle consumers polling as our services do (5 ms fetch
wait).
`python -m bench.broker_depth` starts a Tansu of its own (or uses `--bootstrap`) and
prints one JSON object per depth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from harness.signals import sigterm_unwinds
from services.common.kafka import ensure_topics
from services.local.tansu import free_port, start_tansu

FETCH_MAX_WAIT_MS = 5  # what our consumers use: Tansu holds a fetch for its whole wait
PARTITIONS = 3


@asynccontextmanager
async def broker(bootstrap: str | None) -> AsyncIterator[str]:
    if bootstrap:
        yield bootstrap
        return
    port = free_port()
    process = start_tansu(port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _consumer(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"depth-{uuid.uuid4()}",
                            auto_offset_reset="latest", enable_auto_commit=False,
                            fetch_max_wait_ms=FETCH_MAX_WAIT_MS)


async def _placed(consumer: AIOKafkaConsumer, within: float = 60.0) -> None:
    """Wait for the group to give the consumer its partitions and for its positions, so
    that a record produced next is one it reads ("latest" is resolved before, not after)."""
    deadline = time.monotonic() + within
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError("the consumer group gave no partitions")
        await consumer.getmany(timeout_ms=100)
    for partition in consumer.assignment():
        await consumer.position(partition)


async def _trips(producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topic: str,
                 trips: int) -> tuple[float, float]:
    """Medians (ms) of a produce until acked and of a produce until consumed."""
    acked: list[float] = []
    consumed: list[float] = []
    for n in range(trips):
        started = time.perf_counter()
        await producer.send_and_wait(topic, b"t" * 200, key=str(n).encode())
        acked.append(time.perf_counter() - started)
        deadline = started + 30.0
        while not any((await consumer.getmany(timeout_ms=1000)).values()):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"a record produced on {topic} was not consumed in 30 s")
        consumed.append(time.perf_counter() - started)
    return statistics.median(acked) * 1000, statistics.median(consumed) * 1000


async def _fill(producer: AIOKafkaProducer, topic: str, records: int, in_flight: int,
                size: int) -> None:
    """`records` records, `in_flight` sent at a time, each group acked before the next."""
    value = b"v" * size
    for start in range(0, records, in_flight):
        sends = [await producer.send(topic, value, key=str(n).encode())
                 for n in range(start, min(start + in_flight, records))]
        await asyncio.gather(*sends)


async def measure(bootstrap: str, steps: int, records_per_step: int, in_flight: int = 8,
                  size: int = 1000, trips: int = 50, pollers: int = 4,
                  on_row: Callable[[dict[str, Any]], None] = lambda _: None,
                  ) -> list[dict[str, Any]]:
    """A row per depth (none added, then `steps` times `records_per_step`), each also
    given to `on_row` as it is measured. `pollers`: idle consumers of the deep topic."""
    deep, empty = f"depth-{uuid.uuid4().hex[:8]}", f"depth-empty-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [deep, empty], PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=False, linger_ms=0)
    readers = {topic: _consumer(bootstrap, topic) for topic in (deep, empty)}
    idle = [_consumer(bootstrap, deep) for _ in range(pollers)]
    await producer.start()
    for consumer in (*readers.values(), *idle):
        await consumer.start()

    async def poll(consumer: AIOKafkaConsumer) -> None:
        while True:
            await consumer.getmany(timeout_ms=200)

    polling: list[asyncio.Task[None]] = []
    rows: list[dict[str, Any]] = []
    try:
        for consumer in (*readers.values(), *idle):  # joined, and placed at the end
            await _placed(consumer)
        polling = [asyncio.create_task(poll(consumer)) for consumer in idle]
        for step in range(steps + 1):
            if step:
                await _fill(producer, deep, records_per_step, in_flight, size)
            deep_acked, deep_consumed = await _trips(producer, readers[deep], deep, trips)
            empty_acked, empty_consumed = await _trips(producer, readers[empty], empty, trips)
            ends = await readers[deep].end_offsets(
                [TopicPartition(deep, p) for p in range(PARTITIONS)])
            rows.append({"records_added": step * records_per_step,
                         "records_in_topic": sum(ends.values()),
                         "deep_produce_ms": round(deep_acked, 2),
                         "deep_round_trip_ms": round(deep_consumed, 2),
                         "empty_produce_ms": round(empty_acked, 2),
                         "empty_round_trip_ms": round(empty_consumed, 2)})
            on_row(rows[-1])
    finally:
        for task in polling:
            task.cancel()
        await asyncio.gather(*polling, return_exceptions=True)
        for consumer in (*readers.values(), *idle):
            await consumer.stop()
        await producer.stop()
    return rows


async def _main(args: argparse.Namespace) -> None:
    async with broker(args.bootstrap) as bootstrap:
        await measure(bootstrap, args.steps, args.records, args.in_flight, args.size,
                      args.trips, on_row=lambda row: print(json.dumps(row), flush=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bootstrap", default="", help="a running broker (default: our own)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--records", type=int, default=5000, help="records added a step")
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--trips", type=int, default=50)
    args = parser.parse_args(argv)
    sigterm_unwinds()
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
