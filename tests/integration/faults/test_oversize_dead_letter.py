"""Found by the poison storm (`make faults ARGS='--only poison-storm'`): a message over
the 1 MiB limit was dead-lettered whole, the producer refused the record
(MessageSizeTooLargeError), the batch failed and was redelivered for ever: the
partition stalled. Its dead letter now keeps the first 512 KiB and says how big it was.

Issue 17: an oversize message that carries an id (the binary binding's `ce_id`, or a
structured envelope's top-level `id` near its start) also gets its `rejected`/`invalid`
result, published and stored, so its sender is not left waiting."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from charger_access_client.envelope import MAX_MESSAGE_BYTES
from charger_access_client.topics import Topics
from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from services.access.messaging.commands import DLQ_VALUE_LIMIT
from services.access.store.recorder import RESULTS_TABLE
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.integration


async def test_an_oversize_message_is_dead_lettered_and_the_partition_goes_on(
        database_url: str, kafka_bootstrap: str) -> None:
    settings = AccessSettings(
        database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
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
        structured_id, binary_id = str(uuid.uuid4()), str(uuid.uuid4())
        padding = {"user_id": str(uuid.uuid4()), "email": "a@b.no",
                   "name": "x" * (MAX_MESSAGE_BYTES + 100)}
        structured = json.dumps({"specversion": "1.0", "id": structured_id, "source": "tests",
                                 "type": "RegisterUser", "actor": str(uuid.uuid4()),
                                 "data": padding}).encode()
        await big.send_and_wait(settings.topics.commands, structured, key=key.encode())
        binary_headers = [("ce_specversion", b"1.0"), ("ce_id", binary_id.encode()),
                          ("ce_type", b"RegisterUser"), ("ce_source", b"tests")]
        await big.send_and_wait(settings.topics.commands, json.dumps(padding).encode(),
                                key=key.encode(), headers=binary_headers)
        user = uuid.uuid4()
        after = await client.send("RegisterUser", {"user_id": str(user), "email": f"{user}@x.no"},
                                  user, key=key)  # same partition, behind the big one
        [result] = await client.wait_results([after], timeout=60)
        assert result["status"] == "accepted"
        answers = await client.wait_results([structured_id, binary_id], timeout=30)
        for answer in answers:
            assert (answer["status"], answer["reason"]) == ("rejected", "invalid")
            assert "over the 1 MiB limit" in answer["detail"]
        stored = await _stored_results(database_url, [structured_id, binary_id])
        assert stored == {structured_id: ("rejected", "invalid"),
                          binary_id: ("rejected", "invalid")}
        for _ in range(100):
            if len(client.dead_letters) >= 3:
                break
            await asyncio.sleep(0.1)
        assert len(client.dead_letters) == 3
        dead, dead_structured, dead_binary = client.dead_letters
        assert dead_structured.value == structured[:DLQ_VALUE_LIMIT]
        assert dict(dead_binary.headers)["ce_id"] == binary_id.encode()
        headers: dict[str, Any] = {k: v.decode() for k, v in dead.headers}
        assert headers["dlq_truncated_from"] == str(len(huge))
        assert "over the 1 MiB limit" in headers["dlq_error"]
        assert dead.value == huge[:DLQ_VALUE_LIMIT]
    finally:
        await big.stop()
        await client.stop()
        await service.stop()


async def _stored_results(url: str, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(_RESULTS, ids)
    finally:
        await conn.close()
    return {row["command_id"]: (row["status"], row["reason"]) for row in rows}


_RESULTS = f"""
    SELECT command_id, outcome->>'status' AS status, outcome->>'reason' AS reason
    FROM {RESULTS_TABLE} WHERE command_id = ANY($1::text[])"""
