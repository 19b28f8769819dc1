"""Found by the poison storm (`make faults ARGS='--only poison-storm'`): a message over
the 1 MiB limit was dead-lettered whole, the producer refused the record
(MessageSizeTooLargeError), the batch failed and was redelivered for ever: the
partition stalled. Its dead letter now keeps the first 512 KiB and says how big it was."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from events.envelope import MAX_MESSAGE_BYTES
from events.topics import Topics
from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from services.access.messaging.commands import DLQ_VALUE_LIMIT
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.integration


async def test_an_oversize_message_is_dead_lettered_and_the_partition_goes_on(
        database_url: str, kafka_bootstrap: str) -> None:
    settings = dataclasses.replace(
        AccessSettings(), database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
        topics=Topics(f"oversize{uuid.uuid4().hex[:6]}."),
        consumer_group_prefix=f"oversize-{uuid.uuid4().hex[:6]}")
    service = AccessService(settings, serve_api=False)
    await service.start()
    client = CommandClient(kafka_bootstrap, settings.topics)
    big = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all",
                           enable_idempotence=False, max_request_size=4 * 1024 * 1024)
    await client.start()
    await big.start()
    try:
        key = "one-partition"
        huge = json.dumps({"padding": "x" * (MAX_MESSAGE_BYTES + 100)}).encode()
        await big.send_and_wait(settings.topics.commands, huge, key=key.encode())
        user = uuid.uuid4()
        after = await client.send("RegisterUser", {"user_id": str(user), "email": f"{user}@x.no"},
                                  user, key=key)  # same partition, behind the big one
        [result] = await client.wait_results([after], timeout=60)
        assert result["status"] == "accepted"
        for _ in range(100):
            if client.dead_letters:
                break
            await asyncio.sleep(0.1)
        [dead] = client.dead_letters
        headers: dict[str, Any] = {k: v.decode() for k, v in dead.headers}
        assert headers["dlq_truncated_from"] == str(len(huge))
        assert "over the 1 MiB limit" in headers["dlq_error"]
        assert dead.value == huge[:DLQ_VALUE_LIMIT]
    finally:
        await big.stop()
        await client.stop()
        await service.stop()
