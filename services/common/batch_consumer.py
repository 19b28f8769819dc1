"""A consumer-group member that hands each fetched batch to a handler and commits its
offsets only once the handler has returned: at-least-once, without FastStream.

FastStream's batch subscriber sleeps for its whole batch timeout after every empty poll,
so a record arriving then waits it out (~1 ms of a lone command's latency on average),
and it turns the event loop a hundred times a second doing so while idle. Here an empty
poll simply polls again: aiokafka's `getmany` returns as soon as its fetcher holds
records, so the wait is the fetch's alone.

A handler that raises has its batch fetched again: every partition in it is rewound to
the batch's first record, after a pause so an outage is retried at a sane pace. Offsets
are committed in the background while the next batch is fetched and handled; a crash
before that commit lands redelivers a batch whose outcome is stored, which the handlers
make harmless (they dedupe on message ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import ConsumerStoppedError, IllegalStateError

from services.common.config import Settings
from services.common.kafka import consumer_options
from services.common.timeouts import wait_for

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[ConsumerRecord[Any, Any]]], Awaitable[object]]

POLL_MS = 1000
"""The longest one `getmany` waits for records; it returns at once when they arrive."""
STOP_STEP_SECONDS = 5.0
"""The longest a stop waits for the last commit, and then for leaving the group."""


class BatchConsumer:
    def __init__(
        self, topic: str, handler: Handler, *, group_id: str, max_records: int,
        settings: Settings, instance: str | None = None, fetch_max_wait_ms: int = 5,
        graceful_seconds: float = 15.0, pause_after_error: float = 1.0,
    ) -> None:
        """`settings`: where the broker is and how to authenticate (`consumer_options`);
        `instance`: static group membership, so a restarted instance gets its partitions
        back at once; `fetch_max_wait_ms`: Tansu holds a fetch for its whole max wait
        even when records arrive, so it is a lower bound on a lone record's latency
        (`KAFKA_FETCH_MAX_WAIT_MS` replaces it, for a broker that answers at once);
        `pause_after_error`: before a failed batch is fetched again."""
        self._topic = topic
        self._handler = handler
        self._max_records = max_records
        self._graceful_seconds = graceful_seconds
        self._pause_after_error = pause_after_error
        self._settings = settings
        self._options: dict[str, Any] = {
            "group_id": group_id, "group_instance_id": instance,
            "enable_auto_commit": False, "auto_offset_reset": "earliest",
        }
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._kafka: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._handling = False
        self._commit: asyncio.Task[None] | None = None

    @property
    def kafka(self) -> AIOKafkaConsumer | None:
        """aiokafka's consumer while this one runs (its assignment and committed
        offsets are what readiness and the broker-state watch read), else None."""
        return self._kafka

    async def start(self) -> None:
        """Join the group (in the background: the assignment follows within seconds)."""
        consumer = AIOKafkaConsumer(
            self._topic, **consumer_options(self._settings, self._fetch_max_wait_ms),
            **self._options)
        await consumer.start()
        self._kafka = consumer
        self._stopping = False
        self._task = asyncio.create_task(self._run(consumer), name=f"consume {self._topic}")

    async def stop(self) -> None:
        """Let the batch in hand finish (up to `graceful_seconds`, else it is cut and
        comes again), commit what was handled, and leave the group."""
        consumer, task = self._kafka, self._task
        if consumer is None or task is None:
            return
        self._stopping = True
        self._kafka = None
        if not self._handling:
            task.cancel()  # waiting in getmany: nothing in hand
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await wait_for(asyncio.shield(task), self._graceful_seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        # Bounded: aiokafka retries a commit for as long as the group rebalances, and a
        # stop must end (a commit that did not land only means the batch comes again).
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await wait_for(self._committed(), STOP_STEP_SECONDS)
        with contextlib.suppress(Exception):
            await wait_for(consumer.stop(), STOP_STEP_SECONDS)

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping:
            try:
                fetched = await consumer.getmany(timeout_ms=POLL_MS,
                                                 max_records=self._max_records)
            except ConsumerStoppedError:
                return
            except Exception as error:  # KafkaError mostly; never stop while assigned
                log.warning("fetching from %s failed (%s); retrying", self._topic, error)
                await asyncio.sleep(self._pause_after_error)
                continue
            if not fetched:
                continue
            try:
                await self._handle(consumer, fetched)
            except Exception:  # never stop consuming while readiness says assigned
                log.exception("consuming %s failed; going on", self._topic)
                await asyncio.sleep(self._pause_after_error)

    async def _handle(
        self, consumer: AIOKafkaConsumer,
        fetched: dict[TopicPartition, list[ConsumerRecord[Any, Any]]],
    ) -> None:
        records = [record for batch in fetched.values() for record in batch]
        self._handling = True
        try:
            await self._handler(records)
        except Exception:
            log.exception("a batch of %d records from %s was not handled; fetching it "
                          "again", len(records), self._topic)
            for partition, batch in fetched.items():
                with contextlib.suppress(IllegalStateError):  # revoked: its new owner
                    consumer.seek(partition, batch[0].offset)  # starts at the commit
            await asyncio.sleep(self._pause_after_error)
            return
        finally:
            self._handling = False
        await self._committed()
        offsets = {partition: batch[-1].offset + 1 for partition, batch in fetched.items()}
        self._commit = asyncio.create_task(self._commit_offsets(consumer, offsets))

    async def _committed(self) -> None:
        """Wait for the commit in flight: commits land in the order of their batches."""
        commit = self._commit
        if commit is not None:
            await asyncio.shield(commit)  # a cancelled waiter leaves the commit running
            if self._commit is commit:
                self._commit = None

    async def _commit_offsets(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int],
    ) -> None:
        try:
            await consumer.commit(offsets)
        except Exception as error:  # a rebalance: the batch comes again, harmlessly
            log.warning("committing offsets on %s failed (%s); the batch may come again",
                        self._topic, error)
