"""Kafka plumbing the services share: how to reach the broker (address and security, the
same for every client), topic creation, and safe client defaults.

aiokafka's defaults (acks=1, auto_offset_reset=latest, auto-commit on) lose messages;
every client here sets all three explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from services.common.config import Settings
from services.common.errors import UnreachableError
from services.common.kafka_security import KafkaSecurity

log = logging.getLogger(__name__)

PARTITIONS = 3


class KafkaUnreachableError(UnreachableError):
    """No broker could be reached or logged in to; says with which settings."""


def unreachable(bootstrap_servers: str, security: KafkaSecurity, error: Exception) -> str:
    """Why a connection failed, in words an operator can act on. A broker that refuses a
    login or a certificate often just closes the connection, so both are named."""
    if isinstance(error, KeyError):
        error = ConnectionRefusedError(f"the broker refused the SASL login ({error!r})")
    how = security.protocol
    if security.uses_sasl:
        how += f" ({security.sasl_mechanism} as {security.sasl_username!r})"
    hint = "the address"
    if security.uses_tls:
        hint += ", the broker's certificate (KAFKA_SSL_CA_FILE)"
    if security.uses_sasl:
        hint += ", the user name and password (KAFKA_SASL_*)"
    return (f"cannot connect to Kafka at {bootstrap_servers} over {how}: {error}; "
            f"check {hint} and KAFKA_SECURITY_PROTOCOL")


def broker_options(settings: Settings) -> dict[str, Any]:
    """Where the broker is and how to authenticate, for FastStream:
    `KafkaBroker(**broker_options(settings), acks="all", ...)`."""
    return {"bootstrap_servers": settings.kafka_bootstrap_servers,
            "security": settings.kafka_security.faststream()}


def client_options(settings: Settings) -> dict[str, Any]:
    """The same for aiokafka's own clients: `AIOKafkaConsumer(topic, **client_options(s))`."""
    return {"bootstrap_servers": settings.kafka_bootstrap_servers,
            **settings.kafka_security.client_options()}


def consumer_options(settings: Settings, fetch_max_wait_ms: int) -> dict[str, Any]:
    """`client_options` and the fetch wait: `fetch_max_wait_ms`, the consumer's own for
    Tansu, unless `KAFKA_FETCH_MAX_WAIT_MS` sets one for the broker in use."""
    return {**client_options(settings),
            "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms or fetch_max_wait_ms}


async def ensure_settings_topics(settings: Settings, topics: list[str]) -> list[str]:
    """`ensure_topics` with the broker, security, partitions and replicas of `settings`."""
    return await ensure_topics(
        settings.kafka_bootstrap_servers, topics, settings.kafka_partitions,
        replication_factor=settings.kafka_replication_factor,
        security=settings.kafka_security)


async def ensure_topics(
    bootstrap_servers: str, topics: list[str], partitions: int = PARTITIONS, *,
    replication_factor: int = 1, security: KafkaSecurity | None = None,
) -> list[str]:
    """Create any missing topic. A broker with memory storage forgets them on restart."""
    security = security if security is not None else KafkaSecurity()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers,
                                **security.client_options())
    try:
        await admin.start()
    except (KafkaError, KeyError) as error:
        # KeyError: aiokafka 0.14 reads a SCRAM refusal (`e=unknown-user`, no `v=`) as a
        # missing key rather than as a failed login.
        await admin.close()
        raise KafkaUnreachableError(unreachable(bootstrap_servers, security, error)) from error
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return []
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [NewTopic(n, num_partitions=partitions, replication_factor=replication_factor)
                 for n in missing]
            )
        log.info("created topics %s", missing)
        return missing
    finally:
        await admin.close()


async def empty_topics(settings: Settings, topics: list[str]) -> list[str]:
    """Those of `topics` that exist and hold nothing: every partition's end offset 0.

    Offsets only grow (retention drops records, not offsets), so a topic that ever held a
    record never reads as empty again unless it was made anew: a new broker, or one with
    memory storage that restarted. Whoever made it (any service's start, or a producer's
    metadata request), the publishers from the store then know to publish again."""
    if not topics:
        return []
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.topics()  # the cluster's metadata, which `partitions_for_topic` reads
        found = {t: consumer.partitions_for_topic(t) or set() for t in topics}
        partitions = [TopicPartition(t, p) for t, ps in found.items() for p in sorted(ps)]
        # Assigned, though never read: aiokafka 0.14's `stop` waits for ever on a consumer
        # without subscription or assignment.
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions) if partitions else {}
        # A topic not there (yet) is not empty: `keep_topics` makes it, and says so.
        return [t for t, ps in found.items()
                if ps and not any(ends[TopicPartition(t, p)] for p in ps)]
    finally:
        await consumer.stop()


async def keep_topics(
    settings: Settings, topics: list[str], interval: float = 5.0,
    on_created: Callable[[list[str]], Awaitable[None]] | None = None,
) -> None:
    """Recreate topics a restarted broker forgot (memory storage), for as long as we run.

    Consumers and the relay resume by themselves once their topics exist again; the event
    store, not the broker, is the source of truth, so nothing is lost with the topics.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            created = await ensure_settings_topics(settings, topics)
            if created and on_created is not None:
                await on_created(created)
        except Exception as exc:
            log.warning("could not check topics (%s); retrying in %.0f s", exc, interval)

