"""Following `access.local-lists` for the chargers connected here.

Every instance reads every partition of the topic (broadcast: Kafka partitions by
charger, but a charger may be connected to any instance) and hands each change to the
session holding that charger, if any; the rest are skipped. It reads as a consumer
without a group: all partitions are its own, there is nothing to coordinate, and no
offset is committed, since none is needed: a change missed while no instance held the
charger is caught up from the read model when it connects (`list_sync`). (A group of its
own per instance would do the same, but joining one takes ~5 s on Tansu at every start,
which a restarted gateway's reconnecting chargers would wait for.)

It starts at the topic's end, and the gateway opens its port only once the consumer has
its partitions and positions, so no change to a connected charger falls between the
catch-up and the first record read.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer

from services.common.config import Settings
from services.common.kafka import consumer_options
from services.ocpp_gateway.changes import parse_change
from services.ocpp_gateway.metrics import GatewayMetrics
from services.ocpp_gateway.registry import Connected

log = logging.getLogger(__name__)

ASSIGNMENT_TIMEOUT_SECONDS = 60.0


class ListChangeFollower:
    def __init__(
        self,
        settings: Settings,
        topic: str,
        connected: Connected,
        metrics: GatewayMetrics,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            # Address, TLS, SASL as every client of ours; a 50 ms fetch wait, as Tansu
            # holds a fetch for its whole wait (unless KAFKA_FETCH_MAX_WAIT_MS says).
            **consumer_options(settings, fetch_max_wait_ms=50),
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        self._connected = connected
        self._metrics = metrics
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Take every partition at its end; then follow in the background."""
        await self._consumer.start()
        async with asyncio.timeout(ASSIGNMENT_TIMEOUT_SECONDS):
            while not self._consumer.assignment():
                self._deliver(await self._consumer.getmany(timeout_ms=100))
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _follow(self) -> None:
        while True:
            try:
                self._deliver(await self._consumer.getmany(timeout_ms=1000, max_records=500))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker comes back; the read model is the truth
                log.warning("reading list changes failed (%s); retrying", error)
                await asyncio.sleep(1.0)

    def _deliver(self, batches: dict[object, list[object]]) -> None:
        for records in batches.values():
            for record in records:
                change = parse_change(getattr(record, "value", None))
                self._metrics.changes_heard += 1
                if change is not None:
                    self._connected.deliver(change)
