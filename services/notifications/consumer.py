"""The FastStream topology: `on_access_events` (batch subscriber) and the dead-letter publisher.

Offsets are committed only after a batch is handled (`AckPolicy.NACK_ON_ERROR` turns
auto-commit off), and a batch is handled once its e-mails are claimed in the sent-log
(PostgreSQL): from then on the sent-log's queue, not Kafka, keeps them from being lost,
so an SMTP outage never holds the partitions. If the claim fails (PostgreSQL down),
FastStream seeks every partition of the batch back to its first record and the batch
comes again. The default ack-first policy would commit before the claim: at-most-once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from faststream.middlewares import AckPolicy

from services.common import tracing
from services.notifications import traces
from services.notifications.config import NotificationSettings
from services.notifications.delivery.deliverer import Deliverer

log = logging.getLogger(__name__)

MAX_BATCH = 500
PAUSE_AFTER_ERROR_SECONDS = 2.0


async def raw_values(message: KafkaMessage) -> list[bytes]:
    """Hand the handler the raw record values: envelopes are parsed (and bad ones
    skipped) by the service layer, never by FastStream's JSON guess, which would raise
    on a record whose content-type header lies and so stall the partition."""
    records = message.raw_message if isinstance(message.raw_message, tuple) else ()
    if tracing.enabled():
        for record in records:
            if record.headers:
                traces.remember(record.value, record.headers)
    return [record.value or b"" for record in records]


def subscribe(
    broker: KafkaBroker,
    settings: NotificationSettings,
    deliverer: Deliverer,
    instance: str | None = None,
) -> None:
    """Register the `access.events` batch subscriber on `broker`. `instance`: this
    instance's name, unique among running ones (`incarnation`), as the consumer's static
    group membership: a restarted instance gets its partitions back at once instead of
    waiting for its dead predecessor's session to time out (~18 s → ~8 s on Tansu)."""

    @broker.subscriber(
        settings.common.topics.events,
        batch=True,
        group_id=settings.group_id,
        group_instance_id=instance,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        max_records=MAX_BATCH,
        fetch_max_wait_ms=50,  # Tansu holds a fetch for its whole max wait (default 500 ms)
        # After an empty poll FastStream sleeps this long (default 200 ms) before polling
        # again, and an event arriving meanwhile waits it out: one e-mail's slowest of 30
        # went 99-222 ms after its event, 66-81 ms with 50.
        batch_timeout_ms=50,
        decoder=raw_values,
        title="on_access_events",
        description="Sends the e-mails each access event causes, once per recipient.",
    )
    async def on_access_events(values: list[bytes]) -> None:
        try:
            await deliverer.handle_batch(values)
        except Exception:
            # The batch is nacked and fetched again at once; pause so an outage of
            # PostgreSQL is retried at a sane pace rather than in a hot loop.
            log.exception("batch of %d records not handled; it will be retried", len(values))
            await asyncio.sleep(PAUSE_AFTER_ERROR_SECONDS)
            raise


class KafkaDeadLetters:
    """Publishes undeliverable e-mails' records on `notifications.dlq`."""

    def __init__(self, broker: KafkaBroker, topic: str) -> None:
        self._broker = broker
        self._topic = topic

    async def publish(self, record: dict[str, Any], key: str) -> None:
        await self._broker.publish(record, topic=self._topic, key=key.encode())
