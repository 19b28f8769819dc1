"""Kafka plumbing both services share: topic creation and safe client defaults.

aiokafka's defaults (acks=1, auto_offset_reset=latest, auto-commit on) lose messages;
every client here sets all three explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

PARTITIONS = 3


async def ensure_topics(
    bootstrap_servers: str, topics: list[str], partitions: int = PARTITIONS
) -> list[str]:
    """Create any missing topic. A broker with memory storage forgets them on restart."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return []
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in missing]
            )
        log.info("created topics %s", missing)
        return missing
    finally:
        await admin.close()


async def keep_topics(
    bootstrap_servers: str, topics: list[str], interval: float = 5.0,
    on_created: Callable[[list[str]], Awaitable[None]] | None = None,
) -> None:
    """Recreate topics a restarted broker forgot (memory storage), for as long as we run.

    Consumers and the relay resume by themselves once their topics exist again; the event
    store, not the broker, is the source of truth, so nothing is lost with the topics.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            created = await ensure_topics(bootstrap_servers, topics)
            if created and on_created is not None:
                await on_created(created)
        except Exception as exc:
            log.warning("could not check topics (%s); retrying in %.0f s", exc, interval)

