"""Commands as a client built on the CloudEvents SDK sends them, and our records as that SDK
reads them: both Kafka bindings (structured and binary), both of the SDK's APIs (the core
bindings and the older `cloudevents.v1.kafka`), each with the SDK's own extensions
(`partitionkey` as the key, a W3C `traceparent`) and every optional context attribute,
through the real broker into the real service."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1 import kafka as ce_kafka_v1
from cloudevents.v1.http import CloudEvent as LegacyCloudEvent

from charger_access_client.envelope import EventEnvelope
from charger_access_client.local_lists import LocalListChanged
from tests.integration.access.messaging.in_process import Running, access_service

pytestmark = pytest.mark.integration

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
CLOUDEVENTS_JSON = b"application/cloudevents+json"


@pytest.fixture(scope="module")
async def running(new_database: Any, kafka_bootstrap: str) -> AsyncIterator[Running]:
    async with access_service(new_database(), kafka_bootstrap, "cloudevents-sdk") as service:
        yield service


def attributes(type_: str, actor: uuid.UUID, about: uuid.UUID) -> dict[str, Any]:
    """A command's context attributes, with everything an SDK user may add."""
    return {"id": str(uuid.uuid4()), "source": "sdk-client", "type": type_,
            "actor": str(actor), "partitionkey": str(about), "traceparent": TRACEPARENT,
            "datacontenttype": "application/json", "subject": str(about),
            "dataschema": f"https://example.com/schemas/{type_}.json",
            "time": datetime.now(UTC)}


def core_structured(attrs: dict[str, Any], data: dict[str, Any]) -> Any:
    return ce_kafka.to_structured(CloudEvent(attrs, data), JSONFormat())


def core_binary(attrs: dict[str, Any], data: dict[str, Any]) -> Any:
    return ce_kafka.to_binary(CloudEvent(attrs, data), JSONFormat())


def legacy(attrs: dict[str, Any], data: dict[str, Any]) -> LegacyCloudEvent:
    """The older API takes attribute values as strings only."""
    return LegacyCloudEvent({**attrs, "time": attrs["time"].isoformat()}, data)


def legacy_structured(attrs: dict[str, Any], data: dict[str, Any]) -> Any:
    return ce_kafka_v1.to_structured(legacy(attrs, data))


def legacy_binary(attrs: dict[str, Any], data: dict[str, Any]) -> Any:
    return ce_kafka_v1.to_binary(legacy(attrs, data))


BINDINGS: dict[str, Callable[[dict[str, Any], dict[str, Any]], Any]] = {
    "core structured": core_structured, "core binary": core_binary,
    "v1 structured": legacy_structured, "v1 binary": legacy_binary,
}


async def send(running: Running, message: Any) -> None:
    """Publish the SDK's Kafka message as it is: its key, headers and value."""
    key = message.key.encode() if isinstance(message.key, str) else message.key
    value = message.value.encode() if isinstance(message.value, str) else message.value
    await running.client.send_raw(value, key=key, headers=list(message.headers.items()))


@pytest.mark.parametrize("binding", list(BINDINGS))
async def test_sdk_commands_with_extensions_are_accepted(running: Running, binding: str) -> None:
    user = uuid.uuid4()
    attrs = attributes("RegisterUser", user, user)
    message = BINDINGS[binding](attrs, {"user_id": str(user), "email": f"{user}@example.no"})
    assert message.key == str(user)  # the SDK keys by the partitionkey extension
    await send(running, message)
    result = (await running.client.wait_results([attrs["id"]]))[0]
    assert result["status"] == "accepted", result


async def test_sdk_command_with_bad_data_is_still_refused(running: Running) -> None:
    """The attributes are lenient; `data` is not."""
    user = uuid.uuid4()
    attrs = attributes("RegisterUser", user, user)
    await send(running, core_structured(attrs, {"user_id": str(user), "email": "nope", "extra": 1}))
    result = (await running.client.wait_results([attrs["id"]]))[0]
    assert (result["status"], result["reason"]) == ("rejected", "invalid")
    assert {tuple(e["loc"]) for e in result["errors"]} == {("email",), ("extra",)}


async def first_record(bootstrap: str, topic: str, key: str, timeout: float = 30.0) -> Any:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            async for record in consumer:
                if record.key == key.encode():
                    return record
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")


def as_sdk_message(record: Any) -> ce_kafka.KafkaMessage:
    return ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)


async def test_events_and_local_lists_are_structured_cloudevents_the_sdk_reads(running: Running) -> None:
    owner, charger = uuid.uuid4(), uuid.uuid4()
    for type_, data, about in (
        ("RegisterUser", {"user_id": str(owner), "email": f"{owner}@example.no"}, owner),
        ("RegisterCharger", {"charger_id": str(charger), "serial_number": f"SN-{charger.hex[:8]}"}, charger),
    ):
        attrs = attributes(type_, owner, about)
        await send(running, core_binary(attrs, data))
        assert (await running.client.wait_results([attrs["id"]]))[0]["status"] == "accepted"

    topics = running.service.settings.topics
    event = await first_record(running.bootstrap, topics.events, str(charger))
    listed = await first_record(running.bootstrap, topics.local_lists, str(charger))
    for record, type_ in ((event, "ChargerRegistered"), (listed, "LocalListChanged")):
        assert dict(record.headers)["content-type"] == CLOUDEVENTS_JSON
        read = ce_kafka.from_kafka(as_sdk_message(record), JSONFormat())
        assert read.get_type() == type_
        assert read.get_subject() == str(charger)
        assert read.get_specversion() == "1.0"
    # The contract models (and so docs/asyncapi.json) describe what is really published.
    assert EventEnvelope.model_validate_json(event.value).type == "ChargerRegistered"
    assert LocalListChanged.model_validate_json(listed.value).data.version == 1
