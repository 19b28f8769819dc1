"""The notification service as a test module runs it: on that module's `settings`, with a
producer onto its `access.events` (started once the service is, so nothing is missed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from services.notifications.config import NotificationSettings
from services.notifications.service import NotificationService


@pytest.fixture(scope="module")
async def service(settings: NotificationSettings) -> AsyncIterator[NotificationService]:
    running = NotificationService(settings)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def producer(
    settings: NotificationSettings, service: NotificationService
) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=settings.common.kafka_bootstrap_servers, acks="all")
    await client.start()
    yield client
    await client.stop()
