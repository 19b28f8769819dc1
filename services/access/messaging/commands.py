"""The command consumer: a batch from `access.commands` → one commit → one result each.

Offsets are committed only after the batch's outcome is stored and its results and dead
letters are acknowledged by the broker (`BatchConsumer`; FastStream's default would commit
on receipt). A crash anywhere before that redelivers the batch; stored results make that
harmless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream.kafka import KafkaBroker
from opentelemetry.trace import Span

from charger_access_client.envelope import CommandResult
from charger_access_client.topics import Topics
from services.access.executor import Executor, Item, Valid
from services.access.latency import BATCH_SECONDS, COMMAND_SECONDS
from services.access.messaging.intake import DeadLetter, Record, read
from services.common import fault_points, tracing
from services.common.batch_consumer import BatchConsumer
from services.common.config import Settings
from services.common.logs import about
from services.common.tracing import TRACEPARENT

log = logging.getLogger(__name__)

MAX_BATCH = 500
DLQ_VALUE_LIMIT = 512 * 1024
"""Dead letters keep at most this much of the value: the producer refuses a record over
1 MiB (`max_request_size`), and a refused dead letter would fail its batch for ever."""


class CommandConsumer:
    def __init__(self, broker: KafkaBroker, executor: Executor, topics: Topics) -> None:
        """`broker`: FastStream's, for the results and dead letters it sends."""
        self._broker = broker
        self._executor = executor
        self._topics = topics
        self._consumer: BatchConsumer | None = None
        self.outcomes: Counter[str] = Counter()
        self.dead_letters = 0
        self.batches = 0

    async def start(self, settings: Settings, group_id: str,
                    instance: str | None, graceful_seconds: float) -> None:
        """Join `group_id` on the commands topic. `settings`: the broker's address and
        security; `instance`: this instance's unique name
        (`incarnation`), as static group membership, so a restarted instance gets its
        partitions back at once; `graceful_seconds`: how long a stop waits for the batch
        in hand before cutting it (it is then redelivered)."""
        self._consumer = BatchConsumer(
            self._topics.commands, self.handle, group_id=group_id, instance=instance,
            settings=settings, max_records=MAX_BATCH, graceful_seconds=graceful_seconds,
            # Tansu holds a fetch for its whole max wait even when records arrive; a
            # command waiting up to 500 ms (aiokafka's default) dominated end-to-end
            # latency. 5 ms rather than 10 took ~2 ms off a lone command at no idle CPU.
            # (`KAFKA_FETCH_MAX_WAIT_MS` replaces it on a broker that answers at once.)
            fetch_max_wait_ms=5,
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    @property
    def kafka(self) -> AIOKafkaConsumer | None:
        """aiokafka's consumer while consuming (readiness and the broker-state watch
        read its assignment and committed offsets), else None."""
        return None if self._consumer is None else self._consumer.kafka

    async def handle(self, records: Sequence[ConsumerRecord[Any, Any]]) -> list[CommandResult]:
        received = time.perf_counter()
        received_ns = time.time_ns()
        intakes = [read(_record(r)) for r in records]
        items = [i.item for i in intakes if i.item is not None]
        dead = [i.dead_letter for i in intakes if i.dead_letter is not None]
        spans = _start_spans(items, received_ns) if tracing.enabled() else {}
        traces = {i.command_id: i.traceparent for i in items if i.traceparent is not None}
        try:
            started = time.perf_counter()
            results = await asyncio.to_thread(self._executor.execute, items) if items else []
            BATCH_SECONDS.observe(time.perf_counter() - started)
        except Exception:
            log.exception("a batch of %d commands could not be stored; it will be redelivered",
                          len(items))
            raise
        fault_points.reached("access.after_commit_before_results")
        acks = [await self._dead_letter(d) for d in dead]
        acks += [await self._publish_result(r, traces.get(r.command_id)) for r in results]
        await asyncio.gather(*acks)
        for span in spans.values():
            span.end()
        answered = time.perf_counter() - received
        for _ in results:
            COMMAND_SECONDS.observe(answered)
        fault_points.reached("access.after_results_before_offsets")
        self.batches += 1
        self.dead_letters += len(dead)
        self.outcomes.update(r.reason or r.status for r in results)
        return results

    async def _publish_result(self, result: CommandResult, traceparent: str | None) -> Any:
        headers = {"content-type": "application/json"}
        if traceparent is not None:
            headers[TRACEPARENT] = traceparent
        return await self._broker.publish(
            result.model_dump_json().encode(), self._topics.command_results,
            key=result.command_id.encode(), headers=headers, no_confirm=True,
            correlation_id=result.command_id,  # FastStream would draw a uuid4 per record
        )

    async def _dead_letter(self, dead: DeadLetter) -> Any:
        with about(command_id=dead.command_id):
            log.warning("dead letter from %s/%d@%d: %s", dead.record.topic,
                        dead.record.partition, dead.record.offset, dead.error)
        headers = {name: value.decode("utf-8", errors="replace")
                   for name, value in dead.record.headers}
        headers.update({
            "dlq_error": dead.error[:1000],
            "dlq_topic": dead.record.topic,
            "dlq_partition": str(dead.record.partition),
            "dlq_offset": str(dead.record.offset),
        })
        value = dead.record.value or b""
        if len(value) > DLQ_VALUE_LIMIT:
            headers["dlq_truncated_from"] = str(len(value))
            value = value[:DLQ_VALUE_LIMIT]
        return await self._broker.publish(
            value, self._topics.commands_dlq, key=dead.record.key, headers=headers,
            no_confirm=True,
        )


def _start_spans(items: list[Item], received_ns: int) -> dict[str, Span]:
    """One span per command, from its batch's receipt to its result sent, continuing the
    sender's trace (or starting one); each item then carries its own span as the parent
    of what follows (result, events, e-mails). Changes `items` in place."""
    spans: dict[str, Span] = {}
    for index, item in enumerate(items):
        span = tracing.start("access.command", item.traceparent, received_ns)
        if span is None:
            return spans
        span.set_attribute("command.id", item.command_id)
        if isinstance(item, Valid):
            span.set_attribute("command.type", item.type)
        spans[item.command_id] = span
        items[index] = replace(item, traceparent=tracing.traceparent(span))
    return spans


def _record(raw: ConsumerRecord[Any, Any]) -> Record:
    value = raw.value
    return Record(
        value=value if isinstance(value, bytes | None) else bytes(value),
        key=raw.key if isinstance(raw.key, bytes | None) else bytes(raw.key),
        headers=tuple((name, bytes(v)) for name, v in raw.headers or ()),
        topic=raw.topic, partition=raw.partition, offset=raw.offset,
    )
