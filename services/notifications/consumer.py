"""Consuming `access.events` (`events_consumer`) and publishing dead letters.

Offsets are committed only after a batch is handled (`BatchConsumer`), and a batch is
handled once its e-mails are claimed in the sent-log (PostgreSQL): from then on the
sent-log's queue, not Kafka, keeps them from being lost, so an SMTP outage never holds
the partitions. If the claim fails (PostgreSQL down), every partition of the batch is
rewound to its first record and the batch comes again, after a pause so an outage is
retried at a sane pace rather than in a hot loop. An ack-first policy would commit before
the claim: at-most-once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from services.common import tracing
from services.common.batch_consumer import BatchConsumer
from services.notifications import traces
from services.notifications.config import NotificationSettings
from services.notifications.delivery.deliverer import Deliverer

MAX_BATCH = 500
PAUSE_AFTER_ERROR_SECONDS = 2.0
FETCH_MAX_WAIT_MS = 50
"""Tansu holds a fetch for its whole max wait (aiokafka's default is 500 ms), so this is
what a lone event may wait before its e-mails start, and how often the idle consumer
fetches: 20 ms took the idle service from 2.5 to 3.9 % of a core, for e-mails nobody
waits on to the millisecond."""


def raw_values(records: Sequence[ConsumerRecord[Any, Any]]) -> list[bytes]:
    """The raw record values: envelopes are parsed (and bad ones skipped) by the service
    layer, so a record whose content-type header lies cannot stall the partition."""
    if tracing.enabled():
        for record in records:
            if record.headers:
                traces.remember(record.value, record.headers)
    return [record.value or b"" for record in records]


def events_consumer(
    settings: NotificationSettings,
    deliverer: Deliverer,
    instance: str | None,
    graceful_seconds: float,
) -> BatchConsumer:
    """The `access.events` group member that sends the e-mails each access event causes,
    once per recipient. `instance`: this instance's name, unique among running ones
    (`incarnation`), as the consumer's static group membership: a restarted instance
    gets its partitions back at once instead of waiting for its dead predecessor's
    session to time out (~18 s → ~8 s on Tansu)."""

    async def on_access_events(records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        await deliverer.handle_batch(raw_values(records))

    return BatchConsumer(
        settings.common.topics.events, on_access_events, group_id=settings.group_id,
        instance=instance, settings=settings.common, max_records=MAX_BATCH,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS, graceful_seconds=graceful_seconds,
        pause_after_error=PAUSE_AFTER_ERROR_SECONDS,
    )


class KafkaDeadLetters:
    """Publishes undeliverable e-mails' records on `notifications.dlq`."""

    def __init__(self, broker: KafkaBroker, topic: str) -> None:
        self._broker = broker
        self._topic = topic

    async def publish(self, record: dict[str, Any], key: str) -> None:
        await self._broker.publish(record, topic=self._topic, key=key.encode())
